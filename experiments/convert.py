"""From a composed Hydra config to a :class:`sim.config.Config`.

:func:`to_config` drops the keys that steer Hydra and the sweep, resolves
interpolations and builds the model's config with :func:`sim.config.from_dict`
(keys and types); :func:`check_overrides` catches what OmegaConf quietly
converts (``needs.seeker_reposts=2`` would become ``true``). Ranges are
checked by :func:`sim.config.validate`, the one check of every entry point:
:class:`experiments.preflight.Preflight` calls it on every job before Hydra
writes anything, the model calls it when the job runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from experiments import schema
from experiments.errors import omegaconf_key_message, schema_type
from sim.config import Config, ConfigError, from_dict

#: Keys of the primary config that steer Hydra and the sweep, not the model.
APP_KEYS = ("hydra", *schema.APP_KEYS)


def to_config(cfg: DictConfig | Mapping[str, Any]) -> Config:
    """Convert a composed config into a :class:`sim.config.Config` (keys and types checked).

    The ``hydra`` node and the sweep's keys are ignored; interpolations are
    resolved. Ranges are not checked here (see :func:`sim.config.validate`).

    Args:
        cfg: The task config of a Hydra app (or any nested mapping).

    Returns:
        The config.

    Raises:
        ConfigError: An unknown key, a wrong type or a missing value, naming the
            dotted key.
    """
    data: dict[str, Any] = {}
    if isinstance(cfg, DictConfig):
        for key in cfg:
            if key in APP_KEYS:
                continue
            try:
                value = cfg[key]
                if isinstance(value, DictConfig):
                    value = OmegaConf.to_container(value, resolve=True, throw_on_missing=True)
            except OmegaConfBaseException as exc:
                raise ConfigError(*omegaconf_key_message(exc)) from exc
            data[str(key)] = value
    else:
        data = {k: v for k, v in cfg.items() if k not in APP_KEYS}
    return from_dict(data)


def check_overrides(overrides: Iterable[str]) -> None:
    """Refuse overrides that OmegaConf would quietly convert.

    OmegaConf turns any integer into a boolean (``needs.seeker_reposts=2`` is
    ``true``); here a boolean key takes only ``true`` or ``false``.

    Raises:
        ConfigError: A boolean key given something else.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    for override in OverridesParser.create().parse_overrides(list(overrides)):
        key = override.key_or_group
        if override.is_hydra_override() or schema_type(key) is not bool:
            continue
        if override.is_sweep_override():
            values = list(override.sweep_iterator())
        elif override.is_delete():
            continue
        else:
            values = [override.value()]
        for value in values:
            if not isinstance(value, bool):
                raise ConfigError(key, f"must be true or false; got {value!r}")
