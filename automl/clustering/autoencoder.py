"""Dense autoencoders: the network and a fixed-architecture estimator.

The encoder's bottleneck is the embedding that clustering works on. The
search over architectures is :mod:`automl.clustering.autoencoder_search`, on
the same engine as the supervised network search.

Keras, TensorFlow and KerasTuner are imported inside the functions that need
them, so importing this module is cheap.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..budget import Budget
from ..errors import InputError, SearchWarning, warn

__all__ = ["Autoencoder", "ARCHITECTURE_KEYS"]

# Keys of a fixed architecture (``autoencoder={...}``) and their defaults.
ARCHITECTURE_KEYS = {
    "hidden": (256, 128),
    "code_size": 10,
    "dropout": 0.0,
    "noise": 0.1,
    "l2": 0.0,
    "activation": "relu",
    "learning_rate": 1e-3,
}
_CODE_LAYER = "code"


def _build_network(n_features: int, *, hidden, code_size, dropout, noise, l2, activation, learning_rate):
    """Compile a symmetric dense autoencoder; the layer named ``code`` is the embedding."""
    import keras

    regularizer = keras.regularizers.L2(l2) if l2 else None
    inputs = keras.Input((n_features,), name="features")
    # Noise on the input only (a denoising autoencoder): it is inactive at inference.
    x = keras.layers.GaussianNoise(noise, name="input_noise")(inputs) if noise else inputs
    for i, width in enumerate(hidden):
        x = keras.layers.Dense(int(width), activation=activation, kernel_regularizer=regularizer,
                               name=f"encode_{i}")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"encode_dropout_{i}")(x)
    code = keras.layers.Dense(int(code_size), name=_CODE_LAYER)(x)
    x = code
    for i, width in enumerate(reversed(list(hidden))):
        x = keras.layers.Dense(int(width), activation=activation, kernel_regularizer=regularizer,
                               name=f"decode_{i}")(x)
    outputs = keras.layers.Dense(n_features, name="reconstruction")(x)
    model = keras.Model(inputs, outputs, name="autoencoder")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=keras.losses.Huber(),
                  metrics=[keras.metrics.MeanMetricWrapper(keras.losses.huber, name="recon"),
                           keras.metrics.MeanSquaredError(name="mse")])
    return model


def _encoder_of(model):
    import keras
    return keras.Model(model.inputs, model.get_layer(_CODE_LAYER).output, name="encoder")


def _split(n: int, validation_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    n_val = min(max(1, int(round(validation_fraction * n))), n - 1)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def _batch_size(n_rows: int) -> int:
    # About 20-40 updates per epoch on small sets, larger batches on big ones.
    return int(min(512, max(32, 2 ** round(math.log2(max(n_rows, 1) / 30)))))


class Autoencoder(BaseEstimator, TransformerMixin):
    """Dense (denoising) autoencoder whose bottleneck is an embedding of the rows.

    Parameters
    ----------
    hidden : tuple of int, default=(256, 128)
        Widths of the encoder's hidden layers; the decoder mirrors them.
    code_size : int, default=10
        Width of the bottleneck, i.e. the embedding's dimension.
    dropout : float, default=0.0
        Dropout after each encoder layer.
    noise : float, default=0.1
        Standard deviation of Gaussian noise added to the (standardised) inputs while training.
    l2 : float, default=0.0
        L2 penalty on the dense kernels.
    activation : str, default='relu'
    learning_rate : float, default=1e-3
        Adam's learning rate.
    epochs : int, default=300
        Upper bound on epochs; early stopping usually ends training sooner.
    patience : int, default=20
        Epochs without improvement of the validation reconstruction loss before stopping.
    batch_size : int, optional
        Chosen from the row count when omitted.
    validation_fraction : float, default=0.15
        Share of rows held out to measure reconstruction error for early stopping.
    seed : int, default=0
    verbose : int, default=0
        Keras' training verbosity.

    Attributes
    ----------
    model_ : keras.Model
        The whole autoencoder (input -> reconstruction).
    encoder_ : keras.Model
        Input -> embedding.
    history_ : dict of str to list of float
        Keras training history (``loss``, ``val_loss``, ``recon``, ``val_recon``, ``mse``, ``val_mse``).
    val_loss_ : float
        Best validation reconstruction loss (Huber, without the L2 penalty).
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(200, 12)).astype("float32")
    >>> ae = Autoencoder(hidden=(32,), code_size=4, epochs=5).fit(X)   # doctest: +SKIP
    >>> ae.transform(X).shape                                            # doctest: +SKIP
    (200, 4)
    """

    def __init__(self, hidden=(256, 128), code_size=10, dropout=0.0, noise=0.1, l2=0.0, activation="relu",
                 learning_rate=1e-3, epochs=300, patience=20, batch_size=None, validation_fraction=0.15,
                 seed=0, verbose=0):
        self.hidden = hidden
        self.code_size = code_size
        self.dropout = dropout
        self.noise = noise
        self.l2 = l2
        self.activation = activation
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.patience = patience
        self.batch_size = batch_size
        self.validation_fraction = validation_fraction
        self.seed = seed
        self.verbose = verbose

    # -- helpers -------------------------------------------------------------------------
    def architecture(self) -> dict[str, Any]:
        """The network's shape and regularisation as a plain dict (JSON-ready)."""
        return {"hidden": [int(w) for w in self.hidden], "code_size": int(self.code_size),
                "dropout": float(self.dropout), "noise": float(self.noise), "l2": float(self.l2),
                "activation": str(self.activation), "learning_rate": float(self.learning_rate)}

    def _check_params(self) -> None:
        hidden = self.hidden
        if isinstance(hidden, (int, np.integer)):
            hidden = (int(hidden),)
        if not isinstance(hidden, (list, tuple)) or not all(
                isinstance(w, (int, np.integer)) and w > 0 for w in hidden):
            raise InputError(f"`hidden` must be a tuple of positive layer widths, e.g. (256, 128); got {self.hidden!r}.")
        self.hidden = tuple(int(w) for w in hidden)
        if not isinstance(self.code_size, (int, np.integer)) or self.code_size < 1:
            raise InputError(f"`code_size` must be a positive integer, got {self.code_size!r}.")
        for name, high in (("dropout", 0.9), ("noise", 10.0), ("l2", 1.0), ("validation_fraction", 0.5)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= high:
                raise InputError(f"`{name}` must be a number between 0 and {high}, got {value!r}.")

    # -- estimator API -------------------------------------------------------------------
    def fit(self, X, y=None, *, budget: Budget | None = None):
        """Train on ``X`` (n_rows, n_features) with early stopping on held-out rows.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)
            Prepared numeric features (e.g. the output of :func:`automl.preprocess.build_preprocessor`).
        y : ignored
        budget : Budget, optional
            Stop training when this wall-clock budget runs out.

        Returns
        -------
        self
        """
        import keras

        self._check_params()
        X = _as_matrix(X)
        if len(X) < 10:
            raise InputError(f"An autoencoder needs at least 10 rows, got {len(X)}.")
        keras.utils.set_random_seed(int(self.seed))
        model = _build_network(X.shape[1], **self.architecture())
        train, val = _split(len(X), self.validation_fraction, int(self.seed))
        stop = keras.callbacks.EarlyStopping(monitor="val_recon", patience=int(self.patience),
                                             restore_best_weights=True)
        # the search engine's guard: the same deadline and NaN check as every searched network
        from ..search.engine import TrainingGuard

        # (checked after each epoch: a fixed network always completes the epoch it started)
        guard = TrainingGuard(budget.deadline if budget is not None else math.inf, per_step=False)
        started = time.monotonic()
        history = model.fit(X[train], X[train], validation_data=(X[val], X[val]), epochs=int(self.epochs),
                            batch_size=self.batch_size or _batch_size(len(train)), shuffle=True,
                            verbose=self.verbose, callbacks=[stop, guard])
        if guard.non_finite:
            warn("The autoencoder's training loss became NaN or infinite; training stopped and the weights of its "
                 "best epoch are kept. Lower `learning_rate` if the embedding looks poor.", SearchWarning)
        self._set_model(model, history.history)
        self.fit_time_s_ = round(time.monotonic() - started, 3)
        return self

    def _set_model(self, model, history: dict) -> None:
        self.model_ = model
        self.encoder_ = _encoder_of(model)
        self.history_ = {k: [float(v) for v in values] for k, values in (history or {}).items()}
        val = self.history_.get("val_recon") or self.history_.get("val_loss") or [float("nan")]
        self.val_loss_ = float(np.nanmin(val))
        self.n_features_in_ = int(model.inputs[0].shape[-1])

    def transform(self, X) -> np.ndarray:
        """Embed ``X``: array of shape (n_rows, code_size)."""
        check_is_fitted(self, "encoder_")
        X = _as_matrix(X)
        if X.shape[1] != self.n_features_in_:
            raise InputError(f"`X` has {X.shape[1]} features; the autoencoder was trained on {self.n_features_in_}.")
        return np.asarray(self.encoder_.predict(X, batch_size=1024, verbose=0), dtype=np.float32)

    def reconstruct(self, X) -> np.ndarray:
        """Decode the embedding of ``X`` back to feature space, shape (n_rows, n_features)."""
        check_is_fitted(self, "model_")
        return np.asarray(self.model_.predict(_as_matrix(X), batch_size=1024, verbose=0), dtype=np.float32)

    def reconstruction_error(self, X) -> np.ndarray:
        """Mean squared reconstruction error of each row (a simple outlier score)."""
        X = _as_matrix(X)
        return np.mean((self.reconstruct(X) - X) ** 2, axis=1)

    # -- persistence (see automl.persist.save_object) ------------------------------------
    def save_files(self, directory: Path, stem: str) -> None:
        """Write ``stem.keras`` (Keras' own format) and ``stem.json`` (parameters, history)."""
        check_is_fitted(self, "model_")
        directory = Path(directory)
        self.model_.save(directory / f"{stem}.keras")
        meta = {"params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.get_params().items()},
                "history": self.history_, "fit_time_s": getattr(self, "fit_time_s_", None)}
        (directory / f"{stem}.json").write_text(json.dumps(meta))

    @classmethod
    def load_files(cls, directory: Path, stem: str) -> "Autoencoder":
        """Inverse of :meth:`save_files`."""
        import keras

        directory = Path(directory)
        meta = json.loads((directory / f"{stem}.json").read_text())
        params = meta["params"]
        params["hidden"] = tuple(params["hidden"])
        self = cls(**params)
        self._set_model(keras.models.load_model(directory / f"{stem}.keras", compile=False), meta["history"])
        self.fit_time_s_ = meta.get("fit_time_s")
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "encoder_")


def _as_matrix(X) -> np.ndarray:
    if isinstance(X, pd.DataFrame):
        X = X.to_numpy()
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2:
        raise InputError(f"`X` must be 2-D (rows x features), got shape {X.shape}.")
    if not np.all(np.isfinite(X)):
        raise InputError("`X` holds NaN or infinite values; preprocess it first (automl.cluster does this for you).")
    return X
