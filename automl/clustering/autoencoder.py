"""Dense autoencoders: a fixed-architecture estimator and a KerasTuner search.

The encoder's bottleneck is the embedding that clustering works on. The
search tries sizes, depths, widths, dropout, input noise and L2 strength and
keeps the network with the lowest *reconstruction* error on held-out rows
(mean squared error, without the L2 penalty, so that regularised and plain
networks are compared on equal terms).

Keras, TensorFlow and KerasTuner are imported inside the functions that need
them, so importing this module is cheap.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..budget import Budget
from ..errors import InputError, SearchWarning, warn

__all__ = ["Autoencoder", "search_autoencoder", "search_space", "ARCHITECTURE_KEYS"]

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


class _Deadline:
    """Keras callback factory: stop training when a wall-clock budget runs out."""

    @staticmethod
    def make(budget: Budget | None):
        import keras

        class Deadline(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if budget is not None and budget.expired():
                    self.model.stop_training = True
        return Deadline()


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
        started = time.monotonic()
        history = model.fit(X[train], X[train], validation_data=(X[val], X[val]), epochs=int(self.epochs),
                            batch_size=self.batch_size or _batch_size(len(train)), shuffle=True,
                            verbose=self.verbose, callbacks=[stop, _Deadline.make(budget)])
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


# -- search ------------------------------------------------------------------------------
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


# The first trial uses these values where the space allows: the plain architecture that
# works well across data sets, so a budget that fits one trial still gives a good network.
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
        No new trial starts after it runs out, and a running trial (other than the
        first, which always finishes) stops at its next epoch.
    max_trials : int, optional
        Cap on trials (default 12).
    seed : int, default=0
    directory : path, optional
        Where KerasTuner keeps its trials (a temporary folder when omitted).
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
        ``epochs``, ``time_s``.
    """
    import keras
    import keras_tuner as kt

    X = _as_matrix(X)
    chosen_space = search_space(len(X), X.shape[1])
    if space:
        unknown = sorted(set(space) - set(chosen_space))
        if unknown:
            raise InputError(f"Unknown autoencoder search key(s) {unknown}; use {sorted(chosen_space)}.")
        chosen_space.update({k: list(v) for k, v in space.items()})
    train, val = _split(len(X), validation_fraction, seed)
    batch = _batch_size(len(train))
    records: list[dict] = []

    class HyperAutoencoder(kt.HyperModel):
        def build(self, hp):
            return _build_network(X.shape[1], **_architecture_from_hp(hp, chosen_space))

    class FirstTrialDefaults(kt.oracles.RandomSearchOracle):
        def populate_space(self, trial_id):
            # Random search would start at random; start from the defaults instead (_FIRST_TRIAL).
            if not getattr(self, "_gave_defaults", False):
                self._gave_defaults = True
                return {"status": "RUNNING", "values": {hp.name: hp.default for hp in self.hyperparameters.space}}
            return super().populate_space(trial_id)

    class BudgetedSearch(kt.Tuner):
        def pre_create_trial(self):
            # The oracle stops once it holds max_trials trials: freeze it at the current count.
            if budget.expired() and len(self.oracle.trials):
                self.oracle.max_trials = len(self.oracle.trials)

        def run_trial(self, trial, *args, **kwargs):
            keras.utils.set_random_seed(seed + int(trial.trial_id))
            started = time.monotonic()
            if records:
                # Later trials stop at the deadline; the first always trains to early stopping
                # (or its epoch cap) so that the search returns a usable network.
                kwargs = {**kwargs, "callbacks": list(kwargs.get("callbacks", [])) + [_Deadline.make(budget)]}
            history = super().run_trial(trial, *args, **kwargs)
            hist = history[0].history if isinstance(history, list) else history.history
            val_recon = float(np.nanmin(hist.get("val_recon", [np.nan])))
            record = {"trial": int(trial.trial_id), "val_loss": val_recon, "score": -val_recon, "status": "ok",
                      "params": _architecture_from_values(trial.hyperparameters.values, chosen_space),
                      "epochs": len(hist.get("loss", [])), "time_s": round(time.monotonic() - started, 3),
                      "family": "autoencoder"}
            records.append(record)
            if hooks is not None:
                hooks.on_trial_end(dict(record))
            return history

    with tempfile.TemporaryDirectory(prefix="automl-ae-") as scratch:
        oracle = FirstTrialDefaults(objective=kt.Objective("val_recon", direction="min"),
                                    max_trials=int(max_trials or 12), seed=seed)
        tuner = BudgetedSearch(
            oracle=oracle, hypermodel=HyperAutoencoder(), directory=str(directory or scratch),
            project_name="autoencoder", overwrite=overwrite if directory else True,
        )
        # min_delta: a relative gain of ~0.1% per `patience` epochs is not worth the time.
        stop = keras.callbacks.EarlyStopping(monitor="val_recon", patience=patience, min_delta=1e-4,
                                             restore_best_weights=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tuner.search(X[train], X[train], validation_data=(X[val], X[val]), epochs=epochs, batch_size=batch,
                         shuffle=True, verbose=0, callbacks=[stop])
        completed = [t for t in tuner.oracle.trials.values() if t.status == "COMPLETED" and t.score is not None]
        if not completed:
            messages = [t.message for t in tuner.oracle.trials.values() if getattr(t, "message", None)]
            raise InputError("No autoencoder trial finished"
                             + (f": {messages[0].strip().splitlines()[-1]}" if messages else "")
                             + ". Increase `time_budget` or pass a fixed `autoencoder=`.")
        best_trial = tuner.oracle.get_best_trials(1)[0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = tuner.load_model(best_trial)
        failed = [t for t in tuner.oracle.trials.values() if t.status != "COMPLETED"]
        for t in failed:
            records.append({"trial": int(t.trial_id), "val_loss": np.nan, "score": np.nan,
                            "status": "failed", "params": _architecture_from_values(t.hyperparameters.values,
                                                                                    chosen_space),
                            "epochs": 0, "time_s": np.nan, "family": "autoencoder"})
        if failed:
            warn(f"{len(failed)} autoencoder trial(s) failed; the best of the others is used.", SearchWarning)
    params = _architecture_from_values(best_trial.hyperparameters.values, chosen_space)
    best = Autoencoder(**{k: (tuple(v) if k == "hidden" else v) for k, v in params.items()},
                       epochs=epochs, patience=patience, validation_fraction=validation_fraction, seed=seed)
    best_record = next((r for r in records if r["trial"] == int(best_trial.trial_id)), {})
    best._set_model(model, {"val_recon": [float(best_trial.score)]})
    best.fit_time_s_ = best_record.get("time_s")
    trials = pd.DataFrame(records, columns=["trial", "val_loss", "score", "status", "params", "epochs", "time_s",
                                            "family"]).sort_values("trial", ignore_index=True)
    trials["best"] = trials["trial"] == int(best_trial.trial_id)
    return best, trials


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
