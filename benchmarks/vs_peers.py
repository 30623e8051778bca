"""automl against FLAML and AutoGluon at equal time budgets, on the same rows, with the same metric.

For each table and budget, every tool gets the same 75 % of the rows (stratified for
classification; automl and the peers make their own validation splits inside them), the same
``time_budget`` and is told to optimise the table's metric (ROC AUC for rare positives, accuracy,
R²); all are scored on the same held-out 25 % by the same function (:func:`score`).

- automl: ``automl.fit(train, target, metric=..., time_budget=budget, seed=seed, verbose=0)``.
- FLAML: ``AutoML().fit(X, y, metric=..., time_budget=budget, estimator_list="auto")`` in this process.
- AutoGluon 1.6: ``TabularPredictor(eval_metric=...).fit(train, time_limit=budget)`` (default preset)
  in its own virtualenv (``benchmarks/.venv-autogluon``, made by ``benchmarks/setup_autogluon.sh`` on
  first use: AutoGluon pins pandas < 2.4, automl needs pandas 3). The split goes to it as Parquet
  files and ``benchmarks/run_autogluon.py`` writes labels and probabilities back.

The tools run one after the other, never together, each with every core of the machine (FLAML
``n_jobs=-1``, AutoGluon ``num_cpus=os.cpu_count()``, automl its default), so none is starved.
A tool's seconds are those of its fit call; imports are counted for none of them (AutoGluon imports
before its fit call in its own process; the libraries automl and FLAML load lazily are imported
before the first table).

Usage::

    pip install -e .[bench]                                  # FLAML, LightGBM, XGBoost, the tables
    bash benchmarks/setup_autogluon.sh                       # optional: vs_peers.py runs it on first use
    python benchmarks/vs_peers.py                            # the 12 report tables, 30 s and 120 s
    python benchmarks/vs_peers.py --tables tuning --budgets 30
    python benchmarks/vs_peers.py --tables diamonds hpc_jobs --peers flaml
    python benchmarks/vs_peers.py --quick                    # smoke run: 2 small tables, 10 s

Results go to ``benchmarks/results/<name>_<budget>s.csv`` and ``.md`` (``vs_peers`` by default,
``vs_peers_quick`` for ``--quick``), rewritten after every table so that an interrupted run keeps
what it measured. Each budget's summary says on how many tables automl is ahead of, tied with
(within 0.005) or behind each peer, and the mean difference; the ``in_budget`` column checks that
automl's fit took at most the budget + 10 %, and when several budgets are run, ``vs_shorter``
checks that a longer budget never made automl worse on a table.
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
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# OpenMP threads that spin while waiting collapse when the cores are shared (HistGradientBoosting and
# LightGBM ran 10x slower on a loaded 2-core machine); passive waiting keeps every tool's timings sane.
# It must be set before scikit-learn, LightGBM or XGBoost load the OpenMP runtime (and it is
# inherited by AutoGluon's subprocess).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parent.parent / ".numba_cache"))

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score
from sklearn.model_selection import train_test_split

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import datasets as bench_data  # noqa: E402  (benchmarks/datasets.py, not automl.datasets)

RESULTS = HERE / "results"
AUTOGLUON_VENV = HERE / ".venv-autogluon"
PEERS = ("flaml", "autogluon")
PEER_NAMES = {"flaml": "FLAML", "autogluon": "AutoGluon"}
# Score differences within this band count as a tie (issue 12's band: split and timing noise, not a
# model difference).
TIE = 0.005
# automl may overrun the budget by this share at most.
BUDGET_SLACK = 0.10
# A longer budget "made automl worse" when its score dropped by more than floating-point noise.
WORSE = 1e-4
TEST_SHARE = 0.25


def columns(peers) -> list[str]:
    out = ["budget_s", "table", "rows", "columns", "task", "metric", "automl"]
    out += list(peers)
    out += [f"diff_{p}" for p in peers]
    out += ["automl_s"] + [f"{p}_s" for p in peers]
    out += ["in_budget", "vs_shorter", "automl_model"] + [f"{p}_model" for p in peers] + ["load_avg", "seed"]
    return out


def split(frame: pd.DataFrame, target: str, task: str, seed: int, test_size: float = TEST_SHARE):
    """One train/test split shared by every tool (stratified for classification)."""
    stratify = frame[target] if task != "regression" else None
    return train_test_split(frame, test_size=test_size, random_state=seed, stratify=stratify)


def score(metric: str, y_true, pred, proba: pd.DataFrame | None = None) -> float:
    """The table's metric on the test rows, the same function for every tool.

    Parameters
    ----------
    metric : {'accuracy', 'roc_auc', 'r2'}
    y_true : array-like
        True labels or values.
    pred : array-like
        Predicted labels or values.
    proba : DataFrame, optional
        Class probabilities, one column per class named by the class label as a string
        (needed for ``roc_auc``).
    """
    if metric == "r2":
        return float(r2_score(np.asarray(y_true, dtype=float), np.asarray(pred, dtype=float)))
    labels = np.asarray(y_true).astype(str)
    if metric == "accuracy":
        return float(accuracy_score(labels, np.asarray(pred).astype(str)))
    if metric == "roc_auc":
        if proba is None:
            raise ValueError("roc_auc needs class probabilities")
        classes = sorted(set(labels))
        if len(classes) != 2:
            raise ValueError(f"roc_auc is scored for binary tables; this one has {len(classes)} classes")
        # AUC(positive=a, P(a)) equals AUC(positive=b, P(b)): any fixed class will do.
        positive = classes[1]
        return float(roc_auc_score(labels == positive, proba[positive].to_numpy(dtype=float)))
    raise ValueError(f"metric {metric!r} is not scored by the benchmark; use accuracy, roc_auc or r2")


def _proba_frame(values, classes) -> pd.DataFrame:
    return pd.DataFrame(np.asarray(values, dtype=float), columns=[str(c) for c in classes])


def run_automl(train, test, target, task, metric, budget, seed, families=None, test_size=None):
    """Fit automl on ``train``; predictions on ``test``, fit seconds and the chosen model."""
    import automl

    extra = {} if test_size is None else {"test_size": test_size}
    if families:
        extra["families"] = families
    started = time.perf_counter()
    result = automl.fit(train, target, task=task, metric=metric, time_budget=budget, seed=seed, verbose=0,
                        **extra)
    seconds = time.perf_counter() - started
    X = test.drop(columns=[target])
    pred = result.predict(X)
    proba = None
    if metric == "roc_auc":
        raw = result.predict_proba(X)
        proba = _proba_frame(raw.to_numpy(), raw.columns)
    return pred, proba, seconds, result.best_model_name


def _for_flaml(frame: pd.DataFrame) -> pd.DataFrame:
    # FLAML treats object and category columns as categorical; pandas 3's "str" dtype is neither, so
    # hand it the classic object dtype (same values, no encoding done for it).
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_string_dtype(out[column]) and not isinstance(out[column].dtype, pd.CategoricalDtype):
            out[column] = out[column].astype(object)
    return out


def run_flaml(train, test, target, task, metric, budget, seed):
    """Fit FLAML's AutoML on ``train`` (raw frame: it encodes categoricals itself)."""
    from flaml import AutoML

    train, test = _for_flaml(train), _for_flaml(test)
    X, y = train.drop(columns=[target]), train[target]
    model = AutoML()
    started = time.perf_counter()
    model.fit(X, y, task="regression" if task == "regression" else "classification", metric=metric,
              time_budget=budget, estimator_list="auto", n_jobs=-1, verbose=0, seed=seed)
    seconds = time.perf_counter() - started
    X_test = test.drop(columns=[target])
    pred = model.predict(X_test)
    proba = _proba_frame(model.predict_proba(X_test), model.classes_) if metric == "roc_auc" else None
    return pred, proba, seconds, str(model.best_estimator)


def _boosting_versions() -> str:
    # FLAML's "auto" estimator list uses whichever boosting libraries are importable: say which.
    from importlib import metadata

    found = []
    for dist in ("lightgbm", "xgboost", "xgboost-cpu", "catboost"):
        try:
            found.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            pass
    return ", ".join(found) or "no boosting library"


def autogluon_python(setup: bool = True) -> Path:
    """The interpreter of AutoGluon's virtualenv, created on first use when ``setup``.

    ``AUTOGLUON_PYTHON`` points at another interpreter that has ``autogluon.tabular``.
    """
    if os.environ.get("AUTOGLUON_PYTHON"):
        return Path(os.environ["AUTOGLUON_PYTHON"])
    python = AUTOGLUON_VENV / "bin" / "python"
    if (AUTOGLUON_VENV / ".installed").exists():
        return python
    if not setup:
        raise RuntimeError(f"no AutoGluon venv at {AUTOGLUON_VENV}: run bash benchmarks/setup_autogluon.sh")
    print(f"setting up AutoGluon's venv in {AUTOGLUON_VENV} (first use, several minutes)...", flush=True)
    subprocess.run(["bash", str(HERE / "setup_autogluon.sh")], check=True)
    return python


def run_autogluon(train, test, target, task, metric, budget, seed, python: Path):
    """Fit AutoGluon's default preset in its own venv through files; predictions come back the same way."""
    with tempfile.TemporaryDirectory(prefix="vs_peers_ag_") as tmp:
        tmp = Path(tmp)
        # Parquet keeps dtypes and missing values across the two pandas versions.
        train.to_parquet(tmp / "train.parquet", index=False)
        test.drop(columns=[target]).to_parquet(tmp / "test.parquet", index=False)
        command = [str(python), str(HERE / "run_autogluon.py"), "--train", str(tmp / "train.parquet"),
                   "--test", str(tmp / "test.parquet"), "--target", target, "--task", task, "--metric", metric,
                   "--time-limit", str(budget), "--out", str(tmp / "out"), "--cpus", str(os.cpu_count() or 1),
                   "--seed", str(seed)]
        # Generous: AutoGluon's imports and predictions come on top of time_limit; a hang still ends.
        done = subprocess.run(command, capture_output=True, text=True, timeout=3 * budget + 600)
        # Files, not the exit code, say whether it worked: pyarrow can abort at interpreter exit
        # ("terminate called without an active exception") after everything was written.
        if not (tmp / "out" / "meta.json").exists():
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise RuntimeError(f"run_autogluon.py exited {done.returncode}: {tail[0][:200]}")
        frame = pd.read_parquet(tmp / "out" / "predictions.parquet")
        meta = json.loads((tmp / "out" / "meta.json").read_text())
    proba = None
    if metric == "roc_auc":
        cols = [c for c in frame.columns if c.startswith("proba::")]
        proba = _proba_frame(frame[cols].to_numpy(), [c[len("proba::"):] for c in cols])
    return frame["pred"].to_numpy(), proba, float(meta["fit_s"]), meta["best_model"]


def _fmt(value, spec=".4f") -> str:
    if isinstance(value, str):
        return value
    return "—" if value is None or pd.isna(value) else format(value, spec)


def summary(rows: pd.DataFrame, peers) -> str:
    """One line per budget and peer: ahead / tied / behind within the tie band, mean difference; budget use."""
    lines = []
    for budget, part in rows.groupby("budget_s", sort=True):
        for peer in peers:
            done = part.dropna(subset=[f"diff_{peer}"])
            diff = done[f"diff_{peer}"]
            ahead, tied, behind = int((diff > TIE).sum()), int((diff.abs() <= TIE).sum()), int((diff < -TIE).sum())
            share = f"{(ahead + tied) / len(done):.0%}" if len(done) else "n/a"
            lines.append(f"budget {budget:g} s vs {PEER_NAMES[peer]}: automl ahead on {ahead}, tied on {tied} "
                         f"(within {TIE}), behind on {behind} of {len(done)} tables (ahead or tied {ahead + tied}/"
                         f"{len(done)} = {share}); mean difference {diff.mean() if len(done) else float('nan'):+.4f}")
        fitted = part.dropna(subset=["automl_s"])
        within = int(fitted["in_budget"].astype(bool).sum())
        lines.append(f"budget {budget:g} s: automl fit within budget +{BUDGET_SLACK:.0%} on {within}/{len(fitted)} "
                     f"tables (slowest {fitted['automl_s'].max() if len(fitted) else float('nan'):.1f} s)")
        checked = part.dropna(subset=["vs_shorter"])
        if len(checked):
            worse = checked.loc[checked["vs_shorter"] < -WORSE]
            lines.append(f"budget {budget:g} s: longer budget made automl worse on {len(worse)}/{len(checked)} tables"
                         + (": " + ", ".join(f"{r.table} {r.vs_shorter:+.4f}" for r in worse.itertuples())
                            if len(worse) else ""))
    return "\n".join(lines)


def markdown(part: pd.DataFrame, header: str, peers) -> str:
    """One budget's results as a Markdown table plus the summary lines."""
    budget = part["budget_s"].iloc[0]
    names = [PEER_NAMES[p] for p in peers]
    head = (["table", "rows", "task", "metric", "automl"] + names + [f"Δ {n}" for n in names]
            + ["automl s"] + [f"{n} s" for n in names] + ["in budget", "vs shorter", "automl model"]
            + [f"{n} model" for n in names])
    align = ["---", "---:", "---", "---"] + ["---:"] * (1 + 3 * len(peers) + 1) + ["---", "---:", "---"] + \
        ["---"] * len(peers)
    out = [header, "", f"### Budget {budget:g} s", "", "| " + " | ".join(head) + " |", "|" + "|".join(align) + "|"]
    for r in part.to_dict("records"):
        cells = [r["table"], f"{r['rows']:,}", r["task"], r["metric"], _fmt(r["automl"])]
        cells += [_fmt(r[p]) for p in peers] + [_fmt(r[f"diff_{p}"], "+.4f") for p in peers]
        cells += [_fmt(r["automl_s"], ".1f")] + [_fmt(r[f"{p}_s"], ".1f") for p in peers]
        cells += ["—" if pd.isna(r["automl_s"]) else ("yes" if r["in_budget"] else "**no**"),
                  _fmt(r["vs_shorter"], "+.4f"), str(r["automl_model"])]
        cells += [str(r[f"{p}_model"]) for p in peers]
        out.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    out += ["", "```", summary(part, peers), "```", ""]
    return "\n".join(out)


# Libraries automl (and FLAML) import lazily inside their first fit.
_HEAVY = ("tensorflow", "keras", "keras_tuner", "lightgbm", "xgboost", "catboost")


def warm_up() -> None:
    """Import the heavy libraries before any timed fit.

    AutoGluon's imports happen before its timed fit call in its own process; importing automl's
    lazily loaded libraries up front gives automl (and FLAML) the same footing, so the first table
    of a run does not pay 5-10 s of imports that later tables do not.
    """
    import importlib

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for module in _HEAVY:
            try:
                importlib.import_module(module)
            except Exception:  # not installed, or fails to load: the fit will say so itself
                pass


def _stored_peers(paths, seed: int) -> dict:
    """``(table, budget, peer) -> (score, seconds, model)`` from earlier results CSVs of the same seed."""
    found = {}
    for path in paths:
        frame = pd.read_csv(path)
        if "seed" in frame.columns:
            frame = frame[frame["seed"] == seed]
        for r in frame.to_dict("records"):
            for peer in PEERS:
                if peer in r and not pd.isna(r[peer]):
                    model = str(r[f"{peer}_model"]).split(" (from ")[0]  # a reused score names its first run
                    found[(r["table"], float(r["budget_s"]), peer)] = (r[peer], r[f"{peer}_s"],
                                                                      f"{model} (from {path.name})")
    return found


def _tool(fn, metric, y_true):
    """Run one tool; a failure is a result too (NaN score, the error in the model column)."""
    try:
        pred, proba, seconds, model = fn()
        return score(metric, y_true, pred, proba), seconds, model
    except Exception as exc:  # keep going: the table shows what failed
        return np.nan, np.nan, f"error: {type(exc).__name__}: {str(exc)[:120]}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", "--datasets", nargs="+", default=None,
                        help="table names or groups: report (default), tuning, legacy, quick, all")
    parser.add_argument("--budgets", nargs="+", type=float, default=None, help="seconds (default 30 120)")
    parser.add_argument("--peers", nargs="*", choices=list(PEERS), default=None,
                        help="peers to compare with (default: flaml autogluon; none: automl only)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 small tables, a 10 s budget")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--families", nargs="+", help="automl families (default: the library's default)")
    parser.add_argument("--test-size", type=float,
                        help="automl's internal test share of the training rows (default: the library's, 'auto')")
    parser.add_argument("--name", help="file stem under benchmarks/results (default vs_peers[_quick])")
    parser.add_argument("--skip-flaml", action="store_true", help="same as leaving flaml out of --peers")
    parser.add_argument("--no-setup", action="store_true", help="do not create AutoGluon's venv when missing")
    parser.add_argument("--skip-automl", action="store_true",
                        help="measure the peers only (to be reused with --peers-from)")
    parser.add_argument("--peers-from", type=Path, action="append", default=[],
                        help="results CSV of an earlier run (same seed and split): take each peer's score, seconds "
                             "and model for a table and budget from it instead of fitting the peer again")
    args = parser.parse_args(argv)
    stored = _stored_peers(args.peers_from, args.seed)

    try:
        names = bench_data.resolve(args.tables or (["quick"] if args.quick else ["report"]))
    except KeyError as exc:
        parser.error(str(exc))
    # Shortest first, so that each longer budget can be checked against the one before it.
    budgets = sorted(set(args.budgets or ([10.0] if args.quick else [30.0, 120.0])))
    peers = [p for p in (PEERS if args.peers is None else args.peers) if not (args.skip_flaml and p == "flaml")]
    stem = args.name or ("vs_peers_quick" if args.quick else "vs_peers")
    RESULTS.mkdir(parents=True, exist_ok=True)
    cores = os.cpu_count() or 1

    ag_python, ag_note = None, ""
    if "autogluon" in peers:
        try:
            ag_python = autogluon_python(setup=not args.no_setup)
            version = subprocess.run([str(ag_python), "-c", "import autogluon.tabular as t; print(t.__version__)"],
                                     capture_output=True, text=True, timeout=300)
            ag_note = f"AutoGluon {version.stdout.strip() or '?'} (default preset, own venv)"
        except Exception as exc:
            ag_note = f"AutoGluon unavailable: {exc}"
            print(ag_note, flush=True)
    flaml_note = ""
    if "flaml" in peers:
        try:
            import flaml
            flaml_note = f"FLAML {flaml.__version__} ({_boosting_versions()})"
        except ImportError:
            flaml_note = "FLAML not installed (pip install -e .[bench])"
    import automl
    warm_up()
    versus = ", ".join(filter(None, [flaml_note, ag_note])) or "no peer"
    header = (f"automl {getattr(automl, '__version__', '?')} vs {versus}; "
              f"seed {args.seed}, 75/25 split, {platform.processor() or platform.machine()} with {cores} cores "
              f"(each tool alone, all cores), Python {platform.python_version()}; automl families: "
              f"{args.families or 'default'}")
    print(header, flush=True)

    rows: list[dict] = []
    cols = columns(peers)
    frames: dict[str, tuple] = {}
    for budget in budgets:
        for name in names:
            if name not in frames:
                try:
                    frames[name] = bench_data.load(name)
                except bench_data.TableUnavailable as exc:
                    frames[name] = exc
            if isinstance(frames[name], Exception):
                print(f"[{budget:g} s] {name:<18} skipped: {frames[name]}", flush=True)
                continue
            frame, target, task, metric = frames[name]
            train, test = split(frame, target, task, args.seed)
            y_true = test[target]
            row = {"budget_s": budget, "table": name, "rows": len(frame), "columns": frame.shape[1] - 1,
                   "task": task, "metric": metric}
            load_before = os.getloadavg()[0]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if args.skip_automl:
                    row["automl"], row["automl_s"], row["automl_model"] = np.nan, np.nan, "not run"
                else:
                    row["automl"], row["automl_s"], row["automl_model"] = _tool(
                        lambda: run_automl(train, test, target, task, metric, budget, args.seed, args.families,
                                           args.test_size), metric, y_true)
                for peer in peers:
                    earlier = stored.get((name, float(budget), peer))
                    if earlier is not None:
                        row[peer], row[f"{peer}_s"], row[f"{peer}_model"] = earlier
                        continue
                    if peer == "flaml":
                        fn = lambda: run_flaml(train, test, target, task, metric, budget, args.seed)  # noqa: E731
                    elif ag_python is None:
                        row[peer], row[f"{peer}_s"], row[f"{peer}_model"] = np.nan, np.nan, ag_note[:120]
                        continue
                    else:
                        fn = lambda: run_autogluon(train, test, target, task, metric, budget, args.seed,  # noqa: E731
                                                   ag_python)
                    row[peer], row[f"{peer}_s"], row[f"{peer}_model"] = _tool(fn, metric, y_true)
            for peer in peers:
                row[f"diff_{peer}"] = row["automl"] - row[peer]
            row["in_budget"] = bool(row["automl_s"] <= budget * (1 + BUDGET_SLACK)) if not pd.isna(
                row["automl_s"]) else np.nan
            shorter = [r for r in rows if r["table"] == name and r["budget_s"] < budget and not pd.isna(r["automl"])]
            row["vs_shorter"] = (row["automl"] - max(shorter, key=lambda r: r["budget_s"])["automl"]
                                 if shorter else np.nan)
            row["load_avg"] = round(max(load_before, os.getloadavg()[0]), 2)
            row["seed"] = args.seed
            rows.append(row)
            peer_text = "  ".join(f"{p} {row[p]:.4f} ({row[p + '_s']:.1f} s, {row[p + '_model']})  "
                                  f"diff {row['diff_' + p]:+.4f}" for p in peers)
            print(f"[{budget:g} s] {name:<18} {metric:<8} automl {row['automl']:.4f} ({row['automl_s']:.1f} s, "
                  f"{row['automl_model']})  {peer_text}  load {row['load_avg']}", flush=True)
            table = pd.DataFrame(rows, columns=cols)
            part = table.loc[table["budget_s"] == budget]
            part.to_csv(RESULTS / f"{stem}_{budget:g}s.csv", index=False)
            note = ""
            if part["load_avg"].max() > cores:
                note = (f"\n\nNote: the machine was shared during this run (load average up to "
                        f"{part['load_avg'].max():.1f} on {cores} cores); wall times and budget use are noisy.")
            (RESULTS / f"{stem}_{budget:g}s.md").write_text(markdown(part, header + note, peers))
    table = pd.DataFrame(rows, columns=cols)
    if table.empty:
        print("no table could be run")
        return 1
    with pd.option_context("display.width", 250, "display.max_columns", 40):
        print(table.drop(columns=["columns", "load_avg", "seed"]).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(summary(table, peers))
    print("written: " + ", ".join(str(RESULTS / f"{stem}_{b:g}s.{ext}") for b in budgets for ext in ("csv", "md")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
