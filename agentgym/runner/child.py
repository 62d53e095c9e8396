"""Entry point of an env worker process: ``python -m agentgym.runner.child FD`` (see :mod:`.worker`)."""

import sys
from multiprocessing.connection import Connection

from agentgym.runner.worker import serve

if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])))
