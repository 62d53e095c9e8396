"""ScienceWorld (installed as ``agentgym.envs.sciworld``): the ``scienceworld`` simulator as a TextEnv."""
