"""Network search across processes and machines: one chief oracle, any number of workers.

This is KerasTuner's own distributed tuning (a gRPC ``Oracle`` service on the
chief, ``OracleClient`` proxies on the workers), wired into :func:`automl.fit`:

* the **chief** (``distributed="chief"``) prepares the data, starts the oracle
  service, announces the search in the shared directory (file
  ``automl_chief.json`` in the project folder: deadline and epoch plan), fits
  the classic families while the workers train networks, and once the search is
  over restores the best networks from the shared directory and returns the
  usual :class:`~automl.result.FitResult`, one leaderboard for everything;
* each **worker** (``distributed="worker"``) prepares the same data (same file,
  target, seed and options, so the same splits), waits for the chief's
  announcement, then asks the oracle for trials, trains them, writes their
  checkpoints and records into the shared directory, and returns a
  :class:`WorkerResult` once the oracle says the search is over
  (:func:`automl.run_worker`).

Roles can also come from KerasTuner's environment variables
(``KERASTUNER_TUNER_ID``, ``KERASTUNER_ORACLE_IP``, ``KERASTUNER_ORACLE_PORT``):
an id containing ``chief`` is the chief, any other id a worker (and the id
names it). A worker's tuner is built with these variables set
(:func:`kt_environment`), so KerasTuner itself proxies its oracle to the
chief's; the chief serves its oracle with
:class:`automl.search.kt_adapter.OracleServer`. See docs/distributed.md.

This module holds the configuration and the shared-directory protocol only:
importing it is cheap, and it imports nothing else from :mod:`automl.search`.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InputError
from ..persist import atomic_file

__all__ = ["ROLES", "DEFAULT_ADDRESS", "CHIEF_FILE", "ENV_VARIABLES", "DistributedConfig", "WorkerResult",
           "OracleUnavailable", "resolve_distributed", "parse_address", "kt_environment", "announce_search",
           "read_announcement", "wait_for_chief", "check_families"]

ROLES = ("chief", "worker")
DEFAULT_ADDRESS = "127.0.0.1:8000"
CHIEF_FILE = "automl_chief.json"
# KerasTuner's documented variables for distributed tuning.
ENV_VARIABLES = ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT")
# Seconds a worker waits for the chief to announce the search (the chief reads and prepares the data first).
_WAIT_S = 600.0
# Seconds one call to the oracle may take before a worker gives up on the chief.
_RPC_TIMEOUT_S = 120.0
_POLL_S = 0.25


class OracleUnavailable(RuntimeError):
    """A worker could not reach the chief's oracle (stopped, crashed, or a network problem)."""


@dataclass(frozen=True)
class DistributedConfig:
    """Where this process stands in a distributed search.

    Attributes
    ----------
    role : {'chief', 'worker'}
    host : str
        Chief: the interface the oracle listens on (``0.0.0.0`` for every
        interface). Worker: the chief's host name or IP address.
    port : int
    worker_id : str
        The id a worker gives the oracle; unique per worker (the oracle hands a
        worker that asks again under the same id the trial it left unfinished).
    wait_s : float, default=600
        Seconds a worker waits for the chief's announcement.
    rpc_timeout_s : float, default=120
        Seconds one oracle call may take before the worker stops.
    """

    role: str
    host: str
    port: int
    worker_id: str = "chief"
    wait_s: float = _WAIT_S
    rpc_timeout_s: float = _RPC_TIMEOUT_S

    @property
    def address(self) -> str:
        """``host:port``."""
        return f"{self.host}:{self.port}"


@dataclass
class WorkerResult:
    """What :func:`automl.run_worker` returns: the trials this worker ran.

    The networks themselves stay in the shared directory; the chief's
    :class:`~automl.result.FitResult` ranks them.

    Attributes
    ----------
    worker_id : str
    trials : DataFrame
        One row per trial this worker ran (the columns of ``FitResult.trials``).
    stop_reason : str
        ``finished`` (the oracle ended the search), ``budget`` (the chief's
        deadline), ``oracle_unavailable`` or ``interrupted``.
    directory : str
        The shared project folder.
    elapsed_s : float
    """

    worker_id: str
    trials: pd.DataFrame
    stop_reason: str
    directory: str
    elapsed_s: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (f"WorkerResult(worker_id={self.worker_id!r}, trials={len(self.trials)}, "
                f"stop_reason={self.stop_reason!r}, directory={self.directory!r})")


def parse_address(address: str, name: str = "oracle_address") -> tuple[str, int]:
    """Split ``"host:port"``; raise :class:`InputError` naming ``name`` when it is not one.

    Examples
    --------
    >>> parse_address("10.0.0.5:8000")
    ('10.0.0.5', 8000)
    """
    text = str(address).strip()
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")  # [::1]:8000
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError(f"`{name}` must look like 'host:port' (e.g. '127.0.0.1:8000' or 'chief-node:8000'); "
                         f"got {address!r}.")
    return host, int(port)


def resolve_distributed(distributed: str | None, oracle_address: str | None = None,
                        environ: dict | None = None) -> DistributedConfig | None:
    """The distributed role of this process, from the arguments or KerasTuner's environment variables.

    Parameters
    ----------
    distributed : {'chief', 'worker'} or None
        None: distributed only when ``KERASTUNER_ORACLE_IP`` is set (the role
        then comes from ``KERASTUNER_TUNER_ID``).
    oracle_address : str, optional
        ``host:port`` of the oracle; default from ``KERASTUNER_ORACLE_IP`` and
        ``KERASTUNER_ORACLE_PORT``, else ``127.0.0.1:8000``.
    environ : dict, optional
        Instead of ``os.environ`` (for tests).

    Returns
    -------
    DistributedConfig or None
        None for an ordinary, single-process search.
    """
    env = os.environ if environ is None else environ
    tuner_id = env.get("KERASTUNER_TUNER_ID", "").strip()
    from_env = "KERASTUNER_ORACLE_IP" in env
    if distributed is None:
        if not from_env:
            if oracle_address is not None:
                raise InputError("`oracle_address` is only used by a distributed search; also pass "
                                 "distributed='chief' or distributed='worker'.")
            return None
        if not tuner_id:
            raise InputError("KERASTUNER_ORACLE_IP is set but KERASTUNER_TUNER_ID is not: set it to 'chief' on the "
                             "chief and to a unique id (e.g. 'tuner0') on each worker, or unset KERASTUNER_ORACLE_IP.")
        role = "chief" if "chief" in tuner_id else "worker"
    else:
        if distributed not in ROLES:
            raise InputError(f"`distributed` must be 'chief', 'worker' or None, got {distributed!r}.")
        role = distributed
    if oracle_address is None and from_env:
        if "KERASTUNER_ORACLE_PORT" not in env:
            raise InputError("KERASTUNER_ORACLE_IP is set but KERASTUNER_ORACLE_PORT is not; set both, or pass "
                             "oracle_address='host:port'.")
        oracle_address = f"{env['KERASTUNER_ORACLE_IP']}:{env['KERASTUNER_ORACLE_PORT']}"
    host, port = parse_address(oracle_address or DEFAULT_ADDRESS)
    if role == "chief":
        worker_id = "chief"
    elif tuner_id and "chief" not in tuner_id:
        worker_id = tuner_id
    else:
        worker_id = f"worker-{socket.gethostname()}-{os.getpid()}"
    wait_s = float(env.get("AUTOML_WORKER_WAIT_S", _WAIT_S))
    return DistributedConfig(role=role, host=host, port=port, worker_id=worker_id, wait_s=wait_s)


@contextlib.contextmanager
def kt_environment(config: DistributedConfig | None):
    """Set KerasTuner's ``KERASTUNER_*`` variables for ``config`` (or clear them for None) while inside.

    KerasTuner reads them when a tuner is built: a worker's tuner then proxies
    its oracle to the chief's. Clearing them keeps a chief's or a lone tuner's
    oracle its own whatever the environment says (automl's arguments win).
    """
    saved = {key: os.environ.get(key) for key in ENV_VARIABLES}
    if config is None:
        wanted = {key: None for key in ENV_VARIABLES}
    else:
        wanted = {"KERASTUNER_TUNER_ID": config.worker_id, "KERASTUNER_ORACLE_IP": config.host,
                  "KERASTUNER_ORACLE_PORT": str(config.port)}
    try:
        for key, value in wanted.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# -- the chief's announcement in the shared directory -----------------------------------------
def announce_search(project_dir: Path, info: dict) -> Path:
    """Write (atomically) the chief's announcement: deadline, epoch plan, address, ``finished`` flag."""
    path = Path(project_dir) / CHIEF_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as handle:
        json.dump(info, handle)
    return path


def read_announcement(project_dir: Path) -> dict | None:
    """The chief's announcement in ``project_dir``, or None when there is none (or it is being replaced)."""
    path = Path(project_dir) / CHIEF_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def wait_for_chief(project_dir: Path, config: DistributedConfig, say=None) -> dict:
    """Block until the chief announces a live search in ``project_dir``; return the announcement.

    A finished announcement, or one whose deadline has passed, belongs to an
    earlier search and is ignored.

    Raises
    ------
    InputError
        After ``config.wait_s`` seconds without an announcement; the message
        lists the searches found in the directory (a different project folder
        means different data or options on the chief).
    """
    project_dir = Path(project_dir)
    give_up = time.monotonic() + config.wait_s
    said = False
    while True:
        info = read_announcement(project_dir)
        if info and not info.get("finished") and float(info.get("deadline_unix", 0)) > time.time():
            return info
        if time.monotonic() >= give_up:
            others = sorted(p.parent.name for p in project_dir.parent.glob(f"*/{CHIEF_FILE}")
                            if p.parent != project_dir)
            found = f" Searches announced in that directory: {others}." if others else ""
            raise InputError(
                f"No chief announced a search in {str(project_dir)!r} within {config.wait_s:.0f} s. Start the chief "
                "(distributed='chief') on the same data, target, seed, tuner, search space, max_epochs and "
                "directory (and max_memory_mb=None on machines with different memory), or raise "
                f"AUTOML_WORKER_WAIT_S.{found}")
        if not said and say is not None:
            say(f"automl worker {config.worker_id}: waiting for the chief's search in {project_dir}")
            said = True
        time.sleep(_POLL_S)


# -- the orchestrator's side ---------------------------------------------------------------------
def check_families(config: DistributedConfig | None, family_names) -> None:
    """A distributed search needs the network family (the only one searched across processes)."""
    if config is None:
        return
    names = [getattr(f, "name", f) for f in family_names]
    if "neural_network" not in names:
        raise InputError(f"distributed={config.role!r} searches networks across processes, but `families` "
                         f"{names} has no 'neural_network'; add it (the chief fits the other families itself).")
