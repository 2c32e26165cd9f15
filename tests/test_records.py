"""The typed records of a run: DayStats, the closure table and log, the tables' schemas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import make_world

import sim
from sim import Config, run
from sim.config import CascadeConfig, NeedsConfig, NetworkConfig, PeopleConfig
from sim.engine import Columns
from sim.model import ReferralModel
from sim.records import ClosureLog, ClosureTable, DayStats
from sim.state import Trails
from sim.tables import (
    CLOSURE_SCHEMA,
    DECILE_SCHEMA,
    NEED_SCHEMA,
    TIMESERIES_COLUMNS,
    TIMESERIES_SCHEMA,
)


def table(needs, paths, day=0):
    """A ClosureTable of direct closures of ``needs`` along ``paths``."""
    m = len(needs)
    lengths = [len(p) for p in paths]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    s_offsets = offsets - np.arange(m + 1)
    return ClosureTable(
        need=np.asarray(needs, np.int64), day=np.full(m, day, np.int32),
        kind=np.zeros(m, np.int8), seeker=np.array([p[0] for p in paths], np.int32),
        provider=np.array([p[-1] for p in paths], np.int32), broker=np.full(m, -1, np.int32),
        via=np.zeros(m, np.int64), hops=np.array(lengths, np.int32) - 1,
        w_arrival=np.full(m, 0.5), w_referral=np.zeros(m), new_tie=np.zeros(m, bool),
        accepted=np.ones(m, bool), worked=np.ones(m, bool), realised_value=np.ones(m),
        credibility=np.ones(m), path_offsets=offsets,
        path=np.concatenate([np.asarray(p, np.int32) for p in paths]),
        strength_offsets=s_offsets, strengths=np.arange(s_offsets[-1], dtype=np.float64))


def test_sim_exports_the_records():
    assert sim.DayStats is DayStats and sim.ClosureTable is ClosureTable
    assert {"DayStats", "ClosureTable"} <= set(sim.__all__)


def test_day_stats_fields_are_the_timeseries_columns():
    assert DayStats._fields == TIMESERIES_COLUMNS == tuple(TIMESERIES_SCHEMA)
    day = DayStats(3, 10, 7, 2, 1, 1, 1, 0, 50, 9, 4, 1, 0.25)
    assert day.counts() == (3, 10, 7, 2, 1, 1, 1, 0, 50, 9, 4, 1)
    assert (day.views, day.mean_strength) == (9, 0.25)


def test_closure_table_paths_concat_and_rows_from():
    a = table([4, 7], [[0, 1], [2, 3, 5]], day=0)
    b = table([9], [[6, 8, 1, 2]], day=1)
    assert len(a) == 2 and a.path_of(1).tolist() == [2, 3, 5]
    assert a.strengths_of(1).tolist() == [1.0, 2.0]
    both = ClosureTable.concat([a, b])
    assert both.need.tolist() == [4, 7, 9] and both.day.tolist() == [0, 0, 1]
    assert [both.path_of(i).tolist() for i in range(3)] == [[0, 1], [2, 3, 5], [6, 8, 1, 2]]
    assert both.strengths_of(2).tolist() == [0.0, 1.0, 2.0]
    tail = both.rows_from(1)
    assert tail.need.tolist() == [7, 9]
    assert [tail.path_of(i).tolist() for i in range(2)] == [[2, 3, 5], [6, 8, 1, 2]]
    assert tail.strengths_of(0).tolist() == [1.0, 2.0]
    assert len(ClosureTable.concat([])) == 0 and ClosureTable.empty().path_offsets.tolist() == [0]


def test_closure_log_since():
    log = ClosureLog()
    assert len(log) == 0 and len(log.since(0)) == 0
    log.append(table([4, 7], [[0, 1], [2, 3, 5]]))
    log.append(table([9], [[6, 8]], day=1))
    assert len(log) == 3
    assert log.table().need.tolist() == [4, 7, 9]
    assert log.since(1).need.tolist() == [7, 9]
    assert log.since(1).path_of(0).tolist() == [2, 3, 5]
    assert log.since(2).need.tolist() == [9]
    assert len(log.since(3)) == 0


def test_columns_grow_together_and_give_the_kernels_view():
    cols = Columns(Trails, person=(np.int32, 0), parent=(np.int64, -1), hop=(np.int32, 0),
                   w=(np.float64, 0))
    cols.append(np.array([5, 6], np.int32), np.array([-1, 0]), np.array([0, 1], np.int32),
                np.array([1.0, 0.5]))
    assert cols.n == 2 and cols.person.view().tolist() == [5, 6]
    view = cols.arrays()
    assert isinstance(view, Trails) and view.parent[:2].tolist() == [-1, 0]
    cols.reserve(5000)
    assert cols.hop.data.shape[0] >= 5002 and cols.parent.data[2] == -1
    cols.set_count(3)
    assert cols.person.n == cols.w.n == 3
    with pytest.raises(ValueError, match="do not match Trails"):
        Columns(Trails, person=(np.int32, 0))


def test_world_keeps_daily_stats_and_closures_typed():
    world = make_world([(0, 1), (1, 2)], topics=[0, 1, 2])
    world.post_needs([0], [2], [1.0])
    world.step()
    [day] = world.daily
    assert isinstance(day, DayStats)
    assert (day.day, day.needs_posted, day.closures, day.referrals, day.views) == (0, 1, 1, 1, 1)
    closed = world.closures.since(0)
    assert closed.path_of(0).tolist() == [0, 1, 2] and closed.broker.tolist() == [1]


def test_mesa_datacollector_collects_the_day_stats():
    cfg = Config(seed=4, days=20, warmup_days=0, people=PeopleConfig(n=34),
                 network=NetworkConfig(name="karate"))
    model = ReferralModel(cfg)
    for _ in range(cfg.days):
        model.step()
    frame = model.datacollector.get_model_vars_dataframe()
    assert list(frame.columns) == list(TIMESERIES_COLUMNS)
    expected = pd.DataFrame(model.world.daily, columns=list(TIMESERIES_COLUMNS))
    pd.testing.assert_frame_equal(frame.reset_index(drop=True), expected, check_dtype=False)
    # sim.run collects the same series (its timeseries table) without the collector.
    pd.testing.assert_frame_equal(run(cfg).timeseries, expected.astype(TIMESERIES_SCHEMA))


def test_cascade_mode_tables_have_their_columns_and_no_rows(tmp_path):
    cfg = Config(seed=2, mode="cascade", people=PeopleConfig(n=500),
                 cascade=CascadeConfig(transmissibility=0.3, n_cascades=5))
    result = run(cfg)
    for name, schema in (("closures", CLOSURE_SCHEMA), ("needs", NEED_SCHEMA),
                         ("timeseries", TIMESERIES_SCHEMA), ("deciles", DECILE_SCHEMA)):
        frame = getattr(result, name)
        assert frame.shape == (0, len(schema)), name
        assert dict(frame.dtypes.astype(str)) == schema, name
    result.save(tmp_path)
    for name in ("closures", "needs", "timeseries", "deciles"):
        back = pd.read_parquet(tmp_path / f"{name}.parquet")
        assert list(back.columns) == list(getattr(result, name).columns) and len(back) == 0
    assert list(pd.read_csv(tmp_path / "timeseries.csv").columns) == list(TIMESERIES_COLUMNS)


def test_referral_run_without_closures_has_typed_closures():
    cfg = Config(seed=1, days=3, people=PeopleConfig(n=50), needs=NeedsConfig(rate=0.0))
    result = run(cfg)
    assert result.closures.shape == (0, len(CLOSURE_SCHEMA))
    assert dict(result.closures.dtypes.astype(str)) == CLOSURE_SCHEMA


def test_summary_says_n_a_for_ratios_without_valuable_referrals():
    import importlib

    from sim.config import Config

    run_module = importlib.import_module("sim.run")
    result = run_module.run(Config(days=3, warmup_days=0, people=PeopleConfig(n=200)))
    metrics = dict(result.metrics, per_capita_ratio_large_small=float("nan"),
                   per_audience_ratio_small_large=float("nan"))
    text = run_module.summarize(metrics, result.config)
    assert "n/ax" not in text
    assert ("per person, a large person brokers n/a (no valuable referral to compare) as many"
            in text)
