"""Saving and loading results: atomic directories with a verified manifest.

Layout of a saved result::

    result_dir/
      manifest.json      kind, format version, library versions, SHA-256 of every file
      result.json        metadata (task, metric, schema, leaderboard, ...)
      *.joblib           scikit-learn parts (pickles: load only directories you trust)
      models/*.keras     Keras models, in Keras' own format
      *.npz / *.parquet  arrays and frames, no pickle

A save first writes a sibling temporary directory, flushes it to disk and
renames it into place, so a crash mid-save leaves any earlier save intact; a
save killed outright leaves at most a hidden ``.NAME.saving-PID-*`` directory,
which the next save to the same path removes. :func:`load` checks every hash
before unpickling anything and refuses a directory that was altered.

The hashes detect corruption, partial copies and edits made without rewriting
the manifest; they are not a signature. Whoever can rewrite the whole
directory can make it run code when loaded (joblib files are pickles), so load
only results from a source you trust. automl never unpickles anything taken
from a report, a CSV or any other data file.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import os
import platform
import re
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any, Iterator

import joblib
import numpy as np
import pandas as pd

from .errors import AutomlWarning, IntegrityError, InputError, warn

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_KINDS = {"fit": "automl.result:FitResult", "cluster": "automl.clustering.result:ClusterResult"}
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_STEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,120}$")
# Libraries whose pickled or saved objects may not load under another minor version.
_CHECKED_VERSIONS = ("scikit-learn", "numpy", "keras", "umap-learn")


def library_versions() -> dict[str, str]:
    """Versions of the libraries whose objects a save contains."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("automl", "scikit-learn", "numpy", "pandas", "keras", "keras-tuner", "umap-learn", "joblib"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _umask() -> int:
    """The process umask, read without changing it where the OS allows (os.umask is not thread-safe)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync(path: Path) -> None:
    """Flush a file's or directory's data to disk (best effort where the OS refuses)."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) if path.is_dir() else os.O_RDONLY
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems (and Windows directories) do not support it
        pass
    finally:
        os.close(fd)


def _pid_alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill would terminate the process there: never clean up on a guess
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _clean_leftovers(target: Path) -> None:
    """Undo what a save killed outright (no ``except`` ran) left beside ``target``.

    A staging directory of a dead process is removed. A backup of a dead process
    is the previous save, renamed aside just before the new one was moved in:
    when ``target`` itself is missing it is put back, otherwise removed.
    """
    for leftover in sorted(target.parent.glob(f".{glob_escape(target.name)}.*-*")):
        match = re.fullmatch(rf"\.{re.escape(target.name)}\.(saving|old)-(\d+)(-.*)?", leftover.name)
        if not match or _pid_alive(int(match.group(2))):
            continue
        if match.group(1) == "old" and not target.exists() and (leftover / MANIFEST).is_file():
            os.replace(leftover, target)
        else:
            shutil.rmtree(leftover, ignore_errors=True)


def glob_escape(name: str) -> str:
    """``name`` with glob wildcards escaped."""
    return re.sub(r"([*?\[])", r"[\1]", name)


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary directory that replaces ``path`` only if the block succeeds.

    The block writes into a hidden sibling directory. On success its files are
    flushed to disk and it is renamed to ``path`` (the previous content is
    renamed aside first and deleted last); on any exception it is deleted and
    ``path`` is untouched. Leftovers of a save that was killed are cleaned up
    by the next save to the same path.

    Parameters
    ----------
    path : str or PathLike
        The directory to create or replace.
    overwrite : bool, default=True
        Replace an existing directory; when False an existing ``path`` raises InputError.
    """
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise InputError(f"Cannot save to {str(target)!r}: a file with that name exists. Choose a directory path.")
    if target.exists() and not overwrite:
        raise InputError(f"{str(target)!r} exists; pass overwrite=True or choose another path.")
    target.parent.mkdir(parents=True, exist_ok=True)
    _clean_leftovers(target)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.saving-{os.getpid()}-", dir=target.parent))
    try:
        yield staging
        os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes it private; a save reads like any directory
        for file in staging.rglob("*"):
            _fsync(file)
        _fsync(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    backup = None
    if target.exists():
        backup = target.with_name(f".{target.name}.old-{os.getpid()}")
        shutil.rmtree(backup, ignore_errors=True)
        os.replace(target, backup)
    try:
        os.replace(staging, target)
    except BaseException:
        if backup is not None:
            os.replace(backup, target)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _fsync(target.parent)
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator[Any]:
    """Open a temporary sibling of ``path`` for writing; rename it into place on success.

    Readers see either the old file or the complete new one, never a partial
    write; on an exception the old file is untouched and the temporary removed.

    Parameters
    ----------
    path : str or PathLike
    mode : str, default="w"
        A writing mode of :func:`open` (``"w"``, ``"wb"``).
    **kwargs
        Passed to :func:`open` (``encoding=...``).

    Examples
    --------
    >>> with atomic_file(tmp_path / "report.html", encoding="utf-8") as handle:  # doctest: +SKIP
    ...     handle.write(html)
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        with open(tmp, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates the file private (0600); the result should read like any file written here
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync(target.parent)


def _manifest_digest(manifest: dict) -> str:
    """SHA-256 of the manifest's canonical JSON, without its own digest field."""
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def write_meta(directory: Path, meta: dict, kind: str) -> None:
    """Write ``result.json`` (``meta`` as JSON) and then the manifest of everything in ``directory``."""
    (Path(directory) / "result.json").write_text(json.dumps(meta, default=to_jsonable, indent=1))
    write_manifest(directory, kind)


def read_meta(directory: Path) -> dict:
    """The ``result.json`` written by :func:`write_meta` (the manifest was verified by :func:`load`)."""
    return json.loads((Path(directory) / "result.json").read_text())


def write_manifest(directory: Path, kind: str, extra: dict | None = None) -> dict:
    """Hash every file under ``directory`` and write ``manifest.json``.

    The manifest records the result ``kind``, :data:`FORMAT_VERSION`, the library
    versions (:func:`library_versions`), the SHA-256 of every other file, and a
    digest of itself, so that an edit to any of them is refused on load.
    """
    files = {
        p.relative_to(directory).as_posix(): sha256(p)
        for p in sorted(directory.rglob("*")) if p.is_file() and p.relative_to(directory).as_posix() != MANIFEST
    }
    manifest = {"kind": kind, "format_version": FORMAT_VERSION, "versions": library_versions(),
                "files": files, **(extra or {})}
    manifest["manifest_sha256"] = _manifest_digest(manifest)
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest


def read_manifest(directory: str | os.PathLike) -> dict:
    """Read and verify ``manifest.json``: every listed file present and unchanged, nothing added.

    Raises
    ------
    InputError
        ``directory`` does not exist.
    IntegrityError
        The manifest is missing, unreadable or edited; a file is missing, changed,
        added, a link, or outside the directory; or the format version is not
        this library's.
    """
    directory = Path(directory)
    shown = str(directory)
    path = directory / MANIFEST
    if not directory.is_dir():
        raise InputError(f"{shown!r} is not a saved automl result (no such directory).")
    if not path.is_file():
        raise IntegrityError(f"{shown!r} has no {MANIFEST}; it is not a complete automl save.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        files = manifest["files"]
        kind = manifest["kind"]
        version = manifest.get("format_version")
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        raise IntegrityError(f"{str(path)!r} is not a valid automl manifest ({type(exc).__name__}: {exc}).") from exc
    if version != FORMAT_VERSION:
        saved_by = manifest.get("versions", {}).get("automl", "unknown") if isinstance(
            manifest.get("versions"), dict) else "unknown"
        raise IntegrityError(
            f"{shown!r} was saved in format {version!r}; this automl reads format {FORMAT_VERSION}. "
            f"Load it with the automl version that saved it ({saved_by}), or fit and save it again."
        )
    if manifest.get("manifest_sha256") != _manifest_digest(manifest):
        raise IntegrityError(
            f"{str(path)!r} was edited after saving (its digest does not match its content). "
            "Refusing to load it; re-save the result from a trusted source."
        )
    if kind not in _KINDS:
        raise IntegrityError(f"{str(path)!r} names an unknown result kind {kind!r}.")
    if not isinstance(files, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and _HEX64.match(v) for k, v in files.items()):
        raise IntegrityError(f"{str(path)!r} has a malformed file list; refusing to load.")
    root = directory.resolve()
    for name, digest in files.items():
        file = directory / name
        if name == MANIFEST or os.path.isabs(name) or ".." in Path(name).parts or root not in file.resolve().parents:
            raise IntegrityError(f"Manifest entry {name!r} points outside {shown!r}; refusing to load.")
        if file.is_symlink():
            raise IntegrityError(f"{name!r} in {shown!r} is a symbolic link; refusing to load.")
        if not file.is_file():
            raise IntegrityError(f"{shown!r} is incomplete: {name!r} is missing. Re-save the result.")
        if sha256(file) != digest:
            raise IntegrityError(
                f"{name!r} in {shown!r} does not match its recorded hash: the file was changed "
                "after saving. Refusing to load it; re-save the result from a trusted source."
            )
    unlisted = []
    for p in directory.rglob("*"):
        relative = p.relative_to(directory).as_posix()
        if p.is_symlink() or (p.is_file() and relative != MANIFEST and relative not in files):
            unlisted.append(relative)
    if unlisted:
        raise IntegrityError(
            f"{shown!r} holds files not in its manifest: {sorted(unlisted)[:5]}. Refusing to load; "
            "remove them or re-save the result."
        )
    _check_versions(manifest.get("versions"), shown)
    return manifest


def _minor(version: str) -> tuple[str, ...]:
    return tuple(str(version).split(".")[:2])


def _check_versions(saved: Any, shown: str) -> None:
    """Warn when a library whose objects were saved now has another major.minor version."""
    if not isinstance(saved, dict):
        return
    now = library_versions()
    changed = [f"{name} {saved[name]} -> {now[name]}" for name in _CHECKED_VERSIONS
               if name in saved and name in now and _minor(saved[name]) != _minor(now[name])]
    if changed:
        warn(f"{shown!r} was saved with other library versions ({', '.join(changed)}); its models may "
             "load wrongly or fail. Re-fit with the installed versions if predictions look wrong.",
             AutomlWarning, stacklevel=4)


def save_object(obj: Any, directory: Path, stem: str) -> dict:
    """Save one object; objects with ``save_files``/``load_files`` (Keras wrappers) save themselves.

    Parameters
    ----------
    obj : object
    directory : Path
        Inside the staging directory of :func:`atomic_directory`.
    stem : str
        File name without extension: letters, digits, ``_`` and ``-`` only.

    Returns
    -------
    dict
        The entry :func:`load_object` needs: ``{"stem": ..., "loader": ...}``.
    """
    if not _STEM.match(stem):
        raise ValueError(f"save_object: invalid file stem {stem!r} (letters, digits, '_' and '-' only)")
    if hasattr(obj, "save_files") and hasattr(type(obj), "load_files"):
        obj.save_files(directory, stem)
        return {"stem": stem, "loader": f"{type(obj).__module__}:{type(obj).__qualname__}"}
    joblib.dump(obj, directory / f"{stem}.joblib")
    return {"stem": stem, "loader": "joblib"}


def load_object(directory: Path, entry: dict) -> Any:
    """Inverse of :func:`save_object` (call only after :func:`read_manifest` verified the directory).

    Only a plain file stem and an ``automl.*`` class (or joblib) are accepted,
    so a saved entry cannot point at a file outside the verified directory or
    at an arbitrary importable callable.
    """
    stem, loader = (entry.get("stem"), entry.get("loader")) if isinstance(entry, dict) else (None, None)
    if not isinstance(stem, str) or not _STEM.match(stem) or not isinstance(loader, str):
        raise IntegrityError(f"Refusing saved entry {entry!r}: not a plain file stem and loader.")
    if loader == "joblib":
        file = Path(directory) / f"{stem}.joblib"
        if not file.is_file():
            raise IntegrityError(f"{str(file)!r} is missing; the saved result is incomplete.")
        try:
            return joblib.load(file)
        except (ImportError, AttributeError, ModuleNotFoundError, EOFError, ValueError, TypeError) as exc:
            raise IntegrityError(
                f"Could not load {str(file)!r} ({type(exc).__name__}: {exc}); it was probably saved with other "
                f"library versions (installed: {library_versions()}). Re-fit and save with these versions."
            ) from exc
    module, _, name = loader.partition(":")
    if not module.startswith("automl.") or not name:
        raise IntegrityError(f"Refusing loader {loader!r}: only automl classes may load saved parts.")
    try:
        cls = importlib.import_module(module)
        for part in name.split("."):
            cls = getattr(cls, part)
    except (ImportError, AttributeError) as exc:
        raise IntegrityError(f"Refusing loader {loader!r}: no such automl class ({exc}).") from exc
    if not isinstance(cls, type) or not callable(getattr(cls, "load_files", None)):
        raise IntegrityError(f"Refusing loader {loader!r}: it is not a class with load_files.")
    return cls.load_files(Path(directory), stem)


def load(path: str | os.PathLike):
    """Load a result saved with ``FitResult.save`` or ``ClusterResult.save``.

    The directory's manifest is verified first: a file changed, missing or
    added since the save, an edited manifest or another format version raises
    :class:`~automl.errors.IntegrityError` before anything is unpickled.
    Saved results contain joblib pickles, which can run code when loaded: load
    only directories from a source you trust (the hashes catch corruption and
    stray edits, not someone who rewrites the whole directory).

    Parameters
    ----------
    path : str or PathLike
        A directory written by ``save``.

    Returns
    -------
    FitResult or ClusterResult

    Examples
    --------
    >>> result.save("model")          # doctest: +SKIP
    >>> automl.load("model").predict(new_rows)  # doctest: +SKIP
    """
    target = Path(path)
    if not target.exists() and target.parent.is_dir():
        _clean_leftovers(target)  # a save killed between its two renames left the previous one aside
    manifest = read_manifest(target)
    module, _, name = _KINDS[manifest["kind"]].partition(":")
    cls = getattr(importlib.import_module(module), name)
    try:
        return cls._load(target, manifest)
    except InputError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise IntegrityError(
            f"{str(target)!r} passed its hash checks but could not be read ({type(exc).__name__}: {exc}); "
            "it was probably written by another automl version. Fit and save it again."
        ) from exc


# -- plain-data parts of a save (JSON and Parquet, never pickle) ------------------------
def to_jsonable(value):
    """JSON-ready form of numpy scalars, arrays and timestamps (plain values pass through)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (pd.Timestamp,)):
        return value.isoformat()
    return str(value)


def read_frame(path: Path, *, json_columns=()) -> pd.DataFrame:
    """Read a frame written by :func:`write_frame`, decoding ``json_columns`` (see :func:`jsonable_frame`)."""
    frame = pd.read_parquet(path)
    for column in json_columns:
        if column in frame.columns:
            frame[column] = frame[column].map(lambda v: json.loads(v) if isinstance(v, str) else v)
    return frame


def jsonable_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns holding dicts or lists become JSON text so Parquet can store them."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = out[column].map(lambda v: v if v is None or isinstance(v, str)
                                          else json.dumps(v, default=to_jsonable, sort_keys=True))
    return out


def write_frame(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as Parquet (no pickle); mixed object columns are stored as text."""
    frame = frame.copy()
    frame.columns = [str(c) for c in frame.columns]
    try:
        frame.to_parquet(path, index=False)
    except (TypeError, ValueError, ImportError):  # mixed object columns: store their text form
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = frame.apply(lambda col: col.astype(str).where(col.notna(), None) if col.dtype == object else col)
        frame.to_parquet(path, index=False)
