"""The KerasTuner HyperModel for tabular data (Keras 3 only: TensorFlow, JAX or PyTorch backends)."""

from __future__ import annotations

import math
from typing import Any

import keras
import keras_tuner as kt

from .space import default_search_space, resolve_search_space

__all__ = ["TabularHyperModel", "make_optimizer", "register_hyperparameters"]


def make_optimizer(name: str, learning_rate: float):
    """A fresh Keras optimizer ``name`` at ``learning_rate``."""
    if name == "adam":
        return keras.optimizers.Adam(learning_rate=learning_rate)
    if name == "adamw":
        return keras.optimizers.AdamW(learning_rate=learning_rate, weight_decay=1e-4)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=learning_rate)
    if name == "nadam":
        return keras.optimizers.Nadam(learning_rate=learning_rate)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9, nesterov=True)
    raise ValueError(f"unknown optimizer {name!r}")


def register_hyperparameters(hp, space: dict[str, dict]) -> dict[str, Any]:
    """Declare every entry of ``space`` on ``hp`` and return the chosen values."""
    values = {}
    for name, spec in space.items():
        kind = spec["type"]
        if kind == "fixed":
            values[name] = hp.Fixed(name, spec["value"])
        elif kind == "choice":
            values[name] = hp.Choice(name, spec["values"], default=spec.get("default"))
        elif kind == "boolean":
            values[name] = hp.Boolean(name, default=bool(spec.get("default", False)))
        elif kind == "int":
            values[name] = hp.Int(name, int(spec["min"]), int(spec["max"]), step=spec.get("step"),
                                  sampling=spec.get("sampling", "linear"), default=spec.get("default"))
        elif kind == "float":
            values[name] = hp.Float(name, float(spec["min"]), float(spec["max"]), step=spec.get("step"),
                                    sampling=spec.get("sampling", "linear"), default=spec.get("default"))
        else:  # pragma: no cover - resolve_search_space only produces the kinds above
            raise ValueError(f"unknown hyperparameter kind {kind!r}")
    return values


class TabularHyperModel(kt.HyperModel):
    """A multilayer perceptron search space for the prepared (already scaled) feature matrix.

    Each trial builds ``layers`` Dense blocks (Dense -> [BatchNorm] -> activation
    -> Dropout, L2 on every kernel), widths constant or halving ("funnel"), and
    a head and loss for the task: sigmoid + binary cross-entropy, softmax +
    sparse categorical cross-entropy, or a linear unit + mean squared error on
    standardised targets. ``batch_size`` is part of the space; the tuner reads
    it from the trial's values.

    Parameters
    ----------
    task : {'binary', 'multiclass', 'regression'}
    n_features : int
    n_classes : int, default=0
    space : dict, optional
        A resolved space (:func:`automl.search.space.resolve_search_space`);
        default: :func:`~automl.search.space.default_search_space` for ``n_rows``.
    n_rows : int, default=1000
        Training rows: size the default space and the number of fused steps.
    steps_per_execution : int or 'auto', default='auto'
        Training steps fused per call into the compiled function. ``'auto'``
        fuses up to 16 when an epoch has 32 batches or more (fewer Python round
        trips, about twice the throughput on CPU) and none for short epochs,
        where fusing only lengthens the first trace.
    jit_compile : bool or 'auto', optional
        XLA compilation. Default: on under JAX (without it every operation of
        a step runs eagerly, about 100x slower), Keras' ``'auto'`` on an
        accelerator, off on a TensorFlow CPU (it costs seconds per trial and
        pays only on large data).
    accelerator : bool, default=False
        Training runs on a GPU/TPU: ``'auto'`` fuses up to 64 steps (each
        fused call ends in a host round trip for the callbacks, which stalls
        the device's queue) instead of 16.

    Examples
    --------
    >>> hypermodel = TabularHyperModel("binary", n_features=30, n_classes=2)   # doctest: +SKIP
    >>> model = hypermodel.build(keras_tuner.HyperParameters())                 # doctest: +SKIP
    """

    def __init__(self, task: str, n_features: int, n_classes: int = 0, space: dict | None = None,
                 n_rows: int = 1000, steps_per_execution: int | str = "auto", jit_compile: bool | str | None = None,
                 name: str = "tabular_mlp", accelerator: bool = False):
        super().__init__(name=name)
        self.task = task
        self.n_features = int(n_features)
        self.n_classes = int(n_classes)
        self.space = space if space is not None else resolve_search_space(
            None, default_search_space(n_rows, n_features, task))
        self.n_rows = int(n_rows)
        self.steps_per_execution = steps_per_execution
        self.accelerator = bool(accelerator)
        if jit_compile is None:
            jit_compile = True if keras.backend.backend() == "jax" else ("auto" if self.accelerator else False)
        self.jit_compile = jit_compile

    def fused_steps(self, batch_size: int) -> int:
        """Steps per execution for ``batch_size`` (see ``steps_per_execution``)."""
        if self.steps_per_execution != "auto":
            return int(self.steps_per_execution)
        steps = math.ceil(self.n_rows / max(int(batch_size), 1))
        return 1 if steps < 32 else int(min(64 if self.accelerator else 16, steps // 8))

    def head(self):
        """Output layer, loss and metrics for the task."""
        if self.task == "regression":
            return (keras.layers.Dense(1, name="output", dtype="float32"), "mean_squared_error",
                    [keras.metrics.MeanAbsoluteError(name="mae")])
        if self.task == "binary" or self.n_classes <= 2:
            return (keras.layers.Dense(1, activation="sigmoid", name="output", dtype="float32"),
                    "binary_crossentropy", [keras.metrics.BinaryAccuracy(name="accuracy")])
        return (keras.layers.Dense(self.n_classes, activation="softmax", name="output", dtype="float32"),
                "sparse_categorical_crossentropy", [keras.metrics.SparseCategoricalAccuracy(name="accuracy")])

    def build(self, hp):
        """Build and compile one network from the trial's hyperparameters."""
        v = register_hyperparameters(hp, self.space)
        inputs = keras.Input(shape=(self.n_features,), name="features")
        x = inputs
        regulariser = keras.regularizers.L2(v["l2"]) if v["l2"] > 0 else None
        for i in range(int(v["layers"])):
            width = int(v["units"]) if v["shape"] == "constant" else max(8, int(v["units"]) // (2 ** i))
            # a bias before batch normalisation is redundant: BN has its own shift
            x = keras.layers.Dense(width, kernel_regularizer=regulariser, use_bias=not v["batch_norm"],
                                   name=f"dense_{i}")(x)
            if v["batch_norm"]:
                x = keras.layers.BatchNormalization(name=f"batch_norm_{i}")(x)
            x = keras.layers.Activation(v["activation"], name=f"activation_{i}")(x)
            if v["dropout"] > 0:
                x = keras.layers.Dropout(v["dropout"], name=f"dropout_{i}")(x)
        layer, loss, metrics = self.head()
        model = keras.Model(inputs, layer(x), name=self.name)
        model.compile(optimizer=make_optimizer(v["optimizer"], v["learning_rate"]), loss=loss, metrics=metrics,
                      steps_per_execution=self.fused_steps(v.get("batch_size", 256)), jit_compile=self.jit_compile)
        return model
