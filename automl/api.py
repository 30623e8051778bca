"""``automl.fit``: the thin orchestrator that chains the stages.

input checks -> dataset (schema, splits) -> preprocessing -> model families
within a shared budget -> scoring on held-out rows -> ensemble -> FitResult.
"""

from __future__ import annotations

import contextvars
import time
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from .budget import (REFIT_FIRST_GUESS, REFIT_MAX_SHARE, Budget, bagging_floor, family_floors, family_share,
                     refit_reserve, scoring_reserve)
from .data import (check_number, check_target, drop_missing_target, holdout_share, infer_task, make_dataset,
                   read_table, sample_rows)
from .search.distributed import WorkerResult, check_families
from .search.options import NetworkSearch, resolve_network
from .errors import InputError, SearchWarning, warn
from .evaluate import build_ensemble, prefer_ensemble, rank, score_candidates
from .evaluate.comparison import data_fingerprint, environment
from .evaluate.decision import check_decision_options, decide_all
from .evaluate.ensemble import ensemble_validation
from .metrics import get_metric
from .models import PreparedData, balanced_class_weight, get_family
from .models.registry import DEFAULT_FAMILIES, OPTIONAL_FAMILIES
from .parallel import here
from .preprocess import build_preprocessor, estimate_width, one_hot_blocks, prepare_rows
from .progress import make_hooks
from .refit import all_rows, refit_best
from .resampling import bag_candidates, build_stack, check_resampling, plan_resampling
from .resources import memory_limit_mb, release_memory, rows_within
from .result import FitResult
from .weights import sample_weight_column

# fit() runs a distributed worker only when called by run_worker (a worker returns a WorkerResult, not a FitResult).
_AS_WORKER = contextvars.ContextVar("automl_as_worker", default=False)


def fit(
    data,
    target: str,
    *,
    task: str | None = None,
    metric: Any = None,
    sample_weight: str | None = None,
    time_budget: float = 120.0,
    families: Sequence[Any] | None = None,
    network: NetworkSearch | dict | None = None,
    test_size: float | str = "auto",
    val_size: float | str = "auto",
    seed: int = 0,
    resampling: Any = "auto",
    ensemble: bool = True,
    stack: bool = False,
    refit: bool = True,
    calibrate: bool = True,
    threshold: Any = "auto",
    costs: Any = None,
    max_train_rows: int | None = None,
    max_memory_mb: float | str | None = "auto",
    verbose: int = 1,
    callbacks: Iterable[Any] | None = None,
    **deprecated,
) -> FitResult:
    """Search models for ``target`` and return them ranked on held-out rows.

    Parameters
    ----------
    data : DataFrame or path
        Training rows; CSV, Parquet, Feather and JSON paths are read for you.
    target : str
        Column to predict. Rows where it is missing are dropped with a warning.
    task : {'binary', 'multiclass', 'regression', 'classification'}, optional
        Inferred from the target when omitted.
    metric : str, automl.Metric or scikit-learn scorer, optional
        Ranking metric: accuracy (classification) or r2 (regression) by default;
        also roc_auc, average_precision, log_loss, f1, balanced_accuracy, rmse,
        mae, ... Your own metric: ``automl.make_metric(func, greater_is_better=...,
        needs_proba=..., name=...)`` or ``sklearn.metrics.make_scorer(...)``; the
        leaderboard and report show its name. A saved result keeps its name and
        direction, not its function.
    sample_weight : str, optional
        Name of a column of ``data`` holding non-negative row weights. It is not a
        feature; every family trains with the weights (the refit too), and the
        validation, test and train scores of the leaderboard are weighted (see
        :mod:`automl.weights`).
    time_budget : float, default=120
        Seconds for the whole call, shared between the model families.
    families : list of str or ModelFamily, optional
        Default :data:`automl.models.registry.DEFAULT_FAMILIES`: linear, random_forest,
        gradient_boosting, lightgbm, xgboost and catboost (when installed: ``pip install automl[boost]``;
        skipped with a note in ``result.info["notes"]`` otherwise) and neural_network.
    network : automl.NetworkSearch or dict, optional
        How the neural-network family searches: ``tuner``, ``max_trials``,
        ``directory``, ``overwrite``, ``hypermodel``, ``search_space``,
        ``max_epochs``, ``distributed`` ('chief') and ``oracle_address`` (see
        :class:`automl.NetworkSearch`, docs/search.md and docs/distributed.md).
        Workers of a distributed search call :func:`automl.run_worker`.
        Passing these options as keywords of ``fit`` still works for one
        release, with a DeprecationWarning.
    test_size, val_size : float or 'auto', default='auto'
        Shares of the rows held out for the final test and for validation;
        'auto' is 0.2 up to 50,000 rows, then shrinks towards 10,000 rows each
        (never below 0.05), so large tables keep more rows for training.
    seed : int, default=0
    resampling : 'auto', 'holdout' or int, default='auto'
        How models are validated after the search. An int k bags the best
        searched models: each is trained again, with its settings fixed, on
        k-1 of k folds of the train + validation rows, k times; the k models
        predict together and their out-of-fold predictions (every row) rank
        them, build the ensemble and tune calibration and thresholds. 'auto'
        is 5 folds up to 20,000 train + validation rows (with a budget of at
        least 10 s), 'holdout' beyond; 'holdout' validates on the validation
        split only. ``info["resampling"]`` says what was chosen and why, the
        leaderboard's ``validation`` column how each model was validated (see
        :mod:`automl.resampling`).
    ensemble : bool, default=True
        Add a weighted ensemble of the best models, selected on validation rows
        (out-of-fold predictions when models were bagged).
    stack : bool, default=False
        With bagged models, add a second level (logistic or ridge regression on
        the bagged models' out-of-fold predictions) named ``stack``, with its own
        out-of-fold score (see :func:`automl.resampling.build_stack`).
    refit : bool, default=True
        Once ranked, train the best model (every member, for an ensemble) again
        with its chosen settings on all labelled rows (train, validation and
        test) within the budget; ``predict`` uses the refit model. The
        leaderboard keeps the held-out scores of the searched models, trained on
        fewer rows (its ``refit`` column marks the models refit). False keeps
        exactly the models that were scored.
    calibrate : bool, default=True
        Classification: calibrate each model's probabilities (sigmoid or
        isotonic for binary, temperature for multiclass) when that lowers the
        cross-fitted log loss on validation rows; ``info["calibration"]`` says
        what was done (see :mod:`automl.evaluate.decision`).
    threshold : 'auto', str, float or None, default='auto'
        Binary tasks: the probability at which ``predict`` says "positive",
        tuned on validation rows for the ranking metric when it is f1,
        balanced_accuracy or accuracy, else for F1 ('auto'); or name one of
        those, give a fixed number in (0, 1), or None for 0.5. The leaderboard
        gains ``threshold``, ``val_at_threshold`` and ``test_at_threshold``.
    costs : 2x2 array-like or dict, optional
        Binary tasks: a cost matrix ``[[tn, fp], [fn, tp]]`` (or
        ``{"fp": 1, "fn": 10}``); the threshold then minimises the mean cost.
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
    resampling = check_resampling(resampling)
    check_number(max_train_rows, "max_train_rows", integer=True, low=20, allow_none=True)
    net = resolve_network(network, deprecated)
    memory_limit = memory_limit_mb(max_memory_mb)
    dist = net.config()
    if dist is not None and dist.role == "worker" and not _AS_WORKER.get():
        raise InputError("This process is a distributed worker (distributed='worker' or KERASTUNER_TUNER_ID); "
                         "workers return a WorkerResult: call automl.run_worker(data, target, network=...) instead "
                         "of automl.fit.")
    frame = read_table(data)
    target = check_target(frame, target)
    frame = drop_missing_target(frame, target)
    frame, weights = sample_weight_column(frame, sample_weight, target)
    task = infer_task(frame[target], task)
    metric_name = get_metric(metric, task).name
    check_decision_options(threshold, costs, task)
    family_names = list(families) if families is not None else list(DEFAULT_FAMILIES)
    if not family_names:
        raise InputError("`families` is empty; name at least one model family, e.g. ['gradient_boosting'].")
    check_families(dist, family_names)
    if weights is not None and "neural_network" in family_names:
        warn("The neural_network family trains without `sample_weight` (it uses class weights only); "
             "its validation and test scores are still weighted.", SearchWarning)

    budget = Budget(float(time_budget))
    test_size, val_size = holdout_share(len(frame), test_size), holdout_share(len(frame), val_size)
    dataset = make_dataset(frame, target, task, test_size=test_size, val_size=val_size, seed=seed)
    train_rows = dataset.train
    if max_train_rows is not None and len(train_rows) > max_train_rows:
        train_rows = sample_rows(train_rows, dataset.y, max_train_rows, seed=seed, task=task)
        warn(f"Sampled {len(train_rows)} of {len(dataset.train)} training rows for the search "
             "(max_train_rows); validation and test rows are unchanged.", SearchWarning)
    width = estimate_width(dataset.schema, n_classes=0 if dataset.classes is None else len(dataset.classes))
    affordable = rows_within(memory_limit, len(train_rows), width)
    if affordable < len(train_rows):
        needed_mb = len(train_rows) * width * 4 / 2**20
        warn(f"The training matrix ({len(train_rows)} rows x about {width} features, {needed_mb:.1f} MiB) "
             f"exceeds max_memory_mb={memory_limit:.3g}: sampled {affordable} training rows for the search; "
             "validation and test rows are unchanged. Raise `max_memory_mb` (or pass None) to use every row.",
             SearchWarning)
        train_rows = sample_rows(train_rows, dataset.y, affordable, seed=seed, task=task)
    preprocessor = build_preprocessor(dataset.schema, len(train_rows), task=task, seed=seed)
    # One float32 matrix holds every prepared row, training rows first: the splits are views of it, and the
    # refit reads it whole, so the prepared data exists once.
    order = np.concatenate([train_rows, dataset.val, dataset.test])
    with here():  # the chief prepares the rows, whatever joblib backend runs the fits (automl.parallel)
        matrix = prepare_rows(preprocessor, dataset.frame, order, fit_rows=train_rows, seed=seed, y=dataset.y)
    release_memory()  # the preparation's freed blocks would otherwise sit under every model's copies
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
        sample_weight=None if weights is None else weights[order[:n_train]],
        sample_weight_val=None if weights is None else weights[order[n_train:n_train + n_val]],
        category_blocks=one_hot_blocks(preprocessor),
    )
    w_test = None if weights is None else weights[order[n_train + n_val:]]
    n_dev = n_train + n_val
    plan = plan_resampling(resampling, n_dev, float(time_budget), y_dev=y_all[:n_dev], task=task)
    # a fold model trains on (k-1)/k of the development rows: this many times the rows the search trained on
    fold_ratio = (plan.k - 1) / plan.k * n_dev / max(n_train, 1) if plan.k else 0.0

    hooks = make_hooks(verbose, callbacks)
    hooks.on_fit_begin({"task": task, "metric": metric_name, "rows": len(frame), "columns": frame.shape[1] - 1,
                        "families": [getattr(f, "name", str(f)) for f in family_names],
                        "time_budget": float(time_budget)})
    network_options = net.family_options(dist)
    if dist is not None and dist.role == "worker":
        from .search.family import work

        return work(prepared, hooks, network_options, started)
    row_ratio = len(order) / max(n_train, 1)
    candidates, trials, notes, families_run = _run_families(family_names, prepared, budget, hooks, network_options,
                                                            refit_row_ratio=row_ratio if refit else None,
                                                            quiet_missing=OPTIONAL_FAMILIES if families is None else (),
                                                            bag=(plan.k, fold_ratio) if plan.k else None)
    if not candidates:
        raise InputError("No model could be fitted: " + "; ".join(notes or ["the time budget was too small"])
                         + ". Increase `time_budget` or check the data.")

    oof, resampling_info = {}, {**plan.describe(), "bagged": [], "skipped": {}}
    if plan.k:  # bag the best models in k folds of the development rows (see automl.resampling)
        bagged = bag_candidates(candidates, {f.name: f for f in families_run}, prepared, matrix[:n_dev],
                                y_all[:n_dev], None if weights is None else weights[order[:n_dev]], plan,
                                budget.deadline - 2 * scoring_reserve(budget.seconds), fold_ratio)
        candidates, oof = bagged.candidates, bagged.oof
        resampling_info.update(bagged.info)
    board, preds = score_candidates(candidates, prepared, X_test, y_test, test_weight=w_test, oof=oof)
    if ensemble and len(candidates) > 1:
        combined = build_ensemble(candidates, preds, prepared)
        if combined is not None:
            folds = ensemble_validation(combined, preds)
            extra_board, extra_preds = score_candidates([combined], prepared, X_test, y_test, test_weight=w_test,
                                                        oof={combined.name: folds} if folds is not None else None)
            board = rank(pd.concat([board, extra_board], ignore_index=True))
            preds.update(extra_preds)
            candidates.append(combined)
    if stack and plan.k:
        stacked = build_stack(candidates, preds, prepared)
        if stacked is not None:
            extra_board, extra_preds = score_candidates([stacked[0]], prepared, X_test, y_test, test_weight=w_test,
                                                        oof={stacked[0].name: stacked[1]})
            board = rank(pd.concat([board, extra_board], ignore_index=True))
            preds.update(extra_preds)
            candidates.append(stacked[0])
    board, selection = prefer_ensemble(board, preds, prepared)
    models = {c.name: c for c in candidates}
    refitted, refit_info = {}, {"enabled": bool(refit)}
    if refit:
        everything = all_rows(prepared, matrix, y_all, None if weights is None else weights[order])
        outcome = refit_best(models[str(board.iloc[0]["model"])], models, {f.name: f for f in families_run},
                             everything, budget.deadline - min(2.0, 0.02 * budget.seconds),
                             row_ratio=row_ratio)
        del everything
        refitted = outcome.models
        refit_info.update(outcome.info)
        hooks.on_refit_end(refit_info)
    board["refit"] = board["model"].isin(list(refitted))
    decisions, decision_info = {}, {}
    if task != "regression":  # calibration and threshold from validation predictions only
        decisions, board, decision_info = decide_all(board, preds, prepared.y_val, y_test, task=task,
                                                     metric=metric_name, threshold=threshold, costs=costs,
                                                     calibrate=calibrate, seed=seed,
                                                     val_weight=prepared.sample_weight_val, test_weight=w_test)
    hooks.on_fit_end(board)

    info = {
        "rows": int(len(frame)), "columns": int(frame.shape[1] - 1), "splits": dataset.sizes,
        "train_rows_used": int(n_train), "features": int(matrix.shape[1]),
        "max_memory_mb": None if memory_limit is None else round(memory_limit, 1),
        "time_budget_s": float(time_budget), "elapsed_s": round(time.monotonic() - started, 3),
        "seed": seed, "families": [getattr(f, "name", str(f)) for f in family_names], "notes": notes,
        # what a rerun must match: the labelled rows (hashed) and the software and machine of this fit
        "data_fingerprint": data_fingerprint(frame), "environment": environment(),
        "refit": refit_info, "resampling": resampling_info, "selection": selection,
        # a custom metric's function is not saved: its name and direction are, so a loaded result still reads
        "metric_info": get_metric(metric_name, task).describe(), "sample_weight": sample_weight,
        "class_counts": None if dataset.classes is None else
        {str(c): int(k) for c, k in zip(dataset.classes, np.bincount(dataset.y, minlength=n_classes))},
        "settings": {"tuner": net.tuner, "max_trials": net.max_trials, "test_size": test_size, "val_size": val_size,
                     "ensemble": ensemble, "stack": stack, "refit": refit, "resampling": resampling,
                     "directory": str(net.directory) if net.directory else None,
                     "distributed": dist.role if dist is not None else None},
    }
    info.update(decision_info)
    test = {"X": X_test_frame.reset_index(drop=True), "y": y_test,
            "predictions": {name: {"pred": p.test_pred, "proba": p.test_proba} for name, p in preds.items()}}
    return FitResult(task=task, metric=metric_name, target=target, leaderboard=board, trials=trials,
                     schema=dataset.schema, classes=dataset.classes,
                     models=models, refitted=refitted, preprocessor=preprocessor, info=info, test=test,
                     decisions=decisions)


def run_worker(data, target: str, *, network: NetworkSearch | dict | None = None, task: str | None = None,
               metric: str | None = None, test_size: float | str = "auto", val_size: float | str = "auto",
               seed: int = 0, max_train_rows: int | None = None, max_memory_mb: float | str | None = "auto",
               verbose: int = 1, callbacks: Iterable[Any] | None = None) -> WorkerResult:
    """Run trials of a distributed network search for its chief; return the trials this worker ran.

    Prepares ``data`` exactly as the chief's :func:`fit` does (same target,
    seed, splits and options, so the same project folder), waits for the
    chief's announcement in the shared ``network.directory``, then asks the
    chief's oracle for trials until it answers that the search is over. The
    networks stay in the shared directory; the chief's FitResult ranks them.

    Parameters
    ----------
    data, target, task, metric, test_size, val_size, seed, max_train_rows, max_memory_mb, verbose, callbacks
        As for :func:`fit`, and equal to the chief's.
    network : automl.NetworkSearch or dict
        The chief's network options; ``oracle_address`` is the chief's
        ``host:port``. ``distributed`` defaults to ``'worker'`` (or to the
        role ``KERASTUNER_TUNER_ID`` gives).

    Returns
    -------
    WorkerResult

    Examples
    --------
    >>> automl.run_worker("data.csv", "y", network={"directory": "/shared/runs",
    ...                   "oracle_address": "chief-node:8000"})          # doctest: +SKIP
    """
    import os

    net = resolve_network(network)
    if net.distributed is None and "KERASTUNER_ORACLE_IP" not in os.environ:
        net = NetworkSearch(**{**net.family_options(None), "distributed": "worker",
                               "oracle_address": net.oracle_address})
    config = net.config()
    if config is None or config.role != "worker":
        raise InputError("run_worker runs a distributed worker; this process is the chief (distributed='chief' or "
                         "a KERASTUNER_TUNER_ID containing 'chief'): call automl.fit on the chief.")
    token = _AS_WORKER.set(True)
    try:
        return fit(data, target, network=net, task=task, metric=metric, test_size=test_size, val_size=val_size,
                   seed=seed, max_train_rows=max_train_rows, max_memory_mb=max_memory_mb, verbose=verbose,
                   callbacks=callbacks)
    finally:
        _AS_WORKER.reset(token)


def _run_families(names, prepared, budget, hooks, network_options, refit_row_ratio=None, quiet_missing=(),
                  bag=None):
    """Run each family in turn on its weighted share of what is left, never below its floor (see family_share).

    With ``refit_row_ratio`` (labelled rows over training rows) the time to refit the best models afterwards is
    kept free too, as a last floor that follows the models found so far (see :func:`refit_reserve`).
    With ``bag=(k, fold_ratio)`` that last floor is the time to bag the best models in k folds instead
    (see :func:`bagging_reserve`); a bagged model is refit only with the time left over.
    Returns the candidates, the trials, notes on what went wrong and the family objects (they refit their models).
    """
    search_budget = Budget(budget.remaining() - scoring_reserve(budget.seconds))
    families, notes = [], []
    for name in names:
        options = {k: v for k, v in network_options.items() if v is not None} if name == "neural_network" else {}
        try:
            families.append(get_family(name, **options))
        except ImportError as exc:
            notes.append(f"{name} skipped: {exc}")
            if name in quiet_missing:  # an optional library absent from a default run: the note is enough
                continue
            warn(f"Model family {name!r} is unavailable ({exc}); continuing without it.", SearchWarning)
    candidates, trial_frames = [], []
    for family in families:
        if getattr(family, "distributed", None) is not None:
            # a distributed chief serves the network search now: workers train while the other families fit here
            family.begin(prepared, search_budget, hooks)
    weights = [f.weight for f in families]
    floors = family_floors(weights, search_budget.seconds)
    refit_floor = REFIT_FIRST_GUESS * search_budget.seconds if refit_row_ratio else 0.0
    if bag is not None:
        refit_floor = bagging_floor([], bag[0], bag[1], search_budget.seconds)
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
        release_memory()  # what the family's fits freed
        hooks.on_family_end(family.name, len(outcome.candidates))
        if bag is not None:
            scored += [(prepared.val_score(c.predictor), family, c) for c in outcome.candidates]
            refit_floor = bagging_floor(scored, bag[0], bag[1], search_budget.seconds)
        elif refit_row_ratio:
            scored += [(prepared.val_score(c.predictor), family, c) for c in outcome.candidates]
            refit_floor = refit_reserve(scored, refit_row_ratio, REFIT_MAX_SHARE * search_budget.seconds)
        if not outcome.candidates:
            notes.append(f"{family.name}: no candidate within its budget")
    _unique_names(candidates)
    trials = pd.concat(trial_frames, ignore_index=True) if trial_frames else pd.DataFrame(
        columns=["family", "trial", "score", "status", "params", "time_s"])
    return candidates, trials, notes, families


def _unique_names(candidates) -> None:
    seen: dict[str, int] = {}
    for c in candidates:
        if c.name in seen:
            seen[c.name] += 1
            c.name = f"{c.name}_{seen[c.name]}"
        else:
            seen[c.name] = 1
