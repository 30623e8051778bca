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
from .metrics import evaluate_all
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
    """

    name: str
    family: str
    params: dict
    predictor: Any
    preprocessor: Any
    schema: Schema
    task: str
    classes: np.ndarray | None

    def transform(self, data, *, argument: str = "data") -> np.ndarray:
        """Check ``data`` against the schema and return the prepared matrix."""
        frame = read_table(data, argument=argument)
        self.schema.check_columns(frame, argument=argument)
        return self.preprocessor.transform(frame)

    def predict(self, data) -> np.ndarray:
        """Predicted labels (original class values) or regression values, one per row."""
        pred, _ = predictions(self.predictor, self.transform(data), self.task)
        return pred if self.classes is None else self.classes[pred]

    def predict_proba(self, data) -> pd.DataFrame:
        """Class probabilities, one column per class (classification only)."""
        if self.task == "regression":
            raise InputError("predict_proba is only defined for classification; use predict for regression.")
        _, proba = predictions(self.predictor, self.transform(data), self.task)
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
        One row per model, best validation score first; columns ``model``,
        ``family``, ``params``, ``train_score``, ``val_score``, ``test_score``,
        ``gap`` (train minus validation: the overfitting signal), ``fit_time_s``,
        ``predict_time_s``, ``refit`` (True where ``predict`` uses the model
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
    _importance: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

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
                           self.task, self.classes)

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
        pred, proba = predictions(fitted.predictor, X, self.task)
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

    def feature_importance(self, *, model: str | None = None, n_repeats: int = 5, seed: int = 0) -> pd.DataFrame:
        """Permutation importance of each input column on the test rows (cached).

        Returns a DataFrame with ``feature``, ``importance`` (mean drop of the
        oriented score when the column is shuffled) and ``std``, largest first.
        """
        from .evaluate.importance import permutation_importance

        name = self.best_model_name if model is None else model
        if name not in self._importance:
            self._importance[name] = permutation_importance(self, name, n_repeats=n_repeats, seed=seed)
        return self._importance[name]

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
            }
            persist.write_meta(tmp, meta, "fit")
        return Path(path)

    @classmethod
    def _load(cls, path: Path, manifest: dict) -> "FitResult":
        meta = persist.read_meta(path)
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
