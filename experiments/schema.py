"""Register the typed config of :mod:`sim.config` in Hydra's ConfigStore.

Importing this module stores:

- ``config_schema``: :class:`AppConfig` (:class:`sim.config.Config` plus
  ``resume`` and ``sweep_name``), the schema of the whole primary config (first
  entry of the defaults list of ``conf/config.yaml``);
- ``network/network_schema``: :class:`sim.config.NetworkConfig`, the schema that
  every option of the ``network`` group extends (``defaults: [network_schema]``).

So unknown keys (``people.foo=1``, ``+people.foo=1``) and wrong types
(``people.n=abc``, ``days=1.5``) are rejected while Hydra composes the config;
ranges and choices are checked afterwards by :func:`sim.config.validate`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

from sim.config import Config, NetworkConfig


@dataclass
class AppConfig(Config):
    """The model's :class:`sim.config.Config` plus the keys that steer a sweep.

    Attributes:
        resume: Finish an interrupted sweep: runs whose folder already holds a
            result are skipped (``-m ... resume=true``).
        sweep_name: Folder of a ``-m`` sweep under ``sweeps/`` (experiment
            configs set it; default: the start time).
        storage: Where a sweep's runs go: ``folders`` (a folder of tables per
            run) or ``parquet`` (one row per run in Parquet parts, for big
            sweeps; :mod:`experiments.storage`).
        storage_tables: With ``storage=parquet``, also keep each run's folder of
            tables.
        design_row: Row of the sweep's design table this run computes (set by the
            sweeper with ``hydra.sweeper.design``; -1: not a design run).
    """

    resume: bool = False
    sweep_name: str = "${now:%Y-%m-%d_%H-%M-%S}"
    storage: str = "folders"
    storage_tables: bool = False
    design_row: int = -1


CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
"""The project's Hydra configs. An absolute path, so the apps find it from any working
directory and also when started by the console script (Hydra resolves a relative
``config_path`` against the package ``conf`` there, which is not importable)."""

#: Keys of :class:`AppConfig` that are not model parameters.
APP_KEYS = ("resume", "sweep_name", "storage", "storage_tables", "design_row")

SCHEMA_NAME = "config_schema"
NETWORK_SCHEMA_NAME = "network_schema"


#: Name of the resolver that makes a run folder's name safe (``conf/config.yaml``).
DIRNAME_RESOLVER = "safe_dirname"


def safe_dirname(text: str) -> str:
    """One folder name from a run's overrides: slashes and backslashes are escaped (``%2F``).

    A swept value with a slash (``network.path=../data/x.txt``) must not move the
    run folder out of its sweep. An empty name (no overrides) becomes ``run``.
    """
    text = str(text).replace("%", "%25").replace("/", "%2F").replace("\\", "%5C")
    return text or "run"


def register() -> ConfigStore:
    """Store the schemas and the folder-name resolver (idempotent); return the ConfigStore."""
    cs = ConfigStore.instance()
    cs.store(name=SCHEMA_NAME, node=AppConfig)
    cs.store(group="network", name=NETWORK_SCHEMA_NAME, node=NetworkConfig)
    OmegaConf.register_new_resolver(DIRNAME_RESOLVER, safe_dirname, replace=True)
    return cs


register()
