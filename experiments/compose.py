"""Compose a model :class:`~sim.config.Config` from command-line overrides, in Python.

The evidence commands (calibration check, patterns, claim map, validation) run
many configurations in one process; each is written exactly as on the command
line (``experiment=calibrated``, ``response.know=all``) and composed by Hydra
from the project's ``conf/`` folder, so a number in ``docs/validation.md`` is
the number ``python -m experiments.run`` gives with the same overrides::

    from experiments.compose import compose_config
    config = compose_config(["experiment=calibrated", "seed=3"])
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sim.config import Config, validate

#: The project's Hydra config folder.
CONF_DIR = Path(__file__).resolve().parent.parent / "conf"


def compose_config(overrides: Sequence[str] = ()) -> Config:
    """The validated model config that ``python -m experiments.run OVERRIDES`` would run.

    Args:
        overrides: Hydra overrides, e.g. ``["experiment=calibrated", "people.n=2000"]``.

    Returns:
        The config, checked by :func:`sim.config.validate`.

    Raises:
        sim.config.ConfigError: A value out of range.
        hydra.errors.HydraException: An unknown key or config group option.
    """
    from hydra import compose, initialize_config_dir

    from experiments.convert import to_config

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=list(overrides))
    config = to_config(cfg)
    validate(config)
    return config
