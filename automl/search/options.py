"""``NetworkSearch``: the options only the network family understands, grouped in one place.

``automl.fit(..., network=automl.NetworkSearch(tuner="random", max_trials=10))``
(or ``network={"tuner": "random", "max_trials": 10}``) instead of nine loose
keywords of ``fit`` that no other family reads. The old keywords still work
for one release, with a DeprecationWarning naming the new spelling.

Cheap to import (no Keras).
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, fields
from typing import Any

from ..data.checks import check_choice, check_number
from ..errors import InputError
from .distributed import DistributedConfig, resolve_distributed

__all__ = ["NetworkSearch", "NETWORK_KEYS", "resolve_network"]

TUNER_NAMES = ("hyperband", "bayesian", "random")


@dataclass(frozen=True)
class NetworkSearch:
    """How the neural-network family searches (ignored when that family is not fitted).

    Parameters
    ----------
    tuner : {'hyperband', 'bayesian', 'random'}, default='hyperband'
        KerasTuner algorithm.
    max_trials : int, optional
        Cap on network trials (the budget caps them too).
    directory : str, optional
        Where the search keeps its trials; an interrupted search resumes from it.
        Default ``$AUTOML_RUNS_DIR`` or ``./automl_runs``.
    overwrite : bool, default=False
        Start afresh even if ``directory`` holds this search.
    hypermodel : keras_tuner.HyperModel or callable, optional
        Your own search space, used instead of the built-in one.
    search_space : dict, optional
        Overrides for the built-in space (see docs/search.md).
    max_epochs : int, optional
        Upper bound on epochs per trial; sized to the data and budget when omitted.
    distributed : {'chief'}, optional
        Serve the search to worker processes (see docs/distributed.md and
        :func:`automl.run_worker`); default from the ``KERASTUNER_*`` variables.
    oracle_address : str, optional
        ``host:port`` the chief listens on and workers connect to (default ``127.0.0.1:8000``).

    Examples
    --------
    >>> NetworkSearch(tuner="random", max_trials=5).tuner
    'random'
    """

    tuner: str = "hyperband"
    max_trials: int | None = None
    directory: Any = None
    overwrite: bool = False
    hypermodel: Any = None
    search_space: dict | None = None
    max_epochs: int | None = None
    distributed: str | None = None
    oracle_address: str | None = None

    def __post_init__(self):
        check_choice(self.tuner, "network.tuner", TUNER_NAMES)
        check_number(self.max_trials, "network.max_trials", integer=True, low=1, allow_none=True)
        check_number(self.max_epochs, "network.max_epochs", integer=True, low=1, allow_none=True)
        if not isinstance(self.overwrite, bool):
            raise InputError(f"`network.overwrite` must be True or False, got {self.overwrite!r}.")

    def config(self, environ: dict | None = None) -> DistributedConfig | None:
        """The distributed role of this process (arguments first, then ``KERASTUNER_*``), or None."""
        return resolve_distributed(self.distributed, self.oracle_address, environ)

    def family_options(self, config: DistributedConfig | None) -> dict:
        """Keyword arguments of :class:`~automl.search.NeuralNetworkFamily`."""
        options = {k: v for k, v in asdict(self).items() if k not in ("distributed", "oracle_address")}
        options["distributed"] = config
        return options


NETWORK_KEYS = tuple(f.name for f in fields(NetworkSearch))


def resolve_network(network, legacy: dict | None = None, *, stacklevel: int = 3) -> NetworkSearch:
    """``network=`` (a NetworkSearch, a dict or None) merged with deprecated loose keywords of ``fit``.

    Raises
    ------
    InputError
        Unknown keys, a wrong type, or the same option given both ways.
    """
    legacy = dict(legacy or {})
    unknown = sorted(set(legacy) - set(NETWORK_KEYS))
    if unknown:
        raise TypeError(f"fit() got unexpected keyword argument(s) {unknown}.")
    if network is None:
        base: dict = {}
    elif isinstance(network, NetworkSearch):
        # only what differs from the defaults: a legacy keyword may fill the rest
        base = {f.name: getattr(network, f.name) for f in fields(NetworkSearch)
                if getattr(network, f.name) is not f.default and getattr(network, f.name) != f.default}
    elif isinstance(network, dict):
        bad = sorted(set(network) - set(NETWORK_KEYS))
        if bad:
            raise InputError(f"Unknown `network` key(s) {bad}; use {list(NETWORK_KEYS)}.")
        base = dict(network)
    else:
        raise InputError("`network` must be an automl.NetworkSearch or a dict of its options "
                         f"({list(NETWORK_KEYS)}); got {type(network).__name__}.")
    if legacy:
        both = sorted(set(legacy) & set(base))
        if both:
            raise InputError(f"{both} given both as keywords of fit and in `network`; keep them in `network` only.")
        spelled = ", ".join(f"{k}={v!r}" for k, v in legacy.items())
        warnings.warn(f"Passing {sorted(legacy)} to fit directly is deprecated and will stop working in the next "
                      f"release; pass network=automl.NetworkSearch({spelled}) instead.",
                      DeprecationWarning, stacklevel=stacklevel)
        base.update(legacy)
    return NetworkSearch(**base)
