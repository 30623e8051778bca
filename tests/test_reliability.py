"""Nothing lost, nothing trusted blindly: atomic saves, verified loads, reproducible fits,
memory limits, and the regression tests for every failure the property test found."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import automl
from automl import persist
from automl.data import split_rows
from automl.data.checks import drop_missing_target
from automl.errors import AutomlWarning, DataWarning, InputError, IntegrityError, SearchWarning
from automl.models.classic import GradientBoostingFamily, LinearFamily, RandomForestFamily
from automl.resources import memory_limit_mb, rows_within

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wine_result(wine_df):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AutomlWarning)
        return automl.fit(wine_df, "target", families=["linear", "gradient_boosting"], time_budget=3, verbose=0)


@pytest.fixture
def saved(wine_result, tmp_path):
    path = tmp_path / "model"
    wine_result.save(path)
    return path


def leftovers(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name.startswith(f".{path.name}."))


def rewrite_manifest(path: Path, change) -> None:
    """Edit the manifest with ``change`` and re-seal its digest, as a careful forger would."""
    manifest = json.loads((path / "manifest.json").read_text())
    change(manifest)
    manifest.pop("manifest_sha256", None)
    manifest["manifest_sha256"] = persist._manifest_digest(manifest)
    (path / "manifest.json").write_text(json.dumps(manifest))


def reseal(path: Path) -> None:
    """Recompute every file hash after an edit (the hashes are not a signature)."""
    rewrite_manifest(path, lambda m: m.update(files={
        p.relative_to(path).as_posix(): persist.sha256(p)
        for p in sorted(path.rglob("*")) if p.is_file() and p.name != "manifest.json"}))


# -- atomic saves --------------------------------------------------------------------------
def test_save_and_load_give_the_same_predictions(wine_result, saved, wine_df):
    loaded = automl.load(saved)
    rows = wine_df.drop(columns=["target"]).iloc[:25]
    assert list(loaded.predict(rows)) == list(wine_result.predict(rows))
    np.testing.assert_allclose(loaded.predict_proba(rows).to_numpy(), wine_result.predict_proba(rows).to_numpy())
    manifest = json.loads((saved / "manifest.json").read_text())
    assert {"scikit-learn", "numpy", "pandas", "python"} <= set(manifest["versions"])
    assert all(len(h) == 64 for h in manifest["files"].values())
    assert "result.json" in manifest["files"] and any(n.endswith(".joblib") for n in manifest["files"])
    assert leftovers(saved) == []


def test_crash_mid_save_keeps_the_previous_save(wine_result, saved, monkeypatch):
    before = (saved / "manifest.json").read_bytes()
    written = []
    real_dump = persist.joblib.dump

    def dump_then_crash(obj, filename, *args, **kwargs):
        real_dump(obj, filename, *args, **kwargs)
        written.append(Path(filename).name)
        if len(written) == 2:  # some model files are on disk when the "crash" happens
            raise OSError("disk full (simulated)")

    monkeypatch.setattr(persist.joblib, "dump", dump_then_crash)
    with pytest.raises(OSError, match="simulated"):
        wine_result.save(saved)
    monkeypatch.undo()
    assert len(written) == 2
    assert (saved / "manifest.json").read_bytes() == before
    assert leftovers(saved) == []
    assert len(automl.load(saved).leaderboard) == len(wine_result.leaderboard)


def test_failed_first_save_leaves_no_directory(wine_result, tmp_path, monkeypatch):
    target = tmp_path / "fresh"
    monkeypatch.setattr(persist, "write_manifest", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        wine_result.save(target)
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


KILLED_SAVE = """
import sys, time
from pathlib import Path
import automl
from automl import persist
result = automl.load(sys.argv[1])
real = persist.write_manifest
def slow(directory, *a, **k):
    Path(sys.argv[2]).write_text("writing")   # every part is written; only the manifest is left
    time.sleep(120)
    return real(directory, *a, **k)
persist.write_manifest = slow
result.save(sys.argv[1])
"""


def test_save_killed_mid_write_keeps_the_previous_save(wine_result, saved, tmp_path):
    before = (saved / "manifest.json").read_bytes()
    marker = tmp_path / "marker"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-c", KILLED_SAVE, str(saved), str(marker)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert process.poll() is None, process.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the save never started"
            time.sleep(0.2)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    # the killed process could not clean up after itself ...
    assert any(".saving-" in name for name in leftovers(saved))
    # ... but the previous save is intact and loads
    assert (saved / "manifest.json").read_bytes() == before
    assert len(automl.load(saved).leaderboard) == len(wine_result.leaderboard)
    # and the next save to the same path removes the dead process' staging directory
    wine_result.save(saved)
    assert leftovers(saved) == []


def test_previous_save_restored_when_killed_between_renames(saved):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    before = (saved / "manifest.json").read_bytes()
    # what a kill between "old save aside" and "new save in place" leaves behind
    os.replace(saved, saved.with_name(f".{saved.name}.old-{dead.pid}"))
    result = automl.load(saved)
    assert (saved / "manifest.json").read_bytes() == before
    assert len(result.leaderboard) >= 1
    assert leftovers(saved) == []


def test_atomic_file_keeps_old_content_on_failure(tmp_path):
    target = tmp_path / "report.html"
    target.write_text("old report")
    with pytest.raises(RuntimeError):
        with persist.atomic_file(target, encoding="utf-8") as handle:
            handle.write("half of a new rep")
            raise RuntimeError("crash while rendering")
    assert target.read_text() == "old report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]
    with persist.atomic_file(target, encoding="utf-8") as handle:
        handle.write("new report")
    assert target.read_text() == "new report"
    umask = persist._umask()
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_report_is_written_atomically(wine_result, tmp_path, monkeypatch):
    report = pytest.importorskip("automl.report")
    target = tmp_path / "report.html"
    target.write_text("previous report")

    def no_rename(*args, **kwargs):
        raise OSError("crash before the rename (simulated)")

    monkeypatch.setattr(os, "replace", no_rename)
    with pytest.raises(OSError, match="simulated"):
        wine_result.report(target)
    monkeypatch.undo()
    assert target.read_text() == "previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
    assert report is not None


# -- trust on load -------------------------------------------------------------------------
def test_integrity_error_is_an_input_error():
    assert issubclass(IntegrityError, InputError) and automl.IntegrityError is IntegrityError


def test_tampered_file_is_refused(saved):
    model_file = next((saved / "models").glob("*.joblib"))
    data = bytearray(model_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model_file.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match=r"does not match its recorded hash.*Refusing"):
        automl.load(saved)


def test_tampered_manifest_is_refused(saved):
    manifest = json.loads((saved / "manifest.json").read_text())
    name = next(iter(manifest["files"]))
    manifest["files"][name] = "0" * 64
    (saved / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IntegrityError, match="was edited after saving"):
        automl.load(saved)


def test_manifest_edits_that_keep_the_hashes_are_refused(saved):
    manifest = json.loads((saved / "manifest.json").read_text())
    manifest["versions"]["scikit-learn"] = "99.0"
    (saved / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IntegrityError, match="was edited after saving"):
        automl.load(saved)


def test_resealed_file_change_is_refused(saved):
    # a hash recomputed in the manifest but not its digest: still refused
    model_file = next((saved / "models").glob("*.joblib"))
    model_file.write_bytes(model_file.read_bytes() + b"\0")
    manifest = json.loads((saved / "manifest.json").read_text())
    manifest["files"][model_file.relative_to(saved).as_posix()] = persist.sha256(model_file)
    (saved / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IntegrityError, match="edited"):
        automl.load(saved)


def test_unreadable_manifest_is_refused(saved):
    (saved / "manifest.json").write_text("{not json")
    with pytest.raises(IntegrityError, match="not a valid automl manifest"):
        automl.load(saved)


def test_added_file_is_refused(saved):
    (saved / "models" / "extra.joblib").write_bytes(b"anything")
    with pytest.raises(IntegrityError, match=r"files not in its manifest.*extra\.joblib"):
        automl.load(saved)


def test_added_symlink_is_refused(saved, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    (saved / "link").symlink_to(outside)
    with pytest.raises(IntegrityError, match="link"):
        automl.load(saved)


def test_missing_file_is_refused(saved):
    (saved / "preprocessor.joblib").unlink()
    with pytest.raises(IntegrityError, match=r"incomplete: 'preprocessor\.joblib' is missing"):
        automl.load(saved)


def test_missing_manifest_is_refused(saved):
    (saved / "manifest.json").unlink()
    with pytest.raises(IntegrityError, match="no manifest.json"):
        automl.load(saved)


def test_incompatible_format_version_is_refused(saved):
    rewrite_manifest(saved, lambda m: m.update(format_version=999))
    with pytest.raises(IntegrityError, match=r"format 999.*reads format 1"):
        automl.load(saved)


def test_entry_outside_the_directory_is_refused(saved, tmp_path):
    (tmp_path / "evil.joblib").write_bytes(b"x")
    rewrite_manifest(saved, lambda m: m["files"].update({"../evil.joblib": persist.sha256(tmp_path / "evil.joblib")}))
    with pytest.raises(IntegrityError, match="points outside"):
        automl.load(saved)


def test_loader_must_be_an_automl_class(saved):
    meta = json.loads((saved / "result.json").read_text())
    first = next(iter(meta["models"]))
    meta["models"][first]["file"] = {"stem": "x", "loader": "os:system"}
    (saved / "result.json").write_text(json.dumps(meta))
    reseal(saved)
    with pytest.raises(IntegrityError, match="Refusing loader 'os:system'"):
        automl.load(saved)


def test_stem_cannot_escape_the_directory(saved):
    meta = json.loads((saved / "result.json").read_text())
    first = next(iter(meta["models"]))
    meta["models"][first]["file"] = {"stem": "../../elsewhere", "loader": "joblib"}
    (saved / "result.json").write_text(json.dumps(meta))
    reseal(saved)
    with pytest.raises(IntegrityError, match="not a plain file stem"):
        automl.load(saved)


def test_other_library_versions_warn(saved):
    rewrite_manifest(saved, lambda m: m["versions"].update({"scikit-learn": "0.1.0"}))
    with pytest.warns(AutomlWarning, match=r"other library versions \(scikit-learn 0\.1\.0 -> "):
        automl.load(saved)


def test_cluster_saves_are_verified_too(wine_df, tmp_path):
    pytest.importorskip("automl.clustering")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AutomlWarning)
        result = automl.cluster(wine_df.drop(columns=["target"]), n_clusters=3, method="kmeans", autoencoder=False,
                                time_budget=2, verbose=0)
    result.save(tmp_path / "clusters")
    rows = wine_df.drop(columns=["target"]).iloc[:20]
    assert list(automl.load(tmp_path / "clusters").predict(rows)) == list(result.predict(rows))
    target = next(p for p in (tmp_path / "clusters").rglob("*.joblib"))
    target.write_bytes(target.read_bytes()[:-1])
    with pytest.raises(IntegrityError, match="does not match its recorded hash"):
        automl.load(tmp_path / "clusters")
    assert leftovers(tmp_path / "clusters") == []


def test_missing_directory_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no such directory"):
        automl.load(tmp_path / "nothing here")


# -- reproducibility -----------------------------------------------------------------------
def _bounded_fit(frame, target, seed):
    # configurations capped by count, not by the clock, so the search is the same however busy the machine
    families = [LinearFamily(max_configs=4), RandomForestFamily(max_configs=2), GradientBoostingFamily(max_configs=3)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AutomlWarning)
        return automl.fit(frame, target, families=families, time_budget=300, seed=seed, verbose=0)


def test_same_seed_gives_the_same_leaderboard(breast_cancer_df):
    frame = breast_cancer_df.iloc[:300]
    first, second = _bounded_fit(frame, "target", 7), _bounded_fit(frame, "target", 7)
    a, b = first.leaderboard, second.leaderboard
    assert list(a["model"]) == list(b["model"]) and list(a["params"]) == list(b["params"])
    for column in ("train_score", "val_score", "test_score"):
        np.testing.assert_allclose(a[column].to_numpy(), b[column].to_numpy(), atol=1e-6)
    rows = frame.drop(columns=["target"])
    np.testing.assert_allclose(first.predict_proba(rows).to_numpy(), second.predict_proba(rows).to_numpy(),
                               atol=1e-6)
    # the seed is what fixes it: another seed draws other rows for every split
    y = frame["target"].to_numpy()
    same = split_rows(y, "binary", test_size=0.2, val_size=0.2, seed=7)
    assert all(np.array_equal(a_, b_) for a_, b_ in zip(same, split_rows(y, "binary", test_size=0.2,
                                                                          val_size=0.2, seed=7)))
    assert not np.array_equal(same[2], split_rows(y, "binary", test_size=0.2, val_size=0.2, seed=8)[2])


@pytest.mark.slow
def test_same_seed_gives_the_same_best_network_trial(breast_cancer_df, tmp_path):
    pytest.importorskip("automl.search.family")
    frame = breast_cancer_df.iloc[:200]

    def run(directory):  # separate directories: the second search must not resume the first
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AutomlWarning)
            return automl.fit(frame, "target", families=["neural_network"], time_budget=300, seed=3, verbose=0,
                              ensemble=False, network={"tuner": "random", "max_trials": 2, "max_epochs": 3,
                                                       "directory": str(directory)})

    first, second = run(tmp_path / "a"), run(tmp_path / "b")
    assert len(first.trials) == len(second.trials) == 2
    a, b = first.leaderboard.iloc[0], second.leaderboard.iloc[0]
    assert a["params"] == b["params"]
    assert abs(a["val_score"] - b["val_score"]) < 1e-3


# -- resource limits -----------------------------------------------------------------------
def test_memory_limit_samples_training_rows(wine_df):
    with pytest.warns(SearchWarning, match=r"exceeds max_memory_mb=0\.002: sampled \d+ training rows"):
        result = automl.fit(wine_df, "target", families=["linear"], time_budget=2, verbose=0,
                            max_memory_mb=0.002)
    used = result.info["train_rows_used"]
    assert used < result.info["splits"]["train"]
    # 0.002 MiB of float32 rows of wine's 13 features is 40 rows
    assert used == rows_within(0.002, result.info["splits"]["train"], 13)
    assert list(result.predict_proba(wine_df.iloc[:5]).columns) == list(result.classes)


def test_no_memory_limit_uses_every_row(wine_df):
    with warnings.catch_warnings():
        warnings.simplefilter("error", SearchWarning)
        result = automl.fit(wine_df, "target", families=["linear"], time_budget=2, verbose=0, max_memory_mb=None)
    assert result.info["train_rows_used"] == result.info["splits"]["train"]


@pytest.mark.parametrize("bad", [0, -5, "lots", float("nan"), True])
def test_bad_memory_limit_is_an_input_error(bad):
    with pytest.raises(InputError, match="max_memory_mb"):
        memory_limit_mb(bad)


def test_auto_memory_limit_is_a_share_of_available_memory():
    limit = memory_limit_mb("auto")
    assert 0 < limit < 10 * 2**20
    assert rows_within(None, 10**9, 100) == 10**9
    assert rows_within(1.0, 10**6, 10) == 2**20 // 40
    assert rows_within(1e-9, 10**6, 10) == 20


# -- regression tests: each is a minimal frame the property test once failed on ------------
def test_regression_float_target_with_pandas_read_only_arrays():
    # pandas 3 copy-on-write: updating the missing-target mask in place raised "read-only"
    frame = pd.DataFrame({" leading": [-0.132105], "a b": [9.404227]})
    assert len(drop_missing_target(frame, "a b")) == 1
    with pytest.raises(InputError, match="single value"):
        automl.fit(frame, "a b", families=["linear"], time_budget=1, verbose=0)


def test_regression_values_near_float_limit_do_not_break_fitting():
    # 1e308 squared overflowed the standardisation, every model failed: "No model could be fitted"
    rng = np.random.default_rng(0)
    # and the median of two values near 1.7e308 (the imputation of a missing value) overflowed to inf
    near_max = np.where(np.arange(40) % 2 == 0, 1.7e308, np.nan)
    near_max[1] = 0.0
    frame = pd.DataFrame({"huge": rng.choice([1e308, -1e308, 1e-308, 0.0, 1.7e308, 3.0], 40),
                          "near_max": near_max, "y": rng.integers(0, 2, 40)})
    frame.loc[[0, 1], "y"] = [0, 1]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", AutomlWarning)
        result = automl.fit(frame, "y", families=["linear", "gradient_boosting"], time_budget=2, verbose=0)
    proba = result.predict_proba(frame.iloc[:10])
    assert np.isfinite(proba.to_numpy()).all()
    X = result.preprocessor.transform(frame.drop(columns=["y"]))
    assert X.dtype == np.float32 and np.isfinite(X).all()


def test_regression_rare_class_always_in_training_rows():
    # a class with one row landed in the test split: the models' probabilities lacked its column
    y = np.array([0, 1, 2, 3] * 6 + [4])
    for seed in range(30):
        with pytest.warns(DataWarning, match="not stratified"):
            train, val, test = split_rows(y, "multiclass", test_size=0.2, val_size=0.2, seed=seed)
        assert set(y[train]) == set(y)
        assert (len(train), len(val), len(test)) == (15, 5, 5)
        assert len(set(train) | set(val) | set(test)) == len(y)
    frame = pd.DataFrame({"x": np.arange(25.0) % 7, "label": np.array(list("abcd") * 6 + ["rare"])})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AutomlWarning)
        result = automl.fit(frame, "label", families=["linear", "gradient_boosting"], time_budget=2, verbose=0)
    proba = result.predict_proba(frame.iloc[:3])
    assert list(proba.columns) == ["a", "b", "c", "d", "rare"]


def test_regression_more_classes_than_held_out_rows_splits_unstratified():
    # five classes of 4+ rows in 21 rows: a stratified test split of 4 rows raised sklearn's ValueError
    y = np.repeat(np.arange(5), [5, 4, 4, 4, 4])
    with pytest.warns(DataWarning, match=r"The 5 classes do not fit in validation and test splits of 4 and 4"):
        train, val, test = split_rows(y, "multiclass", test_size=0.2, val_size=0.2, seed=0)
    assert set(y[train]) == set(range(5)) and len(train) + len(val) + len(test) == 21
    frame = pd.DataFrame({" leading": np.arange(21.0), "a b": pd.Categorical(np.array(list("abcde"))[y])})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AutomlWarning)
        result = automl.fit(frame, "a b", families=["linear", "gradient_boosting"], time_budget=1, verbose=0)
    assert list(result.predict_proba(frame.iloc[:2]).columns) == list("abcde")


def test_regression_more_classes_than_training_rows_is_an_input_error():
    frame = pd.DataFrame({"x": np.arange(24.0), "label": [f"c{i}" for i in range(24)]})
    with pytest.raises(InputError, match=r"24 classes but the training split holds only \d+ rows"), \
            pytest.warns(DataWarning, match="not stratified"):
        automl.fit(frame, "label", families=["linear"], time_budget=1, verbose=0)


def test_regression_max_train_rows_keeps_every_class(wine_df):
    frame = pd.concat([wine_df, wine_df.iloc[:1].assign(target=99)], ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AutomlWarning)
        result = automl.fit(frame, "target", families=["linear"], time_budget=2, verbose=0, max_train_rows=20)
    assert result.info["train_rows_used"] == 20
    assert len(result.predict_proba(frame.iloc[:2]).columns) == len(result.classes) == 4
