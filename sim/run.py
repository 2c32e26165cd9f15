"""Run a configured simulation and collect its tidy tables: ``sim.run(config)``.

No Hydra here: notebooks and scripts call :func:`run` with a
:class:`sim.config.Config`; the Hydra app in ``experiments`` does the same.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from sim import kernels, measures
from sim.config import Config, to_dict, validate
from sim.engine import STATUS_NAMES
from sim.io import json_dumps, write_csv, write_parquet, write_text
from sim.model import ReferralModel
from sim.percolation import cascade_metrics
from sim.rng import stream
from sim.tables import (
    CASCADE_COLUMNS,
    CLOSURE_COLUMNS,
    CLOSURE_SCHEMA,
    DECILE_SCHEMA,
    NEED_COLUMNS,
    NEED_SCHEMA,
    PEOPLE_COLUMNS,
    TIMESERIES_COLUMNS,
    TIMESERIES_SCHEMA,
    empty_table,
)
from sim.ties import tie_class


@dataclass
class Result:
    """Everything a run produced.

    Attributes:
        config: The configuration that ran.
        metrics: Headline numbers (see ``sim.measures.headline``), JSON-ready.
        people, closures, needs, timeseries, deciles: Tidy tables
            (``sim.tables``); in cascade mode all but ``people`` have their
            columns and no rows.
        cascades: One row per cascade (cascade mode), else ``None``.
        timings: Wall-clock seconds of ``build`` and ``run``.
    """

    config: Config
    metrics: dict[str, Any]
    people: pd.DataFrame
    closures: pd.DataFrame
    needs: pd.DataFrame
    timeseries: pd.DataFrame
    deciles: pd.DataFrame
    cascades: pd.DataFrame | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The run's tables by file stem (``closures``, ``people``, ...)."""
        out = {"people": self.people, "closures": self.closures, "needs": self.needs,
               "timeseries": self.timeseries, "deciles": self.deciles}
        if self.cascades is not None:
            out["cascades"] = self.cascades
        return out

    def save(self, folder: str | os.PathLike, csv: bool = True) -> list[Path]:
        """Write ``metrics.json`` and every table as Parquet (and CSV) into ``folder``.

        Each file is written to a temporary name and renamed, so a reader never
        sees a partial file; ``metrics.json`` goes last and marks a complete run.
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for name, table in self.tables().items():
            written.append(write_parquet(table, folder / f"{name}.parquet"))
            if csv and name in ("people", "deciles", "timeseries", "cascades"):
                written.append(write_csv(table, folder / f"{name}.csv"))
        payload = {"status": "ok", "metrics": self.metrics, "timings": self.timings,
                   "config": to_dict(self.config)}
        written.append(write_text(json_dumps(payload), folder / "metrics.json"))
        return written

    def summary(self) -> str:
        """A short human summary: headline numbers, small next to large."""
        return summarize(self.metrics, self.config)


def run(config: Config | None = None, progress: bool = False,
        on_day: Callable[[ReferralModel], None] | None = None) -> Result:
    """Run one simulation.

    Args:
        config: What to run (default: ``Config()``). Validated first.
        progress: Show a progress bar over days (or cascades).
        on_day: Called with the model after every day (referral mode).

    Returns:
        A :class:`Result` with metrics and tables.

    Raises:
        ConfigError: A bad value or input file (nothing has run).
    """
    config = validate(config or Config())  # the run's one check
    t0 = time.perf_counter()
    model = ReferralModel(config, checked=True)
    build = time.perf_counter() - t0
    t1 = time.perf_counter()
    if config.mode == "cascade":
        result = _run_cascades(model, progress)
    else:
        # The warm-up days first, then the measured ones (see collect).
        days = range(config.warmup_days + config.days)
        if progress:
            from tqdm.auto import tqdm

            days = tqdm(days, desc="days", unit="day", leave=False)
        for _ in days:
            # The arrays directly: the timeseries table is the model's series,
            # without the Mesa DataCollector's cost per day (see sim.model).
            model.world.step()
            if on_day is not None:
                on_day(model)
        result = collect(model)
    result.timings = {"build": build, "run": time.perf_counter() - t1}
    result.metrics["seconds_build"] = round(build, 4)
    result.metrics["seconds_run"] = round(result.timings["run"], 4)
    return result


def _people_table(model: ReferralModel) -> pd.DataFrame:
    w = model.world
    n = w.n
    labels = model.graph.labels if model.graph.labels is not None else np.arange(n)
    return pd.DataFrame({
        "person": np.arange(n, dtype=np.int32),
        "label": np.asarray(labels, np.int64),
        "audience": w.audience.astype(np.int32),
        "community": w.community,
        "topic": w.topic,
        "budget": w.budget,
        "is_large": model.is_large,
        "decile": model.decile,
        "final_audience": w.ties.row_len.astype(np.int32),
        "carried": w.carried - w.carried_before_measurement(),
        "loyalty": w.loyalty,
    })


def collect(model: ReferralModel) -> Result:
    """Build the tables and metrics of a referral-mode model as it stands now.

    Only the measured part counts: needs posted from day ``warmup_days`` on,
    their closures, and the days from ``warmup_days`` on (passes counted in
    ``carried`` likewise).
    """
    w = model.world
    cfg = model.config
    first = cfg.warmup_days
    cols = w.needs
    n_needs = cols.n
    status = cols.status.view()
    value = cols.value.view()
    valuable = value >= model.valuable_threshold
    needs = pd.DataFrame({
        "need": np.arange(n_needs, dtype=np.int64),
        "posted_day": cols.posted.view().copy(),
        "seeker": cols.seeker.view().copy(),
        "topic": cols.topic.view().copy(),
        "value": value.copy(),
        "valuable": valuable,
        "status": np.asarray(STATUS_NAMES, dtype=object)[status],
        "closed_day": cols.closed_day.view().copy(),
        "seen_by": cols.seen.view().copy(),
    })[list(NEED_COLUMNS)]
    closures = _closures_table(model, valuable)
    if first > 0:
        needs = needs[needs["posted_day"] >= first].reset_index(drop=True)
        closures = closures[closures["posted_day"] >= first].reset_index(drop=True)
        closures["closure"] = np.arange(len(closures), dtype=np.int64)
    people = _people_table(model)
    activity = measures.person_activity(w.n, closures, needs, cfg.measures.credit)
    for col in activity.columns:
        people[col] = activity[col].to_numpy()
    people = people[list(PEOPLE_COLUMNS)]
    timeseries = pd.DataFrame(w.daily[first:], columns=list(TIMESERIES_COLUMNS)).astype(
        TIMESERIES_SCHEMA)
    deciles = measures.decile_table(people)
    metrics = measures.headline(people, closures, needs, w.n_ties)
    metrics = {"mode": "referral", "seed": cfg.seed, "days": max(w.day - first, 0),
               "warmup_days": min(w.day, first), **metrics,
               "n_messages": int(timeseries["messages"].sum()),
               "n_new_ties": int(timeseries["new_ties"].sum()),
               "valuable_threshold": float(model.valuable_threshold),
               "mean_strength_start": float(np.mean(w.initial_strength)) if w.n_ties else 0.0,
               "mean_strength_end": w.ties.mean_strength(),
               "network": cfg.network.name,
               "knockout_target": cfg.knockout.target,
               "n_removed": int(w.removed.sum()),
               "removed_audience": int(w.audience[w.removed].sum())}
    return Result(cfg, metrics, people, closures, needs, timeseries, deciles)


def _closures_table(model: ReferralModel, valuable: np.ndarray) -> pd.DataFrame:
    w = model.world
    log = w.closures.table()
    if len(log) == 0:
        return empty_table(CLOSURE_SCHEMA)
    need = log.need
    m = need.shape[0]
    broker = log.broker
    seeker = log.seeker
    posted = w.needs.posted.data[need]
    paths = pa.ListArray.from_arrays(pa.array(log.path_offsets, pa.int64()),
                                     pa.array(log.path, pa.int32()))
    strengths = pa.ListArray.from_arrays(pa.array(log.strength_offsets, pa.int64()),
                                         pa.array(log.strengths, pa.float64()))
    tc = model.config.ties
    aud = w.audience
    return pd.DataFrame({
        "closure": np.arange(m, dtype=np.int64),
        "need": need,
        "day": log.day,
        "posted_day": posted,
        "days_to_close": (log.day - posted).astype(np.int32),
        "kind": np.where(log.kind == kernels.REFERRAL, "referral", "direct"),
        "seeker": seeker,
        "provider": log.provider,
        "broker": broker,
        "topic": w.needs.topic.data[need],
        "value": w.needs.value.data[need],
        "valuable": valuable[need],
        "hops": log.hops,
        "path": paths.to_pandas(),
        "path_strengths": strengths.to_pandas(),
        "arrival_strength": log.w_arrival,
        "arrival_class": tie_class(log.w_arrival, tc.weak_below, tc.strong_above),
        "new_tie": log.new_tie,
        "seeker_audience": aud[seeker].astype(np.int32),
        "provider_audience": aud[log.provider].astype(np.int32),
        "broker_audience": np.where(broker >= 0, aud[np.maximum(broker, 0)], -1).astype(np.int32),
        "accepted": log.accepted,
        "worked": log.worked,
        "realised_value": log.realised_value,
        "broker_credibility": log.credibility,
    })[list(CLOSURE_COLUMNS)]


def _run_cascades(model: ReferralModel, progress: bool) -> Result:
    """Cascade mode: ``n_cascades`` independent cascades from random people."""
    cfg = model.config
    w = model.world
    ties = tuple(w.ties.arrays())  # a plain tuple: see sim.state
    rng = stream(cfg.seed, "cascade")
    sources = rng.integers(0, w.n, cfg.cascade.n_cascades).astype(np.int64)
    reach_parts, depth_parts, check_parts = [], [], []
    batches = np.array_split(sources, max(1, min(len(sources), 20)))
    started = time.perf_counter()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(sources), desc="cascades", unit="cascade", leave=False)
    for batch in batches:
        r, d, c = kernels.cascade_spread(batch, ties, cfg.cascade.transmissibility, rng, rng)
        reach_parts.append(r)
        depth_parts.append(d)
        check_parts.append(c)
        if bar is not None:
            bar.update(len(batch))
    if bar is not None:
        bar.close()
    cascades = pd.DataFrame({
        "cascade": np.arange(len(sources), dtype=np.int32),
        "source": sources.astype(np.int32),
        "reach": np.concatenate(reach_parts),
        "depth": np.concatenate(depth_parts),
        "edge_checks": np.concatenate(check_parts),
    })[list(CASCADE_COLUMNS)]
    people = _people_table(model)
    for col in ("sought", "provided", "brokered", "brokered_valuable"):
        people[col] = np.zeros(w.n, np.int32)
    people["credit"] = 0.0
    people["credit_valuable"] = 0.0
    people = people[list(PEOPLE_COLUMNS)]
    metrics = cascade_metrics(cascades, w.audience, cfg.cascade.transmissibility,
                              seconds=time.perf_counter() - started)
    metrics = {"mode": "cascade", "seed": cfg.seed, "n_people": w.n, "n_ties": w.n_ties,
               **metrics, "network": cfg.network.name}
    return Result(cfg, metrics, people, empty_table(CLOSURE_SCHEMA), empty_table(NEED_SCHEMA),
                  empty_table(TIMESERIES_SCHEMA), empty_table(DECILE_SCHEMA), cascades)


def summarize(metrics: dict[str, Any], config: Config) -> str:
    """Human summary of a run's headline numbers."""

    def pct(x: float) -> str:
        return "n/a" if x is None or not math.isfinite(x) else f"{100 * x:.0f}%"

    def num(x: float, fmt: str = ".2f") -> str:
        return "n/a" if x is None or not math.isfinite(x) else format(x, fmt)

    def times(x: float) -> str:
        return "n/a (no valuable referral to compare)" if x is None or not math.isfinite(x) \
            else f"{x:.2f}x"

    m = metrics
    if m.get("mode") == "cascade":
        return "\n".join([
            f"Cascade mode on {m['network']}: {m['n_people']:,} people, {m['n_ties']:,} ties, "
            f"T = {config.cascade.transmissibility:g}",
            f"  {m['n_cascades']} cascades: mean reach {num(m['mean_reach'], ',.1f')} people "
            f"({pct(m['mean_reach_fraction'])} of the network)",
            f"  large cascades: {pct(m['large_cascade_share'])} of cascades, reaching "
            f"{pct(m['large_cascade_reach_fraction'])} of people each "
            f"(percolation theory: {pct(m['theory_giant_fraction'])})",
            f"  {num(m.get('edge_checks_per_second', math.nan) / 1e6, '.1f')} million tie checks "
            "per second",
        ])
    large_pct = 100 * config.measures.large_fraction
    lines = [
        f"{m['network']} network: {m['n_people']:,} people, {m['n_ties']:,} ties; "
        f"{m['days']} days, seed {m['seed']}"
        + (f" (measured after a {m['warmup_days']}-day warm-up)" if m.get("warmup_days") else ""),
        f"  needs {m['n_needs']:,}; closed {m['n_closed']:,} ({pct(m['closure_rate'])}): "
        f"direct {m['n_direct']:,}, brokered {m['n_brokered']:,}; "
        f"valuable closed {m['n_valuable_closed']:,}",
        f"  valuable referrals brokered by small people (bottom {100 - large_pct:.0f}%): "
        f"{pct(m['small_share_valuable_brokered'])} (they are "
        f"{pct(m['small_population_share'])} of people)",
        f"  per person, a large person brokers {times(m['per_capita_ratio_large_small'])} "
        f"as many; per unit of audience, a small person brokers "
        f"{times(m['per_audience_ratio_small_large'])} as many",
        f"  small people who brokered at least one valuable connection: "
        f"{pct(m['frac_small_brokering_valuable'])}; referrals over a weak tie: "
        f"{pct(m['weak_tie_share_brokered'])}",
        f"  mean hops {num(m['mean_hops'])}, mean days to close "
        f"{num(m['mean_days_to_close'])}",
    ]
    if config.trust.enabled:
        lines.append(
            f"  referrals that became engagements that worked: small brokers "
            f"{pct(m['success_rate_small'])}, large {pct(m['success_rate_large'])}; "
            f"brokers with loyal audiences {pct(m['success_rate_loyal'])}, others "
            f"{pct(m['success_rate_unloyal'])}")
    return "\n".join(lines)
