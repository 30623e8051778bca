"""Live progress in notebooks: a bar over the time budget and a mini-leaderboard.

With ``verbose`` on inside a Jupyter kernel, :func:`automl.progress.make_hooks`
adds this listener (offered by :func:`automl.dashboard.notebook_listener`);
elsewhere the text listener is used. The search only emits events; this module
only draws them.
"""

from __future__ import annotations

import html
import math
import time
from typing import Any

import ipywidgets as widgets
import pandas as pd

from ..progress import Callback
from ._widgets import frame_html


class NotebookProgress(Callback):
    """Progress bar over the time budget plus the best trials so far, as ipywidgets.

    Parameters
    ----------
    top : int, default=5
        Rows of the live mini-leaderboard.
    show : bool, default=True
        Display the widget when the run begins (tests pass False and read
        ``widget`` instead).

    Attributes
    ----------
    bar : FloatProgress
        Share of the time budget spent, 0 to 1.
    status : HTML
        Current family, trial count and best score.
    board : HTML
        The ``top`` best trials so far.
    widget : VBox
        All of the above.
    trials : list of dict
        Every trial record received.

    Examples
    --------
    >>> automl.fit(df, "target", callbacks=[NotebookProgress()], verbose=0)  # doctest: +SKIP
    """

    def __init__(self, top: int = 5, show: bool = True):
        self.top = top
        self.show = show
        self.bar = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, description="0%",
                                         bar_style="info", layout=widgets.Layout(width="60%"))
        self.status = widgets.HTML("waiting for the run to start")
        self.board = widgets.HTML()
        self.widget = widgets.VBox([widgets.HBox([self.bar, self.status]), self.board])
        self.trials: list[dict[str, Any]] = []
        self.metric = "score"
        self.budget_s: float | None = None
        self.family = ""
        self._started = time.monotonic()
        self._displayed = False

    # -- events -------------------------------------------------------------------------
    def on_fit_begin(self, info: dict[str, Any]) -> None:  # noqa: D102
        self._started = time.monotonic()
        self.trials = []
        self.metric = str(info.get("metric", "score"))
        budget = info.get("time_budget")
        self.budget_s = float(budget) if budget else None
        rows = info.get("rows")
        what = f"{info.get('task', 'run')}" + (f", {rows} rows" if rows is not None else "")
        self.status.value = html.escape(f"{what}; metric {self.metric}")
        self.bar.bar_style = "info"
        self._tick()
        if self.show and not self._displayed:
            from IPython.display import display
            display(self.widget)
            self._displayed = True

    def on_family_begin(self, family: str, seconds: float) -> None:  # noqa: D102
        self.family = family
        self._tick()
        self._update_status()

    def on_trial_end(self, record: dict[str, Any]) -> None:  # noqa: D102
        self.trials.append(dict(record))
        self._tick()
        self._update_status()
        self.board.value = self.board_html()

    def on_family_end(self, family: str, n_candidates: int) -> None:  # noqa: D102
        self._tick()

    def on_fit_end(self, leaderboard=None) -> None:  # noqa: D102
        self.bar.value = 1.0
        self.bar.description = "done"
        self.bar.bar_style = "success"
        elapsed = time.monotonic() - self._started
        text = f"finished in {elapsed:.0f}s, {len(self.trials)} trials"
        if leaderboard is not None and len(leaderboard) and "model" in getattr(leaderboard, "columns", ()):
            top = leaderboard.iloc[0]
            text += f"; best {top['model']} (val {top['val_score']:.4f}, test {top['test_score']:.4f})"
        self.status.value = html.escape(text)

    # -- views --------------------------------------------------------------------------
    def best_trials(self) -> pd.DataFrame:
        """The ``top`` finished trials by validation score (``family``, ``trial``, ``score``, ``params``)."""
        ok = [t for t in self.trials if t.get("status", "ok") == "ok" and _finite(t.get("score"))]
        ok.sort(key=lambda t: t["score"], reverse=True)
        rows = [{"family": t.get("family", ""), "trial": t.get("trial", ""), "score": float(t["score"]),
                 "time_s": t.get("time_s"), "params": _short(t.get("params"))} for t in ok[:self.top]]
        return pd.DataFrame(rows, columns=["family", "trial", "score", "time_s", "params"])

    def board_html(self) -> str:
        """HTML of :meth:`best_trials`, headed by the metric."""
        best = self.best_trials()
        if not len(best):
            return "<i>no finished trial yet</i>"
        best = best.rename(columns={"score": f"val {self.metric}"})
        return f"<div style='font-size:12px'>{frame_html(best)}</div>"

    def _tick(self) -> None:
        elapsed = time.monotonic() - self._started
        if self.budget_s:
            share = min(1.0, elapsed / self.budget_s)
            self.bar.value = share
            self.bar.description = f"{share:.0%}"
        else:  # no budget known (e.g. clustering): show elapsed time only
            self.bar.description = f"{elapsed:.0f}s"

    def _update_status(self) -> None:
        failed = sum(1 for t in self.trials if t.get("status", "ok") != "ok")
        best = self.best_trials()
        parts = [f"{self.family}" if self.family else "", f"{len(self.trials)} trials"]
        if failed:
            parts.append(f"{failed} failed")
        if len(best):
            parts.append(f"best val {self.metric} {best['score'].iloc[0]:.4f}")
        self.status.value = html.escape(", ".join(p for p in parts if p))


def _finite(value: Any) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _short(params: Any, limit: int = 70) -> str:
    if params is None:
        return ""
    if isinstance(params, dict):
        text = ", ".join(f"{k}={_fmt(v)}" for k, v in params.items())
    else:
        text = str(params)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _fmt(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)
