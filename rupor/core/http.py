"""The one choke point for outbound HTTP (STYLE.md, "One choke point").

Every call Rupor makes to the outside world goes through :func:`client`: it sets connect and
read timeouts, the user agent, a response-size cap, and an address guard that refuses private,
loopback and link-local addresses unless the operator (or Rupor itself, for the emulators it
starts) allowed that host and port. Direct use of ``httpx.Client`` elsewhere is banned by ruff.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import certifi
import httpx

from rupor import __version__

USER_AGENT = f"Rupor/{__version__} (+https://github.com/rupor-social/rupor)"
DEFAULT_MAX_BYTES = 32 * 1024 * 1024

_allowed_lock = threading.Lock()
_allowed_origins: set[tuple[str, int | None]] = set()


class BlockedAddress(httpx.TransportError):
    """The URL resolves to an address Rupor refuses to call (SSRF guard)."""


class ResponseTooLarge(httpx.TransportError):
    """The response body exceeded the configured size cap."""


def allow_origin(url: str) -> None:
    """Trust a private host:port, e.g. an emulator Rupor started itself."""
    parts = urlsplit(url)
    with _allowed_lock:
        _allowed_origins.add(((parts.hostname or "").lower(), parts.port))


def _configured_allowlist() -> set[tuple[str, int | None]]:
    from django.conf import settings

    out: set[tuple[str, int | None]] = set()
    items = getattr(settings, "RUPOR_ALLOW_PRIVATE_URLS", ()) if settings.configured else ()
    for item in items:
        host, _, port = item.strip().rpartition(":") if item.count(":") == 1 else (item.strip(), "", "")
        if not host:
            host, port = item.strip(), ""
        out.add((host.lower(), int(port) if port.isdigit() else None))
    return out


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return not (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
        or ip.is_reserved or ip.is_unspecified
    )


def check_url(url: str) -> None:
    """Raise :class:`BlockedAddress` unless ``url`` may be called."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise BlockedAddress(f"only http and https URLs may be called, not {parts.scheme!r}")
    host = (parts.hostname or "").lower()
    if not host:
        raise BlockedAddress("the URL has no host")
    port = parts.port
    with _allowed_lock:
        trusted = set(_allowed_origins)
    trusted |= _configured_allowlist()
    if (host, port) in trusted or (host, None) in trusted:
        return
    try:
        infos = socket.getaddrinfo(host, port or (443 if parts.scheme == "https" else 80))
    except socket.gaierror as exc:
        raise httpx.ConnectError(f"cannot resolve {host}: {exc}") from exc
    for info in infos:
        ip = ipaddress.ip_address(info[4][0])
        if not _is_public(ip):
            raise BlockedAddress(
                f"{host} resolves to a private or local address ({ip}); "
                "allow it with RUPOR_ALLOW_PRIVATE_URLS if this is intended"
            )


class _CappedStream(httpx.SyncByteStream):
    def __init__(self, inner: Any, max_bytes: int) -> None:
        self._inner = inner
        self._max_bytes = max_bytes

    def __iter__(self) -> Iterator[bytes]:
        total = 0
        for chunk in self._inner:
            total += len(chunk)
            if total > self._max_bytes:
                raise ResponseTooLarge(f"response exceeds the cap of {self._max_bytes} bytes")
            yield chunk

    def close(self) -> None:
        self._inner.close()


class _GuardedTransport(httpx.HTTPTransport):
    def __init__(self, max_bytes: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._max_bytes = max_bytes

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        check_url(str(request.url))
        response = super().handle_request(request)
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self._max_bytes:
            response.close()
            raise ResponseTooLarge(f"response of {declared} bytes exceeds the cap of {self._max_bytes}")
        response.stream = _CappedStream(response.stream, self._max_bytes)
        return response


def default_timeout() -> httpx.Timeout:
    """Timeouts from ``RUPOR_HTTP_TIMEOUT`` (seconds to read; connect is capped at 5)."""
    from django.conf import settings

    seconds = float(getattr(settings, "RUPOR_HTTP_TIMEOUT", 20.0)) if settings.configured else 20.0
    return httpx.Timeout(connect=min(5.0, seconds), read=seconds, write=seconds, pool=min(5.0, seconds))


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle costs ~60 ms; build it once per process, not once per client.
    return ssl.create_default_context(cafile=certifi.where())


def client(
    *,
    base_url: str = "",
    timeout: httpx.Timeout | float | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    headers: dict[str, str] | None = None,
    follow_redirects: bool = False,
) -> httpx.Client:
    """A configured ``httpx.Client``; use it as a context manager."""
    all_headers = {"User-Agent": USER_AGENT}
    all_headers.update(headers or {})
    return httpx.Client(
        base_url=base_url,
        timeout=timeout if timeout is not None else default_timeout(),
        headers=all_headers,
        transport=_GuardedTransport(max_bytes=max_bytes, retries=0, verify=_ssl_context()),
        follow_redirects=follow_redirects,
    )


def read_capped(response: httpx.Response, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """Read a streamed body, refusing more than ``max_bytes``."""
    chunks: list[bytes] = []
    total = 0
    for chunk in response.iter_bytes():
        total += len(chunk)
        if total > max_bytes:
            raise ResponseTooLarge(f"response exceeds the cap of {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@contextmanager
def trusted(url: str) -> Iterator[None]:
    """Trust ``url``'s origin for the duration of the block (tests, emulators)."""
    allow_origin(url)
    yield
