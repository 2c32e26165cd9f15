"""The calibration command (experiments/calibrate.py): bad input, resuming, outputs.

Tiny studies (300 people, 30 days) so each trial takes a fraction of a second.
"""

from __future__ import annotations

import math
from pathlib import Path

import optuna
import pandas as pd
import pytest
import yaml
from hydra import compose, initialize_config_dir
from optuna.trial import TrialState

from experiments import calibrate
from experiments.convert import to_config
from sim import evidence as ev
from sim.config import Config, flatten, validate, with_values

CONF = Path(__file__).resolve().parents[1] / "conf"
TINY = ["--people", "300", "--days", "30", "--warmup-days", "10", "--check-seeds", "100",
        "--no-progress"]


def run(capsys, *args: str) -> tuple[int, str, str]:
    """``main(args)`` in this process: (exit status, stdout, stderr)."""
    try:
        status = calibrate.main(list(args))
    except SystemExit as exc:
        status = exc.code
    out = capsys.readouterr()
    return status, out.out, out.err


def trials(folder: Path) -> list[optuna.trial.FrozenTrial]:
    study = optuna.load_study(study_name=calibrate.STUDY_NAME,
                              storage=calibrate.storage_url(folder))
    return study.get_trials(deepcopy=False)


@pytest.mark.parametrize(("args", "message"), [
    (["--trials", "0"], "error: argument --trials: must be a whole number >= 1, got '0'"),
    (["--seeds", "1,x"], "error: argument --seeds: must be whole numbers >= 0 separated by "
                         "commas, got '1,x'"),
    (["--seeds", "1,1"], "error: argument --seeds: must be distinct whole numbers"),
    (["--people", "1"], "error: people.n: must be a number >= 2; got 1"),
    (["--mapping", "nope"], "error: argument --mapping: invalid choice: 'nope'"),
    (["--warmup-days", "-1"], "error: --warmup-days: must be a whole number >= 0, got -1"),
    (["--bogus"], "error: unrecognized arguments: --bogus"),
    (["--fix", "seed=3"], "error: --fix: 'seed=3' must be KEY=VALUE with KEY one of "
                          "response.know, needs.seeker_reposts,"),
    (["--fix", "response.know"], "error: --fix: 'response.know' must be KEY=VALUE"),
    (["--fix", "response.know=some"], "error: response.know: must be one of all, attention; "
                                      "got 'some'"),
])
def test_bad_arguments_one_line_exit_2_nothing_written(tmp_path, capsys, args, message):
    out = tmp_path / "study"
    status, stdout, stderr = run(capsys, "--out", str(out), *args)
    assert status == 2
    assert stderr.startswith(message) and stderr.count("\n") == 1, stderr
    assert stdout == ""
    assert not out.exists()


def test_out_that_is_a_file(tmp_path, capsys):
    target = tmp_path / "taken"
    target.write_text("mine")
    status, _, stderr = run(capsys, "--out", str(target), *TINY)
    assert status == 2 and stderr == f"error: --out: {target} is a file, not a folder\n"
    assert target.read_text() == "mine"


def test_study_resumes_and_grows(tmp_path, capsys):
    out = tmp_path / "cal"
    status, stdout, _ = run(capsys, "--out", str(out), "--trials", "2", *TINY)
    assert status == 0 and "calibration: 2 trials now, 2 in the study" in stdout
    first = [(t.params, t.value) for t in trials(out)]
    assert len(first) == 2
    # The first trial is the defaults (the distance before).
    defaults = flatten(Config())
    assert first[0][0] == {k: defaults[k] for k in ev.CALIBRATED}
    for name in ("trials", "distances", "distance_summary"):
        assert (out / f"{name}.csv").exists() and (out / f"{name}.parquet").exists()
    assert (out / "granovetter.png").exists() and (out / "calibrated.yaml").exists()

    # The same command with more trials continues the study: nothing lost.
    status, stdout, _ = run(capsys, "--out", str(out), "--trials", "3", *TINY)
    assert status == 0 and "calibration: 1 trials now, 3 in the study" in stdout
    again = [(t.params, t.value) for t in trials(out)]
    assert again[:2] == first and len(again) == 3
    assert len(pd.read_csv(out / "trials.csv")) == 3

    # Already complete: no new trial, outputs rewritten.
    status, stdout, _ = run(capsys, "--out", str(out), "--trials", "3", *TINY)
    assert status == 0 and "0 trials now, 3 in the study" in stdout


def test_interrupted_trial_is_redone(tmp_path, capsys):
    out = tmp_path / "cal"
    assert run(capsys, "--out", str(out), "--trials", "1", *TINY)[0] == 0
    # A trial that was running when the command died: params drawn, no value.
    study = optuna.load_study(study_name=calibrate.STUDY_NAME,
                              storage=calibrate.storage_url(out))
    dead = study.ask()
    params = calibrate.suggest(dead)
    status, _, _ = run(capsys, "--out", str(out), "--trials", "2", *TINY)
    assert status == 0
    states = [t.state for t in trials(out)]
    assert states == [TrialState.COMPLETE, TrialState.FAIL, TrialState.COMPLETE]
    assert trials(out)[2].params == params  # the interrupted point, redone


def test_other_settings_refused(tmp_path, capsys):
    out = tmp_path / "cal"
    assert run(capsys, "--out", str(out), "--trials", "1", *TINY)[0] == 0
    status, stdout, stderr = run(capsys, "--out", str(out), "--trials", "2", "--seeds", "0,1",
                                 *TINY)
    assert status == 2 and stdout == ""
    assert stderr.startswith(f"error: {out / 'study.db'}: this study was made with seeds "
                             "[0, 1, 2] (asked [0, 1])")
    assert stderr.count("\n") == 1
    assert len(trials(out)) == 1


def test_experiment_file_only_with_the_flag(tmp_path, capsys, monkeypatch):
    target = tmp_path / "conf" / "experiment" / "calibrated.yaml"
    monkeypatch.setattr(calibrate, "EXPERIMENT_FILE", target)
    out = tmp_path / "cal"
    assert run(capsys, "--out", str(out), "--trials", "1", *TINY)[0] == 0
    assert not target.exists()
    assert run(capsys, "--out", str(out), "--trials", "1", "--write-experiment", *TINY)[0] == 0
    assert target.read_text() == (out / "calibrated.yaml").read_text()
    other = target.with_name("my_fit.yaml")
    assert run(capsys, "--out", str(out), "--trials", "1", "--write-experiment", "my_fit",
               *TINY)[0] == 0
    assert other.read_text() == (out / "calibrated.yaml").read_text()
    assert "python -m experiments.run experiment=my_fit\n" in other.read_text()
    status, _, stderr = run(capsys, "--out", str(out), "--write-experiment", "../x", *TINY)
    assert status == 2 and "--write-experiment: '../x' is not a file name" in stderr


def test_experiment_yaml_holds_deltas_and_reads_back(tmp_path):
    values = {"response.know": "attention", "needs.seeker_reposts": True,
              "trust.exponent": 0.5, "response.know_scale": 2.16}
    text = calibrate.experiment_yaml(values, ["made by a test", ""])
    assert text.startswith("# @package _global_\n# made by a test\n#\n")
    assert yaml.safe_load(text) == {"needs": {"seeker_reposts": True},
                                    "response": {"know_scale": 2.16}}
    path = tmp_path / "x.yaml"
    path.write_text(text)
    assert calibrate.read_experiment(path) == {"needs.seeker_reposts": True,
                                               "response.know_scale": 2.16}


def test_rounded_keeps_three_digits():
    assert calibrate.rounded({"a": 0.123456, "b": 12345.6, "c": True, "d": "all", "e": 0}) == {
        "a": 0.123, "b": 12300.0, "c": True, "d": "all", "e": 0.0}


@pytest.mark.parametrize("path", [calibrate.EXPERIMENT_FILE, calibrate.RULES_AT_DEFAULTS_FILE])
def test_committed_experiments_compose(path):
    values = calibrate.read_experiment(path)
    assert values and set(values) <= set(ev.CALIBRATED)
    text = path.read_text()
    assert text.startswith("# @package _global_\n# Calibrated to Granovetter (1973)")
    assert f"experiment={path.stem}\n" in text  # says how to run it
    assert "trials, each the mean distance over seeds" in text
    assert ("--fix" in text) == (path == calibrate.RULES_AT_DEFAULTS_FILE)
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        composed = validate(to_config(compose("config",
                                              overrides=[f"experiment={path.stem}"])))
    assert composed == with_values(Config(), values)
    assert composed != Config()


def test_rules_at_defaults_keeps_the_contested_rules():
    values = calibrate.read_experiment(calibrate.RULES_AT_DEFAULTS_FILE)
    for key in ("response.know", "needs.seeker_reposts", "people.budget_audience_exponent"):
        assert key not in values


@pytest.mark.slow
def test_validation_section(tmp_path):
    text = calibrate.validation_section(tmp_path / "validation", quick=True)
    assert text.startswith("## Calibration to Granovetter (1973)\n")
    assert "| village | defaults |" in text
    assert "| village | `experiment=calibrated` |" in text
    assert "| village | `experiment=calibrated_rules_at_defaults` |" in text
    assert (tmp_path / "validation" / "granovetter.png").exists()
    assert "granovetter.png)" in text
    distances = text.split("village mapping) is ")[1].split(" at the defaults")[0]
    assert not math.isnan(float(distances.split(" ")[0]))


def test_ctrl_c_keeps_the_study(tmp_path, capsys, monkeypatch):
    out = tmp_path / "cal"
    real = calibrate.ev.measure
    calls = []

    def measure_then_ctrl_c(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(calibrate.ev, "measure", measure_then_ctrl_c)
    status, stdout, stderr = run(capsys, "--out", str(out), "--trials", "3", *TINY)
    assert status == 130 and stdout == ""
    assert stderr == (f"interrupted: finished trials are kept in {out / 'study.db'}; the same "
                      "command continues the study\n")
    assert [t.state for t in trials(out)][0] == TrialState.COMPLETE
    monkeypatch.setattr(calibrate.ev, "measure", real)
    status, stdout, _ = run(capsys, "--out", str(out), "--trials", "3", *TINY)
    assert status == 0 and "3 in the study" in stdout
    complete = [t for t in trials(out) if t.state == TrialState.COMPLETE]
    assert len(complete) == 3 and complete[0].number == 0


def test_fixed_parameters_are_not_searched(tmp_path, capsys):
    out = tmp_path / "cal"
    status, stdout, _ = run(capsys, "--out", str(out), "--trials", "2", "--fix",
                            "response.know=all", "--fix", "trust.exponent=0.7", *TINY)
    assert status == 0
    for t in trials(out):
        assert "response.know" not in t.params and "trust.exponent" not in t.params
        assert len(t.params) == len(ev.CALIBRATED) - 2
    written = calibrate.read_experiment(out / "calibrated.yaml")
    assert (written["response.know"], written["trust.exponent"]) == ("all", 0.7)
    assert "response.know=all, trust.exponent=0.7" in stdout
    # The same folder without the fixes is another search space: refused.
    status, _, stderr = run(capsys, "--out", str(out), "--trials", "2", *TINY)
    assert status == 2 and "this study was made with space" in stderr


def test_out_through_a_file_one_line_exit_1(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("mine")
    status, stdout, stderr = run(capsys, "--out", str(blocker / "cal"), *TINY)
    assert status == 1 and stdout == ""
    assert stderr == f"error: {blocker / 'cal'}: not a directory\n"
    assert blocker.read_text() == "mine"
