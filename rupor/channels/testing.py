"""A local HTTP server for tests that records every request and answers whatever it is told
(garbage, or nothing useful): the "other address" a channel might be pointed at."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote_plus

from rupor.core import http


@dataclass
class Recorder:
    """``url`` to point a channel at; ``requests`` holds each request as one string (method,
    path, headers and body); ``answer`` is the body every request gets (HTTP 200, JSON type)."""

    answer: bytes = b"{}"
    requests: list[str] = field(default_factory=list)
    url: str = ""
    _server: Any = None

    def start(self) -> Recorder:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                recorder.requests.append(
                    f"{self.command} {self.path}\n{self.headers}\n{body.decode('utf-8', 'replace')}"
                )
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(recorder.answer)))
                self.end_headers()
                self.wfile.write(recorder.answer)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

            def log_message(self, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        # Reachable like an emulator is: it stands for a host on the internet someone controls.
        http.allow_origin(self.url)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def saw(self, secret: str) -> bool:
        """Whether any request carried ``secret`` (in its path, headers or body)."""
        return any(secret in r or secret in unquote_plus(r) for r in self.requests)
