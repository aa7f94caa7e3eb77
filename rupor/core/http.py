"""The one choke point for outbound HTTP (ARCHITECTURE.md, "Rules of the road").

Every call Rupor makes to the outside world goes through :func:`client` (a client of its own,
closed after use) or :func:`request` (the shared keep-alive pool of the URL's origin, for the
networks' API calls): both set connect and read timeouts, the user agent, a response-size cap,
and an address guard that refuses private, loopback and link-local addresses unless the
operator (or Rupor itself, for the emulators it starts) allowed that host and port. Direct use
of ``httpx.Client`` elsewhere is banned by ruff.

Kept-alive connections and the guard: the guard runs when a connection is *opened* (every
connection of a pool is opened by :class:`_GuardedBackend`), so reusing one never reaches an
address that was not checked.

Kept-alive connections and creates: a request written on a connection the server has already
closed fails after its bytes left, which for a create is an unknown outcome. So an idle
connection is reused only for :data:`KEEPALIVE_EXPIRY` seconds, below the idle timeouts servers
commonly keep (5 s and more), and a connection the server closed while idle is noticed before
reuse (httpcore checks that an idle socket has nothing to read). Nothing is ever sent twice
here: retrying is the caller's decision, by the error class (``networks/errors.py``).

A thread about to wait on the network first gives its pooled database connection back (when no
transaction holds it: ``core/dbpool.give_back``), so waiting threads never exhaust the pool.
"""

from __future__ import annotations

import atexit
import functools
import http.cookiejar
import ipaddress
import os
import socket
import ssl
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import certifi
import httpcore
import httpx

from rupor import __version__
from rupor.core import config, dbpool

USER_AGENT = f"Rupor/{__version__} (+https://github.com/rupor-social/rupor)"
DEFAULT_MAX_BYTES = 32 * 1024 * 1024
#: Seconds an idle pooled connection may be reused: below the shortest idle timeout servers
#: commonly keep (5 s: Apache httpd, Node.js, uvicorn; nginx 75 s), so Rupor drops an idle
#: connection before the server does and a request never goes out on one the server closed.
KEEPALIVE_EXPIRY = 4.0

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


def forget_origin(url: str) -> None:
    """Stop trusting a host:port :func:`allow_origin` trusted (its server has stopped, and the
    port may next be some other server's)."""
    parts = urlsplit(url)
    with _allowed_lock:
        _allowed_origins.discard(((parts.hostname or "").lower(), parts.port))


def _configured_allowlist() -> set[tuple[str, int | None]]:
    out: set[tuple[str, int | None]] = set()
    for item in config.allow_private_urls():
        host, _, port = item.strip().rpartition(":") if item.count(":") == 1 else (item.strip(), "", "")
        if not host:
            host, port = item.strip(), ""
        out.add((host.lower(), int(port) if port.isdigit() else None))
    return out


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped, 6to4, NAT64), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public_address(ip: IPAddress) -> bool:
    """Whether Rupor may connect to ``ip`` without the operator's say-so.

    IPv6 forms that carry an IPv4 address are judged by that address, so ``::ffff:127.0.0.1``,
    ``2002:a9fe:a9fe::`` and ``64:ff9b::a9fe:a9fe`` are as local as what they wrap. ``is_global``
    already refuses private, loopback, link-local (the cloud metadata addresses 169.254.169.254
    and fd00:ec2::254 among them) and carrier-grade NAT (100.64.0.0/10); multicast and reserved
    ranges are refused explicitly because older Pythons call some of them global.
    """
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return False
        inner = _embedded_ipv4(ip)
        if inner is not None:
            return is_public_address(inner)
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def _trusted(host: str, port: int | None) -> bool:
    with _allowed_lock:
        trusted = set(_allowed_origins)
    trusted |= _configured_allowlist()
    return (host, port) in trusted or (host, None) in trusted


def _parse_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def vetted_addresses(host: str, port: int) -> list[str]:
    """Resolve ``host`` once and return its addresses, all of them checked.

    Raises :class:`BlockedAddress` if any address is not public (one bad answer is enough: a
    resolver that mixes them is not to be trusted), unless the origin is allowed; then the
    addresses are returned as they are.
    """
    host = host.lower().strip("[]")
    literal = _parse_literal(host)
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise httpx.ConnectError(f"cannot resolve {host}: {exc}") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise httpx.ConnectError(f"cannot resolve {host}")
    if _trusted(host, port) or _trusted(host, None):
        return addresses
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if not is_public_address(ip) or "%" in address:
            raise BlockedAddress(
                f"{host} resolves to a private or local address ({ip}); "
                "allow it with RUPOR_ALLOW_PRIVATE_URLS if this is intended"
            )
    return addresses


#: Names that never lead outside the operator's network, whatever they resolve to.
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa", ".localdomain")


def reachable_from_internet(url: str) -> bool:
    """Whether the internet could plausibly reach ``url`` (judged from its host alone, without
    resolving it): ``False`` for loopback, private and link-local addresses, ``localhost``, names
    without a dot and the local suffixes (``.local``, ``.internal``, ...). Used to warn that a
    network which fetches media from Rupor (Facebook, Instagram) cannot reach ``RUPOR_BASE_URL``."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    if not host:
        return False
    literal = _parse_literal(host)
    if literal is not None:
        return is_public_address(literal)
    if host == "localhost" or "." not in host:
        return False
    return not host.endswith(_LOCAL_SUFFIXES)


def check_url(url: str) -> None:
    """Raise :class:`BlockedAddress` unless ``url`` may be called.

    Only a pre-flight check for callers that want an early answer: the connection itself is made
    by :class:`_GuardedBackend`, which resolves and checks again and connects to the checked IP.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise BlockedAddress(f"only http and https URLs may be called, not {parts.scheme!r}")
    host = (parts.hostname or "").lower()
    if not host:
        raise BlockedAddress("the URL has no host")
    port = parts.port
    if _trusted(host, port):
        return
    vetted_addresses(host, port or (443 if parts.scheme == "https" else 80))


class _GuardedBackend(httpcore.SyncBackend):
    """Connects only to addresses it resolved and checked itself (no DNS rebinding).

    httpcore hands us the URL's host name; we resolve it once, check every answer, and open the
    socket to the checked IP. TLS still runs against the host name (httpcore passes the origin's
    name as SNI and the certificate is verified for it), and the Host header is untouched.
    """

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = vetted_addresses(host, port)
        last: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None  # addresses is never empty
        raise last


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
    def __init__(self, max_bytes: int, *, verify: ssl.SSLContext, max_connections: int | None = 100) -> None:
        super().__init__(verify=verify, retries=0, trust_env=False)
        # httpx does not let us pass a network backend, so build its pool again with ours:
        # every connection is opened by _GuardedBackend to an address it has just checked.
        self._pool = httpcore.ConnectionPool(
            ssl_context=verify,
            max_connections=max_connections,
            max_keepalive_connections=httpx.Limits().max_keepalive_connections,
            keepalive_expiry=KEEPALIVE_EXPIRY,
            retries=0,
            network_backend=_GuardedBackend(),
        )
        self._max_bytes = max_bytes

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme not in ("http", "https"):
            raise BlockedAddress(f"only http and https URLs may be called, not {request.url.scheme!r}")
        if not request.url.host:
            raise BlockedAddress("the URL has no host")
        # No pooled database connection is held while the other side answers (core/dbpool.py).
        dbpool.give_back()
        response = super().handle_request(request)
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self._max_bytes:
            response.close()
            raise ResponseTooLarge(f"response of {declared} bytes exceeds the cap of {self._max_bytes}")
        response.stream = _CappedStream(response.stream, self._max_bytes)
        return response


def default_timeout() -> httpx.Timeout:
    """Timeouts from ``RUPOR_HTTP_TIMEOUT`` (seconds to read; connect is capped at 5)."""
    seconds = config.http_timeout()
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
        transport=_GuardedTransport(max_bytes=max_bytes, verify=_ssl_context()),
        follow_redirects=follow_redirects,
        # Proxies from the environment would open connections the guard never sees.
        trust_env=False,
    )


class _NoCookies(http.cookiejar.CookieJar):
    """A cookie jar that keeps nothing: a shared client must not carry one call's cookies to another."""

    def extract_cookies(self, response: Any, request: Any) -> None:  # noqa: ARG002 - the stdlib's signature
        return None

    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:  # noqa: ARG002 - the stdlib's signature
        return None


class _Pools:
    """One keep-alive client per origin, shared by every thread of the process.

    httpx clients (and httpcore's connection pool under them) are safe to share between
    threads. A forked process starts with pools of its own: sockets are never shared with the
    parent. Cookies are never kept, so nothing one call receives is sent with another.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._clients: dict[tuple[str, str, int | None], httpx.Client] = {}

    @staticmethod
    def _origin(url: str) -> tuple[str, str, int | None]:
        parts = urlsplit(url)
        return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port

    def get(self, url: str) -> httpx.Client:
        origin = self._origin(url)
        with self._lock:
            if self._pid != os.getpid():
                self._pid, self._clients = os.getpid(), {}
            found = self._clients.get(origin)
            if found is None:
                found = httpx.Client(
                    headers={"User-Agent": USER_AGENT},
                    # No cap on connections: a thread never waits for another's; idle ones beyond
                    # httpx's 20 per origin are closed.
                    transport=_GuardedTransport(
                        max_bytes=DEFAULT_MAX_BYTES, verify=_ssl_context(), max_connections=None
                    ),
                    cookies=_NoCookies(),
                    follow_redirects=False,
                    trust_env=False,
                )
                self._clients[origin] = found
            return found

    def close(self, url: str | None = None) -> None:
        """Close the pool of ``url``'s origin, or every pool (at shutdown)."""
        with self._lock:
            if self._pid != os.getpid():
                self._pid, self._clients = os.getpid(), {}
            if url is None:
                closing, self._clients = list(self._clients.values()), {}
            else:
                one = self._clients.pop(self._origin(url), None)
                closing = [one] if one is not None else []
        for item in closing:
            item.close()


_pools = _Pools()
atexit.register(_pools.close)


def request(
    method: str,
    url: str,
    *,
    timeout: httpx.Timeout | float | None = None,
    headers: dict[str, str] | None = None,
    params: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    json: Any = None,
    files: dict[str, Any] | None = None,
    content: bytes | Iterator[bytes] | None = None,
) -> httpx.Response:
    """One request on the shared keep-alive pool of ``url``'s origin (absolute URL), read whole.

    ``content`` may be an iterator of pieces (give ``Content-Length`` in ``headers``): a large
    body is then sent as it is read, never held whole.

    The same guard, user agent and size cap as :func:`client`; no redirects, no cookies. Safe to
    call from any thread; the pools are closed when the process exits (:func:`close_pools`).
    """
    return _pools.get(url).request(
        method,
        url,
        timeout=timeout if timeout is not None else default_timeout(),
        headers=headers,
        params=params,
        data=data,
        json=json,
        files=files,
        content=content,
    )


def close_pools(url: str | None = None) -> None:
    """Close the shared pool of ``url``'s origin (a server that went away), or all of them."""
    _pools.close(url)


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
