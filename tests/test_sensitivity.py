"""Global sensitivity: the design-table sweeper, the factor table and the analysis plumbing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments import sensitivity as sa
from experiments.errors import schema_type
from hydra_plugins.influencer_sim_launcher.sweeper import design_jobs, read_design
from sim.config import ConfigError, from_dict, validate

REPO = Path(__file__).resolve().parents[1]
TINY = ["people.n=200", "days=10", "warmup_days=0"]


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def sweep(tmp_path: Path, design: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    return subprocess.run(
        [sys.executable, "-m", "experiments.run", "-m", f"hydra.sweep.dir={tmp_path}/sweep",
         f"hydra.sweeper.design={design}", *TINY, *args], cwd=REPO, env=env,
        capture_output=True, text=True, timeout=600)


# --- the design table ---------------------------------------------------------------------


def test_read_design_formats_each_cell_as_its_keys_type(tmp_path):
    design = read_design(write(tmp_path / "d.csv",
                               "ties.floor,needs.lifetime_days,needs.seeker_reposts,response.know\n"
                               "0.03,5.0,TRUE,all\n0.05,7,false,attention\n"))
    assert design.keys == ("ties.floor", "needs.lifetime_days", "needs.seeker_reposts",
                           "response.know")
    assert design.rows == (
        ("ties.floor=0.03", "needs.lifetime_days=5", "needs.seeker_reposts=true",
         "response.know=all"),
        ("ties.floor=0.05", "needs.lifetime_days=7", "needs.seeker_reposts=false",
         "response.know=attention"))
    assert design.row_name(1) == "design_row=0001"


def test_design_rows_are_crossed_with_the_other_swept_jobs(tmp_path):
    design = read_design(write(tmp_path / "d.csv", "ties.floor\n0.03\n0.04\n0.05\n"))
    jobs = design_jobs(design, [["seed=0"], ["seed=1"]])
    assert jobs == [["seed=0", "design_row=0000", "ties.floor=0.03"],
                    ["seed=1", "design_row=0000", "ties.floor=0.03"],
                    ["seed=0", "design_row=0001", "ties.floor=0.04"],
                    ["seed=1", "design_row=0001", "ties.floor=0.04"],
                    ["seed=0", "design_row=0002", "ties.floor=0.05"],
                    ["seed=1", "design_row=0002", "ties.floor=0.05"]]
    with pytest.raises(ConfigError, match="ties.floor"):
        design_jobs(design, [["ties.floor=0.1", "seed=0"]])


@pytest.mark.parametrize(("text", "message"), [
    ("ties.flor\n0.1\n", "'ties.flor': is not a config key"),
    ("ties.floor\nabc\n", "row 0, column ties.floor: must be a number; got 'abc'"),
    ("needs.lifetime_days\n2.5\n", "must be a whole number; got '2.5'"),
    ("trust.enabled\n1\n", "must be true or false; got '1'"),
    ("ties.floor\n\n", "needs a header of config keys and at least one row"),
    ("ties.floor,seed\n0.1,3\n", "column seed: is set by the sweep"),
    ("ties.floor,trust.exponent\n0.1\n", "row 0: has 1 cells, the header 2"),
    ("ties.floor\nnan\n", "must be a finite number"),
])
def test_bad_design_tables_are_refused_naming_the_cell(tmp_path, text, message):
    with pytest.raises(ConfigError) as info:
        read_design(write(tmp_path / "d.csv", text))
    assert message in f"{info.value.key}: {info.value.message}"


@pytest.mark.slow
def test_design_sweep_runs_every_row_for_every_seed(tmp_path):
    design = write(tmp_path / "d.csv", "ties.floor,trust.exponent,needs.seeker_reposts\n"
                                       "0.03,0.25,true\n0.04,0.5,false\n0.05,1.0,false\n")
    write(tmp_path / "d.json", '{"method": "morris"}')  # as `sample` writes beside a design
    proc = sweep(tmp_path, design, "seed=range(2)", "hydra.launcher.n_jobs=2")
    assert proc.returncode == 0, proc.stderr
    folder = tmp_path / "sweep"
    runs = sorted(p.name for p in folder.iterdir() if (p / "metrics.json").is_file())
    assert runs == [f"days=10,design_row={r:04d},people.n=200,seed={s},warmup_days=0"
                    for r in range(3) for s in range(2)]
    rows = [(0.03, 0.25, True), (0.04, 0.5, False), (0.05, 1.0, False)]
    for name in runs:
        config = json.loads((folder / name / "metrics.json").read_text())["config"]
        row = int(name.split("design_row=")[1][:4])
        assert (config["ties"]["floor"], config["trust"]["exponent"],
                config["needs"]["seeker_reposts"]) == rows[row]
        assert config["seed"] == int(name.split("seed=")[1][0])
    assert (folder / "design.csv").read_text() == design.read_text()
    summary = pd.read_parquet(folder / "summary.parquet")
    assert len(summary) == 6 and (summary["status"] == "ok").all()
    # a sampled design moves three factors together, not a grid: no figure mixes them
    assert "the sampled design moves 3 factors together" in proc.stderr
    assert "0 figures in" in proc.stdout
    assert not list(folder.glob("figures/*.png"))
    # the same folder with a changed table is another sweep: refused, nothing touched
    before = sorted(p.name for p in folder.rglob("*"))
    changed = write(tmp_path / "d2.csv", design.read_text() + "0.02,0.3,true\n")
    proc = sweep(tmp_path, changed, "seed=range(2)", "resume=true")
    assert proc.returncode == 2 and "holds a different sweep" in proc.stderr
    assert sorted(p.name for p in folder.rglob("*")) == before


@pytest.mark.parametrize(("text", "message"), [
    ("ties.floor\n0.02\n1.5\n", "ties.floor: must be a number in (0, 1]; got 1.5 "
                                "(design_row=0001 of the design table)"),
    (None, "cannot read design table"),
    ("foo.bar\n1\n", "'foo.bar': is not a config key"),
])
def test_bad_design_stops_the_sweep_with_one_line_and_writes_nothing(tmp_path, text, message):
    design = tmp_path / "d.csv" if text is None else write(tmp_path / "d.csv", text)
    if text is None:
        design = tmp_path / "missing.csv"
    proc = sweep(tmp_path, design, "seed=range(2)")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert not (tmp_path / "sweep").exists()


def test_a_design_runs_on_top_of_a_fit(tmp_path):
    # around fit B: the fit's values hold for every key the design does not set
    design = write(tmp_path / "d.csv", "needs.rate\n0.001\n0.004\n")
    fit_b = sa.sweep_overrides("morris", "calibrated_rules_at_defaults")[0]
    proc = sweep(tmp_path, design, fit_b, "seed=range(1)")
    assert proc.returncode == 0, proc.stderr
    configs = sorted((json.loads(p.read_text())["config"] for p in
                      (tmp_path / "sweep").glob("*/metrics.json")),
                     key=lambda c: c["needs"]["rate"])
    assert [c["needs"]["rate"] for c in configs] == [0.001, 0.004]
    for config in configs:  # conf/experiment/calibrated_rules_at_defaults.yaml
        assert config["ties"]["strength_noise"] == 4.21
        assert config["response"]["know_scale"] == 0.969
        assert config["people"]["n"] == 200  # the command line over the experiment
    # one design column is a grid of one factor: the usual figures by setting
    assert (tmp_path / "sweep" / "figures" / "share.png").is_file()


def test_only_a_sampled_design_of_several_factors_counts_as_moving_them_together(tmp_path):
    from experiments.figures import design_factors

    write(tmp_path / "design.csv", "ties.floor,trust.exponent,meetups.gain\n"
                                   "0.03,0.25,0.1\n0.04,0.25,0.2\n")
    assert design_factors(tmp_path) == []  # hand-written: the user's own layout
    write(tmp_path / "design.json", '{"method": "sobol"}')
    assert design_factors(tmp_path) == ["ties.floor", "meetups.gain"]  # exponent is fixed


def test_around_a_fit_the_calibrated_parameters_are_left_out(tmp_path, capsys):
    from sim.evidence import CALIBRATED

    assert sa.design_name("morris") == "sensitivity_morris"
    assert sa.design_name("sobol", "calibrated") == "sensitivity_sobol_around_calibrated"
    assert sa.sweep_overrides("morris") == ["experiment=sensitivity_morris"]
    assert sa.sweep_overrides("morris", "calibrated") == [
        "experiment=[calibrated,sensitivity_morris]",
        "hydra.sweeper.design=designs/sensitivity_morris_around_calibrated.csv",
        "sweep_name=sensitivity_morris_around_calibrated"]
    around = sa._factors("morris", None, "calibrated")
    assert [f.name for f in around] == [f.name for f in sa.FACTORS if f.name not in CALIBRATED]
    assert len(around) == 17 and "needs.rate" in {f.name for f in around}
    # Sobol around a fit: the top of the committed Morris screening around it
    ranking = sa.morris_ranking(pd.read_csv(sa.committed_indices("morris", "calibrated")))
    assert [f.name for f in sa._factors("sobol", None, "calibrated")] == ranking[:5]
    assert not set(ranking) & set(CALIBRATED)
    with pytest.raises(ConfigError, match="no committed Morris screening around"):
        sa.sobol_factors("some_new_fit")
    out = tmp_path / "d.csv"
    assert sa.main(["sample", "--method", "morris", "--size", "2", "--around", "calibrated",
                    "--out", str(out)]) == 0
    info = json.loads(out.with_suffix(".json").read_text())
    assert info["around"] == "calibrated" and len(info["factors"]) == 17
    assert f"hydra.sweeper.design={out}" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        sa.main(["sample", "--method", "morris", "--around", "nope", "--out",
                 str(tmp_path / "n.csv")])
    assert exc.value.code == 2 and not (tmp_path / "n.csv").exists()
    err = capsys.readouterr().err
    assert err.startswith("error: --around: must name an experiment file of conf/experiment/")
    assert err.count("\n") == 1


# --- the factors --------------------------------------------------------------------------


def test_factor_table_names_config_keys_of_the_right_kind():
    names = [f.name for f in sa.FACTORS]
    assert len(names) == len(set(names)) and 15 <= len(names) <= 25
    kinds = {"float": float, "int": int, "bool": bool, "choice": str}
    for f in sa.FACTORS:
        assert schema_type(f.name) is kinds[f.kind], f.name
        assert f.why.strip()
        if f.kind in ("float", "int"):
            assert f.low < f.high, f.name
    assert set(sa.SOBOL_FACTORS) <= set(names) and 4 <= len(sa.SOBOL_FACTORS) <= 6


def _nested(values: dict[str, object]) -> dict[str, object]:
    out: dict[str, dict[str, object]] = {}
    for key, value in values.items():
        section, _, name = key.partition(".")
        out.setdefault(section, {})[name] = value
    return out


@pytest.mark.parametrize("unit", [0.0, 1.0, 1 / 3, 2 / 3])
def test_every_corner_of_the_factor_ranges_is_a_valid_config(unit):
    validate(from_dict(_nested({f.name: f.value(unit) for f in sa.FACTORS})))


def test_factor_values_map_the_unit_range():
    f = sa.Factor("x", 0.0, 2.0, "float", "")
    assert (f.value(0.0), f.value(0.25), f.value(1.0)) == (0.0, 0.5, 2.0)
    i = sa.Factor("n", 3, 14, "int", "")
    assert (i.value(0.0), i.value(1 / 3), i.value(2 / 3), i.value(1.0)) == (3, 7, 10, 14)
    b = sa.Factor("b", False, True, "bool", "")
    assert (b.value(0.0), b.value(1 / 3), b.value(2 / 3), b.value(1.0)) == (
        False, False, True, True)
    assert (b.text(0.0), b.text(1.0)) == ("false", "true")
    c = sa.Factor("c", "attention", "all", "choice", "")
    assert (c.value(0.49), c.value(0.5)) == ("attention", "all")


def test_sobol_size_must_be_a_power_of_two():
    factors = tuple(sa.factor(n) for n in sa.SOBOL_FACTORS)
    assert sa.sample("sobol", factors, 8, seed=1).shape == (8 * (len(factors) + 2),
                                                            len(factors))
    with pytest.raises(ConfigError, match="power of 2"):
        sa.sample("sobol", factors, 100, seed=1)
    unit = sa.sample("morris", sa.FACTORS, 3, seed=1)
    assert unit.shape == (3 * (len(sa.FACTORS) + 1), len(sa.FACTORS))


def test_sample_refuses_to_overwrite_another_design(tmp_path, capsys):
    out = tmp_path / "d.csv"
    assert sa.main(["sample", "--method", "morris", "--size", "2", "--out", str(out)]) == 0
    assert sa.main(["sample", "--method", "morris", "--size", "2", "--out", str(out)]) == 0
    before = out.read_text()
    with pytest.raises(SystemExit) as info:
        sa.main(["sample", "--method", "morris", "--size", "3", "--out", str(out)])
    assert info.value.code == 2
    assert "already holds another design" in capsys.readouterr().err
    assert out.read_text() == before
    with pytest.raises(SystemExit) as info:
        sa.main(["sample", "--method", "sobol", "--size", "100", "--out", str(tmp_path / "s")])
    assert info.value.code == 2
    assert not (tmp_path / "s").exists()


# --- the analysis, on functions with known indices ---------------------------------------


def fake_sweep(folder: Path, method: str, size: int, fn, noise: float = 0.3,
               random_sd: float = 0.0) -> np.ndarray:
    """A finished design sweep of ``fn`` (of the unit design) with two replicates per row.

    The replicates are ``y + noise`` and ``y - noise``: their mean is exactly ``y``,
    so the analysis must average them before computing indices. With ``random_sd``
    they are ``y`` plus independent normal noise instead.
    """
    factors = tuple(sa.Factor(f"x{i}", 0.0, 1.0, "float", "") for i in range(3))
    unit = sa.sample(method, factors, size, seed=3)
    y = fn(unit)
    rng = np.random.default_rng(5)
    rows = []
    for r, value in enumerate(y):
        for s, sign in enumerate((1, -1)):
            e = rng.normal(0, random_sd) if random_sd else sign * noise
            rows.append({"run_dir": f"design_row={r:04d},seed={s}", "seed": s, "status": "ok",
                         "small_share_valuable_brokered": value + e,
                         "per_audience_ratio_small_large": 2 * value + e})
    rows.append({"run_dir": "design_row=0000,seed=2", "status": "failed",
                 "small_share_valuable_brokered": 1e6, "per_audience_ratio_small_large": 1e6})
    folder.mkdir()
    pd.DataFrame(rows).to_parquet(folder / "summary.parquet")
    info = {"method": method, "size": size, "factors": [vars(f) for f in factors],
            "unit": unit.tolist()}
    (folder / "design.json").write_text(json.dumps(info))
    return unit


def linear(unit: np.ndarray) -> np.ndarray:
    return 3 * unit[:, 0] + unit[:, 1]


def test_morris_of_a_linear_model_recovers_its_slopes_exactly(tmp_path):
    fake_sweep(tmp_path / "sweep", "morris", 20, linear)
    table, about = sa.analyse(tmp_path / "sweep", tmp_path / "out")
    assert about["rows"] == 20 * 4 and about["replicates_min"] == 2
    for out, scale in (("small_share_valuable_brokered", 1),
                       ("per_audience_ratio_small_large", 2)):
        part = table[table["output"] == out].set_index("factor")
        np.testing.assert_allclose(part["mu_star"], [3 * scale, scale, 0], atol=1e-9)
        np.testing.assert_allclose(part["mu"], [3 * scale, scale, 0], atol=1e-9)
        np.testing.assert_allclose(part["sigma"], 0, atol=1e-9)
        np.testing.assert_allclose(part["mu_star_salib"], part["mu_star"], atol=1e-9)
        assert (part["mu_star_low"] <= part["mu_star"] + 1e-12).all()
    assert (tmp_path / "out" / "sensitivity_indices.csv").is_file()
    assert (tmp_path / "out" / "sensitivity_morris.png").is_file()


def test_sobol_of_a_linear_model_recovers_its_variance_shares(tmp_path):
    # y = 3 x0 + x1 on the unit cube: Var = 9/12 + 1/12, so S1 = ST = (0.9, 0.1, 0).
    fake_sweep(tmp_path / "sweep", "sobol", 512, linear)
    table, about = sa.analyse(tmp_path / "sweep", tmp_path / "out")
    assert about["rows"] == 512 * 5
    for out in sa.OUTPUTS:
        part = table[table["output"] == out].set_index("factor")
        np.testing.assert_allclose(part["S1"], [0.9, 0.1, 0.0], atol=0.03)
        np.testing.assert_allclose(part["ST"], [0.9, 0.1, 0.0], atol=0.03)
        assert (part["ST_low"] <= [0.9, 0.1, 0.0]).all()
        assert (part["ST_high"] >= [0.9, 0.1, 0.0]).all()


@pytest.mark.slow
def test_sobol_of_the_ishigami_function(tmp_path):
    def ishigami(unit: np.ndarray) -> np.ndarray:
        x = -np.pi + 2 * np.pi * unit
        return np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])

    fake_sweep(tmp_path / "sweep", "sobol", 4096, ishigami)
    table, _ = sa.analyse(tmp_path / "sweep", tmp_path / "out")
    part = table[table["output"] == "small_share_valuable_brokered"].set_index("factor")
    np.testing.assert_allclose(part["S1"], [0.3139, 0.4424, 0.0], atol=0.05)
    np.testing.assert_allclose(part["ST"], [0.5576, 0.4424, 0.2437], atol=0.05)


def test_a_design_row_without_a_finished_run_is_reported(tmp_path):
    fake_sweep(tmp_path / "sweep", "morris", 2, linear)
    summary = pd.read_parquet(tmp_path / "sweep" / "summary.parquet")
    summary = summary[~summary["run_dir"].str.startswith("design_row=0003,")]
    summary.to_parquet(tmp_path / "sweep" / "summary.parquet")
    with pytest.raises(ConfigError, match=r"1 of 8 design rows .* row 3\)"):
        sa.analyse(tmp_path / "sweep", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_rows_without_a_value_get_the_mean_of_the_others():
    summary = pd.DataFrame({"run_dir": ["design_row=0000,seed=0", "design_row=0001,seed=0",
                                        "design_row=0001,seed=1", "design_row=0002,seed=0"],
                            "status": "ok",
                            "small_share_valuable_brokered": [0.2, 0.4, 0.6, np.nan],
                            "per_audience_ratio_small_large": [1.0, np.inf, 3.0, 5.0]})
    means, info = sa.row_means(summary, 3)
    assert means["small_share_valuable_brokered"].tolist() == pytest.approx([0.2, 0.5, 0.35])
    assert means["per_audience_ratio_small_large"].tolist() == pytest.approx([1.0, 3.0, 5.0])
    assert info["imputed_small_share_valuable_brokered"] == 1
    assert (info["replicates_min"], info["replicates_max"]) == (1, 2)


def test_noise_levels_match_the_replicates_noise(tmp_path):
    # Replicates y + e, e ~ N(0, 0.5): the row mean's noise has variance 0.25 / 2. Pure
    # noise has Morris effects (h' - h) / (2/3), mean |.| = sqrt(2/pi) * sqrt(0.25) * 1.5.
    fake_sweep(tmp_path / "m", "morris", 300, linear, random_sd=0.5)
    _, about = sa.analyse(tmp_path / "m", tmp_path / "mo")
    expected = np.sqrt(2 / np.pi) * 0.5 * 1.5
    assert about["noise_mu_star_small_share_valuable_brokered"] == pytest.approx(expected,
                                                                                rel=0.1)
    # Sobol: noise share of the row means' variance = 0.125 / (10/12 + 0.125).
    fake_sweep(tmp_path / "s", "sobol", 512, linear, random_sd=0.5)
    _, about = sa.analyse(tmp_path / "s", tmp_path / "so")
    assert about["noise_share_small_share_valuable_brokered"] == pytest.approx(
        0.125 / (10 / 12 + 0.125), rel=0.15)


def test_sobol_factors_are_the_top_of_the_committed_morris_screening():
    table = pd.read_csv(sa.COMMITTED / "morris_sensitivity_indices.csv")
    assert set(table["factor"]) == {f.name for f in sa.FACTORS}
    assert tuple(sa.morris_ranking(table)[:len(sa.SOBOL_FACTORS)]) == sa.SOBOL_FACTORS


def test_morris_ranking_scores_interval_lower_ends_per_output():
    table = pd.DataFrame({
        "output": ["a", "a", "a", "b", "b", "b"], "factor": ["x", "y", "z"] * 2,
        "mu_star": [10.0, 8.0, 1.0, 0.1, 0.2, 0.4],
        "mu_star_low": [2.0, 6.0, 0.5, 0.05, 0.1, 0.3]})
    # scores: a: x 0.2, y 0.6, z 0.05; b: x 0.125, y 0.25, z 0.75 -> z 0.75, y 0.6, x 0.2
    assert sa.morris_ranking(table) == ["z", "y", "x"]


@pytest.mark.slow
def test_validation_section_reruns_a_quick_morris(tmp_path, monkeypatch):
    monkeypatch.setattr(sa, "QUICK_TRAJECTORIES", 2)
    monkeypatch.setattr(sa, "QUICK_OVERRIDES", ("people.n=200", "days=20", "warmup_days=0"))
    text = sa.validation_section(tmp_path / "validation", quick=True)
    assert text.startswith("## Global sensitivity")
    assert "52 design rows x 2 seeds = 104 runs" in text
    assert "(validation/sensitivity_morris_quick.png)" in text
    assert (tmp_path / "validation" / "sensitivity_morris_quick.png").is_file()
    assert "not rerun here" in text and "sobol_sensitivity_indices.csv" in text
    assert ("- small people's share of valuable referrals: "
            "`people.budget_audience_exponent`, `response.know`.") in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["validation"]
    around = text.split("### Around the fits")[1]  # the committed analyses around the fits
    assert ("**fit B (rules at defaults)** (`experiment=calibrated_rules_at_defaults`): "
            "Morris over 17 factors, 180 design rows x 2 seeds") in around
    assert ("standing out from seed noise (first-order interval above 0 or total above "
            "the noise share): `people.budget_sigma`.") in around


def test_docs_show_the_factor_table_of_the_code():
    docs = (REPO / "docs" / "model.md").read_text()
    assert sa.factors_markdown() in docs
