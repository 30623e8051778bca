"""The autoencoder architecture search, on the same engine as the supervised network search.

The search tries sizes, depths, widths, dropout, input noise and L2 strength
and keeps the network with the lowest *reconstruction* error on held-out rows
(the Huber reconstruction metric ``val_recon``, without the L2 penalty, so
that regularised and plain networks are compared on equal terms). The trial
loop, deadline, NaN guard, early stopping, per-trial records and resume are
:mod:`automl.search.engine`'s.

Keras, TensorFlow and KerasTuner are imported inside :func:`search_autoencoder`.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from ..budget import Budget
from ..errors import InputError, SearchWarning, warn
from .autoencoder import Autoencoder, _as_matrix, _batch_size, _build_network, _split

__all__ = ["search_autoencoder", "search_space", "TRIAL_COLUMNS"]

TRIAL_COLUMNS = ["trial", "val_loss", "score", "status", "params", "epochs", "time_s", "stopped_early", "error",
                 "resumed", "family"]


def search_space(n_rows: int, n_features: int) -> dict[str, list]:
    """Choices the autoencoder search draws from, bounded by the data's size.

    Small data sets get narrower, shallower networks (fewer weights than rows
    to learn them from); the bottleneck is never wider than the input.
    """
    widths = [w for w in (64, 128, 256, 512)
              if w <= max(256, 4 * n_features) and w * n_features <= 50 * n_rows + 16384]
    codes = sorted({min(c, n_features) for c in (8, 10, 16, 32)})
    return {
        "depth": [1, 2, 3] if n_rows >= 1000 else [1, 2],
        "width": widths or [64],
        "code_size": codes,
        "dropout": [0.0, 0.1],
        "noise": [0.0, 0.1, 0.2, 0.3],
        "l2": [0.0, 1e-5, 1e-4],
    }


# The first trial uses these values where the space allows (the engine starts every search at the
# space's defaults): the plain architecture that works well across data sets, so a budget that fits
# one trial still gives a good network.
_FIRST_TRIAL = {"depth": 2, "width": 256, "code_size": 10, "dropout": 0.0, "noise": 0.1, "l2": 0.0}


def _choice(hp, name: str, values: list):
    default = _FIRST_TRIAL.get(name)
    return hp.Choice(name, values, default=default if default in values else values[0])


def _architecture_from_hp(hp, space: dict) -> dict[str, Any]:
    depth = _choice(hp, "depth", space["depth"])
    width = _choice(hp, "width", space["width"])
    # Each deeper layer halves the width: a funnel towards the bottleneck.
    hidden = tuple(max(8, width // (2 ** i)) for i in range(depth))
    return {
        "hidden": hidden,
        "code_size": _choice(hp, "code_size", space["code_size"]),
        "dropout": _choice(hp, "dropout", space["dropout"]),
        "noise": _choice(hp, "noise", space["noise"]),
        "l2": _choice(hp, "l2", space["l2"]),
        "activation": "relu",
        "learning_rate": 1e-3,
    }


def _architecture_from_values(values: dict, space: dict) -> dict[str, Any]:
    depth = int(values.get("depth", space["depth"][0]))
    width = int(values.get("width", space["width"][0]))
    return {
        "hidden": [max(8, width // (2 ** i)) for i in range(depth)],
        "code_size": int(values.get("code_size", space["code_size"][0])),
        "dropout": float(values.get("dropout", 0.0)),
        "noise": float(values.get("noise", 0.0)),
        "l2": float(values.get("l2", 0.0)),
        "activation": "relu",
        "learning_rate": 1e-3,
    }


class _Listeners:
    """Progress hooks as the clustering pipeline reports them (architecture params, ``family='autoencoder'``)."""

    def __init__(self, hooks, space: dict):
        self.hooks = hooks
        self.space = space

    def on_trial_end(self, payload: dict) -> None:
        if self.hooks is None:
            return
        record = dict(payload)
        record["trial"] = int(record["trial"])
        record["params"] = _architecture_from_values(record.get("params") or {}, self.space)
        self.hooks.on_trial_end(record)


def search_autoencoder(X, *, budget: Budget, max_trials: int | None = None, seed: int = 0,
                       directory: str | os.PathLike | None = None, overwrite: bool = True,
                       space: dict | None = None, epochs: int = 200, patience: int = 15,
                       validation_fraction: float = 0.15, hooks=None) -> tuple[Autoencoder, pd.DataFrame]:
    """Search autoencoder architectures with KerasTuner; return the best, trained, and the trials.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
        Prepared features.
    budget : Budget
        No new trial starts that could not do useful work before it runs out, and
        a running trial stops at its next step; until one trial has finished,
        trials start and train regardless, so the search always returns a network.
    max_trials : int, optional
        Cap on trials (default 12; finished trials of a resumed search count).
    seed : int, default=0
    directory : path, optional
        Where the search keeps its trials (a temporary folder when omitted).
        With ``overwrite=False`` a search found there resumes: its finished
        trials are not run again.
    overwrite : bool, default=True
        Start afresh instead of resuming a search found in ``directory``.
    space : dict, optional
        Replaces entries of :func:`search_space` (lists of choices).
    epochs, patience : int
        Per-trial epoch cap and early-stopping patience on the validation reconstruction loss.
    validation_fraction : float, default=0.15
    hooks : automl.progress.Hooks, optional
        Receives ``on_trial_end`` with ``family='autoencoder'`` and ``score = -val_loss``.

    Returns
    -------
    (Autoencoder, DataFrame)
        The best network (fitted; its weights are those of the best epoch) and one
        row per trial: ``trial``, ``val_loss`` (Huber reconstruction loss), ``score``, ``status``, ``params``,
        ``epochs``, ``time_s``, ``stopped_early``, ``error``, ``resumed``, ``family``, ``best``.
    """
    import keras_tuner as kt

    from ..search.engine import SearchContext, make_tuner

    X = _as_matrix(X)
    chosen_space = search_space(len(X), X.shape[1])
    if space:
        unknown = sorted(set(space) - set(chosen_space))
        if unknown:
            raise InputError(f"Unknown autoencoder search key(s) {unknown}; use {sorted(chosen_space)}.")
        chosen_space.update({k: list(v) for k, v in space.items()})
    train, val = _split(len(X), validation_fraction, seed)
    batch = _batch_size(len(train))

    class HyperAutoencoder(kt.HyperModel):
        def build(self, hp):
            return _build_network(X.shape[1], **_architecture_from_hp(hp, chosen_space))

    context = SearchContext(
        family="autoencoder", deadline=budget.deadline, seed=seed, patience=patience,
        score=lambda model, val_recon: -float(val_recon), objective="val_recon", top_k=1,
        hooks=_Listeners(hooks, chosen_space), batch_size=batch, reduce_lr=False,
        # a relative gain of ~0.1% per `patience` epochs is not worth the time
        min_delta=1e-4, finish_first=True,
        # a trial starts whenever the budget is not spent: even a short one may find a better bottleneck
        min_trial_s=0.5, min_trial_share=0.0)
    with tempfile.TemporaryDirectory(prefix="automl-ae-") as scratch:
        tuner = make_tuner("random", HyperAutoencoder(), context, directory=Path(directory or scratch),
                           project_name="autoencoder", overwrite=overwrite if directory else True,
                           max_trials=int(max_trials or 12), seed=seed)
        tuner.run(X[train], X[train], validation_data=(X[val], X[val]), epochs=epochs, shuffle=True)
        records = [tuner.records[t] for t in sorted(tuner.records, key=int)]
        good = [r for r in records if r["status"] == "ok" and math.isfinite(r["score"])]
        if not good:
            errors = [r.get("error") for r in records if r.get("error")]
            raise InputError("No autoencoder trial finished" + (f": {errors[0]}" if errors else "")
                             + ". Increase `time_budget` or pass a fixed `autoencoder=`.")
        best_record = max(good, key=lambda r: r["score"])
        model = tuner.kept(best_record["trial"])
    failed = [r for r in records if r["status"] != "ok"]
    if failed:
        warn(f"{len(failed)} autoencoder trial(s) failed; the best of the others is used.", SearchWarning)
    params = _architecture_from_values(best_record["params"], chosen_space)
    best = Autoencoder(**{k: (tuple(v) if k == "hidden" else v) for k, v in params.items()},
                       epochs=epochs, patience=patience, validation_fraction=validation_fraction, seed=seed)
    best._set_model(model, best_record.get("history") or {"val_recon": [best_record["val_loss"]]})
    best.fit_time_s_ = best_record.get("time_s")
    rows = []
    for r in records:
        row = {column: r.get(column) for column in TRIAL_COLUMNS}
        row.update(trial=int(r["trial"]), family="autoencoder",
                   params=_architecture_from_values(r.get("params") or {}, chosen_space))
        rows.append(row)
    trials = pd.DataFrame(rows, columns=TRIAL_COLUMNS)
    trials["val_loss"] = trials["val_loss"].astype(float)
    trials["score"] = trials["score"].astype(float)
    trials["best"] = trials["trial"] == int(best_record["trial"])
    trials.attrs["stop_reason"] = context.stop_reason
    return best, trials
