"""Saving and loading results: atomic directories with a verified manifest.

Layout of a saved result::

    result_dir/
      manifest.json      kind, format version, library versions, SHA-256 of every file
      result.json        metadata (task, metric, schema, leaderboard, ...)
      *.joblib           scikit-learn parts (pickles: load only directories you trust)
      models/*.keras     Keras models, in Keras' own format
      *.npz / *.parquet  arrays and frames, no pickle

A save first writes a sibling temporary directory and renames it into place,
so a crash mid-save leaves any earlier save intact. :func:`load` checks every
hash before unpickling anything and refuses a directory that was altered.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import os
import platform
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

import joblib

from .errors import IntegrityError, InputError

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_KINDS = {"fit": "automl.result:FitResult", "cluster": "automl.cluster.result:ClusterResult"}


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


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary directory that replaces ``path`` only if the block succeeds."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise InputError(f"Cannot save to {str(target)!r}: a file with that name exists. Choose a directory path.")
    if target.exists() and not overwrite:
        raise InputError(f"{str(target)!r} exists; pass overwrite=True or choose another path.")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.saving-", dir=target.parent))
    try:
        yield staging
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
        raise
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator[Any]:
    """Open a temporary sibling of ``path`` for writing; rename it into place on success."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    try:
        with open(tmp, mode, **kwargs) as handle:
            yield handle
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_manifest(directory: Path, kind: str, extra: dict | None = None) -> dict:
    """Hash every file under ``directory`` and write ``manifest.json``."""
    files = {
        p.relative_to(directory).as_posix(): sha256(p)
        for p in sorted(directory.rglob("*")) if p.is_file() and p.name != MANIFEST
    }
    manifest = {"kind": kind, "format_version": FORMAT_VERSION, "versions": library_versions(),
                "files": files, **(extra or {})}
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest


def read_manifest(directory: str | os.PathLike) -> dict:
    """Read and verify ``manifest.json``: every listed file present and unchanged, nothing added."""
    directory = Path(directory)
    path = directory / MANIFEST
    if not directory.is_dir():
        raise InputError(f"{str(directory)!r} is not a saved automl result (no such directory).")
    if not path.is_file():
        raise IntegrityError(f"{str(directory)!r} has no {MANIFEST}; it is not a complete automl save.")
    try:
        manifest = json.loads(path.read_text())
        files = manifest["files"]
        kind = manifest["kind"]
    except (ValueError, KeyError, TypeError) as exc:
        raise IntegrityError(f"{str(path)!r} is not a valid automl manifest ({exc}).") from exc
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IntegrityError(
            f"{str(directory)!r} was saved in format {manifest.get('format_version')!r}; this automl reads "
            f"format {FORMAT_VERSION}. Load it with the automl version that saved it "
            f"({manifest.get('versions', {}).get('automl', 'unknown')})."
        )
    if kind not in _KINDS:
        raise IntegrityError(f"{str(path)!r} names an unknown result kind {kind!r}.")
    for name, digest in files.items():
        file = (directory / name).resolve()
        if directory.resolve() not in file.parents:
            raise IntegrityError(f"Manifest entry {name!r} points outside {str(directory)!r}; refusing to load.")
        if not file.is_file():
            raise IntegrityError(f"{str(directory)!r} is incomplete: {name!r} is missing.")
        if sha256(file) != digest:
            raise IntegrityError(
                f"{name!r} in {str(directory)!r} does not match its recorded hash: the file was changed "
                "after saving. Refusing to load it; re-save the result from a trusted source."
            )
    unlisted = [p.relative_to(directory).as_posix() for p in directory.rglob("*")
                if p.is_file() and p.name != MANIFEST and p.relative_to(directory).as_posix() not in files]
    if unlisted:
        raise IntegrityError(f"{str(directory)!r} holds files not in its manifest: {unlisted[:5]}. Refusing to load.")
    return manifest


def save_object(obj: Any, directory: Path, stem: str) -> dict:
    """Save one object; objects with ``save_files``/``load_files`` (Keras wrappers) save themselves."""
    if hasattr(obj, "save_files") and hasattr(type(obj), "load_files"):
        obj.save_files(directory, stem)
        return {"stem": stem, "loader": f"{type(obj).__module__}:{type(obj).__qualname__}"}
    joblib.dump(obj, directory / f"{stem}.joblib")
    return {"stem": stem, "loader": "joblib"}


def load_object(directory: Path, entry: dict) -> Any:
    """Inverse of :func:`save_object` (call only after :func:`read_manifest` verified the directory)."""
    if entry["loader"] == "joblib":
        return joblib.load(directory / f"{entry['stem']}.joblib")
    module, _, name = entry["loader"].partition(":")
    if not module.startswith("automl."):
        raise IntegrityError(f"Refusing loader {entry['loader']!r}: only automl classes may load saved parts.")
    cls = importlib.import_module(module)
    for part in name.split("."):
        cls = getattr(cls, part)
    return cls.load_files(directory, entry["stem"])


def load(path: str | os.PathLike):
    """Load a result saved with ``FitResult.save`` or ``ClusterResult.save``.

    The directory's manifest is verified first: a file changed, missing or
    added since the save raises :class:`~automl.errors.IntegrityError`.
    Saved results contain pickles: load only directories you trust.
    """
    manifest = read_manifest(path)
    module, _, name = _KINDS[manifest["kind"]].partition(":")
    cls = getattr(importlib.import_module(module), name)
    return cls._load(Path(path), manifest)
