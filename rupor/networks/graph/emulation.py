"""What the Facebook and Instagram emulators share: the Graph API's error answers, its usage
headers and throttling, its version prefix, token reading, and fetching media by URL as Meta does.

Built from the Graph API's documentation (error handling, rate limiting; see
:mod:`rupor.networks.graph.wire`), never from Rupor's adapters.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Scope

from rupor.core import http

_VERSION = re.compile(r"^/v(\d+)\.(\d+)(/|$)")
#: The oldest version the emulated Graph API still serves; calls to older ones are refused (2635).
OLDEST_VERSION = (22, 0)


class GraphFault(Exception):
    """Raised inside an emulator handler: answered as the Graph API's error envelope."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        type_: str = "OAuthException",
        subcode: int | None = None,
        is_transient: bool | None = None,
        status: int = 400,
        user_title: str = "",
        user_msg: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.type = code, message, type_
        self.subcode, self.is_transient, self.status = subcode, is_transient, status
        self.user_title, self.user_msg = user_title, user_msg
        self.headers = dict(headers or {})

    def response(self, extra_headers: Mapping[str, str] | None = None) -> JSONResponse:
        return error_response(
            self.code,
            self.message,
            type_=self.type,
            subcode=self.subcode,
            is_transient=self.is_transient,
            status=self.status,
            user_title=self.user_title,
            user_msg=self.user_msg,
            headers={**(extra_headers or {}), **self.headers},
        )


def error_response(
    code: int,
    message: str,
    *,
    type_: str = "OAuthException",
    subcode: int | None = None,
    is_transient: bool | None = None,
    status: int = 400,
    user_title: str = "",
    user_msg: str = "",
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The Graph API's error envelope, with a fresh ``fbtrace_id``."""
    error: dict[str, Any] = {"message": message, "type": type_, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    if is_transient is not None:
        error["is_transient"] = is_transient
    if user_title:
        error["error_user_title"] = user_title
    if user_msg:
        error["error_user_msg"] = user_msg
    error["fbtrace_id"] = "A" + secrets.token_urlsafe(15)
    return JSONResponse({"error": error}, status_code=status, headers=dict(headers or {}))


def invalid_token(subcode: int | None = None) -> GraphFault:
    """Code 190: a token that is unknown, expired or invalidated (subcodes as documented)."""
    messages = {
        460: "Error validating access token: The session has been invalidated because the user changed their password.",
        463: "Error validating access token: Session has expired.",
        467: "Error validating access token: The session is invalid.",
    }
    return GraphFault(
        190,
        messages.get(subcode or 0, "Invalid OAuth access token - Cannot parse access token"),
        subcode=subcode,
    )


def missing_permission(permission: str) -> GraphFault:
    return GraphFault(
        200,
        f"(#200) Requires {permission} permission to manage the object",
        type_="OAuthException",
    )


def nonexisting_field(field_name: str, node_type: str) -> GraphFault:
    return GraphFault(
        100, f"(#100) Tried accessing nonexisting field ({field_name}) on node type ({node_type})"
    )


def unsupported_get(object_id: str, method: str = "get") -> GraphFault:
    return GraphFault(
        100,
        f"Unsupported {method} request. Object with ID '{object_id}' does not exist, cannot be loaded due to "
        "missing permissions, or does not support this operation. Please read the Graph API documentation at "
        "https://developers.facebook.com/docs/graph-api",
        type_="GraphMethodException",
        subcode=33,
    )


def invalid_param(message: str) -> GraphFault:
    return GraphFault(100, f"(#100) {message}")


def split_version(path: str) -> tuple[tuple[int, int] | None, str]:
    """``/v26.0/123/feed`` → ``((26, 0), "/123/feed")``; an unversioned path goes to the oldest version."""
    match = _VERSION.match(path)
    if match is None:
        return None, path
    return (int(match.group(1)), int(match.group(2))), "/" + path[match.end() :].lstrip("/")


def check_version(version: tuple[int, int] | None) -> None:
    if version is not None and version < OLDEST_VERSION:
        raise GraphFault(
            2635,
            f"(#2635) You are calling a deprecated version of the Graph API. Please update to the latest version: "
            f"v{OLDEST_VERSION[0]}.{OLDEST_VERSION[1]}.",
        )


def token_of(request: Request, params: Mapping[str, Any]) -> str | None:
    """The access token, from ``Authorization: Bearer|OAuth <token>`` or ``access_token``."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() in ("bearer", "oauth") and value.strip():
        return value.strip()
    token = params.get("access_token")
    return str(token) if token else None


async def params_of(request: Request) -> dict[str, Any]:
    """Query parameters merged with a form or JSON body (the Graph API takes either)."""
    params: dict[str, Any] = dict(request.query_params)
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    if body and "json" in content_type:
        decoded = json.loads(body)
        if isinstance(decoded, dict):
            params.update(decoded)
    elif body and "multipart/form-data" in content_type:
        form = await request.form()
        for key, value in form.multi_items():
            params[key] = value
    elif body:
        pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        for key, value in pairs:
            if key.endswith("[]") or (key in params and key.startswith("attached_media")):
                params.setdefault(key, [])
                if isinstance(params[key], list):
                    params[key].append(value)
            else:
                params[key] = value
    return params


def method_of(scope: Scope, _body: bytes) -> str | None:
    """The name faults are keyed by: ``"POST /feed"`` (the last path part; ids left out)."""
    path = str(scope.get("path") or "")
    if path.startswith("/_emulator"):
        return None
    _version, rest = split_version(path)
    parts = [p for p in rest.split("/") if p]
    last = parts[-1] if parts else ""
    edge = last if parts and not last.replace("_", "").isdigit() else "node"
    return f"{scope.get('method', 'GET')} {edge}"


def rate_limited_answer(_method: str) -> Response:
    """An injected throttle (fault injection): code 4, without usage headers, so it stands for a
    single refused call rather than an app at its limit (the usage meters emulate that)."""
    return error_response(4, "(#4) Application request limit reached", is_transient=True, status=403)


def server_error_answer(_method: str) -> Response:
    return error_response(
        2, "An unexpected error has occurred. Please retry your request later.", is_transient=True, status=500
    )


# -- usage -----------------------------------------------------------------------------------------


@dataclass
class UsageMeter:
    """Counts calls in a sliding window and reports them as Meta's usage headers.

    ``limit`` calls per ``window_s`` for each key (an app, a Page's business); at 100 % a call is
    refused with ``code`` (4 app, 32 Page, 80001 Pages BUC) until the oldest call leaves the window.
    """

    limit: int
    window_s: float
    code: int = 32
    calls: dict[str, deque[float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def percent(self, key: str, now: float) -> tuple[int, float]:
        window = self.calls.setdefault(key, deque())
        while window and window[0] <= now - self.window_s:
            window.popleft()
        used = round(100 * len(window) / self.limit) if self.limit else 0
        regain = (window[0] + self.window_s - now) if window and len(window) >= self.limit else 0.0
        return min(used, 100), max(regain, 0.0)

    def count(self, key: str, now: float) -> tuple[bool, int, float]:
        """Count one call; returns (allowed, percent used after it, seconds until regained)."""
        with self.lock:
            used, regain = self.percent(key, now)
            if used >= 100:
                return False, used, regain
            self.calls[key].append(now)
            used, regain = self.percent(key, now)
            return True, used, regain

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()


def app_usage_header(percent: int) -> dict[str, str]:
    return {
        "X-App-Usage": f'{{"call_count":{percent},"total_cputime":{percent // 4},"total_time":{percent // 3}}}'
    }


def business_usage_header(
    business_id: str, percent: int, regain_s: float, use_case: str = "pages"
) -> dict[str, str]:
    minutes = int(regain_s // 60) + (1 if regain_s % 60 else 0)
    return {
        "X-Business-Use-Case-Usage": (
            f'{{"{business_id}":[{{"type":"{use_case}","call_count":{percent},"total_cputime":{percent // 4},'
            f'"total_time":{percent // 3},"estimated_time_to_regain_access":{minutes}}}]}}'
        )
    }


def throttled(code: int, headers: Mapping[str, str]) -> GraphFault:
    messages = {
        4: "(#4) Application request limit reached",
        17: "(#17) User request limit reached",
        32: "(#32) Page request limit reached",
        613: "(#613) Calls to this api have exceeded the rate limit.",
        80001: "(#80001) There have been too many calls to this Page account. Wait a bit and try again.",
    }
    return GraphFault(
        code, messages.get(code, f"(#{code}) Rate limit reached"), is_transient=True, headers=headers
    )


# -- media by URL -----------------------------------------------------------------------------------

#: The most the emulated Graph API downloads for one picture (Meta documents 4 MB for Page photos
#: sent by URL, 10 MB by upload; the larger is kept so only real failures fail).
FETCH_MAX_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Fetched:
    data: bytes
    content_type: str


def _fetch(url: str, max_bytes: int) -> Fetched | None:
    if not url.startswith(("http://", "https://")):
        return None
    try:
        response = http.request("GET", url, timeout=10)
    except httpx.HTTPError:
        return None
    if response.status_code != 200 or len(response.content) > max_bytes:
        return None
    return Fetched(response.content, response.headers.get("content-type", "").split(";")[0].strip())


async def fetch_url(url: str, max_bytes: int = FETCH_MAX_BYTES) -> Fetched | None:
    """Download ``url`` as Meta's servers do for ``url=`` parameters; ``None`` when it cannot be
    fetched (an address that does not answer, an HTTP error, too big). Runs off the event loop."""
    return await asyncio.to_thread(_fetch, url, max_bytes)


def looks_like_image(data: bytes) -> str | None:
    """The picture type of ``data`` by its first bytes (JPEG, PNG, GIF, WebP, BMP, TIFF), or ``None``."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:2] == b"BM":
        return "image/bmp"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    return None


def unfetchable_image() -> GraphFault:
    """What the Graph API answers when it cannot download a picture given by URL, or it is not one."""
    return GraphFault(324, "(#324) Missing or invalid image file")
