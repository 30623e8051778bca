"""Progress hooks: the search reports events, listeners decide how to show them.

Computation never imports widgets. A listener is any object with some of the
``on_*`` methods below; :class:`Hooks` fans events out and ignores missing
methods. ``verbose=1`` adds a default listener: the first one a registered
factory offers (:func:`register_default_listener`), else :class:`TextProgress`.
The notebook widget is offered that way by :mod:`automl.dashboard`, which
registers it when ``automl`` is imported: this module never imports it.
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Iterable


class Callback:
    """Base class for progress listeners; override what you need."""

    def on_fit_begin(self, info: dict[str, Any]) -> None:
        """The fit starts. ``info`` has ``task``, ``metric``, ``rows``, ``families``, ``time_budget``."""

    def on_family_begin(self, family: str, seconds: float) -> None:
        """A model family starts with ``seconds`` of budget."""

    def on_trial_end(self, record: dict[str, Any]) -> None:
        """One configuration finished: ``family``, ``trial``, ``score`` (validation), ``status``, ``params``."""

    def on_family_end(self, family: str, n_candidates: int) -> None:
        """A model family finished."""

    def on_refit_end(self, info: dict[str, Any]) -> None:
        """The best model was refit on every labelled row: ``rows``, ``models``, ``skipped``, ``time_s``."""

    def on_fit_end(self, leaderboard) -> None:
        """The leaderboard is ready."""


class Hooks:
    """Fan progress events out to a list of listeners."""

    def __init__(self, listeners: Iterable[Any] = ()):
        self.listeners = [listener for listener in listeners if listener is not None]

    def __getattr__(self, event: str):
        if not event.startswith("on_"):
            raise AttributeError(event)

        def dispatch(*args, **kwargs):
            for listener in self.listeners:
                method = getattr(listener, event, None)
                if method is not None:
                    method(*args, **kwargs)
        return dispatch


class TextProgress(Callback):
    """Plain-text progress for terminals and logs (``verbose=1``)."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.best: float | None = None

    def _say(self, text: str) -> None:
        print(f"[automl] {text}", file=self.stream, flush=True)

    def on_fit_begin(self, info):  # noqa: D102
        self._say(f"{info['task']} task, {info['rows']} rows, metric {info['metric']}, "
                  f"budget {info['time_budget']:.0f}s, families {', '.join(info['families'])}")

    def on_family_begin(self, family, seconds):  # noqa: D102
        self._say(f"{family}: up to {seconds:.0f}s")

    def on_trial_end(self, record):  # noqa: D102
        value = record.get("score")
        if record.get("status") == "ok" and value is not None and (self.best is None or value > self.best):
            self.best = value
            self._say(f"  {record['family']} trial {record.get('trial')}: val {value:.4f} (best so far)")

    def on_refit_end(self, info):  # noqa: D102
        if info.get("models"):
            self._say(f"refit {', '.join(info['models'])} on all {info['rows']} labelled rows "
                      f"({info['time_s']:.1f}s)")
        for name, reason in info.get("skipped", {}).items():
            self._say(f"kept the searched {name} (refit skipped: {reason})")

    def on_fit_end(self, leaderboard):  # noqa: D102
        if len(leaderboard):
            top = leaderboard.iloc[0]
            self._say(f"best: {top['model']} val {top['val_score']:.4f} test {top['test_score']:.4f}")


# Factories that may offer the default listener for verbose runs, newest first asked (see make_hooks).
_DEFAULT_LISTENERS: list[Callable[[], Any]] = []


def register_default_listener(factory: Callable[[], Any]) -> None:
    """Let ``factory`` offer the listener that ``verbose=1`` adds.

    Parameters
    ----------
    factory : callable
        Called with no argument at the start of each verbose run; returns a
        listener, or None to leave the choice to the factories registered
        before it (and in the end to :class:`TextProgress`). Registering the
        same factory twice has no effect.

    Examples
    --------
    >>> def quiet_in_ci():
    ...     return Callback() if os.environ.get("CI") else None  # None: let the others choose
    >>> register_default_listener(quiet_in_ci)  # doctest: +SKIP
    """
    if factory not in _DEFAULT_LISTENERS:
        _DEFAULT_LISTENERS.append(factory)


def default_listener():
    """The listener ``verbose=1`` adds: the newest registered factory's offer, else :class:`TextProgress`."""
    for factory in reversed(_DEFAULT_LISTENERS):
        listener = factory()
        if listener is not None:
            return listener
    return TextProgress()


def make_hooks(verbose: int, callbacks: Iterable[Any] | None = None) -> Hooks:
    """Listeners for ``verbose`` (0 silent, 1 the :func:`default_listener`) plus the user's ``callbacks``."""
    listeners = list(callbacks or [])
    if verbose:
        listeners.append(default_listener())
    return Hooks(listeners)
