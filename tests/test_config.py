"""The config: Hydra composition of conf/ into sim.config.Config, and its validation."""

from __future__ import annotations

import dataclasses
import math
import pickle
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import ConfigCompositionException, HydraException
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from experiments import schema
from experiments.convert import to_config
from experiments.errors import error_line
from experiments.preflight import sweep_configs
from sim.config import (
    MODES,
    NETWORKS,
    CascadeConfig,
    Config,
    ConfigError,
    NetworkConfig,
    PeopleConfig,
    flatten,
    from_dict,
    validate,
)

CONF = Path(__file__).resolve().parents[1] / "conf"
NETWORK_OPTIONS = sorted(p.stem for p in (CONF / "network").glob("*.yaml"))


def compose_cfg(*overrides: str, hydra: bool = False) -> DictConfig:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("config", overrides=list(overrides), return_hydra_config=hydra)


def composed(*overrides: str) -> Config:
    """Compose, convert and check, as Preflight does for every job."""
    return validate(to_config(compose_cfg(*overrides)))


def compose_error(*overrides: str) -> str:
    """The one-line error of composing (and converting) a bad config."""
    with pytest.raises((HydraException, ConfigError)) as info:
        composed(*overrides)
    line = error_line(info.value)
    assert line is not None and "\n" not in line, info.value
    return line


# --- the primary config ----------------------------------------------------------------


def test_primary_config_is_the_schema_defaults():
    cfg = compose_cfg()
    assert OmegaConf.get_type(cfg) is schema.AppConfig
    assert issubclass(schema.AppConfig, Config)
    assert cfg.resume is False
    assert OmegaConf.get_type(cfg.network) is NetworkConfig
    assert composed() == Config()


def test_primary_config_hydra_settings():
    hydra_cfg = compose_cfg(hydra=True).hydra
    assert hydra_cfg.job_logging.loggers.MESA.level == "WARNING"
    raw = OmegaConf.to_container(hydra_cfg.run, resolve=False)
    assert raw["dir"] == "outputs/${now:%Y-%m-%d}/${now:%H-%M-%S}"
    assert hydra_cfg.callbacks.preflight._target_ == "experiments.preflight.Preflight"
    assert hydra_cfg.callbacks.aggregate._target_ == "experiments.callbacks.Aggregate"
    assert OmegaConf.to_container(hydra_cfg.sweep, resolve=False)["dir"] == "sweeps/${sweep_name}"


def test_schemas_are_registered():
    repo = schema.register().repo
    assert "config_schema.yaml" in repo
    assert "network_schema.yaml" in repo["network"]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["seed=7"], {"seed": 7}),
        (["days=365"], {"days": 365}),
        (["people.n=50000"], {"people.n": 50000}),
        (["network.mean_degree=10"], {"network.mean_degree": 10.0}),
        (["network=holme_kim", "network.triad_prob=0.9"], {"network.triad_prob": 0.9}),
        (["needs.value_grows_with_rarity=false"], {"needs.value_grows_with_rarity": False}),
        (["measures.credit=chain"], {"measures.credit": "chain"}),
        (
            ["network=edgelist", "network.path=FILE"],
            {"network.name": "edgelist", "network.path": "FILE"},
        ),
    ],
)
def test_overrides_reach_the_config(overrides, expected):
    flat = flatten(composed(*overrides))
    for key, value in expected.items():
        assert flat[key] == value
        assert type(flat[key]) is type(value)


# --- the network group -------------------------------------------------------------------


def test_network_group_has_one_option_per_generator():
    assert NETWORK_OPTIONS == sorted(NETWORKS)


@pytest.mark.parametrize("name", NETWORK_OPTIONS)
def test_network_option_composes(name):
    path = ["network.path=edges.txt"] if name == "edgelist" else []
    config = composed(f"network={name}", *path)
    assert config.network.name == name
    # the options set the schema defaults of the parameters their generator uses
    assert config.network == NetworkConfig(name=name, path="edges.txt" if path else "")
    assert dataclasses.replace(config, network=NetworkConfig()) == Config()


@pytest.mark.parametrize("name", NETWORK_OPTIONS)
def test_network_option_file(name):
    text = (CONF / "network" / f"{name}.yaml").read_text()
    assert text.startswith("# "), "each option opens with a comment saying what it is"
    data = yaml.safe_load(text)
    assert data["name"] == name
    assert data["defaults"] == ["network_schema", "_self_"]
    fields = {f.name for f in dataclasses.fields(NetworkConfig)}
    assert set(data) - {"defaults"} <= fields


def test_network_option_is_validated_against_its_schema():
    line = compose_error("network=erdos_renyi", "network.foo=1")
    assert line.startswith("network.foo: unknown key")
    line = compose_error("network=watts_strogatz", "network.rewire_prob=abc")
    assert line == "network.rewire_prob: must be a number; got 'abc'"


def test_edgelist_needs_a_path():
    with pytest.raises(ConfigError) as info:
        composed("network=edgelist")
    assert info.value.key == "network.path"


# --- experiments -------------------------------------------------------------------------


def test_experiment_cascade():
    text = (CONF / "experiment" / "cascade.yaml").read_text()
    assert text.startswith("# @package _global_\n# ")
    config = composed("experiment=cascade")
    assert config.mode == "cascade"
    assert config.cascade == CascadeConfig(transmissibility=0.3, n_cascades=200)
    assert dataclasses.replace(config, mode="referral") == Config()


def test_experiment_cascade_overrides():
    config = composed(
        "experiment=cascade",
        "cascade.transmissibility=0.15",
        "cascade.n_cascades=20",
        "network=erdos_renyi",
    )
    assert (config.mode, config.network.name) == ("cascade", "erdos_renyi")
    assert config.cascade == CascadeConfig(transmissibility=0.15, n_cascades=20)


@pytest.mark.parametrize(("name", "path", "directed", "weight_as"), [
    ("bitcoin_otc", "../shared/data/bitcoin-otc.csv", True, "trust"),
    ("malawi", "../shared/data/malawi-contacts.csv", False, "contacts"),
])
def test_experiments_for_the_real_data(name, path, directed, weight_as):
    assert (CONF / "experiment" / f"{name}.yaml").read_text().startswith("# @package _global_\n")
    network = composed(f"experiment={name}").network
    assert (network.name, network.path, network.directed, network.weight_as) == (
        "edgelist", path, directed, weight_as)
    assert (network.source, network.target) == ("from", "to")


# --- bad input at composition --------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("people.foo=1", "people.foo: unknown key (allowed: n, n_topics,"),
        ("+people.foo=1", "people.foo: unknown key (allowed: n, n_topics,"),
        ("foo=1", "foo: unknown key (allowed: seed, days, warmup_days, mode, people,"),
        ("+foo=1", "foo: unknown key (allowed: seed, days, warmup_days, mode, people,"),
        ("people.n=abc", "people.n: must be a whole number; got 'abc'"),
        ("days=1.5", "days: must be a whole number; got '1.5'"),
        (
            "needs.value_grows_with_rarity=maybe",
            "needs.value_grows_with_rarity: must be true or false; got 'maybe'",
        ),
        ("people=3", "people: must be a group of settings"),
        ("needs.rate=1.5", "needs.rate: must be a number in [0, 1]; got 1.5"),
        ("people.budget_mean=-1", "people.budget_mean: must be a number > 0; got -1.0"),
        ("people.n=1", "people.n: must be a number >= 2; got 1"),
        ("response.hop_limit=0", "response.hop_limit: must be a number >= 1; got 0"),
        ("mode=nope", "mode: must be one of referral, cascade; got 'nope'"),
        (
            "network=nope",
            "network: unknown option 'nope' (allowed: barabasi_albert, "
            "configuration, default, directed, edgelist, erdos_renyi, holme_kim, karate, "
            "watts_strogatz)",
        ),
        ("experiment=nope", "experiment: unknown option 'nope' (allowed: bitcoin_otc, calibrated, "
                          "calibrated_rules_at_defaults, cascade"),
        ("seed=${nope}", "seed: "),
        ("people.n=[", "people.n=[: cannot parse this override"),
    ],
)
def test_composition_errors_name_the_key(override, expected):
    assert compose_error(override).startswith(expected)


def test_other_exceptions_are_not_bad_input():
    assert error_line(RuntimeError("a bug")) is None
    assert error_line(ZeroDivisionError()) is None
    assert error_line(ConfigCompositionException("x\ny")) == "x; y"


# --- sweeps --------------------------------------------------------------------------------


def sweep(*overrides: str) -> list[DictConfig]:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        master = loader.load_configuration("config", list(overrides), RunMode.MULTIRUN)
        return list(sweep_configs(master))


def test_sweep_configs_match_hydra_composition():
    overrides = ["network=karate,erdos_renyi", "seed=1,2", "people.n=300", "days=5"]
    jobs = sweep(*overrides)
    assert len(jobs) == 4
    got = sorted((to_config(j).network.name, to_config(j).seed) for j in jobs)
    assert got == sorted((n, s) for n in ("karate", "erdos_renyi") for s in (1, 2))
    for job in jobs:
        config = to_config(job)
        assert (config.people.n, config.days) == (300, 5)
        direct = composed(
            f"network={config.network.name}", f"seed={config.seed}", "people.n=300", "days=5"
        )
        assert config == direct


def test_sweep_configs_find_a_bad_point():
    jobs = sweep("needs.rate=0.01,1.5", "experiment=cascade")
    assert [to_config(jobs[0]).needs.rate, jobs[1].needs.rate] == [0.01, 1.5]
    with pytest.raises(ConfigError) as info:
        validate(to_config(jobs[1]))
    assert info.value.key == "needs.rate"


# --- sim.config.from_dict and validate -------------------------------------------------------


def key_of(fn, *args) -> str:
    with pytest.raises(ConfigError) as info:
        fn(*args)
    err = info.value
    assert str(err) == f"{err.key}: {err.message}"
    assert err.key in str(err)
    return err.key


def test_defaults_are_valid():
    config = Config()
    assert validate(config) is config
    assert from_dict({}) == config
    assert from_dict(dataclasses.asdict(config)) == config


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"foo": 1}, "foo"),
        ({"people": {"foo": 1}}, "people.foo"),
        ({"network": {"name": "erdos_renyi", "bar": 2}}, "network.bar"),
        ({"hydra": {}}, "hydra"),
    ],
)
def test_from_dict_rejects_unknown_keys(data, key):
    assert key_of(from_dict, data) == key
    with pytest.raises(ConfigError, match="unknown key"):
        from_dict(data)


@pytest.mark.parametrize(
    ("data", "key", "allowed"),
    [
        ({"people": {"n": "abc"}}, "people.n", "whole number"),
        ({"days": 1.5}, "days", "whole number"),
        ({"seed": True}, "seed", "whole number"),
        ({"people": {"budget_mean": "five"}}, "people.budget_mean", "number"),
        ({"needs": {"rate": math.nan}}, "needs.rate", "finite"),
        (
            {"needs": {"value_grows_with_rarity": 1}},
            "needs.value_grows_with_rarity",
            "true or false",
        ),
        ({"mode": 3}, "mode", "string"),
        ({"people": 3}, "people", "mapping"),
        ({"network": {"path": None}}, "network.path", "string"),
    ],
)
def test_from_dict_rejects_wrong_types(data, key, allowed):
    with pytest.raises(ConfigError) as info:
        from_dict(data)
    assert info.value.key == key
    assert allowed in info.value.message


def test_from_dict_converts_whole_numbers_to_floats_but_not_floats_to_whole_numbers():
    # Exactly as the command line: days=20.0 is refused there (OmegaConf), so here too.
    config = from_dict({"network": {"mean_degree": 4}})
    assert config.network.mean_degree == 4.0 and type(config.network.mean_degree) is float
    with pytest.raises(ConfigError) as info:
        from_dict({"days": 20.0})
    assert str(info.value) == "days: must be a whole number, got 20.0"


def with_value(key: str, value) -> Config:
    section, _, name = key.rpartition(".")
    data = {section: {name: value}} if section else {key: value}
    return from_dict(data)


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("needs.rate", 1.5, "[0, 1]"),
        ("needs.rate", -0.1, "[0, 1]"),
        ("people.budget_mean", -1.0, "> 0"),
        ("people.budget_mean", 0.0, "> 0"),
        ("people.n", 1, ">= 2"),
        ("response.hop_limit", 0, ">= 1"),
        ("seed", -1, ">= 0"),
        ("days", 0, ">= 1"),
        ("network.degree_exponent", 2.0, "> 2"),
        ("measures.large_fraction", 1.0, "(0, 1)"),
        ("measures.valuable_quantile", 0.0, "(0, 1)"),
        ("cascade.transmissibility", 1.01, "[0, 1]"),
        ("cascade.n_cascades", 0, ">= 1"),
        ("ties.min_strength", 0.0, "(0, 1]"),
        ("meetups.max_attendees", 1, ">= 2"),
    ],
)
def test_validate_rejects_out_of_range(key, value, allowed):
    config = with_value(key, value)
    with pytest.raises(ConfigError) as info:
        validate(config)
    assert info.value.key == key
    assert allowed in info.value.message
    assert repr(value) in info.value.message


@pytest.mark.parametrize(
    ("key", "value", "choices"),
    [
        ("mode", "nope", MODES),
        ("network.name", "nope", NETWORKS),
        ("measures.credit", "everyone", ("broker", "chain")),
        ("people.agents", "some", ("auto", "all", "lazy")),
        ("knockout.target", "everyone", ("none", "large", "small_random", "small_audience")),
    ],
)
def test_validate_rejects_unknown_choices(key, value, choices):
    with pytest.raises(ConfigError) as info:
        validate(with_value(key, value))
    assert info.value.key == key
    assert all(c in info.value.message for c in choices)


def test_validate_rejects_negative_knockout_and_min_strength_below_floor():
    with pytest.raises(ConfigError) as info:
        validate(with_value("knockout.k", -1))
    assert info.value.key == "knockout.k"
    with pytest.raises(ConfigError) as info:
        validate(with_value("ties.min_strength", 0.01))
    assert info.value.key == "ties.min_strength" and "ties.floor" in info.value.message


def test_validate_checks_types_of_hand_built_configs():
    config = Config(people=PeopleConfig(n="100"))  # type: ignore[arg-type]
    assert key_of(validate, config) == "people.n"


def test_validate_cross_checks():
    config = with_value("ties.weak_below", 0.6)
    assert key_of(validate, config) == "ties.weak_below"
    assert key_of(validate, with_value("network.name", "edgelist")) == "network.path"
    validate(from_dict({"network": {"name": "edgelist", "path": "x.txt"}}))


def test_config_error_pickles():
    err = pickle.loads(pickle.dumps(ConfigError("people.n", "must be a number >= 2")))
    assert (err.key, err.message) == ("people.n", "must be a number >= 2")
    assert str(err) == "people.n: must be a number >= 2"


# --- one check for the command line and the Python API (issue 9) ------------------------------


def test_api_refuses_a_float_for_a_whole_number_naming_the_key():
    with pytest.raises(ConfigError) as info:
        validate(Config(days=5.0))  # type: ignore[arg-type]
    assert str(info.value) == "days: must be a whole number, got 5.0"


def test_api_accepts_numpy_scalars_paths_and_dict_sections(tmp_path):
    import numpy as np

    edges = tmp_path / "edges.txt"
    config = validate(Config(seed=np.int64(3), days=np.int32(7),
                             people={"n": np.int64(300), "budget_mean": np.float32(2.5)},
                             network=NetworkConfig(name="edgelist", path=edges),
                             needs={"seeker_reposts": np.bool_(False)}))
    assert (config.seed, config.days, config.people.n) == (3, 7, 300)
    assert type(config.seed) is int and type(config.people.n) is int
    assert config.people.budget_mean == 2.5 and type(config.people.budget_mean) is float
    assert isinstance(config.people, PeopleConfig) and config.network.path == str(edges)
    assert config.needs.seeker_reposts is False
    assert config == composed("seed=3", "days=7", "people.n=300", "people.budget_mean=2.5",
                              "network=edgelist", f"network.path={edges}",
                              "needs.seeker_reposts=false")


def test_api_refuses_what_the_command_line_refuses():
    import numpy as np

    for config, key in [(Config(people={"n": 1.5}), "people.n"),
                        (Config(people={"nn": 3}), "people.nn"),
                        (Config(seed=np.float64(2.0)), "seed"),
                        (Config(days=True), "days"),
                        (Config(people=3), "people"),
                        (Config(needs={"seeker_reposts": 2}), "needs.seeker_reposts")]:
        assert key_of(validate, config) == key


def test_validate_takes_a_mapping_too():
    config = validate({"seed": 4, "people": {"n": 500}})
    assert isinstance(config, Config) and (config.seed, config.people.n) == (4, 500)


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("needs.lifetime_days", 100_000_000_000, "[1, 36500]"),
        ("needs.value_log_sd", 1e308, "[0, 10]"),
        ("people.topic_zipf", 1e308, "[0, 10]"),
        ("people.budget_sigma", 1000.0, "[0, 3]"),
    ],
)
def test_upper_bounds_keep_the_arithmetic_finite(key, value, allowed):
    with pytest.raises(ConfigError) as info:
        validate(with_value(key, value))
    assert info.value.key == key and allowed in info.value.message


def test_upper_bounds_are_inclusive_and_run():
    from sim.run import run

    config = from_dict({"days": 3, "people": {"n": 200, "budget_sigma": 3.0, "topic_zipf": 10.0},
                        "needs": {"value_log_sd": 10.0, "lifetime_days": 36_500}})
    metrics = run(validate(config)).metrics
    assert metrics["n_people"] == 200


def test_sizes_are_bounded_by_memory_with_the_estimate():
    with pytest.raises(ConfigError) as info:
        validate(with_value("people.n", 10_000_000_000), memory=24 * 10**9)
    assert str(info.value) == (
        "people.n: 10,000,000,000 people (mean audience 10) need about 14,000 GB of memory "
        "(estimate); this machine has 24.0 GB: at most about 17,142,857 people")
    cascade = from_dict({"mode": "cascade", "cascade": {"n_cascades": 100_000_000_000}})
    with pytest.raises(ConfigError) as info:
        validate(cascade, memory=24 * 10**9)
    assert info.value.key == "cascade.n_cascades"
    assert "4,800 GB of memory (estimate)" in info.value.message
    # (24 GB - 1.4e7 bytes of network for 10,000 people) / 48 bytes a cascade
    assert "at most about 499,708,333 cascades" in info.value.message
    validate(with_value("people.n", 1_000_000), memory=24 * 10**9)  # fits


def test_knockout_k_is_at_most_the_large_people():
    config = from_dict({"people": {"n": 1000}, "knockout": {"target": "large", "k": 101}})
    with pytest.raises(ConfigError) as info:
        validate(config)
    assert str(info.value) == ("knockout.k: must be a whole number in [0, 100] (the large "
                               "people among 1,000: measures.large_fraction 0.1); got 101")
    config.knockout.k = 100
    validate(config)
    config.knockout = dataclasses.replace(config.knockout, target="none", k=5000)
    validate(config)  # no knockout: k is not used


def test_boolean_overrides_take_only_true_or_false():
    from experiments.convert import check_overrides

    check_overrides(["needs.seeker_reposts=false", "response.referrals=true", "seed=2"])
    for bad in ("needs.seeker_reposts=2", "response.referrals=0", "needs.seeker_reposts=true,2"):
        with pytest.raises(ConfigError) as info:
            check_overrides([bad])
        assert info.value.key == bad.split("=")[0]
        assert info.value.message.startswith("must be true or false; got ")


def test_network_choices_come_from_the_generator_registry():
    from sim import network

    assert NETWORKS == network.generator_names() == tuple(network.GENERATORS)
    with pytest.raises(ConfigError) as info:
        validate(with_value("network.name", "nope"))
    assert info.value.message == f"must be one of {', '.join(network.GENERATORS)}; got 'nope'"


def test_pyproject_license_is_an_spdx_string():
    import tomllib

    project = tomllib.loads((CONF.parent / "pyproject.toml").read_text())
    assert project["project"]["license"] == "MIT"
    assert "setuptools>=77" in project["build-system"]["requires"]


def test_a_run_validates_its_config_once(monkeypatch):
    import importlib

    import sim.config
    import sim.model

    run_module = importlib.import_module("sim.run")  # ``sim.run`` names the function
    calls = []
    real = sim.config.validate

    def counting(config):
        calls.append(config)
        return real(config)

    monkeypatch.setattr(run_module, "validate", counting)
    monkeypatch.setattr(sim.model, "validate", counting)
    run_module.run(Config(days=2, people=PeopleConfig(n=200)))
    assert len(calls) == 1
    sim.model.ReferralModel(Config(days=2, people=PeopleConfig(n=200)))
    assert len(calls) == 2  # the Mesa model on its own still checks what it is given
