"""The benchmarks, one subpackage each (installed as ``agentgym.envs``)."""
