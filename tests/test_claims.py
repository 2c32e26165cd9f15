"""The claim map (experiments.claims) and the validation command (experiments.validate)."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments import claims, validate
from experiments.compose import compose_config

REPO = Path(__file__).resolve().parent.parent


def people_table() -> pd.DataFrame:
    # Six people: 0 and 1 large (audience 10, 8), 2..5 small (audience 2, 1, 3, 0).
    return pd.DataFrame({
        "is_large": [True, True, False, False, False, False],
        "audience": [10, 8, 2, 1, 3, 0],
        "loyalty": [0.2, 0.9, 0.8, 0.1, 0.5, 0.0],
    })


def closures_table() -> pd.DataFrame:
    # Referrals: by 0 (valuable, worked, 4.0), by 2 (valuable, worked, 2.0), by 2 (valuable,
    # failed, 0.0), by 3 (not valuable, worked, 1.0); one direct closure (no broker).
    return pd.DataFrame({
        "kind": ["referral", "referral", "referral", "referral", "direct"],
        "broker": [0, 2, 2, 3, -1],
        "worked": [True, True, False, True, True],
        "valuable": [True, True, True, False, True],
        "value": [4.0, 2.0, 5.0, 1.0, 9.0],
        "realised_value": [4.0, 2.0, 0.0, 1.0, 9.0],
    })


def test_run_components_exact() -> None:
    c = claims.run_components(people_table(), closures_table())
    assert c["small_population_share"] == pytest.approx(4 / 6)
    assert c["valuable_worked"] == 2  # the failed one and the direct one do not count
    assert c["valuable_worked_small"] == 1
    assert (c["value_small"], c["audience_small"]) == (3.0, 6.0)
    assert (c["value_large"], c["audience_large"]) == (4.0, 18.0)
    # Loyalty median over people with an audience (0.2, 0.9, 0.8, 0.1, 0.5) is 0.5:
    # loyal 1, 2, 4; the others with an audience: 0, 3.
    assert (c["value_loyal"], c["audience_loyal"]) == (2.0, 13.0)
    assert (c["value_other"], c["audience_other"]) == (5.0, 11.0)


def test_pooled_is_a_ratio_of_sums_not_a_mean_of_ratios() -> None:
    runs = pd.DataFrame({"value_small": [1.0, 0.0], "audience_small": [1.0, 9.0],
                         "value_large": [1.0, 1.0], "audience_large": [1.0, 1.0]})
    per_follower = next(c for c in claims.CLAIMS if c.key == "per_follower")
    # (1 / 10) / (2 / 2) = 0.1, where the mean of per-run ratios would be 0.5.
    assert per_follower.pooled(runs) == pytest.approx(0.1)
    # Resampled rows, repeats allowed: run 0 twice gives (2 / 2) / (2 / 2).
    columns = {c: runs[c].to_numpy() for c in runs}
    assert per_follower.pooled(columns, np.array([0, 0])) == pytest.approx(1.0)


def test_verdicts() -> None:
    assert claims.verdict(1.1, 2.0, 1.0) == "holds"
    assert claims.verdict(0.2, 0.9, 1.0) == "fails"
    assert claims.verdict(0.9, 1.1, 1.0) == "undecided"
    assert claims.verdict(np.nan, 2.0, 1.0) == "undecided"


def test_summarize_pools_seeds_with_interval_and_verdict() -> None:
    rng = np.random.default_rng(0)
    rows = []
    for seed in range(6):
        # Small people broker 95 of every 100 valuable referrals that worked (line 0.9).
        rows.append({"group": "calibrated", "condition": "calibrated", "seed": seed,
                     "small_population_share": 0.9, "valuable_worked": 100.0,
                     "valuable_worked_small": 95.0 + rng.integers(-1, 2),
                     "value_small": 30.0, "audience_small": 10.0,
                     "value_large": 10.0, "audience_large": 10.0,
                     "value_loyal": 5.0, "audience_loyal": 10.0,
                     "value_other": 10.0, "audience_other": 10.0})
    table = claims.summarize(pd.DataFrame(rows)).set_index("claim")
    assert table.loc["small_share", "verdict"] == "holds"
    assert table.loc["small_majority", "line"] == 0.5
    assert table.loc["per_follower", "value"] == pytest.approx(3.0)
    assert table.loc["per_follower", "verdict"] == "holds"
    assert table.loc["loyal", "value"] == pytest.approx(0.5)
    assert table.loc["loyal", "verdict"] == "fails"  # all values equal: exact interval 0.5


def test_conditions_move_each_contested_rule_and_each_factor_around_each_fit() -> None:
    fits = claims.fit_configs()
    assert [name for name, _ in fits] == [name for name, _ in claims.FITS]
    b_name, b_config = fits[1]  # fit B keeps the contested rules at their defaults
    assert b_config.response.know == "attention" and b_config.trust.enabled
    rows = claims.conditions([(b_name, b_config)], [("response.pass_base", "0.05", "0.2")])
    labels = [r.label for r in rows]
    assert labels[0] == b_name and rows[0].overrides == (
        "experiment=calibrated_rules_at_defaults",)
    assert "fit B: response.know=all" in labels
    assert "fit B: response.know=attention" not in labels  # the fitted value is the base
    assert "fit B: trust.enabled=false" in labels and "fit B: trust.enabled=true" not in labels
    assert "fit B: people.budget_audience_exponent=0.0" not in labels
    assert "fit B: people.budget_audience_exponent=1.0" in labels
    assert labels[-2:] == ["fit B: response.pass_base=0.05", "fit B: response.pass_base=0.2"]
    assert len(set(labels)) == len(labels)
    for row in rows[1:]:
        config = compose_config(list(row.overrides))  # every condition is a valid config
        key, value = row.label.split(": ")[1].split("=")
        section, field = key.split(".")
        assert str(getattr(getattr(config, section), field)).lower() == value.lower() or (
            float(getattr(getattr(config, section), field)) == float(value))
        assert config.ties.strength_noise == b_config.ties.strength_noise  # the fit is kept


def test_claims_cli_refuses_bad_arguments_in_one_line(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "experiments.claims", "--seeds", "1",
                          "--out", str(tmp_path / "x")], cwd=REPO, capture_output=True,
                         text=True)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "error: --seeds: must be at least 2 (an interval needs two runs), got 1"]
    assert not (tmp_path / "x").exists()


def test_validate_refuses_unknown_section_and_partial_report() -> None:
    for args, message in ((["--only", "nope", "--out", "x.md"], "unknown section 'nope'"),
                          (["--only", "claims"], "a partial report must not replace")):
        out = subprocess.run([sys.executable, "-m", "experiments.validate", *args], cwd=REPO,
                             capture_output=True, text=True)
        assert out.returncode == 2
        assert len(out.stderr.strip().splitlines()) == 1 and message in out.stderr


def _fake_section(figures_dir: Path, quick: bool = True) -> str:
    (figures_dir / "fig.png").write_bytes(b"png")
    return f"## Fake\n\n![f]({figures_dir.name}/fig.png) quick={quick}\n"


def _failing_section(figures_dir: Path, quick: bool = True) -> str:
    (figures_dir / "half.png").write_bytes(b"partial")
    raise RuntimeError("section broke")


def test_validate_replaces_report_only_when_every_section_succeeds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # validate moves to the project root; restore afterwards
    good = types.ModuleType("fake_good")
    good.validation_section = _fake_section
    bad = types.ModuleType("fake_bad")
    bad.validation_section = _failing_section
    monkeypatch.setitem(sys.modules, "fake_good", good)
    monkeypatch.setitem(sys.modules, "fake_bad", bad)
    report = tmp_path / "docs" / "validation.md"
    report.parent.mkdir()
    monkeypatch.setattr(validate, "SECTIONS", (("good", "fake_good"),))
    assert validate.main(["--out", str(report)]) == 0
    text = report.read_text()
    assert "![f](figures/validation/fig.png) quick=True" in text
    assert (tmp_path / "docs" / "figures" / "validation" / "fig.png").read_bytes() == b"png"

    monkeypatch.setattr(validate, "SECTIONS", (("good", "fake_good"), ("bad", "fake_bad")))
    with pytest.raises(RuntimeError, match="section broke"):
        validate.main(["--out", str(report)])
    assert report.read_text() == text  # the old report and figures are untouched
    assert sorted(p.name for p in (tmp_path / "docs" / "figures").iterdir()) == ["validation"]
    assert not (tmp_path / "docs" / "figures" / "validation" / "half.png").exists()


def test_factors_moved_around_each_fit_stand_out_from_noise_in_its_sobol_analysis() -> None:
    from experiments.sensitivity import (
        FACTORS,
        above_noise,
        committed_analysis,
        sobol_above_noise,
    )
    from sim.evidence import CALIBRATED

    def committed(method: str, experiment: str) -> tuple[pd.DataFrame, dict]:
        found = committed_analysis(method, experiment)
        assert found is not None and found[1]["around"] == experiment
        return found

    contested = {key for key, _ in claims.CONTESTED_RULES}
    ranges = {f.name: f for f in FACTORS}
    for _name, experiment in claims.FITS:
        by_sobol = sobol_above_noise(*committed("sobol", experiment))
        by_morris = {f for fs in above_noise(*committed("morris", experiment)).values()
                     for f in fs}
        factors = claims.top_factors(experiment)
        keys = [key for key, _, _ in factors]
        assert keys and len(keys) <= claims.MAX_FACTORS
        assert set(keys) <= set(by_sobol) | by_morris
        assert keys[:len(by_sobol)] == by_sobol[:len(keys)]  # Sobol's own first
        assert not set(keys) & (contested | set(CALIBRATED))
        for key, low, high in factors:
            assert (low, high) == (ranges[key].text(0.0), ranges[key].text(1.0))
            for value in (low, high):
                compose_config([f"experiment={experiment}", f"{key}={value}"])
    # what docs/model.md and findings.md say the committed analyses give
    assert {name: [key for key, _, _ in f] for name, f in claims.fit_factors().items()} == {
        "fit A (all fitted)": ["people.home_topics"],
        "fit B (rules at defaults)": ["people.budget_sigma", "ties.new_tie_strength"]}


def test_sobol_factors_stand_out_by_either_index_against_its_own_noise() -> None:
    from experiments.sensitivity import sobol_above_noise

    table = pd.DataFrame({
        "output": ["a"] * 4 + ["b"] * 4, "factor": ["w", "x", "y", "z"] * 2,
        "S1_low": [0.1, -0.2, -0.1, -0.3, -0.1, -0.1, -0.1, -0.2],
        "ST": [0.5, 0.9, 0.4, 0.3, 0.2, 0.7, 0.95, 0.6],
        "ST_low": [0.2, 0.45, 0.35, 0.1, 0.1, 0.5, 0.6, 0.55]})
    about = {"noise_share_a": 0.4, "noise_share_b": 0.58}
    # w: S1 above 0 on a; x: ST above a's noise 0.4; y: ST above b's 0.58; z: neither
    assert sobol_above_noise(table, about) == ["y", "x", "w"]
    # no noise level (no replicates): only a first-order interval above 0 counts
    assert sobol_above_noise(table, {}) == ["w"]


def _per_fit_section(figures_dir: Path, quick: bool = True, overrides=()) -> str:
    (figures_dir / "p.png").write_bytes(b"p")
    link = f"figures/{figures_dir.parent.name}/{figures_dir.name}/p.png"  # relative to docs/
    return f"## Patterns\n\n{' '.join(overrides)} ![p]({link})\n"


def test_validate_runs_per_fit_sections_once_per_fit_and_relinks_their_figures(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    module = types.ModuleType("fake_per_fit")
    module.validation_section = _per_fit_section
    monkeypatch.setitem(sys.modules, "fake_per_fit", module)
    monkeypatch.setattr(validate, "SECTIONS", (("pat", "fake_per_fit"),))
    monkeypatch.setattr(validate, "PER_FIT", {"pat": (("fit X", "fx", ("experiment=x",)),
                                                      ("fit Y", "fy", ("experiment=y",)))})
    report = tmp_path / "docs" / "validation.md"
    report.parent.mkdir()
    assert validate.main(["--out", str(report)]) == 0
    text = report.read_text()
    assert "## Patterns (fit X)\n\nexperiment=x ![p](figures/validation/fx/p.png)" in text
    assert "## Patterns (fit Y)\n\nexperiment=y ![p](figures/validation/fy/p.png)" in text
    assert (tmp_path / "docs" / "figures" / "validation" / "fy" / "p.png").exists()


def test_claims_cli_never_writes_into_a_used_folder(tmp_path: Path) -> None:
    used = tmp_path / "talk"
    used.mkdir()
    (used / "claim_map.png").write_bytes(b"my slide")
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    for out, message in ((used, f"error: --out {used}: already holds files; name a new or "
                                "empty folder (nothing is overwritten)"),
                         (a_file, f"error: --out {a_file}: is a file, not a folder")):
        done = subprocess.run([sys.executable, "-m", "experiments.claims", "--out", str(out)],
                              cwd=REPO, capture_output=True, text=True)
        assert done.returncode == 2
        assert done.stderr.strip().splitlines() == [message]
    assert (used / "claim_map.png").read_bytes() == b"my slide"
    assert sorted(p.name for p in used.iterdir()) == ["claim_map.png"]
    assert a_file.read_text() == "mine"
