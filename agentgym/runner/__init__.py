"""The runner: many episodes in parallel, trajectories on disk, resumable runs."""
