"""What runs inside a sweep worker process (and, for one core, in the main one).

Hydra's joblib launcher sends every job the whole Hydra context, the sweep's
config and the singleton state, pickled again for each job (~36 ms in the
main process, which the two workers of a 2-core machine then wait for), and
every result comes back with two full configs (~27 ms each to unpickle). Here
the shared state is pickled once per sweep and unpickled once per worker, a
job is its number and overrides, and a result keeps only what the sweeper
reads: status, return value, overrides and folder.

A job is run with Hydra's public ``hydra.core.utils.run_job``, exactly as
Hydra's own launchers run one.

The module's name starts with ``_`` so that Hydra's plugin scan does not run
it a second time (the scan re-executes every public module under
``hydra_plugins``, which would empty the cache below in a worker).
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Sequence
from typing import Any

from hydra.core import utils as hydra_utils
from hydra.core.hydra_config import HydraConfig
from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, setup_globals
from omegaconf import open_dict

#: The unpickled shared state of the sweep this process works for, by digest.
_state: dict[str, tuple[Any, ...]] = {}


def pack_state(hydra_context: Any, config: Any, task_function: Any,
               singleton_state: Any) -> tuple[str, bytes]:
    """Pickle the state every job of a sweep shares; return ``(digest, payload)``."""
    import cloudpickle

    payload = cloudpickle.dumps((hydra_context, config, task_function, singleton_state),
                                protocol=pickle.HIGHEST_PROTOCOL)
    return hashlib.sha256(payload).hexdigest(), payload


def slim(ret: JobReturn) -> JobReturn:
    """The job's result without its two configs (the sweeper never reads them)."""
    return JobReturn(overrides=ret.overrides, working_dir=ret.working_dir,
                     task_name=ret.task_name, status=ret.status,
                     _return_value=ret._return_value)


def job_config(hydra_context: Any, config: Any, num: int, overrides: Sequence[str]) -> Any:
    """The composed config of job ``num`` (its ``hydra.job.num`` and ``id`` set)."""
    sweep_config = hydra_context.config_loader.load_sweep_config(config, list(overrides))
    with open_dict(sweep_config):
        sweep_config.hydra.job.id = f"{sweep_config.hydra.job.name}_{num}"
        sweep_config.hydra.job.num = num
    return sweep_config


def execute_job(num: int, overrides: Sequence[str], hydra_context: Any, config: Any,
                task_function: Any, singleton_state: Any) -> JobReturn:
    """Run job ``num`` of a sweep in this process (Hydra's public ``run_job``)."""
    setup_globals()
    Singleton.set_state(singleton_state)
    sweep_config = job_config(hydra_context, config, num, overrides)
    HydraConfig.instance().set_config(sweep_config)
    return slim(hydra_utils.run_job(hydra_context=hydra_context, task_function=task_function,
                        config=sweep_config, job_dir_key="hydra.sweep.dir",
                        job_subdir_key="hydra.sweep.subdir"))


def run_job(digest: str, payload: bytes, num: int,
            overrides: Sequence[str]) -> JobReturn:
    """Run job ``num`` of the sweep whose shared state is ``payload``.

    The payload is unpickled on this process's first job of the sweep and
    reused after; the bytes themselves cost a copy per job, not a pickling.
    """
    state = _state.get(digest)
    if state is None:
        _state.clear()
        state = _state[digest] = pickle.loads(payload)
    return execute_job(num, list(overrides), *state)


def run_task(task: tuple[str, bytes, int, Sequence[str]]) -> JobReturn:
    """:func:`run_job` of one ``(digest, payload, num, overrides)`` (for the pool's map)."""
    return run_job(*task)
