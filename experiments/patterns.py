"""Published patterns as a regenerable report: ``python -m experiments.patterns``.

Measures, with seeds and 95% intervals (docs/model.md §"Published patterns"):

1. **Onnela et al. (2007)**: the share of people in the largest connected
   component as ties are removed weakest first and strongest first, on the
   default network (and with ``ties.strength_community=0``, and after the
   warm-up), on Holme–Kim and on the real Facebook network;
2. **Bakshy et al. (2011)**: in cascade mode, mean cascade size and other
   people reached per follower against the audience of the cascade's seed;
3. **Headline metrics on the real networks** of ``../shared/data`` (Facebook,
   bitcoin-otc, the Malawi village): small people's share of valuable
   referrals against their population share, and the per-follower ratio.

Usage::

    python -m experiments.patterns                      # quick size, outputs/patterns/<time>
    python -m experiments.patterns --out my_folder --full
    python -m experiments.patterns experiment=calibrated  # on another configuration

Trailing arguments are Hydra overrides of the model's configuration (as for
``experiments.run``); the real networks keep those model parameters and take
their own ``network`` section (``network=edgelist`` with Facebook,
``experiment=bitcoin_otc``, ``experiment=malawi``). The output folder gets the
tables (Parquet and CSV), the figures (PNG) and ``patterns.md``, the report
section; a folder that already holds files is refused (nothing is overwritten).
:func:`validation_section` is the same report for ``experiments.validate``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pandas as pd

from experiments.compose import compose_config
from sim import patterns as pt
from sim.config import Config, ConfigError, validate
from sim.io import write_csv, write_parquet, write_text
from sim.measures import excludes

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
DATA = ROOT.parent / "shared" / "data"

#: The real networks: name -> (Hydra overrides whose ``network`` section is taken, label).
REAL_NETWORKS: dict[str, tuple[tuple[str, ...], str]] = {
    "facebook": (("network=edgelist", "network.path=../shared/data/facebook_combined.txt"),
                 "Facebook (4,039 people)"),
    "bitcoin_otc": (("experiment=bitcoin_otc",), "bitcoin-otc (5,881 people)"),
    "malawi": (("experiment=malawi",), "Malawi village (86 people)"),
}

#: Transmissibilities of the cascade runs besides the configuration's own: below the
#: percolation threshold of the default network (about 0.023) and just above it.
EXTRA_TRANSMISSIBILITIES = (0.02, 0.05)


@dataclass(frozen=True)
class Sizes:
    """How many seeds and cascades each part uses.

    Attributes:
        onnela_seeds: Seeds per network of the removal curves.
        warmup_seeds: Seeds of the curves after the warm-up (each runs the model).
        cascade_seeds: Seeds (networks) per transmissibility.
        n_cascades: Cascades per seed (sources drawn at random).
        real_seeds: Seeds per real network (name -> count; Malawi needs many:
            86 people broker about one valuable referral a year).
    """

    onnela_seeds: int
    warmup_seeds: int
    cascade_seeds: int
    n_cascades: int
    real_seeds: dict[str, int] = field(default_factory=dict)


#: Laptop size: about 1-2 minutes on one core.
QUICK = Sizes(onnela_seeds=5, warmup_seeds=3, cascade_seeds=4, n_cascades=2000,
              real_seeds={"facebook": 10, "bitcoin_otc": 10, "malawi": 100})
#: Report size: about 4 times as long.
FULL = Sizes(onnela_seeds=20, warmup_seeds=10, cascade_seeds=10, n_cascades=4000,
             real_seeds={"facebook": 30, "bitcoin_otc": 30, "malawi": 400})


# --- configuration --------------------------------------------------------------------------


def real_network_config(base: Config, name: str) -> Config:
    """``base`` with the ``network`` section of the real network ``name``."""
    import dataclasses

    overrides, _ = REAL_NETWORKS[name]
    network = compose_config(overrides).network
    if not Path(network.path).is_file():
        raise ConfigError("network.path", f"{network.path}: no such file (the real networks "
                          f"of the report live in {DATA})")
    return validate(dataclasses.replace(base, network=network))


#: Variant of the removal curves on the ties a run starts from (the others: a changed
#: parameter, or "after warm-up").
START = "initial strengths"


def _setting(network: str, variant: str) -> str:
    """``network`` or ``network, variant`` (the start is the unnamed default)."""
    return network if variant == START else f"{network}, {variant}"


# --- the three parts --------------------------------------------------------------------------


@dataclass
class Patterns:
    """Every table of the report (tidy, one row per seed or per bin)."""

    onnela_curves: pd.DataFrame
    onnela_seeds: pd.DataFrame
    cascade_bins: pd.DataFrame
    cascade_summary: pd.DataFrame
    cascade_ratios: pd.DataFrame
    real_runs: pd.DataFrame
    real_pooled: pd.DataFrame
    timings: dict[str, float]
    quick: bool

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables by file stem."""
        return {"onnela_curves": self.onnela_curves, "onnela_seeds": self.onnela_seeds,
                "cascade_bins": self.cascade_bins, "cascade_summary": self.cascade_summary,
                "cascade_ratios": self.cascade_ratios, "real_runs": self.real_runs,
                "real_pooled": self.real_pooled, "summary": self.summary()}

    def summary(self) -> pd.DataFrame:
        """Mean and 95% interval over seeds of every per-seed number of the report."""
        rows = []
        for (network, variant), part in self.onnela_seeds.groupby(["network", "variant"],
                                                                   sort=False):
            for col in ("weak_first_80", "strong_first_80", "gap_80", "gap_90",
                        "fc_weak_first", "fc_strong_first", "fc_gap"):
                rows.append({"pattern": "onnela", "setting": _setting(network, variant),
                             "quantity": col, **pt.summarize(part[col])})
        for t, part in self.cascade_ratios.groupby("transmissibility", sort=True):
            for col in ("reach_ratio", "per_follower_ratio", "others_ratio"):
                rows.append({"pattern": "bakshy", "setting": f"T={t:g}", "quantity": col,
                             **pt.summarize(part[col])})
        for network, part in self.real_runs.groupby("network", sort=False):
            part = part.assign(small_share_excess=pt.small_share_excess(part))
            for col in (*pt.HEADLINE, "small_share_excess"):
                rows.append({"pattern": "real_networks", "setting": network, "quantity": col,
                             **pt.summarize(part[col])})
        return pd.DataFrame(rows, columns=["pattern", "setting", "quantity", "mean", "ci_low",
                                           "ci_high", "n"])


def _progress(message: str, enabled: bool) -> None:
    if enabled:
        print(message, file=sys.stderr, flush=True)


def onnela_part(base: Config, sizes: Sizes, progress: bool = False
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Removal curves of every network, and their per-seed table.

    Returns:
        ``(curves, seeds)``: :func:`sim.patterns.onnela_curves` rows and
        :func:`sim.patterns.onnela_table` rows, each with columns ``network``
        and ``variant`` in front.
    """
    facebook = real_network_config(base, "facebook")
    jobs: list[tuple[str, str, Config, dict[str, Any], bool, int]] = [
        ("default", START, base, {}, False, sizes.onnela_seeds),
        ("default", "strength_community=0", base, {"ties.strength_community": 0.0}, False,
         sizes.onnela_seeds),
        ("default", "after warm-up", base, {}, True, sizes.warmup_seeds),
        ("holme_kim", START, base, {"network.name": "holme_kim"}, False, sizes.onnela_seeds),
        ("facebook", START, facebook, {}, False, sizes.onnela_seeds),
        ("facebook", "after warm-up", facebook, {}, True, sizes.warmup_seeds),
    ]
    curves, seeds = [], []
    for network, variant, config, overrides, warmup, n_seeds in jobs:
        _progress(f"onnela: {network} {variant}".rstrip(), progress)
        c = pt.onnela_curves(config, range(n_seeds), overrides, warmup=warmup)
        t = pt.onnela_table(c)
        for df in (c, t):
            df.insert(0, "variant", variant)
            df.insert(0, "network", network)
        curves.append(c)
        seeds.append(t)
    return pd.concat(curves, ignore_index=True), pd.concat(seeds, ignore_index=True)


def cascade_part(base: Config, sizes: Sizes, progress: bool = False
                 ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Cascade mode on ``base``'s network at several transmissibilities.

    Returns:
        ``(bins, summary, ratios)``: :func:`sim.patterns.bakshy_bins`,
        :func:`sim.patterns.bin_summary` and :func:`sim.patterns.bakshy_ratios`
        rows, each with a column ``transmissibility`` in front.
    """
    values = sorted({*EXTRA_TRANSMISSIBILITIES, base.cascade.transmissibility})
    bins, summary, ratios = [], [], []
    for t in values:
        _progress(f"cascades: T = {t:g}", progress)
        cascades = pt.cascade_table(base, range(sizes.cascade_seeds),
                                    {"cascade.transmissibility": t,
                                     "cascade.n_cascades": sizes.n_cascades})
        b = pt.bakshy_bins(cascades)
        s = pt.bin_summary(b)
        r = pt.bakshy_ratios(cascades).merge(
            cascades.groupby("seed", as_index=False)["threshold"].first(), on="seed")
        for df, parts in ((b, bins), (s, summary), (r, ratios)):
            df.insert(0, "transmissibility", t)
            parts.append(df)
    return (pd.concat(bins, ignore_index=True), pd.concat(summary, ignore_index=True),
            pd.concat(ratios, ignore_index=True))


def real_part(base: Config, sizes: Sizes, progress: bool = False
              ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Referral mode on each real network.

    Returns:
        ``(runs, pooled)``: :func:`sim.patterns.headline_runs` and
        :func:`sim.patterns.pooled_comparison` rows with a column ``network``.
    """
    runs, pooled = [], []
    for name in REAL_NETWORKS:
        _progress(f"real networks: {name}", progress)
        config = real_network_config(base, name)
        r = pt.headline_runs(config, range(sizes.real_seeds[name]))
        p = pt.pooled_comparison(r)
        r.insert(0, "network", name)
        p.insert(0, "network", name)
        runs.append(r)
        pooled.append(p)
    return pd.concat(runs, ignore_index=True), pd.concat(pooled, ignore_index=True)


def measure(base: Config, quick: bool = True, progress: bool = False,
            sizes: Sizes | None = None) -> Patterns:
    """All three parts on ``base``.

    Args:
        base: The model configuration.
        quick: Use :data:`QUICK` sizes, else :data:`FULL`.
        progress: Say on stderr which part runs.
        sizes: Other sizes (overrides ``quick``).
    """
    sizes = sizes or (QUICK if quick else FULL)
    timings = {}
    t0 = time.perf_counter()
    curves, seeds = onnela_part(base, sizes, progress)
    timings["onnela"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    bins, summary, ratios = cascade_part(base, sizes, progress)
    timings["bakshy"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    runs, pooled = real_part(base, sizes, progress)
    timings["real_networks"] = time.perf_counter() - t0
    return Patterns(curves, seeds, bins, summary, ratios, runs, pooled, timings, quick)


# --- figures and the report --------------------------------------------------------------------

def _onnela_panels(curves: pd.DataFrame) -> dict[str, pd.DataFrame]:
    panels = {}
    for (network, variant), part in curves.groupby(["network", "variant"], sort=False):
        title = {**NETWORK_LABELS, "default": "default network"}.get(network, network)
        panels[_setting(title, variant)] = part
    return panels


def write_figures(patterns: Patterns, folder: Path) -> dict[str, Path]:
    """Draw the three figures into ``folder`` as PNGs; return them by name."""
    from sim.viz import patterns as viz

    population = patterns.real_runs.groupby("network", sort=False)[
        "small_population_share"].mean().to_dict()
    figures = {
        "onnela": viz.onnela_figure(_onnela_panels(patterns.onnela_curves)),
        "bakshy": viz.bakshy_figure(patterns.cascade_summary),
        "real_networks": viz.real_networks_figure(
            patterns.real_pooled, population,
            {name: label for name, (_, label) in REAL_NETWORKS.items()}),
    }
    return {name: viz.save_png(fig, folder / f"{name}.png") for name, fig in figures.items()}


def write_tables(patterns: Patterns, folder: Path) -> list[Path]:
    """Write every table as Parquet and CSV into ``folder``."""
    written = []
    for name, table in patterns.tables().items():
        written.append(write_parquet(table, folder / f"{name}.parquet"))
        written.append(write_csv(table, folder / f"{name}.csv"))
    return written


def _ci(stats: dict[str, float], digits: int = 2) -> str:
    """``mean [low, high]`` (``n/a`` when undefined)."""
    if not np.isfinite(stats["mean"]):
        return "n/a"
    text = f"{stats['mean']:.{digits}f}"
    if np.isfinite(stats["ci_low"]):
        text += f" [{stats['ci_low']:.{digits}f}, {stats['ci_high']:.{digits}f}]"
    return text


def _pooled_ci(row: Any) -> str:
    """:func:`_ci` of a row of :func:`sim.patterns.pooled_comparison`."""
    return _ci({"mean": row["pooled"], "ci_low": row["ci_low"], "ci_high": row["ci_high"]})


def _row(*cells: Any) -> str:
    """One row of a markdown table."""
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _side(stats: dict[str, float], null: float = 0.0) -> int:
    """+1 / -1 when the 95% interval lies above / below ``null``, else 0."""
    return excludes((stats["ci_low"], stats["ci_high"]), null)


def _link(path: Path, base: Path) -> str:
    return Path(os.path.relpath(Path(path).resolve(), Path(base).resolve())).as_posix()


NETWORK_LABELS = {"default": "default", "holme_kim": "Holme–Kim", "facebook": "Facebook"}


def _onnela_text(seeds: pd.DataFrame) -> list[str]:
    def stats(network: str, variant: str, col: str) -> dict[str, float]:
        part = seeds[(seeds["network"] == network) & (seeds["variant"] == variant)]
        return pt.summarize(part[col])

    def paired(col: str) -> dict[str, float]:
        a = seeds[(seeds["network"] == "default") & (seeds["variant"] == START)]
        b = seeds[(seeds["network"] == "default")
                  & (seeds["variant"] == "strength_community=0")]
        both = a.merge(b, on="seed", suffixes=("", "_flat"))
        return pt.summarize(both[col] - both[f"{col}_flat"])

    sooner = {1: "sooner than", -1: "later than", 0: "no sooner or later (interval spans 0) than"}
    fb80 = stats("facebook", START, "gap_80")
    d90 = stats("default", START, "gap_90")
    dfc = stats("default", START, "fc_gap")
    collapse = paired("gap_90")
    flat90 = stats("default", "strength_community=0", "gap_90")
    warm80 = stats("default", "after warm-up", "gap_80")
    hk90 = stats("holme_kim", START, "gap_90")
    text = [
        "Ties are removed one by one, weakest first or strongest first, and the share of "
        "people left in the largest connected component (LCC) is tracked; the critical "
        "fraction f_c is where Onnela's susceptibility peaks (the network falls apart).",
        "",
        f"- **Facebook** (strengths from neighbourhood overlap, as the model sets them): with "
        f"80% of ties removed, the LCC holds {_ci(stats('facebook', START, 'weak_first_80'))} of "
        f"people weakest first and {_ci(stats('facebook', START, 'strong_first_80'))} strongest "
        f"first: weak-first removal fragments it {sooner[_side(fb80)]} strong-first removal "
        f"(gap {_ci(fb80)}).",
        f"- **Default network**: the gap at 80% removed is "
        f"{_ci(stats('default', START, 'gap_80'))}, but weak-first removal reaches its critical "
        f"point {sooner[_side(dfc)]} strong-first removal (f_c earlier by {_ci(dfc)}); at 90% "
        f"removed the gap is {_ci(d90)}.",
        f"- **Mechanism**: with `ties.strength_community=0` (bridges between communities as "
        f"strong as ties inside them) the gap at 90% is {_ci(flat90)}, "
        + ({1: f"smaller by {_ci(collapse)} (same seeds): weak ties hold the default network "
               "together because they are the bridges between communities.",
            -1: f"larger by {_ci(collapse)}: the community term does not make bridges the "
                "weak ties that hold the network together.",
            0: f"not detectably different ({_ci(collapse)})."}[_side(collapse)]),
        f"- **Holme–Kim**: gap at 90% removed {_ci(hk90)}.",
        f"- **After the warm-up** (ties strengthened and created by use) the gap at 80% on the "
        f"default network is {_ci(warm80)}"
        + (": weak-first removal now leaves *more* people connected at 80%. Closures "
           "strengthen and create ties across communities too, so after use the strongest "
           "ties no longer all sit inside communities." if _side(warm80) < 0 else "."),
        "",
    ]
    return text


def _bakshy_text(ratios: pd.DataFrame) -> list[str]:
    rises, falls, flat = [], [], []
    for t, part in ratios.groupby("transmissibility", sort=True):
        if _side(pt.summarize(part["reach_ratio"]), 1.0) > 0:
            rises.append(f"{t:g}")
        side = _side(pt.summarize(part["others_ratio"]), 1.0)
        (falls if side < 0 else flat).append(f"{t:g}")
    text = [f"Large-audience seeds start larger cascades at T = {', '.join(rises) or 'none'}"
            f"; they reach fewer other people per follower at T = {', '.join(falls) or 'none'}"
            + (f", but not detectably at T = {', '.join(flat)}" if flat else "") + ". "
            "Above the percolation threshold cascades from big seeds saturate (they cannot "
            "outgrow the giant cluster), which is where the per-follower decline comes from; "
            "below it each follower adds about the same expected subtree, so counting the seed "
            "itself is all that makes size per follower fall. The network's percolation "
            f"threshold (bond percolation, docs/model.md §7.12): T_c = "
            f"{ratios['threshold'].mean():.3f} (mean over seeds).", ""]
    return text


def _bin_table(summary: pd.DataFrame) -> list[str]:
    """Audience bins as rows, each transmissibility's size and others per follower as columns."""
    ts = sorted(summary["transmissibility"].unique())
    head = ["seed audience",
            *(f"T = {t:g}: {q}" for t in ts for q in ("size", "others / follower"))]
    lines = [_row(*head), _row(*["---"] * len(head))]
    for (lo, hi), part in summary.groupby(["bin_low", "bin_high"], sort=True):
        by_t = part.set_index("transmissibility")
        cells = []
        for t in ts:
            if t not in by_t.index:
                cells += ["", ""]
                continue
            row = by_t.loc[t]
            cells += [_ci({"mean": row["reach"], "ci_low": row["reach_low"],
                           "ci_high": row["reach_high"]}, 1),
                      _ci({"mean": row["others_per_follower"],
                           "ci_low": row["others_per_follower_low"],
                           "ci_high": row["others_per_follower_high"]})]
        lines.append(_row(f"{lo:g}–{hi - 1:g}", *cells))
    return lines


def _real_text(runs: pd.DataFrame, pooled: pd.DataFrame) -> list[str]:
    text = []
    for name, (_, label) in REAL_NETWORKS.items():
        p = pooled[pooled["network"] == name].set_index("metric")
        if p.empty:
            continue
        population = float(runs.loc[runs["network"] == name, "small_population_share"].mean())
        share = p.loc["small_share_valuable_brokered"]
        ratio = p.loc["per_audience_ratio_small_large"]
        share_side = _side({"ci_low": share["ci_low"] - population,
                            "ci_high": share["ci_high"] - population})
        ratio_side = _side({"ci_low": ratio["ci_low"], "ci_high": ratio["ci_high"]}, 1.0)
        per_person = {1: "more valuable referrals than their share of people",
                      -1: "fewer valuable referrals than their share of people",
                      0: "valuable referrals in line with their share of people (interval)"}
        per_follower = {1: "more per follower than large-audience people",
                        -1: "fewer per follower than large-audience people",
                        0: "neither detectably more nor fewer per follower"}
        text.append(f"- **{label}**: small-audience people broker {per_person[share_side]}, "
                    f"and {per_follower[ratio_side]}.")
    return [*text, ""]


def markdown(patterns: Patterns, figures: dict[str, Path] | None = None,
             link_base: Path = DOCS, heading: str = "##") -> str:
    """The report section: plain-words results, tables with seeds and intervals, figures.

    Every sentence that states a direction states it only where the 95%
    interval excludes "no difference" (:func:`sim.measures.excludes`).

    Args:
        patterns: What :func:`measure` returned.
        figures: Figure paths by name, or None (no figure links).
        link_base: Folder the figure links are relative to (the markdown's folder).
        heading: Markdown level of the section heading.
    """
    sub = heading + "#"
    seeds = patterns.onnela_seeds
    lines = [f"{heading} Published patterns", "",
             "Three published patterns measured on the model, with seeds and 95% bootstrap "
             "intervals over seeds (`python -m experiments.patterns`; method in docs/model.md "
             f"§\"Published patterns\"; {'quick' if patterns.quick else 'full'} size).", ""]

    lines += [f"{sub} Onnela et al. (2007): weak ties hold the network together", ""]
    lines += _onnela_text(seeds)
    lines += ["| network | seeds | LCC at 80% removed, weak first | strong first | "
              "gap at 90% (strong − weak) | f_c weak first | f_c strong first |",
              "|---|---|---|---|---|---|---|"]
    for (network, variant), part in seeds.groupby(["network", "variant"], sort=False):
        label = _setting(NETWORK_LABELS.get(network, network), variant)
        cells = [_ci(pt.summarize(part[c])) for c in
                 ("weak_first_80", "strong_first_80", "gap_90", "fc_weak_first",
                  "fc_strong_first")]
        lines.append(_row(label, part["seed"].nunique(), *cells))
    lines.append("")
    if figures:
        lines += [f"![Onnela removal curves]({_link(figures['onnela'], link_base)})", ""]

    ratios = patterns.cascade_ratios
    lines += [f"{sub} Bakshy et al. (2011): larger audiences, larger cascades, fewer people "
              "per follower", "",
              "Cascade mode (`mode=cascade`: independent cascades with transmissibility T from "
              "random seeds). Seeds in the top 10% by audience against the rest: the ratio of "
              "mean cascade size, of size per follower, and of other people reached per "
              "follower, `(size - 1) / audience` (with the seed counted, size per follower "
              "falls with audience by arithmetic alone).", ""]
    lines += _bakshy_text(ratios)
    lines += ["| T | seeds | cascades per seed | size, large / small | size per follower, "
              "large / small | others per follower, large / small |",
              "|---|---|---|---|---|---|"]
    for t, part in ratios.groupby("transmissibility", sort=True):
        n_casc = int((part["n_large"] + part["n_small"]).mean())
        lines.append(_row(f"{t:g}", len(part), f"{n_casc:,}",
                          *(_ci(pt.summarize(part[c])) for c in
                            ("reach_ratio", "per_follower_ratio", "others_ratio"))))
    lines += ["", "Per audience bin (mean size; other people reached per follower):", ""]
    lines += _bin_table(patterns.cascade_summary)
    lines.append("")
    if figures:
        lines += [f"![Cascades by seed audience]({_link(figures['bakshy'], link_base)})", ""]

    runs = patterns.real_runs
    pooled = patterns.real_pooled
    lines += [f"{sub} Headline metrics on real networks", "",
              "Referral mode with the configuration's rules on the three real networks of "
              "`../shared/data`. Pooled: all seeds' valuable referrals together (ratios of "
              "class totals, `sim.measures.class_comparison`); intervals resample seeds.", ""]
    lines += _real_text(runs, pooled)
    lines += ["| network | seeds | small people's share of people | their share of valuable "
              "referrals | per follower, small / large | per person, large / small | "
              "valuable referrals per run |",
              "|---|---|---|---|---|---|---|"]
    for name, (_, label) in REAL_NETWORKS.items():
        part = runs[runs["network"] == name]
        if part.empty:
            continue
        p = pooled[pooled["network"] == name].set_index("metric")
        lines.append(_row(label, len(part), f"{part['small_population_share'].mean():.2f}",
                          *(_pooled_ci(p.loc[k]) for k in
                            ("small_share_valuable_brokered", "per_audience_ratio_small_large",
                             "per_capita_ratio_large_small")),
                          _ci(pt.summarize(part["n_valuable_brokered"]), 1)))
    lines.append("")
    if figures:
        lines += [f"![Real networks]({_link(figures['real_networks'], link_base)})", ""]
    lines += ["Computed in " + ", ".join(f"{k} {v:.0f} s" for k, v in patterns.timings.items())
              + f" (one process; {sum(patterns.timings.values()):.0f} s in all).", ""]
    return "\n".join(lines)


def summary_text(patterns: Patterns) -> str:
    """A short human summary of the report (printed at the end of a run)."""
    s = patterns.summary().set_index(["pattern", "setting", "quantity"])

    def get(*key: str) -> str:
        row = s.loc[key]
        return _ci(row.to_dict())

    lines = ["Published patterns (mean [95% interval] over seeds)",
             f"  Onnela, LCC at 80% removed weak / strong first: Facebook "
             f"{get('onnela', 'facebook', 'weak_first_80')} / "
             f"{get('onnela', 'facebook', 'strong_first_80')}; default "
             f"{get('onnela', 'default', 'weak_first_80')} / "
             f"{get('onnela', 'default', 'strong_first_80')}",
             f"  Onnela, gap at 90% on the default network {get('onnela', 'default', 'gap_90')}"
             f", with strength_community=0 "
             f"{get('onnela', 'default, strength_community=0', 'gap_90')}"]
    for t in sorted(patterns.cascade_ratios["transmissibility"].unique()):
        lines.append(f"  Bakshy, T={t:g}: size large/small "
                     f"{get('bakshy', f'T={t:g}', 'reach_ratio')}, others per follower "
                     f"large/small {get('bakshy', f'T={t:g}', 'others_ratio')}")
    pooled = patterns.real_pooled.set_index(["network", "metric"])
    for name in REAL_NETWORKS:
        if (name, "small_share_valuable_brokered") not in pooled.index:
            continue
        lines.append(f"  {name}: small share of valuable referrals "
                     f"{_pooled_ci(pooled.loc[(name, 'small_share_valuable_brokered')])}, "
                     f"per follower small/large "
                     f"{_pooled_ci(pooled.loc[(name, 'per_audience_ratio_small_large')])}")
    return "\n".join(lines)


def validation_section(figures_dir: Path, quick: bool = True,
                       overrides: Sequence[str] = ()) -> str:
    """The "Published patterns" section of docs/validation.md, with its figures.

    Args:
        figures_dir: Folder for the PNGs (linked relative to ``docs/``).
        quick: Laptop size (:data:`QUICK`, about 1-2 minutes on one core) or
            :data:`FULL`.
        overrides: Hydra overrides of the model configuration (e.g.
            ``["experiment=calibrated"]``).

    Returns:
        Markdown, starting with ``## Published patterns``.
    """
    patterns = measure(compose_config(overrides), quick=quick)
    figures = write_figures(patterns, Path(figures_dir))
    return markdown(patterns, figures, DOCS)


# --- command line ---------------------------------------------------------------------------------


def _refuse(message: str) -> NoReturn:
    from experiments.errors import exit_bad_input

    exit_bad_input(message)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options (see the module docstring)."""
    parser = argparse.ArgumentParser(
        prog="python -m experiments.patterns",
        description="Measure the published patterns (Onnela, Bakshy, real networks) and write "
                    "tables, figures and a report section.")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default outputs/patterns/<date>_<time>); must be "
                             "new or empty")
    parser.add_argument("--full", action="store_true",
                        help="report size (more seeds; about 4x as long as the quick default)")
    parser.add_argument("overrides", nargs="*",
                        help="Hydra overrides of the model config, e.g. experiment=calibrated")
    parser.error = _refuse  # type: ignore[method-assign]
    return parser.parse_args(argv)


def _check_out(out: Path) -> None:
    from experiments.errors import used_folder_problem

    if (problem := used_folder_problem(out)) is not None:
        _refuse(problem)


def main(argv: Sequence[str] | None = None,
         run: Callable[[Config, bool], Patterns] | None = None) -> int:
    """Measure, write tables, figures and ``patterns.md``, print a summary; return the status."""
    from experiments.errors import error_line

    args = parse_args(argv)
    out = args.out or Path("outputs") / "patterns" / datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    _check_out(out)
    started = time.perf_counter()
    try:  # bad input (also an unreadable edge list found while measuring): one line, status 2
        base = compose_config(args.overrides)
        for name in REAL_NETWORKS:  # the data files, before minutes of work
            real_network_config(base, name)
        if run is None:
            patterns = measure(base, quick=not args.full, progress=sys.stderr.isatty())
        else:
            patterns = run(base, not args.full)
    except Exception as exc:  # nothing has been written yet
        line = error_line(exc)
        if line is None:
            raise
        _refuse(line)
    out.mkdir(parents=True, exist_ok=True)
    write_tables(patterns, out)
    figures = write_figures(patterns, out)
    write_text(markdown(patterns, figures, out), out / "patterns.md")
    print(summary_text(patterns))
    print(f"{out} ({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
