"""The claim map: when do the essay's claims hold in the calibrated model?

The essay (``../shared/seed/everyones-an-influencer.txt``) makes three claims
this command tests, each as one number per run with a 95% interval over seeds:

1. *Everyone closes valuable connections*: the small-audience people's share of
   the valuable referrals that became engagements that worked, against their
   share of the population (0.9 by construction: above it, small people close
   more than their headcount's share) and against one half (above it, small
   people close most of them).
2. *Per follower, small beats large*: realised referral value per follower,
   small over large; above 1 small audiences are the better investment per
   follower (the per-run version is ``realised_value_per_audience_ratio_small_large``).
3. *Small, loyal followings give the best referrals*: realised referral value per
   follower, brokers with loyal audiences over the rest; above 1 loyalty pays
   (per run: ``realised_value_per_audience_ratio_loyal``).

Each number is pooled over a condition's seeds (a ratio of sums, see :class:`Claim`).

Each claim is measured at both fits to Granovetter's (1973) tables
(``experiment=calibrated``: every calibrated parameter fitted;
``experiment=calibrated_rules_at_defaults``: the contested rules held at their
defaults; docs/model.md §Calibration: they fit the tables equally well) and, around
each, with one decisive factor changed at a time: each contested rule of
``docs/model.md`` §7.16 moved, and each factor that stands out from seed noise in
the sensitivity analyses around that fit (``docs/figures/sensitivity/``,
:func:`top_factors`) at the low and high end of its range. A claim
*holds* under a condition when the interval lies wholly on the essay's side of the
line, *fails* when it lies wholly on the other side, and is *undecided* otherwise.

Run it::

    python -m experiments.claims --out claims/          # table (Parquet + CSV) + figure
    python -m experiments.claims --quick --out claims/  # laptop size: fewer seeds

The output folder must be new or empty (default ``outputs/claims/<date>_<time>``):
nothing is overwritten.

:func:`validation_section` is the claim-map section of ``docs/validation.md``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.compose import compose_config
from experiments.errors import (
    error_line,
    exit_bad_input,
    exit_with,
    os_error_line,
    used_folder_problem,
)
from sim.config import ConfigError
from sim.measures import bootstrap_interval, excludes


@dataclass(frozen=True)
class Claim:
    """One claim of the essay: a ratio of sums over runs, against a line.

    The number is pooled over a condition's seeds, ``(sum num_a / sum den_a) /
    (sum num_b / sum den_b)`` (``den_*`` empty: 1), so runs with few events weigh
    little instead of giving undefined ratios; its interval resamples the seeds.

    Attributes:
        key: Short name.
        label: Axis label of its panel.
        num_a: Per-run column of the numerator's numerator.
        den_a: Its denominator ("" = 1).
        num_b: The denominator's numerator ("" = 1).
        den_b: Its denominator ("" = 1).
        null: The line the essay says the number is above; ``None``: the mean of
            the ``small_population_share`` column.
        line_label: What the line is, for the figure ("" for ratios, whose line is 1).
    """

    key: str
    label: str
    num_a: str
    den_a: str = ""
    num_b: str = ""
    den_b: str = ""
    null: float | None = 1.0
    line_label: str = ""

    def pooled(self, runs: pd.DataFrame | dict[str, np.ndarray],
               rows: np.ndarray | None = None) -> float:
        """The claim's number pooled over ``runs`` (or over its ``rows``, repeats allowed)."""
        def total(col: str) -> float:
            if not col:
                return 1.0
            values = np.asarray(runs[col], dtype=np.float64)
            return float(values.sum() if rows is None else values[rows].sum())

        with np.errstate(divide="ignore", invalid="ignore"):
            a = np.float64(total(self.num_a)) / total(self.den_a)
            b = np.float64(total(self.num_b)) / total(self.den_b)
            return float(a / b)

    def line(self, runs: pd.DataFrame) -> float:
        """The line of this claim for ``runs``."""
        return float(runs["small_population_share"].mean()) if self.null is None else self.null


CLAIMS: tuple[Claim, ...] = (
    # The essay's claim is that small people together close valuable connections (a
    # majority); closing their headcount's share would mean parity per head as well.
    Claim("small_majority", "Small people's share of valuable\nreferrals that worked",
          "valuable_worked_small", "valuable_worked", null=0.5, line_label="half"),
    Claim("small_share", "Small people's share of valuable\nreferrals that worked",
          "valuable_worked_small", "valuable_worked", null=None,
          line_label="population\nshare"),
    Claim("per_follower", "Realised value per follower,\nsmall over large",
          "value_small", "audience_small", "value_large", "audience_large"),
    Claim("loyal", "Realised value per follower,\nloyal over less loyal audiences",
          "value_loyal", "audience_loyal", "value_other", "audience_other"),
)


def run_components(people: pd.DataFrame, closures: pd.DataFrame) -> dict[str, float]:
    """The sums of one run that the claims pool.

    Valuable referrals that worked, realised referral value and audience, by
    audience class and by audience loyalty: :func:`sim.measures.class_totals`,
    the sums behind the run's own quality metrics.
    """
    from sim.measures import class_totals

    totals = class_totals(people, closures)
    return {
        "small_population_share": float(totals["people_small"] / len(people)),
        "valuable_worked": float(totals["valuable_worked_small"]
                                 + totals["valuable_worked_large"]),
        **{key: float(totals[key]) for key in (
            "valuable_worked_small", "value_small", "audience_small", "value_large",
            "audience_large", "value_loyal", "audience_loyal", "value_other", "audience_other")},
    }


@dataclass(frozen=True)
class Condition:
    """A configuration of the claim map: one fit with a few overrides.

    Attributes:
        group: Row group of the figure: the fit it starts from (a name of :data:`FITS`).
        label: Row label, unique, e.g. ``fit A: response.know=attention``.
        overrides: Hydra overrides (``experiment=calibrated``, then the changes).
    """

    group: str
    label: str
    overrides: tuple[str, ...]


#: A moved value this close to the fitted one is the fit's own row (not run twice).
SAME_WITHIN = 0.05

#: The contested rules of docs/model.md §7.16 and the values each is moved to (the
#: value a fit already has is skipped).
CONTESTED_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("response.know", ("attention", "all")),
    ("needs.seeker_reposts", ("false", "true")),
    ("people.budget_audience_exponent", ("0.0", "0.5", "1.0")),
    ("trust.enabled", ("true", "false")),
)



#: Factors moved around each fit, at most (the map stays readable on a slide).
MAX_FACTORS = 2


def top_factors(around: str) -> tuple[tuple[str, str, str], ...]:
    """The factors moved around one fit, with their range: ``(key, low, high)``.

    Those that stand out from seed noise in the analyses around the fit (committed
    in ``docs/figures/sensitivity/``, ``*_around_<experiment>_*``): first the Sobol
    analysis (:func:`experiments.sensitivity.sobol_above_noise`, largest total index
    first), then the Morris screening (:func:`experiments.sensitivity.above_noise`,
    either output, in :func:`experiments.sensitivity.morris_ranking` order), at most
    :data:`MAX_FACTORS`; ranges from ``experiments.sensitivity.FACTORS``. Contested
    rules are moved anyway (:data:`CONTESTED_RULES`) and fitted parameters
    (``sim.evidence.CALIBRATED``) are pinned by the data, so neither is among them.

    Args:
        around: The fit's experiment file (e.g. ``calibrated``).

    Raises:
        ConfigError: An analysis around ``around`` is not committed.
    """
    from experiments.sensitivity import (
        FACTORS,
        above_noise,
        committed_analysis,
        committed_indices,
        morris_ranking,
        sobol_above_noise,
    )
    from sim.evidence import CALIBRATED

    found = {}
    for method in ("morris", "sobol"):  # the Sobol design is the top of the Morris one
        found[method] = committed_analysis(method, around)
        if found[method] is None:
            path = committed_indices(method, around)
            raise ConfigError(str(path), f"missing or unreadable: run python -m experiments."
                              f"sensitivity run --method {method} --around {around}, then "
                              f"copy its sensitivity_indices.csv/.json here as "
                              f"{path.stem}.csv/.json")
    morris, about = found["morris"]
    flagged = {f for fs in above_noise(morris, about).values() for f in fs}
    candidates = [*sobol_above_noise(*found["sobol"]),
                  *(f for f in morris_ranking(morris) if f in flagged)]
    contested = {key for key, _ in CONTESTED_RULES}
    ranges = {f.name: f for f in FACTORS}
    names = [n for n in dict.fromkeys(candidates)
             if n not in contested and n not in CALIBRATED][:MAX_FACTORS]
    return tuple((n, ranges[n].text(0.0), ranges[n].text(1.0)) for n in names)


#: The two fits to Granovetter's tables (docs/model.md §Calibration), each a base of
#: the claim map: ``(short name, experiment)``. Both fit the tables equally well and
#: differ in the contested rules, so the map shows the answer under each.
FITS: tuple[tuple[str, str], ...] = (
    ("fit A (all fitted)", "calibrated"),
    ("fit B (rules at defaults)", "calibrated_rules_at_defaults"),
)


def conditions(fits: Sequence[tuple[str, Any]],
               factors: Sequence[tuple[str, str, str]]
               | Mapping[str, Sequence[tuple[str, str, str]]] = ()) -> list[Condition]:
    """The claim map's rows: each fit, then its contested rules moved and top factors moved.

    Args:
        fits: ``(name, config)`` of each fit, where ``config`` is its composed
            :class:`~sim.config.Config` (to know each rule's fitted value) and the
            fit's overrides come from :data:`FITS` by name (or ``experiment=<name>``).
        factors: ``(key, low, high)`` of each factor to move around every fit, or
            per fit name (:func:`fit_factors`).

    Returns:
        The conditions, each fit's own row first.
    """
    experiments = dict(FITS)
    rows = []
    for name, config in fits:
        base = (f"experiment={experiments.get(name, name)}",)
        tag = name.split(" (")[0]
        rows.append(Condition(name, name, base))
        for key, values in CONTESTED_RULES:
            section, field = key.split(".")
            current = getattr(getattr(config, section), field)
            text = str(current).lower() if isinstance(current, bool) else str(current)
            for value in values:
                if not _same(value, text):
                    rows.append(Condition(name, f"{tag}: {key}={value}",
                                          (*base, f"{key}={value}")))
        moved = factors.get(name, ()) if isinstance(factors, Mapping) else factors
        for key, low, high in moved:
            for value in (low, high):
                rows.append(Condition(name, f"{tag}: {key}={value}", (*base, f"{key}={value}")))
    return rows


def fit_factors() -> dict[str, tuple[tuple[str, str, str], ...]]:
    """:func:`top_factors` around each fit of :data:`FITS`, by fit name."""
    return {name: top_factors(experiment) for name, experiment in FITS}


def fit_configs() -> list[tuple[str, Any]]:
    """``(name, config)`` of each fit of :data:`FITS`, composed as the command line would."""
    return [(name, compose_config([f"experiment={experiment}"])) for name, experiment in FITS]


def _same(a: str, b: str) -> bool:
    """Whether value ``a`` is (within :data:`SAME_WITHIN`) the fitted value ``b``."""
    try:
        return abs(float(a) - float(b)) <= SAME_WITHIN
    except ValueError:
        return a == b


def _run_one(task: tuple[Any, int]) -> dict[str, Any]:
    from sim.config import with_values
    from sim.run import run

    config, seed = task
    result = run(with_values(config, {"seed": seed}))
    return run_components(result.people, result.closures)


def run_claims(rows: Sequence[Condition], seeds: Sequence[int], workers: int = 2,
               progress: bool = True) -> pd.DataFrame:
    """Run every condition with every seed; one row per run.

    Args:
        rows: The conditions (each composed once, then run with every seed).
        seeds: Seeds (replicates) of each condition.
        workers: Processes (runs are independent; results do not depend on it).
        progress: Show a progress bar.

    Returns:
        Columns ``group``, ``condition``, ``seed`` and :func:`run_components`.
    """
    from tqdm import tqdm

    from experiments.pool import pool_map

    configs = [compose_config(list(row.overrides)) for row in rows]
    tasks = [(config, seed) for config in configs for seed in seeds]
    labels = [(row.group, row.label, seed) for row in rows for seed in seeds]
    bar = tqdm(total=len(tasks), desc="claim map", unit="run", disable=not progress,
               leave=False)
    results = pool_map(_run_one, tasks, workers=workers, on_each=lambda: bar.update(1))
    bar.close()
    table = pd.DataFrame(results)
    table.insert(0, "seed", [s for _, _, s in labels])
    table.insert(0, "condition", [c for _, c, _ in labels])
    table.insert(0, "group", [g for g, _, _ in labels])
    return table


#: A claim's verdict by the side of its line the interval lies on (sim.measures.excludes).
VERDICTS = {1: "holds", -1: "fails", 0: "undecided"}


def verdict(low: float, high: float, null: float) -> str:
    """``holds`` (interval above the line), ``fails`` (below) or ``undecided``."""
    return VERDICTS[excludes((low, high), null)]


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per condition and claim: the pooled number, its 95% interval, line, verdict.

    The interval is the bootstrap over the condition's runs (seeds) of the pooled
    number (:func:`sim.measures.bootstrap_interval` on run indices).
    """
    out = []
    for (group, condition), part in runs.groupby(["group", "condition"], sort=False):
        part = part.reset_index(drop=True)
        columns = {c: part[c].to_numpy(np.float64) for c in part.columns
                   if c not in ("group", "condition", "seed")}
        for claim in CLAIMS:
            def stat(idx: np.ndarray, c: Claim = claim, cols: dict = columns) -> float:
                return c.pooled(cols, idx.astype(int))

            ci = bootstrap_interval(np.arange(len(part), dtype=np.float64), stat)
            null = claim.line(part)
            out.append({
                "group": group, "condition": condition, "claim": claim.key,
                "runs": len(part), "value": claim.pooled(part),
                "low": ci.low, "high": ci.high, "interval": ci.method, "line": null,
                "verdict": verdict(ci.low, ci.high, null),
            })
    return pd.DataFrame(out)


def write_outputs(runs: pd.DataFrame, summary: pd.DataFrame, out: Path) -> list[Path]:
    """Write the runs and summary tables (Parquet + CSV) and the figure into ``out``."""
    from sim.io import write_csv, write_parquet
    from sim.viz.claims import claim_map_figure
    from sim.viz.plots import save_figure

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in (("claim_runs", runs), ("claim_map", summary)):
        written.append(write_parquet(table, out / f"{name}.parquet"))
        written.append(write_csv(table, out / f"{name}.csv"))
    fig = claim_map_figure(summary, CLAIMS)
    written += save_figure(fig, out / "claim_map")
    return written


#: Seeds of --quick and the validation report, at the fits' own size (10,000 people, as
#: calibrated: Granovetter's tables were fitted there).
QUICK_SEEDS = 6
FULL_SEEDS = 20


def validation_section(figures_dir: Path, quick: bool = True) -> str:
    """The claim-map section of ``docs/validation.md`` (runs it, writes the figure)."""
    fits = fit_configs()
    rows = conditions(fits, fit_factors())
    seeds = range(QUICK_SEEDS if quick else FULL_SEEDS)
    start = time.perf_counter()
    runs = run_claims(rows, list(seeds))
    elapsed = time.perf_counter() - start
    summary = summarize(runs)
    write_outputs(runs, summary, figures_dir)
    lines = [
        "## Claim map: when the essay's claims hold",
        "",
        "Both fits to Granovetter's tables (fit A: `experiment=calibrated`; fit B: "
        "`experiment=calibrated_rules_at_defaults`) and one factor moved at a time, "
        f"seeds 0–{len(seeds) - 1} per condition, 95% intervals over seeds "
        f"({len(runs)} runs, {elapsed:.0f} s). A claim *holds* where the interval lies above "
        "its line, *fails* where it lies below, else *undecided*. "
        "Regenerate: `python -m experiments.claims`.",
        "",
        f"![Claim map]({figures_dir.name}/claim_map.png)" if figures_dir.name else "",
        "",
        "| Condition | " + " | ".join(c.key for c in CLAIMS) + " |",
        "|---|" + "---|" * len(CLAIMS),
    ]
    for (_, condition), part in summary.groupby(["group", "condition"], sort=False):
        cells = []
        for claim in CLAIMS:
            r = part[part["claim"] == claim.key].iloc[0]
            cells.append(f"{r['value']:.2f} [{r['low']:.2f}, {r['high']:.2f}] {r['verdict']}")
        lines.append(f"| {condition} | " + " | ".join(cells) + " |")
    lines += ["", *scaling_lines(fits)]
    return "\n".join(lines) + "\n"


def scaling_lines(fits: Sequence[tuple[str, Any]]) -> list[str]:
    """Markdown: what the shared data say about the decisive rule (budgets and audience).

    Args:
        fits: :func:`fit_configs` (fit A first, then fit B).
    """
    from experiments.compose import ROOT
    from sim.evidence import BITCOIN_OTC, MALAWI_CONTACTS, attention_scaling

    rows = attention_scaling(ROOT / MALAWI_CONTACTS, ROOT / BITCOIN_OTC)
    fit_a, fit_b = (config.people.budget_audience_exponent for _, config in fits)
    lines = [
        "### What the data say about the decisive rule",
        "",
        "Does the attention a person gives grow with their audience "
        f"(`people.budget_audience_exponent`: {fit_b:g} in fit B, {fit_a:g} in fit A)? "
        "The slope of "
        "log(attention given) on log(audience) over people, 95% bootstrap interval over "
        "people (`sim.evidence.attention_scaling`):",
        "",
        "| data | attention given | audience | people | slope [95% interval] |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r.data} | {r.attention} | {r.audience} | {r.people:,} | "
                     f"{r.slope:.2f} [{r.low:.2f}, {r.high:.2f}] |")
    village = rows[0]

    def verdict_on(value: float) -> str:
        return "includes" if village.low <= value <= village.high else "excludes"

    lines += ["", f"The village's interval {verdict_on(fit_b)} fit B's exponent ({fit_b:g}) "
              f"and {verdict_on(fit_a)} fit A's ({fit_a:g}). bitcoin-otc's counts are tied "
              "together by the two ratings of one trade, so its slope leans toward 1 "
              "whatever the rule; the village's face-to-face time is the cleaner test."]
    return lines


def main(argv: list[str] | None = None) -> int:
    """Command line: run the claim map, write tables and figure, print a summary."""
    parser = argparse.ArgumentParser(prog="python -m experiments.claims",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=None,
                        help="output folder, new or empty (default: "
                             "outputs/claims/<date>_<time>)")
    parser.add_argument("--quick", action="store_true",
                        help=f"laptop size ({QUICK_SEEDS} seeds per condition)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per condition")
    parser.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    args = parser.parse_args(argv)
    try:
        if args.seeds is not None and args.seeds < 2:
            raise ConfigError("--seeds", f"must be at least 2 (an interval needs two runs), "
                              f"got {args.seeds}")
        if args.workers < 1:
            raise ConfigError("--workers", f"must be at least 1, got {args.workers}")
        out = Path(args.out or Path("outputs") / "claims"
                   / datetime.now().strftime("%Y-%m-%d_%H-%M-%S"))
        if (problem := used_folder_problem(out)) is not None:
            exit_bad_input(problem)
        fits = fit_configs()
        seeds = args.seeds or (QUICK_SEEDS if args.quick else FULL_SEEDS)
        runs = run_claims(conditions(fits, fit_factors()), list(range(seeds)),
                          workers=args.workers)
        summary = summarize(runs)
        write_outputs(runs, summary, out)
    except Exception as exc:  # noqa: BLE001 - bad input and full disks become one line
        if (line := error_line(exc)) is not None:
            exit_bad_input(line)
        if (line := os_error_line(exc, args.out)) is not None:
            exit_with(line, 1)
        raise
    for _, r in summary.iterrows():
        print(f"{r['condition']:<40} {r['claim']:<13} {r['value']:6.2f} "
              f"[{r['low']:.2f}, {r['high']:.2f}] vs {r['line']:.2f}: {r['verdict']}")
    print(f"wrote {out}/claim_map.png, claim_map.csv and claim_runs.csv")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
