"""Network search speed: trials per minute and training rows per second.

Generates a 100,000 x 50 frame (binary target with non-linear structure),
runs the neural-network family alone with each tuner for a fixed budget, and
prints one row per tuner::

    python benchmarks/search_speed.py                 # 100k x 50, 90 s per tuner
    python benchmarks/search_speed.py --rows 20000 --budget 30 --tuners random
    nice -n 5 python benchmarks/search_speed.py --rows 1000000 --budget 240 --tuners random

The frame is converted to a float32 matrix once per search; every trial reads
its batches from that matrix (``automl.search.feed``, no whole-array tensor
copy) with the batch size the space proposes for the data (512 to 2048 rows
per step at 1M rows on CPU), fusing up to 16 steps per call
(``steps_per_execution``); callbacks run per epoch or per fused call, so the
Python work per epoch does not grow with the rows.

Columns
-------
trials/min        trials finished per minute of search
rows/s (trial)    training rows processed per second of trial time, graph
                  building and tracing included (epochs x rows / trial seconds)
rows/s (steady)   rows per second of a steady epoch (training plus the
                  validation pass), the first epoch excluded
epochs/trial      mean epochs trained per trial
batch             median batch size of the trials
early stop        share of trials cut short by early stopping
best val/test     accuracy of the best network
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def make_frame(rows: int, columns: int, seed: int = 0) -> pd.DataFrame:
    """``columns`` numeric features (a few of them categorical) and a binary ``target``."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, columns - 2)).astype(np.float32)
    weights = rng.normal(size=columns - 2) * (rng.random(columns - 2) < 0.3)
    signal = X @ weights + np.sin(2 * X[:, 0]) * 1.5 + X[:, 1] * X[:, 2]
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(columns - 2)])
    frame["segment"] = rng.choice(["a", "b", "c", "d", "e"], rows)
    frame["region"] = rng.choice(["north", "south", "east", "west"], rows)
    signal = signal + (frame["segment"] == "a") * 1.0 - (frame["region"] == "west") * 0.8
    frame["target"] = (signal + rng.normal(0, 1.0, rows) > np.median(signal)).astype(int)
    return frame


def run(frame: pd.DataFrame, tuner: str, budget: float, directory: str) -> dict:
    """One search; returns the row of the table."""
    import automl

    started = time.monotonic()
    result = automl.fit(frame, "target", families=["neural_network"], time_budget=budget, verbose=0, ensemble=False,
                        network={"tuner": tuner, "directory": directory, "overwrite": True})
    elapsed = time.monotonic() - started
    trials = result.trials
    ok = trials[trials["status"] == "ok"]
    n_train = result.info["train_rows_used"]
    trial_seconds = float(ok["time_s"].sum())
    rows_trained = float((ok["epochs_trained"] * n_train).sum())
    board = result.leaderboard
    return {
        "tuner": tuner,
        "budget s": budget,
        "elapsed s": round(elapsed, 1),
        "trials": len(trials),
        "trials/min": round(60 * len(trials) / max(elapsed, 1e-9), 2),
        "rows/s (trial)": round(rows_trained / trial_seconds) if trial_seconds else float("nan"),
        "rows/s (steady)": round(float(np.nanmedian(n_train / ok["epoch_s"]))) if len(ok) else float("nan"),
        "epochs/trial": round(float(ok["epochs_trained"].mean()), 1) if len(ok) else float("nan"),
        "batch": int(np.median([p.get("batch_size", 0) for p in ok["params"]])) if len(ok) else 0,
        "early stop": f"{ok['stopped_early'].mean():.0%}" if len(ok) else "-",
        "best val": round(float(board.iloc[0]["val_score"]), 4),
        "best test": round(float(board.iloc[0]["test_score"]), 4),
    }


def _gpus() -> list[str]:
    """GPUs the Keras backend sees (empty on a CPU-only machine)."""
    import keras

    try:
        return [d for d in keras.distribution.list_devices("gpu")]
    except Exception:  # noqa: BLE001 - a backend without device listing, or no GPU runtime
        return []


def main(argv=None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--columns", type=int, default=50)
    parser.add_argument("--budget", type=float, default=90.0, help="seconds per tuner")
    parser.add_argument("--tuners", nargs="+", default=["hyperband", "random"],
                        choices=["hyperband", "bayesian", "random"])
    args = parser.parse_args(argv)

    import automl  # noqa: F401 - first, so that TensorFlow's start-up lines stay out of the table
    import keras

    frame = make_frame(args.rows, args.columns)
    gpus = _gpus()
    device = f"GPU: {', '.join(gpus)}" if gpus else "CPU only (no GPU visible to Keras)"
    print(f"search_speed: {args.rows:,} rows x {args.columns} columns, {args.budget:.0f} s per tuner; "
          f"keras {keras.__version__} ({keras.backend.backend()}), {platform.machine()}, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; {device}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="automl_bench_") as tmp:
        for tuner in args.tuners:
            rows.append(run(frame, tuner, args.budget, tmp))
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
