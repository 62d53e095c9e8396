"""Game of 24 (installed as ``agentgym.envs.game24``)."""
