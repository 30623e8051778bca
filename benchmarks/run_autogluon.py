"""Fit AutoGluon's TabularPredictor on one train/test split and write its predictions (run in AutoGluon's venv).

AutoGluon 1.6 pins pandas < 2.4 and automl needs pandas 3, so ``benchmarks/vs_peers.py`` runs this
script with the interpreter of ``benchmarks/.venv-autogluon`` (see ``setup_autogluon.sh``) and talks
to it through files only::

    python run_autogluon.py --train train.parquet --test test.parquet --target y --task binary \\
        --metric roc_auc --time-limit 30 --out out_dir [--cpus 2] [--seed 0]

It writes ``out_dir/predictions.parquet`` (column ``pred``: labels or values, then one
``proba::<class>`` column per class for classification) and ``out_dir/meta.json`` (fit seconds,
best model, AutoGluon and pandas versions). Scoring is left to the parent, which uses the same
metric function for every tool. The default preset is used (``presets`` not passed), with
``time_limit`` set to the budget, as a new user would.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", required=True, help="Parquet file with the training rows (target included)")
    parser.add_argument("--test", required=True, help="Parquet file with the test rows (target dropped or kept)")
    parser.add_argument("--target", required=True)
    parser.add_argument("--task", required=True, choices=["binary", "multiclass", "regression"])
    parser.add_argument("--metric", required=True, help="AutoGluon eval_metric name, e.g. accuracy, roc_auc, r2")
    parser.add_argument("--time-limit", type=float, required=True, help="seconds, passed as fit(time_limit=...)")
    parser.add_argument("--out", required=True, help="folder for predictions.parquet and meta.json")
    parser.add_argument("--cpus", type=int, default=None, help="num_cpus for fit (default: all cores)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import numpy as np
    import pandas as pd
    from autogluon.tabular import TabularPredictor, __version__ as ag_version

    np.random.seed(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train = pd.read_parquet(args.train)
    test = pd.read_parquet(args.test).drop(columns=[args.target], errors="ignore")
    model_dir = tempfile.mkdtemp(prefix="autogluon_bench_")
    try:
        predictor = TabularPredictor(label=args.target, problem_type=args.task, eval_metric=args.metric,
                                     path=model_dir, verbosity=0)
        fit_kwargs = {"time_limit": args.time_limit}
        if args.cpus:
            fit_kwargs["num_cpus"] = args.cpus
        started = time.perf_counter()
        predictor.fit(train, **fit_kwargs)
        fit_seconds = time.perf_counter() - started
        pred = predictor.predict(test)
        frame = pd.DataFrame({"pred": pred.to_numpy()})
        if args.task != "regression":
            proba = predictor.predict_proba(test)
            for column in proba.columns:
                frame[f"proba::{column}"] = proba[column].to_numpy(dtype=float)
            frame["pred"] = frame["pred"].astype(str)
        frame.to_parquet(out / "predictions.parquet", index=False)
        meta = {"fit_s": fit_seconds, "best_model": str(predictor.model_best),
                "models": len(predictor.model_names()), "autogluon": ag_version, "pandas": pd.__version__,
                "python": sys.version.split()[0], "cpus": args.cpus or os.cpu_count()}
        (out / "meta.json").write_text(json.dumps(meta, indent=1))
    finally:
        shutil.rmtree(model_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
