"""Moved to :mod:`automl.search.distributed` (kept for one release; import from there).

A distributed worker now runs through :func:`automl.run_worker`.
"""

from __future__ import annotations

import warnings

from .search.distributed import *  # noqa: F401,F403
from .search.distributed import __all__  # noqa: F401

warnings.warn("automl.distributed moved to automl.search.distributed; import it from there.",
              DeprecationWarning, stacklevel=2)
