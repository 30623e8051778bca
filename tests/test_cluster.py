"""automl.cluster: quality on digits, new rows, persistence, re-clustering, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import automl
from automl import InputError
from automl.clustering.methods import cluster_profiles, clustering_accuracy, label_scores, select_k


@pytest.fixture(scope="module")
def digits_df():
    return automl.datasets.digits()


@pytest.fixture(scope="module")
def digits_result(digits_df):
    """One pipeline run with the default autoencoder (the search's first trial), UMAP and GMM, shared by the module.

    Fixed rather than searched: the search picks its autoencoder by validation reconstruction loss, and on
    digits two architectures tie within TensorFlow's run-to-run noise (see test_digits_search_quality).
    """
    # time for the fixed network to train to early stopping: the budget now bounds the whole call
    return automl.cluster(digits_df, 10, labels="digit", autoencoder={}, verbose=0, time_budget=150)


def test_digits_quality(digits_result):
    scores = digits_result.scores
    assert {"silhouette", "davies_bouldin", "calinski_harabasz", "acc", "nmi", "ari"} <= set(scores)
    # The labels are those of the most typical of three seeded UMAP runs: on this embedding seed 0 reaches
    # ACC 0.936 and seeds 1000 and 2000 agree with each other at 0.876 (measured), so 0.876 is kept.
    assert scores["acc"] >= 0.85, scores
    assert scores["nmi"] >= 0.85, scores
    assert 0.0 < scores["silhouette"] <= 1.0 and scores["davies_bouldin"] > 0 and scores["calinski_harabasz"] > 0


def test_digits_features_merge_the_mixture_along_the_graph(digits_df):
    # On UMAP's manifold of the digits features the 1s and 8s share a blob and a 10-component mixture cuts
    # another digit in two instead (ACC 0.88 in 8 of 9 seeded runs, measured); fitting more components and
    # merging them along UMAP's neighbour graph separates both (0.95-0.97), and the label-free rule
    # (stability and modularity) picks it.
    result = automl.cluster(digits_df, 10, labels="digit", autoencoder=False, time_budget=60, verbose=0)
    assert result.info["components"] is not None and result.info["components"] > 10, result.selection
    assert result.n_clusters == 10 and result.scores["acc"] >= 0.94, result.scores
    assert int(result.selection.loc[result.selection["chosen"], "components"].iloc[0]) == result.info["components"]
    assert result.k_curve.empty
    # the merged mixture places the fitted rows where it put them (components mapped to clusters)
    assert (result.clustering.predict(result.manifold) == result.labels).mean() > 0.99


@pytest.mark.slow  # the whole call now shares its budget with several seeded UMAP runs: the search needs 120 s
def test_digits_search_quality(digits_df):
    # The search's two finishing trials, (256, 128) and (256,), reach reconstruction losses within noise of
    # each other and cluster at ACC 0.936 and 0.865-0.88: which one wins varies from run to run. Both are
    # well above k-means on the raw pixels (0.78); choosing the autoencoder by a clustering criterion is
    # the open improvement.
    result = automl.cluster(digits_df, 10, labels="digit", time_budget=120, max_trials=3, verbose=0)
    assert result.scores["acc"] >= 0.85 and result.scores["nmi"] >= 0.85, result.scores
    trials = result.trials
    assert result.info["autoencoder_trials"] >= 2
    finished = trials[trials["status"] == "ok"]
    assert result.info["autoencoder_val_loss"] == pytest.approx(finished["val_loss"].min(), rel=1e-6)


def test_result_shapes_and_order(digits_df, digits_result):
    r = digits_result
    n = len(digits_df)
    assert isinstance(r.labels, np.ndarray) and r.labels.shape == (n,)
    assert r.embedding.shape[0] == n and r.map2d.shape == (n, 2)
    assert r.n_clusters == len(np.unique(r.labels))
    # Input order: re-ordering the rows' true labels must destroy the agreement.
    shuffled = np.random.default_rng(0).permutation(digits_df["digit"].to_numpy())
    assert clustering_accuracy(shuffled, r.labels) < 0.3
    # k chosen by the stated criterion (silhouette on the manifold), with the curve recorded.
    auto = r.recluster(n_clusters="auto")
    curve = auto.k_curve
    assert list(curve["k"]) == list(range(2, 16)) and curve["chosen"].sum() == 1
    chosen = curve.loc[curve["chosen"]].iloc[0]
    assert int(chosen["k"]) == auto.n_clusters and auto.info["criterion"] == "silhouette"
    assert chosen["value"] >= curve["value"].max() - 0.002
    assert "digit" not in r.schema.used
    # Profiles: sizes add up and values are in data units (pixels are 0..16).
    sizes = r.profiles.groupby("cluster")["size"].first()
    assert sizes.sum() == n
    assert r.profiles["cluster_value"].between(0, 16).all()


def test_predict_new_rows_and_save_load(digits_df, digits_result, tmp_path):
    new = digits_df.drop(columns="digit").iloc[::9]
    assigned = digits_result.predict(new)
    assert assigned.shape == (len(new),)
    # Rows the model has seen land mostly in their own cluster again.
    assert (assigned == digits_result.labels[::9]).mean() >= 0.9
    saved = digits_result.save(tmp_path / "clusters")
    assert (saved / "manifest.json").is_file() and (saved / "encoder.keras").is_file()
    loaded = automl.load(saved)
    assert isinstance(loaded, automl.ClusterResult)
    np.testing.assert_array_equal(loaded.predict(new), assigned)
    np.testing.assert_array_equal(loaded.labels, digits_result.labels)
    assert loaded.scores["acc"] == pytest.approx(digits_result.scores["acc"])


def test_recluster(digits_result):
    fewer = digits_result.recluster(n_clusters=5)
    assert digits_result.k_curve.empty  # k was given
    assert fewer.n_clusters == 5 and len(np.unique(fewer.labels)) == 5
    assert fewer.scores["acc"] < digits_result.scores["acc"]
    kmeans = digits_result.recluster("umap_kmeans", 10)
    assert kmeans.method == "umap_kmeans" and kmeans.scores["acc"] >= 0.75
    np.testing.assert_array_equal(kmeans.embedding, digits_result.embedding)
    agglomerative = digits_result.recluster("umap_agglomerative", 10)
    new = agglomerative.predict(digits_result.data.iloc[:40])
    assert (new == agglomerative.labels[:40]).mean() >= 0.9
    with pytest.raises(InputError, match="method"):
        digits_result.recluster("spectral")


@pytest.mark.parametrize("kwargs, match", [
    ({"labels": "digits"}, r"`labels` column 'digits' is not in the data.*Did you mean \['digit'\]"),
    ({"method": "kmean"}, r"`method` must be one of .*Did you mean 'kmeans'"),
    ({"n_clusters": 1}, r"`n_clusters` must be >= 2"),
    ({"n_clusters": "many"}, r"`n_clusters` must be 'auto' or an integer"),
    ({"autoencoder": {"width": 3}}, r"Unknown `autoencoder` key\(s\) \['width'\]"),
    ({"method": "hdbscan", "n_clusters": 4}, r"finds the number of clusters itself"),
])
def test_bad_input(wine_df, kwargs, match):
    with pytest.raises(InputError, match=match):
        automl.cluster(wine_df.rename(columns={"target": "digit"}), verbose=0, **kwargs)


def test_bad_data():
    with pytest.raises(InputError, match="must be a pandas DataFrame"):
        automl.cluster(np.zeros((50, 3)), verbose=0)
    with pytest.raises(InputError, match="at least 20"):
        automl.cluster(pd.DataFrame({"a": range(5), "b": range(5)}), verbose=0)


def test_predict_missing_column(digits_result):
    with pytest.raises(InputError, match=r"missing column\(s\) \['pixel_10'\]"):
        digits_result.predict(digits_result.data.drop(columns="pixel_10").iloc[:5])


def test_fixed_autoencoder_and_embed(wine_df):
    """A fixed architecture, no search: wine's three cultivars are found from the embedding."""
    arch = {"hidden": (32,), "code_size": 4, "noise": 0.1, "epochs": 60, "patience": 10}
    result = automl.cluster(wine_df, labels="target", autoencoder=arch, method="kmeans", n_clusters=3,
                            verbose=0, time_budget=60)
    assert result.embedding.shape == (len(wine_df), 4)
    assert result.info["autoencoder"]["hidden"] == [32]
    assert result.scores["acc"] >= 0.8, result.scores
    assert result.k_curve.empty
    Z = automl.embed(wine_df, labels="target", autoencoder=arch, time_budget=60)
    assert Z.shape == (len(wine_df), 4) and np.isfinite(Z).all()


def test_autoencoder_estimator_manners():
    X = np.random.default_rng(0).normal(size=(120, 6)).astype("float32")
    ae = automl.Autoencoder(hidden=(16,), code_size=3, epochs=5, patience=2)
    assert not hasattr(ae, "encoder_") and ae.get_params()["code_size"] == 3
    assert ae.fit(X) is ae
    assert ae.transform(X).shape == (120, 3) and np.isfinite(ae.val_loss_)
    with pytest.raises(InputError, match="features"):
        ae.transform(X[:, :4])
    with pytest.raises(InputError, match="hidden"):
        automl.Autoencoder(hidden=(0,)).fit(X)


def test_methods_on_separated_blobs():
    """Selection, scores and profiles on data whose answer is known (no network)."""
    rng = np.random.default_rng(0)
    centres = np.array([[0, 0], [8, 0], [0, 8], [8, 8]])
    truth = np.repeat(np.arange(4), 60)
    Z = centres[truth] + rng.normal(scale=0.6, size=(240, 2))
    for algorithm in ("gmm", "kmeans", "agglomerative"):
        clustering, curve = select_k(Z, algorithm, range(2, 8))
        assert clustering.n_clusters == 4, (algorithm, curve)
        assert label_scores(truth, clustering.labels)["acc"] == 1.0
    assert curve["criterion"].iloc[0] == "silhouette"
    frame = pd.DataFrame({"height": Z[:, 0] * 10 + 150, "group": np.where(truth < 2, "a", "b")})
    schema = automl.data.infer_schema(frame)
    profiles = cluster_profiles(frame, truth, schema, top=2)
    top = profiles.loc[(profiles["cluster"] == 1) & (profiles["rank"] == 1)].iloc[0]
    assert top["feature"] == "height" and top["cluster_value"] == pytest.approx(230, abs=3)
    assert clustering_accuracy([0, 0, 1, 1], [5, 5, 7, 7]) == 1.0


def test_cluster_stays_the_function_after_importing_the_stage_modules():
    import importlib
    import inspect

    importlib.import_module("automl.clustering.methods")
    importlib.import_module("automl.clustering.pipeline")
    assert inspect.isfunction(automl.cluster) and automl.cluster.__module__ == "automl.clustering.pipeline"
