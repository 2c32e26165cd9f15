"""``hydra/launcher=slurm``: a sweep becomes one bounded SLURM job array of shards.

Each array task runs a shard of the sweep's runs on a whole node with the
project's own process pool; the work is done by :mod:`experiments.slurm`
(submitting, waiting) and :mod:`experiments.shards` (on the node). Settings,
under ``hydra.launcher``:

============== ============ =====================================================
key            default      meaning
============== ============ =====================================================
partition      (cluster's)  ``--partition``
account, qos   none         ``--account``, ``--qos``
time           04:00:00     time limit of one shard
mem            0            memory of one shard (``0``: all the node's)
exclusive      true         one shard per node (``--exclusive``)
cpus_per_task  none         cores of a shard when not exclusive
nodes          10           shards running at once (the array's ``%`` throttle)
max_tasks      100          most array tasks in one submission
shard_size     none         runs per shard (none: spread over ``max_tasks``)
workers        -1           pool processes per shard (-1: all cores it has)
wait           true         wait for the array (false: submit and return)
poll_seconds   10           how often the waiting process asks ``squeue``
numba_cache_dir none        ``NUMBA_CACHE_DIR`` on the node (none: ``$TMPDIR`` or
                            ``/tmp``, never a shared file system)
setup          []           shell lines run first (``module load ...``)
sbatch         []           more ``#SBATCH`` options (``--mail-type=END``)
python         this one     the interpreter on the nodes
flush_rows     200          storage=parquet: rows per part file...
flush_seconds  60           ...or seconds between part files
============== ============ =====================================================
"""

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.utils import JobReturn, configure_log, setup_globals
from omegaconf import OmegaConf

from hydra_plugins.influencer_sim_launcher.launcher import SweepLauncher


@dataclass
class SlurmLauncherConf:
    """Settings of ``hydra/launcher=slurm`` (see the module docstring)."""

    _target_: str = "hydra_plugins.influencer_sim_launcher.slurm.SlurmLauncher"
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    time: str = "04:00:00"
    mem: str = "0"
    exclusive: bool = True
    cpus_per_task: int | None = None
    nodes: int = 10
    max_tasks: int = 100
    shard_size: int | None = None
    workers: int = -1
    wait: bool = True
    poll_seconds: float = 10.0
    numba_cache_dir: str | None = None
    setup: list[str] = field(default_factory=list)
    sbatch: list[str] = field(default_factory=list)
    python: str | None = None
    flush_rows: int = 200
    flush_seconds: float = 60.0
    progress: bool = True


ConfigStore.instance().store(group="hydra/launcher", name="slurm", node=SlurmLauncherConf,
                             provider="influencer-sim")


class SlurmLauncher(SweepLauncher):
    """Submits a sweep as a bounded job array of shards (:func:`experiments.slurm.submit`)."""

    def __init__(self, **settings: Any) -> None:
        super().__init__()
        self.settings = settings

    def launch(self, job_overrides: Any, initial_job_idx: int) -> list[JobReturn]:  # noqa: D102
        from experiments.slurm import submit

        setup_globals()
        assert self.config is not None
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        settings = OmegaConf.to_container(self.config.hydra.launcher, resolve=True)
        return submit(self.config, settings, job_overrides, initial_job_idx)
