"""Thin Hydra apps around :mod:`sim`: the main job, sweep aggregation, figures, benchmarks."""
