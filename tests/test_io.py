import os
import time

import pandas as pd
import pytest

from sim import io


def test_atomic_write_replaces_only_on_success(tmp_path):
    target = tmp_path / "sub" / "a.txt"
    io.write_text("first", target)
    assert target.read_text() == "first"
    with pytest.raises(RuntimeError), io.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "first"
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.txt"]


def test_temporary_name_keeps_the_suffix_and_final_mode(tmp_path):
    with io.atomic_path(tmp_path / "fig.png") as tmp:
        assert tmp.name.startswith(".fig.png.") and tmp.name.endswith(".tmp.png")
        tmp.write_bytes(b"x")
    assert oct((tmp_path / "fig.png").stat().st_mode & 0o777) == "0o644"


def test_json_nan_becomes_null(tmp_path):
    import numpy as np

    text = io.json_dumps({"a": float("nan"), "b": np.float64(1.5), "c": [np.inf, 2]})
    assert text == '{\n  "a": null,\n  "b": 1.5,\n  "c": [\n    null,\n    2\n  ]\n}\n'


def test_tables_round_trip(tmp_path):
    df = pd.DataFrame({"x": [1, 2], "y": ["a", "b"]})
    io.write_parquet(df, tmp_path / "t.parquet")
    io.write_csv(df, tmp_path / "t.csv")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "t.parquet"), df)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "t.csv"), df)


def test_remove_stale_temps_touches_only_old_temporaries(tmp_path):
    old = tmp_path / ".fig.png.abc123.tmp.png"
    fresh = tmp_path / ".fig.svg.def456.tmp.svg"
    users = [tmp_path / "notes.tmp", tmp_path / ".hidden", tmp_path / "fig.png",
             tmp_path / ".config.tmp"]
    for p in [old, fresh, *users]:
        p.write_text("x")
    past = time.time() - 3600
    for p in [old, *users]:
        os.utime(p, (past, past))
    assert io.remove_stale_temps(tmp_path) == [old]
    assert all(p.exists() for p in [fresh, *users])
