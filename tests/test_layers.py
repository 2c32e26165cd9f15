"""The model's core never draws: matplotlib lives in ``sim.viz`` only.

Two checks: importing every core module (and running a tiny simulation) in a
fresh interpreter leaves ``matplotlib`` out of ``sys.modules``, and no source
file under ``sim/`` outside ``sim/viz/`` imports matplotlib or ``sim.viz``,
not even inside a function.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SIM = ROOT / "sim"
VIZ = SIM / "viz"


def _core_modules() -> list[str]:
    """Dotted names of every module of ``sim`` outside ``sim.viz``."""
    names = []
    for path in sorted(SIM.rglob("*.py")):
        if VIZ in path.parents:
            continue
        parts = path.relative_to(ROOT).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_the_core_modules_are_found():
    names = _core_modules()
    assert {"sim", "sim.run", "sim.model", "sim.engine", "sim.measures", "sim.config",
            "sim.network", "sim.kernels"} <= set(names)
    assert not any(n.startswith("sim.viz") for n in names)


def test_importing_and_running_the_core_does_not_import_matplotlib():
    code = f"""
import importlib, json, sys
for name in {_core_modules()!r}:
    importlib.import_module(name)
import sim
from sim.config import Config, PeopleConfig
result = sim.run(Config(days=5, people=PeopleConfig(n=200)))
result.summary()
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in
                        ("matplotlib", "pyplot", "sim"))))
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert "sim.run" in loaded and "sim.engine" in loaded  # the check saw the core
    assert [m for m in loaded if m.startswith("matplotlib")] == []
    assert [m for m in loaded if m.startswith("sim.viz")] == []


def test_importing_sim_viz_does_import_matplotlib():
    """The counterpart: the subprocess check above can see matplotlib when it is there."""
    code = ("import sys, sim.viz.plots; "
            "print('matplotlib' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.stdout.strip() == "True", done.stderr


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports (``import x``, ``from x import y``), with line numbers."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


@pytest.mark.parametrize("path", sorted(p for p in SIM.rglob("*.py") if VIZ not in p.parents),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_core_source_file_imports_matplotlib_or_sim_viz(path):
    bad = [(line, name) for line, name in _imports(path)
           if name.split(".")[0] == "matplotlib" or name.startswith("sim.viz")]
    assert bad == [], f"{path.relative_to(ROOT)} imports {bad}"


def test_the_static_check_catches_a_function_level_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from matplotlib.figure import Figure\n"
                      "    from sim.viz import plots\n    import matplotlib.pyplot as plt\n")
    names = [name for _, name in _imports(sample)]
    assert "matplotlib.figure" in names and "sim.viz" in names
    assert "matplotlib.pyplot" in names
