"""Fetching a page and its picture the way a network's crawler does, through ``core/http.py``.

Every hop goes through the guarded client: only http(s), private, loopback and link-local
addresses refused unless the operator allowed them (checked when each connection is opened, so a
redirect to ``http://127.0.0.1/`` or a name that resolves inside the network is refused too),
connect and read timeouts, a size cap. On top of that: redirects are followed here, one hop at a
time (at most :data:`MAX_REDIRECTS`, loops refused, each hop recorded), the whole fetch has a
deadline (:data:`DEADLINE_S`, so a server that trickles bytes cannot hold a worker), and a page is
read only as far as :data:`PAGE_READ_BYTES` (crawlers read the head of a page, not all of it).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx
from django.utils.translation import gettext as _

from rupor.core import http

#: Hops followed after the first request (Facebook's crawler follows a few; longer chains lose cards).
MAX_REDIRECTS = 5
#: Seconds one fetch (every hop and the body) may take in all.
DEADLINE_S = 15.0
#: Seconds to connect and between two reads.
TIMEOUT = httpx.Timeout(connect=5.0, read=10.0, write=10.0, pool=5.0)
#: How much of a page is read: the tags the networks read sit in its head.
PAGE_READ_BYTES = 1024 * 1024
#: The largest page answer accepted at all (declared or streamed).
PAGE_MAX_BYTES = 32 * 1024 * 1024
#: The largest picture read (above every network's limit: Facebook's is 8 MB).
IMAGE_MAX_BYTES = 16 * 1024 * 1024
_REDIRECTS = {301, 302, 303, 307, 308}
PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
IMAGE_ACCEPT = "image/avif,image/webp,image/png,image/jpeg,image/*;q=0.8,*/*;q=0.5"


class FetchFailure(Exception):
    """Why an address could not be read: ``code`` for programs, ``message`` for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Hop:
    """One redirect on the way: the address asked and the status that sent Rupor on."""

    url: str
    status: int


@dataclass(frozen=True)
class Fetched:
    url: str
    hops: tuple[Hop, ...]
    status: int
    reason: str
    content_type: str
    charset: str | None
    body: bytes
    #: The answer went on past what was read (a page read only as far as its head).
    truncated: bool
    #: What the server declared (Content-Length), when it did.
    declared_bytes: int | None


def _host(url: str) -> str:
    return urlsplit(url).hostname or url


@contextmanager
def _failures(url: str, seconds: float) -> Iterator[None]:
    """The transport's exceptions as :class:`FetchFailure`, worded for people."""
    host = _host(url)
    try:
        yield
    except http.BlockedAddress as exc:  # the guard's own text is for logs; people get this
        raise FetchFailure(
            "blocked",
            _(
                "%(url)s leads to a private or local address (%(host)s). Rupor does not fetch those, "
                "and the networks could not reach it either: check a public address. (An operator "
                "can allow a host with RUPOR_ALLOW_PRIVATE_URLS.)"
            )
            % {"url": url, "host": host},
        ) from exc
    except http.ResponseTooLarge as exc:
        raise FetchFailure(
            "too_big", _("%(url)s answered with more than Rupor reads (%(why)s).") % {"url": url, "why": exc}
        ) from exc
    except httpx.TimeoutException as exc:
        raise FetchFailure(
            "timeout",
            _(
                "%(host)s did not answer within %(seconds)s seconds. Networks' crawlers give up as "
                "quickly: the card would be empty. Make the page answer faster, then check again."
            )
            % {"host": host, "seconds": int(seconds)},
        ) from exc
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
        raise FetchFailure(
            "unreachable",
            _(
                "Rupor could not reach %(host)s (%(why)s). Check the address and that the site is "
                "up and reachable from the internet."
            )
            % {"host": host, "why": exc.__class__.__name__ if not str(exc) else str(exc)[:200]},
        ) from exc


def _read(response: httpx.Response, *, keep: int, deadline: float, whole: bool) -> tuple[bytes, bool]:
    """The body up to ``keep`` bytes, and whether there was more. ``whole``: more is a failure."""
    chunks: list[bytes] = []
    total = 0
    for chunk in response.iter_bytes():
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout("the answer took too long", request=response.request)
        chunks.append(chunk)
        total += len(chunk)
        if total > keep:
            if whole:
                raise http.ResponseTooLarge(f"more than {keep} bytes")
            return b"".join(chunks)[:keep], True
    return b"".join(chunks), False


def fetch(url: str, *, accept: str, keep: int, whole: bool, max_bytes: int) -> Fetched:
    """GET ``url`` as a crawler would, following redirects one by one.

    ``keep``: how many bytes of the body to read; past that the rest is left unread
    (``truncated``), or, when ``whole``, the fetch fails as too big. Raises :class:`FetchFailure`.
    """
    deadline = time.monotonic() + DEADLINE_S
    hops: list[Hop] = []
    seen = {url}
    current = url
    headers = {"Accept": accept, "Accept-Encoding": "gzip, deflate"}
    with http.client(timeout=TIMEOUT, max_bytes=max_bytes, headers=headers) as client:
        for _hop in range(MAX_REDIRECTS + 1):
            if time.monotonic() > deadline:
                with _failures(current, DEADLINE_S):
                    raise httpx.ReadTimeout("the redirects took too long")
            with _failures(current, DEADLINE_S), client.stream("GET", current) as response:
                location = response.headers.get("location", "").strip()
                if response.status_code in _REDIRECTS and location:
                    hops.append(Hop(current, response.status_code))
                    current = _next_hop(current, location, seen)
                    continue
                body, truncated = _read(response, keep=keep, deadline=deadline, whole=whole)
                declared = response.headers.get("content-length", "")
                content_type = response.headers.get("content-type", "")
                return Fetched(
                    url=current,
                    hops=tuple(hops),
                    status=response.status_code,
                    reason=response.reason_phrase,
                    content_type=content_type.split(";", 1)[0].strip().lower(),
                    charset=response.charset_encoding,
                    body=body,
                    truncated=truncated,
                    declared_bytes=int(declared) if declared.isdigit() else None,
                )
    raise FetchFailure(
        "redirects",
        _(
            "%(url)s redirects more than %(n)s times. Networks give up on long chains: share the "
            "final address instead."
        )
        % {"url": url, "n": MAX_REDIRECTS},
    )


def _next_hop(current: str, location: str, seen: set[str]) -> str:
    target = urljoin(current, location)
    scheme = urlsplit(target).scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchFailure(
            "redirects",
            _("%(url)s redirects to %(target)s, which is not a web address.")
            % {"url": current, "target": target},
        )
    if target in seen:
        raise FetchFailure(
            "redirect_loop",
            _(
                "%(url)s redirects in a loop (back to %(target)s): no network can read it. Fix the "
                "site's redirects."
            )
            % {"url": current, "target": target},
        )
    seen.add(target)
    return target
