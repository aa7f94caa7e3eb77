"""The AT Protocol (Bluesky) on the wire: XRPC calls, record keys, rich-text facets, error names.

Sources (docs/networks.md, "Bluesky"):

* XRPC: ``GET|POST {pds}/xrpc/<nsid>``, JSON bodies, errors as ``{"error": "<Name>", "message"}``
  (https://atproto.com/specs/xrpc);
* record keys: TIDs, 13 characters of base32-sortable, 53 bits of microseconds and 10 bits of clock
  id (https://atproto.com/specs/tid, https://atproto.com/specs/record-key);
* rich text: facets with **UTF-8 byte** offsets, start inclusive, end exclusive, features
  ``#link``, ``#mention`` (a DID) and ``#tag`` (without the ``#``)
  (https://docs.bsky.app/docs/advanced-guides/post-richtext, lexicon ``app.bsky.richtext.facet``);
* limits: post text 300 graphemes and 3000 bytes, 4 images of at most 1,000,000 bytes each with
  ``alt`` required (lexicons ``app.bsky.feed.post``, ``app.bsky.embed.images``).
"""

from __future__ import annotations

import datetime as dt
import random
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import regex

from rupor.networks import errors
from rupor.networks.text import grapheme_length

DEFAULT_PDS = "https://bsky.social"
POST = "app.bsky.feed.post"
TEXT_MAX_GRAPHEMES = 300
TEXT_MAX_BYTES = 3000
IMAGES_MAX = 4
IMAGE_MAX_BYTES = 1_000_000
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")
ALT_MAX_GRAPHEMES = 10_000  # app.bsky.embed.images#image alt has no maxGraphemes; kept sane
TAG_MAX_GRAPHEMES = 64
TAG_MAX_BYTES = 640
#: Record writes cost points per account: create 3, update 2, delete 1; 5000 an hour, 35000 a day
#: (https://docs.bsky.app/docs/advanced-guides/rate-limits).
WRITE_POINTS_PER_HOUR = 5000
WRITE_POINTS_PER_DAY = 35000
CREATE_POINTS = 3
#: createSession: 30 per 5 minutes and 300 a day per account (same page).
SESSIONS_PER_5_MIN = 30
SESSIONS_PER_DAY = 300

_B32 = "234567abcdefghijklmnopqrstuvwxyz"
_TID_RE = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
_tid_lock = threading.Lock()
_last_tid_us = 0


def tid(now_us: int | None = None, clock_id: int | None = None) -> str:
    """A new TID: microseconds since the epoch (strictly increasing in this process) and a random
    10-bit clock id, in base32-sortable."""
    global _last_tid_us
    with _tid_lock:
        us = now_us if now_us is not None else time.time_ns() // 1000
        if now_us is None:
            us = max(us, _last_tid_us + 1)
            _last_tid_us = us
    cid = clock_id if clock_id is not None else random.getrandbits(10)
    value = (us << 10) | (cid & 0x3FF)
    out = []
    for _ in range(13):
        out.append(_B32[value & 31])
        value >>= 5
    return "".join(reversed(out))


def is_tid(value: str) -> bool:
    return bool(_TID_RE.match(value))


def tid_time(value: str) -> dt.datetime:
    number = 0
    for char in value:
        number = number * 32 + _B32.index(char)
    return dt.datetime.fromtimestamp((number >> 10) / 1_000_000, dt.UTC)


def at_uri(did: str, collection: str, rkey: str) -> str:
    return f"at://{did}/{collection}/{rkey}"


@dataclass(frozen=True)
class AtUri:
    repo: str
    collection: str
    rkey: str


def parse_at_uri(uri: str) -> AtUri:
    match = re.match(r"^at://([^/]+)/([^/]+)/([^/]+)$", uri)
    if not match:
        raise ValueError(f"not a record AT URI: {uri!r}")
    return AtUri(match.group(1), match.group(2), match.group(3))


def post_url(handle_or_did: str, rkey: str, web: str = "https://bsky.app") -> str:
    return f"{web}/profile/{handle_or_did}/post/{rkey}"


def iso(moment: dt.datetime) -> str:
    """``createdAt`` as the lexicons want it: RFC 3339 with milliseconds and ``Z``."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


# -- rich text -------------------------------------------------------------------------------------
#: The patterns of the official client (packages/api/src/rich-text/util.ts, detectFacets).
MENTION_RE = re.compile(r"(^|\s|\()(@)([a-zA-Z0-9.-]+)(\b)")
URL_RE = re.compile(
    r"(^|\s|\()((https?:\/\/[\S]+)|((?P<domain>[a-z][a-z0-9]*(\.[a-z0-9]+)+)[\S]*))", re.IGNORECASE
)
_NOT_TAG = "\\s\u00ad\u2060\u200a\u200b\u200c\u200d\u20e2"
TAG_RE = regex.compile(rf"(^|\s)[#\uff03]((?!\ufe0f)[^{_NOT_TAG}]*[^\d\p{{P}}{_NOT_TAG}]+[^{_NOT_TAG}]*)?")
_TRAILING_P = regex.compile(r"\p{P}+$")
_TRAILING_PUNCT = re.compile(r"[.,;:!?]$")
_HANDLE_RE = re.compile(
    r"^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$"
)


def byte_offset(text: str, char_index: int) -> int:
    """The UTF-8 byte offset of the ``char_index``-th code point of ``text``."""
    return len(text[:char_index].encode("utf-8"))


@dataclass(frozen=True)
class Span:
    """One detected facet before mentions are resolved: code-point span and what it is."""

    start: int
    end: int
    kind: str  # "link" | "mention" | "tag"
    value: str  # the URL, the handle, or the tag without '#'


def detect(text: str) -> list[Span]:
    """Links, mentions and hashtags in ``text`` the way the official client finds them."""
    spans: list[Span] = []
    for match in MENTION_RE.finditer(text):
        handle = match.group(3)
        if not _HANDLE_RE.match(handle) or "." not in handle:
            continue
        start = match.start(2)
        spans.append(Span(start, start + 1 + len(handle), "mention", handle.lower()))
    for match in URL_RE.finditer(text):
        uri = match.group(2)
        if not uri.lower().startswith("http"):
            domain = match.group("domain") or ""
            if "." not in domain or domain.rsplit(".", 1)[-1].lower() not in _TLDS:
                continue
            uri = f"https://{uri}"
        start = match.start(2)
        end = match.end(2)
        shown = match.group(2)
        if _TRAILING_PUNCT.search(shown):
            shown, uri, end = shown[:-1], uri[:-1], end - 1
        if shown.endswith(")") and "(" not in shown:
            shown, uri, end = shown[:-1], uri[:-1], end - 1
        if any(s.start <= start < s.end for s in spans):
            continue
        spans.append(Span(start, end, "link", uri))
    for match in TAG_RE.finditer(text):
        raw = match.group(2)
        if not raw:
            continue
        tag = _TRAILING_P.sub("", raw.strip())
        if not tag or grapheme_length(tag) > TAG_MAX_GRAPHEMES or len(tag.encode()) > TAG_MAX_BYTES:
            continue
        start = match.start(2) - 1
        if any(s.start <= start < s.end for s in spans):
            continue
        spans.append(Span(start, start + 1 + len(tag), "tag", tag))
    return sorted(spans, key=lambda s: s.start)


def facets(text: str, spans: list[Span], dids: Mapping[str, str]) -> list[dict[str, Any]]:
    """``app.bsky.richtext.facet`` objects with UTF-8 byte offsets; a mention whose handle did not
    resolve (absent from ``dids``) is left as plain text, as the official client does."""
    out: list[dict[str, Any]] = []
    for span in spans:
        if span.kind == "link":
            feature: dict[str, Any] = {"$type": "app.bsky.richtext.facet#link", "uri": span.value}
        elif span.kind == "mention":
            did = dids.get(span.value)
            if not did:
                continue
            feature = {"$type": "app.bsky.richtext.facet#mention", "did": did}
        else:
            feature = {"$type": "app.bsky.richtext.facet#tag", "tag": span.value}
        out.append(
            {
                "index": {"byteStart": byte_offset(text, span.start), "byteEnd": byte_offset(text, span.end)},
                "features": [feature],
            }
        )
    return out


#: Top-level domains a bare ``example.com`` needs to count as a link (the official client checks
#: the full IANA list; these cover the common ones, and anything with a scheme always counts).
_TLDS = frozenset(
    [
        "com",
        "net",
        "org",
        "io",
        "app",
        "dev",
        "ru",
        "kr",
        "uk",
        "de",
        "fr",
        "jp",
        "co",
        "info",
        "biz",
        "me",
        "tv",
        "xyz",
        "social",
        "edu",
        "gov",
        "ai",
        "us",
        "eu",
    ]
)


# -- errors ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NameRule:
    kind: type[errors.NetworkError]
    message: str
    needs_person: bool = False


#: XRPC error names (``error`` of the body) -> taxonomy; the HTTP status decides when the name is
#: unknown. Messages name ``{detail}`` (the server's own text).
ERRORS: dict[str, NameRule] = {
    "ExpiredToken": NameRule(
        errors.AuthExpired,
        "The Bluesky session has expired and could not be renewed; reconnect Bluesky.",
        True,
    ),
    "InvalidToken": NameRule(
        errors.AuthExpired, "Bluesky no longer accepts Rupor's session; reconnect Bluesky.", True
    ),
    "AuthenticationRequired": NameRule(
        errors.AuthExpired,
        "Bluesky refused the handle or app password; check them and reconnect Bluesky.",
        True,
    ),
    "AccountTakedown": NameRule(errors.AuthExpired, "This Bluesky account has been taken down.", True),
    "AuthFactorTokenRequired": NameRule(
        errors.AuthExpired,
        "Bluesky asks for an e-mail code: use an app password (Settings → Privacy and security → App passwords).",
        True,
    ),
    "RateLimitExceeded": NameRule(errors.RateLimited, "Bluesky asks to slow down."),
    "BlobTooLarge": NameRule(
        errors.Rejected, "Bluesky refused an image as too large (at most 1,000,000 bytes).", True
    ),
    "InvalidMimeType": NameRule(errors.Rejected, "Bluesky does not take this kind of file.", True),
    "InvalidSwap": NameRule(errors.Rejected, "The post changed on Bluesky meanwhile: {detail}", True),
    "RecordNotFound": NameRule(errors.Rejected, "The post is not on Bluesky (any more)."),
    "NotFound": NameRule(errors.Rejected, "The post is not on Bluesky (any more)."),
    "RepoNotFound": NameRule(errors.Rejected, "There is no such Bluesky account.", True),
    "InvalidRequest": NameRule(errors.Rejected, "Bluesky refused the post: {detail}", True),
    "InternalServerError": NameRule(errors.UnknownOutcome, "Bluesky had an internal error."),
    "UpstreamFailure": NameRule(errors.UnknownOutcome, "Bluesky's upstream service failed."),
    "NotEnoughResources": NameRule(errors.UnknownOutcome, "Bluesky is overloaded."),
}
OTHER_ERROR = NameRule(errors.Rejected, "Bluesky refused the request ({code}): {detail}", True)
AUTH_ERRORS = frozenset({"ExpiredToken", "InvalidToken"})


def error_for(
    status: int,
    body: Any,
    *,
    creates: bool,
    excerpt: str,
    retry_after: float | None = None,
) -> errors.NetworkError:
    """The taxonomy error of an XRPC error answer, by its ``error`` name (never its text)."""
    name = str(body.get("error", "")) if isinstance(body, Mapping) else ""
    detail = str(body.get("message", "")) if isinstance(body, Mapping) else ""
    rule = ERRORS.get(name)
    if rule is None:
        if status == 429:
            rule = ERRORS["RateLimitExceeded"]
        elif status >= 500:
            rule = ERRORS["InternalServerError"]
        elif status == 401:
            rule = ERRORS["InvalidToken"]
        else:
            rule = OTHER_ERROR
    message = rule.message.format(code=name or status, detail=detail[:200] or name)
    code = name or status
    if rule.kind is errors.UnknownOutcome:
        return errors.ambiguous(creates, message, code=code, excerpt=excerpt)
    return rule.kind(
        message, code=code, excerpt=excerpt, retry_after=retry_after, needs_person=rule.needs_person
    )


def error_body(name: str, message: str) -> dict[str, str]:
    return {"error": name, "message": message}
