"""A real HTTP server on 127.0.0.1 that records every request it gets, as a server and as a proxy.

Pointed at by ``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY``, it sees every request an HTTP client sends anywhere
(``CONNECT api.openai.com:443`` for an HTTPS one, which it refuses); named as a server, it answers
``/v1/chat/completions`` and ``/v1/embeddings`` like an OpenAI-compatible server.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Handler(BaseHTTPRequestHandler):
    server: RecordingServer

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _target(self) -> str:
        if self.command == "CONNECT" or "://" in self.path:
            return self.path
        return f"http://{self.headers.get('Host', '?')}{self.path}"

    def _record(self) -> None:
        self.server.requests.append(f"{self.command} {self._target()}")

    def do_CONNECT(self) -> None:
        self._record()
        self.send_error(403, "recording server: no tunnels")

    def do_GET(self) -> None:
        self._record()
        self.send_error(404)

    def do_POST(self) -> None:
        self._record()
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        self.server.bodies.append(body)
        if self.path.endswith("/embeddings"):
            answer: dict[str, Any] = {
                "data": [{"index": i, "embedding": [1.0, 0.0]} for i in range(len(body["input"]))]
            }
        else:
            message = {"role": "assistant", "content": "1 + 1 = 2"}
            answer = {"choices": [{"index": 0, "message": message, "finish_reason": "stop"}], "usage": {}}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class RecordingServer(ThreadingHTTPServer):
    """``requests``: ``"METHOD target"`` per request received; ``bodies``: the JSON bodies POSTed.

    Example:
        >>> with RecordingServer() as server:  # doctest: +SKIP
        ...     server.url  # 'http://127.0.0.1:PORT'
    """

    daemon_threads = True

    def __init__(self) -> None:
        """Bind a free port on 127.0.0.1; serving starts on ``__enter__``."""
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[str] = []
        self.bodies: list[dict[str, Any]] = []
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def __enter__(self) -> RecordingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join()
