"""The teaching notebooks: committed without outputs, and they run top to bottom.

Each notebook is executed headlessly with nbclient in a kernel of this very
interpreter (a kernelspec written to a temporary ``JUPYTER_PATH``, so a user's own
``python3`` kernel can never be picked up instead), with the working directory
``notebooks/`` as in Jupyter. Nothing is written back to the notebook files.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
STORY = NOTEBOOKS / "01_everyone_is_an_influencer.ipynb"
SWEEP = NOTEBOOKS / "02_analyse_a_sweep.ipynb"
CELL_TIMEOUT = 300  # seconds per cell


def all_notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


@pytest.fixture
def kernel_env(tmp_path, monkeypatch):
    """A ``python3`` kernelspec that runs this interpreter; temp files under tmp_path."""
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (test)", "language": "python",
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))  # where notebook 2 makes its demo sweep
    monkeypatch.delenv("SWEEP_DIR", raising=False)
    return scratch


def execute(path: Path) -> tuple[nbformat.NotebookNode, float]:
    """Run a notebook from top to bottom (raises CellExecutionError on any error)."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    started = time.perf_counter()
    client.execute()
    return nb, time.perf_counter() - started


def outputs(nb: nbformat.NotebookNode) -> list[dict]:
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]


def text_of(nb: nbformat.NotebookNode) -> str:
    parts = []
    for out in outputs(nb):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type in ("execute_result", "display_data"):
            parts.append(out.data.get("text/plain", ""))
    return "\n".join(parts)


def n_images(nb: nbformat.NotebookNode) -> int:
    return sum(1 for out in outputs(nb)
               if out.output_type in ("execute_result", "display_data")
               and "image/png" in out.data)


# --- committed state -------------------------------------------------------------------


def test_both_notebooks_exist():
    assert STORY in all_notebooks() and SWEEP in all_notebooks()


@pytest.mark.parametrize("path", all_notebooks(), ids=lambda p: p.name)
def test_notebook_is_stripped(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    assert "widgets" not in nb.metadata
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        assert cell.outputs == [], f"{path.name}: cell {i} has outputs (strip them)"
        assert cell.execution_count is None, f"{path.name}: cell {i} has an execution count"
        assert "execution" not in cell.metadata, f"{path.name}: cell {i} has timing metadata"


# --- they run ----------------------------------------------------------------------------


def test_story_notebook_runs(kernel_env):
    nb, seconds = execute(STORY)
    print(f"{STORY.name}: {seconds:.1f} s")
    text = text_of(nb)
    assert not [o for o in outputs(nb) if o.output_type == "error"]
    assert "fit the essay's story" in text
    assert re.search(r"need #\d+ is CLOSED", text)
    assert "right after the closure" in text
    assert "valuable referrals brokered by small people" in text  # result.summary()
    # Section 5 runs both calibrated fits, as the experiment files set them.
    assert ("fit B: budgets independent of audience: people.budget_audience_exponent = 0, "
            "response.know = attention") in text
    assert ("fit A: budgets grow with audience: people.budget_audience_exponent = 0.551, "
            "response.know = attention") in text
    # audiences, story network, top audiences, tie growth, small vs large (twice)
    assert n_images(nb) >= 6


def test_sweep_notebook_runs_on_its_own_demo_sweep(kernel_env):
    nb, seconds = execute(SWEEP)
    print(f"{SWEEP.name}: {seconds:.1f} s")
    text = text_of(nb)
    assert not [o for o in outputs(nb) if o.output_type == "error"]
    sweeps = list(kernel_env.glob("influencer-demo-sweep-*"))
    assert len(sweeps) == 1
    assert (sweeps[0] / "summary.parquet").exists() and (sweeps[0] / "groups.parquet").exists()
    assert "45 runs; status: {'ok': 45}" in text
    # The notebook asks the project's one bootstrap (BCa with 5 seeds) for the interval,
    # and the groups table holds exactly those numbers.
    intervals = re.findall(r"\[(\d\.\d{4}), (\d\.\d{4})\]", text)
    assert len(intervals) == 2 and len(set(intervals)) == 1, intervals
    assert "sim.measures.bootstrap_interval (BCa)" in text and "groups table (BCa)" in text
    # (b) shows the middle setting in numeric order, and says so.
    shown = re.search(r"shown: (.*) \(the middle swept values\), 5 runs pooled", text)
    assert shown and set(shown.group(1).split(", ")) == {"budget mean = 5",
                                                         "degree exponent = 2.5"}
    # bootstrap histogram, (a) share, (b) per capita, (c) Lorenz, (d) heatmap
    assert n_images(nb) >= 5
