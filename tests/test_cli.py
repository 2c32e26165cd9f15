"""The main job's command line, run for real in subprocesses: python -m experiments.run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from experiments.cleanup import CreatedPaths
from experiments.cli import cli
from sim.config import ConfigError

REPO = Path(__file__).resolve().parents[1]
FACEBOOK = Path(__file__).resolve().parents[2] / "shared" / "data" / "facebook_combined.txt"
SMALL = ["people.n=300", "days=20"]

HEADLINE_KEYS = {
    "n_people", "n_ties", "n_needs", "n_closed", "n_brokered", "n_direct",
    "small_share_valuable_brokered", "small_population_share",
    "per_capita_ratio_large_small", "per_audience_ratio_small_large",
    "frac_small_brokering_valuable", "weak_tie_share_brokered",
}  # fmt: skip


def run_cli(*args: str, module: str = "experiments.run") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYDRA_")}
    env["MPLBACKEND"] = "Agg"
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=REPO, env=env, capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip


def run_job(run_dir: Path, *args: str) -> dict:
    """Run the main job into ``run_dir``; check it succeeded; return metrics.json."""
    proc = run_cli(f"hydra.run.dir={run_dir}", *args)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) >= 2 and "people" in lines[0], "a summary, then the folder"
    assert Path(lines[-1]).resolve() == run_dir.resolve(), "the output folder is printed last"
    assert (run_dir / ".hydra" / "config.yaml").is_file()
    payload = json.loads((run_dir / "metrics.json").read_text())
    return payload


def test_default_run(tmp_path):
    run_dir = tmp_path / "run"
    payload = run_job(run_dir, *SMALL, "seed=7")
    metrics = payload["metrics"]
    assert HEADLINE_KEYS <= set(metrics)
    assert metrics["n_people"] == 300 and metrics["mode"] == "referral"
    assert metrics["n_closed"] == metrics["n_brokered"] + metrics["n_direct"]
    assert payload["config"]["seed"] == 7 and payload["config"]["days"] == 20
    for name in ("closures.parquet", "people.parquet", "timeseries.parquet",
                 "small_vs_large.png", "small_vs_large.svg"):  # fmt: skip
        assert (run_dir / name).stat().st_size > 0, name
    assert len(pd.read_parquet(run_dir / "people.parquet")) == 300
    assert len(pd.read_parquet(run_dir / "timeseries.parquet")) == 20
    assert (run_dir / "small_vs_large.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_karate(tmp_path):
    metrics = run_job(tmp_path / "run", "network=karate", "days=20")["metrics"]
    assert metrics["network"] == "karate"
    assert (metrics["n_people"], metrics["n_ties"]) == (34, 78)


def test_real_edge_list(tmp_path):
    if not FACEBOOK.exists():
        pytest.skip(f"real network not found at {FACEBOOK}")
    metrics = run_job(tmp_path / "run", "network=edgelist", f"network.path={FACEBOOK}",
                      "days=10")["metrics"]  # fmt: skip
    assert (metrics["n_people"], metrics["n_ties"]) == (4039, 88234)
    assert (tmp_path / "run" / "small_vs_large.png").is_file()


def test_cascade(tmp_path):
    run_dir = tmp_path / "run"
    metrics = run_job(run_dir, "experiment=cascade", "cascade.transmissibility=0.3",
                      "cascade.n_cascades=20", "people.n=300")["metrics"]  # fmt: skip
    assert metrics["mode"] == "cascade" and metrics["n_cascades"] == 20
    cascades = pd.read_parquet(run_dir / "cascades.parquet")
    assert len(cascades) == 20
    assert (cascades["reach"] >= 1).all()
    assert not (run_dir / "small_vs_large.png").exists(), "no figure in cascade mode"


# --- bad input -------------------------------------------------------------------------------


@pytest.fixture
def bad_files(tmp_path) -> Path:
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "empty.txt").write_text("# only a comment\n\n")
    (folder / "malformed.txt").write_text("# u v\n0 1\n1 2\n2 x3\n3 4\n")
    os.mkfifo(folder / "fifo")
    return folder


BAD = [
    # (arguments, what the one line must contain); {files} is the folder of bad_files
    (["people.foo=1"], "people.foo: unknown key (allowed: n, "),
    (["+people.foo=1"], "people.foo: unknown key (allowed: n, "),
    (["foo=1"], "foo: unknown key (allowed: seed, days, "),
    (["people.n=abc"], "people.n: must be a whole number; got 'abc'"),
    (["days=1.5"], "days: must be a whole number; got '1.5'"),
    (["needs.rate=1.5"], "needs.rate: must be a number in [0, 1]; got 1.5"),
    (["people.budget_mean=-1"], "people.budget_mean: must be a number > 0"),
    (["people.n=1"], "people.n: must be a number >= 2; got 1"),
    (["response.hop_limit=0"], "response.hop_limit: must be a number >= 1; got 0"),
    (["network=nope"], "network: unknown option 'nope' (allowed: barabasi_albert, "),
    (["mode=nope"], "mode: must be one of referral, cascade; got 'nope'"),
    (["network=edgelist", "network.path={files}/missing.txt"], "missing.txt: no such file"),
    (["network=edgelist", "network.path={files}/empty.txt"], "empty.txt: contains no edges"),
    (["network=edgelist", "network.path={files}/malformed.txt"], "malformed.txt: line 4: "),
    (["network=edgelist", "network.path={files}"], "files: is a directory"),
    # issue 9: no upper bounds, overflow, accepted though wrong
    (["people.n=10000000000"], "people.n: 10,000,000,000 people (mean audience 10) need "
                               "about 14,000 GB of memory (estimate); this machine has "),
    (["mode=cascade", "cascade.n_cascades=100000000000"],
     "cascade.n_cascades: 100,000,000,000 cascades need about 4,800 GB of memory (estimate)"),
    (["network=edgelist", "network.path=/dev/zero"],
     "/dev/zero: is not a regular file (a device, FIFO or socket); give an edge-list file"),
    (["network=edgelist", "network.path={files}/fifo"], "fifo: is not a regular file"),
    (["needs.lifetime_days=100000000000"],
     "needs.lifetime_days: must be a number in [1, 36500]; got 100000000000"),
    (["needs.value_log_sd=1e308"], "needs.value_log_sd: must be a number in [0, 10]; got 1e+308"),
    (["people.topic_zipf=1e308"], "people.topic_zipf: must be a number in [0, 10]; got 1e+308"),
    (["knockout.target=large", "knockout.k=301"],
     "knockout.k: must be a whole number in [0, 30] (the large people among 300: "
     "measures.large_fraction 0.1); got 301"),
    (["network=karate", "knockout.target=large", "knockout.k=10"],
     "knockout.k: must be a whole number in [0, 4] (the large people among 34"),
    (["needs.seeker_reposts=2"], "needs.seeker_reposts: must be true or false; got 2"),
    (["people.budget_sigma=1000"], "people.budget_sigma: must be a number in [0, 3]; got 1000.0"),
]


@pytest.mark.parametrize(("args", "expected"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input(tmp_path, bad_files, args, expected):
    run_dir = tmp_path / "run"
    args = [a.format(files=bad_files) for a in args]
    proc = run_cli(f"hydra.run.dir={run_dir}", "people.n=300", "days=5", *args)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    assert expected in lines[0]
    assert "Traceback" not in proc.stderr
    assert not run_dir.exists(), sorted(p.name for p in run_dir.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["files"]


def test_bad_value_in_a_sweep(tmp_path):
    sweep_dir = tmp_path / "sweep"
    proc = run_cli("-m", f"hydra.sweep.dir={sweep_dir}", "people.n=300", "days=5",
                   "seed=1,2", "needs.rate=0.01,1.5")  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == "error: needs.rate: must be a number in [0, 1]; got 1.5"
    assert not sweep_dir.exists(), "no job ran"


def test_bad_worker_count_in_a_sweep(tmp_path):
    sweep_dir = tmp_path / "sweep"
    proc = run_cli("-m", f"hydra.sweep.dir={sweep_dir}", "people.n=300", "days=5",
                   "seed=1,2", "hydra.launcher.n_jobs=0")  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "error: hydra.launcher.n_jobs: must be a whole number other than 0 "
        "(-1: all cores, 1: no pool); got 0"]
    assert not sweep_dir.exists(), "no job ran"


def test_console_script_from_any_folder(tmp_path):
    script = Path(sys.executable).with_name("influencer-sim")
    if not script.exists():
        pytest.skip("the package is not installed (no influencer-sim script)")
    proc = subprocess.run(
        [str(script), "people.n=1"], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == "error: people.n: must be a number >= 2; got 1\n"
    assert list(tmp_path.iterdir()) == []


# --- the error wrapper, in process ----------------------------------------------------------


def test_cli_turns_bad_input_into_one_line(capsys, monkeypatch):
    monkeypatch.setenv("HYDRA_FULL_ERROR", "")

    def app():
        sys.stderr.write("Error executing job with overrides: ['people.n=1']\n")
        raise ConfigError("people.n", "must be a number >= 2; got 1")

    with pytest.raises(SystemExit) as info:
        cli(app)
    assert info.value.code == 2
    assert capsys.readouterr().err == "error: people.n: must be a number >= 2; got 1\n"
    assert os.environ["HYDRA_FULL_ERROR"] == "1"


def test_cli_keeps_bugs_loud(capsys, monkeypatch):
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")

    def app():
        sys.stderr.write("Error executing job with overrides: []\n")
        raise ZeroDivisionError("a bug")

    with pytest.raises(ZeroDivisionError):  # so Python prints its traceback, exit status 1
        cli(app)
    assert capsys.readouterr().err == "Error executing job with overrides: []\n"
    assert sys.stderr is not None and not hasattr(sys.stderr, "held")


def test_cli_passes_success_through(capsys, monkeypatch):
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    cli(lambda: print("fine"))
    assert capsys.readouterr().out == "fine\n"


# --- cleaning up after bad input, in process ---------------------------------------------------


def hydra_bookkeeping(folder: Path) -> None:
    """What Hydra writes into a run folder before the task runs."""
    (folder / ".hydra").mkdir(parents=True, exist_ok=True)
    for name in ("config.yaml", "hydra.yaml", "overrides.yaml"):
        (folder / ".hydra" / name).write_text("{}\n")
    (folder / "run.log").write_text("")


def expect_hydra(ledger: CreatedPaths, folder: Path) -> None:
    """Record what Hydra is about to write, as Preflight does."""
    ledger.expect_dir(folder)
    ledger.expect_dir(folder / ".hydra")
    for name in ("config.yaml", "hydra.yaml", "overrides.yaml"):
        ledger.expect_file(folder / ".hydra" / name)
    ledger.expect_file(folder / "run.log")


def test_discard_removes_a_fresh_run_folder_and_its_new_date_folder(tmp_path):
    (tmp_path / "outputs" / "2026-01-01" / "09-00-00").mkdir(parents=True)  # an older run
    run_dir = tmp_path / "outputs" / "2026-01-02" / "10-00-00"
    ledger = CreatedPaths()
    expect_hydra(ledger, run_dir)
    hydra_bookkeeping(run_dir)
    removed = ledger.discard()
    assert run_dir in removed and run_dir.parent in removed
    assert sorted(p.name for p in (tmp_path / "outputs").iterdir()) == ["2026-01-01"]


def test_discard_never_touches_what_existed_or_what_it_did_not_create(tmp_path):
    # The user's folder with their own logs and YAML, as in issue 9.
    mine = tmp_path / "mine"
    (mine / "2024").mkdir(parents=True)
    users = {mine / "server.log": "up\n", mine / "2024" / "jan.log": "jan\n",
             mine / "multirun.yaml": "a: 1\n", mine / "run.log": "my own run log\n"}
    for path, text in users.items():
        path.write_text(text)
    ledger = CreatedPaths()
    expect_hydra(ledger, mine)  # run.log existed: not recorded
    hydra_bookkeeping(mine)  # Hydra writes .hydra/ and (over)writes run.log
    (mine / "run.log").write_text("my own run log\n")
    (mine / "other.txt").write_text("written by someone else meanwhile")
    ledger.discard()
    for path, text in users.items():
        assert path.read_text() == text
    assert (mine / "other.txt").exists()
    assert not (mine / ".hydra").exists()  # exactly what was recorded is gone


def test_discard_keeps_a_recorded_folder_that_is_not_empty(tmp_path):
    run_dir = tmp_path / "new"
    ledger = CreatedPaths()
    expect_hydra(ledger, run_dir)
    hydra_bookkeeping(run_dir)
    (run_dir / "metrics.json").write_text("{}")
    ledger.discard()
    assert (run_dir / "metrics.json").exists() and not (run_dir / ".hydra").exists()


def test_finished_run_folder_is_never_overwritten(tmp_path):
    run_dir = tmp_path / "run"
    first = run_cli(f"hydra.run.dir={run_dir}", "people.n=300", "days=5")
    assert first.returncode == 0, first.stderr
    before = (run_dir / "metrics.json").read_bytes()
    again = run_cli(f"hydra.run.dir={run_dir}", "people.n=300", "days=5", "seed=9")
    assert again.returncode == 2
    lines = [line for line in again.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "already holds a finished run" in lines[0]
    assert (run_dir / "metrics.json").read_bytes() == before


# --- users' files: never deleted, never overwritten (issue 9) ------------------------------------


def users_files(folder: Path) -> dict[Path, bytes]:
    files = {folder / "server.log": b"up since monday\n", folder / "2024" / "jan.log": b"jan\n",
             folder / "multirun.yaml": b"mine: 1\n", folder / "people.csv": b"name\nann\n"}
    for path, data in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


@pytest.mark.parametrize("extra", [[], ["network=edgelist", "network.path=MALFORMED"]],
                         ids=["good run", "run failing on a bad edge list"])
def test_a_folder_of_users_files_is_refused_and_left_as_it_was(tmp_path, extra):
    mine = tmp_path / "mine"
    files = users_files(mine)
    (tmp_path / "bad.txt").write_text("0 1\nx y\n")
    extra = [a.replace("MALFORMED", str(tmp_path / "bad.txt")) for a in extra]
    proc = run_cli(f"hydra.run.dir={mine}", *SMALL, *extra)
    assert proc.returncode == 2
    assert proc.stderr == (f"error: {mine}: holds other files (e.g. 2024) but no finished run; "
                           "choose a new or empty hydra.run.dir (nothing was touched)\n")
    assert {p for p in mine.rglob("*") if p.is_file()} == set(files)
    assert all(path.read_bytes() == data for path, data in files.items())


def test_an_empty_folder_is_used_and_a_failed_run_leaves_it_empty(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (tmp_path / "bad.txt").write_text("0 1\nx y\n")
    proc = run_cli(f"hydra.run.dir={empty}", *SMALL, "network=edgelist",
                   f"network.path={tmp_path / 'bad.txt'}")
    assert proc.returncode == 2 and proc.stderr.startswith("error: ")
    assert empty.is_dir() and list(empty.iterdir()) == []  # Hydra's files removed, folder kept
    run_job(empty, *SMALL)


@pytest.mark.parametrize("name", ["../../escaped", "", "..", "/tmp/abs", "a/b"])
def test_bad_sweep_names_are_refused(tmp_path, name):
    proc = run_cli("-m", f"sweep_name={name}", *SMALL, "seed=1,2")
    assert proc.returncode == 2
    assert proc.stderr == ("error: sweep_name: must be one folder name inside sweeps/ (not empty,"
                           f" no '/', not '.' or '..'); got {name!r}\n")


def test_run_log_holds_the_summary(tmp_path):
    run_dir = tmp_path / "run"
    run_job(run_dir, *SMALL)
    log = (run_dir / "run.log").read_text()
    assert "default network: 300 people" in log and "mean hops" in log
    assert "[experiments.jobs][INFO]" in log


# --- output that cannot be written ---------------------------------------------------------------


@pytest.mark.parametrize(("error", "expected"), [
    (OSError(28, "No space left on device", "/data/run/people.parquet"),
     "error: /data/run/people.parquet: no space left on device; free some space and run again "
     "(finished runs are kept)\n"),
    (PermissionError(13, "Permission denied", "/data/run"),
     "error: /data/run: permission denied; choose a folder you can write to\n"),
])
def test_cli_turns_output_errors_into_one_line(capsys, monkeypatch, error, expected):
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")

    def app():
        raise error

    with pytest.raises(SystemExit) as info:
        cli(app)
    assert info.value.code == 1
    assert capsys.readouterr().err == expected


def test_an_unwritable_run_folder_is_one_line(tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    proc = run_cli(f"hydra.run.dir={a_file}/run", *SMALL)
    assert proc.returncode == 1
    assert proc.stderr == f"error: {a_file}/run: not a directory\n"
    proc = run_cli("-m", f"hydra.sweep.dir={a_file}/sweep", *SMALL, "seed=1,2")
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-1] == f"error: {a_file}/sweep: not a directory"
    assert "Traceback" not in proc.stderr


# --- experiments.animate's arguments -----------------------------------------------------------


@pytest.mark.parametrize(("args", "expected"), [
    (["--fps", "nan"], "error: argument --fps: must be a finite number > 0, got nan"),
    (["--fps", "inf"], "error: argument --fps: must be a finite number > 0, got inf"),
    (["--fps", "abc"], "error: argument --fps: invalid float value: 'abc'"),
    (["--out", "{tmp}/a_file/need.gif"], "error: --out {tmp}/a_file/need.gif: {tmp}/a_file is "
                                         "a file, not a folder"),
    (["--out", "{tmp}/need.png"], "error: --out must name a .gif file, got {tmp}/need.png"),
])
def test_animate_refuses_bad_arguments_in_one_line(tmp_path, args, expected):
    (tmp_path / "a_file").write_text("x")
    args = [a.format(tmp=tmp_path) for a in args]
    proc = run_cli(*args, module="experiments.animate")
    assert proc.returncode == 2
    assert proc.stderr == expected.format(tmp=tmp_path) + "\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]
