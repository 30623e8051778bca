"""automl against FLAML at equal time budgets, on the same rows.

For each data set and budget, both tools get the same training rows (automl
makes its own validation split inside them; FLAML does its own holdout or
cross-validation) and the same ``time_budget``; both are scored on the same
held-out test rows with the same metric (accuracy for classification, R² for
regression), and both are told to optimise that metric.

Usage::

    pip install -e .[bench]                          # FLAML with LightGBM and XGBoost
    python benchmarks/vs_peers.py                    # every data set, budgets 30 s and 120 s
    python benchmarks/vs_peers.py --budgets 30 --datasets breast_cancer churn_20k
    python benchmarks/vs_peers.py --quick            # smoke run: small sets, 8 s budget

Results go to ``benchmarks/results/<name>.csv`` and ``.md`` (``vs_peers`` by
default, ``vs_peers_quick`` for ``--quick``), rewritten after every data set
so that an interrupted run keeps what it measured.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# OpenMP threads that spin while waiting collapse when the cores are shared (HistGradientBoosting and
# LightGBM ran 10x slower on a loaded 2-core machine); passive waiting keeps both tools' timings sane.
# It must be set before scikit-learn, LightGBM or XGBoost load the OpenMP runtime.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parent.parent / ".numba_cache"))

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parent))
import datasets as bench_data  # noqa: E402  (benchmarks/datasets.py, not automl.datasets)

RESULTS = Path(__file__).resolve().parent / "results"
# Score differences smaller than this count as a tie (floating-point noise, not a model difference).
TIE = 1e-4
COLUMNS = ["budget_s", "dataset", "rows", "columns", "task", "metric", "automl", "flaml", "diff",
           "automl_s", "flaml_s", "automl_model", "flaml_model", "load_avg"]


def split(frame: pd.DataFrame, target: str, task: str, seed: int, test_size: float = 0.25):
    """One train/test split shared by both tools (stratified for classification)."""
    stratify = frame[target] if task != "regression" else None
    return train_test_split(frame, test_size=test_size, random_state=seed, stratify=stratify)


def score(task: str, y_true, y_pred) -> float:
    """Accuracy for classification, R² for regression."""
    if task == "regression":
        return float(r2_score(np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)))
    return float(accuracy_score(np.asarray(y_true).astype(str), np.asarray(y_pred).astype(str)))


def run_automl(train, test, target, task, budget, seed, families, test_size=None):
    """Fit automl on ``train``; test score, wall seconds and the chosen model.

    ``test_size`` is automl's own held-out share inside ``train`` (its default when None): rows it
    keeps for the leaderboard's test column and never trains on.
    """
    import automl

    extra = {} if test_size is None else {"test_size": test_size}
    started = time.perf_counter()
    result = automl.fit(train, target, task=task, time_budget=budget, seed=seed, verbose=0,
                        families=families, **extra)
    seconds = time.perf_counter() - started
    pred = result.predict(test.drop(columns=[target]))
    return score(task, test[target], pred), seconds, result.best_model_name


def run_flaml(train, test, target, task, budget, seed):
    """Fit FLAML's AutoML on ``train`` (raw frame: it encodes categoricals itself)."""
    from flaml import AutoML

    X, y = train.drop(columns=[target]), train[target]
    model = AutoML()
    started = time.perf_counter()
    model.fit(X, y, task="regression" if task == "regression" else "classification",
              metric="r2" if task == "regression" else "accuracy",
              time_budget=budget, estimator_list="auto", verbose=0, seed=seed)
    seconds = time.perf_counter() - started
    pred = model.predict(test.drop(columns=[target]))
    return score(task, test[target], pred), seconds, str(model.best_estimator)


def _for_flaml(frame: pd.DataFrame) -> pd.DataFrame:
    # FLAML treats object and category columns as categorical; pandas 3's "str" dtype is neither, so
    # hand it the classic object dtype (same values, no encoding done for it).
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_string_dtype(out[column]) and not isinstance(out[column].dtype, pd.CategoricalDtype):
            out[column] = out[column].astype(object)
    return out


def summary(rows: pd.DataFrame) -> str:
    """One line per budget: how often automl is ahead, tied, behind."""
    lines = []
    for budget, part in rows.groupby("budget_s", sort=True):
        done = part.dropna(subset=["diff"])
        ahead = int((done["diff"] > TIE).sum())
        tied = int((done["diff"].abs() <= TIE).sum())
        behind = int((done["diff"] < -TIE).sum())
        lines.append(f"budget {budget:g} s: automl ahead on {ahead}, tied on {tied}, behind on {behind} "
                     f"of {len(done)} data sets (ahead or tied: {ahead + tied}/{len(done)}); "
                     f"mean difference {done['diff'].mean():+.4f}")
    return "\n".join(lines)


def markdown(rows: pd.DataFrame, header: str) -> str:
    """The results as Markdown tables, one per budget."""
    out = [header, ""]
    for budget, part in rows.groupby("budget_s", sort=True):
        out += [f"### Budget {budget:g} s", "",
                "| data set | rows | task | metric | automl | FLAML | diff | automl s | FLAML s | automl model "
                "| FLAML model |",
                "|---|---:|---|---|---:|---:|---:|---:|---:|---|---|"]
        for r in part.itertuples():
            def fmt(v, spec=".4f"):
                return "failed" if pd.isna(v) else format(v, spec)
            out.append(f"| {r.dataset} | {r.rows:,} | {r.task} | {r.metric} | {fmt(r.automl)} | {fmt(r.flaml)} "
                       f"| {fmt(r.diff, '+.4f')} | {fmt(r.automl_s, '.1f')} | {fmt(r.flaml_s, '.1f')} "
                       f"| {r.automl_model} | {r.flaml_model} |")
        out.append("")
    out += ["```", summary(rows), "```", ""]
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", choices=list(bench_data.DATASETS), help="default: all")
    parser.add_argument("--budgets", nargs="+", type=float, default=[30.0, 120.0], help="seconds (default 30 120)")
    parser.add_argument("--quick", action="store_true", help="smoke run: small data sets, an 8 s budget")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--families", nargs="+", help="automl families (default: the library's default)")
    parser.add_argument("--test-size", type=float,
                        help="automl's internal test share of the training rows (default: the library's, 'auto')")
    parser.add_argument("--name", help="file stem under benchmarks/results (default vs_peers[_quick])")
    parser.add_argument("--skip-flaml", action="store_true", help="automl only (while iterating on automl)")
    args = parser.parse_args(argv)
    names = args.datasets or (bench_data.QUICK if args.quick else list(bench_data.DATASETS))
    budgets = [8.0] if args.quick and args.budgets == [30.0, 120.0] else args.budgets
    stem = args.name or ("vs_peers_quick" if args.quick else "vs_peers")
    RESULTS.mkdir(parents=True, exist_ok=True)
    cores = os.cpu_count() or 1
    header = (f"automl vs FLAML, seed {args.seed}, {platform.processor() or platform.machine()} with {cores} cores, "
              f"Python {platform.python_version()}; automl families: {args.families or 'default'}, "
              f"automl test_size: {args.test_size or 'default (auto)'}")
    print(header, flush=True)

    rows = []
    for budget in budgets:
        for name in names:
            frame, target, task = bench_data.load(name)
            train, test = split(frame, target, task, args.seed)
            metric = "r2" if task == "regression" else "accuracy"
            row = {"budget_s": budget, "dataset": name, "rows": len(frame), "columns": frame.shape[1] - 1,
                   "task": task, "metric": metric}
            load_before = os.getloadavg()[0]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    row["automl"], row["automl_s"], row["automl_model"] = run_automl(
                        train, test, target, task, budget, args.seed, args.families, args.test_size)
                except Exception as exc:  # a failure is a result too: keep going, show it in the table
                    row["automl"], row["automl_s"], row["automl_model"] = np.nan, np.nan, f"error: {exc!r:.80}"
                if args.skip_flaml:
                    row["flaml"], row["flaml_s"], row["flaml_model"] = np.nan, np.nan, "skipped"
                else:
                    try:
                        row["flaml"], row["flaml_s"], row["flaml_model"] = run_flaml(
                            _for_flaml(train), _for_flaml(test), target, task, budget, args.seed)
                    except Exception as exc:
                        row["flaml"], row["flaml_s"], row["flaml_model"] = np.nan, np.nan, f"error: {exc!r:.80}"
            row["diff"] = row["automl"] - row["flaml"]
            row["load_avg"] = round(max(load_before, os.getloadavg()[0]), 2)
            rows.append(row)
            print(f"[{budget:g} s] {name:<14} automl {row['automl']:.4f} ({row['automl_s']:.1f} s, "
                  f"{row['automl_model']})  flaml {row['flaml']:.4f} ({row['flaml_s']:.1f} s, {row['flaml_model']})"
                  f"  diff {row['diff']:+.4f}  load {row['load_avg']}", flush=True)
            table = pd.DataFrame(rows, columns=COLUMNS)
            table.to_csv(RESULTS / f"{stem}.csv", index=False)
            note = ""
            if table["load_avg"].max() > cores:
                note = (f"\n\nNote: the machine was shared during this run (load average up to "
                        f"{table['load_avg'].max():.1f} on {cores} cores); wall times and budget use are noisy.")
            (RESULTS / f"{stem}.md").write_text(markdown(table, header + note))
    table = pd.DataFrame(rows, columns=COLUMNS)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.drop(columns=["columns"]).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(summary(table))
    print(f"written: {RESULTS / (stem + '.csv')}, {RESULTS / (stem + '.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
