"""Facebook Pages on the Graph API: the facts the adapter and the emulator share.

Sources (the Graph API core, version and errors, is :mod:`rupor.networks.graph.wire`):

* posts: https://developers.facebook.com/docs/pages-api/posts (``POST /{page-id}/feed`` with
  ``message``, ``link``, ``published``, ``scheduled_publish_time`` 10 minutes to 30 days ahead,
  ``attached_media``; answer ``{"id": "{page-id}_{post-id}"}``);
* photos: https://developers.facebook.com/docs/graph-api/reference/page/photos (``url`` fetched
  by Facebook, ``published=false`` for photos attached to a post later);
* comments: https://developers.facebook.com/docs/graph-api/reference/object/comments and
  https://developers.facebook.com/docs/graph-api/reference/comment (``is_hidden``, ``DELETE``);
* tokens: https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived
  (a Page token read with a long-lived user token has no expiry);
* insights: https://developers.facebook.com/docs/graph-api/reference/insights and the
  deprecation notes of 2024-03-14, 2025-11-15 and 2026-06-15 (one retired metric in ``metric=``
  fails the whole call with ``(#100) The value must be a valid insights metric``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

NETWORK = "Facebook"
#: The longest post text (characters) Facebook accepts.
TEXT_MAX = 63206
#: Photos Rupor attaches to one post (``attached_media``).
PHOTOS_MAX = 10
#: Page photos given by URL: 4 MB at most; JPEG, PNG, GIF, BMP, TIFF.
PHOTO_MAX_BYTES = 4 * 1024 * 1024
PHOTO_TYPES = ("image/jpeg", "image/png", "image/gif", "image/bmp", "image/tiff")
COMMENT_MAX = 8000
#: Native scheduling: at least 10 minutes ahead, at most 30 days (sources disagree on the
#: maximum; 30 days is the one every source allows).
SCHEDULE_MIN_S = 10 * 60
SCHEDULE_MAX_S = 30 * 24 * 3600
#: Page tasks (``/me/accounts`` ``tasks``) needed to post, and to moderate comments.
TASK_CREATE = "CREATE_CONTENT"
TASK_MODERATE = "MODERATE"

#: Insights metrics that still exist, and what Rupor reads from them.
PAGE_METRICS = (
    "page_media_view",
    "page_total_media_view_unique",
    "page_post_engagements",
    "page_daily_follows_unique",
    "page_daily_unfollows_unique",
    "page_follows",
    "page_views_total",
    "page_video_views",
)
POST_METRICS = (
    "post_media_view",
    "post_total_media_view_unique",
    "post_reactions_like_total",
    "post_clicks",
    "post_video_views",
)
#: Metrics Meta retired, with the date and what replaces them (None: nothing does). Rupor never
#: asks for these: one of them in ``metric=`` fails the whole request.
RETIRED_METRICS: dict[str, tuple[str, str | None]] = {
    "page_engaged_users": ("2024-03-14", "page_post_engagements"),
    "post_engaged_users": ("2024-03-14", None),
    "post_clicks_unique": ("2024-03-14", "post_clicks"),
    "post_negative_feedback": ("2024-03-14", None),
    "post_impressions_organic": ("2024-03-14", "post_media_view"),
    "page_impressions": ("2025-11-15", "page_media_view"),
    "page_impressions_unique": ("2025-11-15", "page_total_media_view_unique"),
    "page_impressions_paid": ("2025-11-15", None),
    "page_impressions_organic_unique_v2": ("2025-11-15", None),
    "post_impressions": ("2025-11-15", "post_media_view"),
    "post_impressions_unique": ("2025-11-15", "post_total_media_view_unique"),
    "post_impressions_paid": ("2026-06-15", None),
    "post_impressions_fan": ("2026-06-15", None),
    "page_fans": ("2025-11-15", "page_follows"),
}
INVALID_METRIC_MESSAGE = "(#100) The value must be a valid insights metric"


def format_time(moment: dt.datetime) -> str:
    """The Graph API's time format: ``2026-12-05T04:08:02+0000``."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def parse_time(value: Any) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return None


def page_of(post_id: str) -> str:
    """The Page a ``{page-id}_{post-id}`` belongs to."""
    return post_id.split("_", 1)[0]


def post_url(post_id: str) -> str:
    page, _, post = post_id.partition("_")
    return f"https://www.facebook.com/{page}/posts/{post or page}"
