"""Test helpers both Graph API networks share: a tiny local HTTP server that serves media bytes, and
:class:`~rupor.networks.base.Media` whose ``link`` points at it, as Rupor's signed media links do.

>>> with MediaServer() as server:
...     media = server.media(PNG, "photo.png", "image/png")
...     media.link(None)  # 'http://127.0.0.1:PORT/m/1/photo.png'
"""

from __future__ import annotations

import base64
import itertools
import threading
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from rupor.networks.base import Media
from rupor.networks.emulation import RunningEmulator

#: A 1x1 transparent PNG, the smallest real picture.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
#: A 1x1 JPEG.
JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////"
    "////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA="
)


class MediaServer:
    """Serves registered bytes at ``/m/<n>/<filename>`` on 127.0.0.1 (trusted by Rupor's HTTP
    guard while it runs); ``requests`` counts the downloads of each path."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        self.requests: dict[str, int] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

        async def serve(request: Request) -> Response:
            path = request.url.path
            with self._lock:
                self.requests[path] = self.requests.get(path, 0) + 1
                found = self.files.get(path)
            if found is None:
                return Response("not found", 404, media_type="text/plain")
            return Response(found[0], 200, media_type=found[1])

        self._running = RunningEmulator(Starlette(routes=[Route("/m/{rest:path}", serve)]))

    @property
    def url(self) -> str:
        return self._running.url

    def start(self) -> MediaServer:
        self._running.start()
        return self

    def stop(self) -> None:
        self._running.stop()

    def __enter__(self) -> MediaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def add(self, data: bytes, filename: str, content_type: str) -> str:
        """Serve ``data``; returns its address."""
        path = f"/m/{next(self._ids)}/{filename}"
        with self._lock:
            self.files[path] = (data, content_type)
        return self.url + path

    def media(
        self, data: bytes, filename: str, content_type: str, *, kind: str = "photo", **facts: Any
    ) -> Media:
        """A :class:`Media` of ``data`` whose ``link(fmt)`` is its address here (any format: the
        bytes are served as they are)."""
        address = self.add(data, filename, content_type)
        base = Media.from_bytes(kind, filename, content_type, data, facts.get("width"), facts.get("height"))
        return Media(
            base.kind,
            base.filename,
            base.content_type,
            base.size,
            base.open,
            base.head,
            base.width,
            base.height,
            facts.get("alt", ""),
            link=lambda _fmt: address,
        )

    def broken_media(self, filename: str = "gone.jpg", content_type: str = "image/jpeg") -> Media:
        """A :class:`Media` whose link answers 404 (the file was removed, the link expired)."""
        path = f"/m/{next(self._ids)}/{filename}"
        base = Media.from_bytes("photo", filename, content_type, JPEG)
        address = self.url + path
        return Media(
            base.kind,
            base.filename,
            base.content_type,
            base.size,
            base.open,
            base.head,
            link=lambda _f: address,
        )
