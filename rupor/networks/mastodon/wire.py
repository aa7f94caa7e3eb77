"""Mastodon wire format: routes, form fields, errors, rate-limit headers, instance limits.

Everything here follows the official documentation (https://docs.joinmastodon.org/):

* ``POST /api/v1/statuses`` takes (as form fields or JSON) ``status``, ``media_ids[]``, ``poll[options][]``,
  ``poll[expires_in]``, ``poll[multiple]``, ``in_reply_to_id``, ``sensitive``, ``spoiler_text``,
  ``visibility`` (public|unlisted|private|direct), ``language`` and ``scheduled_at`` (then the
  answer is a ScheduledStatus, not a Status); the ``Idempotency-Key`` header makes a repeat within
  an hour return the first status (https://docs.joinmastodon.org/methods/statuses/#create);
* ``POST /api/v2/media`` answers 200 with a processed attachment or 202 with ``url: null`` while
  it is processed; ``GET /api/v1/media/:id`` answers 206 until it is ready, then 200
  (https://docs.joinmastodon.org/methods/media/#v2);
* the instance's limits are in ``GET /api/v2/instance`` under ``configuration``
  (https://docs.joinmastodon.org/methods/instance/#v2);
* errors are ``{"error": "...", "error_description"?: "..."}`` with the HTTP status telling
  what went wrong (https://docs.joinmastodon.org/entities/Error/);
* every answer carries ``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset``
  (an ISO 8601 time); 300 requests per 5 minutes per account, 30 media uploads per 30 minutes
  (https://docs.joinmastodon.org/api/rate-limits/).

Raw payloads never leave ``rupor/networks/mastodon/``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from html.parser import HTMLParser
from typing import Any

from rupor.networks.base import PollTally
from rupor.networks.errors import AuthExpired, CodeRule, RateLimited, Rejected, Transient, UnknownOutcome

DEFAULT_INSTANCE = "https://mastodon.social"

#: Rate limits of a stock Mastodon server (config/initializers/rack_attack.rb).
REQUESTS_PER_WINDOW = 300
REQUEST_WINDOW_S = 5 * 60
MEDIA_PER_WINDOW = 30
MEDIA_WINDOW_S = 30 * 60
#: How long the server remembers an ``Idempotency-Key``.
IDEMPOTENCY_TTL_S = 3600
#: ``scheduled_at`` must be at least this far ahead (ScheduledStatus::MINIMUM_OFFSET).
SCHEDULE_MIN_OFFSET_S = 5 * 60
VISIBILITIES = ("public", "unlisted", "private", "direct")
#: The scopes Rupor asks for when it registers its application on an instance.
SCOPES = "read write"
#: The redirect URI of applications that show the code to the person instead of redirecting.
OOB_REDIRECT = "urn:ietf:wg:oauth:2.0:oob"

#: Defaults of a stock Mastodon 4.x instance; used only until the instance has been asked.
DEFAULT_CONFIGURATION: dict[str, Any] = {
    "statuses": {"max_characters": 500, "max_media_attachments": 4, "characters_reserved_per_url": 23},
    "media_attachments": {
        "supported_mime_types": [
            "image/jpeg",
            "image/png",
            "image/gif",
            "image/heic",
            "image/heif",
            "image/webp",
            "image/avif",
            "video/webm",
            "video/mp4",
            "video/quicktime",
            "video/ogg",
            "audio/mpeg",
            "audio/ogg",
            "audio/wave",
            "audio/wav",
            "audio/x-wav",
            "audio/flac",
            "audio/mp4",
        ],
        "image_size_limit": 16 * 1024 * 1024,
        "image_matrix_limit": 33177600,
        "video_size_limit": 99 * 1024 * 1024,
        "video_frame_rate_limit": 120,
        "video_matrix_limit": 8294400,
    },
    "polls": {
        "max_options": 4,
        "max_characters_per_option": 50,
        "min_expiration": 300,
        "max_expiration": 2629746,
    },
}

#: What each HTTP status of a Mastodon answer means. ``UnknownOutcome`` rows are ambiguous: an
#: unknown outcome on a create, transient on anything else.
ERRORS: dict[int, CodeRule] = {
    401: CodeRule(
        AuthExpired,
        "The Mastodon access token is invalid or was revoked; reconnect the account.",
        needs_person=True,
    ),
    403: CodeRule(
        Rejected,
        "Mastodon refused: the access token lacks the permission (scope) for this, or the account "
        "is suspended or limited. Reconnect with the read and write scopes.",
        needs_person=True,
    ),
    404: CodeRule(Rejected, "Mastodon cannot find that status or account; it may have been deleted."),
    410: CodeRule(Rejected, "That account or status is gone from the Mastodon instance.", needs_person=True),
    422: CodeRule(Rejected, "Mastodon did not accept the post: {detail}", needs_person=True),
    429: CodeRule(RateLimited, "The Mastodon instance asks Rupor to slow down.", retry_after=60.0),
    500: CodeRule(UnknownOutcome, "The Mastodon instance failed with a server error (500)."),
    502: CodeRule(UnknownOutcome, "The Mastodon instance is unreachable behind its proxy (502)."),
    503: CodeRule(Transient, "The Mastodon instance is temporarily unavailable (503); Rupor will try again."),
    504: CodeRule(UnknownOutcome, "The Mastodon instance did not answer in time (504)."),
}
OTHER_ERROR = CodeRule(Rejected, "Mastodon refused the request (HTTP {code}): {detail}", needs_person=True)


def idempotency_key(target_key: str) -> str:
    """The ``Idempotency-Key`` of a create: derived from the target's own key, so every attempt
    of the same target sends the same header and a retry is a no-op on the server."""
    return "rupor-" + hashlib.sha256(target_key.encode("utf-8")).hexdigest()[:40]


def error_text(payload: Any) -> str:
    """The ``error`` (and ``error_description``) of an error body, or ``""``."""
    if not isinstance(payload, Mapping):
        return ""
    text = str(payload.get("error") or "")
    more = payload.get("error_description")
    return f"{text} ({more})" if more and str(more) not in text else text


def parse_time(value: Any) -> dt.datetime | None:
    """An ISO 8601 time of the API (``2026-12-05T00:00:00.000Z``) as an aware datetime."""
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def format_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def retry_after(headers: Mapping[str, str], now: dt.datetime) -> float | None:
    """Seconds until ``X-RateLimit-Reset`` (an ISO 8601 time), or ``None`` without the header."""
    reset = parse_time(headers.get("x-ratelimit-reset"))
    if reset is None:
        return None
    return max(1.0, (reset - now).total_seconds())


def remaining(headers: Mapping[str, str]) -> int | None:
    value = headers.get("x-ratelimit-remaining", "")
    return int(value) if value.isdigit() else None


def limits_from_instance(instance: Mapping[str, Any]) -> dict[str, Any]:
    """The :class:`~rupor.networks.base.Limits` fields an instance's ``/api/v2/instance`` states."""
    conf = instance.get("configuration") or {}
    statuses = conf.get("statuses") or {}
    media = conf.get("media_attachments") or {}
    polls = conf.get("polls") or {}
    out: dict[str, Any] = {}
    for name, value in (
        ("text_max", statuses.get("max_characters")),
        ("media_max", statuses.get("max_media_attachments")),
        ("album_max", statuses.get("max_media_attachments")),
        ("photo_max_bytes", media.get("image_size_limit")),
        ("video_max_bytes", media.get("video_size_limit")),
        ("poll_options_max", polls.get("max_options")),
        ("poll_option_max", polls.get("max_characters_per_option")),
        ("comment_max", statuses.get("max_characters")),
        ("message_max", statuses.get("max_characters")),
    ):
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            out[name] = value
    types = media.get("supported_mime_types")
    low, high = polls.get("min_expiration"), polls.get("max_expiration")
    if isinstance(low, int) and isinstance(high, int) and 0 < low <= high:
        out["poll_minutes_min"] = -(-low // 60)  # whole minutes inside the instance's seconds
        out["poll_minutes_max"] = high // 60
    if isinstance(types, list) and types:
        out["photo_types"] = [str(t) for t in types if str(t).startswith("image/")]
        out["video_types"] = [str(t) for t in types if str(t).startswith("video/")]
    return out


def status_body(
    *,
    text: str,
    media_ids: list[str] | tuple[str, ...] = (),
    poll_options: tuple[str, ...] | list[str] = (),
    poll_expires_in: int | None = None,
    poll_multiple: bool = False,
    in_reply_to_id: str | None = None,
    visibility: str | None = None,
    spoiler_text: str = "",
    sensitive: bool = False,
    language: str = "",
    scheduled_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """The JSON body of ``POST /api/v1/statuses``. Mastodon takes its parameters as form data or
    as JSON alike; JSON keeps the poll's nesting (``poll.options``) without Rails-style keys."""
    body: dict[str, Any] = {"status": text}
    if media_ids:
        body["media_ids"] = list(media_ids)
    if poll_options:
        body["poll"] = {
            "options": list(poll_options),
            "expires_in": int(poll_expires_in or 86400),
            "multiple": poll_multiple,
        }
    if in_reply_to_id:
        body["in_reply_to_id"] = in_reply_to_id
    if visibility:
        body["visibility"] = visibility
    if spoiler_text:
        body["spoiler_text"] = spoiler_text
    if sensitive:
        body["sensitive"] = True
    if language:
        body["language"] = language
    if scheduled_at is not None:
        body["scheduled_at"] = format_time(scheduled_at)
    return body


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:  # noqa: ARG002 - HTMLParser's signature
        if tag == "br":
            self.parts.append("\n")
        elif tag == "p" and self.parts:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain_text(content_html: str) -> str:
    """A status's ``content`` (HTML: ``<p>``, ``<br>``, links) as plain text."""
    parser = _Text()
    parser.feed(content_html or "")
    parser.close()
    return "".join(parser.parts).strip()


#: A link as Mastodon's counter finds it (app/javascript .../compose/util/counter.js: URLs count
#: ``characters_reserved_per_url``; a mention ``@user@domain`` counts only ``@user``).
_URL = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
_REMOTE_MENTION = re.compile(r"(^|[^/\w])@(\w+)@[\w.\-]+\w", re.UNICODE)
URL_CHARACTERS = 23


def length(text: str, *, per_url: int = URL_CHARACTERS) -> int:
    """The length of a status as Mastodon counts it against ``max_characters``."""
    counted = _URL.sub("x" * per_url, text)
    counted = _REMOTE_MENTION.sub(lambda m: f"{m.group(1)}@{m.group(2)}", counted)
    return len(counted)


_LEADING_MENTIONS = re.compile(r"^(?:@[\w.\-]+(?:@[\w.\-]+)?\s+)+")


def without_leading_mentions(text: str) -> str:
    """A reply's text without the ``@name`` addresses clients put in front of it."""
    return _LEADING_MENTIONS.sub("", text, count=1)


def status_format(status: Mapping[str, Any]) -> str:
    """What a status mostly is: "video", "photo", "poll", "link" or "text"."""
    kinds = {str(m.get("type")) for m in status.get("media_attachments") or ()}
    if kinds & {"video", "gifv"}:
        return "video"
    if "image" in kinds:
        return "photo"
    if status.get("poll"):
        return "poll"
    if status.get("card"):
        return "link"
    return "text"


def poll_tally(poll: Mapping[str, Any]) -> PollTally:
    """A Poll entity (in a Status, or ``GET /api/v1/polls/:id``): ``options[].votes_count``;
    ``voters_count`` is the people (null unless multiple choice, where ``votes_count`` is);
    ``expired`` and ``expires_at``."""
    options = [o for o in poll.get("options") or () if isinstance(o, Mapping)]
    voters = poll.get("voters_count")
    if not isinstance(voters, int):
        voters = poll.get("votes_count") if not poll.get("multiple") else None
    return PollTally(
        remote_poll_id=str(poll.get("id", "")),
        options=tuple(str(o.get("title", "")) for o in options),
        votes=tuple(int(o.get("votes_count") or 0) for o in options),
        voters=voters if isinstance(voters, int) else None,
        closed=bool(poll.get("expired")),
        closes_at=parse_time(str(poll["expires_at"])) if poll.get("expires_at") else None,
    )
