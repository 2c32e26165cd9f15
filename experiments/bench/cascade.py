"""Cascade mode against EoN and NDlib: one graph, one model, three implementations.

With attention fixed at ``T`` per tie and everyone passing a need on, the
model's daily kernel is the independent-cascade model (bond percolation), the
same model as EoN's ``basic_discrete_SIR`` (each infected node transmits to
each susceptible neighbour once with probability ``p``, one step per round)
and NDlib's ``IndependentCascadesModel`` (edge ``threshold`` = ``T``).

All tools run on the same Erdős–Rényi graph, built once by
:func:`sim.network.generate` and converted to networkx for the peers (not
timed). *Edge checks* are counted the same way for every tool: the summed
audience (degree) of the people a cascade reached, since each of them looks at
each of their ties once. The reach distributions of the tools are compared
with two-sample tests: they are independent implementations of one model, so
they should agree.
"""

from __future__ import annotations

import itertools
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
from scipy import stats

from sim import kernels
from sim.config import CascadeConfig, Config, NetworkConfig, PeopleConfig
from sim.measures import bootstrap_ci
from sim.model import ReferralModel
from sim.network import RawGraph, generate
from sim.percolation import erdos_renyi_giant_fraction
from sim.rng import stream

#: Display names of the implementations, in table order.
TOOLS: dict[str, str] = {
    "ours": "cascade mode (model kernel spread_day)",
    "bfs": "cascade_batch (plain BFS reference)",
    "eon": "EoN basic_discrete_SIR",
    "ndlib": "NDlib IndependentCascadesModel",
}

Say = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


# --- the graph ---------------------------------------------------------------------------


def er_graph(n: int, mean_degree: float, seed: int) -> RawGraph:
    """The benchmark's Erdős–Rényi graph (the model's own generator)."""
    return generate(NetworkConfig(name="erdos_renyi", mean_degree=mean_degree), n,
                    stream(seed, "network"))


def cascade_model(raw: RawGraph, transmissibility: float, seed: int) -> ReferralModel:
    """A cascade-mode model on ``raw``: the arrays ``sim.run`` passes to the kernel."""
    cfg = Config(seed=seed, mode="cascade", people=PeopleConfig(n=raw.n),
                 network=NetworkConfig(name="erdos_renyi"),
                 cascade=CascadeConfig(transmissibility=transmissibility))
    return ReferralModel(cfg, graph=raw)


class CountingGraph(nx.Graph):
    """A networkx graph that counts edge checks: the degree of every node whose ties are listed.

    EoN's ``discrete_SIR`` lists the neighbours of each infected node exactly
    once, so ``checks`` after a cascade is the summed degree of the nodes it
    reached. The count costs one addition per reached node.
    """

    checks: int = 0

    def neighbors(self, n: Any) -> Any:  # noqa: D102  (networkx's own docstring applies)
        adj = self._adj[n]
        self.checks += len(adj)
        return iter(adj)


def to_networkx(raw: RawGraph, cls: type[nx.Graph] = CountingGraph) -> nx.Graph:
    """The graph as networkx (nodes ``0..n-1`` in order), for the peers."""
    g = cls()
    g.add_nodes_from(range(raw.n))
    g.add_edges_from(zip(raw.u.tolist(), raw.v.tolist(), strict=True))
    return g


def edge_checks(degrees: np.ndarray, reached: np.ndarray) -> int:
    """Edge checks of one cascade: the summed degree of the people it reached.

    Args:
        degrees: Degree of every person.
        reached: Boolean mask over people, or an array of person ids.
    """
    reached = np.asarray(reached)
    return int(np.asarray(degrees, np.int64)[reached].sum())


# --- the implementations -------------------------------------------------------------------


@dataclass
class Sample:
    """Cascades of one implementation.

    Attributes:
        tool: Key of :data:`TOOLS`.
        reach: People reached by each cascade (source included).
        checks: Edge checks of each cascade.
        seconds: Wall time of each timed unit: one per repeat for batched tools
            (``per_unit`` cascades each), one per cascade for the peers.
        cpu_seconds: CPU time of this thread for each timed unit (less sensitive
            than wall time to other work on a shared machine).
        per_unit: Cascades per timed unit.
        config_seconds: NDlib only: wall time of each model configuration.
    """

    tool: str
    reach: np.ndarray
    checks: np.ndarray
    seconds: list[float]
    cpu_seconds: list[float]
    per_unit: int = 1
    config_seconds: list[float] = field(default_factory=list)

    @property
    def n(self) -> int:
        """Number of cascades."""
        return int(self.reach.size)

    @property
    def total_seconds(self) -> float:
        """Total timed wall time."""
        return float(np.sum(self.seconds))

    @property
    def per_cascade(self) -> float:
        """Mean seconds per cascade."""
        return self.total_seconds / max(self.n, 1)

    @property
    def cpu_per_cascade(self) -> float:
        """Mean CPU seconds per cascade."""
        return float(np.sum(self.cpu_seconds)) / max(self.n, 1)

    @property
    def checks_per_second(self) -> float:
        """Edge checks per second over all timed cascades."""
        return float(self.checks.sum()) / self.total_seconds if self.total_seconds else math.nan


def run_ours(model: ReferralModel, sources: np.ndarray, rng: np.random.Generator,
             batches: int = 20) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Cascades through the model's own kernel, batched as ``sim.run`` batches them.

    Returns:
        ``(reach, edge_checks, wall seconds, CPU seconds)``.
    """
    w = model.world
    t = w.ties
    tr = model.config.cascade.transmissibility
    parts = np.array_split(np.asarray(sources, np.int64), max(1, min(len(sources), batches)))
    reach, checks = [], []
    t0 = time.perf_counter()
    c0 = time.thread_time()
    for batch in parts:
        r, _, c = kernels.cascade_spread(batch, tuple(t.arrays()), tr, rng, rng)
        reach.append(r)
        checks.append(c)
    cpu = time.thread_time() - c0
    seconds = time.perf_counter() - t0
    return np.concatenate(reach), np.concatenate(checks), seconds, cpu


def run_bfs(model: ReferralModel, sources: np.ndarray,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Cascades through ``kernels.cascade_batch``, the plain BFS reference (as :func:`run_ours`)."""
    t = model.world.ties
    tr = model.config.cascade.transmissibility
    t0 = time.perf_counter()
    c0 = time.thread_time()
    r, _, c = kernels.cascade_batch(np.asarray(sources, np.int64), t.row_start, t.row_len, t.nbr,
                                    tr, rng)
    cpu = time.thread_time() - c0
    return r, c, time.perf_counter() - t0, cpu


def _timed_loop(sources: np.ndarray, budget_s: float, min_count: int,
                one: Callable[[int], int], checks_of: Callable[[int, int], int], say: Say,
                tool: str) -> tuple[np.ndarray, np.ndarray, list[float], list[float]]:
    """Time ``one(source)`` (its reach) for successive sources until ``budget_s`` is spent.

    ``checks_of(source, reach)`` counts the cascade's edge checks afterwards, untimed.
    """
    reach, checks, secs, cpus = [], [], [], []
    spent = 0.0
    last_said = time.monotonic()
    for src in sources:
        if len(secs) >= min_count and spent >= budget_s:
            break
        t0 = time.perf_counter()
        c0 = time.thread_time()
        r = one(int(src))
        cpus.append(time.thread_time() - c0)
        el = time.perf_counter() - t0
        secs.append(el)
        spent += el
        reach.append(r)
        checks.append(checks_of(int(src), r))
        if time.monotonic() - last_said > 15:
            say(f"  {tool}: {len(secs)} cascades, {spent:.0f} s")
            last_said = time.monotonic()
    return np.asarray(reach, np.int64), np.asarray(checks, np.int64), secs, cpus


def run_eon(g: CountingGraph, sources: np.ndarray, transmissibility: float, seed: int,
            budget_s: float, min_count: int = 3, say: Say = _quiet) -> Sample:
    """EoN ``basic_discrete_SIR`` cascades, one per source, until ``budget_s`` is used.

    Each call is timed alone; reach is ``N - S`` at the end, edge checks come
    from :class:`CountingGraph`.
    """
    import EoN

    rng = np.random.default_rng(seed)
    n = g.number_of_nodes()

    def one(src: int) -> int:
        g.checks = 0
        _, s, i, _ = EoN.basic_discrete_SIR(g, transmissibility, initial_infecteds=src, rng=rng)
        assert i[-1] == 0
        return n - int(s[-1])

    reach, checks, secs, cpus = _timed_loop(sources, budget_s, min_count, one,
                                            lambda src, r: g.checks, say, "EoN")
    return Sample("eon", reach, checks, secs, cpus)


def ndlib_model(g: nx.Graph, transmissibility: float, source: int, seed: int) -> Any:
    """A configured NDlib ``IndependentCascadesModel``: threshold ``T`` on every edge, one seed."""
    import ndlib.models.epidemics as ep
    from ndlib.models.ModelConfig import Configuration

    model = ep.IndependentCascadesModel(g, seed=seed)
    config = Configuration()
    for e in g.edges():
        config.add_edge_configuration("threshold", e, transmissibility)
    config.add_model_initial_configuration("Infected", [source])
    model.set_initial_status(config)
    configured = len(model.params["edges"].get("threshold", {}))
    if configured != g.number_of_edges():  # NDlib silently falls back to 1/degree
        raise RuntimeError(f"NDlib took {configured} of {g.number_of_edges()} edge thresholds")
    return model


def ndlib_cascade(model: Any, source: int) -> int:
    """Run one NDlib cascade from ``source`` until nobody is infected; return its reach.

    The model is reset to one infected ``source``; iterations run until no node
    is infected (after that nothing can change). Reach = removed + infected.
    """
    model.reset(infected_nodes=[source])
    while True:
        it = model.iteration(node_status=False)
        count = it["node_count"]
        if it["iteration"] > 0 and count[1] == 0:
            return int(count[1] + count[2])


def run_ndlib(g: nx.Graph, sources: np.ndarray, transmissibility: float, seed: int,
              budget_s: float, n_configs: int = 2, min_count: int = 3,
              say: Say = _quiet) -> Sample:
    """NDlib cascades: the model configured ``n_configs`` times (timed apart), then reused.

    Configuration (500k edge thresholds on the benchmark graph) is timed
    separately from the cascades; each cascade then resets the configured
    model to one infected source and iterates to the end.
    """
    n = g.number_of_nodes()
    degrees = np.array([d for _, d in sorted(g.degree())], np.int64)
    config_s = []
    model = None
    for _ in range(max(1, n_configs)):
        t0 = time.perf_counter()
        model = ndlib_model(g, transmissibility, int(sources[0]), seed)
        config_s.append(time.perf_counter() - t0)

    def checks_of(src: int, reach: int) -> int:
        status = np.fromiter((model.status[i] for i in range(n)), np.int64, n)
        if int((status != 0).sum()) != reach:
            raise RuntimeError(f"NDlib reach {reach} disagrees with its status table")
        return edge_checks(degrees, status != 0)

    reach, checks, secs, cpus = _timed_loop(sources, budget_s, min_count,
                                            lambda src: ndlib_cascade(model, src), checks_of,
                                            say, "NDlib")
    return Sample("ndlib", reach, checks, secs, cpus, config_seconds=config_s)


# --- statistics ----------------------------------------------------------------------------


def reach_tests(samples: dict[str, np.ndarray], seed: int = 0,
                resamples: int = 999) -> dict[str, Any]:
    """Two-sample tests that reach distributions agree.

    Returns:
        ``{"ks": {"a vs b": p, ...}, "ad": {"statistic": A, "p": p, "samples": [...]}}``:
        pairwise Kolmogorov–Smirnov p-values and one Anderson–Darling k-sample
        test over all samples (permutation p-value, ``resamples`` permutations).
    """
    names = [k for k, v in samples.items() if v is not None and len(v) >= 2]
    ks = {}
    for a, b in itertools.combinations(names, 2):
        ks[f"{a} vs {b}"] = float(stats.ks_2samp(samples[a], samples[b]).pvalue)
    ad: dict[str, Any] = {"samples": names}
    if len(names) >= 2:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = stats.anderson_ksamp(
                [np.asarray(samples[k], np.float64) for k in names], variant="midrank",
                method=stats.PermutationMethod(n_resamples=resamples,
                                               rng=np.random.default_rng(seed)))
        ad.update(statistic=float(res.statistic), p=float(res.pvalue))
    return {"ks": ks, "ad": ad}


def summarize(sample: Sample, n_people: int) -> dict[str, Any]:
    """JSON-ready numbers of one implementation's sample."""
    large = sample.reach > math.sqrt(n_people)
    out: dict[str, Any] = {
        "label": TOOLS[sample.tool],
        "n_cascades": sample.n,
        "s_per_cascade": sample.per_cascade,
        "checks_per_s": sample.checks_per_second,
        "total_s": sample.total_seconds,
        "cpu_s_per_cascade": sample.cpu_per_cascade,
        "checks_per_cpu_s": float(sample.checks.sum()) / max(float(np.sum(sample.cpu_seconds)),
                                                            1e-12),
        "mean_reach": float(sample.reach.mean()) if sample.n else math.nan,
        "large_share": float(large.mean()) if sample.n else math.nan,
        "large_reach_fraction": float(sample.reach[large].mean() / n_people) if large.any()
        else math.nan,
        "mean_checks": float(sample.checks.mean()) if sample.n else math.nan,
    }
    if sample.per_unit > 1:  # repeats of a batch: spread over repeats
        per = np.asarray(sample.seconds) / sample.per_unit
        chk = sample.checks.reshape(len(sample.seconds), sample.per_unit).sum(axis=1)
        rates = chk / np.asarray(sample.seconds)
        out.update(repeats=len(sample.seconds), cascades_per_repeat=sample.per_unit,
                   s_per_cascade_median=float(np.median(per)),
                   s_per_cascade_range=[float(per.min()), float(per.max())],
                   checks_per_s_median=float(np.median(rates)),
                   checks_per_s_range=[float(rates.min()), float(rates.max())])
        out["s_per_cascade"] = out["s_per_cascade_median"]
        out["checks_per_s"] = out["checks_per_s_median"]
    else:  # one timing per cascade: bootstrap interval of the mean
        out["s_per_cascade_ci95"] = list(bootstrap_ci(np.asarray(sample.seconds)))
    if sample.config_seconds:
        out["config_s"] = float(np.median(sample.config_seconds))
        out["config_s_all"] = [float(s) for s in sample.config_seconds]
        out["s_per_cascade_with_config"] = out["s_per_cascade"] + out["config_s"]
    return out


# --- the benchmark -----------------------------------------------------------------------


def peers_available() -> dict[str, str | None]:
    """``{"eon": None or why not, "ndlib": None or why not}``."""
    out: dict[str, str | None] = {}
    for key, module in (("eon", "EoN"), ("ndlib", "ndlib.models.epidemics")):
        try:
            __import__(module)
            out[key] = None
        except Exception as exc:  # noqa: BLE001  (any import failure means: skip the peer)
            out[key] = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return out


def bench_cascade(n: int = 100_000, mean_degree: float = 10.0, transmissibility: float = 0.15,
                  seed: int = 0, n_ours: int = 200, repeats: int = 5, peer_budget_s: float = 60.0,
                  ndlib_configs: int = 2, peers: bool = True, say: Say = _quiet
                  ) -> dict[str, Any]:
    """Run the cascade benchmark; return JSON-ready results (see :func:`summarize`).

    Args:
        n: People in the Erdős–Rényi graph.
        mean_degree: Its mean degree.
        transmissibility: T.
        seed: Seed of the graph, the sources and every tool's randomness.
        n_ours: Cascades per repeat for the model kernel and the BFS reference.
        repeats: Repeats of those (fresh sources each time).
        peer_budget_s: Timed seconds to spend on each peer.
        ndlib_configs: Times to configure NDlib's model (timed apart).
        peers: Run EoN and NDlib when installed.
        say: Progress printer.
    """
    t0 = time.perf_counter()
    raw = er_graph(n, mean_degree, seed)
    graph_s = time.perf_counter() - t0
    model = cascade_model(raw, transmissibility, seed)
    c_real = 2 * raw.n_edges / n
    say(f"cascade: ER graph n={n:,}, {raw.n_edges:,} ties (mean degree {c_real:.3f}) "
        f"in {graph_s:.1f} s")
    src_rng = np.random.default_rng([seed, 1])
    # Warm up (compile or load the numba cache) on a few cascades, untimed.
    warm = src_rng.integers(0, n, 4)
    run_ours(model, warm, np.random.default_rng(0))
    run_bfs(model, warm, np.random.default_rng(0))
    samples: dict[str, Sample] = {}
    for tool, runner in (("ours", run_ours), ("bfs", run_bfs)):
        rng = np.random.default_rng([seed, 2, len(samples)])
        reach, checks, secs, cpus = [], [], [], []
        for _ in range(repeats):
            sources = src_rng.integers(0, n, n_ours)
            r, c, s, cpu = runner(model, sources, rng)
            reach.append(r)
            checks.append(c)
            secs.append(s)
            cpus.append(cpu)
        samples[tool] = Sample(tool, np.concatenate(reach), np.concatenate(checks), secs, cpus,
                               per_unit=n_ours)
        say(f"  {tool}: {repeats} x {n_ours} cascades, "
            f"{1e3 * np.median(secs) / n_ours:.2f} ms per cascade")
    missing = peers_available() if peers else {"eon": "skipped (--no-peers)",
                                              "ndlib": "skipped (--no-peers)"}
    g = None
    convert_s = math.nan
    if peers and not all(missing.values()):
        t1 = time.perf_counter()
        g = to_networkx(raw)
        convert_s = time.perf_counter() - t1
        say(f"  networkx graph built in {convert_s:.1f} s (not timed)")
    peer_sources = src_rng.integers(0, n, 100_000)
    if g is not None and missing["eon"] is None:
        say(f"  EoN: up to {peer_budget_s:.0f} s of cascades")
        samples["eon"] = run_eon(g, peer_sources, transmissibility, seed + 11, peer_budget_s,
                                 say=say)
    if g is not None and missing["ndlib"] is None:
        say(f"  NDlib: {ndlib_configs} configurations, then up to {peer_budget_s:.0f} s "
            "of cascades")
        samples["ndlib"] = run_ndlib(g, src_rng.integers(0, n, 100_000), transmissibility,
                                     seed + 12, peer_budget_s, n_configs=ndlib_configs, say=say)
    for key, why in missing.items():
        if why:
            say(f"  {key}: not run ({why})")
    tools = {k: summarize(s, n) for k, s in samples.items()}
    ours = tools["ours"]
    ratios: dict[str, float] = {}
    for peer in ("eon", "ndlib"):
        if peer in tools:
            p = tools[peer]
            ratios[f"{peer}_per_cascade"] = p["s_per_cascade"] / ours["s_per_cascade"]
            ratios[f"{peer}_per_check"] = ours["checks_per_s"] / p["checks_per_s"]
    if "ndlib" in tools:
        ratios["ndlib_with_config_per_cascade"] = (
            tools["ndlib"]["s_per_cascade_with_config"] / ours["s_per_cascade"])
    tests = reach_tests({k: s.reach for k, s in samples.items()}, seed=seed)
    return {
        "n": n, "n_ties": raw.n_edges, "mean_degree": c_real, "transmissibility": transmissibility,
        "theory_giant_fraction": erdos_renyi_giant_fraction(c_real, transmissibility),
        "graph_s": graph_s, "networkx_s": convert_s,
        "tools": tools, "missing": {k: v for k, v in missing.items() if v}, "ratios": ratios,
        "tests": tests,
    }
