"""YouTube Data API v3 wire format: endpoints, the resumable upload protocol, errors and quota.

Sources (developers.google.com/youtube/v3):

* ``videos.insert`` with the resumable protocol (``guides/using_resumable_upload_protocol``):
  ``POST /upload/youtube/v3/videos?uploadType=resumable&part=snippet,status`` with the JSON
  metadata and ``X-Upload-Content-Length`` / ``X-Upload-Content-Type``; the answer's ``Location``
  is the upload session URI. The bytes go in ``PUT``s to that URI with ``Content-Range: bytes
  FIRST-LAST/TOTAL``, every chunk but the last a multiple of 256 KiB; each incomplete step is
  answered ``308`` with ``Range: bytes=0-LAST`` (what the server holds), the last with 200/201 and
  the video resource. After a failure, ``PUT`` with ``Content-Range: bytes */TOTAL`` asks the
  session how far it got (308 with ``Range``, or 200/201 when the upload had finished), and the
  upload continues from there: starting a new session would make a second video;
* ``thumbnails.set`` (``POST /upload/youtube/v3/thumbnails/set?videoId=``, JPEG or PNG, 2 MB),
  ``playlistItems.insert``, ``videos.list(part=statistics)`` (``viewCount``, ``likeCount``,
  ``commentCount``), ``commentThreads.list`` / ``comments.list`` / ``comments.insert``
  (replies: ``snippet.parentId``) / ``commentThreads.insert`` (top-level) /
  ``comments.setModerationStatus``, ``channels.list(mine=true)``;
* errors: ``{"error": {"code", "message", "errors": [{"domain", "reason", "message"}]}}``; the
  ``reason`` decides (``quotaExceeded`` 403 until midnight Pacific time, ``rateLimitExceeded``,
  ``uploadLimitExceeded``, ``backendError``, ``forbidden``, ``invalid*``);
* quota (``determine_quota_cost``): 10,000 units a day per Google Cloud project; most reads cost
  1, writes 50; ``videos.insert`` counts in its own bucket of 100 calls a day under the current
  model (1,600 units under the older one). Quotas reset at midnight Pacific time;
* OAuth 2.0 (``developers.google.com/identity/protocols/oauth2/web-server``): an access token
  lives one hour; the refresh token is long-lived (seven days while the consent screen is in
  "Testing") and is traded at the token endpoint.

Raw payloads never leave ``rupor/networks/youtube/``.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_API_ROOT = "https://www.googleapis.com"
TOKEN_PATH = "/oauth2/v4/token"
API = "/youtube/v3"
UPLOAD = "/upload/youtube/v3"
SCOPES = (
    "https://www.googleapis.com/auth/youtube.upload",
    "https://www.googleapis.com/auth/youtube.force-ssl",
)

#: Every chunk of a resumable upload but the last is a multiple of this (256 KiB).
CHUNK_QUANTUM = 256 * 1024
#: Rupor's chunk: 32 quanta (8 MiB), small enough to hold in memory, large enough to be quick.
CHUNK_BYTES = 32 * CHUNK_QUANTUM
VIDEO_MAX_BYTES = 256 * 1024**3
THUMBNAIL_MAX_BYTES = 2 * 1024 * 1024
THUMBNAIL_TYPES = ("image/jpeg", "image/png")
VIDEO_TYPES = (
    "video/mp4",
    "video/quicktime",
    "video/webm",
    "video/x-matroska",
    "video/x-msvideo",
    "video/mpeg",
    "video/3gpp",
    "video/x-flv",
    "application/octet-stream",
)
TITLE_MAX = 100  # characters
DESCRIPTION_MAX_BYTES = 5000  # UTF-8 bytes
TAGS_MAX_CHARS = 500  # all tags together; a tag with a space counts its quotes
COMMENT_MAX = 10000
#: ``<`` and ``>`` are refused in titles and descriptions (``invalidTitle`` / ``invalidDescription``).
FORBIDDEN_CHARS = ("<", ">")
PRIVACY = ("public", "unlisted", "private")
DEFAULT_CATEGORY = "22"  # People & Blogs
PACIFIC = zoneinfo.ZoneInfo("America/Los_Angeles")


class Reason(enum.StrEnum):
    """The ``errors[0].reason`` values the adapter acts on."""

    QUOTA_EXCEEDED = "quotaExceeded"
    RATE_LIMIT_EXCEEDED = "rateLimitExceeded"
    USER_RATE_LIMIT_EXCEEDED = "userRateLimitExceeded"
    UPLOAD_LIMIT_EXCEEDED = "uploadLimitExceeded"
    BACKEND_ERROR = "backendError"
    AUTH_ERROR = "authError"
    FORBIDDEN = "forbidden"
    INSUFFICIENT_PERMISSIONS = "insufficientPermissions"
    VIDEO_NOT_FOUND = "videoNotFound"
    COMMENTS_DISABLED = "commentsDisabled"
    COMMENT_NOT_FOUND = "commentNotFound"
    PLAYLIST_NOT_FOUND = "playlistNotFound"
    NOT_FOUND = "notFound"


#: What each quota-counted method costs in units (current model); ``videos.insert`` is counted
#: in its own bucket of :data:`DEFAULT_UPLOADS_PER_DAY` calls and costs no units here.
DEFAULT_COSTS: dict[str, int] = {
    "videos.insert": 0,
    "videos.list": 1,
    "videos.update": 50,
    "videos.delete": 50,
    "thumbnails.set": 50,
    "playlistItems.insert": 50,
    "playlistItems.list": 1,
    "playlists.list": 1,
    "channels.list": 1,
    "commentThreads.list": 1,
    "commentThreads.insert": 50,
    "comments.list": 1,
    "comments.insert": 50,
    "comments.delete": 50,
    "comments.setModerationStatus": 50,
    "comments.markAsSpam": 50,
}
DEFAULT_UNITS_PER_DAY = 10_000
DEFAULT_UPLOADS_PER_DAY = 100
#: The older model: ``videos.insert`` costs 1,600 units of the 10,000 and has no bucket of its own.
LEGACY_INSERT_COST = 1600


@dataclass(frozen=True)
class ApiError:
    """One error answer: HTTP status, ``reason`` of its first error, ``domain`` and message."""

    status: int
    reason: str
    domain: str
    message: str


def api_error(status: int, payload: Any) -> ApiError:
    """Read ``{"error": {"code", "message", "errors": [{"domain", "reason"}]}}`` (or the OAuth
    token endpoint's ``{"error": "invalid_grant"}``)."""
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, str):
        return ApiError(status, error, "oauth", str(payload.get("error_description") or error))
    if not isinstance(error, dict):
        return ApiError(status, "", "", "")
    first = (error.get("errors") or [{}])[0]
    first = first if isinstance(first, dict) else {}
    return ApiError(
        status,
        str(first.get("reason") or error.get("status") or ""),
        str(first.get("domain") or ""),
        str(error.get("message") or first.get("message") or ""),
    )


def next_offset(range_header: str | None) -> int:
    """The first byte the session still needs, from a 308's ``Range: bytes=0-LAST`` (none: 0)."""
    match = re.fullmatch(r"\s*bytes=0-(\d+)\s*", range_header or "")
    return int(match.group(1)) + 1 if match else 0


def content_range(first: int, size: int, total: int) -> str:
    return f"bytes {first}-{first + size - 1}/{total}"


def status_query(total: int) -> str:
    return f"bytes */{total}"


def quota_day(at: dt.datetime) -> str:
    """The quota day an instant falls on: quotas reset at midnight Pacific time."""
    return at.astimezone(PACIFIC).date().isoformat()


def next_reset(at: dt.datetime) -> dt.datetime:
    """The next midnight Pacific time after ``at`` (aware UTC)."""
    local = at.astimezone(PACIFIC)
    midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), PACIFIC)
    return midnight.astimezone(dt.UTC)


def parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def format_time(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def tags_length(tags: list[str] | tuple[str, ...]) -> int:
    """How YouTube counts the 500 characters of tags: each tag, a comma between, quotes around a
    tag with a space."""
    return sum(len(t) + (2 if " " in t else 0) for t in tags) + max(0, len(tags) - 1)


def video_body(
    *,
    title: str,
    description: str,
    tags: list[str],
    privacy: str,
    publish_at: dt.datetime | None,
    category: str = DEFAULT_CATEGORY,
    made_for_kids: bool = False,
) -> dict[str, Any]:
    """The JSON metadata of ``videos.insert`` (parts ``snippet,status``)."""
    status: dict[str, Any] = {"privacyStatus": privacy, "selfDeclaredMadeForKids": made_for_kids}
    if publish_at is not None:
        status = {**status, "privacyStatus": "private", "publishAt": format_time(publish_at)}
    snippet: dict[str, Any] = {"title": title, "description": description, "categoryId": category}
    if tags:
        snippet["tags"] = tags
    return {"snippet": snippet, "status": status}


def watch_url(video_id: str) -> str:
    return f"https://www.youtube.com/watch?v={video_id}"


def channel_url(channel_id: str) -> str:
    return f"https://www.youtube.com/channel/{channel_id}"


def token_credentials(
    answer: Mapping[str, Any], now: dt.datetime, previous: Mapping[str, str]
) -> dict[str, str]:
    """The stored credentials after a token answer (Google keeps the refresh token unless it
    sends a new one)."""
    out = dict(previous)
    out["access_token"] = str(answer["access_token"])
    if answer.get("refresh_token"):
        out["refresh_token"] = str(answer["refresh_token"])
    out["expires_at"] = str(int(now.timestamp()) + int(answer.get("expires_in") or 3600))
    return out
