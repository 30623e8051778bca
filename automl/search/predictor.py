"""A trained network wrapped as a leaderboard predictor, saved in Keras' own format."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["KerasPredictor"]

# Rows per forward pass: large enough to amortise the call, small enough for any memory.
_CHUNK = 8192


def _as_matrix(X) -> np.ndarray:
    # no dtype conversion here: chunks are converted one at a time (a whole float32 copy of X is avoided)
    X = X if isinstance(X, np.ndarray) else np.asarray(X)
    if X.ndim == 1:
        X = X.reshape(1, -1)
    return X


class KerasPredictor:
    """A fitted Keras model that predicts on the prepared float32 matrix.

    Parameters
    ----------
    model : keras.Model
        Outputs class probabilities (``(n, n_classes)`` softmax or ``(n, 1)``
        sigmoid for binary) or, for regression, standardised values ``(n, 1)``.
    task : {'binary', 'multiclass', 'regression'}
    n_classes : int
        0 for regression.
    y_mean, y_std : float, default=0, 1
        Regression targets were standardised as ``(y - y_mean) / y_std`` for
        training; :meth:`predict` maps back to the original units.

    Examples
    --------
    >>> predictor = KerasPredictor(model, "binary", 2)          # doctest: +SKIP
    >>> predictor.predict_proba(X).shape                        # doctest: +SKIP
    (100, 2)
    """

    def __init__(self, model, task: str, n_classes: int, y_mean: float = 0.0, y_std: float = 1.0):
        self.model = model
        self.task = task
        self.n_classes = int(n_classes)
        self.y_mean = float(y_mean)
        self.y_std = float(y_std)

    # -- prediction ----------------------------------------------------------------------
    def _forward(self, X) -> np.ndarray:
        X = _as_matrix(X)
        if len(X) == 0:
            return np.zeros((0, self.model.outputs[0].shape[-1] or 1), dtype=np.float32)
        # predict_on_batch skips fit-style data adapters: much less overhead per call; one chunk at a time
        # is converted to float32, so a float64 or non-contiguous X is never copied whole
        parts = [self._chunk(X[i:i + _CHUNK]) for i in range(0, len(X), _CHUNK)]
        out = np.concatenate(parts, axis=0)
        return out.reshape(len(X), -1)

    def _chunk(self, X) -> np.ndarray:
        X = np.ascontiguousarray(X, dtype=np.float32)
        n = len(X)
        if self._pads():
            # JAX compiles the forward pass once per batch shape: pad to a power of two (at most 9 shapes)
            size = min(_CHUNK, max(32, 1 << (n - 1).bit_length()))
            if size != n:
                X = np.concatenate([X, np.zeros((size - n, X.shape[1]), dtype=np.float32)], axis=0)
        return np.asarray(self.model.predict_on_batch(X))[:n]

    @staticmethod
    def _pads() -> bool:
        import keras

        return keras.backend.backend() == "jax"

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape ``(n, n_classes)`` (two columns for binary tasks)."""
        if self.task == "regression":
            raise AttributeError("predict_proba is only defined for classification networks")
        out = self._forward(X).astype(np.float64)
        if out.shape[1] == 1:
            p = np.clip(out[:, 0], 0.0, 1.0)
            out = np.column_stack([1.0 - p, p])
        total = out.sum(axis=1, keepdims=True)
        # softmax rows sum to 1 up to float32 rounding; renormalise so metrics never complain
        return out / np.where(total > 0, total, 1.0)

    def predict(self, X) -> np.ndarray:
        """Class codes (classification) or values in the target's original units (regression)."""
        if self.task == "regression":
            return self._forward(X)[:, 0].astype(np.float64) * self.y_std + self.y_mean
        return self.predict_proba(X).argmax(axis=1)

    # -- persistence ---------------------------------------------------------------------
    def _meta(self) -> dict[str, Any]:
        return {"task": self.task, "n_classes": self.n_classes, "y_mean": self.y_mean, "y_std": self.y_std,
                "format": 1}

    def save_files(self, directory: Path, stem: str) -> None:
        """Write ``{stem}.keras`` (Keras native format) and ``{stem}.json`` into ``directory``."""
        directory = Path(directory)
        self.model.save(directory / f"{stem}.keras")
        (directory / f"{stem}.json").write_text(json.dumps(self._meta(), indent=1))

    @classmethod
    def load_files(cls, directory: Path, stem: str) -> "KerasPredictor":
        """Inverse of :meth:`save_files` (the model loads in Keras' safe mode, without compiling)."""
        import keras

        directory = Path(directory)
        meta = json.loads((directory / f"{stem}.json").read_text())
        model = keras.saving.load_model(directory / f"{stem}.keras", compile=False)
        return cls(model, meta["task"], meta["n_classes"], meta.get("y_mean", 0.0), meta.get("y_std", 1.0))

    # -- pickling: the model travels as the bytes of a .keras file --------------------------
    def __getstate__(self) -> dict[str, Any]:
        fd, path = tempfile.mkstemp(suffix=".keras")
        os.close(fd)
        try:
            self.model.save(path)
            blob = Path(path).read_bytes()
        finally:
            os.unlink(path)
        return {"meta": self._meta(), "keras": blob}

    def __setstate__(self, state: dict[str, Any]) -> None:
        import keras

        fd, path = tempfile.mkstemp(suffix=".keras")
        os.close(fd)
        try:
            Path(path).write_bytes(state["keras"])
            model = keras.saving.load_model(path, compile=False)
        finally:
            os.unlink(path)
        meta = state["meta"]
        self.__init__(model, meta["task"], meta["n_classes"], meta["y_mean"], meta["y_std"])

    def __repr__(self) -> str:
        return f"KerasPredictor(task={self.task!r}, params={self.model.count_params()})"
