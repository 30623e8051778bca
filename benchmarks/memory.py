"""Peak memory of ``automl.fit`` relative to the size of the frame it is given.

Writes a generated 1,000,000 x 50 frame (48 float64 columns, 2 categorical
string columns, a binary target) to Parquet and CSV once, then runs each
configuration in a fresh subprocess that reads the file with ``automl``'s own
reader (pyarrow) and fits on it. The peak resident set size (the kernel's
``VmHWM``, what ``/usr/bin/time -v`` reports as "Maximum resident set size")
is reset after the imports and read at each stage::

    python benchmarks/memory.py                          # 1M x 50: every default family alone, then `default`
    python benchmarks/memory.py --rows 200000 --configs linear
    python benchmarks/memory.py --configs families --budget 40   # the classic and boosting families, one by one
    python benchmarks/memory.py --budget 60 --attempt-refit      # a shared machine: measure refits all the same

Columns
-------
frame MiB        ``DataFrame.memory_usage(deep=True)`` of the frame read
read peak x      peak RSS while reading the file, above the imports, / frame size
fit peak x       peak RSS during ``fit`` (frame included), above the imports, / frame size
fit s            wall time of ``fit``
peak x by stage  fit peak x of ``prepare``, of each family's search, of ``after`` (between and after the
                 families: scoring, ensemble, refit) and of ``decide`` (calibration, threshold), measured
                 through a progress callback that resets the peak as each stage begins; a stage's peak
                 includes the frame, the prepared matrix and the models kept from earlier stages
best             leaderboard's best model and its test score
refit models     the models refit on every labelled row, or why none was (not enough time left)

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
# on a shared machine spinning OpenMP threads make boosting fits many times slower (see docs/performance.md)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

CONFIGS = {
    "linear": ["linear"],
    "random_forest": ["random_forest"],
    "gradient_boosting": ["gradient_boosting"],
    "lightgbm": ["lightgbm"],
    "xgboost": ["xgboost"],
    "catboost": ["catboost"],
    "neural_network": ["neural_network"],
    "default": None,  # automl's default families, their ensemble and the refit
}
# Names that stand for several configurations on the command line.
GROUPS = {
    "all": list(CONFIGS),
    "families": ["linear", "random_forest", "gradient_boosting", "lightgbm", "xgboost", "catboost"],
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


class StagePeaks:
    """A progress listener that records the peak RSS of each stage of ``fit`` (MiB above ``baseline``).

    Stages: ``prepare`` (splits and the prepared matrix), each family's search (``on_family_begin`` to
    ``on_family_end``), ``after`` (scoring, the ensemble and the refit, to ``on_refit_end``) and ``decide``
    (calibration and threshold, to ``on_fit_end``).
    """

    def __init__(self, baseline: float):
        self.baseline = baseline
        self.peaks: dict[str, float] = {}
        self.stage = "prepare"

    def _close(self, next_stage: str | None) -> None:
        if self.stage is not None:
            self.peaks[self.stage] = max(self.peaks.get(self.stage, 0.0), _status("VmHWM") - self.baseline)
        self.stage = next_stage
        _reset_peak()

    def on_family_begin(self, family, seconds):  # noqa: D102
        self._close(family)

    def on_family_end(self, family, n_candidates):  # noqa: D102
        self._close("after")

    def on_refit_end(self, info):  # noqa: D102
        self._close("decide")

    def on_fit_end(self, leaderboard):  # noqa: D102
        if self.stage is not None:
            self._close(None)


def child(path: str, families: list[str] | None, budget: float, directory: str, refit: bool = True,
          max_configs: int | None = None, attempt_refit: bool = False) -> dict:
    """Read ``path`` and fit on it; return the memory figures in MiB."""
    import automl
    from automl.data import read_table
    from automl.models import get_family

    if attempt_refit:
        # try every refit whatever its estimated time: its peak (the library's copy or bins of every row) comes
        # before its first round, so a refit stopped at the deadline (and dropped) still shows it
        import automl.api

        class Eager:
            """A family whose refits always look affordable."""

            def __init__(self, family):
                self._family = family

            def __getattr__(self, name):
                return getattr(self._family, name)

            def refit_seconds(self, candidate, row_ratio):
                return float("-inf")

        refit_best = automl.api.refit_best
        automl.api.refit_best = lambda best, models, families, *args, **kwargs: refit_best(
            best, models, {name: Eager(f) for name, f in families.items()}, *args, **kwargs)
    if families is not None and max_configs:
        # a few configurations only: leaves time for the refit on a slow or shared machine
        families = [get_family(name, max_configs=max_configs) if name != "neural_network" else name
                    for name in families]

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
    stages = StagePeaks(baseline)
    started = time.monotonic()
    result = automl.fit(frame, "target", families=families, time_budget=budget, verbose=0, max_memory_mb=None,
                        refit=refit, network={"directory": directory, "overwrite": True}, callbacks=[stages])
    fit_s = time.monotonic() - started
    if stages.stage is not None:
        stages._close(None)
    fit_peak = max([_status("VmHWM") - baseline, *stages.peaks.values()])
    best = result.leaderboard.iloc[0]
    return {"baseline_mb": baseline, "frame_mb": frame_mb, "read_s": read_s, "read_peak_mb": read_peak,
            "after_read_mb": after_read, "fit_peak_mb": fit_peak, "fit_s": fit_s, "stages_mb": stages.peaks,
            "best": f"{best['model']} {best['test_score']:.4f}", "rows_used": result.info["train_rows_used"],
            "refit": ",".join(result.info["refit"].get("models", [])) or "; ".join(
                f"{k}: {v}" for k, v in result.info["refit"].get("skipped", {}).items())}


def run_child(path: Path, config: str, budget: float, directory: str, refit: bool = True,
              max_configs: int | None = None, attempt_refit: bool = False) -> dict:
    """One configuration in a fresh interpreter (peaks of earlier runs must not count)."""
    families = CONFIGS[config]
    command = [sys.executable, __file__, "--child", str(path), "--budget", str(budget), "--directory", directory,
               "--families", json.dumps(families)] + ([] if refit else ["--no-refit"]) + (
                   ["--max-configs", str(max_configs)] if max_configs else []) + (
                   ["--attempt-refit"] if attempt_refit else [])
    out = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"{config} failed (rc {out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(lines[-1])


def markdown(table: pd.DataFrame) -> str:
    """``table`` as a Markdown table (for docs/performance.md) without the optional ``tabulate`` package."""
    lines = ["| " + " | ".join(map(str, table.columns)) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)


def main(argv=None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--columns", type=int, default=50)
    parser.add_argument("--budget", type=float, default=60.0, help="time_budget of each fit")
    parser.add_argument("--configs", nargs="+", default=["all"], choices=list(CONFIGS) + list(GROUPS),
                        help="families to fit, one fresh process each: a family name, `default` (every default "
                             "family, the ensemble and the refit), `families` (the classic and boosting families) "
                             "or `all` (each family, then `default`)")
    parser.add_argument("--formats", nargs="+", default=["parquet"], choices=["parquet", "csv"])
    parser.add_argument("--no-refit", dest="refit", action="store_false",
                        help="fit with refit=False (the refit of the best model on every row is part of the peak)")
    parser.add_argument("--max-configs", type=int, default=None,
                        help="configurations each classic or boosting family tries (default: its own); 1 or 2 leave "
                             "time for the refit, whose peak is the one to measure, on a slow or shared machine")
    parser.add_argument("--attempt-refit", action="store_true",
                        help="start every refit even when its estimated time exceeds what is left (a slow or shared "
                             "machine): its memory peak comes before its first round, so it is measured even when "
                             "the refit is then stopped at the deadline and dropped")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--families", default="null", help=argparse.SUPPRESS)
    parser.add_argument("--directory", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    configs = list(dict.fromkeys(c for name in args.configs for c in GROUPS.get(name, [name])))

    if args.child:
        print(json.dumps(child(args.child, json.loads(args.families), args.budget, args.directory, args.refit,
                               args.max_configs, args.attempt_refit)))
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
            for config in configs:
                try:
                    m = run_child(path, config, args.budget, str(Path(tmp) / f"runs_{config}"), args.refit,
                                  args.max_configs, args.attempt_refit)
                except RuntimeError as exc:  # e.g. an optional library not installed: report it, measure the rest
                    print(f"{config}: {exc}", flush=True)
                    continue
                stages = ", ".join(f"{k} {v / m['frame_mb']:.2f}" for k, v in m["stages_mb"].items())
                rows.append({
                    "input": f"{fmt} ({path.stat().st_size / 2**20:.0f} MiB)", "families": config,
                    "configs": args.max_configs or "all",
                    "refit": ("attempted" if args.attempt_refit else True) if args.refit else False,
                    "frame MiB": round(m["frame_mb"]), "read s": round(m["read_s"], 1),
                    "read peak x": round(m["read_peak_mb"] / m["frame_mb"], 2),
                    "fit peak MiB": round(m["fit_peak_mb"]), "fit peak x": round(m["fit_peak_mb"] / m["frame_mb"], 2),
                    "fit s": round(m["fit_s"], 1), "best": m["best"], "refit models": m["refit"] or "-",
                    "peak x by stage": stages,
                })
                print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 250, "display.max_columns", 20, "display.max_colwidth", 200):
        print(table.to_string(index=False))
    if len(table):
        print()
        print(markdown(table))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
