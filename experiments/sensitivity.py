"""Global sensitivity analysis: Morris screening of every unsourced parameter, then Sobol.

SALib samples the design and analyses the results; the project's own sweep runs
the design (``hydra.sweeper.design``, one job per design row and seed, in
parallel, resumable)::

    python -m experiments.sensitivity sample --method morris   # designs/sensitivity_morris.csv
    python -m experiments.run -m experiment=sensitivity_morris   # sweeps/sensitivity_morris
    python -m experiments.sensitivity analyse sweeps/sensitivity_morris

    python -m experiments.sensitivity run --method sobol                # the three steps at once

:data:`FACTORS` lists the factors (every model parameter whose source in
``docs/model.md`` is an assumption or a modelling choice, plus the contested
rules of §7.16), each with a range and the reason for it. Designs are sampled
in the unit cube (one column per factor) and mapped to config values
(:meth:`Factor.value`): numbers linearly, whole numbers rounded, a switch or a
choice takes its ``high`` value in the upper half of the unit range. So Morris
effects are per whole range of each factor and comparable across factors.

``analyse`` averages each row's replicates (seeds) first, so seed noise
averages out before SALib sees it (it would otherwise inflate the indices or
make them negative), then computes for the two outputs :data:`OUTPUTS`: Morris
``mu*`` and ``sigma`` with bootstrap intervals over trajectories, or Sobol
first-order and total indices ``S1``, ``ST`` with SALib's bootstrap intervals.
It writes ``sensitivity_indices.csv`` / ``.parquet`` and the figure
``sensitivity_<method>.png`` (:mod:`sim.viz.sensitivity`).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.errors import exit_bad_input, exit_with
from sim.config import ConfigError

# --- the factors ------------------------------------------------------------------------


@dataclass(frozen=True)
class Factor:
    """One factor of the sensitivity analysis: a config key, its range and why.

    Attributes:
        name: Dotted config key (``ties.floor``).
        low: Value at the bottom of the unit range (the ``false``/first choice of a
            switch or a choice).
        high: Value at the top (the ``true``/second choice).
        kind: ``float``, ``int``, ``bool`` or ``choice``.
        why: The reason for the range (and what makes the parameter unsourced).
    """

    name: str
    low: Any
    high: Any
    kind: str
    why: str

    def value(self, unit: float) -> Any:
        """The config value at ``unit`` in [0, 1] of the factor's range."""
        if self.kind == "float":
            return float(self.low + unit * (self.high - self.low))
        if self.kind == "int":
            return int(math.floor(self.low + unit * (self.high - self.low) + 0.5))
        return self.high if unit >= 0.5 else self.low

    def text(self, unit: float) -> str:
        """:meth:`value` as a design-table cell (``true``/``false`` for switches)."""
        value = self.value(unit)
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float):
            return f"{value:.6g}"
        return str(value)


FACTORS: tuple[Factor, ...] = (
    Factor("people.home_topics", 1, 6, "int",
           "Modelling choice ('a few' home topics per community): from one shared speciality "
           "to twice the default"),
    Factor("people.budget_sigma", 0.25, 1.0, "float",
           "Modelling choice: half to twice the default log-normal spread of attention budgets"),
    Factor("people.budget_audience_exponent", 0.0, 0.5, "float",
           "Contested rule (§7.16), modelling choice: budgets independent of audience (0, "
           "the default) up to the §7.16 alternative 0.5"),
    Factor("network.mixing", 0.1, 0.4, "float",
           "Modelling choice: the range of the mixing parameter of community benchmarks "
           "(Lancichinetti et al. 2008) where communities stay detectable"),
    Factor("ties.strength_community", 0.0, 3.0, "float",
           "Assumption: no community effect (0) to twice the default gap (§5.4)"),
    Factor("ties.strength_noise", 0.5, 1.5, "float",
           "Modelling choice: half to 1.5 times the default logit noise"),
    Factor("ties.min_strength", 0.05, 0.15, "float",
           "Modelling choice: the default (= the floor) up to 3 times; stays >= ties.floor"),
    Factor("ties.floor", 0.02, 0.05, "float",
           "Modelling choice: dormant ties from barely to a little attended; <= min_strength"),
    Factor("ties.closure_gain", 0.1, 0.5, "float",
           "Modelling choice: a third to 5/3 of the default gain at a closure"),
    Factor("ties.broker_gain", 0.0, 0.2, "float",
           "Modelling choice: no gain to twice the default"),
    Factor("ties.new_tie_strength", 0.2, 0.45, "float",
           "Modelling choice ('a new acquaintance starts as a medium tie'): the medium band, "
           "[weak_below, strong_above)"),
    Factor("needs.rate", 0.001, 0.004, "float",
           "Modelling choice: half to twice the default rate of needs"),
    Factor("needs.lifetime_days", 3, 14, "int",
           "Modelling choice ('about a week'): half a week to two weeks"),
    Factor("needs.rarity_exponent", 0.0, 1.0, "float",
           "Modelling choice: no rarity premium to a linear one (default: square root)"),
    Factor("needs.seeker_reposts", False, True, "bool",
           "Contested rule (§7.16; sourced default false): both settings"),
    Factor("response.pass_base", 0.05, 0.2, "float",
           "Modelling choice: half to twice the default pass-on probability over weak ties"),
    Factor("response.know_scale", 0.5, 2.0, "float",
           "Assumption, calibrated in issue 12: half to twice 'knowing equals seeing'"),
    Factor("response.know", "attention", "all", "choice",
           "Contested rule (§7.16; sourced default attention): both settings"),
    Factor("meetups.attend_prob", 0.05, 0.2, "float",
           "Modelling choice: half to twice the default attendance"),
    Factor("meetups.gain", 0.1, 0.3, "float",
           "Modelling choice: half to 1.5 times the default gain among attendees"),
    Factor("meetups.new_tie_prob", 0.02, 0.1, "float",
           "Modelling choice: less than half to twice the default"),
    Factor("meetups.max_attendees", 10, 50, "int",
           "Modelling choice: a third to 5/3 of the default cap"),
    Factor("trust.exponent", 0.25, 1.0, "float",
           "Assumption, calibrated in issue 12: the §7.16 range"),
    Factor("trust.prior_credibility", 0.5, 0.95, "float",
           "Assumption: the §7.16 alternative 0.5 to near-full credibility"),
    Factor("trust.prior_weight", 2.0, 20.0, "float",
           "Assumption: Jøsang and Ismail's 2 to the §7.16 alternative 20"),
)
"""Every factor of the Morris screening (see docs/model.md, "Sensitivity analysis")."""

#: Parameters left out, and why (docs/model.md lists them too).
EXCLUDED: dict[str, str] = {
    "seed, days, warmup_days, mode, people.n, people.agents":
        "run settings, not model parameters (warm-up measured, §7.17)",
    "ties.weak_below, ties.strong_above":
        "classify ties in the output tables only; the dynamics never read them",
    "needs.value_log_mean": "sets the unit of value; only ratios and quantiles matter",
    "measures.*": "definitions of the outputs (DESIGN.md §4), not of the model",
    "cascade.*, knockout.*": "cascade mode and the knockout experiment only",
    "trust.enabled, response.referrals, trust.use_ratings, needs.value_grows_with_rarity":
        "model switches sourced in DESIGN.md §3, not uncertain quantities",
}

#: The outputs analysed, with the words a figure uses for them.
OUTPUTS: dict[str, str] = {
    "small_share_valuable_brokered": "small people's share of valuable referrals",
    "per_audience_ratio_small_large": "per follower: small / large",
}

#: The factors of the Sobol analysis: the top 5 of the Morris screening by
#: :func:`morris_ranking` (docs/model.md, "Sensitivity analysis"; a test checks that
#: they are the top of the committed Morris indices).
SOBOL_FACTORS: tuple[str, ...] = (
    "people.budget_audience_exponent",
    "response.know",
    "people.home_topics",
    "needs.rate",
    "ties.strength_noise",
)

METHODS = ("morris", "sobol")
#: Sobol's base sample size N of the committed run (a power of 2).
SOBOL_N = 64
MORRIS_LEVELS = 4
DESIGN_DIR = Path("designs")
INDICES = "sensitivity_indices"
#: Seed of the bootstrap intervals. Not 0: SALib's analyses ignore a seed of 0 (``if seed:``)
#: and draw unseeded.
BOOTSTRAP_SEED = 1
ROW_PATTERN = re.compile(r"(?:^|,)design_row=(\d+)(?:,|$)")


def factors_markdown() -> str:
    """The factor table of docs/model.md ("Sensitivity analysis"), from :data:`FACTORS`."""
    def cell(value: Any) -> str:
        return f"`{str(value).lower()}`" if isinstance(value, bool | str) else f"{value:g}"

    lines = ["| factor | low | high | kind | why this range (and why unsourced) |",
             "|---|---|---|---|---|"]
    lines += [f"| `{f.name}` | {cell(f.low)} | {cell(f.high)} | {f.kind} | {f.why} |"
              for f in FACTORS]
    return "\n".join(lines)


def factor(name: str) -> Factor:
    """The factor named ``name`` (raises ConfigError for an unknown one)."""
    for f in FACTORS:
        if f.name == name:
            return f
    raise ConfigError("--factors", f"unknown factor {name!r} (allowed: "
                      f"{', '.join(f.name for f in FACTORS)})")


def problem(factors: tuple[Factor, ...]) -> dict[str, Any]:
    """SALib's problem: the factors in the unit cube."""
    return {"num_vars": len(factors), "names": [f.name for f in factors],
            "bounds": [[0.0, 1.0]] * len(factors)}


# --- sampling -----------------------------------------------------------------------------


def sample(method: str, factors: tuple[Factor, ...], size: int, seed: int) -> np.ndarray:
    """A design in the unit cube, one row per point and one column per factor.

    Args:
        method: ``morris`` (``size`` trajectories of ``len(factors) + 1`` rows, 4 levels)
            or ``sobol`` (Saltelli's scheme, ``size`` = N a power of 2, first and total
            order only: ``N (D + 2)`` rows).
        factors: The factors.
        size: Trajectories (Morris) or base sample size N (Sobol).
        seed: Seed of the sample.

    Raises:
        ConfigError: A size SALib cannot use.
    """
    if method == "morris":
        from SALib.sample import morris

        if size < 2:
            raise ConfigError("--size", f"Morris needs at least 2 trajectories; got {size}")
        return morris.sample(problem(factors), size, num_levels=MORRIS_LEVELS, seed=seed)
    from SALib.sample import sobol

    if size < 2 or size & (size - 1):
        raise ConfigError("--size", f"Sobol's N must be a power of 2 (e.g. 128); got {size}")
    return sobol.sample(problem(factors), size, calc_second_order=False, seed=seed)


def design_table(factors: tuple[Factor, ...], unit: np.ndarray) -> pd.DataFrame:
    """The design table of a unit-cube sample: one column per config key, cells as text."""
    return pd.DataFrame({f.name: [f.text(u) for u in unit[:, j]]
                         for j, f in enumerate(factors)})


def write_design(path: Path, method: str, factors: tuple[Factor, ...], size: int,
                 seed: int, around: str | None = None) -> tuple[Path, int]:
    """Sample and write ``path`` (the design table) and ``path.json`` (its description).

    An existing file is kept if it holds the same design; a different one is refused.
    ``around`` (an experiment file the design is run on top of) is recorded in the
    description, so the analysis can say what point the indices belong to.

    Returns:
        The table's path and its number of rows.
    """
    unit = sample(method, factors, size, seed)
    table = design_table(factors, unit)
    text = table.to_csv(index=False)
    info = {"method": method, "size": size, "seed": seed, "levels": MORRIS_LEVELS,
            "calc_second_order": False, "factors": [asdict(f) for f in factors],
            "unit": unit.tolist()}
    if around:
        info["around"] = around
    info_path = path.with_suffix(".json")
    for target, content in ((path, text), (info_path, json.dumps(info, indent=1))):
        if target.exists() and target.read_text() != content:
            raise ConfigError(str(target), "already holds another design; choose another "
                              "--out or remove it (nothing was overwritten)")
    from sim.io import write_text

    write_text(text, path)
    write_text(json.dumps(info, indent=1), info_path)
    return path, len(table)


# --- analysis -----------------------------------------------------------------------------


def row_means(summary: pd.DataFrame, n_rows: int) -> tuple[pd.DataFrame, dict[str, int]]:
    """Each design row's mean of every output over its replicates (finished runs).

    A row none of whose replicates has a value (e.g. no valuable referral at all)
    gets the mean of the other rows, and is counted.

    Args:
        summary: The sweep's runs (``run_dir`` naming ``design_row=NNNN``, the outputs,
            ``status``).
        n_rows: Rows of the design.

    Returns:
        ``(table indexed by design row with one column per output, replicates``
        ``per row and imputed rows per output)``.

    Raises:
        ConfigError: A design row without any finished run.
    """
    runs = summary[summary["status"] == "ok"].copy()
    rows = runs["run_dir"].astype(str).str.extract(ROW_PATTERN)[0]
    runs["design_row"] = pd.to_numeric(rows, errors="coerce")
    runs = runs.dropna(subset=["design_row"])
    missing = sorted(set(range(n_rows)) - set(runs["design_row"].astype(int)))
    if missing:
        raise ConfigError("sweep", f"{len(missing)} of {n_rows} design rows have no finished "
                          f"run (e.g. row {missing[0]}); finish the sweep with resume=true")
    values = runs[["design_row", *OUTPUTS]].apply(pd.to_numeric, errors="coerce")
    values = values.replace([np.inf, -np.inf], np.nan)
    means = values.groupby("design_row").mean().reindex(range(n_rows))
    counts = runs.groupby("design_row").size()
    info: dict[str, Any] = {"replicates_min": int(counts.min()),
                            "replicates_max": int(counts.max())}
    # Per row, a contrast of its first two replicates with the variance of the row's
    # mean noise (s^2 / R): (y1 - y2) / sqrt(2 R). Its indices are what noise alone shows.
    values["seed"] = pd.to_numeric(runs["seed"], errors="coerce") if "seed" in runs else 0
    values = values.sort_values(["design_row", "seed"], kind="stable")
    values["replicate"] = values.groupby("design_row").cumcount()
    for out in OUTPUTS:
        info[f"imputed_{out}"] = int(means[out].isna().sum())
        wide = values.pivot(index="design_row", columns="replicate", values=out)
        if 1 in wide.columns:
            contrast = (wide[1] - wide[0]) / math.sqrt(2 * info["replicates_min"])
            means[f"noise:{out}"] = contrast.reindex(range(n_rows))
        means[out] = means[out].fillna(means[out].mean())
    return means, info


def noise_levels(method: str, unit: np.ndarray, means: pd.DataFrame) -> dict[str, Any]:
    """What seed noise alone, left in the row means, would show as an index, per output.

    Computed from each row's replicate contrast (:func:`row_means`), which has the
    variance of the noise in the row's mean. Morris (``noise_mu_star_<output>``): the
    mean absolute elementary effect of that contrast over the design (all factors).
    Sobol (``noise_share_<output>``): its variance over the variance of the row means,
    the share by which every total index can be inflated. None without replicates.
    """
    out_info: dict[str, Any] = {}
    for out in OUTPUTS:
        noise = means.get(f"noise:{out}")
        if noise is None or noise.notna().sum() < 2:
            continue
        h = noise.fillna(0.0).to_numpy(dtype=float)
        if method == "morris":
            out_info[f"noise_mu_star_{out}"] = float(np.nanmean(
                np.abs(elementary_effects(unit, h))))
        else:
            out_info[f"noise_share_{out}"] = float(noise.var(ddof=1) / means[out].var(ddof=1))
    return out_info


def _interval(samples: np.ndarray, conf: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    tail = (1 - conf) / 2 * 100
    return (np.percentile(samples, tail, axis=0), np.percentile(samples, 100 - tail, axis=0))


def elementary_effects(unit: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Morris elementary effects, shape (trajectories, factors), per unit of each range.

    Each trajectory is ``D + 1`` consecutive rows; consecutive rows differ in one factor.
    """
    d = unit.shape[1]
    r = unit.shape[0] // (d + 1)
    effects = np.full((r, d), np.nan)
    for t in range(r):
        xs, ys = unit[t * (d + 1):(t + 1) * (d + 1)], y[t * (d + 1):(t + 1) * (d + 1)]
        for k in range(d):
            step = xs[k + 1] - xs[k]
            j = int(np.flatnonzero(step)[0])
            effects[t, j] = (ys[k + 1] - ys[k]) / step[j]
    return effects


def morris_indices(factors: tuple[Factor, ...], unit: np.ndarray, y: np.ndarray,
                   seed: int = BOOTSTRAP_SEED, resamples: int = 1000) -> pd.DataFrame:
    """Morris ``mu*``, ``mu``, ``sigma`` with 95% bootstrap intervals over trajectories.

    ``mu_star_conf`` is SALib's bootstrap half-width (the same ``mu*``).
    """
    from SALib.analyze import morris

    salib = morris.analyze(problem(factors), unit, y, num_levels=MORRIS_LEVELS,
                           num_resamples=resamples, seed=seed)
    effects = elementary_effects(unit, y)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(effects), size=(resamples, len(effects)))
    boot = effects[picks]  # (resamples, r, d)
    lo_star, hi_star = _interval(np.abs(boot).mean(axis=1))
    lo_sigma, hi_sigma = _interval(boot.std(axis=1, ddof=1))
    return pd.DataFrame({
        "factor": [f.name for f in factors],
        "mu_star": np.abs(effects).mean(axis=0), "mu_star_low": lo_star,
        "mu_star_high": hi_star, "sigma": effects.std(axis=0, ddof=1),
        "sigma_low": lo_sigma, "sigma_high": hi_sigma, "mu": effects.mean(axis=0),
        "mu_star_salib": np.asarray(salib["mu_star"], dtype=float),
        "mu_star_conf_salib": np.asarray(salib["mu_star_conf"], dtype=float)})


def sobol_indices(factors: tuple[Factor, ...], y: np.ndarray, seed: int = BOOTSTRAP_SEED,
                  resamples: int = 1000) -> pd.DataFrame:
    """Sobol ``S1`` and ``ST`` with SALib's 95% bootstrap intervals."""
    from SALib.analyze import sobol

    res = sobol.analyze(problem(factors), y, calc_second_order=False,
                        num_resamples=resamples, seed=seed)
    s1, s1c = np.asarray(res["S1"]), np.asarray(res["S1_conf"])
    st, stc = np.asarray(res["ST"]), np.asarray(res["ST_conf"])
    return pd.DataFrame({"factor": [f.name for f in factors], "S1": s1, "S1_low": s1 - s1c,
                         "S1_high": s1 + s1c, "ST": st, "ST_low": st - stc,
                         "ST_high": st + stc})


def indices(method: str, factors: tuple[Factor, ...], unit: np.ndarray, means: pd.DataFrame,
            seed: int = BOOTSTRAP_SEED) -> pd.DataFrame:
    """The indices of every output, one row per (output, factor)."""
    tables = []
    for out in OUTPUTS:
        y = means[out].to_numpy(dtype=float)
        table = (morris_indices(factors, unit, y, seed) if method == "morris"
                 else sobol_indices(factors, y, seed))
        tables.append(table.assign(method=method, output=out))
    table = pd.concat(tables, ignore_index=True)
    return table[["method", "output", *[c for c in table if c not in ("method", "output")]]]


def read_design_info(sweep_dir: Path) -> dict[str, Any]:
    """The description (``design.json``) of the design a sweep ran."""
    from hydra_plugins.influencer_sim_launcher.sweeper import DESIGN_INFO_COPY

    path = sweep_dir / DESIGN_INFO_COPY
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        raise ConfigError(str(sweep_dir), f"has no readable {DESIGN_INFO_COPY}; give a sweep "
                          "run with a design written by `experiments.sensitivity sample`") from None
    if not isinstance(info, dict) or info.get("method") not in METHODS:
        raise ConfigError(str(path), "is not a design description of experiments.sensitivity")
    return info


def sweep_summary(sweep_dir: Path) -> pd.DataFrame:
    """The sweep's runs (``summary.parquet``, built with experiments.aggregate if missing)."""
    path = sweep_dir / "summary.parquet"
    if not path.is_file():
        from experiments.aggregate import summarize_sweep

        return summarize_sweep(sweep_dir, quiet=True)
    return pd.read_parquet(path)


def analyse(sweep_dir: str | Path, out_dir: str | Path | None = None,
            seed: int = BOOTSTRAP_SEED) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Analyse a finished design sweep; write the indices and the figure.

    Args:
        sweep_dir: The sweep folder (holds ``design.json``, copied by the sweeper).
        out_dir: Where to write ``sensitivity_indices.csv``/``.parquet`` and
            ``sensitivity_<method>.png`` (default: the sweep folder).
        seed: Seed of the bootstrap.

    Returns:
        The indices and a description of the design (method, rows, replicates, runs).
    """
    from sim.io import write_csv, write_json, write_parquet
    from sim.viz.sensitivity import sensitivity_figure

    sweep_dir = Path(sweep_dir)
    out = Path(out_dir) if out_dir is not None else sweep_dir
    info = read_design_info(sweep_dir)
    factors = tuple(Factor(**f) for f in info["factors"])
    unit = np.asarray(info["unit"], dtype=float)
    means, counts = row_means(sweep_summary(sweep_dir), len(unit))
    table = indices(info["method"], factors, unit, means, seed)
    about = {"method": info["method"], "size": info["size"], "factors": len(factors),
             "rows": len(unit), "runs": int(len(unit) * counts["replicates_min"]), **counts,
             **noise_levels(info["method"], unit, means)}
    if info.get("around"):
        about["around"] = str(info["around"])
    write_csv(table, out / f"{INDICES}.csv")
    write_parquet(table, out / f"{INDICES}.parquet")
    write_json(about, out / f"{INDICES}.json")
    sensitivity_figure(table, OUTPUTS, out / f"sensitivity_{info['method']}", about)
    return table, about


def morris_ranking(table: pd.DataFrame) -> list[str]:
    """Factors by their Morris effect, most influential first, over both outputs.

    Each factor's score is the lower end of its ``mu*`` interval divided by the
    largest ``mu*`` of the same output (so the outputs' units cancel and a factor
    whose effect is within seed noise does not rank high), the larger of its two
    scores.
    """
    scores = table["mu_star_low"] / table.groupby("output")["mu_star"].transform("max")
    best = scores.groupby(table["factor"]).max()
    return list(best.sort_values(ascending=False, kind="stable").index)


def top_lines(table: pd.DataFrame, n: int = 5) -> list[str]:
    """Human summary: the ``n`` most influential factors per output, with intervals."""
    lines = []
    method = str(table["method"].iloc[0])
    key = "mu_star" if method == "morris" else "ST"
    for out, part in table.groupby("output", sort=False):
        part = part.sort_values(key, ascending=False).head(n)
        cells = [f"{r.factor} {getattr(r, key):.3g} [{getattr(r, key + '_low'):.3g}, "
                 f"{getattr(r, key + '_high'):.3g}]" for r in part.itertuples()]
        lines.append(f"{out} ({key}): " + "; ".join(cells))
    return lines


# --- the validation report --------------------------------------------------------------

#: Committed results of the full runs (regenerate with the commands in docs/model.md).
COMMITTED = Path(__file__).resolve().parents[1] / "docs" / "figures" / "sensitivity"
QUICK_TRAJECTORIES = 4
#: Overrides of the quick Morris screening (laptop size).
QUICK_OVERRIDES: tuple[str, ...] = ("people.n=1000",)


def _table_md(table: pd.DataFrame, keys: tuple[str, ...], n: int = 5) -> list[str]:
    head = " | ".join(f"{k} [95% interval]" for k in keys)
    lines = [f"| output | factor | {head} |", "|---|---|" + "---|" * len(keys)]
    for out, part in table.groupby("output", sort=False):
        for r in part.sort_values(keys[0], ascending=False).head(n).itertuples():
            cells = " | ".join(f"{getattr(r, k):.3f} [{getattr(r, k + '_low'):.3f}, "
                               f"{getattr(r, k + '_high'):.3f}]" for k in keys)
            lines.append(f"| {OUTPUTS.get(str(out), out)} | `{r.factor}` | {cells} |")
    return lines


def above_noise(table: pd.DataFrame, about: dict[str, Any]) -> dict[str, list[str]]:
    """Per output, the factors whose ``mu*`` interval lies above the seed-noise level."""
    out: dict[str, list[str]] = {}
    for name, part in table.groupby("output", sort=False):
        noise = about.get(f"noise_mu_star_{name}") or 0.0
        part = part.sort_values("mu_star", ascending=False)
        out[str(name)] = [str(f) for f in part.loc[part["mu_star_low"] > noise, "factor"]]
    return out


def sobol_above_noise(table: pd.DataFrame, about: dict[str, Any]) -> list[str]:
    """Factors whose Sobol indices stand out from seed noise, largest total index first.

    A factor counts when, for either output, its first-order interval lies above 0
    or its total-order interval lies above the share of the row means' variance
    that seed noise alone makes (``noise_share_<output>``: noise adds to every
    total index, not to first-order ones; without it only the first test applies).
    """
    # no noise level (a design without replicates): the first-order test alone
    noise = pd.to_numeric(table["output"].map(lambda o: about.get(f"noise_share_{o}")),
                          errors="coerce").fillna(np.inf)
    clear = table[(table["S1_low"] > 0) | (table["ST_low"] > noise)]
    order = clear.groupby("factor")["ST"].max().sort_values(ascending=False, kind="stable")
    return [str(f) for f in order.index]


def validation_section(figures_dir: Path, quick: bool = True) -> str:
    """The sensitivity section of ``docs/validation.md`` (markdown), writing its figures.

    ``quick=True`` reruns a small Morris screening (4 trajectories of all factors,
    2 seeds, 1,000 people: about 2-3 minutes on 2 cores) through the real sweep
    and summarises the committed Sobol indices of the full run (it does not rerun
    Sobol; ``python -m experiments.sensitivity run --method sobol`` regenerates
    them). ``quick=False`` reruns both full analyses (about 40 minutes on a busy
    2-core machine). Either way the committed analyses around the fits are
    summarised, not rerun (:func:`around_fits_md`).

    Args:
        figures_dir: Folder for the figures (linked as ``<its name>/<file>``, which
            ``experiments.validate`` rewrites relative to ``docs/``).
        quick: Laptop size.
    """
    figures_dir = Path(figures_dir)
    # as experiments.validate expects: the folder's name, which it rewrites to the link
    # relative to docs/ (figures/validation) when it moves the figures into place
    rel = figures_dir.name
    parts = ["## Global sensitivity", ""]
    with tempfile.TemporaryDirectory(prefix="sensitivity-") as tmp:
        if quick:
            size, extra = QUICK_TRAJECTORIES, list(QUICK_OVERRIDES)
            label = (f"a quick Morris screening ({QUICK_TRAJECTORIES} trajectories of "
                     f"{len(FACTORS)} factors, 2 seeds per point, 1,000 people)")
        else:
            size, extra = 10, []
            label = f"the full Morris screening (10 trajectories of {len(FACTORS)} factors)"
        start = time.perf_counter()
        sweep_dir = run_all("morris", size, Path(tmp), extra)
        table, about = analyse(sweep_dir, Path(tmp) / "out")
        minutes = (time.perf_counter() - start) / 60
        figure = figures_dir / "sensitivity_morris_quick.png"
        figures_dir.mkdir(parents=True, exist_ok=True)
        figure.write_bytes((Path(tmp) / "out" / "sensitivity_morris.png").read_bytes())
        parts += [f"Rerun now: {label}, {about['rows']} design rows x "
                  f"{about['replicates_min']} seeds = {about['runs']} runs in {minutes:.1f} "
                  "minutes. Elementary effects are per whole range of each factor "
                  "(docs/model.md, \"Sensitivity analysis\"); seeds are averaged per row first.",
                  ""]
        for name, factors in above_noise(table, about).items():
            listed = ", ".join(f"`{f}`" for f in factors) or "none"
            parts.append(f"- {OUTPUTS.get(name, name)}: factors whose effect is clearly "
                         f"above seed noise (interval above the noise level): {listed}.")
        parts += ["", *_table_md(table, ("mu_star", "sigma")), "",
                  f"![Morris screening]({rel}/{figure.name})", ""]
        if not quick:
            sweep_dir = run_all("sobol", SOBOL_N, Path(tmp) / "sobol", [])
            sobol, about = analyse(sweep_dir, Path(tmp) / "sobol_out")
            parts += ["Sobol, rerun now:", "", *_table_md(sobol, ("ST", "S1")), ""]
    committed_morris = COMMITTED / f"morris_{INDICES}.csv"
    if quick and committed_morris.is_file():
        full = pd.read_csv(committed_morris)
        try:
            full_about = json.loads(committed_morris.with_suffix(".json").read_text())
        except (OSError, ValueError):
            full_about = {}
        parts += ["The quick screening is much noisier than the full one. The full Morris "
                  f"screening (committed, `docs/figures/sensitivity/{committed_morris.name}`: "
                  f"{full_about.get('rows', '?')} design rows x "
                  f"{full_about.get('replicates_min', '?')} seeds, 2,000 people; regenerate "
                  "with `python -m experiments.sensitivity run --method morris`, about 7 "
                  "minutes) finds clearly above seed noise:", ""]
        for name, factors in above_noise(full, full_about).items():
            listed = ", ".join(f"`{f}`" for f in factors) or "none"
            parts.append(f"- {OUTPUTS.get(name, name)}: {listed}.")
        parts.append("")
    committed = COMMITTED / f"sobol_{INDICES}.csv"
    if quick and committed.is_file():
        sobol = pd.read_csv(committed)
        parts += ["Sobol indices of the full run, **not rerun here** (committed file "
                  f"`docs/figures/sensitivity/{committed.name}`; regenerate with "
                  "`python -m experiments.sensitivity run --method sobol`, about 30 "
                  "minutes on 2 cores):", "", *_table_md(sobol, ("ST", "S1")), ""]
    parts += around_fits_md()
    return "\n".join(parts)


def committed_analysis(method: str, around: str | None = None
                       ) -> tuple[pd.DataFrame, dict[str, Any]] | None:
    """The committed indices and their description (:func:`committed_indices`, ``.json``).

    None when either file is missing or unreadable.
    """
    path = committed_indices(method, around)
    try:
        return pd.read_csv(path), json.loads(path.with_suffix(".json").read_text())
    except (OSError, ValueError):
        return None


def around_fits_md() -> list[str]:
    """Markdown: the committed analyses around each fit (not rerun; ``--around``)."""
    from experiments.claims import FITS

    parts = ["### Around the fits", "",
             "The analyses above vary the contested rules and the parameters the "
             "calibration fits. Around each fit those are pinned by the data, so the "
             "question is which of the remaining parameters still move the answer: "
             "the same analyses with the fit's values held and its calibrated parameters "
             "left out (committed, **not rerun here**; regenerate with `python -m "
             "experiments.sensitivity run --method morris --around <experiment>`, then "
             "`--method sobol --around <experiment>`, on top of the Morris ranking; "
             "about 2 + 9 minutes per fit on a quiet 2-core machine).", ""]
    found = []
    for name, experiment in FITS:
        morris = committed_analysis("morris", experiment)
        sobol = committed_analysis("sobol", experiment)
        if morris is not None and sobol is not None:
            found.append((name, experiment, morris, sobol))
    if not found:
        return []
    for name, experiment, morris, sobol in found:
        (mt, ma), (st, sa_) = morris, sobol
        noise = [sa_.get(f"noise_share_{o}") for o in OUTPUTS]
        noise_text = (" Seed noise is " + " and ".join(
            f"{n:.2f} ({w})" for n, w in zip(noise, ("small share", "per-follower ratio"),
                                             strict=True))
            + " of the Sobol row means' variance." if None not in noise else "")
        parts += [f"**{name}** (`experiment={experiment}`): Morris over {ma.get('factors')} "
                  f"factors, {ma.get('rows')} design rows x {ma.get('replicates_min')} seeds; "
                  f"Sobol over its top {sa_.get('factors')}, {sa_.get('rows')} rows x "
                  f"{sa_.get('replicates_min')} seeds.{noise_text}", ""]
        for output, factors in above_noise(mt, ma).items():
            listed = ", ".join(f"`{f}`" for f in factors) or "none"
            parts.append(f"- Morris, {OUTPUTS.get(output, output)}, above seed noise: "
                         f"{listed}.")
        clear = sobol_above_noise(st, sa_)
        parts += [f"- Sobol, standing out from seed noise (first-order interval above 0 or "
                  f"total above the noise share): "
                  f"{', '.join(f'`{f}`' for f in clear) or 'none'}.", "",
                  *_table_md(st, ("ST", "S1")), ""]
    return parts


# --- the command line -------------------------------------------------------------------


def run_all(method: str, size: int, work: Path, overrides: list[str], seed: int = 12,
            factors: tuple[Factor, ...] | None = None) -> Path:
    """Sample a design into ``work``, run it through the sweep, return the sweep folder."""
    if factors is None:
        factors = FACTORS if method == "morris" else tuple(factor(n) for n in SOBOL_FACTORS)
    design, _ = write_design(work / f"sensitivity_{method}.csv", method, factors, size, seed)
    sweep_dir = work / f"sweep_{method}"
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.run", "-m", f"experiment=sensitivity_{method}",
         f"hydra.sweeper.design={design}", f"hydra.sweep.dir={sweep_dir}", *overrides],
        cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"sensitivity sweep failed: {proc.stderr.strip()[-500:]}")
    return sweep_dir


def design_name(method: str, around: str | None = None) -> str:
    """Name of a design, its sweep and its committed indices.

    ``sensitivity_<method>``, with ``_around_<experiment>`` for a design run on
    top of an experiment file.
    """
    return f"sensitivity_{method}" + (f"_around_{around}" if around else "")


def check_around(around: str | None) -> None:
    """``--around`` must name an experiment file of ``conf/experiment/``."""
    if around is None:
        return
    folder = Path(__file__).resolve().parents[1] / "conf" / "experiment"
    names = sorted(p.stem for p in folder.glob("*.yaml") if not p.stem.startswith("sensitivity"))
    if around not in names:
        raise ConfigError("--around", f"must name an experiment file of conf/experiment/ "
                          f"(e.g. {', '.join(n for n in names if 'calibrated' in n)}); "
                          f"got {around!r}")


def sweep_overrides(method: str, around: str | None = None) -> list[str]:
    """The ``experiments.run -m`` overrides that run a design (on top of ``around``)."""
    if not around:
        return [f"experiment=sensitivity_{method}"]
    name = design_name(method, around)
    return [f"experiment=[{around},sensitivity_{method}]",
            f"hydra.sweeper.design={DESIGN_DIR / name}.csv", f"sweep_name={name}"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m experiments.sensitivity",
                                     description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("sample", help="write a design table (CSV) and its description (JSON)")
    r = sub.add_parser("run", help="sample, run the sweep and analyse, in one go")
    for p in (s, r):
        p.add_argument("--method", choices=METHODS, required=True)
        p.add_argument("--size", type=int, default=None,
                       help="Morris: trajectories (default 10); Sobol: N, a power of 2 "
                            f"(default {SOBOL_N})")
        p.add_argument("--factors", default=None,
                       help="comma-separated factor names (default: all for Morris, "
                            "SOBOL_FACTORS for Sobol; with --around, those the fit does not "
                            "calibrate for Morris, the top 5 of the committed Morris "
                            "screening around it for Sobol)")
        p.add_argument("--seed", type=int, default=12, help="seed of the sample")
        p.add_argument("--around", default=None, metavar="EXPERIMENT",
                       help="run the design on top of this experiment file (e.g. "
                            "calibrated_rules_at_defaults); by default the parameters "
                            "calibration fits (sim.evidence.CALIBRATED) are left out, as "
                            "a fit pins them")
    s.add_argument("--out", type=Path, default=None,
                   help="design table (default designs/sensitivity_<method>.csv, "
                        "or designs/sensitivity_<method>_around_<experiment>.csv)")
    r.add_argument("overrides", nargs="*", help="extra sweep overrides, e.g. resume=true")
    a = sub.add_parser("analyse", help="indices, table and figure of a finished design sweep")
    a.add_argument("sweep_dir", type=Path)
    a.add_argument("--out", type=Path, default=None, help="output folder (default: the sweep)")
    return parser


def _factors(method: str, names: str | None, around: str | None = None) -> tuple[Factor, ...]:
    if names:
        return tuple(factor(n.strip()) for n in names.split(",") if n.strip())
    if method == "sobol":
        return tuple(factor(n) for n in sobol_factors(around))
    if around:  # around a fit, the calibrated parameters are pinned by the data
        from sim.evidence import CALIBRATED

        return tuple(f for f in FACTORS if f.name not in CALIBRATED)
    return FACTORS


def committed_indices(method: str, around: str | None = None) -> Path:
    """The committed indices of a full analysis (``docs/figures/sensitivity/``)."""
    return COMMITTED / f"{design_name(method, around).removeprefix('sensitivity_')}_{INDICES}.csv"


def sobol_factors(around: str | None = None) -> tuple[str, ...]:
    """The factors of a Sobol analysis: the top of the Morris screening at the same point.

    Around the defaults, :data:`SOBOL_FACTORS` (a test keeps it equal to the top of
    the committed screening); around a fit, the top ``len(SOBOL_FACTORS)`` of the
    committed screening around it, by :func:`morris_ranking`.

    Raises:
        ConfigError: No committed Morris screening around ``around``.
    """
    if not around:
        return SOBOL_FACTORS
    path = committed_indices("morris", around)
    if not path.is_file():
        raise ConfigError("--factors", f"needed for Sobol around {around}: no committed Morris "
                          f"screening around it; run --method morris --around {around} and "
                          f"copy its sensitivity_indices.csv/.json to docs/figures/sensitivity/"
                          f"{path.stem}.csv/.json, or name the factors")
    return tuple(morris_ranking(pd.read_csv(path))[:len(SOBOL_FACTORS)])


def main(argv: list[str] | None = None) -> int:
    """Command line: ``sample``, ``analyse`` or ``run``; bad input exits with status 2."""
    args = _parser().parse_args(argv)
    try:
        if args.command in ("sample", "run"):
            size = args.size or (10 if args.method == "morris" else SOBOL_N)
            check_around(args.around)
            factors = _factors(args.method, args.factors, args.around)
            name = design_name(args.method, args.around)
            run_with = sweep_overrides(args.method, args.around)
            if args.command == "sample":
                out = args.out or DESIGN_DIR / f"{name}.csv"
                path, rows = write_design(out, args.method, factors, size, args.seed,
                                          args.around)
                if args.out:
                    run_with = [o for o in run_with if not o.startswith("hydra.sweeper.design")]
                    run_with.append(f"hydra.sweeper.design={path}")
                print(f"{path}: {rows} design rows x {len(factors)} factors ({args.method}, "
                      f"size {size}); run it with python -m experiments.run -m "
                      f"{shlex.join(run_with)}")
                return 0
            write_design(DESIGN_DIR / f"{name}.csv", args.method, factors, size, args.seed,
                         args.around)
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "experiments.run", "-m", *run_with,
                                   *args.overrides])
            if proc.returncode != 0:
                return proc.returncode
            print(f"sweep: {(time.perf_counter() - start) / 60:.1f} minutes")
            sweep_dir = Path("sweeps") / name
            table, about = analyse(sweep_dir)
        else:
            if not args.sweep_dir.is_dir():
                raise ConfigError(str(args.sweep_dir), "is not a folder; give a sweep folder")
            table, about = analyse(args.sweep_dir, args.out)
            sweep_dir = args.out or args.sweep_dir
    except ConfigError as exc:
        exit_bad_input(f"{exc.key}: {exc.message}")
    except OSError as exc:
        exit_with(f"{exc.filename or 'output'}: {exc.strerror or exc}", 1)
    print(f"{about['method']}: {about['rows']} design rows x {about['replicates_min']} "
          f"replicates = {about['runs']} runs")
    for line in top_lines(table):
        print("  " + line)
    print(f"  tables and figure: {sweep_dir}/{INDICES}.csv, sensitivity_{about['method']}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())

