"""Network training throughput: rows per second per trial and for a whole search, against plain Keras.

Generated data (it measures speed, not quality): a ``rows`` x 50 float32
matrix and a binary target. In the same process, on the backend Keras was
started with (``KERAS_BACKEND``), and on the accelerator when the backend sees
one:

* ``keras fit (numpy)``: the baseline, a plain ``model.fit(X, y)`` from NumPy
  arrays with Keras' defaults (``steps_per_execution=1``);
* ``automl trial (arrays)``: the same network as automl's trials build it
  (:class:`automl.search.hypermodel.TabularHyperModel`, fused steps, JIT under
  JAX) fed NumPy arrays, as trials were before the feed (whole-array copies);
* ``automl trial (host)``: that network fed by
  :class:`automl.search.feed.MatrixFeed`, batches gathered from the host matrix;
* ``automl trial (device)``: the same with the matrix placed on the device
  once and the batches cut there (JAX only; on a CPU device it measures the
  code path, not a gain);
* ``automl search``: ``automl.fit(families=["neural_network"])`` for
  ``--search-budget`` seconds: rows trained per second of trial time (graph
  building, compilation and validation included) and of a steady epoch.

``ratio`` is rows/s over the baseline's at the same batch size (steady).
``--backends tensorflow jax`` runs each backend in a child process and prints
one table::

    python benchmarks/throughput.py                       # 200k rows, batch 1024 and 8192, 60 s search
    python benchmarks/throughput.py --quick               # CI-sized: 20k rows, 2 epochs, 20 s search
    python benchmarks/throughput.py --backends tensorflow jax --rows 200000
    KERAS_BACKEND=jax python benchmarks/throughput.py --rows 1000000 --batch 8192 32768   # on a GPU
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

COLUMNS = ["backend", "device", "path", "batch", "rows", "epochs", "rows/s (steady)", "rows/s (with compile)",
           "ratio"]


def make_data(rows: int, columns: int = 50, seed: int = 0):
    """A float32 matrix and a binary float32 target with some non-linear structure."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, columns)).astype(np.float32)
    weights = rng.normal(size=columns) * (rng.random(columns) < 0.3)
    signal = X @ weights + np.sin(2 * X[:, 0]) + X[:, 1] * X[:, 2]
    y = (signal + rng.normal(0, 1.0, rows) > np.median(signal)).astype(np.float32)
    return X, y


class _EpochClock:
    """Keras callback recording each epoch's wall time (training only)."""

    def __new__(cls):
        import keras

        class Clock(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.seconds: list[float] = []
                self._start = 0.0

            def on_epoch_begin(self, epoch, logs=None):
                self._start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                self.seconds.append(time.perf_counter() - self._start)

        return Clock()


def _network(n_rows: int, columns: int, batch: int, plain: bool, accelerator: bool):
    """automl's default network for the data (2 x 256 ReLU, Adam); ``plain`` compiles it as Keras' defaults do."""
    import keras
    import keras_tuner as kt

    from automl.search.hypermodel import TabularHyperModel

    hypermodel = TabularHyperModel("binary", columns, 2, n_rows=n_rows, accelerator=accelerator)
    hp = kt.HyperParameters()
    hp.values["batch_size"] = batch
    keras.utils.set_random_seed(0)
    model = hypermodel.build(hp)
    if plain:
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy", metrics=["accuracy"])
    return model


def time_fit(X, y, batch: int, epochs: int, path: str, accelerator: bool) -> dict:
    """One training run; rows/s of the steady epochs (all but the first) and of the whole fit."""
    import keras

    from automl.search.feed import MatrixFeed

    keras.backend.clear_session()
    model = _network(len(X), X.shape[1], batch, plain=path == "keras fit (numpy)", accelerator=accelerator)
    clock = _EpochClock()
    started = time.perf_counter()
    if path in ("keras fit (numpy)", "automl trial (arrays)"):
        model.fit(X, y, batch_size=batch, epochs=epochs, shuffle=True, verbose=0, callbacks=[clock])
        trained = len(X)
    else:
        feed = MatrixFeed(X, y, device=path.endswith("(device)"))
        data = feed.train(batch, seed=0)
        model.fit(data, epochs=epochs, verbose=0, callbacks=[clock])
        trained = data.num_batches * batch if data.drop_last else len(X)
        feed.release()
    total = time.perf_counter() - started
    steady = clock.seconds[1:] or clock.seconds
    return {"path": path, "batch": batch, "rows": len(X), "epochs": epochs,
            "rows/s (steady)": trained / float(np.median(steady)),
            "rows/s (with compile)": trained * epochs / total}


def time_search(rows: int, budget: float) -> dict:
    """A whole network search through ``automl.fit`` (50 columns, 48 numeric and 2 categorical)."""
    import automl
    from search_speed import make_frame

    frame = make_frame(rows, 50)
    with tempfile.TemporaryDirectory(prefix="automl_throughput_") as tmp:
        result = automl.fit(frame, "target", families=["neural_network"], time_budget=budget, verbose=0,
                            ensemble=False, refit=False,
                            network={"tuner": "random", "directory": tmp, "overwrite": True})
    trials = result.trials
    ok = trials[trials["status"] == "ok"]
    n_train = int(result.info["train_rows_used"])
    seconds = float(ok["time_s"].sum())
    trained = float((ok["epochs_trained"] * n_train).sum())
    batch = int(np.median([p.get("batch_size", 0) for p in ok["params"]])) if len(ok) else 0
    return {"path": f"automl search ({len(ok)} trials)", "batch": batch, "rows": n_train,
            "epochs": round(float(ok["epochs_trained"].mean()), 1) if len(ok) else 0,
            "rows/s (steady)": float(np.nanmedian(n_train / ok["epoch_s"])) if len(ok) else float("nan"),
            "rows/s (with compile)": trained / seconds if seconds else float("nan")}


def measure(args) -> list[dict]:
    """Every row of the table for the backend this process runs."""
    import keras

    import automl  # noqa: F401 - first, so that TensorFlow's start-up lines stay out of the table
    from automl.search.feed import accelerator

    backend = keras.backend.backend()
    kind = accelerator()
    device = kind.upper() if kind else "CPU"
    if kind and backend == "jax":
        import jax

        device = str(jax.devices()[0].device_kind)
    X, y = make_data(args.rows)
    paths = ["keras fit (numpy)", "automl trial (arrays)", "automl trial (host)"]
    if backend == "jax":
        paths.append("automl trial (device)")
    out = []
    for batch in args.batch:
        base = None
        for path in paths:
            row = time_fit(X, y, batch, args.epochs, path, accelerator=bool(kind))
            base = row["rows/s (steady)"] if base is None else base
            row["ratio"] = row["rows/s (steady)"] / base
            out.append(row)
    if args.search_budget > 0:
        try:
            row = time_search(args.rows, args.search_budget)
        except Exception as exc:  # noqa: BLE001 - e.g. a GPU image without automl's full dependencies
            print(f"throughput: the search row failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            row = None
    else:
        row = None
    if row is not None:
        plain = [r["rows/s (steady)"] for r in out if r["path"] == "keras fit (numpy)"]
        row["ratio"] = row["rows/s (steady)"] / plain[0] if plain else float("nan")
        out.append(row)
    for row in out:
        row.update(backend=backend, device=device)
    return out


def print_table(rows: list[dict]) -> None:
    """Markdown table, rows/s rounded to thousands."""
    print("| " + " | ".join(COLUMNS) + " |")
    print("|" + "|".join("---" if c in ("backend", "device", "path") else "---:" for c in COLUMNS) + "|")
    for row in rows:
        cells = []
        for column in COLUMNS:
            value = row.get(column, "")
            if column.startswith("rows/s"):
                value = f"{value:,.0f}" if np.isfinite(value) else "-"
            elif column == "ratio":
                value = f"{value:.2f}x" if np.isfinite(value) else "-"
            elif column == "rows":
                value = f"{value:,}"
            cells.append(str(value))
        print("| " + " | ".join(cells) + " |")


def main(argv=None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--batch", type=int, nargs="+", default=[1024, 8192])
    parser.add_argument("--epochs", type=int, default=4, help="epochs per timed fit (the first one compiles)")
    parser.add_argument("--search-budget", type=float, default=60.0, help="seconds; 0 skips the search row")
    parser.add_argument("--backends", nargs="+", choices=["tensorflow", "jax", "torch"],
                        help="run each backend in a child process (default: this process's KERAS_BACKEND)")
    parser.add_argument("--quick", action="store_true", help="CI-sized: 20k rows, batch 1024, 2 epochs, 20 s search")
    parser.add_argument("--json", help=argparse.SUPPRESS)  # a child process writes its rows here
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.batch, args.epochs, args.search_budget = 20_000, [1024], 2, min(args.search_budget, 20.0)

    if args.backends:
        rows = []
        for backend in args.backends:
            with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
                target = handle.name
            child = [sys.executable, __file__, "--rows", str(args.rows), "--epochs", str(args.epochs),
                     "--search-budget", str(args.search_budget), "--json", target, "--batch",
                     *map(str, args.batch)]
            done = subprocess.run(child, env={**os.environ, "KERAS_BACKEND": backend}, check=False)
            if done.returncode == 0:
                rows += json.loads(Path(target).read_text())
            else:
                print(f"throughput: the {backend} run failed (exit {done.returncode})", file=sys.stderr)
            Path(target).unlink(missing_ok=True)
    else:
        rows = measure(args)
        if args.json:
            Path(args.json).write_text(json.dumps(rows))
            return 0
    import keras

    print(f"throughput: {args.rows:,} rows x 50 columns, {args.epochs} epochs per fit, search {args.search_budget:.0f} s;"
          f" keras {keras.__version__}, {platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    print_table(rows)
    return 0 if rows else 1


if __name__ == "__main__":
    raise SystemExit(main())
