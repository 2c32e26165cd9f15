"""The sweeper ``hydra/sweeper=influencer``: Hydra's basic sweeper without its double check.

Hydra's basic sweeper composes every job's config in the main process before
launching (``validate_batch_is_legal``), about 0.13 s a job, all of it serial:
13 s of a 100-run sweep whose runs take 0.45 s each. The project's
``Preflight`` callback has already composed and validated every job (and
reports bad input in one line), so this sweeper skips the repeat. Everything
else, including ``hydra.sweeper.params``, is the basic sweeper's.

This module is the project's one use of a private Hydra name
(``hydra._internal.core_plugins.basic_sweeper``: Hydra has no public basic
sweeper to extend); ``hydra-core`` is pinned to 1.3.x in ``pyproject.toml`` and
``tests/test_pool.py`` fails if the name disappears.
"""

from dataclasses import dataclass
from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper, BasicSweeperConf
from hydra.core.config_store import ConfigStore


@dataclass
class InfluencerSweeperConf(BasicSweeperConf):
    """Settings of the basic sweeper (``max_batch_size``, ``params``)."""

    _target_: str = "hydra_plugins.influencer_sim_launcher.sweeper.InfluencerSweeper"


ConfigStore.instance().store(group="hydra/sweeper", name="influencer",
                             node=InfluencerSweeperConf, provider="influencer-sim")


class InfluencerSweeper(BasicSweeper):
    """Basic sweeper whose jobs were validated once, up front, by ``Preflight``."""

    def validate_batch_is_legal(self, batch: Any) -> None:  # noqa: D102
        return None


def split_jobs(overrides: list[Any]) -> list[list[str]]:
    """The jobs of a sweep (each a list of ``key=value``), as the basic sweeper splits them.

    Args:
        overrides: Parsed overrides (sweeper parameters first, then the command line).
    """
    return [list(job) for batch in BasicSweeper.split_arguments(overrides, None)
            for job in batch]
