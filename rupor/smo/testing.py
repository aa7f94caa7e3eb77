"""A local web site for the link-preview checker's tests and the browser test: pages with good,
missing and broken tags, pictures of every size, redirect chains and loops, slow and huge answers.

``SiteServer`` runs on 127.0.0.1 on a port of its own; the guard refuses it unless the test allows
its origin (``RUPOR_ALLOW_PRIVATE_URLS``), which is what the tests of the refusal rely on.
"""

from __future__ import annotations

import contextlib
import io
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import Image

from rupor.core import http


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] | None = None
    #: Seconds to wait before answering (a slow server).
    delay: float = 0.0


Route = Answer | Callable[[], Answer]


def picture(width: int, height: int, fmt: str = "JPEG", *, padding: int = 0) -> bytes:
    """A picture of ``width`` x ``height`` in ``fmt``, followed by ``padding`` bytes (a heavy file
    whose header still says its size)."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (180, 90, 40)).save(out, fmt)
    return out.getvalue() + b"\0" * padding


def page(head: str, body: str = "<p>Hello</p>") -> bytes:
    return f'<!doctype html><html lang="en"><head><meta charset="utf-8">{head}</head><body>{body}</body></html>'.encode()


class SiteServer:
    """Serves :attr:`routes` (path -> :class:`Answer`); ``seen`` lists the paths asked."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.seen: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.seen.append(self.path)
                route = site.routes.get(self.path)
                answer = (
                    (route() if callable(route) else route)
                    if route is not None
                    else Answer(404, b"not found")
                )
                if answer.delay:
                    time.sleep(answer.delay)
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                for name, value in (answer.headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                # The checker may stop reading (a page read only as far as its head).
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(answer.body)

            def log_message(self, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        return f"http://{self.origin}"

    def start(self) -> SiteServer:
        # The port may have been an emulator's a moment ago, trusted then: not this server.
        http.forget_origin(self.url)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add(self, path: str, answer: Route) -> str:
        self.routes[path] = answer
        return self.url + path

    def redirect(self, path: str, to: str, status: int = 301) -> str:
        return self.add(path, Answer(status, b"", headers={"Location": to}))

    def good_page(self, path: str = "/good") -> str:
        """A page every network shows well: all tags, a 1200x630 JPEG with its size and alt."""
        picture_url = self.add("/img/good.jpg", Answer(body=picture(1200, 630), content_type="image/jpeg"))
        address = self.url + path
        head = (
            "<title>Spring menu at the Rupor Coffee House</title>"
            '<meta name="description" content="Six new drinks and a lemon tart.">'
            f'<link rel="canonical" href="{address}">'
            '<meta property="og:title" content="Spring menu at the Rupor Coffee House">'
            '<meta property="og:description" content="Six new drinks and a lemon tart, from Monday.">'
            f'<meta property="og:url" content="{address}">'
            '<meta property="og:site_name" content="Rupor Coffee House">'
            '<meta property="og:type" content="article">'
            f'<meta property="og:image" content="{picture_url}">'
            '<meta property="og:image:width" content="1200"><meta property="og:image:height" content="630">'
            '<meta property="og:image:alt" content="A cup of coffee on a wooden table">'
            '<meta name="twitter:card" content="summary_large_image">'
        )
        return self.add(path, Answer(body=page(head)))
