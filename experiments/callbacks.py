"""Hydra callbacks of the project (listed in ``conf/config.yaml``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf


class Aggregate(Callback):
    """At the end of a ``-m`` sweep: summary tables, group statistics and figures.

    A sweep whose runs all failed, or that had no runs at all, is a failed
    command: after the summary it exits with status 1 (Hydra passes a
    callback's ``SystemExit`` on).
    """

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Aggregate the sweep folder and print a short human summary."""
        from experiments import storage
        from experiments.aggregate import run_dirs, summarize_sweep
        from experiments.errors import EXIT_FAILED, exit_with
        from experiments.figures import make_figures
        from experiments.pool import stop, sweep_workers

        sweep_dir = Path(str(config.hydra.sweep.dir))
        if OmegaConf.select(config, "hydra.launcher.wait") is False:
            return  # hydra/launcher=slurm submitted and returned: its last shard aggregates
        runs = run_dirs(sweep_dir) if sweep_dir.is_dir() else []
        if not runs and storage.is_parquet_sweep(sweep_dir):
            runs = storage.read_manifest(sweep_dir)  # storage=parquet: no run folders
        if not runs:
            from experiments.cleanup import created

            stop()
            created.discard()  # what this sweep made before it found it had no points
            exit_with(f"sweep {sweep_dir}: no runs (the sweep has no points)", EXIT_FAILED)
        # The launcher's warm workers read the runs and draw the figures side by side.
        workers = sweep_workers(config) if len(runs) > 1 else 1
        figures: list[Path] = []
        try:
            summary = summarize_sweep(sweep_dir, workers=workers)
            ok = bool((summary["status"] == "ok").any())
            if ok:
                figures = make_figures(sweep_dir, workers=workers)
        except Exception as exc:
            if "summary" not in locals():
                raise
            # A figure failed (a bug, so its traceback is shown): the runs' summary still
            # shows, and the command fails (Hydra would only warn about a callback's error).
            import traceback

            print(sweep_summary(summary, sweep_dir, 0), flush=True)
            traceback.print_exc()
            exit_with(f"sweep {sweep_dir}: the tables are written but drawing the figures "
                      f"failed ({type(exc).__name__}: {exc})", EXIT_FAILED)
        finally:
            stop()  # the workers are idle now: ending them at once saves ~0.5 s at exit
        print(sweep_summary(summary, sweep_dir, len([f for f in figures
                                                     if f.suffix == ".png"])))
        sys.stdout.flush()
        if not ok:
            exit_with(f"sweep {sweep_dir}: no run succeeded ({len(summary)} runs)", EXIT_FAILED)


def sweep_summary(summary: Any, sweep_dir: Path, n_figures: int) -> str:
    """A few lines on a finished sweep: runs by status and the headline range."""
    from experiments.aggregate import status_counts

    lines = [f"sweep {sweep_dir}: {len(summary)} runs ({status_counts(summary)})"]
    ok = summary[summary["status"] == "ok"] if len(summary) else summary
    share = "small_share_valuable_brokered"
    if len(ok) and share in ok and ok[share].notna().any():
        lines.append(f"  small people's share of valuable brokerage: "
                     f"{100 * ok[share].min():.0f}% to {100 * ok[share].max():.0f}% across runs "
                     f"(mean {100 * ok[share].mean():.0f}%; they are "
                     f"{100 * ok['small_population_share'].mean():.0f}% of people)")
    failed = summary[summary["status"] != "ok"] if len(summary) else summary
    for row in failed.head(5).itertuples():
        lines.append(f"  {row.status}: {row.run_dir}: {row.error}")
    lines.append(f"  tables: {sweep_dir / 'summary.csv'}, {sweep_dir / 'groups.csv'}; "
                 f"{n_figures} figures in {sweep_dir / 'figures'}")
    return "\n".join(lines)
