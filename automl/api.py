"""``automl.fit``: the thin orchestrator that chains the stages.

input checks -> dataset (schema, splits) -> preprocessing -> model families
within a shared budget -> scoring on held-out rows -> ensemble -> FitResult.
"""

from __future__ import annotations

import time
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from .budget import Budget
from .data import (check_number, check_target, drop_missing_target, holdout_share, infer_task, make_dataset,
                   read_table, sample_rows)
from .distributed import WorkerResult, check_families, resolve_distributed, run_worker
from .errors import InputError, SearchWarning, warn
from .evaluate import build_ensemble, rank, score_candidates
from .metrics import get_metric
from .models import PreparedData, balanced_class_weight, get_family
from .models.registry import DEFAULT_FAMILIES
from .preprocess import build_preprocessor, estimate_width, prepare_rows
from .progress import make_hooks
from .refit import all_rows, refit_best
from .resources import memory_limit_mb, rows_within
from .result import FitResult

# Part of the budget kept back for scoring, the ensemble and packing the result.
_RESERVE_SHARE = 0.05
_RESERVE_MAX_S = 10.0
# Time kept back to refit the best model on every labelled row (see automl.refit): a first guess as a share
# of the search budget until a model is known, then the estimated refit time of the two best models so far,
# never more than the cap.
_REFIT_FIRST_GUESS = 0.1
_REFIT_MAX_SHARE = 0.3
# Every family is guaranteed this part of its weighted share of the search budget, whatever runs before it.
_MIN_SHARE = 0.5
# Options that only the neural-network family understands.
_NETWORK_OPTIONS = ("tuner", "max_trials", "directory", "overwrite", "hypermodel", "search_space", "max_epochs",
                    "distributed")


def fit(
    data,
    target: str,
    *,
    task: str | None = None,
    metric: str | None = None,
    time_budget: float = 120.0,
    families: Sequence[Any] | None = None,
    tuner: str = "hyperband",
    max_trials: int | None = None,
    directory: str | None = None,
    overwrite: bool = False,
    hypermodel=None,
    search_space: dict | None = None,
    max_epochs: int | None = None,
    distributed: str | None = None,
    oracle_address: str | None = None,
    test_size: float | str = "auto",
    val_size: float | str = "auto",
    seed: int = 0,
    ensemble: bool = True,
    refit: bool = True,
    max_train_rows: int | None = None,
    max_memory_mb: float | str | None = "auto",
    verbose: int = 1,
    callbacks: Iterable[Any] | None = None,
) -> FitResult | WorkerResult:
    """Search models for ``target`` and return them ranked on held-out rows.

    Parameters
    ----------
    data : DataFrame or path
        Training rows; CSV, Parquet, Feather and JSON paths are read for you.
    target : str
        Column to predict. Rows where it is missing are dropped with a warning.
    task : {'binary', 'multiclass', 'regression', 'classification'}, optional
        Inferred from the target when omitted.
    metric : str, optional
        Ranking metric: accuracy (classification) or r2 (regression) by default;
        also roc_auc, log_loss, f1, balanced_accuracy, rmse, mae, ...
    time_budget : float, default=120
        Seconds for the whole call, shared between the model families.
    families : list of str or ModelFamily, optional
        Default ``["linear", "random_forest", "gradient_boosting", "neural_network"]``.
    tuner : {'hyperband', 'bayesian', 'random'}, default='hyperband'
        KerasTuner algorithm for the network search.
    max_trials : int, optional
        Cap on network trials (the budget caps them too).
    directory : str, optional
        Where the network search keeps its trials; an interrupted search resumes from it.
    overwrite : bool, default=False
        Start the network search afresh even if ``directory`` holds one.
    hypermodel : keras_tuner.HyperModel, optional
        Your own network search space, used instead of the built-in one.
    search_space : dict, optional
        Overrides for the built-in network search space (see docs/search.md).
    max_epochs : int, optional
        Upper bound on epochs per network trial.
    distributed : {'chief', 'worker'}, optional
        Search networks across processes or machines with KerasTuner's chief
        oracle (see docs/distributed.md); default: from the ``KERASTUNER_*``
        environment variables when set, else one process. Every process needs
        the same data, target, seed, options and a shared ``directory``. The
        chief returns the FitResult; a worker returns an
        :class:`automl.distributed.WorkerResult` with the trials it ran.
    oracle_address : str, optional
        ``host:port`` the chief listens on and the workers connect to
        (default ``127.0.0.1:8000``).
    test_size, val_size : float or 'auto', default='auto'
        Shares of the rows held out for the final test and for validation;
        'auto' is 0.2 up to 50,000 rows, then shrinks towards 10,000 rows each
        (never below 0.05), so large tables keep more rows for training.
    seed : int, default=0
    ensemble : bool, default=True
        Add a weighted ensemble of the best models, selected on validation rows.
    refit : bool, default=True
        Once ranked, train the best model (every member, for an ensemble) again
        with its chosen settings on all labelled rows (train, validation and
        test) within the budget; ``predict`` uses the refit model. The
        leaderboard keeps the held-out scores of the searched models, trained on
        fewer rows (its ``refit`` column marks the models refit). False keeps
        exactly the models that were scored.
    max_train_rows : int, optional
        Sample at most this many training rows for the search (with a warning).
    max_memory_mb : 'auto', float or None, default='auto'
        Memory the prepared training matrix may take, in MiB; when the training
        rows would need more, a sample of them is used for the search (with a
        SearchWarning). 'auto' is 10% of the memory available when ``fit`` starts
        (the models copy the matrix several times); None means no limit.
    verbose : int, default=1
        0 silent; 1 progress (a live widget in notebooks, text elsewhere).
    callbacks : list, optional
        Progress listeners (see :class:`automl.progress.Callback`).

    Returns
    -------
    FitResult
        (:class:`automl.distributed.WorkerResult` on a distributed worker.)

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> df = load_breast_cancer(as_frame=True).frame
    >>> result = automl.fit(df, "target", time_budget=30)  # doctest: +SKIP
    >>> result.leaderboard.head()                            # doctest: +SKIP
    """
    started = time.monotonic()
    check_number(time_budget, "time_budget", low=1)
    if test_size != "auto":
        check_number(test_size, "test_size", low=0.01, high=0.5)
    if val_size != "auto":
        check_number(val_size, "val_size", low=0.01, high=0.5)
    check_number(seed, "seed", integer=True, low=0)
    check_number(max_train_rows, "max_train_rows", integer=True, low=20, allow_none=True)
    check_number(max_trials, "max_trials", integer=True, low=1, allow_none=True)
    memory_limit = memory_limit_mb(max_memory_mb)
    dist = resolve_distributed(distributed, oracle_address)
    frame = read_table(data)
    target = check_target(frame, target)
    frame = drop_missing_target(frame, target)
    task = infer_task(frame[target], task)
    metric_name = get_metric(metric, task).name
    family_names = list(families) if families is not None else list(DEFAULT_FAMILIES)
    if not family_names:
        raise InputError("`families` is empty; name at least one model family, e.g. ['gradient_boosting'].")
    check_families(dist, family_names)

    budget = Budget(float(time_budget))
    test_size, val_size = holdout_share(len(frame), test_size), holdout_share(len(frame), val_size)
    dataset = make_dataset(frame, target, task, test_size=test_size, val_size=val_size, seed=seed)
    train_rows = dataset.train
    if max_train_rows is not None and len(train_rows) > max_train_rows:
        train_rows = sample_rows(train_rows, dataset.y, max_train_rows, seed=seed, task=task)
        warn(f"Sampled {len(train_rows)} of {len(dataset.train)} training rows for the search "
             "(max_train_rows); validation and test rows are unchanged.", SearchWarning)
    width = estimate_width(dataset.schema)
    affordable = rows_within(memory_limit, len(train_rows), width)
    if affordable < len(train_rows):
        needed_mb = len(train_rows) * width * 4 / 2**20
        warn(f"The training matrix ({len(train_rows)} rows x about {width} features, {needed_mb:.1f} MiB) "
             f"exceeds max_memory_mb={memory_limit:.3g}: sampled {affordable} training rows for the search; "
             "validation and test rows are unchanged. Raise `max_memory_mb` (or pass None) to use every row.",
             SearchWarning)
        train_rows = sample_rows(train_rows, dataset.y, affordable, seed=seed, task=task)
    preprocessor = build_preprocessor(dataset.schema, len(train_rows))
    # One float32 matrix holds every prepared row, training rows first: the splits are views of it, and the
    # refit reads it whole, so the prepared data exists once.
    order = np.concatenate([train_rows, dataset.val, dataset.test])
    matrix = prepare_rows(preprocessor, dataset.frame, order, fit_rows=train_rows, seed=seed)
    n_train, n_val = len(train_rows), len(dataset.val)
    y_all = dataset.y[order]
    X_test, y_test = matrix[n_train + n_val:], y_all[n_train + n_val:]
    X_test_frame = dataset.frame.iloc[dataset.test]
    n_classes = 0 if dataset.classes is None else len(dataset.classes)
    y_train = y_all[:n_train]
    prepared = PreparedData(
        X_train=matrix[:n_train], y_train=y_train, X_val=matrix[n_train:n_train + n_val],
        y_val=y_all[n_train:n_train + n_val], task=task, metric=metric_name, n_classes=n_classes,
        feature_names=[str(f) for f in preprocessor.get_feature_names_out()],
        seed=seed, class_weight=balanced_class_weight(y_train, n_classes) if n_classes else None,
    )

    hooks = make_hooks(verbose, callbacks)
    hooks.on_fit_begin({"task": task, "metric": metric_name, "rows": len(frame), "columns": frame.shape[1] - 1,
                        "families": [getattr(f, "name", str(f)) for f in family_names],
                        "time_budget": float(time_budget)})
    network_options = {"tuner": tuner, "max_trials": max_trials, "directory": directory, "overwrite": overwrite,
                       "hypermodel": hypermodel, "search_space": search_space, "max_epochs": max_epochs,
                       "distributed": dist}
    if dist is not None and dist.role == "worker":
        return run_worker(prepared, hooks, network_options, started)
    row_ratio = len(order) / max(n_train, 1)
    candidates, trials, notes, families_run = _run_families(family_names, prepared, budget, hooks, network_options,
                                                            refit_row_ratio=row_ratio if refit else None)
    if not candidates:
        raise InputError("No model could be fitted: " + "; ".join(notes or ["the time budget was too small"])
                         + ". Increase `time_budget` or check the data.")

    board, preds = score_candidates(candidates, prepared, X_test, y_test)
    if ensemble and len(candidates) > 1:
        combined = build_ensemble(candidates, preds, prepared)
        if combined is not None:
            extra_board, extra_preds = score_candidates([combined], prepared, X_test, y_test)
            board = rank(pd.concat([board, extra_board], ignore_index=True))
            preds.update(extra_preds)
            candidates.append(combined)
    models = {c.name: c for c in candidates}
    refitted, refit_info = {}, {"enabled": bool(refit)}
    if refit:
        everything = all_rows(prepared, matrix, y_all)
        outcome = refit_best(models[str(board.iloc[0]["model"])], models, {f.name: f for f in families_run},
                             everything, budget.deadline - min(2.0, 0.02 * budget.seconds),
                             row_ratio=row_ratio)
        del everything
        refitted = outcome.models
        refit_info.update(outcome.info)
        hooks.on_refit_end(refit_info)
    board["refit"] = board["model"].isin(list(refitted))
    hooks.on_fit_end(board)

    info = {
        "rows": int(len(frame)), "columns": int(frame.shape[1] - 1), "splits": dataset.sizes,
        "train_rows_used": int(n_train), "features": int(matrix.shape[1]),
        "max_memory_mb": None if memory_limit is None else round(memory_limit, 1),
        "time_budget_s": float(time_budget), "elapsed_s": round(time.monotonic() - started, 3),
        "seed": seed, "families": [getattr(f, "name", str(f)) for f in family_names], "notes": notes,
        "refit": refit_info,
        "class_counts": None if dataset.classes is None else
        {str(c): int(k) for c, k in zip(dataset.classes, np.bincount(dataset.y, minlength=n_classes))},
        "settings": {"tuner": tuner, "max_trials": max_trials, "test_size": test_size, "val_size": val_size,
                     "ensemble": ensemble, "refit": refit, "directory": str(directory) if directory else None,
                     "distributed": dist.role if dist is not None else None},
    }
    test = {"X": X_test_frame.reset_index(drop=True), "y": y_test,
            "predictions": {name: {"pred": p.test_pred, "proba": p.test_proba} for name, p in preds.items()}}
    return FitResult(task=task, metric=metric_name, target=target, leaderboard=board, trials=trials,
                     schema=dataset.schema, classes=dataset.classes,
                     models=models, refitted=refitted, preprocessor=preprocessor, info=info, test=test)


def _run_families(names, prepared, budget, hooks, network_options, refit_row_ratio=None):
    """Run each family in turn on its weighted share of what is left, never below its floor (see family_share).

    With ``refit_row_ratio`` (labelled rows over training rows) the time to refit the best models afterwards is
    kept free too, as a last floor that follows the models found so far (see :func:`refit_reserve`).
    Returns the candidates, the trials, notes on what went wrong and the family objects (they refit their models).
    """
    search_budget = Budget(budget.remaining() - min(_RESERVE_MAX_S, _RESERVE_SHARE * budget.seconds))
    families, notes = [], []
    for name in names:
        options = {k: v for k, v in network_options.items() if v is not None} if name == "neural_network" else {}
        try:
            families.append(get_family(name, **options))
        except ImportError as exc:
            notes.append(f"{name} skipped: {exc}")
            warn(f"Model family {name!r} is unavailable ({exc}); continuing without it.", SearchWarning)
    candidates, trial_frames = [], []
    for family in families:
        if getattr(family, "distributed", None) is not None:
            # a distributed chief serves the network search now: workers train while the other families fit here
            family.begin(prepared, search_budget, hooks)
    weights = [f.weight for f in families]
    floors = family_floors(weights, search_budget.seconds)
    refit_floor = _REFIT_FIRST_GUESS * search_budget.seconds if refit_row_ratio else 0.0
    scored: list[tuple[float, Any, Any]] = []
    for i, family in enumerate(families):
        # the refit is a last "family" with no weight: it only keeps its floor free
        share = Budget(family_share(weights[i:] + [0.0], floors[i:] + [refit_floor], search_budget.remaining()))
        hooks.on_family_begin(family.name, share.seconds)
        try:
            outcome = family.fit(prepared, share, hooks)
        except KeyboardInterrupt:
            notes.append(f"interrupted during {family.name}; later families skipped")
            warn(f"Interrupted during {family.name!r}: returning the models finished so far.", SearchWarning)
            break
        candidates.extend(outcome.candidates)
        if outcome.trials is not None and len(outcome.trials):
            trial_frames.append(outcome.trials.assign(family=family.name))
        hooks.on_family_end(family.name, len(outcome.candidates))
        if refit_row_ratio:
            scored += [(prepared.val_score(c.predictor), family, c) for c in outcome.candidates]
            refit_floor = refit_reserve(scored, refit_row_ratio, _REFIT_MAX_SHARE * search_budget.seconds)
        if not outcome.candidates:
            notes.append(f"{family.name}: no candidate within its budget")
    _unique_names(candidates)
    trials = pd.concat(trial_frames, ignore_index=True) if trial_frames else pd.DataFrame(
        columns=["family", "trial", "score", "status", "params", "time_s"])
    return candidates, trials, notes, families


def refit_reserve(scored, row_ratio: float, cap: float) -> float:
    """Seconds to keep for refitting: the estimated refits of the two best ``(val score, family, candidate)``.

    Two, because the best model is often an ensemble of the leaders; ``cap`` bounds it.
    """
    ranked = sorted((item for item in scored if np.isfinite(item[0])), key=lambda item: -item[0])[:2]
    return float(min(cap, sum(family.refit_seconds(c, row_ratio) for _, family, c in ranked)))


def family_floors(weights: Sequence[float], seconds: float) -> list[float]:
    """Seconds each family is guaranteed: ``_MIN_SHARE`` of its weighted part of ``seconds``."""
    total = float(sum(weights)) or 1.0
    return [_MIN_SHARE * seconds * w / total for w in weights]


def family_share(weights: Sequence[float], floors: Sequence[float], remaining: float) -> float:
    """Seconds for the first of the families still to run, out of ``remaining``.

    Its weighted part of what is left, so time a fast family leaves over flows
    on to the next ones; at least its floor, and never so much that the
    families after it lose their floors. When earlier families overran and the
    floors no longer fit, what is left is split in proportion to the floors.
    """
    if remaining <= 0:
        return 0.0
    later = float(sum(floors[1:]))
    weighted = remaining * weights[0] / (float(sum(weights)) or 1.0)
    share = min(max(weighted, floors[0]), remaining - later)
    if share < floors[0]:
        share = remaining * floors[0] / (float(sum(floors)) or 1.0)
    return float(share)


def _unique_names(candidates) -> None:
    seen: dict[str, int] = {}
    for c in candidates:
        if c.name in seen:
            seen[c.name] += 1
            c.name = f"{c.name}_{seen[c.name]}"
        else:
            seen[c.name] = 1
