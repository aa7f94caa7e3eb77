"""The one transport of the network adapters: a call, and what its failure means.

Every API call of an adapter goes out through :func:`send` on the shared keep-alive pool of
``core/http.py``; what came back is judged here, in one place, by what is known for certain:

* the transport failed before the request left (no connection, no free pooled connection, a
  refused address): nothing happened, whatever the call;
* the request left and no usable answer came back (a reset, a timeout, a 5xx, a body that is not
  the API's): on a call that *creates* something (``creates=True``) that is an
  :class:`~rupor.networks.errors.UnknownOutcome` (the engine reconciles and never sends again
  blindly); on any other call it is :class:`~rupor.networks.errors.Transient`, retried;
* a 429 is :class:`~rupor.networks.errors.RateLimited`, another non-2xx status
  :class:`~rupor.networks.errors.Rejected`.

The networks' own error codes, inside an answer that did come back, are mapped by each
network's ``wire.py`` table (:class:`~rupor.networks.errors.CodeRule`).
"""

from __future__ import annotations

from collections.abc import Iterator
from http import HTTPStatus
from typing import Any

import httpx

from rupor.core import http
from rupor.networks import errors

#: Failures that happen before any byte of the request is written: provably nothing was sent.
NOT_SENT: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
)


def send(
    network: str,
    method: str,
    url: str,
    *,
    creates: bool,
    what: str = "",
    timeout: float | None = None,
    headers: dict[str, str] | None = None,
    params: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    json: Any = None,
    files: dict[str, Any] | None = None,
    content: bytes | Iterator[bytes] | None = None,
) -> httpx.Response:
    """One request on the shared pool; a transport failure is raised as a taxonomy error."""
    try:
        return http.request(
            method,
            url,
            timeout=timeout,
            headers=headers,
            params=params,
            data=data,
            json=json,
            files=files,
            content=content,
        )
    except httpx.HTTPError as exc:
        raise transport_error(exc, network=network, creates=creates, what=what) from exc


def transport_error(
    exc: httpx.HTTPError, *, network: str, creates: bool, what: str = ""
) -> errors.NetworkError:
    """Map a transport failure: before sending it is transient, after sending it is ambiguous."""
    name = type(exc).__name__
    if isinstance(exc, http.BlockedAddress):
        return errors.Rejected(
            f"Rupor refuses to call this {network} address: {exc}",
            code="blocked_address",
            needs_person=True,
        )
    if isinstance(exc, NOT_SENT):
        return errors.Transient(
            f"Could not reach {network} ({name}); nothing was sent.", code=name, excerpt=name
        )
    during = f" during {what}" if what else ""
    return errors.ambiguous(
        creates, f"The connection to {network} failed{during} ({name}).", code=name, excerpt=name
    )


def status_error(
    response: httpx.Response,
    *,
    network: str,
    creates: bool,
    excerpt: str,
    retry_after: float | None = None,
) -> errors.NetworkError | None:
    """The error an HTTP status means, or ``None`` for a 2xx (the body then decides).

    ``retry_after`` is the network's usual wait for a 429 without a ``Retry-After`` header.
    """
    status = response.status_code
    if status == HTTPStatus.TOO_MANY_REQUESTS:
        header = response.headers.get("retry-after", "")
        return errors.RateLimited(
            f"{network} asks to slow down.",
            code=HTTPStatus.TOO_MANY_REQUESTS,
            excerpt=excerpt,
            retry_after=float(header) if header.isdigit() else retry_after,
        )
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        return errors.ambiguous(
            creates, f"{network} answered with a server error ({status}).", code=status, excerpt=excerpt
        )
    if not HTTPStatus.OK <= status < HTTPStatus.MULTIPLE_CHOICES:
        return errors.Rejected(
            f"{network} refused the request (HTTP {status}).", code=status, excerpt=excerpt
        )
    return None


def json_body(response: httpx.Response, *, network: str, creates: bool, excerpt: str) -> Any:
    """The decoded JSON body; a body that is not JSON is an ambiguous answer."""
    try:
        return response.json()
    except ValueError as exc:
        raise errors.ambiguous(
            creates, f"{network} sent an answer Rupor could not read.", excerpt=excerpt
        ) from exc
