"""Instagram's wire facts on the Graph API (Instagram API with Facebook Login): the publishing
flow's parameters and statuses, the image rules, the insight metrics, and what each of its error
subcodes means. The Graph envelope, the pinned version and the usage headers are shared with
Facebook (``rupor/networks/graph/``).

Sources:

* content publishing: https://developers.facebook.com/docs/instagram-platform/content-publishing
  (container → ``status_code`` → ``media_publish``; carousels of up to 10 children; reels);
* IG Container: https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-container
  (``status_code``: EXPIRED, ERROR, FINISHED, IN_PROGRESS, PUBLISHED; expiry after 24 hours);
* publishing limit: https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/content_publishing_limit
  (``quota_usage`` and ``config.quota_total`` / ``config.quota_duration``);
* media insights: https://developers.facebook.com/docs/instagram-platform/reference/instagram-media/insights
  (``views`` replaced ``impressions``, ``plays`` and ``video_views``, retired on 2025-04-21);
* error codes: https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/error-codes.

Raw payloads never leave this package.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Mapping
from typing import Any

from rupor.networks.errors import (
    CodeRule,
    MediaProcessing,
    RateLimited,
    Rejected,
    Transient,
    UnknownOutcome,
)

NETWORK = "Instagram"

#: Images: JPEG only, at most 8 MiB, width/height between 4:5 and 1.91:1 (the publishing guide).
IMAGE_TYPES = ("image/jpeg",)
IMAGE_MAX_BYTES = 8 * 1024 * 1024
RATIO_MIN = 0.8
RATIO_MAX = 1.91
#: Meta scales narrower pictures up to this width (they look soft), wider ones down to 1440.
IMAGE_MIN_WIDTH = 320
#: What :meth:`Media.link` is asked for: JPEG, centre-cropped into Instagram's range.
LINK_FORMAT = f"jpeg:{RATIO_MIN}-{RATIO_MAX}"
#: Reels: MP4 or MOV, at most 300 MB (reels specifications of the publishing guide).
VIDEO_TYPES = ("video/mp4", "video/quicktime")
VIDEO_MAX_BYTES = 300 * 1024 * 1024
#: Caption: 2,200 characters, 30 hashtags, 20 @-mentions.
CAPTION_MAX = 2200
HASHTAGS_MAX = 30
MENTIONS_MAX = 20
#: A carousel has 2 to 10 children; it counts as one post against the quota.
CAROUSEL_MIN = 2
CAROUSEL_MAX = 10
#: An unpublished container expires after 24 hours.
CONTAINER_TTL_S = 24 * 3600
#: The window of the publishing quota when the answer does not state one.
QUOTA_WINDOW_S = 24 * 3600


class Status(enum.StrEnum):
    """An IG Container's ``status_code``."""

    EXPIRED = "EXPIRED"
    ERROR = "ERROR"
    FINISHED = "FINISHED"
    IN_PROGRESS = "IN_PROGRESS"
    PUBLISHED = "PUBLISHED"


class MediaType(enum.StrEnum):
    """``media_type`` of a container create (none: an image)."""

    CAROUSEL = "CAROUSEL"
    REELS = "REELS"
    STORIES = "STORIES"
    VIDEO = "VIDEO"  # only for carousel children since reels replaced feed video
    IMAGE = "IMAGE"


class Code(enum.IntEnum):
    """Instagram's own error subcodes (``error_subcode``), with the Graph code each comes with."""

    DOWNLOAD_TIMEOUT = 2207003  # code -2
    SERVER_ERROR = 2207001  # code -1
    CREATE_FAILED = 2207032  # code -1
    UPLOAD_UNKNOWN = 2207053  # code -1
    CONTAINER_EXPIRED = 2207020  # code -2
    SPAM_RESTRICTED = 2207051  # code 4
    QUOTA_REACHED = 2207042  # code 9
    MEDIA_NOT_FOUND = 2207006  # code 24
    ACCOUNT_RESTRICTED = 2207050  # code 25
    IMAGE_TOO_LARGE = 2207004  # code 36000
    IMAGE_FORMAT = 2207005  # code 36001
    ASPECT_RATIO = 2207009  # code 36003
    CAPTION_TOO_LONG = 2207010  # code 36004
    VIDEO_FORMAT = 2207026  # code 352
    NOT_READY = 2207027  # code 9007
    MEDIA_TYPE_UNKNOWN = 2207023  # code 100
    CAROUSEL_INVALID = 2207028  # code 100
    FETCH_FAILED = 2207052  # code 9004


#: The Graph ``code`` that comes with each subcode (the error-codes reference).
CODE_OF: dict[Code, int] = {
    Code.DOWNLOAD_TIMEOUT: -2,
    Code.SERVER_ERROR: -1,
    Code.CREATE_FAILED: -1,
    Code.UPLOAD_UNKNOWN: -1,
    Code.CONTAINER_EXPIRED: -2,
    Code.SPAM_RESTRICTED: 4,
    Code.QUOTA_REACHED: 9,
    Code.MEDIA_NOT_FOUND: 24,
    Code.ACCOUNT_RESTRICTED: 25,
    Code.IMAGE_TOO_LARGE: 36000,
    Code.IMAGE_FORMAT: 36001,
    Code.ASPECT_RATIO: 36003,
    Code.CAPTION_TOO_LONG: 36004,
    Code.VIDEO_FORMAT: 352,
    Code.NOT_READY: 9007,
    Code.MEDIA_TYPE_UNKNOWN: 100,
    Code.CAROUSEL_INVALID: 100,
    Code.FETCH_FAILED: 9004,
}

#: The Graph subcode of "object does not exist" (a deleted post or comment), and the code of
#: insights "not enough viewers for the media to show insights".
NOT_FOUND = 33
NOT_ENOUGH_VIEWERS = 10

#: What each subcode means for Rupor. ``UnknownOutcome`` rows are ambiguous (an unknown outcome on
#: a create, transient elsewhere). A subcode not listed falls to the shared Graph table by code.
SUBCODES: dict[int, CodeRule] = {
    NOT_FOUND: CodeRule(Rejected, "Instagram has no such post or comment (it was deleted): {detail}"),
    Code.DOWNLOAD_TIMEOUT: CodeRule(
        Transient, "Instagram took too long to download the picture or video; Rupor will try again."
    ),
    Code.SERVER_ERROR: CodeRule(UnknownOutcome, "Instagram had a server error ({detail})."),
    Code.CREATE_FAILED: CodeRule(Transient, "Instagram could not create the media; Rupor will try again."),
    Code.UPLOAD_UNKNOWN: CodeRule(
        Transient, "Instagram failed to take the video in; Rupor will try again with a new upload."
    ),
    Code.CONTAINER_EXPIRED: CodeRule(
        Transient, "The prepared Instagram media expired (after 24 hours); Rupor prepares it again."
    ),
    Code.SPAM_RESTRICTED: CodeRule(
        Rejected,
        "Instagram suspects this publishing is spam and restricted it: {detail}",
        needs_person=True,
    ),
    Code.QUOTA_REACHED: CodeRule(
        RateLimited,
        "The Instagram account reached its publishing limit for 24 hours; Rupor publishes when it has room.",
        retry_after=3600.0,
    ),
    Code.MEDIA_NOT_FOUND: CodeRule(Rejected, "Instagram cannot find that media: {detail}"),
    Code.ACCOUNT_RESTRICTED: CodeRule(
        Rejected,
        "The Instagram account is inactive, checkpointed or restricted: sign in to the Instagram app and "
        "finish what it asks. ({detail})",
        needs_person=True,
    ),
    Code.IMAGE_TOO_LARGE: CodeRule(
        Rejected, "Instagram refused the picture: it is larger than 8 MiB.", needs_person=True
    ),
    Code.IMAGE_FORMAT: CodeRule(
        Rejected, "Instagram refused the picture: it takes JPEG only.", needs_person=True
    ),
    Code.ASPECT_RATIO: CodeRule(
        Rejected,
        "Instagram refused the picture's shape: width/height must be between 4:5 and 1.91:1. ({detail})",
        needs_person=True,
    ),
    Code.CAPTION_TOO_LONG: CodeRule(
        Rejected,
        "Instagram refused the caption: at most 2,200 characters, 30 hashtags and 20 mentions.",
        needs_person=True,
    ),
    Code.VIDEO_FORMAT: CodeRule(
        Rejected,
        "Instagram cannot use this video's format: MP4 or MOV, H.264 or HEVC with AAC sound.",
        needs_person=True,
    ),
    Code.NOT_READY: CodeRule(MediaProcessing, "Instagram is still processing the media.", retry_after=30.0),
    Code.MEDIA_TYPE_UNKNOWN: CodeRule(
        Rejected, "Instagram does not know this kind of media: {detail}", needs_person=True
    ),
    Code.CAROUSEL_INVALID: CodeRule(Rejected, "Instagram refused the carousel: {detail}", needs_person=True),
    Code.FETCH_FAILED: CodeRule(
        Rejected,
        "Instagram could not fetch the file from Rupor's address: RUPOR_BASE_URL must be reachable from the "
        "internet. ({detail})",
        needs_person=True,
    ),
}

#: The metrics asked for each published post (``views`` replaced ``impressions``, ``plays`` and
#: ``video_views``). Asking for one invalid metric fails the whole call, so nothing retired is here.
POST_METRICS = ("views", "reach", "likes", "comments", "shares", "saved", "total_interactions")
#: Metrics retired for every version on 2025-04-21 (Meta's changelog); the emulator refuses them.
RETIRED_METRICS = frozenset(
    {"impressions", "plays", "video_views", "clips_replays_count", "ig_reels_aggregated_all_plays_count"}
)
#: Account metrics with ``metric_type=total_value`` (``impressions`` is retired there too).
ACCOUNT_METRICS = ("reach", "views", "accounts_engaged", "total_interactions")

#: Fields read of the account when it is verified.
USER_FIELDS = "id,username,name,followers_count,media_count,profile_picture_url"
#: Fields of a published post Rupor reads.
MEDIA_FIELDS = "id,caption,media_type,media_product_type,permalink,timestamp,like_count,comments_count"
#: Fields of a comment (replies come in the same shape through ``replies{...}``).
COMMENT_FIELDS = "id,text,timestamp,username,from,hidden,like_count,parent_id"
#: The permissions publishing needs (Facebook Login for Business).
PUBLISH_PERMISSION = "instagram_content_publish"
COMMENTS_PERMISSION = "instagram_manage_comments"
INSIGHTS_PERMISSION = "instagram_manage_insights"

_HASHTAG = re.compile(r"(?<![\w#&])#\w+", re.UNICODE)
_MENTION = re.compile(r"(?<![\w@])@[\w.]+", re.UNICODE)


def hashtags(text: str) -> int:
    return len(_HASHTAG.findall(text))


def mentions(text: str) -> int:
    return len(_MENTION.findall(text))


def ratio(width: int, height: int) -> float:
    return width / height if height else 0.0


def ratio_fits(width: int, height: int) -> bool:
    """True when a picture's width/height is within 4:5..1.91:1 (as Meta rounds: three places)."""
    r = round(ratio(width, height), 3)
    return RATIO_MIN <= r <= RATIO_MAX


def image_params(url: str, *, caption: str | None, alt_text: str, carousel_item: bool) -> dict[str, str]:
    """``POST /{ig-user-id}/media`` for one image (a post of its own, or a carousel child)."""
    out = {"image_url": url}
    if carousel_item:
        out["is_carousel_item"] = "true"
    elif caption is not None:
        out["caption"] = caption
    if alt_text:
        out["alt_text"] = alt_text[:1000]
    return out


def video_params(url: str, *, caption: str | None, carousel_item: bool) -> dict[str, str]:
    """A reel (``media_type=REELS``, shared to the feed) or a carousel's video child."""
    if carousel_item:
        return {"video_url": url, "media_type": MediaType.VIDEO, "is_carousel_item": "true"}
    out = {"video_url": url, "media_type": MediaType.REELS, "share_to_feed": "true"}
    if caption is not None:
        out["caption"] = caption
    return out


def carousel_params(children: list[str], caption: str) -> dict[str, str]:
    return {"media_type": MediaType.CAROUSEL, "children": ",".join(children), "caption": caption}


def status_of(payload: Mapping[str, Any]) -> Status:
    """A container's ``status_code`` (an unknown one counts as still in progress)."""
    try:
        return Status(str(payload.get("status_code") or ""))
    except ValueError:
        return Status.IN_PROGRESS


def quota(payload: Mapping[str, Any]) -> tuple[int, int, int]:
    """``(used, total, window_s)`` of a ``content_publishing_limit`` answer."""
    rows = payload.get("data") or []
    row = rows[0] if rows else {}
    config = row.get("config") or {}
    return (
        int(row.get("quota_usage") or 0),
        int(config["quota_total"]),
        int(config.get("quota_duration") or QUOTA_WINDOW_S),
    )


def insight_values(payload: Mapping[str, Any]) -> dict[str, int]:
    """``{"views": 12, ...}`` of an insights answer: each metric's lifetime (or total) value;
    a metric without data is left out (Meta answers an empty set, not 0)."""
    out: dict[str, int] = {}
    for row in payload.get("data") or ():
        name = str(row.get("name") or "")
        total = row.get("total_value")
        if isinstance(total, Mapping) and isinstance(total.get("value"), int):
            out[name] = int(total["value"])
            continue
        values = row.get("values") or ()
        if values and isinstance(values[-1].get("value"), int):
            out[name] = int(values[-1]["value"])
    return out


def parse_time(value: Any) -> dt.datetime | None:
    """Graph timestamps: ``2026-12-05T04:05:18+0000``."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z").astimezone(dt.UTC)
    except ValueError:
        return None


def format_time(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def same_caption(a: str, b: str) -> bool:
    """Instagram keeps a caption as sent, but trims its ends: compare so."""
    return a.strip() == b.strip()
