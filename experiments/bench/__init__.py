"""Benchmark suite: ``python -m experiments.bench`` (or ``make bench``).

Four parts, each runnable alone with ``--only``:

- ``cascade``: cascade mode (the model's own daily kernel, and the plain BFS
  reference) against EoN's ``basic_discrete_SIR`` and NDlib's
  ``IndependentCascadesModel`` on one Erdős–Rényi graph, with two-sample tests
  that the three reach distributions agree (:mod:`experiments.bench.cascade`);
- ``model``: the full model (default scenario, 100,000 and 1,000,000 people for
  365 days) in fresh one-core processes: build and run time, peak memory,
  messages per second, and the first-run compile time
  (:mod:`experiments.bench.model`);
- ``sweep``: default-scenario runs per minute on one core and on all cores;
- ``scaling``: time against people from 10,000 to 1,000,000, its log-log slope
  and a figure.

The suite prints one table and, for a complete run, writes ``BENCHMARKS.md``
(:mod:`experiments.bench.report`). The peers (EoN, NDlib) are the optional
``bench`` extra, never runtime dependencies: without them their rows say so.

Nothing here imports numba at module level except through :mod:`sim`, and
:mod:`experiments.bench.cli` sets the one-thread environment before importing
:mod:`sim`, so the numbers are one-core numbers unless said otherwise.
"""
