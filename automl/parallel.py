"""Where independent fits run: one joblib call for every fan-out of the search.

Fold fits of the bagging stage, classic-family trials and refits are
independent tasks. They all go through :func:`run_tasks`, which hands them to
joblib's ``Parallel``. By default that runs them one after the other in this
process (the families already use every core inside each fit), so results
and timings are exactly those of a plain loop. A user with a cluster chooses
where they run with joblib's own switch, without any automl option::

    import joblib
    from dask.distributed import Client
    client = Client("scheduler-address:8786")
    with joblib.parallel_config(backend="dask"):
        result = automl.fit(df, "target")

Callers that can use several workers at once ask :func:`slots` how many tasks
to hand over together (1 for the in-process loop, so they keep their
one-at-a-time budget checks there).

Tasks must be picklable (module-level functions over plain data) and must not
rely on ``time.monotonic()`` values taken in another process: deadlines travel
as wall-clock times (``time.time()``), see :func:`wall_deadline`. Under a Dask
backend, large arguments (arrays, or dataclasses such as
:class:`~automl.models.PreparedData` holding them) are sent to the cluster
once, and shared by the tasks of that call and of later calls while the
object lives here (see :func:`run_tasks`). docs/distributed.md has the
commands for a real cluster.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
import weakref
from typing import Any, Callable, Iterable, Sequence

__all__ = ["run_tasks", "slots", "in_process", "here", "wall_deadline", "monotonic_deadline"]

# Set while a task runs in a worker (see _plain): fan-outs nested in it run there as a plain loop.
_state = threading.local()
# Arguments at least this large (bytes of the arrays they hold) are scattered to a Dask cluster once instead of
# being pickled into every task's message.
_SCATTER_BYTES = 100_000
# id(argument) -> (weak reference to it, client, future): an argument stays on the cluster while it lives here,
# so the batches of one search upload the training data once.
_uploads: dict[int, tuple[Any, Any, Any]] = {}


def _active():
    from joblib.parallel import get_active_backend

    return get_active_backend()


def in_process() -> bool:
    """True when :func:`run_tasks` would run its tasks as a plain loop in this process.

    That is joblib's default (no ``parallel_config`` in effect, or one that only
    set ``n_jobs=1`` or left the default loky backend at one job), the
    sequential backend, and inside a task that :func:`run_tasks` handed to a
    backend (its own fan-outs stay in the worker that runs it).
    """
    if getattr(_state, "inside", False):
        return True
    backend, n_jobs = _active()
    name = type(backend).__name__
    if name == "SequentialBackend":
        return True
    # joblib's default (or loky asked for one job): the plain loop, no worker processes, no pickling
    return name == "LokyBackend" and n_jobs in (None, 1)


def slots() -> int:
    """How many tasks the active joblib backend runs at once (1 for the in-process loop).

    Under ``parallel_config(backend="dask")`` this is the number of worker
    threads of the cluster (``n_jobs`` when the config sets one above 1).
    """
    if in_process():
        return 1
    backend, n_jobs = _active()
    try:
        return max(1, int(backend.effective_n_jobs(_n_jobs(n_jobs))))
    except Exception:  # a backend that cannot tell (e.g. no worker yet): one task at a time
        return 1


def _n_jobs(n_jobs) -> int:
    # a backend the user chose (dask, ray, threading...): all its workers unless they set n_jobs
    return n_jobs if n_jobs not in (None, 1) else -1


def run_tasks(func: Callable[..., Any], tasks: Iterable[Sequence[Any]], *, local: bool = False) -> list[Any]:
    """``[func(*task) for task in tasks]``, run by joblib's active backend.

    Parameters
    ----------
    func : callable
        A picklable function (module level).
    tasks : iterable of tuple
        Positional arguments of each call.
    local : bool, default=False
        Run them here, one after the other, whatever the backend: for work that
        cannot leave this process (a Keras network's builder, a family whose
        ``runs_anywhere`` is not True).

    Returns
    -------
    list
        The results, in the order of ``tasks``.

    Notes
    -----
    With no ``joblib.parallel_config`` in effect the calls run in this process,
    in order. Under ``parallel_config(backend=...)`` joblib decides the number of
    workers (``n_jobs`` of the config, or all of the backend's). Under the Dask
    backend, every argument holding at least 100 kB of arrays is scattered to
    the cluster once and the tasks receive it from there: joblib's own
    automatic scattering only sees an argument's shallow size, which misses a
    dataclass of arrays and would pickle the training data into every task.
    In the worker, a task runs as it would in a plain process: scikit-learn's
    own ``n_jobs`` uses threads of that worker (not the cluster, as joblib's
    Dask backend would otherwise nest it), and :func:`run_tasks` calls inside it
    run as a loop there. An exception raised by a task is raised here.
    """
    tasks = [tuple(t) for t in tasks]
    if not tasks:
        return []
    if local or in_process():
        return [func(*t) for t in tasks]
    from joblib import Parallel, delayed

    backend, n_jobs = _active()
    tasks, keep = _scatter(backend, tasks)
    try:
        return list(Parallel(n_jobs=_n_jobs(n_jobs))(delayed(_plain)(func, *t) for t in tasks))
    finally:
        del keep  # data scattered for this call only is released once no task needs it


@contextlib.contextmanager
def here():
    """Run the joblib work inside this block in this process, as if no backend had been chosen.

    For the chief's own work under a user's ``parallel_config`` (preparing the
    rows: scikit-learn's ColumnTransformer would otherwise send every chunk of
    the frame to the cluster and back). Thread-preferring scikit-learn calls
    get threads as in a plain process, and :func:`run_tasks` runs a loop. With
    no backend chosen it changes nothing.
    """
    if in_process():
        yield
        return
    from joblib import parallel_config

    outer = getattr(_state, "inside", False)
    _state.inside = True
    try:
        # the backend joblib picks in a plain process for scikit-learn's thread-preferring fits
        with parallel_config(backend="threading"):
            yield
    finally:
        _state.inside = outer


def _plain(func: Callable[..., Any], *args: Any) -> Any:
    """``func(*args)`` in a worker, as in a plain process (see :func:`run_tasks`)."""
    with here():
        return func(*args)


def _scatter(backend, tasks: list[tuple]) -> tuple[list[tuple], list]:
    """Replace large arguments by Dask futures of them: one upload per distinct object.

    An argument several tasks share goes to as many workers as there are such
    tasks (all of them at most), so that they can start at once without
    fetching it from each other. It stays on the cluster while it lives in this
    process, for the next calls with the same object (the batches of one
    search): arguments must not be changed in place between calls.
    """
    client = getattr(backend, "client", None)
    if client is None or type(backend).__name__ != "DaskDistributedBackend":
        return tasks, []
    large: dict[int, Any] = {}
    users: dict[int, int] = {}
    for task in tasks:
        for arg in {id(a): a for a in task}.values():
            if id(arg) in large or _nbytes(arg) >= _SCATTER_BYTES:
                large[id(arg)] = arg
                users[id(arg)] = users.get(id(arg), 0) + 1
    if not large:
        return tasks, []
    workers = sorted(client.ncores())
    futures = {}
    for key, arg in large.items():
        targets = workers[:users[key]] if 1 < users[key] < len(workers) else None
        futures[key] = _upload(client, arg, users[key] > 1, targets)
    return [tuple(futures.get(id(a), a) for a in task) for task in tasks], list(futures.values())


def _upload(client, arg, broadcast: bool, workers):
    """A Dask future of ``arg``: the one from an earlier call while ``arg`` lives, else a new upload."""
    ref, owner, future = _uploads.get(id(arg), (None, None, None))
    if ref is not None and ref() is arg and owner is client and future.status == "finished":
        return future
    # hash=False: identical data scattered twice must not share a key with a future being released
    future = client.scatter(arg, hash=False, broadcast=broadcast, workers=workers)
    key = id(arg)
    try:
        # the upload is released (and its cluster memory freed) when the argument is garbage-collected here
        ref = weakref.ref(arg, lambda _, key=key: _uploads.pop(key, None))
    except TypeError:  # not weakly referable: kept for this call only
        return future
    _uploads[key] = (ref, client, future)
    return future


def _nbytes(obj, depth: int = 0) -> int:
    """Bytes of the NumPy arrays ``obj`` holds (itself, a dataclass's fields, a list/tuple/dict's items)."""
    nbytes = getattr(obj, "nbytes", None)
    if isinstance(nbytes, int) and hasattr(obj, "dtype"):
        return nbytes
    if depth >= 2:
        return 0
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return sum(_nbytes(getattr(obj, f.name), depth + 1) for f in dataclasses.fields(obj))
    if isinstance(obj, (list, tuple)):
        return sum(_nbytes(item, depth + 1) for item in obj)
    if isinstance(obj, dict):
        return sum(_nbytes(item, depth + 1) for item in obj.values())
    return 0


def wall_deadline(monotonic_deadline_value: float) -> float:
    """The ``time.time()`` moment matching a ``time.monotonic()`` deadline (for tasks run elsewhere)."""
    return time.time() + (monotonic_deadline_value - time.monotonic())


def monotonic_deadline(wall_deadline_value: float) -> float:
    """The ``time.monotonic()`` moment matching a wall-clock deadline, in the process that runs the task."""
    return time.monotonic() + (wall_deadline_value - time.time())
