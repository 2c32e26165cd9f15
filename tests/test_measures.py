"""Exact checks of sim.measures on a hand-built world, plus property tests."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from sim.measures import (
    COMPARISONS,
    HEADLINE_KEYS,
    METRIC,
    METRICS,
    bootstrap_ci,
    bootstrap_interval,
    class_comparison,
    classify_people,
    concentration_index,
    credit_table,
    decile_table,
    excludes,
    gini,
    headline,
    lorenz_curve,
    n_large_for,
    person_activity,
    valuable_threshold,
)
from sim.tables import CLOSURE_COLUMNS, DECILE_COLUMNS, NEED_COLUMNS, PEOPLE_COLUMNS

# --- the hand-built world -------------------------------------------------------------
#
# Ten people. Ascending audience (ties by id): p1(1) p3(1) p6(2) p0(3) p2(4) p4(5) p8(5)
# p7(6) p5(9) p9(30), so person pK's decile is their position in that list + 1.
AUDIENCE = np.array([3, 1, 4, 1, 5, 9, 2, 6, 5, 30], dtype=np.int32)
DECILES = np.array([4, 1, 5, 2, 6, 9, 3, 8, 7, 10], dtype=np.int8)

# Five closures: two direct (one over a carrier), three referrals (one via a carrier).
CLOSURE_ROWS = [
    # need, kind,      path,          valuable, days, arrival
    (0, "direct", [0, 2], True, 0, "weak"),
    (1, "referral", [1, 3, 4], True, 1, "weak"),
    (2, "referral", [5, 9, 6, 7], True, 3, "medium"),
    (3, "direct", [8, 9, 0], False, 2, "strong"),
    (4, "referral", [2, 9, 1], False, 0, "weak"),
]
# Seven needs: the five closed ones, one expired valuable, one still open.
NEED_ROWS = [
    # need, seeker, valuable, status
    (0, 0, True, "closed"),
    (1, 1, True, "closed"),
    (2, 5, True, "closed"),
    (3, 8, False, "closed"),
    (4, 2, False, "closed"),
    (5, 3, True, "expired"),
    (6, 0, False, "open"),
]
N_TIES = 12


def make_closures(rows: list[tuple], audience: np.ndarray = AUDIENCE) -> pd.DataFrame:
    records = []
    for i, (need, kind, path, valuable, days, arrival) in enumerate(rows):
        broker = path[-2] if kind == "referral" else -1
        records.append(
            {
                "closure": i,
                "need": need,
                "day": 10 + days,
                "posted_day": 10,
                "days_to_close": days,
                "kind": kind,
                "seeker": path[0],
                "provider": path[-1],
                "broker": broker,
                "topic": 0,
                "value": 5.0 if valuable else 1.0,
                "valuable": valuable,
                "hops": len(path) - 1,
                "path": list(path),
                "path_strengths": [0.3] * (len(path) - 1),
                "arrival_strength": {"weak": 0.1, "medium": 0.3, "strong": 0.8}[arrival],
                "arrival_class": arrival,
                "new_tie": False,
                "seeker_audience": int(audience[path[0]]),
                "provider_audience": int(audience[path[-1]]),
                "broker_audience": int(audience[broker]) if broker >= 0 else -1,
                "accepted": True,
                "worked": True,
                "realised_value": 5.0 if valuable else 1.0,
                "broker_credibility": 1.0,
            }
        )
    frame = pd.DataFrame.from_records(records, columns=list(CLOSURE_COLUMNS))
    if frame.empty:
        frame = frame.astype({"kind": object, "valuable": bool, "broker": np.int32})
    return frame


def make_needs(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame.from_records(
        [
            {
                "need": need,
                "posted_day": 10,
                "seeker": seeker,
                "topic": 0,
                "value": 5.0 if valuable else 1.0,
                "valuable": valuable,
                "status": status,
                "closed_day": 11 if status == "closed" else -1,
                "seen_by": 3,
            }
            for need, seeker, valuable, status in rows
        ],
        columns=list(NEED_COLUMNS),
    )


def make_people(
    audience: np.ndarray,
    closures: pd.DataFrame,
    needs: pd.DataFrame,
    rule: str,
    large_fraction: float = 0.1,
) -> pd.DataFrame:
    n = len(audience)
    is_large, decile = classify_people(audience, large_fraction)
    activity = person_activity(n, closures, needs, rule)
    people = pd.DataFrame(
        {
            "person": np.arange(n, dtype=np.int32),
            "label": np.arange(n, dtype=np.int64),
            "audience": np.asarray(audience, dtype=np.int32),
            "community": np.zeros(n, dtype=np.int32),
            "topic": np.zeros(n, dtype=np.int32),
            "budget": np.ones(n),
            "is_large": is_large,
            "decile": decile,
            "final_audience": np.asarray(audience, dtype=np.int32),
            "carried": np.zeros(n, dtype=np.int32),
        }
    )
    people = pd.concat([people, activity], axis=1)
    people["loyalty"] = 0.0
    return people.loc[:, list(PEOPLE_COLUMNS)]


@pytest.fixture
def closures() -> pd.DataFrame:
    return make_closures(CLOSURE_ROWS)


@pytest.fixture
def needs() -> pd.DataFrame:
    return make_needs(NEED_ROWS)


# --- classify_people --------------------------------------------------------------------


def test_classify_people_deciles_and_top_ten_percent() -> None:
    is_large, decile = classify_people(AUDIENCE, 0.1)
    assert is_large.dtype == bool and decile.dtype == np.int8
    assert np.flatnonzero(is_large).tolist() == [9]
    np.testing.assert_array_equal(decile, DECILES)


@pytest.mark.parametrize(
    ("fraction", "large"),
    [
        (0.2, [5, 9]),
        (0.25, [5, 7, 9]),  # ceil(2.5) = 3
        (0.4, [4, 5, 7, 9]),  # p4 and p8 tie at 5: the smaller id wins the last seat
        (0.5, [4, 5, 7, 8, 9]),
        (0.01, [9]),  # at least one
        (0.99, [0, 1, 2, 4, 5, 6, 7, 8, 9]),  # n - 1; p1, p3 tie at 1: p3 (larger id) small
    ],
)
def test_classify_people_ties_and_boundaries(fraction: float, large: list[int]) -> None:
    is_large, _ = classify_people(AUDIENCE, fraction)
    assert np.flatnonzero(is_large).tolist() == large


def test_classify_people_all_equal_audiences_break_ties_by_id() -> None:
    is_large, decile = classify_people(np.full(20, 7), 0.15)
    assert np.flatnonzero(is_large).tolist() == [0, 1, 2]
    np.testing.assert_array_equal(decile, np.repeat(np.arange(1, 11), 2))


def test_classify_people_small_populations() -> None:
    is_large, decile = classify_people(np.array([5, 1, 3]), 0.1)
    assert is_large.tolist() == [True, False, False]
    assert decile.tolist() == [7, 1, 4]  # ranks 2, 0, 1 -> 1 + floor(10 r / 3)
    is_large, decile = classify_people(np.array([2, 8]), 0.9)
    assert is_large.tolist() == [False, True]  # at most n - 1
    assert decile.tolist() == [1, 6]
    is_large, decile = classify_people(np.array([4]), 0.1)
    assert is_large.tolist() == [True] and decile.tolist() == [1]
    is_large, decile = classify_people(np.zeros(0, dtype=int), 0.1)
    assert is_large.size == 0 and decile.size == 0


def test_n_large_for_ignores_float_noise() -> None:
    assert 0.07 * 100 > 7  # 7.000000000000001
    assert n_large_for(100, 0.07) == 7
    assert n_large_for(30, 0.1) == 3
    assert n_large_for(10_000, 0.1) == 1000
    assert n_large_for(7, 0.1) == 1
    assert n_large_for(0, 0.1) == 0


# --- valuable_threshold -----------------------------------------------------------------


def test_valuable_threshold_exact() -> None:
    assert valuable_threshold(0.0, 1.0, 0.5) == pytest.approx(1.0, abs=1e-15)
    assert valuable_threshold(0.0, 1.0, 0.9) == pytest.approx(math.exp(norm.ppf(0.9)), rel=1e-12)
    assert valuable_threshold(0.0, 1.0, 0.9) == pytest.approx(3.6022244792791552, rel=1e-12)
    assert valuable_threshold(1.5, 0.7, 0.75) == pytest.approx(
        math.exp(1.5 + 0.7 * norm.ppf(0.75)), rel=1e-12
    )
    assert valuable_threshold(2.0, 0.0, 0.9) == pytest.approx(math.exp(2.0), rel=1e-15)


@pytest.mark.parametrize(("sd", "q"), [(1.0, 0.0), (1.0, 1.0), (-1.0, 0.5)])
def test_valuable_threshold_rejects_bad_input(sd: float, q: float) -> None:
    with pytest.raises(ValueError):
        valuable_threshold(0.0, sd, q)


# --- credit_table -----------------------------------------------------------------------


def test_credit_table_broker(closures: pd.DataFrame) -> None:
    table = credit_table(closures, "broker")
    assert list(table.columns) == ["closure", "person", "credit", "valuable"]
    assert table.dtypes.astype(str).tolist() == ["int64", "int32", "float64", "bool"]
    assert table["closure"].tolist() == [1, 2, 4]
    assert table["person"].tolist() == [3, 6, 9]
    assert table["credit"].tolist() == [1.0, 1.0, 1.0]
    assert table["valuable"].tolist() == [True, True, False]


def test_credit_table_chain(closures: pd.DataFrame) -> None:
    table = credit_table(closures, "chain")
    assert table.dtypes.astype(str).tolist() == ["int64", "int32", "float64", "bool"]
    assert table["closure"].tolist() == [1, 2, 2, 3, 4]
    assert table["person"].tolist() == [3, 9, 6, 9, 9]
    assert table["credit"].tolist() == [1.0, 0.5, 0.5, 1.0, 1.0]
    assert table["valuable"].tolist() == [True, True, True, False, False]


def test_credit_table_accepts_numpy_paths(closures: pd.DataFrame) -> None:
    as_arrays = closures.copy()
    as_arrays["path"] = [np.asarray(p, dtype=np.int32) for p in closures["path"]]
    pd.testing.assert_frame_equal(credit_table(as_arrays, "chain"), credit_table(closures, "chain"))


@pytest.mark.parametrize("rule", ["broker", "chain"])
def test_credit_table_empty(rule: str) -> None:
    table = credit_table(make_closures([]), rule)
    assert len(table) == 0
    assert table.dtypes.astype(str).tolist() == ["int64", "int32", "float64", "bool"]
    assert len(credit_table(pd.DataFrame(), rule)) == 0


def test_credit_table_unknown_rule(closures: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="broker, chain"):
        credit_table(closures, "everyone")


# --- person_activity --------------------------------------------------------------------


def test_person_activity_broker(closures: pd.DataFrame, needs: pd.DataFrame) -> None:
    act = person_activity(10, closures, needs, "broker")
    assert list(act.columns) == [
        "sought", "provided", "brokered", "brokered_valuable", "credit", "credit_valuable",
    ]  # fmt: skip
    assert act.dtypes.astype(str).tolist() == ["int32"] * 4 + ["float64"] * 2
    assert act["sought"].tolist() == [2, 1, 1, 1, 0, 1, 0, 0, 1, 0]
    assert act["provided"].tolist() == [1, 1, 1, 0, 1, 0, 0, 1, 0, 0]
    assert act["brokered"].tolist() == [0, 0, 0, 1, 0, 0, 1, 0, 0, 1]
    assert act["brokered_valuable"].tolist() == [0, 0, 0, 1, 0, 0, 1, 0, 0, 0]
    assert act["credit"].tolist() == [0, 0, 0, 1, 0, 0, 1, 0, 0, 1]
    assert act["credit_valuable"].tolist() == [0, 0, 0, 1, 0, 0, 1, 0, 0, 0]


def test_person_activity_chain(closures: pd.DataFrame, needs: pd.DataFrame) -> None:
    act = person_activity(10, closures, needs, "chain")
    # brokered counts referrals whatever the credit rule
    assert act["brokered"].tolist() == [0, 0, 0, 1, 0, 0, 1, 0, 0, 1]
    assert act["credit"].tolist() == [0, 0, 0, 1, 0, 0, 0.5, 0, 0, 2.5]
    assert act["credit_valuable"].tolist() == [0, 0, 0, 1, 0, 0, 0.5, 0, 0, 0.5]


def test_person_activity_empty_and_out_of_range(needs: pd.DataFrame) -> None:
    act = person_activity(10, make_closures([]), make_needs([]), "broker")
    assert len(act) == 10 and (act.to_numpy() == 0).all()
    with pytest.raises(ValueError, match="0..4"):
        person_activity(5, make_closures([]), needs, "broker")


# --- decile_table -----------------------------------------------------------------------


def test_decile_table_exact(closures: pd.DataFrame, needs: pd.DataFrame) -> None:
    people = make_people(AUDIENCE, closures, needs, "chain")
    table = decile_table(people)
    assert tuple(table.columns) == DECILE_COLUMNS
    assert table["decile"].dtype == np.int8 and table["people"].dtype == np.int64
    assert table["decile"].tolist() == list(range(1, 11))
    assert table["people"].tolist() == [1] * 10
    assert table["mean_audience"].tolist() == [1, 1, 2, 3, 4, 5, 5, 6, 9, 30]
    # credit: p3 (decile 2) 1, p6 (decile 3) 0.5, p9 (decile 10) 2.5
    assert table["credit"].tolist() == [0, 1, 0.5, 0, 0, 0, 0, 0, 0, 2.5]
    assert table["credit_valuable"].tolist() == [0, 1, 0.5, 0, 0, 0, 0, 0, 0, 0.5]
    assert table["credit_per_capita"].tolist() == table["credit"].tolist()
    assert table["credit_valuable_per_capita"].tolist() == table["credit_valuable"].tolist()
    expected = [0, 1.0, 0.25, 0, 0, 0, 0, 0, 0, 0.5 / 30]
    assert table["credit_valuable_per_audience"].tolist() == pytest.approx(expected, abs=1e-15)
    assert table["frac_brokering_valuable"].tolist() == [0, 1, 1, 0, 0, 0, 0, 0, 0, 1]


def test_decile_table_groups_and_skips_missing_deciles() -> None:
    people = pd.DataFrame(
        {
            "decile": np.array([1, 1, 4, 7, 7, 7], dtype=np.int8),
            "audience": [1, 3, 0, 5, 5, 10],
            "credit": [1.0, 0.0, 2.0, 0.0, 1.0, 3.0],
            "credit_valuable": [1.0, 0.0, 0.0, 0.0, 0.5, 1.5],
            "is_large": [False] * 6,
        }
    )
    table = decile_table(people)
    assert table["decile"].tolist() == [1, 4, 7]
    assert table["people"].tolist() == [2, 1, 3]
    assert table["mean_audience"].tolist() == [2.0, 0.0, 20 / 3]
    assert table["credit"].tolist() == [1.0, 2.0, 4.0]
    assert table["credit_valuable"].tolist() == [1.0, 0.0, 2.0]
    assert table["credit_per_capita"].tolist() == [0.5, 2.0, 4 / 3]
    assert table["credit_valuable_per_capita"].tolist() == [0.5, 0.0, 2 / 3]
    per_audience = table["credit_valuable_per_audience"].tolist()
    assert per_audience[0] == 0.25 and math.isnan(per_audience[1]) and per_audience[2] == 0.1
    assert table["frac_brokering_valuable"].tolist() == [0.5, 0.0, 2 / 3]


# --- headline ---------------------------------------------------------------------------

COMMON = {
    "n_people": 10,
    "n_ties": N_TIES,
    "n_large": 1,
    "n_small": 9,
    "n_needs": 7,
    "n_valuable_needs": 4,
    "n_closed": 5,
    "n_direct": 2,
    "n_brokered": 3,
    "n_valuable_closed": 3,
    "n_valuable_brokered": 2,
    "closure_rate": 5 / 7,
    "valuable_closure_rate": 3 / 4,
    "small_population_share": 0.9,
    "frac_small_brokering_valuable": 2 / 9,
    "weak_tie_share_brokered": 2 / 3,
    "mean_hops": 2.0,
    "mean_days_to_close": 1.2,
    "median_days_to_close": 1.0,
    "gini_audience": 344 / 660,  # sum_i (2i - n - 1) x_(i) / (n sum x), sorted audiences
    # Referral quality (no trust rule: every referral worked, at its full value).
    "n_referrals_worked": 3,
    "realised_valuable_small": 2,  # p3 and p6
    "realised_valuable_large": 0,
    "small_share_realised_valuable": 1.0,
    "success_rate_small": 1.0,
    "success_rate_large": 1.0,
    "realised_value_per_audience_ratio_small_large": (10 / 36) / (1 / 30),  # p9's value 1
    # Nobody has a measured loyalty here (0): no loyal or less loyal brokers.
    "success_rate_loyal": math.nan,
    "success_rate_unloyal": math.nan,
    "realised_value_per_capita_ratio_loyal": math.nan,
    "realised_value_per_audience_ratio_loyal": math.nan,
}


def assert_headline(got: dict, expected: dict) -> None:
    assert tuple(got) == HEADLINE_KEYS
    assert set(expected) == set(HEADLINE_KEYS)
    for key in HEADLINE_KEYS:
        value, want = got[key], expected[key]
        assert type(value) in (int, float), key
        if isinstance(want, int):
            assert type(value) is int and value == want, key
        elif math.isnan(want):
            assert math.isnan(value), key
        else:
            assert type(value) is float, key
            assert value == pytest.approx(want, rel=1e-12, abs=1e-15), key


def test_headline_broker(closures: pd.DataFrame, needs: pd.DataFrame) -> None:
    people = make_people(AUDIENCE, closures, needs, "broker")
    expected = COMMON | {
        "small_share_valuable_brokered": 1.0,  # valuable referrals by p3 and p6, both small
        "small_share_brokered": 2 / 3,  # p9 (large) brokered the third referral
        "per_capita_ratio_large_small": 0.0,  # (0 / 1) / (2 / 9)
        "per_audience_ratio_small_large": math.nan,  # large: 0 per tie -> undefined
        "frac_large_brokering_valuable": 0.0,
        "top_decile_credit_share": 0.0,
        "gini_credit_valuable": 0.8,  # [0]*8 + [1, 1]: (7 + 9) / (10 * 2)
    }
    assert_headline(headline(people, closures, needs, N_TIES), expected)


def test_headline_chain(closures: pd.DataFrame, needs: pd.DataFrame) -> None:
    people = make_people(AUDIENCE, closures, needs, "chain")
    expected = COMMON | {
        "small_share_valuable_brokered": 0.75,  # p3 1 + p6 0.5 of 2
        "small_share_brokered": 0.375,  # 1.5 of 4
        "per_capita_ratio_large_small": 3.0,  # (0.5 / 1) / (1.5 / 9)
        "per_audience_ratio_small_large": 2.5,  # (1.5 / 36) / (0.5 / 30)
        "frac_large_brokering_valuable": 1.0,
        "top_decile_credit_share": 0.25,
        "gini_credit_valuable": 0.75,  # [0]*7 + [.5, .5, 1]: (5*.5 + 7*.5 + 9) / 20
    }
    assert_headline(headline(people, closures, needs, N_TIES), expected)


def test_headline_without_closures_is_nan_not_error() -> None:
    closures = make_closures([])
    needs = make_needs(NEED_ROWS[5:])
    people = make_people(AUDIENCE, closures, needs, "broker")
    got = headline(people, closures, needs, N_TIES)
    assert got["n_closed"] == 0 and got["n_brokered"] == 0 and got["closure_rate"] == 0.0
    for key in (
        "small_share_valuable_brokered", "small_share_brokered", "per_capita_ratio_large_small",
        "per_audience_ratio_small_large", "weak_tie_share_brokered", "mean_hops",
        "mean_days_to_close", "median_days_to_close", "top_decile_credit_share",
        "gini_credit_valuable",
    ):  # fmt: skip
        assert math.isnan(got[key]), key
    assert got["frac_small_brokering_valuable"] == 0.0
    got = headline(people, closures, make_needs([]), 0)
    assert math.isnan(got["closure_rate"]) and math.isnan(got["valuable_closure_rate"])


# --- gini, lorenz, bootstrap ------------------------------------------------------------


def test_gini_exact() -> None:
    assert gini([1, 2, 3, 4]) == pytest.approx(0.25, abs=1e-15)
    assert gini([0, 0, 0, 1]) == pytest.approx(0.75, abs=1e-15)
    assert gini([4, 3, 2, 1]) == gini([1, 2, 3, 4])
    assert gini([0.1] * 7) == 0.0
    assert gini([5]) == 0.0
    assert math.isnan(gini([])) and math.isnan(gini([0, 0]))
    with pytest.raises(ValueError):
        gini([1, -1])
    with pytest.raises(ValueError):
        gini([1, float("nan")])


def test_lorenz_exact() -> None:
    pop, share = lorenz_curve([4, 1, 3, 2])
    np.testing.assert_allclose(pop, [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_allclose(share, [0, 0.1, 0.3, 0.6, 1], atol=1e-15)
    pop, share = lorenz_curve([0, 0])
    np.testing.assert_allclose(pop, [0, 0.5, 1])
    assert np.isnan(share).all()


def test_bootstrap_ci_deterministic_and_sane() -> None:
    values = np.random.default_rng(3).normal(10.0, 2.0, size=200)
    low, high = bootstrap_ci(values)
    assert (low, high) == bootstrap_ci(values)
    assert (low, high) == bootstrap_ci(values, rng=np.random.default_rng(0))
    assert low < values.mean() < high
    assert high - low == pytest.approx(2 * 1.96 * values.std(ddof=1) / math.sqrt(200), rel=0.15)
    # a statistic without axis= gives the same resamples, hence the same interval
    assert bootstrap_ci(values, stat=lambda x: float(np.mean(x)), n_boot=300) == pytest.approx(
        bootstrap_ci(values, n_boot=300), rel=1e-12
    )
    assert bootstrap_ci([3.0, 3.0, 3.0]) == (3.0, 3.0)
    assert bootstrap_ci([1.0, float("nan"), 1.0], stat=np.median) == (1.0, 1.0)
    assert all(math.isnan(x) for x in bootstrap_ci([]))
    with pytest.raises(ValueError):
        bootstrap_ci([1.0], level=1.0)
    with pytest.raises(ValueError):
        bootstrap_ci([1.0], n_boot=0)


def test_bootstrap_is_scipys_bca_where_the_sample_allows() -> None:
    import scipy.stats

    skewed = np.random.default_rng(4).lognormal(0.0, 1.0, size=12)
    got = bootstrap_interval(skewed, n_boot=2000, rng=5)
    want = scipy.stats.bootstrap((skewed,), np.mean, n_resamples=2000, method="BCa",
                                 rng=np.random.default_rng(5), batch=4_000_000 // 12)
    assert got.method == "BCa"
    assert (got.low, got.high) == (want.confidence_interval.low, want.confidence_interval.high)
    percentile = scipy.stats.bootstrap((skewed,), np.mean, n_resamples=2000,
                                       method="percentile", rng=np.random.default_rng(5))
    assert got.low != percentile.confidence_interval.low  # BCa really corrects the skew


def test_bootstrap_falls_back_and_says_so() -> None:
    two = bootstrap_interval([1.0, 3.0], n_boot=500)
    assert two.method == "percentile" and 1.0 <= two.low <= two.high <= 3.0
    assert tuple(bootstrap_interval([2.0, 2.0, 2.0, 2.0])) == (2.0, 2.0, "exact")
    one = bootstrap_interval([5.0, float("nan")])
    assert one.method == "none" and math.isnan(one.low) and math.isnan(one.high)
    # BCa is undefined when every jackknife mean is equal although the values differ:
    # [0, 0, 1] has a jackknife spread, but a sample whose statistic ignores the
    # spread (the median of [0, 0, 0, 1]) gives scipy a degenerate BCa: percentile then.
    median = bootstrap_interval([0.0, 0.0, 0.0, 1.0], stat=np.median, n_boot=500)
    assert median.method == "percentile" and median.low == 0.0


def test_concentration_index_is_the_index_of_the_curve_in_that_order() -> None:
    credit = np.array([0.0, 3.0, 1.0, 0.0])
    audience = np.array([1, 2, 3, 4])
    # audience order: credit 0, 3, 1, 0 -> weights -3, -1, 1, 3 -> (-3 + 1) / (4 * 4)
    assert concentration_index(credit, audience) == pytest.approx(-2 / 16)
    assert concentration_index(credit, credit) == pytest.approx(gini(credit))
    x, y = np.linspace(0, 1, 5), np.concatenate([[0], np.cumsum(credit) / 4])
    area = float(np.sum((y[1:] + y[:-1]) / 2 * np.diff(x)))
    assert concentration_index(credit, audience) == pytest.approx(1 - 2 * area)
    assert math.isnan(concentration_index([0, 0], [1, 2]))
    with pytest.raises(ValueError):
        concentration_index([1, 2], [1])


def test_excludes_tells_the_side_of_the_null() -> None:
    assert excludes((1.2, 3.0), 1.0) == 1
    assert excludes((0.2, 0.9), 1.0) == -1
    assert excludes((0.8, 1.3), 1.0) == 0
    assert excludes((1.0, 2.0), 1.0) == 0  # touching the null is not excluding it
    assert excludes((float("nan"), float("nan")), 1.0) == 0


def test_one_metric_list() -> None:
    assert HEADLINE_KEYS == tuple(m.key for m in METRICS) == tuple(METRIC)
    assert len(set(HEADLINE_KEYS)) == len(HEADLINE_KEYS)
    assert all(METRIC[k].small_wins for k in COMPARISONS)
    assert METRIC["per_capita_ratio_large_small"].small_wins == "lower"
    assert METRIC["per_audience_ratio_small_large"].null == 1.0
    assert all(m.unit in {"count", "share", "ratio", "ties", "days", "index"} for m in METRICS)


def test_class_comparison_is_the_headline_formula() -> None:
    people, closures, needs = _comparison_run()
    metrics = headline(people, closures, needs, 10)
    small = ~people["is_large"].to_numpy()
    cv = people["credit_valuable"].to_numpy(np.float64)
    aud = people["audience"].to_numpy(np.float64)
    got = class_comparison(cv[small].sum(), cv[~small].sum(), int(small.sum()),
                           int((~small).sum()), aud[small].sum(), aud[~small].sum())
    for key in COMPARISONS:
        assert got[key] == pytest.approx(metrics[key], rel=1e-15)
    assert got == {"small_share_valuable_brokered": 2 / 3,
                   "per_capita_ratio_large_small": pytest.approx((1 / 1) / (2 / 3)),
                   "per_audience_ratio_small_large": pytest.approx((2 / 6) / (1 / 9))}
    assert math.isnan(class_comparison(0, 0, 3, 1, 6, 9)["per_capita_ratio_large_small"])


def _comparison_run() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Four people: three small (audience 1, 2, 3), one large (9); credit 1, 1, 0 and 1."""
    people = pd.DataFrame({"audience": [1, 2, 3, 9], "is_large": [False, False, False, True],
                           "decile": [1, 4, 7, 10], "credit": [1.0, 1.0, 0.0, 1.0],
                           "credit_valuable": [1.0, 1.0, 0.0, 1.0]})
    closures = pd.DataFrame({"kind": ["referral"] * 3, "valuable": [True] * 3, "hops": [2] * 3,
                             "days_to_close": [1] * 3, "arrival_class": ["weak"] * 3})
    needs = pd.DataFrame({"valuable": [True] * 3})
    return people, closures, needs


# --- properties -------------------------------------------------------------------------


@st.composite
def worlds(draw: st.DrawFn) -> tuple[np.ndarray, pd.DataFrame]:
    n = draw(st.integers(3, 25))
    audience = np.array(draw(st.lists(st.integers(0, 50), min_size=n, max_size=n)))
    rows = []
    for i in range(draw(st.integers(0, 12))):
        path = draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=6, unique=True))
        kind = "referral" if len(path) >= 3 and draw(st.booleans()) else "direct"
        valuable = draw(st.booleans())
        arrival = draw(st.sampled_from(["weak", "medium", "strong"]))
        rows.append((i, kind, path, valuable, draw(st.integers(0, 6)), arrival))
    return audience, make_closures(rows, audience)


@settings(max_examples=150, deadline=None)
@given(worlds())
def test_chain_credit_sums_to_one_per_closure(world: tuple[np.ndarray, pd.DataFrame]) -> None:
    _, closures = world
    table = credit_table(closures, "chain")
    lengths = closures["path"].map(len)
    with_between = set(closures.loc[lengths >= 3, "closure"])
    sums = table.groupby("closure")["credit"].sum()
    assert set(sums.index) == with_between
    np.testing.assert_allclose(sums.to_numpy(), 1.0, rtol=1e-12)
    broker = credit_table(closures, "broker")
    assert (
        broker["closure"].tolist()
        == closures.loc[closures["kind"] == "referral", "closure"].tolist()
    )
    assert (broker["credit"] == 1.0).all()


@settings(max_examples=150, deadline=None)
@given(worlds(), st.sampled_from(["broker", "chain"]), st.integers(1, 9))
def test_small_and_large_shares_sum_to_one(
    world: tuple[np.ndarray, pd.DataFrame], rule: str, tenths: int
) -> None:
    audience, closures = world
    needs = make_needs([(i, 0, False, "closed") for i in range(len(closures))])
    people = make_people(audience, closures, needs, rule, tenths / 10)
    got = headline(people, closures, needs, 0)
    assert got["small_population_share"] + got["n_large"] / got["n_people"] == pytest.approx(1.0)
    large = people["is_large"].to_numpy()
    for key, column in (("small_share_valuable_brokered", "credit_valuable"),
                        ("small_share_brokered", "credit")):  # fmt: skip
        values = people[column].to_numpy()
        if values.sum() > 0:
            assert got[key] + values[large].sum() / values.sum() == pytest.approx(1.0)
        else:
            assert math.isnan(got[key])
    table = decile_table(people)
    assert table["people"].sum() == len(people)
    assert table["credit_valuable"].sum() == pytest.approx(people["credit_valuable"].sum())


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(0, 40), min_size=2, max_size=300),
    st.integers(1, 999),
)
def test_classify_people_properties(audience_list: list[int], per_mille: int) -> None:
    audience = np.array(audience_list)
    n = audience.size
    is_large, decile = classify_people(audience, per_mille / 1000)
    expected = min(max(-(-per_mille * n // 1000), 1), n - 1)  # exact integer ceil, clamped
    assert is_large.sum() == expected
    assert audience[is_large].min() >= audience[~is_large].max()
    assert decile.min() >= 1 and decile.max() <= 10
    order = np.lexsort((np.arange(n), audience))
    assert (np.diff(decile[order]) >= 0).all()  # monotone in audience
    counts = np.bincount(decile, minlength=11)[1:]
    if n >= 10:
        assert counts.min() >= n // 10 and counts.max() <= -(-n // 10)


@settings(max_examples=200, deadline=None)
@given(
    # zero or normal floats: subnormal totals underflow to zero when scaled
    st.lists(st.just(0.0) | st.floats(1e-6, 1e6), min_size=1, max_size=60),
    st.floats(0.5, 8),
)
def test_gini_properties(values: list[float], scale: float) -> None:
    x = np.array(values)
    g = gini(x)
    if x.sum() == 0:
        assert math.isnan(g)
        return
    n = x.size
    assert -1e-12 <= g <= 1 - 1 / n + 1e-12
    assert gini(x * scale) == pytest.approx(g, abs=1e-9)
    pop, share = lorenz_curve(x)
    area = float(np.sum((share[1:] + share[:-1]) / 2 * np.diff(pop)))
    assert g == pytest.approx(1 - 2 * area, abs=1e-9)
