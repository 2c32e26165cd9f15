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

from experiments.schema import CONF_DIR
from sim.config import Config, validate

#: The project root (the parent of its Hydra config folder, CONF_DIR).
ROOT = CONF_DIR.parent


def compose_config(overrides: Sequence[str] = ()) -> Config:
    """The validated model config that ``python -m experiments.run OVERRIDES`` would run.

    Relative edge-list paths are taken from the project root (where the
    experiment files say to run), so evidence commands run from any folder.
    Inside a Hydra app the app's own ``conf/`` is used.

    Args:
        overrides: Hydra overrides, e.g. ``["experiment=calibrated", "people.n=2000"]``.

    Returns:
        The config, checked by :func:`sim.config.validate`.

    Raises:
        sim.config.ConfigError: A value out of range, or an override OmegaConf would
            quietly convert.
        hydra.errors.HydraException: An unknown key or config group option.
    """
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from experiments.convert import check_overrides, to_config

    check_overrides(overrides)
    if GlobalHydra.instance().is_initialized():  # inside a Hydra app: the same conf/
        cfg = compose("config", overrides=list(overrides))
    else:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = compose("config", overrides=list(overrides))
    config = to_config(cfg)
    path = config.network.path
    if path and not Path(path).is_absolute() and not Path(path).exists():
        config.network.path = str(ROOT / path)
    return validate(config)
