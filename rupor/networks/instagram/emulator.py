"""An emulator of the Instagram Graph API (Instagram API with Facebook Login) for tests, benchmarks
and the offline demo.

Built from Meta's documentation (the sources in ``wire.py``), not from Rupor's adapter:

* ``GET /{version}/{ig-user-id}?fields=`` (the account), ``GET /{version}/me/permissions``;
* ``POST /{ig-user-id}/media`` creates a container. Like Meta, the emulator **fetches the file from
  its URL** over HTTP when the container is created: an address it cannot fetch is code 9004 /
  subcode 2207052; an image over 8 MiB 36000/2207004; anything but JPEG 36001/2207005; a
  width/height outside 4:5..1.91:1 36003/2207009. A video (``media_type=REELS``, or ``VIDEO`` as a
  carousel child) is processed for a few emulated seconds (``IN_PROGRESS``) and ends ``FINISHED``,
  or ``ERROR`` (2207026) when the file is not MP4/MOV. ``media_type=VIDEO`` outside a carousel is
  refused (reels replaced feed video). Carousels take 2 to 10 finished children made with
  ``is_carousel_item=true``; ``alt_text`` is kept on images;
* ``GET /{container-id}?fields=status_code,status``: ``EXPIRED`` after 24 hours unpublished;
* ``POST /{ig-user-id}/media_publish?creation_id=``: a container still in progress is 9007/2207027,
  an expired one -2/2207020, a second publish of the same container is refused (code 100), and the
  quota (``quota_total`` posts per rolling 24 hours, 100 unless ``create_app(quota_total=N)``) is
  9/2207042; ``GET /{ig-user-id}/content_publishing_limit?fields=quota_usage,config``;
* ``GET /{ig-user-id}/media`` (newest first, cursor paging), ``GET /{media-id}?fields=``;
* comments: ``GET /{media-id}/comments`` (top-level), ``GET /{comment-id}/replies``, ``POST
  /{media-id}/comments`` and ``POST /{comment-id}/replies`` (``message``), ``POST
  /{comment-id}?hide=true|false``, ``DELETE /{comment-id}``;
* insights: ``GET /{media-id}/insights?metric=`` with the current names (``views``, ``reach``,
  ``likes``, ``comments``, ``shares``, ``saved``, ``total_interactions``); a retired one
  (``impressions``, ``plays``, ``video_views``, ...) fails the whole call with code 100, as Meta's
  does; ``GET /{ig-user-id}/insights?metric=reach,views&metric_type=total_value&period=day``;
* errors in the Graph envelope ``{"error": {"message", "type", "code", "error_subcode",
  "is_transient", "error_user_title", "error_user_msg", "fbtrace_id"}}``; an unknown token is 190,
  a token without the permission 10; every answer carries ``X-Business-Use-Case-Usage`` for the
  account, and calls over the emulated limit are refused with code 80002;
* likes, views and reach grow with a post's age (:mod:`rupor.networks.engagement`); the audience
  comments through ``POST /_emulator/audience/comment``.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl

from PIL import Image, UnidentifiedImageError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Scope

from rupor.networks import engagement
from rupor.networks.base import looks_like_video
from rupor.networks.emulation import EmulatorClock, FaultInjector, FaultMiddleware, control_routes
from rupor.networks.graph.emulation import GraphFault, check_version, fetch_url, split_version, token_of
from rupor.networks.instagram import wire
from rupor.networks.instagram.wire import Code

DEMO_USER_ID = "17841400000000001"
DEMO_USERNAME = "rupor.demo"
DEMO_TOKEN = "EAAGinstagramEmulatorDemoToken0123456789abcdef"
#: A token of the same account granted only ``instagram_basic`` (it may read, not publish).
READ_ONLY_TOKEN = "EAAGinstagramEmulatorReadOnlyToken0123456789ab"
ALL_PERMISSIONS = (
    "instagram_basic",
    wire.PUBLISH_PERMISSION,
    wire.COMMENTS_PERMISSION,
    wire.INSIGHTS_PERMISSION,
    "pages_show_list",
    "pages_read_engagement",
)
#: Emulated seconds a video container stays ``IN_PROGRESS``.
VIDEO_PROCESSING_S = 5.0
#: Calls per hour per account before code 80002 (the emulated Business Use Case limit).
CALLS_PER_HOUR = 4800
INJECTED_THROTTLE_MIN = 1
AUDIENCE = (
    ("17841400000000101", "anna.k", 340),
    ("17841400000000102", "mike_travels", 1250),
    ("17841400000000103", "coffee.lover", 88),
)
_VERSION = re.compile(r"^/v\d+\.\d+/")


def _ig(subcode: Code, message: str, user_msg: str = "") -> GraphFault:
    """An Instagram error: its subcode with the Graph code the reference pairs it with."""
    return GraphFault(
        wire.CODE_OF[subcode], message, subcode=subcode, user_msg=user_msg or message, is_transient=False
    )


@dataclass
class Container:
    id: str
    owner: str
    kind: str  # IMAGE | VIDEO | REELS | CAROUSEL | STORIES
    created_at: float
    ready_at: float
    caption: str = ""
    alt_text: str = ""
    url: str = ""
    carousel_item: bool = False
    children: list[str] = field(default_factory=list)
    error: int | None = None  # the subcode of a failed processing
    media_id: str | None = None


@dataclass
class IgMedia:
    id: str
    owner: str
    container_id: str
    media_type: str  # IMAGE | VIDEO | CAROUSEL_ALBUM
    product_type: str  # FEED | REELS
    caption: str
    timestamp: float
    audience: int
    alt_text: str = ""
    children: list[str] = field(default_factory=list)
    carousel_child: bool = False
    comments_enabled: bool = True


@dataclass
class IgComment:
    id: str
    media_id: str
    author_id: str
    username: str
    text: str
    timestamp: float
    parent_id: str | None = None
    hidden: bool = False
    deleted: bool = False


class InstagramEmulatorState:
    def __init__(self, seed: int = 0, rate_limits: bool = True, quota_total: int = 100) -> None:
        self.seed = seed
        self.rate_limits = rate_limits
        self.quota_total = quota_total
        self.clock = EmulatorClock()
        self.lock = threading.RLock()
        self.base_url = ""
        self.reset_world()

    def reset_world(self) -> None:
        now = self.clock.timestamp()
        self.ids = itertools.count(17900000000000001)
        self.users: dict[str, dict[str, Any]] = {
            DEMO_USER_ID: {"username": DEMO_USERNAME, "name": "Rupor Demo", "followers": 1500, "since": now}
        }
        for uid, username, followers in AUDIENCE:
            self.users[uid] = {"username": username, "name": username, "followers": followers, "since": now}
        self.tokens: dict[str, tuple[str, frozenset[str]]] = {
            DEMO_TOKEN: (DEMO_USER_ID, frozenset(ALL_PERMISSIONS)),
            READ_ONLY_TOKEN: (DEMO_USER_ID, frozenset({"instagram_basic", "pages_show_list"})),
        }
        self.containers: dict[str, Container] = {}
        self.media: dict[str, IgMedia] = {}
        self.comments: dict[str, IgComment] = {}
        self.published_at: list[float] = []  # media_publish successes of the demo account
        self.calls: dict[tuple[str, int], int] = {}
        self.ledger: list[dict[str, Any]] = []

    def reset(self) -> None:
        with self.lock:
            self.reset_world()

    def now(self) -> float:
        return self.clock.timestamp()

    def next_id(self) -> str:
        return str(next(self.ids))

    def record(self, what: str, **details: Any) -> None:
        self.ledger.append({"at": self.now(), "what": what, **details})

    def dump(self) -> dict[str, Any]:
        with self.lock:
            return {
                "containers": len(self.containers),
                "media": len([m for m in self.media.values() if not m.carousel_child]),
                "comments": len(self.comments),
                "quota_usage": self.quota_usage(),
            }

    # -- auth and limits -------------------------------------------------------------------------
    def authenticate(self, token: str) -> tuple[str, frozenset[str]]:
        found = self.tokens.get(token)
        if found is None:
            raise GraphFault(190, "Invalid OAuth access token - Cannot parse access token", status=400)
        return found

    def count_call(self, user_id: str) -> dict[str, str]:
        """One call against the account's hourly budget: the usage header, or code 80002 over it."""
        hour = int(self.now() // 3600)
        used = self.calls.get((user_id, hour), 0) + 1
        self.calls[(user_id, hour)] = used
        regain = 0
        percent = min(100, used * 100 // CALLS_PER_HOUR)
        if self.rate_limits and used > CALLS_PER_HOUR:
            regain = max(1, int((hour + 1) * 3600 - self.now()) // 60)
        header = {
            user_id: [
                {
                    "type": "instagram",
                    "call_count": percent,
                    "total_cputime": percent // 2,
                    "total_time": percent // 2,
                    "estimated_time_to_regain_access": regain,
                }
            ]
        }
        headers = {"X-Business-Use-Case-Usage": json.dumps(header)}
        if regain:
            raise RateLimitedError(headers)
        return headers

    def quota_usage(self) -> int:
        since = self.now() - wire.QUOTA_WINDOW_S
        return len([t for t in self.published_at if t > since])

    # -- containers -----------------------------------------------------------------------------
    def status(self, container: Container) -> str:
        if container.media_id is not None:
            return wire.Status.PUBLISHED
        if container.error is not None:
            return wire.Status.ERROR
        if self.now() - container.created_at > wire.CONTAINER_TTL_S:
            return wire.Status.EXPIRED
        if container.kind == wire.MediaType.CAROUSEL:
            states = {self.status(self.containers[c]) for c in container.children}
            if wire.Status.ERROR in states:
                return wire.Status.ERROR
            if wire.Status.IN_PROGRESS in states:
                return wire.Status.IN_PROGRESS
        if self.now() < container.ready_at:
            return wire.Status.IN_PROGRESS
        return wire.Status.FINISHED

    def container_json(self, container: Container, fields: list[str]) -> dict[str, Any]:
        status = self.status(container)
        full: dict[str, Any] = {"id": container.id, "status_code": status}
        if status == wire.Status.ERROR:
            full["status"] = f"Error: Media upload has failed with error code {container.error}"
        elif status == wire.Status.IN_PROGRESS:
            full["status"] = "In Progress: Media is still being processed."
        else:
            full["status"] = status.title()
        return {k: v for k, v in full.items() if k in fields or k == "id"}

    def publish(self, owner: str, creation_id: str) -> IgMedia:
        container = self.containers.get(creation_id)
        if container is None or container.owner != owner:
            raise _ig(Code.MEDIA_NOT_FOUND, f"The media with id {creation_id} cannot be found")
        status = self.status(container)
        if status == wire.Status.PUBLISHED:
            raise GraphFault(100, "(#100) The container has already been published", subcode=None)
        if container.carousel_item:
            raise _ig(Code.CAROUSEL_INVALID, "A carousel item cannot be published on its own")
        if status == wire.Status.EXPIRED:
            raise _ig(
                Code.CONTAINER_EXPIRED,
                "The media you are trying to access has expired. Please try to upload again.",
            )
        if status == wire.Status.ERROR:
            raise _ig(Code(container.error or Code.UPLOAD_UNKNOWN), "Media upload has failed")
        if status == wire.Status.IN_PROGRESS:
            raise _ig(
                Code.NOT_READY,
                "Media ID is not available",
                "The media is not ready for publishing, please wait for a moment",
            )
        if self.quota_usage() >= self.quota_total:
            raise _ig(
                Code.QUOTA_REACHED,
                "You reached maximum number of posts that is allowed to be published by Content Publishing API.",
            )
        media = self._media_of(container, carousel_child=False)
        for child_id in container.children:
            child = self._media_of(self.containers[child_id], carousel_child=True)
            media.children.append(child.id)
        self.published_at.append(self.now())
        self.record("media_publish", container=container.id, media=media.id, caption=media.caption)
        return media

    def _media_of(self, container: Container, *, carousel_child: bool) -> IgMedia:
        kinds: dict[str, str] = {
            wire.MediaType.CAROUSEL: "CAROUSEL_ALBUM",
            wire.MediaType.REELS: "VIDEO",
            wire.MediaType.VIDEO: "VIDEO",
        }
        kind = kinds.get(container.kind, "IMAGE")
        media = IgMedia(
            id=self.next_id(),
            owner=container.owner,
            container_id=container.id,
            media_type=kind,
            product_type="REELS" if container.kind == wire.MediaType.REELS else "FEED",
            caption=container.caption,
            timestamp=self.now(),
            audience=self.followers(container.owner),
            alt_text=container.alt_text,
            carousel_child=carousel_child,
        )
        container.media_id = media.id
        self.media[media.id] = media
        return media

    def followers(self, user_id: str) -> int:
        user = self.users[user_id]
        if user_id != DEMO_USER_ID:
            return int(user["followers"])
        start, hours = int(user["since"] // 3600), int(self.now() // 3600)
        total = int(user["followers"])
        for hour in range(max(start, hours - 24 * 60), hours):
            joins, leaves = engagement.member_flow(
                self.seed, user_id, hour, joins_per_day=8, leaves_per_day=3
            )
            total += joins - leaves
        return max(0, total)

    # -- media, comments, insights --------------------------------------------------------------
    def counts(self, media: IgMedia) -> engagement.PostCounts:
        return engagement.post_counts(
            self.seed,
            media.id,
            published=media.timestamp,
            now=self.now(),
            audience=media.audience,
            content_format="video" if media.media_type == "VIDEO" else "photo",
        )

    def live_comments(self, media_id: str, parent: str | None) -> list[IgComment]:
        return [
            c
            for c in self.comments.values()
            if c.media_id == media_id and c.parent_id == parent and not c.deleted
        ]

    def media_json(self, media: IgMedia, fields: list[str]) -> dict[str, Any]:
        counts = self.counts(media)
        user = self.users[media.owner]
        base = self.base_url or "https://www.instagram.com"
        full: dict[str, Any] = {
            "id": media.id,
            "caption": media.caption,
            "media_type": media.media_type,
            "media_product_type": media.product_type,
            "permalink": f"{base}/p/{media.id}/",
            "timestamp": _ts(media.timestamp),
            "like_count": counts.likes,
            "comments_count": len(
                [c for c in self.comments.values() if c.media_id == media.id and not c.deleted]
            ),
            "username": user["username"],
            "alt_text": media.alt_text,
            "is_comment_enabled": media.comments_enabled,
            "owner": {"id": media.owner},
        }
        if media.children:
            full["children"] = {"data": [{"id": c} for c in media.children]}
        return _pick(full, fields)

    def comment_json(
        self, comment: IgComment, fields: list[str], nested: Mapping[str, list[str]]
    ) -> dict[str, Any]:
        full: dict[str, Any] = {
            "id": comment.id,
            "text": comment.text,
            "timestamp": _ts(comment.timestamp),
            "username": comment.username,
            "from": {"id": comment.author_id, "username": comment.username},
            "hidden": comment.hidden,
            "like_count": 0,
            "media": {"id": comment.media_id},
        }
        if comment.parent_id:
            full["parent_id"] = comment.parent_id
        out = _pick(full, fields)
        if "replies" in nested:
            replies = sorted(self.live_comments(comment.media_id, comment.id), key=lambda c: c.timestamp)
            out["replies"] = {"data": [self.comment_json(r, nested["replies"], {}) for r in replies]}
        return out

    def add_comment(self, media_id: str, author_id: str, text: str, parent_id: str | None) -> IgComment:
        comment = IgComment(
            self.next_id(),
            media_id,
            author_id,
            self.users[author_id]["username"],
            text,
            self.now(),
            parent_id,
        )
        self.comments[comment.id] = comment
        self.record("comment", id=comment.id, media=media_id, parent=parent_id)
        return comment

    def posts_with(self, marker: str) -> int:
        with self.lock:
            return len([m for m in self.media.values() if not m.carousel_child and marker in m.caption])


class RateLimitedError(Exception):
    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__("rate limited")
        self.headers = headers


def _ts(at: float) -> str:
    return wire.format_time(dt.datetime.fromtimestamp(at, dt.UTC))


def _pick(full: Mapping[str, Any], fields: list[str]) -> dict[str, Any]:
    """Only the asked-for fields (and ``id``), as the Graph API answers."""
    return {k: v for k, v in full.items() if k == "id" or k in fields}


def parse_fields(spec: str) -> tuple[list[str], dict[str, list[str]]]:
    """``id,text,replies{id,text}`` -> (["id", "text", "replies"], {"replies": ["id", "text"]})."""
    flat: list[str] = []
    nested: dict[str, list[str]] = {}
    depth, name, inner = 0, "", ""
    for ch in spec + ",":
        if ch == "{":
            depth += 1
            if depth == 1:
                continue
        elif ch == "}":
            depth -= 1
            if depth == 0:
                continue
        if depth > 0:
            inner += ch
        elif ch == ",":
            key = name.strip()
            if key:
                flat.append(key)
                if inner:
                    nested[key] = parse_fields(inner)[0]
            name, inner = "", ""
        else:
            name += ch
    return flat, nested


async def _params(request: Request) -> dict[str, str]:
    out = dict(request.query_params)
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("application/x-www-form-urlencoded"):
        out.update(parse_qsl((await request.body()).decode(), keep_blank_values=True))
    elif ctype.startswith("multipart/form-data"):
        form = await request.form()
        out.update({k: str(v) for k, v in form.items()})
    elif ctype.startswith("application/json"):
        body = json.loads(await request.body() or b"{}")
        if isinstance(body, dict):
            out.update({k: str(v) for k, v in body.items()})
    return out


def _check_image(url: str, body: bytes) -> tuple[int, int]:
    if not body:
        raise _ig(Code.FETCH_FAILED, f"The media could not be fetched from this uri: {url}")
    if len(body) > wire.IMAGE_MAX_BYTES:
        raise _ig(
            Code.IMAGE_TOO_LARGE,
            "The image size is too large.",
            "The image is too large to download. It should be less than 8 MiB.",
        )
    if not body.startswith(b"\xff\xd8\xff"):
        raise _ig(
            Code.IMAGE_FORMAT, "The image format is not supported.", "Only JPEG images can be published."
        )
    try:
        with Image.open(io.BytesIO(body)) as picture:
            width, height = picture.size
    except (UnidentifiedImageError, OSError) as exc:
        raise _ig(Code.IMAGE_FORMAT, "The image format is not supported.") from exc
    if not wire.ratio_fits(width, height):
        raise _ig(
            Code.ASPECT_RATIO,
            f"The submitted image with aspect ratio ('{width}/{height}') cannot be published. "
            "Please submit an image with a valid aspect ratio.",
        )
    return width, height


def _method_of(scope: Scope, _body: bytes) -> str | None:
    path = str(scope.get("path", ""))
    if not _VERSION.match(path):
        return None
    method = str(scope.get("method", "GET"))
    parts = path.strip("/").split("/")[1:]
    if method == "POST" and len(parts) == 2 and parts[1] == "media_publish":
        return "media_publish"
    if method == "POST" and len(parts) == 2 and parts[1] == "media":
        return "media"
    edge = parts[1] if len(parts) > 1 else "node"
    return f"{method} {edge}"


def create_app(seed: int = 0, rate_limits: bool = True, **options: Any) -> Any:  # noqa: C901 - the emulator's route table
    """The Instagram emulator as an ASGI app; ``app.emulator`` is its :class:`InstagramEmulatorState`."""
    state = InstagramEmulatorState(
        seed=seed, rate_limits=rate_limits, quota_total=int(options.get("quota_total") or 100)
    )
    if options.get("base_url"):
        state.base_url = str(options["base_url"]).rstrip("/")
    injector = FaultInjector(seed=seed)

    async def graph(request: Request) -> Response:
        if not state.base_url:
            state.base_url = str(request.base_url).rstrip("/")
        headers: dict[str, str] = {}
        try:
            params = await _params(request)
            version, _path = split_version(request.url.path)
            if version is None:
                raise GraphFault(100, "Unknown path components: the version is missing")
            check_version(version)
            with state.lock:
                user_id, permissions = state.authenticate(token_of(request, params) or "")
                headers = state.count_call(user_id)
            result = await route(
                request, request.path_params["rest"].strip("/").split("/"), params, user_id, permissions
            )
        except RateLimitedError as limited:
            return _throttled(limited.headers)
        except GraphFault as exc:
            return exc.response(headers)
        return JSONResponse(result, headers=headers)

    async def route(
        request: Request, parts: list[str], params: dict[str, str], user_id: str, permissions: frozenset[str]
    ) -> Any:
        method = request.method
        fields, nested = parse_fields(params.get("fields", ""))
        node = parts[0]
        edge = parts[1] if len(parts) > 1 else None
        if node == "me" and edge == "permissions":
            return {"data": [{"permission": p, "status": "granted"} for p in sorted(permissions)]}
        if node == "me" and edge is None:
            node = user_id
        if len(parts) > 2:
            raise GraphFault(100, "Unknown path components", subcode=None)
        if node == user_id and edge == "media" and method == "POST":
            # Meta fetches the file while the call waits: outside the lock, as other calls go on.
            _need(permissions, wire.PUBLISH_PERMISSION)
            return {"id": await create_container(user_id, params)}
        with state.lock:
            if node in state.users:
                if node != user_id:
                    raise GraphFault(
                        100,
                        f"Unsupported get request. Object with ID '{node}' does not exist, cannot be loaded due to missing permissions, or does not support this operation",
                        subcode=33,
                    )
                return await user_edge(method, edge, params, fields, user_id, permissions)
            if node in state.containers and edge is None and method == "GET":
                return state.container_json(state.containers[node], fields or ["id"])
            if node in state.media:
                return media_edge(
                    method, edge, params, fields, nested, state.media[node], user_id, permissions
                )
            if node in state.comments and not state.comments[node].deleted:
                return comment_edge(
                    method, edge, params, fields, nested, state.comments[node], user_id, permissions
                )
        raise GraphFault(
            100,
            f"Unsupported {method.lower()} request. Object with ID '{node}' does not exist, cannot be loaded due to missing permissions, or does not support this operation",
            subcode=33,
        )

    async def user_edge(
        method: str,
        edge: str | None,
        params: dict[str, str],
        fields: list[str],
        user_id: str,
        permissions: frozenset[str],
    ) -> Any:
        user = state.users[user_id]
        if edge is None and method == "GET":
            full = {
                "id": user_id,
                "username": user["username"],
                "name": user["name"],
                "followers_count": state.followers(user_id),
                "follows_count": 120,
                "media_count": len(
                    [m for m in state.media.values() if m.owner == user_id and not m.carousel_child]
                ),
                "profile_picture_url": f"https://scontent.cdninstagram.example/{user_id}.jpg",
            }
            return _pick(full, fields or ["id"])
        if edge == "media_publish" and method == "POST":
            _need(permissions, wire.PUBLISH_PERMISSION)
            media = state.publish(user_id, params.get("creation_id", ""))
            return {"id": media.id}
        if edge == "media" and method == "GET":
            mine = sorted(
                (m for m in state.media.values() if m.owner == user_id and not m.carousel_child),
                key=lambda m: (m.timestamp, int(m.id)),
                reverse=True,
            )
            after = params.get("after")
            if after:
                ids = [m.id for m in mine]
                mine = mine[ids.index(after) + 1 :] if after in ids else []
            limit = min(int(params.get("limit") or 25), 100)
            page = mine[:limit]
            out: dict[str, Any] = {"data": [state.media_json(m, fields or ["id"]) for m in page]}
            if page:
                out["paging"] = {"cursors": {"before": page[0].id, "after": page[-1].id}}
                if len(mine) > limit:
                    out["paging"]["next"] = f"{state.base_url}/media?after={page[-1].id}"
            return out
        if edge == "content_publishing_limit" and method == "GET":
            since = params.get("since")
            if since and float(since) < state.now() - wire.QUOTA_WINDOW_S:
                raise GraphFault(100, "(#100) The since parameter cannot be more than 24 hours ago")
            row: dict[str, Any] = {"quota_usage": state.quota_usage()}
            if "config" in fields:
                row["config"] = {"quota_total": state.quota_total, "quota_duration": wire.QUOTA_WINDOW_S}
            return {"data": [row]}
        if edge == "insights" and method == "GET":
            _need(permissions, wire.INSIGHTS_PERMISSION)
            return account_insights(params, user_id)
        raise GraphFault(100, f"Unsupported {method.lower()} request.", subcode=33)

    async def create_container(user_id: str, params: dict[str, str]) -> str:
        kind = params.get("media_type", "").upper() or wire.MediaType.IMAGE
        if kind not in set(wire.MediaType):
            raise _ig(Code.MEDIA_TYPE_UNKNOWN, f"The media type {kind} is unknown")
        carousel_item = params.get("is_carousel_item", "").lower() == "true"
        caption = params.get("caption", "")
        if (
            len(caption) > wire.CAPTION_MAX
            or wire.hashtags(caption) > wire.HASHTAGS_MAX
            or wire.mentions(caption) > wire.MENTIONS_MAX
        ):
            raise _ig(Code.CAPTION_TOO_LONG, "The caption is too long or has too many hashtags or mentions.")
        now = state.now()
        container = Container(
            id="",
            owner=user_id,
            kind=kind,
            created_at=now,
            ready_at=now,
            caption=caption,
            alt_text=params.get("alt_text", ""),
            carousel_item=carousel_item,
        )
        if kind == wire.MediaType.CAROUSEL:
            children = [c.strip() for c in params.get("children", "").split(",") if c.strip()]
            if not wire.CAROUSEL_MIN <= len(children) <= wire.CAROUSEL_MAX:
                raise _ig(Code.CAROUSEL_INVALID, "A carousel needs 2 to 10 children")
            with state.lock:
                for child in children:
                    found = state.containers.get(child)
                    if found is None or found.owner != user_id or not found.carousel_item:
                        raise _ig(
                            Code.CAROUSEL_INVALID, f"The child {child} is not a carousel item of this account"
                        )
            container.children = children
        elif kind == wire.MediaType.VIDEO and not carousel_item:
            raise GraphFault(
                100,
                "The VIDEO media type is no longer supported for feed posts. Use REELS instead.",
                subcode=Code.MEDIA_TYPE_UNKNOWN,
            )
        elif kind in (wire.MediaType.REELS, wire.MediaType.VIDEO, wire.MediaType.STORIES) and params.get(
            "video_url"
        ):
            url = params["video_url"]
            fetched = await fetch_url(url, wire.VIDEO_MAX_BYTES)
            body = fetched.data if fetched else b""
            if not body:
                raise _ig(Code.FETCH_FAILED, f"The media could not be fetched from this uri: {url}")
            container.url = url
            container.kind = kind
            container.ready_at = now + VIDEO_PROCESSING_S
            if not looks_like_video(body[:256]) or body[4:8] != b"ftyp":
                container.error = Code.VIDEO_FORMAT
        elif params.get("image_url"):
            url = params["image_url"]
            fetched = await fetch_url(url, wire.VIDEO_MAX_BYTES)
            _check_image(url, fetched.data if fetched else b"")
            container.url = url
        else:
            raise GraphFault(100, "(#100) The parameter image_url or video_url is required")
        with state.lock:
            container.id = state.next_id()
            state.containers[container.id] = container
            state.record("container", id=container.id, kind=container.kind, caption=caption)
        return container.id

    def media_edge(
        method: str,
        edge: str | None,
        params: dict[str, str],
        fields: list[str],
        nested: dict[str, list[str]],
        media: IgMedia,
        user_id: str,
        permissions: frozenset[str],
    ) -> Any:
        if media.owner != user_id:
            raise GraphFault(10, "(#10) Application does not have permission for this action")
        if edge is None and method == "GET":
            return state.media_json(media, fields or ["id"])
        if edge == "comments" and method == "GET":
            top = sorted(state.live_comments(media.id, None), key=lambda c: c.timestamp, reverse=True)
            return {
                "data": [state.comment_json(c, fields or ["id", "text", "timestamp"], nested) for c in top]
            }
        if edge == "comments" and method == "POST":
            _need(permissions, wire.COMMENTS_PERMISSION)
            text = params.get("message", "")
            if not text:
                raise GraphFault(100, "(#100) The parameter message is required")
            return {"id": state.add_comment(media.id, user_id, text, None).id}
        if edge == "insights" and method == "GET":
            _need(permissions, wire.INSIGHTS_PERMISSION)
            return media_insights(media, params)
        raise GraphFault(100, f"Unsupported {method.lower()} request.", subcode=33)

    def comment_edge(
        method: str,
        edge: str | None,
        params: dict[str, str],
        fields: list[str],
        nested: dict[str, list[str]],
        comment: IgComment,
        user_id: str,
        permissions: frozenset[str],
    ) -> Any:
        media = state.media[comment.media_id]
        if media.owner != user_id:
            raise GraphFault(10, "(#10) Application does not have permission for this action")
        if edge is None and method == "GET":
            return state.comment_json(comment, fields or ["id", "text", "timestamp"], nested)
        if edge == "replies" and method == "GET":
            replies = sorted(state.live_comments(media.id, comment.id), key=lambda c: c.timestamp)
            return {
                "data": [state.comment_json(c, fields or ["id", "text", "timestamp"], {}) for c in replies]
            }
        _need(permissions, wire.COMMENTS_PERMISSION)
        if edge == "replies" and method == "POST":
            text = params.get("message", "")
            if not text:
                raise GraphFault(100, "(#100) The parameter message is required")
            parent = comment.parent_id or comment.id  # a reply to a reply joins the same thread
            return {"id": state.add_comment(media.id, user_id, text, parent).id}
        if edge is None and method == "POST" and "hide" in params:
            comment.hidden = params["hide"].lower() == "true"
            state.record("hide", id=comment.id, hidden=comment.hidden)
            return {"success": True}
        if edge is None and method == "DELETE":
            comment.deleted = True
            state.record("delete_comment", id=comment.id)
            return {"success": True}
        raise GraphFault(100, f"Unsupported {method.lower()} request.", subcode=33)

    def media_insights(media: IgMedia, params: dict[str, str]) -> Any:
        metrics = [m.strip() for m in params.get("metric", "").split(",") if m.strip()]
        allowed = (
            "views",
            "reach",
            "likes",
            "comments",
            "shares",
            "saved",
            "total_interactions",
            "follows",
            "profile_visits",
        )
        for index, name in enumerate(metrics):
            if name not in allowed or name in wire.RETIRED_METRICS:
                raise GraphFault(
                    100, f"(#100) metric[{index}] must be one of the following values: {', '.join(allowed)}"
                )
        if not metrics:
            raise GraphFault(100, "(#100) The parameter metric is required")
        if media.carousel_child:
            raise GraphFault(10, "(#10) Insights are not available for carousel children")
        counts = state.counts(media)
        comments = len([c for c in state.comments.values() if c.media_id == media.id and not c.deleted])
        values = {
            "views": counts.views,
            "reach": counts.reach,
            "likes": counts.likes,
            "comments": comments,
            "shares": counts.reposts,
            "saved": counts.reposts // 2,
            "follows": 0,
            "profile_visits": counts.reach // 40,
        }
        values["total_interactions"] = values["likes"] + comments + values["shares"] + values["saved"]
        return {
            "data": [
                {
                    "name": name,
                    "period": "lifetime",
                    "values": [{"value": values[name]}],
                    "title": name.replace("_", " ").title(),
                    "id": f"{media.id}/insights/{name}/lifetime",
                }
                for name in metrics
            ]
        }

    def account_insights(params: dict[str, str], user_id: str) -> Any:
        metrics = [m.strip() for m in params.get("metric", "").split(",") if m.strip()]
        for index, name in enumerate(metrics):
            if name not in wire.ACCOUNT_METRICS:
                raise GraphFault(
                    100,
                    f"(#100) metric[{index}] must be one of the following values: {', '.join(wire.ACCOUNT_METRICS)}",
                )
        if params.get("period") != "day":
            raise GraphFault(100, "(#100) Param period must be one of {day}")
        if params.get("metric_type") != "total_value":
            raise GraphFault(100, "(#100) These metrics need metric_type=total_value")
        since = state.now() - 86400
        recent = [
            m
            for m in state.media.values()
            if m.owner == user_id and not m.carousel_child and m.timestamp > since - 86400 * 7
        ]
        totals = {"reach": 0, "views": 0, "accounts_engaged": 0, "total_interactions": 0}
        for media in recent:
            counts = state.counts(media)
            totals["reach"] += counts.reach
            totals["views"] += counts.views
            totals["accounts_engaged"] += counts.likes
            totals["total_interactions"] += counts.engagements
        return {
            "data": [
                {
                    "name": name,
                    "period": "day",
                    "total_value": {"value": totals[name]},
                    "id": f"{user_id}/insights/{name}/day",
                }
                for name in metrics
            ]
        }

    async def audience_comment(request: Request) -> Response:
        spec = json.loads(await request.body() or b"{}")
        with state.lock:
            media_id = str(spec.get("media_id", ""))
            if media_id not in state.media:
                return JSONResponse({"error": "unknown media"}, status_code=404)
            parent = str(spec.get("reply_to") or "") or None
            author = str(spec.get("author") or AUDIENCE[len(state.comments) % len(AUDIENCE)][0])
            comment = state.add_comment(media_id, author, str(spec.get("text", "")), parent)
        return JSONResponse({"id": comment.id})

    async def posts_with(request: Request) -> Response:
        return JSONResponse({"count": state.posts_with(request.query_params.get("marker", ""))})

    async def quota_route(request: Request) -> Response:
        spec = json.loads(await request.body() or b"{}")
        with state.lock:
            if "quota_total" in spec:
                state.quota_total = int(spec["quota_total"])
        return JSONResponse({"quota_total": state.quota_total, "quota_usage": state.quota_usage()})

    def ledger() -> Any:
        with state.lock:
            return list(state.ledger)

    routes = [
        Route("/_emulator/audience/comment", audience_comment, methods=["POST"]),
        Route("/_emulator/posts_with", posts_with, methods=["GET"]),
        Route("/_emulator/quota", quota_route, methods=["POST"]),
        *control_routes(injector, state.clock, state.dump, ledger, state.reset),
        Route("/{version:str}/{rest:path}", graph, methods=["GET", "POST", "DELETE"]),
    ]
    inner = Starlette(routes=routes)
    inner.state.emulator = state
    inner.state.injector = injector

    def rate_limited(_method: str) -> Response:
        # Meta throttles with a Graph error, not a 429: Instagram's Business Use Case code 80002,
        # with the estimate in X-Business-Use-Case-Usage (minutes).
        usage = {
            DEMO_USER_ID: [
                {
                    "type": "instagram",
                    "call_count": 100,
                    "total_cputime": 40,
                    "total_time": 40,
                    "estimated_time_to_regain_access": INJECTED_THROTTLE_MIN,
                }
            ]
        }
        return _throttled({"X-Business-Use-Case-Usage": json.dumps(usage)})

    def server_error(_method: str) -> Response:
        return GraphFault(
            2,
            "An unexpected error has occurred. Please retry your request later.",
            is_transient=True,
            status=500,
        ).response()

    app = FaultMiddleware(inner, injector, _method_of, rate_limited, server_error)
    app.state = SimpleNamespace(emulator=state, injector=injector)  # type: ignore[attr-defined]  # Starlette's app has no declared slot for the emulator; tests and the demo reach it here
    app.emulator = state  # type: ignore[attr-defined]  # as above
    app.injector = injector
    return app


def _throttled(headers: Mapping[str, str]) -> Response:
    """Instagram's Business Use Case throttle (code 80002), with the estimate in the header."""
    return GraphFault(
        80002,
        "There have been too many calls to this Instagram account. Wait a bit and try again.",
        is_transient=True,
        headers=headers,
    ).response()


def _need(permissions: frozenset[str], permission: str) -> None:
    if permission not in permissions:
        raise GraphFault(10, "(#10) Application does not have permission for this action")
