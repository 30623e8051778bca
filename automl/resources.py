"""Resource limits: how much memory the search may give its training matrix.

``fit`` estimates the size of the prepared training matrix from the schema
before building it, and samples training rows when it would not fit in the
limit (see :func:`memory_limit_mb` and :func:`rows_within`).
"""

from __future__ import annotations

import os

from .errors import InputError

__all__ = ["available_memory_mb", "memory_limit_mb", "release_memory", "rows_within", "AUTO_MEMORY_SHARE"]

# Share of the available memory the prepared training matrix may take by default. The
# models copy it (float64 conversions, binning, bootstraps, the network's tensors), so
# the whole fit needs several times this much.
AUTO_MEMORY_SHARE = 0.1
# Used when the available memory cannot be read (no psutil, no sysconf).
_FALLBACK_MB = 4096.0


def available_memory_mb() -> float | None:
    """Memory available to new allocations, in MiB (None when it cannot be read)."""
    try:
        import psutil
        return psutil.virtual_memory().available / 2**20
    except Exception:  # noqa: BLE001 - psutil is optional; fall back to sysconf
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (AttributeError, ValueError, OSError):
        return None


def memory_limit_mb(value) -> float | None:
    """Resolve the ``max_memory_mb`` argument of :func:`automl.fit`.

    Parameters
    ----------
    value : 'auto', float or None
        ``'auto'``: :data:`AUTO_MEMORY_SHARE` of the available memory; a number:
        that many MiB; None: no limit.

    Returns
    -------
    float or None
        The limit in MiB, or None for no limit.
    """
    if value is None:
        return None
    if isinstance(value, str):
        if value != "auto":
            raise InputError(f"`max_memory_mb` must be 'auto', a number of MiB or None, got {value!r}.")
        available = available_memory_mb()
        return AUTO_MEMORY_SHARE * (available if available else _FALLBACK_MB)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or value != value:
        raise InputError(f"`max_memory_mb` must be 'auto', a positive number of MiB or None, got {value!r}.")
    return float(value)


def rows_within(limit_mb: float | None, n_rows: int, n_features: int, *, bytes_per_value: int = 4,
                minimum: int = 20) -> int:
    """How many of ``n_rows`` rows of ``n_features`` values fit in ``limit_mb`` (at least ``minimum``).

    Examples
    --------
    >>> rows_within(1.0, 1_000_000, 10)   # 1 MiB of float32 rows of 10 values
    26214
    """
    if limit_mb is None or n_rows <= minimum:
        return n_rows
    per_row = max(1, n_features) * bytes_per_value
    fit = int(limit_mb * 2**20 // per_row)
    return int(min(n_rows, max(minimum, fit)))


def release_memory() -> bool:
    """Return the heap memory freed since the last call to the operating system; True when it could.

    Preparing the matrix allocates and frees many blocks of tens of MiB; glibc keeps
    freed blocks in its heap for reuse, but arrays above its mmap threshold (at most
    32 MiB) never reuse them, so a model's full-size copies would come on top of
    that retained memory. ``malloc_trim(0)`` gives it back (glibc only; elsewhere a no-op).
    """
    global _LIBC
    if _LIBC is None:
        try:
            import ctypes

            _LIBC = ctypes.CDLL("libc.so.6")
            _LIBC.malloc_trim  # noqa: B018 - not glibc: no malloc_trim
        except (OSError, AttributeError):
            _LIBC = False
    if not _LIBC:
        return False
    _LIBC.malloc_trim(0)
    return True


_LIBC = None
