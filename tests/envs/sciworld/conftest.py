"""Fixtures for the ScienceWorld tests: they need the ``scienceworld`` package and, for most, Java."""

import shutil

import pytest

pytest.importorskip("scienceworld")


@pytest.fixture(scope="session")
def sim():
    """A bare simulator in its own JVM (for tests below the env)."""
    if shutil.which("java") is None:
        pytest.skip("Java is not installed")
    from agentgym.envs.sciworld.jvm import acquire, release
    from agentgym.envs.sciworld.simulator import Simulator

    jvm = acquire(heap_mb=256, shared=False)
    simulator = Simulator(jvm)
    try:
        yield simulator
    finally:
        simulator.close()
        release(jvm)
