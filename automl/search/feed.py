"""Networks fed batches straight from the shared float32 matrix, on the host or on the device.

Keras turns NumPy arrays given to ``fit`` into whole-array tensors (the
TensorFlow adapter) before it batches them: a second copy of the training
matrix per search and per refit. :class:`RowBatches` is a
``keras.utils.PyDataset`` that gathers each batch from the caller's matrix
instead, so a search keeps one copy of the rows, the one
:func:`automl.preprocess.prepare_rows` made.

On an accelerator under the JAX backend, :class:`MatrixFeed` places the
matrix on the device once per search (when it fits) and every trial slices its
batches there: one host-to-device transfer per search instead of one per step.

Importing this module imports Keras: import it lazily.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np

__all__ = ["RowBatches", "MatrixFeed", "accelerator", "device_fits"]

# Share of the accelerator's free memory the matrix (and one per-epoch permuted copy) may take.
_DEVICE_SHARE = 0.4


def accelerator() -> str:
    """The accelerator the Keras backend trains on (``'gpu'``, ``'tpu'``), or ``''`` on CPU."""
    try:
        for kind in ("gpu", "tpu"):
            if keras.distribution.list_devices(kind):
                return kind
    except Exception:  # noqa: BLE001 - a backend without device listing, or no GPU runtime: CPU
        return ""
    return ""


def device_fits(nbytes: int) -> bool:
    """True when ``nbytes`` (twice: the matrix and one permuted copy per epoch) fit on the JAX device."""
    try:
        import jax

        stats = jax.devices()[0].memory_stats() or {}
    except Exception:  # noqa: BLE001 - no JAX, or a device without memory statistics
        return False
    limit = stats.get("bytes_limit")
    if not limit:
        return False
    free = float(limit) - float(stats.get("bytes_in_use", 0))
    return 2 * nbytes <= _DEVICE_SHARE * free


class RowBatches(keras.utils.PyDataset):
    """Batches of rows of ``X`` (and ``y``, row weights), gathered when Keras asks for them.

    No copy of ``X`` is made: a batch is a view (in order) or a gather of its
    rows (shuffled, re-drawn every epoch, rows sorted inside a batch for
    memory locality). With ``device`` arrays (JAX backend) the rows are
    permuted on the device once per epoch and each batch is a compiled slice
    of them: no host-to-device copy per step.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        Float32 rows are served without conversion; other dtypes per batch.
    y : ndarray of shape (n,), optional
    weights : ndarray of shape (n,), optional
        Row weights (class weights, the user's sample weights).
    batch_size : int
    shuffle : bool, default=False
    seed : int, default=0
    device : dict, optional
        ``{"X": ..., "y": ..., "w": ...}`` arrays already on the JAX device
        (from :class:`MatrixFeed`); batches are then device arrays.
    drop_last : bool, default=False
        Leave out the last, partial batch of each epoch (a different shape:
        under JAX one more compilation of the training step per trial). The
        rows it leaves out change every epoch when shuffled.
    """

    def __init__(self, X, y=None, weights=None, *, batch_size: int, shuffle: bool = False, seed: int = 0,
                 device: dict | None = None, drop_last: bool = False):
        super().__init__()  # one worker, no enqueuer: batches are cheap views or gathers
        self.X = X
        self.y = y
        self.weights = weights
        self.n = int(X.shape[0])
        self.batch_size = max(1, int(batch_size))
        self.shuffle = bool(shuffle)
        self.device = device
        self.drop_last = bool(drop_last) and self.n > self.batch_size
        self._rng = np.random.default_rng(seed)
        self._order: np.ndarray | None = None
        self._epoch_arrays: tuple | None = None
        self._new_epoch()

    @property
    def num_batches(self) -> int:  # noqa: D102
        if self.drop_last:
            return self.n // self.batch_size
        return max(1, math.ceil(self.n / self.batch_size))

    def __len__(self) -> int:
        return self.num_batches

    def _new_epoch(self) -> None:
        self._order = self._rng.permutation(self.n) if self.shuffle else None
        self._epoch_arrays = None
        if self.device is not None:
            self._epoch_arrays = _device_epoch(self.device, self._order)

    def on_epoch_end(self) -> None:  # noqa: D102
        if self.shuffle:
            self._new_epoch()

    def __getitem__(self, index: int):
        start = index * self.batch_size
        stop = min(start + self.batch_size, self.n)
        if self._epoch_arrays is not None:
            # one dispatch on the device: a slice of the epoch's (permuted) rows
            return _jitted()["slice"](self._epoch_arrays, start, stop - start)
        if self._order is None:
            rows = slice(start, stop)
        else:
            rows = np.sort(self._order[start:stop])
        x = np.asarray(self.X[rows], dtype=np.float32)
        if self.y is None:
            return (x,)
        batch = (x, self.y[rows])
        if self.weights is not None:
            batch = batch + (self.weights[rows],)
        return batch


def _device_epoch(device: dict, order: np.ndarray | None) -> tuple:
    """The epoch's device arrays: the rows permuted on the device in one compiled call (none when in order)."""
    import jax

    arrays = tuple(device[k] for k in ("X", "y", "w") if device.get(k) is not None)
    if order is None:
        return arrays
    return _jitted()["permute"](arrays, jax.device_put(order.astype(np.int32)))


def _jitted() -> dict:
    """Two compiled helpers, built once per process: a row permutation and a fixed-size row slice."""
    if not _JIT:
        import jax
        import jax.numpy as jnp

        _JIT["permute"] = jax.jit(lambda arrays, order: tuple(jnp.take(a, order, axis=0) for a in arrays))
        # the start is traced (one compilation per batch size, not per batch); the size is static
        _JIT["slice"] = jax.jit(
            lambda arrays, start, size: tuple(jax.lax.dynamic_slice_in_dim(a, start, size) for a in arrays),
            static_argnums=2)
    return _JIT


_JIT: dict[str, Any] = {}


class MatrixFeed:
    """The training and validation rows of one search, served to every trial as :class:`RowBatches`.

    Parameters
    ----------
    X_train, y_train, X_val, y_val : ndarray
        Views of the shared prepared matrix and the training targets; never copied on the host.
    weights : ndarray, optional
        Training row weights (class weights times the user's weights).
    device : bool or 'auto', default='auto'
        Place the arrays on the accelerator once (JAX backend only) and cut
        batches there. ``'auto'``: when the JAX backend has a GPU/TPU and the
        rows fit in a share of its free memory. ``True`` forces it (also on a
        JAX CPU device: the tests exercise the path so).
    """

    def __init__(self, X_train, y_train, X_val=None, y_val=None, weights=None, device: bool | str = "auto"):
        self.X_train, self.y_train, self.weights = X_train, y_train, weights
        self.X_val, self.y_val = X_val, y_val
        if device == "auto":
            nbytes = _nbytes(X_train, y_train, X_val, y_val, weights)
            device = keras.backend.backend() == "jax" and bool(accelerator()) and device_fits(nbytes)
        elif device and keras.backend.backend() != "jax":
            device = False  # other backends feed host batches (a TF PyDataset passes through the host)
        self.on_device = bool(device)
        self._train_dev: dict | None = None
        self._val_dev: dict | None = None
        if self.on_device:
            import jax

            # once per search: every trial and every epoch slices these arrays on the device
            self._train_dev = {"X": jax.device_put(_f32(X_train)), "y": jax.device_put(y_train),
                               "w": None if weights is None else jax.device_put(weights)}
            if X_val is not None:
                self._val_dev = {"X": jax.device_put(_f32(X_val)), "y": jax.device_put(y_val)}

    def train(self, batch_size: int, seed: int = 0) -> RowBatches:
        """Shuffled training batches of ``batch_size`` rows (a new order each epoch)."""
        # under JAX every new batch shape compiles the training step again: no partial last batch
        return RowBatches(self.X_train, self.y_train, self.weights, batch_size=batch_size, shuffle=True, seed=seed,
                          device=self._train_dev, drop_last=keras.backend.backend() == "jax")

    def validation(self, batch_size: int) -> RowBatches | None:
        """Validation batches in row order (None without validation rows)."""
        if self.X_val is None:
            return None
        return RowBatches(self.X_val, self.y_val, batch_size=batch_size, device=self._val_dev)

    def release(self) -> None:
        """Drop the device copies (the host arrays belong to the caller)."""
        self._train_dev = self._val_dev = None
        self.on_device = False


def _f32(X) -> np.ndarray:
    # a view when X already is C-contiguous float32 (the prepared matrix is)
    return np.ascontiguousarray(X, dtype=np.float32)


def _nbytes(*arrays) -> int:
    return int(sum(a.size * 4 for a in arrays if a is not None))
