"""Command line: the same public functions as the notebook API.

    automl fit DATA --target COL [--time-budget S] [--out DIR] [--report report.html]
    automl fit DATA --target COL --directory SHARED --distributed chief|worker [--oracle HOST:PORT]
    automl predict DIR DATA [-o preds.csv] [--proba]
    automl cluster DATA [--labels COL] [--n-clusters auto|K] [--out DIR] [--report clusters.html]
    automl report DIR [-o report.html]
    automl demo [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import InputError


def _resampling(text: str):
    """``--resampling`` value: 'auto', 'holdout' or a number of folds (fit checks the range)."""
    return int(text) if text.strip().isdigit() else text


def _fit_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--time-budget", type=float, default=120.0, help="seconds for the whole search (default 120)")
    parser.add_argument("--metric", default=None, help="ranking metric, e.g. accuracy, roc_auc, r2, rmse")
    parser.add_argument("--families", nargs="+", default=None,
                        help="model families (default: linear random_forest gradient_boosting neural_network)")
    parser.add_argument("--tuner", default="hyperband", choices=["hyperband", "bayesian", "random"])
    parser.add_argument("--max-trials", type=int, default=None, help="cap on network trials")
    parser.add_argument("--max-epochs", type=int, default=None, help="cap on epochs per network trial")
    parser.add_argument("--directory", default=None, help="search directory (resumable)")
    parser.add_argument("--overwrite", action="store_true", help="start the network search afresh")
    parser.add_argument("--no-refit", dest="refit", action="store_false",
                        help="keep the scored models instead of refitting the best on every labelled row")
    parser.add_argument("--resampling", default="auto", type=_resampling,
                        help="'auto' (5-fold bagging up to 20,000 rows), 'holdout' or a number of folds")
    parser.add_argument("--stack", action="store_true",
                        help="add a second level over the bagged models' out-of-fold predictions")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--distributed", default=None, choices=["chief", "worker"],
                        help="network search across processes: one chief, any number of workers sharing --directory")
    parser.add_argument("--oracle", default=None, metavar="HOST:PORT",
                        help="address the chief listens on and workers connect to (default 127.0.0.1:8000)")
    parser.add_argument("--report", default=None, help="also write a self-contained HTML report here")
    parser.add_argument("--cdn", action="store_true", help="link plotly.js from a CDN instead of embedding it")
    parser.add_argument("--quiet", action="store_true", help="no progress output")


def build_parser() -> argparse.ArgumentParser:
    """The ``automl`` argument parser."""
    parser = argparse.ArgumentParser(prog="automl", description="AutoML and clustering for tabular data.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("fit", help="search models for a target column and save the result")
    p.add_argument("data", help="CSV or Parquet file")
    p.add_argument("--target", required=True, help="column to predict")
    p.add_argument("--task", default=None, choices=["binary", "multiclass", "regression", "classification"])
    p.add_argument("--out", default="automl_out/model", help="directory to save the result (default automl_out/model)")
    _fit_arguments(p)

    p = sub.add_parser("predict", help="predict with a saved result")
    p.add_argument("model_dir", help="directory written by `automl fit`")
    p.add_argument("data", help="CSV or Parquet file with the feature columns")
    p.add_argument("-o", "--output", default=None, help="CSV to write (default: print to stdout)")
    p.add_argument("--proba", action="store_true", help="also write class probabilities")
    p.add_argument("--model", default=None, help="leaderboard model to use (default: the best)")

    p = sub.add_parser("cluster", help="embed rows with an autoencoder, cluster them, map them with UMAP")
    p.add_argument("data", help="CSV or Parquet file")
    p.add_argument("--labels", default=None, help="optional column of known labels, used only to score")
    p.add_argument("--n-clusters", default="auto", help="'auto' or a number")
    p.add_argument("--method", default=None, help="clustering method (default: UMAP + Gaussian mixture)")
    p.add_argument("--time-budget", type=float, default=None, help="seconds for the autoencoder search")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="automl_out/clusters", help="directory to save the result")
    p.add_argument("--report", default=None, help="also write a self-contained HTML report here")
    p.add_argument("--cdn", action="store_true", help="link plotly.js from a CDN instead of embedding it")
    p.add_argument("--quiet", action="store_true")

    p = sub.add_parser("report", help="write the HTML report of a saved result")
    p.add_argument("model_dir")
    p.add_argument("-o", "--output", default="report.html")
    p.add_argument("--cdn", action="store_true")

    p = sub.add_parser("demo", help="fit the shipped breast-cancer data and write a leaderboard, model and report")
    p.add_argument("--out", default="automl_out", help="output directory (default automl_out)")
    p.add_argument("--time-budget", type=float, default=90.0)
    p.add_argument("--quiet", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``automl`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except InputError as exc:
        print(f"automl: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("automl: interrupted", file=sys.stderr)
        return 130


def _print_leaderboard(board) -> None:
    import pandas as pd
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(board.drop(columns=["params"]).to_string(index=False, float_format=lambda v: f"{v:.4f}"))


def _cmd_fit(args) -> int:
    from .api import fit, run_worker
    from .search.options import NetworkSearch

    network = NetworkSearch(tuner=args.tuner, max_trials=args.max_trials, max_epochs=args.max_epochs,
                            directory=args.directory, overwrite=args.overwrite, distributed=args.distributed,
                            oracle_address=args.oracle)
    config = network.config()
    if config is not None and config.role == "worker":  # the chief saves the result
        result = run_worker(args.data, args.target, network=network, task=args.task, metric=args.metric,
                            seed=args.seed, verbose=0 if args.quiet else 1)
        print(f"worker {result.worker_id}: {len(result.trials)} trials, stopped ({result.stop_reason}); "
              f"trials {list(result.trials['trial']) if len(result.trials) else []}")
        return 0
    result = fit(args.data, args.target, task=args.task, metric=args.metric, time_budget=args.time_budget,
                 families=args.families, network=network, refit=args.refit, seed=args.seed,
                 resampling=args.resampling, stack=args.stack,
                 verbose=0 if args.quiet else 1)
    _print_leaderboard(result.leaderboard)
    return _save_and_report(result, args)


def _save_and_report(result, args) -> int:
    """Save ``result`` to ``--out`` and write its report when ``--report`` was given."""
    result.save(args.out)
    print(f"saved the result to {args.out}")
    if args.report:
        print(f"wrote {result.report(args.report, offline=not args.cdn)}")
    return 0


def _cmd_predict(args) -> int:
    import pandas as pd
    from .persist import load
    result = load(args.model_dir)
    if not hasattr(result, "leaderboard"):
        labels = result.predict(args.data)
        out = pd.DataFrame({"cluster": labels})
    else:
        out = pd.DataFrame({"prediction": result.predict(args.data, model=args.model)})
        if args.proba and result.task != "regression":
            proba = result.predict_proba(args.data, model=args.model)
            proba.columns = [f"proba_{c}" for c in proba.columns]
            out = pd.concat([out, proba], axis=1)
    if args.output:
        out.to_csv(args.output, index=False)
        print(f"wrote {len(out)} predictions to {args.output}")
    else:
        out.to_csv(sys.stdout, index=False)
    return 0


def _cmd_cluster(args) -> int:
    from .clustering import cluster
    n_clusters = args.n_clusters if args.n_clusters == "auto" else int(args.n_clusters)
    options = {"n_clusters": n_clusters, "labels": args.labels, "seed": args.seed, "verbose": 0 if args.quiet else 1}
    if args.method:
        options["method"] = args.method
    if args.time_budget is not None:
        options["time_budget"] = args.time_budget
    result = cluster(args.data, **options)
    print("scores: " + ", ".join(f"{k}={v:.4f}" for k, v in result.scores.items()))
    return _save_and_report(result, args)


def _cmd_report(args) -> int:
    from .persist import load
    print(f"wrote {load(args.model_dir).report(args.output, offline=not args.cdn)}")
    return 0


def _cmd_demo(args) -> int:
    from .api import fit
    from .datasets import breast_cancer
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print("automl demo: scikit-learn's breast cancer data (569 rows, 30 features, binary target)")
    result = fit(breast_cancer(), "target", time_budget=args.time_budget, verbose=0 if args.quiet else 1,
                 network={"directory": str(out / "search")})
    _print_leaderboard(result.leaderboard)
    result.leaderboard.to_csv(out / "leaderboard.csv", index=False)
    result.save(out / "model")
    report = result.report(out / "report.html")
    print(f"wrote {out / 'leaderboard.csv'}, {out / 'model'}/ and {report}")
    return 0


_COMMANDS = {"fit": _cmd_fit, "predict": _cmd_predict, "cluster": _cmd_cluster, "report": _cmd_report,
             "demo": _cmd_demo}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
