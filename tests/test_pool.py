"""The process pool of sweeps and the launcher's worker side."""

from __future__ import annotations

import pickle

import pytest
from hydra.core.utils import JobReturn, JobStatus
from omegaconf import OmegaConf

from experiments import pool
from hydra_plugins.influencer_sim_launcher import _worker
from sim.config import ConfigError


def square(x: int) -> int:
    return x * x


def fail_on_three(x: int) -> int:
    if x == 3:
        raise ValueError("three")
    return x


def test_pool_map_keeps_order_in_process_and_in_workers():
    items = list(range(7))
    assert pool.pool_map(square, items, workers=1) == [x * x for x in items]
    assert pool.pool_map(square, items, workers=2) == [x * x for x in items]
    assert pool.pool_map(square, [], workers=2) == []


@pytest.mark.parametrize("workers", [1, 2])
def test_pool_map_raises_the_first_error(workers):
    with pytest.raises(ValueError, match="three"):
        pool.pool_map(fail_on_three, range(5), workers=workers)


def test_worker_count_follows_joblib():
    assert pool.worker_count(1) == 1
    assert pool.worker_count(None) == 1
    assert pool.worker_count(2) == 2
    assert pool.worker_count(-1) >= 1
    with pytest.raises(ConfigError, match="n_jobs"):
        pool.worker_count(0)
    with pytest.raises(ConfigError, match="n_jobs"):
        pool.worker_count("many")


def test_sweep_workers_only_with_the_project_launcher():
    ours = OmegaConf.create({"hydra": {"launcher": {"_target_": pool.LAUNCHER, "n_jobs": 2}}})
    other = OmegaConf.create({"hydra": {"launcher": {
        "_target_": "hydra._internal.core_plugins.basic_launcher.BasicLauncher"}}})
    assert pool.sweep_workers(ours) == 2
    assert pool.sweep_workers(other) == 1


def test_stop_never_raises_and_the_pool_comes_back():
    pool.stop()
    pool.stop()
    assert pool.pool_map(square, [1, 2, 3], workers=2) == [1, 4, 9]
    pool.stop()


def test_slim_result_keeps_what_the_sweeper_reads():
    ret = JobReturn(overrides=["seed=1"], cfg=OmegaConf.create({"a": 1}),
                    hydra_cfg=OmegaConf.create({"b": 2}), working_dir="/x", task_name="run",
                    status=JobStatus.COMPLETED, _return_value={"status": "ok"})
    slim = _worker.slim(ret)
    assert slim.cfg is None and slim.hydra_cfg is None
    assert (slim.overrides, slim.working_dir, slim.task_name, slim.status,
            slim.return_value) == (["seed=1"], "/x", "run", JobStatus.COMPLETED,
                                   {"status": "ok"})
    assert len(pickle.dumps(slim)) < len(pickle.dumps(ret))


class CountedLoads:
    """Counts how often it is unpickled."""

    loads = 0

    def __init__(self):
        self.payload = "state"

    def __setstate__(self, state):
        type(self).loads += 1


def test_worker_unpickles_the_shared_state_once_per_sweep(monkeypatch):
    seen = []
    monkeypatch.setattr(_worker, "execute_job", lambda num, overrides, *state: (
        seen.append((num, overrides, state)) or JobReturn(status=JobStatus.COMPLETED)))
    digest, payload = _worker.pack_state(CountedLoads(), {"k": 1}, square, {})
    CountedLoads.loads = 0
    for num in range(3):
        _worker.run_job(digest, payload, num, [f"seed={num}"])
    assert CountedLoads.loads == 1
    assert [s[:2] for s in seen] == [(0, ["seed=0"]), (1, ["seed=1"]), (2, ["seed=2"])]
    assert all(s[2][1] == {"k": 1} and s[2][2] is square for s in seen)
    other_digest, other_payload = _worker.pack_state(CountedLoads(), {"k": 2}, square, {})
    _worker.run_job(other_digest, other_payload, 3, [])
    assert CountedLoads.loads == 2 and seen[-1][2][1] == {"k": 2}
