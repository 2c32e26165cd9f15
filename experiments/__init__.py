"""Thin Hydra apps around :mod:`sim`, one job per module.

Commands: :mod:`~experiments.run` (the main job and ``-m`` sweeps),
:mod:`~experiments.aggregate` (a sweep's tables), :mod:`~experiments.figures`
(a sweep's figures), :mod:`~experiments.animate` (the animation),
:mod:`~experiments.bench` (benchmarks).

What the main job is made of:

- :mod:`~experiments.schema`: the typed config in Hydra's ConfigStore, the
  run-folder name resolver;
- :mod:`~experiments.preflight`: the ``Preflight`` callback, checking every job's
  config and the output folder before Hydra writes anything;
- :mod:`~experiments.convert`: a composed Hydra config to a :class:`sim.Config`;
- :mod:`~experiments.jobs`: run a config and save it (and a sweep's job);
- :mod:`~experiments.callbacks`: the ``Aggregate`` callback at the end of a sweep;
- :mod:`~experiments.pool`: the process pool of a sweep;
- :mod:`~experiments.cleanup`: undo a refused start (exactly what was created);
- :mod:`~experiments.errors`: bad input and failed output as one line;
- :mod:`~experiments.cli`: run an app as a command (exit statuses, signals).
"""
