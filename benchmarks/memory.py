"""Peak memory of ``automl.fit`` relative to the size of the frame it is given.

Writes a generated 1,000,000 x 50 frame (48 float64 columns, 2 categorical
string columns, a binary target) to Parquet and CSV once, then runs each
configuration in a fresh subprocess that reads the file with ``automl``'s own
reader (pyarrow) and fits on it. The peak resident set size (the kernel's
``VmHWM``, what ``/usr/bin/time -v`` reports as "Maximum resident set size")
is reset after the imports and read at each stage::

    python benchmarks/memory.py                          # 1M x 50, linear / gradient boosting / network
    python benchmarks/memory.py --rows 200000 --configs linear

Columns
-------
frame MiB        ``DataFrame.memory_usage(deep=True)`` of the frame read
read peak x      peak RSS while reading the file, above the imports, / frame size
fit peak x       peak RSS during ``fit`` (frame included), above the imports, / frame size
fit s            wall time of ``fit``
best             leaderboard's best model and its test score

The target is a fit peak under 3x the frame. Linux only (reads /proc).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

CONFIGS = {
    "linear": ["linear"],
    "gradient_boosting": ["gradient_boosting"],
    "neural_network": ["neural_network"],
    "default": None,  # automl's default families
}


def make_frame(rows: int, columns: int, seed: int = 0) -> pd.DataFrame:
    """``columns - 2`` float64 features, two categorical string columns and a binary ``target``.

    Built column by column so that generating it needs little more than the frame itself.
    """
    rng = np.random.default_rng(seed)
    n_numeric = columns - 2
    weights = rng.normal(size=n_numeric) * (rng.random(n_numeric) < 0.3)
    data, signal = {}, np.zeros(rows)
    for i in range(n_numeric):
        column = rng.normal(size=rows)
        signal += weights[i] * column
        if i == 0:
            signal += 1.5 * np.sin(2 * column)
        data[f"x{i}"] = column
    signal += data["x1"] * data["x2"]
    segment = rng.choice(np.array(["a", "b", "c", "d", "e"], dtype=object), rows)
    region = rng.choice(np.array(["north", "south", "east", "west"], dtype=object), rows)
    signal += (segment == "a") * 1.0 - (region == "west") * 0.8
    data["segment"] = segment
    data["region"] = region
    data["target"] = (signal + rng.normal(0, 1.0, rows) > np.median(signal)).astype(np.int64)
    return pd.DataFrame(data)


# -- measuring, inside the child process ---------------------------------------------------------
def _status(field: str) -> float:
    """A ``/proc/self/status`` memory field in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024.0
    raise KeyError(field)


def _reset_peak() -> None:
    # Writing 5 to clear_refs resets the peak RSS (VmHWM) to the current RSS (Linux >= 4.0).
    Path("/proc/self/clear_refs").write_text("5")


def child(path: str, families: list[str] | None, budget: float, directory: str, refit: bool = True) -> dict:
    """Read ``path`` and fit on it; return the memory figures in MiB."""
    import automl
    from automl.data import read_table

    if families is None or "neural_network" in families:
        import keras  # noqa: F401 - count TensorFlow's own memory in the baseline, not against the frame
    baseline = _status("VmRSS")
    _reset_peak()
    started = time.monotonic()
    frame = read_table(path)
    read_s = time.monotonic() - started
    frame_mb = frame.memory_usage(deep=True).sum() / 2**20
    read_peak = _status("VmHWM") - baseline
    after_read = _status("VmRSS") - baseline
    _reset_peak()
    started = time.monotonic()
    result = automl.fit(frame, "target", families=families, time_budget=budget, verbose=0, max_memory_mb=None,
                        refit=refit, network={"directory": directory, "overwrite": True})
    fit_s = time.monotonic() - started
    fit_peak = _status("VmHWM") - baseline
    best = result.leaderboard.iloc[0]
    return {"baseline_mb": baseline, "frame_mb": frame_mb, "read_s": read_s, "read_peak_mb": read_peak,
            "after_read_mb": after_read, "fit_peak_mb": fit_peak, "fit_s": fit_s,
            "best": f"{best['model']} {best['test_score']:.4f}", "rows_used": result.info["train_rows_used"]}


def run_child(path: Path, config: str, budget: float, directory: str, refit: bool = True) -> dict:
    """One configuration in a fresh interpreter (peaks of earlier runs must not count)."""
    families = CONFIGS[config]
    command = [sys.executable, __file__, "--child", str(path), "--budget", str(budget), "--directory", directory,
               "--families", json.dumps(families)] + ([] if refit else ["--no-refit"])
    out = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"{config} failed (rc {out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(lines[-1])


def main(argv=None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--columns", type=int, default=50)
    parser.add_argument("--budget", type=float, default=60.0, help="time_budget of each fit")
    parser.add_argument("--configs", nargs="+", default=["linear", "gradient_boosting", "neural_network"],
                        choices=list(CONFIGS))
    parser.add_argument("--formats", nargs="+", default=["parquet"], choices=["parquet", "csv"])
    parser.add_argument("--no-refit", dest="refit", action="store_false",
                        help="fit with refit=False (the refit of the best model on every row is part of the peak)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--families", default="null", help=argparse.SUPPRESS)
    parser.add_argument("--directory", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        print(json.dumps(child(args.child, json.loads(args.families), args.budget, args.directory, args.refit)))
        return 0

    print(f"memory: {args.rows:,} rows x {args.columns} columns (float64 + 2 categorical), "
          f"budget {args.budget:.0f} s per fit; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="automl_memory_") as tmp:
        frame = make_frame(args.rows, args.columns)
        files = {}
        for fmt in args.formats:
            files[fmt] = Path(tmp) / f"frame.{fmt}"
            if fmt == "parquet":
                frame.to_parquet(files[fmt], index=False)
            else:
                frame.to_csv(files[fmt], index=False)
        del frame
        for fmt, path in files.items():
            for config in args.configs:
                m = run_child(path, config, args.budget, str(Path(tmp) / f"runs_{config}"), args.refit)
                rows.append({
                    "input": f"{fmt} ({path.stat().st_size / 2**20:.0f} MiB)", "families": config, "refit": args.refit,
                    "frame MiB": round(m["frame_mb"]), "read s": round(m["read_s"], 1),
                    "read peak x": round(m["read_peak_mb"] / m["frame_mb"], 2),
                    "fit peak MiB": round(m["fit_peak_mb"]), "fit peak x": round(m["fit_peak_mb"] / m["frame_mb"], 2),
                    "fit s": round(m["fit_s"], 1), "best": m["best"],
                })
                print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
