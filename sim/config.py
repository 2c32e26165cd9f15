"""Typed configuration of a simulation run, and its validation.

Every parameter of the model lives in one of the dataclasses below, with its
default, its unit and where the default comes from (see also ``docs/model.md``).
The same dataclasses are registered in Hydra's ConfigStore by ``experiments``;
this module never imports Hydra, so notebooks can build a :class:`Config` by hand::

    from sim import Config, run
    result = run(Config(seed=7, days=100))

:func:`validate` checks a config once, before anything runs, and raises
:class:`ConfigError` naming the first offending key and what is allowed.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, get_args, get_origin, get_type_hints

MODES = ("referral", "cascade")
CREDIT_RULES = ("broker", "chain")
#: What the rows of an edge list say about a tie (``network.weight_as``).
WEIGHT_KINDS = ("none", "trust", "contacts")
#: Generators that can make directed (follower) networks (``network.directed=true``).
DIRECTED_NETWORKS = ("default", "directed", "edgelist")
KNOCKOUT_TARGETS = ("none", "large", "small_random", "small_audience")


class ConfigError(ValueError):
    """A configuration value (or input file) that the model cannot use.

    Attributes:
        key: Dotted config key (or file path) that is wrong.
        message: What is allowed, in one line.
    """

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        # Picklable, so process-based Hydra launchers (joblib, submitit) can return it.
        return (type(self), (self.key, self.message))


@dataclass
class PeopleConfig:
    """The population.

    Attributes:
        n: Number of people (count). Ignored by ``edgelist`` and ``karate``, whose
            size comes from the data. Default 10,000: large enough for stable
            decile statistics, small enough to run a year in about a second.
        n_topics: Number of expertise topics K (count). Default 20, so a random
            contact shares a given topic about 5% of the time and most needs must
            travel beyond the seeker's own circle.
        topic_zipf: Exponent of the Zipf law of topic popularity (dimensionless);
            0 makes all topics equally common. Default 1.0 (Zipf's law, the usual
            shape of occupational and expertise frequencies), which makes some
            expertise rare.
        topic_homophily: Probability that a person's topic is drawn from their
            community's few home topics rather than from the population mix
            (probability). Default 0.6: people in one community share topics more
            often than chance (McPherson et al. 2001, "Birds of a feather").
        home_topics: Number of home topics per community (count). Default 3.
        budget_mean: Mean attention budget: contacts' posts a person takes in per
            day (posts/day). Default 5, in line with the few close contacts people
            actively follow (Dunbar's innermost layer of about 5).
        budget_sigma: Log-normal spread of the budget across people (log units).
            Default 0.5.
        budget_audience_exponent: Budget scales with audience**exponent
            (dimensionless); 0 makes budget independent of audience. Default 0.
        agents: Create Mesa ``Person`` agents for everybody at start-up: ``auto``
            does so up to 50,000 people; larger models make views on demand.
    """

    n: int = 10_000
    n_topics: int = 20
    topic_zipf: float = 1.0
    topic_homophily: float = 0.6
    home_topics: int = 3
    budget_mean: float = 5.0
    budget_sigma: float = 0.5
    budget_audience_exponent: float = 0.0
    agents: str = "auto"


@dataclass
class NetworkConfig:
    """The social network and how it is generated.

    Parameters that a generator does not use are ignored by it.

    Attributes:
        name: Generator, one of :data:`NETWORKS` (the names registered with
            :func:`sim.network.generator`).
        mean_degree: Target mean audience (ties per person). Default 10, the
            order of active ties per user in online social networks.
        degree_exponent: Power-law exponent of the audience distribution for
            ``default`` and ``configuration`` (dimensionless, > 2). Default 2.5,
            typical of online social networks (Barabási 2016, ch. 4).
        max_degree: Largest audience allowed; 0 means sqrt(n * mean_degree)
            (the structural cut-off of an uncorrelated network).
        community_size: Mean community size for ``default`` (people). Default
            100, the scale of Dunbar's number (about 150).
        mixing: Share of each person's ties that leave their community, for
            ``default`` (probability). Default 0.2.
        rewire_prob: Rewiring probability of ``watts_strogatz``. Default 0.1
            (small-world regime of Watts and Strogatz 1998).
        triad_prob: Triad-formation probability of ``holme_kim``. Default 0.5
            (Holme and Kim 2002).
        path: Edge-list file for ``edgelist``: SNAP format (one ``u v`` pair per
            line, ``#`` comments) or a table with a header line (CSV or blank
            separated) whose columns are chosen by name.
        directed: Ties say who follows whom (``default``, ``directed``,
            ``edgelist``): a row ``u v`` of an edge list means ``u`` follows ``v``
            (``u``'s attention goes to ``v``; ``u`` is in ``v``'s audience).
            Default false (every tie reciprocated). ``directed`` is always directed.
        reciprocity: Share of follows that are followed back, for ``default``
            with ``directed=true`` and ``directed`` (probability). Default 0.22,
            the share of reciprocated follower pairs on Twitter (Kwak et al. 2010).
        source: Column of the follower / first endpoint in a table edge list
            (header name; "" = the first column).
        target: Column of the followed / second endpoint ("" = the second column).
        weight_column: Column holding a per-row number ("" = none): a rating for
            ``weight_as=trust``, a number of contacts for ``weight_as=contacts``.
        weight_as: What the rows say about a tie, one of :data:`WEIGHT_KINDS`:
            ``none``; ``trust`` (signed rating of source in target, divided by
            ``trust_scale``, into ``trust_uv`` / ``trust_vu``); ``contacts`` (each row
            is a contact, or ``weight_column`` contacts; contacts per pair give the
            measured tie strength ``weight``, their empirical CDF). Default ``none``.
        trust_scale: Rating that means full trust (rating units, >= 0); 0 = the
            largest absolute rating in the file (10 for bitcoin-otc).
    """

    name: str = "default"
    mean_degree: float = 10.0
    degree_exponent: float = 2.5
    max_degree: int = 0
    community_size: int = 100
    mixing: float = 0.2
    rewire_prob: float = 0.1
    triad_prob: float = 0.5
    path: str = ""
    directed: bool = False
    reciprocity: float = 0.22
    source: str = ""
    target: str = ""
    weight_column: str = ""
    weight_as: str = "none"
    trust_scale: float = 0.0


@dataclass
class TiesConfig:
    """Tie strength, its classes and its evolution.

    Initial strength is ``w = sigmoid(strength_base + strength_embeddedness * O
    + strength_community * (inside - p_inside) + strength_noise * N(0, 1))`` with
    ``O`` the neighbourhood overlap of the tie (Onnela et al. 2007), ``inside`` 1
    for a tie within a community and ``p_inside`` the share of such ties, clipped
    to ``[min_strength, 1]``; a measured strength (``RawGraph.weight``) replaces it.

    Attributes:
        strength_base: Logit of the strength of a tie with no common contacts.
            Default -2.0 (strength 0.12: most ties are weak).
        strength_embeddedness: Logit increase per unit of overlap. Default 6.0,
            so a tie sharing half its contacts is strong (about 0.73), as
            strength and overlap rise together in phone networks (Onnela 2007).
        strength_community: Logit gap between ties inside a community and
            bridges between communities, centred so the mean logit is unchanged.
            Default 1.5 (assumption: strong ties sit inside communities, weak ties
            bridge them, Granovetter 1973, Onnela et al. 2007; sensitivity in
            docs/model.md).
        strength_noise: Standard deviation of the logit noise. Default 1.0.
        min_strength: Lowest initial strength (strength units, in (0, 1], at
            least ``floor`` so that decay never raises a tie). Default 0.05.
        weak_below: Ties weaker than this are *weak*. Default 0.2.
        strong_above: Ties at least this strong are *strong*. Default 0.5.
        decay_per_day: Daily relative decay of strength toward ``floor``
            (1/day). Default 0.002 (half-life of about a year).
        floor: Strength that unused ties decay toward. Default 0.05.
        closure_gain: A closure moves the seeker-provider tie this share of the
            way to 1 (a new tie starts at ``new_tie_strength``). Default 0.3.
        broker_gain: A referral moves the broker's ties to seeker's side and to
            the provider this share of the way to 1. Default 0.1.
        new_tie_strength: Strength of a tie created by a closure or a meetup.
            Default 0.3.
    """

    strength_base: float = -2.0
    strength_embeddedness: float = 6.0
    strength_community: float = 1.5
    strength_noise: float = 1.0
    min_strength: float = 0.05
    weak_below: float = 0.2
    strong_above: float = 0.5
    decay_per_day: float = 0.002
    floor: float = 0.05
    closure_gain: float = 0.3
    broker_gain: float = 0.1
    new_tie_strength: float = 0.3


@dataclass
class NeedsConfig:
    """Needs: how often they arise, what they are worth, how long they live.

    Attributes:
        rate: Daily probability that a person posts a need (1/day). Default
            0.002, about one need per person every 500 days (16 months).
        lifetime_days: Days a need stays open before it expires (days). Default 7.
        value_log_mean: Mean of log value (log units). Default 0.
        value_log_sd: Standard deviation of log value (log units). Default 1.0,
            a heavy tail: the top 10% of needs carry about 40% of the value.
        value_grows_with_rarity: Multiply value by ``(share_mean / share_t) **
            rarity_exponent`` where ``share_t`` is the population share of the
            need's topic. Default true.
        rarity_exponent: Exponent of that multiplier. Default 0.5.
        seeker_reposts: The seeker shows their need again every day of its
            life (contacts who missed it may see it later); false: once, on the
            day posted. Default false: a post gets nearly all its attention on
            its first day (Kwak et al. 2010; Wu and Huberman 2007), and the
            essay's seeker asked once (docs/model.md §7.16).
    """

    rate: float = 0.002
    lifetime_days: int = 7
    value_log_mean: float = 0.0
    value_log_sd: float = 1.0
    value_grows_with_rarity: bool = True
    rarity_exponent: float = 0.5
    seeker_reposts: bool = False


@dataclass
class ResponseConfig:
    """What a person does with a need they see.

    Attributes:
        hop_limit: Most ties a need may cross from its seeker (count, >= 1).
            Default 4, past which introductions rarely work (Dodds et al. 2003
            found completed small-world chains of about 4 steps).
        pass_base: Probability of passing a need on when it came over the
            weakest tie (probability). Default 0.1.
        pass_strength: Added probability per unit of the incoming tie's
            strength. Default 0.4 (a need from a strong tie is passed on with
            probability up to 0.5).
        know_scale: Chance of knowing a contact's expertise per unit of tie
            strength (dimensionless). Default 1.0.
        know: How a viewer knows their contacts' expertise (docs/model.md
            §"Contested rules"): ``all``, every contact with probability
            ``min(1, know_scale * w)``; ``attention``, attention-limited like
            seeing, ``min(1, know_scale * budget_j * w / W_j)`` with ``W_j``
            the summed strength of the ties ``j`` follows.
        referrals: Allow referrals at all. Default true.
    """

    hop_limit: int = 4
    pass_base: float = 0.1
    pass_strength: float = 0.4
    know_scale: float = 1.0
    know: str = "attention"
    referrals: bool = True


@dataclass
class TrustConfig:
    """Trust and referral quality (docs/model.md §"Trust and credibility").

    With ``enabled``, a referral's introduction becomes an engagement with
    probability ``credibility_b * tau_sb ** exponent`` (``tau_sb``: trust of the
    person the broker got the need from in the broker) and the engagement
    works with probability ``tau_bp ** exponent`` (the broker's trust in the
    provider); realised value is the need's value if it worked, else 0. A
    tie's trust is its rated trust when rated (``RawGraph.trust_uv``/``trust_vu``,
    clipped at 0), else its strength. A negative rating is distrust: no offer
    and no referral crosses that tie. Credibility is a Beta track record,
    ``(prior_credibility * prior_weight + worked) / (prior_weight + worked +
    failed)`` over the broker's accepted engagements. Direct closures are
    always engagements that work (no broker).

    Attributes:
        enabled: Switch the rule on (design brief, ../shared/DESIGN.md §3.3: an introduction becomes
            an engagement only if the people involved trust each other enough);
            false is the old rule (every referral closes with its full value).
            Default true.
        exponent: How sharply trust gates acceptance and success
            (dimensionless, >= 0; 0: trust plays no part). Default 0.5
            (assumption; sensitivity in docs/model.md).
        prior_credibility: Credibility of a broker without a track record
            (probability). Default 0.8 (assumption).
        prior_weight: Weight of that prior in engagements (count, > 0).
            Default 5 (assumption).
        use_ratings: Use rated trust where the network has it. Default true.
    """

    enabled: bool = True
    exponent: float = 0.5
    prior_credibility: float = 0.8
    prior_weight: float = 5.0
    use_ratings: bool = True


@dataclass
class MeetupConfig:
    """Offline meetups that turn acquaintances into stronger ties.

    Attributes:
        rate: Daily probability that a community holds a meetup (1/day).
            Default 1/30, monthly, as the essay's North Jersey tweetup.
        attend_prob: Probability that a member attends (probability). Default 0.1.
        gain: Existing ties among attendees move this share of the way to 1.
            Default 0.2.
        new_tie_prob: Probability that two untied attendees form a tie.
            Default 0.05.
        max_attendees: Largest meetup (people). Default 30.
    """

    rate: float = 1 / 30
    attend_prob: float = 0.1
    gain: float = 0.2
    new_tie_prob: float = 0.05
    max_attendees: int = 30


@dataclass
class MeasureConfig:
    """How results are classified and credited.

    Attributes:
        large_fraction: Top share of people by audience called *large*.
            Default 0.1.
        valuable_quantile: A need is valuable if its value is at or above this
            quantile of the base value distribution (fixed across runs).
            Default 0.9.
        credit: ``broker`` credits the person who made each referral; ``chain``
            spreads one unit over everyone who carried or referred the need.
    """

    large_fraction: float = 0.1
    valuable_quantile: float = 0.9
    credit: str = "broker"


@dataclass
class CascadeConfig:
    """Cascade mode: the model reduced to the independent-cascade model.

    Attributes:
        transmissibility: Probability T that a tie passes the need (probability).
        n_cascades: Cascades to run, each from one random person (count).
    """

    transmissibility: float = 0.3
    n_cascades: int = 200


@dataclass
class KnockoutConfig:
    """Counterfactual influence: remove some people and rerun on the same seed.

    Removed people keep their place in every table but lose all their ties and
    post no needs; all random streams stay the same (common random numbers),
    so the drop in valuable closures against ``target: none`` on the same seed
    measures what the removed people contributed.

    Attributes:
        target: ``none``; ``large``: the ``k`` people with the largest
            audiences; ``small_random``: ``k`` random small people;
            ``small_audience``: random small people until their summed audience
            reaches that of the ``k`` largest.
        k: Number of large people the comparison is built on (count).
    """

    target: str = "none"
    k: int = 10


@dataclass
class Config:
    """A whole run.

    Attributes:
        seed: Root seed of all random streams.
        days: Days measured (days, >= 1). Default 365.
        warmup_days: Days simulated before measurement starts (days, >= 0):
            ties, credibility and needs evolve, but needs posted then and the
            days themselves are left out of every table and metric. Default
            730: at the default settings, over the measured year that follows,
            mean tie strength drifts by less than 0.003 a quarter and the
            weak-tie share of referrals by less than 0.01 a quarter
            (docs/model.md §"Steady state").
        mode: ``referral`` (the full model) or ``cascade``.
    """

    seed: int = 0
    days: int = 365
    warmup_days: int = 730
    mode: str = "referral"
    people: PeopleConfig = field(default_factory=PeopleConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    ties: TiesConfig = field(default_factory=TiesConfig)
    needs: NeedsConfig = field(default_factory=NeedsConfig)
    response: ResponseConfig = field(default_factory=ResponseConfig)
    trust: TrustConfig = field(default_factory=TrustConfig)
    meetups: MeetupConfig = field(default_factory=MeetupConfig)
    measures: MeasureConfig = field(default_factory=MeasureConfig)
    cascade: CascadeConfig = field(default_factory=CascadeConfig)
    knockout: KnockoutConfig = field(default_factory=KnockoutConfig)


# --- validation -----------------------------------------------------------------

_PROB = (0.0, 1.0)
# key -> (low, high, inclusive-low, inclusive-high); None means unbounded. Upper bounds
# keep the arithmetic finite (see docs/model.md, parameter table, for their meaning).
_RANGES: dict[str, tuple[float | None, float | None, bool, bool]] = {
    "seed": (0, None, True, True),
    "days": (1, None, True, True),
    "warmup_days": (0, None, True, True),
    "trust.exponent": (0, 10, True, True),
    "trust.prior_credibility": (*_PROB, True, True),
    "trust.prior_weight": (0, None, False, True),
    "people.n": (2, None, True, True),
    "people.n_topics": (1, None, True, True),
    "people.topic_zipf": (0, 10, True, True),
    "people.topic_homophily": (*_PROB, True, True),
    "people.home_topics": (1, None, True, True),
    "people.budget_mean": (0, None, False, True),
    "people.budget_sigma": (0, 3, True, True),
    "network.mean_degree": (0, None, False, True),
    "network.degree_exponent": (2, None, False, True),
    "network.max_degree": (0, None, True, True),
    "network.community_size": (2, None, True, True),
    "network.mixing": (*_PROB, True, True),
    "network.rewire_prob": (*_PROB, True, True),
    "network.triad_prob": (*_PROB, True, True),
    "network.reciprocity": (*_PROB, True, True),
    "network.trust_scale": (0, None, True, True),
    "ties.strength_noise": (0, None, True, True),
    "ties.min_strength": (0, 1, False, True),
    "ties.weak_below": (0, 1, False, True),
    "ties.strong_above": (0, 1, False, True),
    "ties.decay_per_day": (*_PROB, True, True),
    "ties.floor": (0, 1, False, True),
    "ties.closure_gain": (*_PROB, True, True),
    "ties.broker_gain": (*_PROB, True, True),
    "ties.new_tie_strength": (0, 1, False, True),
    "needs.rate": (*_PROB, True, True),
    "needs.lifetime_days": (1, 36_500, True, True),  # a century: day numbers stay int32
    "needs.value_log_sd": (0, 10, True, True),
    "needs.rarity_exponent": (0, None, True, True),
    "response.hop_limit": (1, None, True, True),
    "response.pass_base": (*_PROB, True, True),
    "response.pass_strength": (*_PROB, True, True),
    "response.know_scale": (0, None, True, True),
    "meetups.rate": (*_PROB, True, True),
    "meetups.attend_prob": (*_PROB, True, True),
    "meetups.gain": (*_PROB, True, True),
    "meetups.new_tie_prob": (*_PROB, True, True),
    "meetups.max_attendees": (2, None, True, True),
    "measures.large_fraction": (0, 1, False, False),
    "measures.valuable_quantile": (0, 1, False, False),
    "cascade.transmissibility": (*_PROB, True, True),
    "cascade.n_cascades": (1, None, True, True),
    "knockout.k": (0, None, True, True),
}
_CHOICES: dict[str, tuple[str, ...]] = {
    "mode": MODES,
    "measures.credit": CREDIT_RULES,
    "response.know": ("all", "attention"),
    "people.agents": ("auto", "all", "lazy"),
    "knockout.target": KNOCKOUT_TARGETS,
    "network.weight_as": WEIGHT_KINDS,
}

#: Memory a run needs, by what it holds (bytes). Measured: 1,000,000 people with 10
#: ties each peak at 1.4 GB over a year (BENCHMARKS.md), i.e. about 400 bytes a person
#: and 200 a tie; a cascade keeps about 48 bytes (its source, reach, depth, checks).
BYTES_PER_PERSON = 400
BYTES_PER_TIE = 200
BYTES_PER_CASCADE = 48


def _network_names() -> tuple[str, ...]:
    """Registered network generators (``sim.network``'s registry, imported on demand)."""
    from sim.network import generator_names  # sim.network imports this module

    return generator_names()


def __getattr__(name: str) -> Any:
    # ``NETWORKS`` is read from the generator registry of sim.network when asked for.
    if name == "NETWORKS":
        return _network_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def machine_memory() -> int:
    """Physical memory of this machine (bytes); 0 when the system does not say."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # not POSIX
        return 0


def memory_estimate(config: Config) -> int:
    """Bytes a run of ``config`` needs at its peak, roughly (see :data:`BYTES_PER_PERSON`)."""
    n = config.people.n
    ties = min(n * config.network.mean_degree / 2, n * (n - 1) / 2)
    total = n * BYTES_PER_PERSON + ties * BYTES_PER_TIE
    if config.mode == "cascade":
        total += config.cascade.n_cascades * BYTES_PER_CASCADE
    return int(total)


def _gb(n_bytes: float) -> str:
    return f"{n_bytes / 1e9:,.1f} GB" if n_bytes < 1e11 else f"{n_bytes / 1e9:,.0f} GB"


def _check_memory(config: Config, memory: int) -> None:
    """Refuse sizes that cannot fit in ``memory`` bytes, with the estimate."""
    if memory <= 0:
        return
    synthetic = config.network.name not in ("edgelist", "karate")
    people = config.people.n if synthetic else 0
    ties = min(people * config.network.mean_degree / 2, people * (people - 1) / 2)
    network = people * BYTES_PER_PERSON + ties * BYTES_PER_TIE
    if network > memory:
        per_person = BYTES_PER_PERSON + min(config.network.mean_degree / 2,
                                            people / 2) * BYTES_PER_TIE
        raise ConfigError("people.n", f"{people:,} people (mean audience "
                          f"{config.network.mean_degree:g}) need about {_gb(network)} of memory "
                          f"(estimate); this machine has {_gb(memory)}: at most about "
                          f"{int(memory / per_person):,} people")
    if config.mode == "cascade":
        cascades = config.cascade.n_cascades * BYTES_PER_CASCADE
        if network + cascades > memory:
            room = int(max(0, memory - network) // BYTES_PER_CASCADE)
            raise ConfigError("cascade.n_cascades", f"{config.cascade.n_cascades:,} cascades "
                              f"need about {_gb(cascades)} of memory (estimate) besides the "
                              f"network; this machine has {_gb(memory)}: at most about "
                              f"{room:,} cascades")


def _describe_range(low: float | None, high: float | None, inc_low: bool, inc_high: bool) -> str:
    if high is None:
        return f"a number {'>=' if inc_low else '>'} {low:g}"
    left = "[" if inc_low else "("
    right = "]" if inc_high else ")"
    return f"a number in {left}{low:g}, {high:g}{right}"


def _check_type(key: str, value: Any, expected: Any) -> Any:
    """Return ``value`` as a plain Python ``expected`` or raise ConfigError.

    What the command line accepts, and nothing else: numbers of any numeric
    type (numpy scalars included) for numbers, but never bools; whole numbers
    (not ``5.0``) for integer keys; ``true``/``false`` for booleans; text or a
    path (``pathlib.Path``) for strings.
    """
    if get_origin(expected) is not None:  # e.g. Optional[...]
        expected = next(a for a in get_args(expected) if a is not type(None))
    if expected is bool:
        if isinstance(value, bool | _np_bool()):
            return bool(value)
        raise ConfigError(key, f"must be true or false, got {value!r}")
    is_bool = isinstance(value, bool | _np_bool())
    if expected is int:
        if is_bool or not isinstance(value, numbers.Integral):
            raise ConfigError(key, f"must be a whole number, got {value!r}")
        return int(value)
    if expected is float:
        if is_bool or not isinstance(value, numbers.Real):
            raise ConfigError(key, f"must be a number, got {value!r}")
        if not math.isfinite(float(value)):
            raise ConfigError(key, f"must be a finite number, got {value!r}")
        return float(value)
    if expected is str:
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        if not isinstance(value, str):
            raise ConfigError(key, f"must be a string, got {value!r}")
        return value
    return value


def _np_bool() -> type:
    try:
        import numpy as np
    except ImportError:  # pragma: no cover  (numpy is a dependency)
        return bool
    return np.bool_



@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    """``typing.get_type_hints`` of a config section, once per class.

    Evaluating the annotations (strings, under ``from __future__ import
    annotations``) is most of what a check costs: a 10,000-run sweep checks
    every run's config before it starts.
    """
    return get_type_hints(cls)

def from_dict(data: Mapping[str, Any], cls: type = Config, prefix: str = "") -> Any:
    """Build a config dataclass from nested mappings, rejecting unknown keys and wrong types.

    Args:
        data: Nested mapping, e.g. from ``OmegaConf.to_container``, JSON or YAML.
        cls: Dataclass to build (default :class:`Config`).
        prefix: Dotted prefix for error messages.

    Returns:
        An instance of ``cls`` (not yet range-checked: call :func:`validate`).

    Raises:
        ConfigError: Unknown key or wrong type.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(prefix.rstrip(".") or "config", f"must be a mapping, got {data!r}")
    hints = _type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if key not in names:
            raise ConfigError(dotted, f"unknown key (allowed: {', '.join(names)})")
        expected = hints[key]
        if dataclasses.is_dataclass(expected):
            if isinstance(value, expected):
                value = dataclasses.asdict(value)
            kwargs[key] = from_dict(value, expected, f"{dotted}.")
        else:
            kwargs[key] = _check_type(dotted, value, expected)
    return cls(**kwargs)


def to_dict(config: Config) -> dict[str, Any]:
    """Return the config as nested plain dicts (for JSON and tables)."""
    return dataclasses.asdict(config)


def flatten(config: Config) -> dict[str, Any]:
    """Return ``{"people.n": 10000, ...}``: every leaf under its dotted key."""
    out: dict[str, Any] = {}

    def walk(node: dict[str, Any], prefix: str) -> None:
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value, f"{prefix}{key}.")
            else:
                out[f"{prefix}{key}"] = value

    walk(to_dict(config), "")
    return out


def _normalise(node: Any, cls: type, prefix: str) -> Any:
    """Check every value of ``node`` (a ``cls`` or a mapping) and make it plain Python.

    Sections given as mappings become dataclasses; numpy scalars and paths
    become Python numbers and strings, in place, so a checked config holds
    exactly what a config composed on the command line holds.
    """
    if isinstance(node, Mapping):
        return from_dict(node, cls, prefix)
    if not isinstance(node, cls):
        raise ConfigError(prefix.rstrip(".") or "config",
                          f"must be a {cls.__name__} or a mapping, got {node!r}")
    hints = _type_hints(cls)
    for f in dataclasses.fields(node):
        key = f"{prefix}{f.name}"
        value = getattr(node, f.name)
        expected = hints[f.name]
        if dataclasses.is_dataclass(expected):
            checked = _normalise(value, expected, f"{key}.")
        else:
            checked = _check_type(key, value, expected)
        if checked is not value:
            setattr(node, f.name, checked)
    return node


def _check_ranges(config: Config) -> None:
    choices = {**_CHOICES, "network.name": _network_names()}
    for key, value in flatten(config).items():
        if key in choices and value not in choices[key]:
            raise ConfigError(key, f"must be one of {', '.join(choices[key])}; got {value!r}")
        if key in _RANGES:
            low, high, inc_low, inc_high = _RANGES[key]
            ok = (low is None or (value >= low if inc_low else value > low)) and (
                high is None or (value <= high if inc_high else value < high)
            )
            if not ok:
                allowed = _describe_range(low, high, inc_low, inc_high)
                raise ConfigError(key, f"must be {allowed}; got {value!r}")


def check_value(key: str, value: Any) -> Any:
    """Check one top-level value on its own, as :func:`validate` checks it: type and range.

    For a key that no cross-check of :func:`validate` reads (``seed``): a sweep
    over thousands of seeds validates one whole config and then only each seed.

    Returns:
        The value as a plain Python value of the key's type.

    Raises:
        ConfigError: A wrong type or a value out of range, naming ``key``.
    """
    value = _check_type(key, value, _type_hints(Config)[key])
    if key in _RANGES:
        low, high, inc_low, inc_high = _RANGES[key]
        ok = (low is None or (value >= low if inc_low else value > low)) and (
            high is None or (value <= high if inc_high else value < high)
        )
        if not ok:
            raise ConfigError(key, f"must be {_describe_range(low, high, inc_low, inc_high)}; "
                              f"got {value!r}")
    return value


def validate(config: Config | Mapping[str, Any], memory: int | None = None) -> Config:
    """Check a whole config before anything runs: the one check of every entry point.

    The command line (after Hydra composed the config), the Python API
    (:func:`sim.run.run`, :class:`sim.model.ReferralModel`) and the apps all
    call this, so they accept and refuse exactly the same values: numbers of
    any numeric type (numpy scalars included, never bools; whole numbers for
    integer keys), ``pathlib.Path`` for paths, a mapping for a section; ranges,
    choices and cross-checks; sizes that fit in the machine's memory.

    Args:
        config: A :class:`Config` (normalised in place: numpy scalars become
            Python numbers, paths strings, mappings sections) or a nested
            mapping.
        memory: Memory to fit in (bytes); default this machine's
            (:func:`machine_memory`).

    Returns:
        The checked config (``config`` itself when a :class:`Config` was given).

    Raises:
        ConfigError: Naming the first offending key and what is allowed.
    """
    config = _normalise(config, Config, "")
    _check_ranges(config)
    if config.ties.weak_below > config.ties.strong_above:
        raise ConfigError(
            "ties.weak_below",
            f"must not exceed ties.strong_above ({config.ties.strong_above:g}); "
            f"got {config.ties.weak_below:g}",
        )
    if config.ties.min_strength < config.ties.floor:
        raise ConfigError(
            "ties.min_strength",
            f"must be at least ties.floor ({config.ties.floor:g}); "
            f"got {config.ties.min_strength:g}",
        )
    if config.network.name == "edgelist" and not config.network.path:
        raise ConfigError("network.path", "required with network=edgelist (an edge-list file)")
    if config.network.directed and config.network.name not in DIRECTED_NETWORKS:
        raise ConfigError("network.directed", f"true needs network.name one of "
                          f"{', '.join(DIRECTED_NETWORKS)}; got {config.network.name!r}")
    if config.network.weight_as == "trust" and not config.network.weight_column:
        raise ConfigError("network.weight_column",
                          "required with network.weight_as=trust (the column of ratings)")
    if config.network.name not in ("edgelist", "karate"):
        check_population(config, config.people.n)
    _check_memory(config, machine_memory() if memory is None else memory)
    return config


def check_population(config: Config, n: int) -> None:
    """Checks that need the number of people ``n`` (known after reading an edge list).

    ``knockout.k`` counts large people (the comparison is built on the ``k``
    largest), so it can be at most the number of large people,
    ``ceil(measures.large_fraction * n)``.

    Raises:
        ConfigError: ``knockout.k`` out of range for ``n`` people.
    """
    if config.knockout.target == "none":
        return
    from sim.measures import n_large_for

    n_large = n_large_for(n, config.measures.large_fraction)
    if config.knockout.k > n_large:
        raise ConfigError("knockout.k", f"must be a whole number in [0, {n_large}] (the large "
                          f"people among {n:,}: measures.large_fraction "
                          f"{config.measures.large_fraction:g}); got {config.knockout.k}")


def with_values(config: Config, values: Mapping[str, Any]) -> Config:
    """A validated copy of ``config`` with some values set by dotted key.

    Args:
        config: The base configuration (not changed).
        values: Dotted keys and values, e.g. ``{"seed": 3, "trust.exponent": 0.7}``;
            a whole number given for a float parameter is taken as that float.

    Returns:
        A new, validated :class:`Config`.

    Raises:
        ConfigError: An unknown key, a wrong type or a value out of range, naming the key.
    """
    flat = flatten(config)
    for key, value in values.items():
        if key not in flat:
            raise ConfigError(key, "unknown config key")
        if isinstance(flat[key], float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        flat[key] = value
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        node = nested
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return validate(from_dict(nested))
