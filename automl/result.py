"""The result of :func:`automl.fit`: plain data plus thin convenience methods.

Presentation (``dashboard``, ``report``) is imported lazily and only reads
this object.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import persist
from .data.checks import read_table
from .data.schema import Schema
from .errors import InputError
from .metrics import evaluate_all, register_saved_metric
from .models.base import Candidate, predictions


@dataclass
class FittedModel:
    """A model ready for raw rows: the shared preprocessing plus one predictor.

    Attributes
    ----------
    name, family : str
    params : dict
    predictor : object
        Works on the prepared matrix.
    preprocessor : sklearn Pipeline
    schema : Schema
    task : str
    classes : ndarray or None
    decision : Decision or None
        Classification: the probability calibration and (binary) decision
        threshold chosen on validation rows (see :mod:`automl.evaluate.decision`).
    """

    name: str
    family: str
    params: dict
    predictor: Any
    preprocessor: Any
    schema: Schema
    task: str
    classes: np.ndarray | None
    decision: Any = None

    @property
    def threshold(self) -> float | None:
        """Binary tasks: the positive class is predicted when its probability is at least this (else None)."""
        return None if self.decision is None else self.decision.threshold

    def outputs(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Class codes (or values) and calibrated probabilities on the prepared matrix ``X``."""
        pred, proba = predictions(self.predictor, X, self.task)
        if proba is not None and self.decision is not None:
            proba = self.decision.proba(proba)
            pred = self.decision.labels(proba)
        return pred, proba

    def transform(self, data, *, argument: str = "data") -> np.ndarray:
        """Check ``data`` against the schema and return the prepared matrix."""
        frame = read_table(data, argument=argument)
        self.schema.check_columns(frame, argument=argument)
        return self.preprocessor.transform(frame)

    def predict(self, data) -> np.ndarray:
        """Predicted labels (original class values) or regression values, one per row."""
        pred, _ = self.outputs(self.transform(data))
        return pred if self.classes is None else self.classes[pred]

    def predict_proba(self, data) -> pd.DataFrame:
        """Class probabilities, one column per class (classification only)."""
        if self.task == "regression":
            raise InputError("predict_proba is only defined for classification; use predict for regression.")
        _, proba = self.outputs(self.transform(data))
        return pd.DataFrame(proba, columns=list(self.classes))


@dataclass
class FitResult:
    """Everything :func:`automl.fit` learned, scored on held-out rows.

    Attributes
    ----------
    task : {'binary', 'multiclass', 'regression'}
    metric : str
        The metric the leaderboard is ranked by. Scores are oriented so higher
        is better (an RMSE appears as ``-rmse``).
    target : str
    leaderboard : DataFrame
        One row per model, best validation score first (except an ensemble
        ranked first because the single model above it led by less than the
        noise, ``info["selection"]``, see :func:`automl.evaluate.prefer_ensemble`); columns ``model``,
        ``family``, ``params``, ``train_score``, ``val_score``, ``test_score``,
        ``gap`` (train minus validation: the overfitting signal), ``fit_time_s``,
        ``predict_time_s``, ``validation`` (``"5-fold"`` where the model was
        bagged and its ``val_score`` is out-of-fold over train + validation rows,
        ``"holdout"`` where it is scored on the validation split; bagged models
        rank first, see :mod:`automl.resampling`), ``refit`` (True where ``predict`` uses the model
        refit on every labelled row; the scores are those of the searched model).
    trials : DataFrame
        One row per search trial of every family (``family``, ``trial``,
        ``score``, ``status``, ``params``, ``time_s`` and, for networks,
        ``epochs``, ``stopped_early``, ...).
    schema : Schema
        How each input column was used (see ``schema.to_frame()``).
    classes : ndarray or None
    models : dict of str to Candidate
        The searched models, as scored on the leaderboard.
    refitted : dict of str to Candidate
        The best model (and an ensemble's members) trained again on every
        labelled row with the same settings (see :mod:`automl.refit`);
        ``predict`` prefers these.
    preprocessor : sklearn Pipeline
    info : dict
        Data shape, split sizes, budget, elapsed time, seed, settings, warnings.
    test : dict
        ``X`` (test rows as given), ``y`` (encoded target), and per model
        ``pred``/``proba`` on them, for figures and reports.
    decisions : dict of str to Decision
        Classification: per model, the probability calibration and (binary)
        decision threshold chosen on its validation predictions (see
        :mod:`automl.evaluate.decision`); ``predict`` and ``predict_proba`` apply
        them. ``test`` keeps the uncalibrated probabilities.
    """

    task: str
    metric: str
    target: str
    leaderboard: pd.DataFrame
    trials: pd.DataFrame
    schema: Schema
    classes: np.ndarray | None
    models: dict[str, Candidate]
    preprocessor: Any
    refitted: dict[str, Candidate] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    test: dict[str, Any] = field(default_factory=dict)
    decisions: dict[str, Any] = field(default_factory=dict)
    _importance: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)
    _diagnostics: dict[str, tuple] = field(default_factory=dict, repr=False)

    # -- models ------------------------------------------------------------------------
    @property
    def best_model_name(self) -> str:
        """Name of the top leaderboard row."""
        return str(self.leaderboard.iloc[0]["model"])

    def model(self, name: str | None = None, *, refit: bool = True) -> FittedModel:
        """The model ``name`` (the best when None), ready to predict on raw rows.

        With ``refit=True`` the version refit on every labelled row is returned
        when there is one; ``refit=False`` returns the searched model the
        leaderboard scored.
        """
        name = self.best_model_name if name is None else name
        if name not in self.models:
            raise InputError(f"No model named {name!r}; choose from {list(self.leaderboard['model'])}.")
        c = self.refitted[name] if refit and name in self.refitted else self.models[name]
        return FittedModel(c.name, c.family, c.params, c.predictor, self.preprocessor, self.schema,
                           self.task, self.classes, self.decisions.get(name))

    @property
    def best_model(self) -> FittedModel:
        """The best model by validation score, ready to predict on raw rows."""
        return self.model()

    def predict(self, data, *, model: str | None = None) -> np.ndarray:
        """Predict labels or values for ``data`` (DataFrame or path) with the best (or named) model."""
        return self.model(model).predict(data)

    def predict_proba(self, data, *, model: str | None = None) -> pd.DataFrame:
        """Class probabilities for ``data``, one column per class."""
        return self.model(model).predict_proba(data)

    def evaluate(self, data, *, model: str | None = None) -> dict[str, float]:
        """Every metric of the task, in natural units, on labelled rows ``data``.

        ``data`` must contain the target column; rows where it is missing are ignored.
        """
        frame = read_table(data)
        if self.target not in frame.columns:
            raise InputError(f"`data` has no target column {self.target!r}; evaluate needs labelled rows.")
        frame = frame.loc[frame[self.target].notna()]
        fitted = self.model(model)
        X = fitted.transform(frame.drop(columns=[self.target]))
        pred, proba = fitted.outputs(X)
        if self.task == "regression":
            y = pd.to_numeric(frame[self.target], errors="coerce").to_numpy(dtype=float)
        else:
            lookup = {label: i for i, label in enumerate(self.classes)}
            raw = frame[self.target].astype(object).to_numpy()
            y = np.array([lookup.get(v, lookup.get(str(v), -1)) for v in raw])
            unknown = int((y < 0).sum())
            if unknown:
                raise InputError(f"{unknown} row(s) of `data` have target values not seen in training "
                                 f"(known classes: {list(self.classes)[:10]}).")
        return evaluate_all(self.task, y, pred, proba)

    def feature_importance(self, *, method: str = "auto", model: str | None = None, n_repeats: int = 5,
                           seed: int = 0) -> pd.DataFrame:
        """Global importance of each input column, measured on the test rows (cached).

        Parameters
        ----------
        method : {'auto', 'permutation', 'shap'}, default='auto'
            'permutation' (what 'auto' means): mean drop of the oriented test
            score when the column is shuffled -- what the column is worth to the
            metric. 'shap': mean absolute contribution (see :meth:`explain`) over
            up to 500 test rows -- how much the column moves the output.
        model : str, optional
        n_repeats : int, default=5
            Shuffles per column (permutation).
        seed : int, default=0

        Returns
        -------
        DataFrame
            ``feature``, ``importance``, ``std``, largest first; ``attrs["method"]``
            names the method.
        """
        from .evaluate.importance import permutation_importance

        if method not in ("auto", "permutation", "shap"):
            raise InputError(f"`method`={method!r} is not one of ['auto', 'permutation', 'shap'].")
        name = self.best_model_name if model is None else model
        key = name if method in ("auto", "permutation") else f"shap::{name}"
        if key not in self._importance:
            if method == "shap":
                from .evaluate.explain import shap_importance
                table = shap_importance(self, model=name, seed=seed)
            else:
                table = permutation_importance(self, name, n_repeats=n_repeats, seed=seed)
                table.attrs["method"] = "permutation"
            self._importance[key] = table
        return self._importance[key]

    # -- explanations and decisions ------------------------------------------------------
    def explain(self, rows, *, model: str | None = None, output: str = "auto", max_seconds: float = 60.0,
                background: int = 100, seed: int = 0) -> pd.DataFrame:
        """Per-row contributions of each input column: ``base_value + row sum == model output``.

        SHAP values on the user's columns (one-hot levels, indicators and
        datetime parts folded back): exact TreeSHAP for forests and boosting,
        exact linear SHAP for linear models, the members' explanations weighted
        as the ensemble weighs them, a permutation estimate for networks. See
        :func:`automl.evaluate.explain.explain` for ``output``, the frame's
        shape and its ``attrs`` (``base_value``, ``output``, ``method``, ...).

        Examples
        --------
        >>> contrib = result.explain(df.head(3))                         # doctest: +SKIP
        >>> contrib.sum(axis=1) + contrib.attrs["base_value"]            # doctest: +SKIP
        """
        from .evaluate.explain import explain

        return explain(self, rows, model=model, output=output, max_seconds=max_seconds, background=background,
                       seed=seed)

    def partial_dependence(self, column: str, *, model: str | None = None, grid: int = 20, rows: int = 200,
                           ice: bool = True, seed: int = 0) -> pd.DataFrame:
        """Partial dependence and ICE curves of ``column`` on the whole pipeline, over test rows.

        A long DataFrame (``value``, ``kind``, ``row``, ``class``, ``prediction``);
        see :func:`automl.evaluate.explain.partial_dependence`.
        """
        from .evaluate.explain import partial_dependence

        return partial_dependence(self, column, model=model, grid=grid, rows=rows, ice=ice, seed=seed)

    @property
    def threshold(self) -> float | None:
        """Binary tasks: the decision threshold ``predict`` applies to the (calibrated) positive-class
        probability, tuned on validation rows; None for other tasks."""
        return self.model().threshold

    def _binary_test_scores(self, model: str | None) -> tuple[np.ndarray, np.ndarray]:
        if self.task != "binary":
            raise InputError(f"This needs a binary task; this result is {self.task}.")
        name = self.best_model_name if model is None else model
        out = (self.test or {}).get("predictions", {}).get(name)
        if out is None or out.get("proba") is None:
            raise InputError(f"No test predictions are kept for model {name!r}.")
        decision = self.decisions.get(name)
        proba = np.asarray(out["proba"], dtype=float)
        proba = proba if decision is None else decision.proba(proba)
        return np.asarray(self.test["y"]).astype(int), proba[:, 1]

    def threshold_curve(self, *, model: str | None = None, costs=None, points: int = 200) -> pd.DataFrame:
        """Precision, recall, F1, balanced accuracy, accuracy (and cost) of each threshold on the test rows.

        Binary tasks; probabilities calibrated as ``predict_proba`` gives them.
        See :func:`automl.evaluate.decision.threshold_curve`.
        """
        from .evaluate.decision import threshold_curve

        y, p = self._binary_test_scores(model)
        return threshold_curve(y, p, costs=costs, points=points)

    def gains(self, *, model: str | None = None, bins: int = 10) -> pd.DataFrame:
        """Cumulative gains and lift by score decile on the test rows (binary tasks).

        See :func:`automl.evaluate.decision.gains_table`.
        """
        from .evaluate.decision import gains_table

        return gains_table(*self._binary_test_scores(model), bins=bins)

    def ks(self, *, model: str | None = None) -> dict[str, float]:
        """Kolmogorov-Smirnov statistic of the test scores and the score where it peaks (binary tasks)."""
        from .evaluate.decision import ks_statistic

        return ks_statistic(*self._binary_test_scores(model))

    def diagnostics(self, model: str | None = None):
        """Confusion counts, ROC/PR curves, calibration bins or residuals of a model on the test rows (cached).

        Returns a :class:`~automl.evaluate.curves.Diagnostics` of plain tables,
        computed once per model from the stored test predictions; the
        evaluation figures of :mod:`automl.viz` draw it.
        """
        from .evaluate.curves import diagnose

        name = self.best_model_name if model is None else str(model)
        # a result copied with dataclasses.replace shares this dict: an entry counts only for the same predictions
        sources = ((self.test or {}).get("predictions", {}).get(name), (self.test or {}).get("y"))
        cached = self._diagnostics.get(name)
        if cached is None or cached[0] is not sources[0] or cached[1] is not sources[1]:
            cached = self._diagnostics[name] = (*sources, diagnose(self, name))
        return cached[2]

    # -- presentation (lazy imports: computation never depends on these) -------------
    def dashboard(self):
        """An ipywidgets dashboard of this result (leaderboard, evaluation, training, search, data)."""
        from .dashboard import fit_dashboard
        return fit_dashboard(self)

    def report(self, path: str | os.PathLike = "report.html", **options) -> Path:
        """Write a self-contained HTML report and return its path (see :func:`automl.report.write_fit_report`)."""
        from .report import write_fit_report
        return write_fit_report(self, path, **options)

    def _repr_html_(self) -> str:  # pragma: no cover - notebook display
        head = (f"<b>automl FitResult</b>: {self.task}, metric {self.metric}, "
                f"best {self.best_model_name}<br>")
        return head + self.leaderboard.to_html(index=False, escape=True, float_format=lambda v: f"{v:.4f}")

    def __repr__(self) -> str:
        return (f"FitResult(task={self.task!r}, metric={self.metric!r}, best={self.best_model_name!r}, "
                f"models={len(self.models)}, trials={len(self.trials)})")

    # -- persistence ---------------------------------------------------------------------
    def save(self, path: str | os.PathLike, *, overwrite: bool = True) -> Path:
        """Save to directory ``path`` atomically; reload with :func:`automl.load`."""
        with persist.atomic_directory(path, overwrite=overwrite) as tmp:
            (tmp / "models").mkdir()
            persist.save_object(self.preprocessor, tmp, "preprocessor")
            arrays = {"y": np.asarray(self.test.get("y"))}
            for name, out in self.test.get("predictions", {}).items():
                arrays[f"pred::{name}"] = out["pred"]
                if out.get("proba") is not None:
                    arrays[f"proba::{name}"] = out["proba"]
            np.savez_compressed(tmp / "test_predictions.npz", **arrays)
            if self.test.get("X") is not None:
                persist.write_frame(self.test["X"], tmp / "test_rows.parquet")
            persist.write_frame(persist.jsonable_frame(self.trials), tmp / "trials.parquet")
            meta = {
                "task": self.task, "metric": self.metric, "target": self.target,
                "schema": self.schema.to_dict(),
                "classes": None if self.classes is None else [persist.to_jsonable(c) for c in self.classes],
                "leaderboard": json.loads(self.leaderboard.to_json(orient="split", index=False)),
                "models": _save_candidates(self.models, tmp / "models", ""),
                "refitted": _save_candidates(self.refitted, tmp / "models", "refit_"),
                "info": self.info,
                # calibrators and thresholds travel together, one small pickle
                "decisions": persist.save_object(self.decisions, tmp, "decisions") if self.decisions else None,
            }
            persist.write_meta(tmp, meta, "fit")
        return Path(path)

    @classmethod
    def _load(cls, path: Path, manifest: dict) -> "FitResult":
        meta = persist.read_meta(path)
        # a custom metric comes back by name and direction (its function was not saved)
        register_saved_metric((meta.get("info") or {}).get("metric_info"))
        models = _load_candidates(meta["models"], path / "models")
        refitted = _load_candidates(meta.get("refitted", {}), path / "models")
        arrays = np.load(path / "test_predictions.npz", allow_pickle=False)
        test: dict[str, Any] = {"y": arrays["y"], "predictions": {}}
        for key in arrays.files:
            kind, _, name = key.partition("::")
            if kind in ("pred", "proba"):
                test["predictions"].setdefault(name, {"pred": None, "proba": None})[kind] = arrays[key]
        rows = path / "test_rows.parquet"
        test["X"] = persist.read_frame(rows) if rows.exists() else None
        board = meta["leaderboard"]
        classes = meta["classes"]
        return cls(
            task=meta["task"], metric=meta["metric"], target=meta["target"],
            leaderboard=pd.DataFrame(board["data"], columns=board["columns"]),
            trials=persist.read_frame(path / "trials.parquet", json_columns=("params", "history")),
            schema=Schema.from_dict(meta["schema"]),
            classes=None if classes is None else np.array(classes),
            models=models, refitted=refitted, preprocessor=persist.load_object(path, {"stem": "preprocessor", "loader": "joblib"}),
            info=meta["info"], test=test,
            decisions=persist.load_object(path, meta["decisions"]) if meta.get("decisions") else {},
        )


def _save_candidates(candidates: dict[str, Candidate], directory: Path, prefix: str) -> dict[str, dict]:
    """Save each candidate's predictor into ``directory``; return their JSON descriptions."""
    return {name: {"family": c.family, "params": c.params, "fit_time_s": c.fit_time_s, "history": c.history,
                   "info": c.info, "file": persist.save_object(c.predictor, directory, prefix + _safe_stem(i, name))}
            for i, (name, c) in enumerate(candidates.items())}


def _load_candidates(descriptions: dict[str, dict], directory: Path) -> dict[str, Candidate]:
    """Inverse of :func:`_save_candidates`."""
    return {name: Candidate(name, m["family"], m["params"], persist.load_object(directory, m["file"]),
                            m["fit_time_s"], m.get("history"), m.get("info") or {})
            for name, m in descriptions.items()}


def _safe_stem(index: int, name: str) -> str:
    keep = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)[:60]
    return f"{index:02d}_{keep}"
