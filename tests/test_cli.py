"""The command line runs the same functions: fit, predict, errors."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from automl.cli import main


@pytest.fixture(scope="module")
def data_csv(tmp_path_factory, breast_cancer_df):
    path = tmp_path_factory.mktemp("cli") / "cancer.csv"
    breast_cancer_df.to_csv(path, index=False)
    return path


def test_fit_then_predict(data_csv, tmp_path, capsys):
    out = tmp_path / "model"
    code = main(["fit", str(data_csv), "--target", "target", "--time-budget", "6", "--families", "linear",
                 "gradient_boosting", "--out", str(out), "--quiet"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "gradient_boosting" in printed and "val_score" in printed
    assert (out / "manifest.json").is_file()
    preds = tmp_path / "preds.csv"
    assert main(["predict", str(out), str(data_csv), "-o", str(preds), "--proba"]) == 0
    frame = pd.read_csv(preds)
    assert list(frame.columns) == ["prediction", "proba_0", "proba_1"]
    assert len(frame) == 569 and (frame["prediction"] == pd.read_csv(data_csv)["target"]).mean() > 0.93


def test_bad_target_exits_2_with_message(data_csv, capsys):
    code = main(["fit", str(data_csv), "--target", "nope", "--families", "linear", "--quiet"])
    assert code == 2
    assert "Target column 'nope' is not in the data" in capsys.readouterr().err


def test_console_script_help():
    out = subprocess.run([sys.executable, "-m", "automl.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for command in ("fit", "predict", "cluster", "report", "demo"):
        assert command in out.stdout


def test_import_is_light():
    code = "import sys, automl; print(any(m.split('.')[0] in ('tensorflow','keras','umap') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


def test_bad_resampling_exits_2_naming_the_option(data_csv, capsys):
    code = main(["fit", str(data_csv), "--target", "target", "--families", "linear", "--resampling", "1",
                 "--quiet"])
    assert code == 2
    assert "`resampling` must be 'auto', 'holdout' or a number of folds" in capsys.readouterr().err
