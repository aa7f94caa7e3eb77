"""OK.ru (Odnoklassniki) wire format: request signing, payload shapes, error codes.

Everything here follows the official REST documentation (https://apiok.ru/dev/methods/):

* every method is reachable as ``{api_server}fb.do?method=<name>`` and as
  ``{api_server}api/<group>/<name>``, with GET or POST (form) parameters;
* common parameters: ``application_key``, ``format=json``, ``access_token`` (or ``session_key``)
  and ``sig``;
* ``sig = md5(sorted "key=value" pairs, no separator, without sig/access_token/session_key
  + session_secret_key)`` in lower-case hex, where for a server call in a session
  ``session_secret_key = md5(access_token + application_secret_key)`` (lower-case hex);
* errors come back as ``{"error_code": N, "error_msg": "...", "error_data": null}`` (HTTP 200)
  with the code repeated in the ``invocation-error`` header.

Raw payloads never leave ``rupor/networks/ok/``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from enum import IntEnum
from typing import Any
from zoneinfo import ZoneInfo

from rupor.networks.errors import AuthExpired, CodeRule, RateLimited, Rejected, Transient, UnknownOutcome

DEFAULT_API_SERVER = "https://api.ok.ru/"
#: OK shows and accepts local times (``publishAt``, comment ``date``) in Moscow time.
MOSCOW = ZoneInfo("Europe/Moscow")
OK_DATETIME = "%Y-%m-%d %H:%M:%S"

#: Parameters never part of the signature (apiok.ru "Calculating request signature").
UNSIGNED = frozenset({"sig", "access_token", "session_key"})


# -- error codes (https://apiok.ru/en/dev/errors) -------------------------------------------
class Code(IntEnum):
    """OK's error codes, by the names OK's ``error_msg`` starts with."""

    UNKNOWN = 1
    SERVICE = 2
    METHOD = 3
    REQUEST = 4
    ACTION_BLOCKED = 7
    FLOOD_BLOCKED = 8
    IP_BLOCKED = 9
    PERMISSION_DENIED = 10
    LIMIT_REACHED = 11
    CANCELLED = 12
    NOT_MULTIPART = 21
    NOT_ACTIVATED = 22
    NOT_YET_INVOLVED = 23
    NOT_OWNER = 24
    NOT_ADMIN = 50
    PARAM = 100
    PARAM_API_KEY = 101
    PARAM_SESSION_EXPIRED = 102
    PARAM_SESSION_KEY = 103
    PARAM_SIGNATURE = 104
    PARAM_RESIGNATURE = 105
    NOT_FOUND = 300


_PERSON = {"needs_person": True}

#: What each OK error code means (never its text). ``UnknownOutcome`` rows are ambiguous: an
#: unknown outcome on a create, transient on anything else.
ERRORS: dict[int, CodeRule] = {
    Code.FLOOD_BLOCKED: CodeRule(
        RateLimited, "OK is limiting how often Rupor may call it; Rupor will slow down.", retry_after=5.0
    ),
    Code.ACTION_BLOCKED: CodeRule(
        RateLimited,
        "OK has temporarily blocked this action for the account; Rupor will try later.",
        retry_after=300.0,
    ),
    Code.IP_BLOCKED: CodeRule(
        RateLimited,
        "OK has temporarily blocked requests from this server; Rupor will try later.",
        retry_after=900.0,
    ),
    Code.LIMIT_REACHED: CodeRule(
        RateLimited,
        "The account reached an OK limit for this action; Rupor will try again later.",
        retry_after=3600.0,
    ),
    Code.SERVICE: CodeRule(Transient, "OK is temporarily unavailable; Rupor will try again."),
    Code.UNKNOWN: CodeRule(UnknownOutcome, "OK reported an unknown error."),
    Code.PARAM_SESSION_EXPIRED: CodeRule(
        AuthExpired, "The OK access token has expired or was revoked; reconnect the group.", **_PERSON
    ),
    Code.PARAM_SESSION_KEY: CodeRule(
        AuthExpired, "OK did not accept the access token; reconnect the group.", **_PERSON
    ),
    Code.PARAM_API_KEY: CodeRule(
        AuthExpired,
        "OK does not know this application key; check the keys and reconnect the group.",
        **_PERSON,
    ),
    Code.PARAM_SIGNATURE: CodeRule(
        AuthExpired,
        "OK rejected the request signature: the application secret key does not match the "
        "application key or the token. Check the keys and reconnect the group.",
        **_PERSON,
    ),
    Code.PERMISSION_DENIED: CodeRule(
        Rejected,
        "Rupor's OK application has no permission to post to this group: the connected account must be an "
        "administrator or moderator of the group, and the application needs the GROUP_CONTENT permission "
        "(OK grants it on request to api-support@ok.ru).",
        **_PERSON,
    ),
    Code.NOT_ADMIN: CodeRule(
        Rejected, "The connected OK account is not an administrator of this group.", **_PERSON
    ),
    Code.NOT_OWNER: CodeRule(
        Rejected, "The connected OK account is not an administrator of this group.", **_PERSON
    ),
    Code.NOT_FOUND: CodeRule(Rejected, "OK cannot find that post or comment; it may have been deleted."),
    Code.PARAM: CodeRule(
        Rejected,
        "OK did not accept the post: some of its content or settings are not allowed.",
        **_PERSON,
    ),
}
#: Any other code: refused, for a person to look at.
OTHER_ERROR = CodeRule(Rejected, "OK refused the request.", **_PERSON)


def session_secret_key(access_token: str, application_secret_key: str) -> str:
    """``md5(access_token + application_secret_key)`` in lower-case hex."""
    return hashlib.md5(
        (access_token + application_secret_key).encode("utf-8"), usedforsecurity=False
    ).hexdigest()


def signature(params: Mapping[str, Any], secret: str) -> str:
    """The ``sig`` of a parameter set for the given secret (session or application secret).

    ``access_token``, ``session_key`` and ``sig`` itself are left out; the rest is sorted by
    key, joined as ``key=value`` without separators, the secret appended, and md5'd.
    """
    joined = "".join(f"{key}={params[key]}" for key in sorted(params) if key not in UNSIGNED)
    return hashlib.md5((joined + secret).encode("utf-8"), usedforsecurity=False).hexdigest()


def signed_params(
    method: str,
    params: Mapping[str, Any],
    *,
    application_key: str,
    application_secret_key: str,
    access_token: str,
) -> dict[str, str]:
    """All parameters of one session call to ``fb.do``, signed and with the token added."""
    out = {key: _as_param(value) for key, value in params.items() if value is not None}
    out.update({"method": method, "application_key": application_key, "format": "json"})
    out["sig"] = signature(out, session_secret_key(access_token, application_secret_key))
    out["access_token"] = access_token
    return out


def _as_param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def error_name(code: int, default: str = "UNKNOWN") -> str:
    """The name OK gives an error code (``error_msg`` starts with it)."""
    try:
        return Code(code).name
    except ValueError:
        return default


def error_payload(code: int, detail: str) -> dict[str, Any]:
    """OK's error envelope: ``error_msg`` is ``"<NAME> : <detail>"`` as the API writes it."""
    name = error_name(code)
    return {"error_code": code, "error_msg": f"{name} : {detail}", "error_data": None}


def is_error(payload: Any) -> bool:
    return isinstance(payload, dict) and "error_code" in payload


# -- mediatopic attachment ------------------------------------------------------------------
def attachment_json(
    *,
    text: str = "",
    photo_tokens: tuple[str, ...] | list[str] = (),
    video_ids: tuple[str, ...] | list[str] = (),
    poll: Mapping[str, Any] | None = None,
    link: str | None = None,
    publish_at: dt.datetime | None = None,
    on_behalf_of_group: bool = True,
) -> str:
    """The ``attachment`` JSON of ``mediatopic.post`` (media blocks in display order)."""
    media: list[dict[str, Any]] = []
    if text:
        media.append({"type": "text", "text": text})
    if photo_tokens:
        media.append({"type": "photo", "list": [{"id": token} for token in photo_tokens]})
    if video_ids:
        media.append({"type": "movie", "list": [{"id": _video_id(v)} for v in video_ids]})
    if poll is not None:
        media.append({"type": "poll", **poll})
    if link:
        media.append({"type": "link", "url": link})
    body: dict[str, Any] = {"media": media}
    if on_behalf_of_group:
        body["onBehalfOfGroup"] = "true"
    if publish_at is not None:
        body["publishAt"] = to_ok_datetime(publish_at)
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def _video_id(value: str) -> int | str:
    """OK's video ids are numbers; send them as JSON numbers like ``video.getUploadUrl`` returns them."""
    text = str(value)
    return int(text) if text.isdigit() else text


def poll_block(
    question: str, answers: tuple[str, ...] | list[str], *, multiple: bool, anonymous: bool
) -> dict[str, Any]:
    options = [] if multiple else ["SingleChoice"]
    if anonymous:
        options.append("AnonymousVoting")
    block: dict[str, Any] = {"question": question, "answers": [{"text": a} for a in answers]}
    if options:
        block["options"] = ",".join(options)
    return block


def topic_text(media: Sequence[Mapping[str, Any]] | None) -> str:
    """The text of a topic: its text blocks joined by a blank line."""
    parts = [str(block.get("text", "")) for block in media or () if block.get("type") == "text"]
    return "\n\n".join(p for p in parts if p)


#: A topic's media block types and the format they make a post, strongest first.
_FORMATS = (("movie", "video"), ("photo", "photo"), ("poll", "poll"), ("link", "link"))


def topic_format(media: Sequence[Mapping[str, Any]] | None) -> str:
    """What a topic mostly is ("video", "photo", "poll", "link" or "text"), from its media blocks."""
    kinds = {block.get("type") for block in media or ()}
    return next((fmt for kind, fmt in _FORMATS if kind in kinds), "text")


# -- video ---------------------------------------------------------------------------------
#: ``video.getUploadUrl`` refuses files under 16 KB (``PARAM : FileToSmall``) and over 1 GB
#: (``PARAM : FileToLarge``) [V apiok/documentation video.getUploadUrl].
VIDEO_MIN_BYTES = 16 * 1024
VIDEO_MAX_BYTES = 1024**3
VIDEO_TYPES = (
    "video/mp4",
    "video/quicktime",
    "video/x-msvideo",
    "video/avi",
    "video/3gpp",
    "video/mpeg",
    "video/x-flv",
    "video/x-ms-wmv",
    "video/x-matroska",
    "video/webm",
    "video/ogg",
    "video/mp2t",
    "video/x-m4v",
)
VIDEO_EXTENSIONS = frozenset(
    {
        "mp4",
        "m4v",
        "mov",
        "qt",
        "avi",
        "3gp",
        "3g2",
        "mpeg",
        "mpg",
        "mpe",
        "vob",
        "flv",
        "f4v",
        "wmv",
        "asf",
        "mkv",
        "webm",
        "ogv",
        "ogg",
        "ts",
        "mts",
        "m2ts",
        "rm",
        "rmvb",
        "dv",
        "divx",
        "xvid",
    }
)


# -- time -----------------------------------------------------------------------------------
def to_ok_datetime(moment: dt.datetime) -> str:
    return moment.astimezone(MOSCOW).strftime(OK_DATETIME)


def from_ok_datetime(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, OK_DATETIME).replace(tzinfo=MOSCOW).astimezone(dt.UTC)


def from_ms(value: Any) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(value) / 1000, dt.UTC)
