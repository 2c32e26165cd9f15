"""Hydra launcher of influencer-sim: joblib in parallel, a progress bar, resumable sweeps."""
