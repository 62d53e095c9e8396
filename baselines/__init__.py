"""Baseline agents (installed as ``agentgym.baselines``)."""
