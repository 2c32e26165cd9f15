"""The main job: one simulation, its summary, tables and figures.

Run it as ``python -m experiments.run`` (or the ``influencer-sim`` console
script) with Hydra overrides, e.g.::

    python -m experiments.run seed=7 days=365 people.n=50000
    python -m experiments.run network=barabasi_albert network.mean_degree=10
    python -m experiments.run network=edgelist network.path=../shared/data/facebook_combined.txt
    python -m experiments.run experiment=cascade cascade.transmissibility=0.3
    python -m experiments.run -m seed=1,2,3
    python -m experiments.run -m experiment=small_vs_large   # a whole sweep

Everything goes into Hydra's output folder (``outputs/<date>/<time>``):
``metrics.json``, the tables as Parquet (and CSV), and in referral mode the
figure ``small_vs_large.png`` (+ ``.svg``). The summary and the folder are
printed (the summary also goes to the folder's ``run.log``). Bad input gives
one line on stderr and exit status 2, with nothing written.

Before anything is written, :class:`experiments.preflight.Preflight` checks the
config (every point of a ``-m`` sweep) and the output folder. In a sweep each
job runs with :func:`experiments.jobs.sweep_job`: a job that fails is recorded
(``status: failed`` and its error in ``metrics.json``) and the others go on;
at the end the sweep is aggregated (``experiments.callbacks.Aggregate``).
"""

from __future__ import annotations

import sys
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from experiments import schema  # noqa: F401  (registers the config schema)
from experiments.cli import cli
from experiments.convert import to_config
from experiments.jobs import output_dir, run_and_save, sweep_job
from experiments.schema import CONF_DIR


# config_path is conf/ next to this package, i.e. "../conf", given absolute (see CONF_DIR)
@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def app(cfg: DictConfig) -> dict[str, Any]:
    """Run the configured simulation and save it into the job's output folder."""
    folder = output_dir()
    if HydraConfig.get().mode == RunMode.MULTIRUN:
        return sweep_job(cfg, folder)
    result = run_and_save(to_config(cfg), folder, progress=sys.stderr.isatty())
    print(result.summary())
    print(folder, flush=True)
    return result.metrics


def main() -> None:
    """Console entry point: run :func:`app`; bad input exits with status 2."""
    cli(app)


if __name__ == "__main__":
    main()
