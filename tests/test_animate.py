"""``python -m experiments.animate``: the story it tells, the GIF it writes, what it refuses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from experiments import animate

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--people", "250", "--seed", "2", "--fps", "2"]


def test_the_story_follows_the_need():
    config = animate.make_config(seed=2, people=250)
    found = animate.find_need(config, max_days=365, min_hops=3, broker="any")
    assert found is not None
    story = animate.trace_need(config, found)
    assert story.path[0] == story.seeker and story.path[-1] == story.provider
    assert story.path[-2] == story.broker and story.hops >= 2
    assert story.value >= story.threshold  # a valuable need
    assert [d.day for d in story.days] == list(range(story.posted, story.closed + 1))
    assert story.broker in story.days[-1].new_seen  # the broker saw it on the closing day
    seen, holders = set(), {story.seeker}
    for day in story.days:  # who saw it grows day by day, each viewer once
        assert not seen & set(day.new_seen)
        seen |= set(day.new_seen)
        assert seen == set(day.seen)
        # Every viewer got it from the seeker or from someone who passed it on before.
        assert all(sender in holders and viewer in day.new_seen for sender, viewer in day.offers)
        assert len(day.offers) == len(day.new_seen)
        holders |= set(day.passers)
    for q in story.path[1:-2]:  # the carriers on the path passed it on, before the close
        assert any(q in d.passers for d in story.days[:-1])
    assert story.tie_after > story.tie_before  # the seeker-provider tie appeared or grew


def test_writes_a_gif_of_several_frames_and_overwrites_only_with_force(tmp_path, capsys):
    out = tmp_path / "anim" / "need.gif"
    assert animate.main(["--out", str(out), *SMALL]) == 0
    with Image.open(out) as gif:
        assert gif.format == "GIF" and gif.size == (1280, 720)
        assert gif.n_frames >= 8
        durations = []
        for k in range(gif.n_frames):
            gif.seek(k)
            durations.append(gif.info["duration"])
    assert 15_000 < sum(durations) < 120_000  # a story of tens of seconds
    first = out.read_bytes()
    assert str(out) in capsys.readouterr().out
    # Without --force an existing file is kept; with it, the same seed gives the same GIF.
    assert animate.main(["--out", str(out), *SMALL]) == 2
    assert out.read_bytes() == first
    out.write_bytes(b"not a gif")
    assert animate.main(["--out", str(out), "--force", *SMALL]) == 0
    assert out.read_bytes() == first
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temp files


def test_refuses_to_overwrite_with_one_line_and_exit_2(tmp_path):
    out = tmp_path / "need.gif"
    out.write_bytes(b"keep me")
    proc = subprocess.run([sys.executable, "-m", "experiments.animate", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "exists" in lines[0] and "--force" in lines[0], proc.stderr
    assert out.read_bytes() == b"keep me"


@pytest.mark.parametrize("args", [["--out", "need.png"], ["--fps", "0"], ["--people", "5"]])
def test_bad_options_exit_2(args, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        animate.main(["--out", str(tmp_path / "x.gif"), *args])
    assert stop.value.code == 2
    assert "error" in capsys.readouterr().err
