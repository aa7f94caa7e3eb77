"""Calls to the Graph API over the shared transport (:func:`rupor.networks.transport.send`).

:func:`call` sends one request to ``{base}/{VERSION}/{path}`` with the token in the
``Authorization`` header (never in a URL that could reach a log), reads the usage headers of
every answer and, when one is at or over :data:`~rupor.networks.graph.wire.PAUSE_AT` percent,
keeps a pause for that app and token: the next call inside it is refused here as
:class:`~rupor.networks.errors.RateLimited` *before* it reaches Meta, so the limit itself is
never hit. Errors are mapped by :func:`~rupor.networks.graph.wire.to_network_error`.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from rupor.networks import errors, transport
from rupor.networks.graph import wire

_pauses: dict[str, float] = {}
_pauses_lock = threading.Lock()


def appsecret_proof(token: str, app_secret: str) -> str:
    """The ``appsecret_proof`` parameter: HMAC-SHA256 of the token keyed with the app secret."""
    return hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def _keys(base_url: str, token: str) -> tuple[str, str]:
    """The buckets a call counts in: the app (every token Rupor uses at this API root) and this token."""
    origin = urlsplit(base_url)
    app = f"app:{origin.scheme}://{origin.netloc}"
    return app, f"{app}:token:{hashlib.sha256(token.encode()).hexdigest()[:16]}"


def paused_for(base_url: str, token: str) -> float:
    """Seconds left before calls with ``token`` may go out again (0: now)."""
    now = time.monotonic()
    with _pauses_lock:
        return max((_pauses.get(k, 0.0) - now for k in _keys(base_url, token)), default=0.0)


def _note(base_url: str, token: str, wait: float, *, app_wide: bool) -> None:
    """Keep a pause of ``wait`` seconds for the whole app (``X-App-Usage``, code 4) or for this
    token alone (Business Use Case and Page usage, codes 17, 32, 613, 800xx)."""
    if wait <= 0:
        return
    app_key, token_key = _keys(base_url, token)
    key = app_key if app_wide else token_key
    until = time.monotonic() + wait
    with _pauses_lock:
        _pauses[key] = max(_pauses.get(key, 0.0), until)


def forget_pauses() -> None:
    """Drop every kept pause (tests)."""
    with _pauses_lock:
        _pauses.clear()


def url(base_url: str | None, path: str) -> str:
    return f"{(base_url or wire.DEFAULT_BASE_URL).rstrip('/')}/{wire.VERSION}/{path.lstrip('/')}"


def call(
    network: str,
    method: str,
    base_url: str | None,
    path: str,
    token: str,
    *,
    creates: bool,
    what: str = "",
    params: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    app_secret: str = "",
    timeout: float | None = None,
) -> Any:
    """One Graph API call; returns the decoded body or raises a :mod:`rupor.networks.errors` class.

    ``creates`` says whether the call makes something (a post, a photo, a comment): then an answer
    that does not say whether it worked is an :class:`~rupor.networks.errors.UnknownOutcome`.
    """
    base = base_url or wire.DEFAULT_BASE_URL
    left = paused_for(base, token)
    if left > 0:
        raise errors.RateLimited(
            f"{network} usage is near its limit; Rupor holds its calls for {int(left) + 1} s so the limit is not reached.",
            code="usage_pause",
            retry_after=left,
        )
    query = dict(params or {})
    if app_secret:
        query["appsecret_proof"] = appsecret_proof(token, app_secret)
    response = transport.send(
        network,
        method,
        url(base, path),
        creates=creates,
        what=what,
        timeout=timeout,
        headers={"Authorization": f"Bearer {token}"},
        params=query or None,
        data=data,
    )
    usages = wire.parse_usage(response.headers)
    excerpt = response.text[:300]
    payload: Any = None
    try:
        payload = response.json()
    except ValueError:
        payload = None
    error = wire.parse_error(payload)
    if error is not None:
        wait = wire.throttle_wait(usages)
        mapped = wire.to_network_error(error, creates=creates, excerpt=excerpt, retry_after=wait)
        if isinstance(mapped, errors.RateLimited) and usages:
            # The headers say how far over the limit it is: every call with this app or token
            # waits, not only the one refused (the refused one carries ``retry_after`` itself).
            _note(base, token, max(wire.pause_for(usages), wait or 0.0), app_wide=error.code == 4)
        raise mapped
    app_wide = any(u.header == "x-app-usage" and u.percent >= wire.PAUSE_AT for u in usages)
    _note(base, token, wire.pause_for(usages), app_wide=app_wide)
    failed = transport.status_error(response, network=network, creates=creates, excerpt=excerpt)
    if failed is not None:
        raise failed
    if payload is None:
        raise errors.ambiguous(creates, f"{network} sent an answer Rupor could not read.", excerpt=excerpt)
    return payload
