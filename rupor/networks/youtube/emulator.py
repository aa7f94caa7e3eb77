"""A YouTube Data API v3 emulator, built from Google's discovery document and the API's guides.

Every API request is checked against the discovery document (:mod:`.discovery`): required and
unknown parameters, enum values, ``part`` names and request body fields, with the API's own 400
answers. Served:

* ``videos.insert`` in one request (``uploadType=multipart``: metadata and media as
  ``multipart/related``; ``uploadType=media``: the bytes alone), and its resumable upload protocol: ``POST /upload/youtube/v3/videos?
  uploadType=resumable`` answers a session URI in ``Location``; ``PUT``s of chunks (multiples of
  256 KiB but the last) answer 308 with ``Range``; ``Content-Range: bytes */TOTAL`` asks how far
  the session got; the last byte makes the video (exactly one per session). Bytes go to a
  temporary file as they arrive, never held whole in memory;
* ``videos.list/update/delete``, ``thumbnails.set``, ``playlists.list``,
  ``playlistItems.insert/list``, ``channels.list``, ``commentThreads.list/insert``,
  ``comments.list/insert/delete/setModerationStatus/markAsSpam``;
* OAuth 2.0 tokens (``POST /oauth2/v4/token`` and ``/token``): access tokens live one hour;
* quota per project (OAuth client) and Pacific-time day: 10,000 units, with ``videos.insert`` in
  its own bucket of 100 calls (``quota_model="current"``) or costing 1,600 units
  (``"legacy"``); ``costs`` overrides any method's cost; an exhausted quota answers 403
  ``quotaExceeded`` (``rate_limits=False`` turns quota off);
* uploads from an unverified project (``unverified=True``) are forced to private.

Control routes (``/_emulator``): faults, clock, state, ledger, and ``audience/comment``,
``audience/reply``, ``views`` (set a video's counts), ``posts_with`` (videos whose title or
description contain a marker), ``quota`` (units used per project and day).
"""

from __future__ import annotations

import datetime as dt
import email.parser
import email.policy
import json
import random
import string
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Scope

from rupor.networks.emulation import EmulatorClock, FaultInjector, FaultMiddleware, control_routes
from rupor.networks.youtube import discovery, wire
from rupor.networks.youtube.discovery import Invalid

DEMO_CHANNEL_ID = "UCrupor0demo0channel0001"
DEMO_CHANNEL_TITLE = "Rupor Demo"
DEMO_CLIENT_ID = "1234567890-rupor.apps.googleusercontent.com"
DEMO_CLIENT_SECRET = "GOCSPX-rupor-demo-secret"
DEMO_ACCESS_TOKEN = "ya29.rupor-demo-access-token-0001"
DEMO_REFRESH_TOKEN = "1//rupor-demo-refresh-token-0001"
READ_ONLY_TOKEN = "ya29.rupor-read-only-token-0001"
NO_CHANNEL_TOKEN = "ya29.rupor-no-channel-token-0001"
EXPIRED_TOKEN = "ya29.rupor-expired-token-0001"
COMMENTER_IDS = ("UCfan0000000000000000001", "UCfan0000000000000000002", "UCfan0000000000000000003")
COMMENTER_NAMES = ("Alice Viewer", "Boris Watcher", "Chloe Fan")
SESSION_TTL_S = 7 * 86400
TOKEN_TTL_S = 3600
SCOPE_UPLOAD = "https://www.googleapis.com/auth/youtube.upload"
SCOPE_FORCE_SSL = "https://www.googleapis.com/auth/youtube.force-ssl"
SCOPE_READONLY = "https://www.googleapis.com/auth/youtube.readonly"
WRITE_SCOPES = (SCOPE_UPLOAD, SCOPE_FORCE_SSL, "https://www.googleapis.com/auth/youtube")


@dataclass
class Token:
    value: str
    client_id: str
    channel_id: str | None
    scopes: tuple[str, ...]
    expires_at: float


@dataclass
class Video:
    id: str
    channel_id: str
    snippet: dict[str, Any]
    status: dict[str, Any]
    size: int
    created_at: float
    views: int = 0
    likes: int = 0
    thumbnail: bool = False


@dataclass
class UploadSession:
    id: str
    project: str
    channel_id: str
    metadata: dict[str, Any]
    parts: list[str]
    total: int
    content_type: str
    path: str
    created_at: float
    received: int = 0
    video_id: str | None = None


@dataclass
class CommentRow:
    id: str
    video_id: str
    channel_id: str  # the video's channel
    author_id: str
    author_name: str
    text: str
    published_at: float
    parent_id: str | None = None
    moderation: str = "published"
    likes: int = 0


@dataclass
class PlaylistItemRow:
    id: str
    playlist_id: str
    video_id: str
    position: int


class YouTubeEmulatorState:
    def __init__(
        self,
        seed: int = 0,
        rate_limits: bool = True,
        quota_model: str = "current",
        costs: dict[str, int] | None = None,
        units_per_day: int = wire.DEFAULT_UNITS_PER_DAY,
        uploads_per_day: int = wire.DEFAULT_UPLOADS_PER_DAY,
        unverified: bool = False,
    ) -> None:
        self.seed = seed
        self.quota_on = rate_limits
        self.quota_model = quota_model
        self.cost_overrides = dict(costs or {})
        self.units_per_day = units_per_day
        self.uploads_per_day = uploads_per_day
        self.unverified = unverified
        self.clock = EmulatorClock()
        self.lock = threading.RLock()
        self.base_url = ""
        self.spool = tempfile.mkdtemp(prefix="youtube-emulator-")
        self.reset_world()

    def reset_world(self) -> None:
        self.rng = random.Random(self.seed)
        now = self.clock.timestamp()
        self.tokens: dict[str, Token] = {}
        for value, channel, scopes, ttl in (
            (DEMO_ACCESS_TOKEN, DEMO_CHANNEL_ID, WRITE_SCOPES, 10 * 365 * 86400),
            (READ_ONLY_TOKEN, DEMO_CHANNEL_ID, (SCOPE_READONLY,), 10 * 365 * 86400),
            (NO_CHANNEL_TOKEN, None, WRITE_SCOPES, 10 * 365 * 86400),
            (EXPIRED_TOKEN, DEMO_CHANNEL_ID, WRITE_SCOPES, -60),
        ):
            self.tokens[value] = Token(value, DEMO_CLIENT_ID, channel, scopes, now + ttl)
        self.refresh_tokens: dict[str, tuple[str, str | None]] = {
            DEMO_REFRESH_TOKEN: (DEMO_CLIENT_ID, DEMO_CHANNEL_ID)
        }
        self.clients = {DEMO_CLIENT_ID: DEMO_CLIENT_SECRET}
        self.channels: dict[str, dict[str, Any]] = {
            DEMO_CHANNEL_ID: {"title": DEMO_CHANNEL_TITLE, "subscribers": 1280, "views": 45210},
            **{
                cid: {"title": name, "subscribers": 10 + i * 37, "views": 100 * (i + 1)}
                for i, (cid, name) in enumerate(zip(COMMENTER_IDS, COMMENTER_NAMES, strict=True))
            },
        }
        self.videos: dict[str, Video] = {}
        self.sessions: dict[str, UploadSession] = {}
        self.comments: dict[str, CommentRow] = {}
        self.playlists: dict[str, dict[str, Any]] = {
            "PLrupor0demo0launches": {"channel_id": DEMO_CHANNEL_ID, "title": "Launches"},
            "PLrupor0demo0tutorials": {"channel_id": DEMO_CHANNEL_ID, "title": "Tutorials"},
        }
        self.playlist_items: dict[str, PlaylistItemRow] = {}
        self.quota: dict[tuple[str, str], dict[str, int]] = {}
        self.events: list[dict[str, Any]] = []

    def reset(self) -> None:
        with self.lock:
            self.reset_world()

    def now(self) -> float:
        return self.clock.timestamp()

    def record(self, kind: str, **fields: Any) -> None:
        self.events.append({"kind": kind, "at": self.now(), **fields})

    def new_id(self, length: int, prefix: str = "") -> str:
        alphabet = string.ascii_letters + string.digits + "-_"
        return prefix + "".join(self.rng.choice(alphabet) for _ in range(length))

    # -- quota ------------------------------------------------------------------------------------
    def cost(self, method_id: str) -> tuple[int, int]:
        """(units, upload-bucket calls) one call of ``method_id`` costs."""
        if method_id in self.cost_overrides:
            return self.cost_overrides[method_id], 0
        if method_id == "videos.insert":
            if self.quota_model == "legacy":
                return wire.LEGACY_INSERT_COST, 0
            return 0, 1
        return wire.DEFAULT_COSTS.get(method_id, 1), 0

    def charge(self, project: str, method_id: str, *, invalid: bool = False) -> None:
        day = wire.quota_day(self.clock.now())
        used = self.quota.setdefault((project, day), {"units": 0, "uploads": 0})
        units, uploads = (1, 0) if invalid else self.cost(method_id)
        if self.quota_on and (
            used["units"] + units > self.units_per_day or used["uploads"] + uploads > self.uploads_per_day
        ):
            raise Invalid(
                403,
                "quotaExceeded",
                'The request cannot be completed because you have exceeded your <a href="/youtube/v3/'
                'getting-started#quota">quota</a>.',
                domain="youtube.quota",
            )
        used["units"] += units
        used["uploads"] += uploads

    def dump(self) -> dict[str, Any]:
        with self.lock:
            return {
                "videos": {
                    v.id: {"snippet": v.snippet, "status": v.status, "size": v.size}
                    for v in self.videos.values()
                },
                "sessions": {
                    s.id: {"received": s.received, "total": s.total, "video_id": s.video_id}
                    for s in self.sessions.values()
                },
                "comments": len(self.comments),
                "quota": {f"{p}|{d}": u for (p, d), u in self.quota.items()},
            }


def _error(exc: Invalid) -> JSONResponse:
    return JSONResponse(exc.payload(), status_code=exc.status)


def _method_of(scope: Scope, _body: bytes) -> str | None:
    path: str = scope["path"]
    verb: str = scope["method"]
    if path.startswith(("/upload/youtube/v3/videos", "/resumable/upload/youtube/v3/videos")):
        query = parse_qs(scope.get("query_string", b"").decode())
        return "videos.insert" if verb == "PUT" or "upload_id" in query else "videos.insert.session"
    if path.endswith("/thumbnails/set"):
        return "thumbnails.set"
    if not path.startswith("/youtube/v3/"):
        return None
    rest = path[len("/youtube/v3/") :].strip("/")
    resource, _, action = rest.partition("/")
    if action:
        return f"{resource}.{action}"
    return f"{resource}." + {"GET": "list", "POST": "insert", "PUT": "update", "DELETE": "delete"}.get(
        verb, verb.lower()
    )


def create_app(seed: int = 0, rate_limits: bool = True, **options: Any) -> Any:  # noqa: C901 - the emulator's route table
    """The YouTube emulator as an ASGI app; ``app.emulator`` is its :class:`YouTubeEmulatorState`."""
    state = YouTubeEmulatorState(
        seed=seed,
        rate_limits=rate_limits,
        quota_model=str(options.get("quota_model", "current")),
        costs=options.get("costs"),
        units_per_day=int(options.get("units_per_day", wire.DEFAULT_UNITS_PER_DAY)),
        uploads_per_day=int(options.get("uploads_per_day", wire.DEFAULT_UPLOADS_PER_DAY)),
        unverified=bool(options.get("unverified", False)),
    )
    if options.get("base_url"):
        state.base_url = str(options["base_url"]).rstrip("/")
    injector = FaultInjector(seed=seed)

    def authed(request: Request, scopes: tuple[str, ...] = WRITE_SCOPES) -> Token:
        header = request.headers.get("authorization", "")
        token = state.tokens.get(header[7:]) if header.lower().startswith("bearer ") else None
        if token is None or token.expires_at <= state.now():
            raise Invalid(
                401,
                "authError",
                "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
                "cookie or other valid authentication credential.",
                domain="global",
            )
        if not any(s in token.scopes for s in scopes):
            raise Invalid(
                403,
                "insufficientPermissions",
                "Request had insufficient authentication scopes.",
                domain="global",
            )
        return token

    def query_of(request: Request) -> dict[str, list[str]]:
        return parse_qs(request.url.query, keep_blank_values=True)

    def begin(
        request: Request, method_id: str, scopes: tuple[str, ...] = WRITE_SCOPES
    ) -> tuple[Token, list[str]]:
        """Authenticate, validate the query by the discovery document and charge the quota (an
        invalid request still costs a unit)."""
        if not state.base_url:
            state.base_url = str(request.base_url).rstrip("/")
        token = authed(request, scopes)
        try:
            asked = discovery.check_query(method_id, query_of(request))
        except Invalid:
            state.charge(token.client_id, method_id, invalid=True)
            raise
        state.charge(token.client_id, method_id)
        return token, asked

    def own_channel(token: Token) -> str:
        if token.channel_id is None:
            raise Invalid(401, "youtubeSignupRequired", "Unauthorized", domain="youtube.header")
        return token.channel_id

    def api(handler: Callable[[Request, bytes], Response]) -> Any:
        async def run(request: Request) -> Response:
            body = await request.body()
            try:
                with state.lock:
                    return handler(request, body)
            except Invalid as exc:
                return _error(exc)

        return run

    def json_body(method_id: str, body: bytes) -> dict[str, Any]:
        try:
            spec = json.loads(body or b"{}")
        except ValueError:
            raise Invalid(400, "parseError", "Parse Error") from None
        discovery.check_body(method_id, spec)
        return dict(spec)

    # -- videos ---------------------------------------------------------------------------------
    def video_json(video: Video, asked: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": "youtube#video", "etag": f"e{video.id}", "id": video.id}
        if "snippet" in asked:
            thumbs = {
                "default": {
                    "url": f"https://i.ytimg.com/vi/{video.id}/default.jpg",
                    "width": 120,
                    "height": 90,
                }
            }
            out["snippet"] = {
                **video.snippet,
                "publishedAt": wire.format_time(dt.datetime.fromtimestamp(video.created_at, dt.UTC)),
                "channelId": video.channel_id,
                "channelTitle": state.channels.get(video.channel_id, {}).get("title", ""),
                "thumbnails": thumbs,
                "liveBroadcastContent": "none",
            }
        if "status" in asked:
            out["status"] = {
                "uploadStatus": "processed",
                "embeddable": True,
                "license": "youtube",
                **video.status,
            }
        if "statistics" in asked:
            count = sum(
                1 for c in state.comments.values() if c.video_id == video.id and c.moderation == "published"
            )
            out["statistics"] = {
                "viewCount": str(video.views),
                "likeCount": str(video.likes),
                "favoriteCount": "0",
                "commentCount": str(count),
            }
        if "contentDetails" in asked:
            out["contentDetails"] = {
                "duration": "PT1M",
                "dimension": "2d",
                "definition": "hd",
                "caption": "false",
            }
        return out

    def check_metadata(spec: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        snippet = dict(spec.get("snippet") or {})
        status = dict(spec.get("status") or {})
        title = str(snippet.get("title") or "")
        if not title.strip():
            raise Invalid(
                400,
                "invalidTitle",
                "The request metadata specifies an invalid or empty video title.",
                domain="youtube.video",
            )
        if len(title) > wire.TITLE_MAX or any(c in title for c in wire.FORBIDDEN_CHARS):
            raise Invalid(
                400,
                "invalidTitle",
                "The request metadata specifies an invalid video title.",
                domain="youtube.video",
            )
        description = str(snippet.get("description") or "")
        if len(description.encode()) > wire.DESCRIPTION_MAX_BYTES or any(
            c in description for c in wire.FORBIDDEN_CHARS
        ):
            raise Invalid(
                400,
                "invalidDescription",
                "The request metadata specifies an invalid video description.",
                domain="youtube.video",
            )
        tags = [str(t) for t in snippet.get("tags") or []]
        if wire.tags_length(tags) > wire.TAGS_MAX_CHARS:
            raise Invalid(
                400,
                "invalidTags",
                "The request metadata specifies invalid video keywords.",
                domain="youtube.video",
            )
        category = str(snippet.get("categoryId") or wire.DEFAULT_CATEGORY)
        if not category.isdigit():
            raise Invalid(
                400,
                "invalidCategoryId",
                "The snippet.categoryId property specifies an invalid category ID.",
                domain="youtube.video",
            )
        privacy = str(status.get("privacyStatus") or "public")
        publish_at = status.get("publishAt")
        if publish_at is not None:
            if privacy != "private":
                raise Invalid(
                    400,
                    "invalidPublishAt",
                    "The request metadata specifies an invalid scheduled publishing time.",
                    domain="youtube.video",
                )
            if wire.parse_time(str(publish_at)).timestamp() <= state.now():
                raise Invalid(
                    400,
                    "invalidPublishAt",
                    "The request metadata specifies an invalid scheduled publishing time.",
                    domain="youtube.video",
                )
        out_snippet: dict[str, Any] = {"title": title, "description": description, "categoryId": category}
        if tags:
            out_snippet["tags"] = tags
        out_status: dict[str, Any] = {"privacyStatus": privacy}
        if publish_at is not None:
            out_status["publishAt"] = str(publish_at)
        for key in ("selfDeclaredMadeForKids", "embeddable", "license", "publicStatsViewable"):
            if key in status:
                out_status[key] = status[key]
        out_status["madeForKids"] = bool(status.get("selfDeclaredMadeForKids", False))
        return out_snippet, out_status

    async def start_upload(request: Request) -> Response:
        body = await request.body()
        try:
            with state.lock:
                return _start_upload(request, body)
        except Invalid as exc:
            return _error(exc)

    def _start_upload(request: Request, body: bytes) -> Response:
        query = query_of(request)
        kind = (query.get("uploadType") or [""])[0]
        if kind not in ("resumable", "multipart", "media"):
            raise Invalid(400, "badRequest", "Invalid uploadType: expected resumable, multipart or media.")
        token, asked = begin(request, "videos.insert", (SCOPE_UPLOAD, *WRITE_SCOPES))
        channel = own_channel(token)
        if kind != "resumable":
            return _simple_upload(request, kind, body, token, channel, asked)
        spec = json_body("videos.insert", body)
        snippet, status = check_metadata(spec)
        length = request.headers.get("x-upload-content-length", "")
        content_type = request.headers.get("x-upload-content-type", "application/octet-stream")
        if not length.isdigit() or int(length) <= 0:
            raise Invalid(
                400,
                "badContent",
                "The X-Upload-Content-Length header is missing or invalid.",
                domain="youtube.video",
            )
        if int(length) > wire.VIDEO_MAX_BYTES:
            raise Invalid(400, "badContent", "The file is larger than 256 GB.", domain="youtube.video")
        if not (content_type.startswith("video/") or content_type == "application/octet-stream"):
            raise Invalid(
                400,
                "badContent",
                "Media type '" + content_type + "' is not supported.",
                domain="youtube.video",
            )
        session = UploadSession(
            id=state.new_id(32, "AB"),
            project=token.client_id,
            channel_id=channel,
            metadata={"snippet": snippet, "status": status},
            parts=asked,
            total=int(length),
            content_type=content_type,
            path=str(Path(state.spool) / f"upload-{len(state.sessions)}"),
            created_at=state.now(),
        )
        Path(session.path).touch()
        state.sessions[session.id] = session
        state.record("upload_session", id=session.id, total=session.total)
        location = f"{state.base_url}/upload/youtube/v3/videos?uploadType=resumable&upload_id={session.id}"
        return Response(status_code=200, headers={"Location": location, "X-GUploader-UploadID": session.id})

    def _simple_upload(
        request: Request, kind: str, body: bytes, token: Token, channel: str, asked: list[str]
    ) -> Response:
        """``uploadType=multipart`` (a JSON part, then the media part, ``multipart/related``) or
        ``uploadType=media`` (the bytes alone): one request makes the video."""
        content_type = request.headers.get("content-type", "")
        if kind == "multipart":
            parsed = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
            )
            parts = list(parsed.iter_parts()) if parsed.is_multipart() else []
            if len(parts) != 2:
                raise Invalid(400, "badContent", "Expected a multipart/related body: metadata, then media.")
            raw_spec, raw_media = parts[0].get_payload(decode=True), parts[1].get_payload(decode=True)
            spec = json_body("videos.insert", raw_spec if isinstance(raw_spec, bytes) else b"{}")
            media = raw_media if isinstance(raw_media, bytes) else b""
            media_type = parts[1].get_content_type()
        else:
            spec, media, media_type = {"snippet": {"title": "unknown"}}, body, content_type
        snippet, status = check_metadata(spec)
        if not media:
            raise Invalid(400, "badContent", "The media is empty.", domain="youtube.video")
        if not (media_type.startswith("video/") or media_type == "application/octet-stream"):
            raise Invalid(
                400, "badContent", f"Media type '{media_type}' is not supported.", domain="youtube.video"
            )
        session = UploadSession(
            id=state.new_id(32, "AB"),
            project=token.client_id,
            channel_id=channel,
            metadata={"snippet": snippet, "status": status},
            parts=asked,
            total=len(media),
            content_type=media_type,
            path=str(Path(state.spool) / f"upload-{len(state.sessions)}"),
            created_at=state.now(),
            received=len(media),
        )
        state.sessions[session.id] = session
        return _finish(session)

    async def put_upload(request: Request) -> Response:
        upload_id = (query_of(request).get("upload_id") or [""])[0]
        with state.lock:
            session = state.sessions.get(upload_id)
            if session is None or session.created_at + SESSION_TTL_S < state.now():
                return JSONResponse(
                    Invalid(404, "notFound", "The upload session was not found or has expired.").payload(),
                    status_code=404,
                )
            done = session.video_id
        if done is not None:
            with state.lock:
                return JSONResponse(video_json(state.videos[done], session.parts), status_code=200)
        header = request.headers.get("content-range", "")
        try:
            first, last, _total = _range(header, session.total)
        except ValueError:
            return JSONResponse(
                Invalid(400, "badRequest", "Failed to parse Content-Range header.").payload(), status_code=400
            )
        if first is None:  # a status query: how far did the session get?
            return _incomplete(session)
        if first > session.received:
            return JSONResponse(
                Invalid(
                    400, "badRequest", "Invalid request. The starting byte is past what was received."
                ).payload(),
                status_code=400,
            )
        end = (last or 0) + 1
        if end < session.total and (end - first) % wire.CHUNK_QUANTUM:
            return JSONResponse(
                Invalid(
                    400,
                    "badRequest",
                    "Every chunk but the last must be a multiple of 256 KiB (262144 bytes).",
                ).payload(),
                status_code=400,
            )
        # Stream the chunk to the session's file: a large video never sits in memory here. Bytes
        # the session already holds (a resent overlap) are skipped; a chunk cut short keeps what came.
        skip = session.received - first
        room = end - session.received
        written = 0
        with Path(session.path).open("ab") as out:
            async for piece in request.stream():
                if skip:
                    cut = min(skip, len(piece))
                    piece, skip = piece[cut:], skip - cut
                piece = piece[: max(0, room - written)]
                out.write(piece)
                written += len(piece)
        with state.lock:
            session.received += written
            if session.received < session.total:
                return _incomplete(session)
            return _finish(session)

    def _incomplete(session: UploadSession) -> Response:
        headers = {"X-GUploader-UploadID": session.id}
        if session.received:
            headers["Range"] = f"bytes=0-{session.received - 1}"
        return Response(status_code=308, headers=headers)

    def _finish(session: UploadSession) -> Response:
        snippet, status = session.metadata["snippet"], dict(session.metadata["status"])
        if state.unverified:  # unverified API projects: every upload is private until audited
            status = {**status, "privacyStatus": "private"}
            status.pop("publishAt", None)
        video = Video(
            id=state.new_id(11),
            channel_id=session.channel_id,
            snippet=snippet,
            status=status,
            size=session.total,
            created_at=state.now(),
        )
        state.videos[video.id] = video
        session.video_id = video.id
        Path(session.path).unlink(missing_ok=True)
        state.record("video_created", id=video.id, title=snippet.get("title"), bytes=session.total)
        return JSONResponse(video_json(video, session.parts or ["snippet", "status"]), status_code=200)

    def videos_list(request: Request, _body: bytes) -> Response:
        token, asked = begin(request, "videos.list", (*WRITE_SCOPES, SCOPE_READONLY))
        query = query_of(request)
        ids = [i for v in query.get("id", []) for i in v.split(",") if i]
        if not ids:
            raise Invalid(
                400,
                "missingRequiredParameter",
                "No filter selected. Expected one of: id, chart, myRating.",
                domain="youtube.parameter",
            )
        if len(ids) > 50:
            raise Invalid(400, "badRequest", "Too many ids (50 at most).")
        items = []
        for vid in ids:
            video = state.videos.get(vid)
            if video is None:
                continue
            if video.status.get("privacyStatus") == "private" and video.channel_id != token.channel_id:
                continue
            items.append(video_json(video, asked))
        return JSONResponse(
            {
                "kind": "youtube#videoListResponse",
                "etag": "l",
                "items": items,
                "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
            }
        )

    def videos_delete(request: Request, _body: bytes) -> Response:
        token, _asked = begin(request, "videos.delete")
        vid = (query_of(request).get("id") or [""])[0]
        video = state.videos.get(vid)
        if video is None:
            raise Invalid(
                404,
                "videoNotFound",
                "The video identified by the <code>id</code> parameter could not be found.",
                domain="youtube.video",
            )
        if video.channel_id != token.channel_id:
            raise Invalid(
                403,
                "forbidden",
                "The video that you are trying to delete cannot be deleted.",
                domain="youtube.video",
            )
        del state.videos[vid]
        state.record("video_deleted", id=vid)
        return Response(status_code=204)

    def videos_update(request: Request, body: bytes) -> Response:
        token, asked = begin(request, "videos.update")
        spec = json_body("videos.update", body)
        video = state.videos.get(str(spec.get("id") or ""))
        if video is None:
            raise Invalid(
                404,
                "videoNotFound",
                "The video that you are trying to update cannot be found.",
                domain="youtube.video",
            )
        if video.channel_id != token.channel_id:
            raise Invalid(
                403,
                "forbidden",
                "The video that you are trying to update cannot be updated.",
                domain="youtube.video",
            )
        if "snippet" in asked:
            snippet = dict(spec.get("snippet") or {})
            if not snippet.get("categoryId"):
                raise Invalid(
                    400,
                    "invalidCategoryId",
                    "The snippet.categoryId property specifies an invalid category ID.",
                    domain="youtube.video",
                )
            new_snippet, _status = check_metadata({"snippet": snippet, "status": {}})
            video.snippet = new_snippet
        if "status" in asked:
            _snippet, new_status = check_metadata(
                {"snippet": video.snippet, "status": dict(spec.get("status") or {})}
            )
            video.status = new_status
        state.record("video_updated", id=video.id)
        return JSONResponse(video_json(video, asked))

    async def thumbnails_set(request: Request) -> Response:
        body = await request.body()
        try:
            with state.lock:
                token, _asked = begin(request, "thumbnails.set", (SCOPE_UPLOAD, *WRITE_SCOPES))
                vid = (query_of(request).get("videoId") or [""])[0]
                video = state.videos.get(vid)
                if video is None:
                    raise Invalid(
                        404,
                        "videoNotFound",
                        "The video that you are trying to update cannot be found.",
                        domain="youtube.thumbnail",
                    )
                if video.channel_id != token.channel_id:
                    raise Invalid(
                        403,
                        "forbidden",
                        "The thumbnail can't be set for the specified video.",
                        domain="youtube.thumbnail",
                    )
                kind = request.headers.get("content-type", "").split(";")[0].strip()
                if kind not in (*wire.THUMBNAIL_TYPES, "application/octet-stream") or not body:
                    raise Invalid(
                        400,
                        "invalidImage",
                        "The provided image content is invalid.",
                        domain="youtube.thumbnail",
                    )
                if len(body) > wire.THUMBNAIL_MAX_BYTES:
                    raise Invalid(
                        400,
                        "mediaBodyTooLarge",
                        "The thumbnail image file is larger than 2 MB.",
                        domain="youtube.thumbnail",
                    )
                video.thumbnail = True
                state.record("thumbnail_set", video_id=vid, bytes=len(body))
                url = f"https://i.ytimg.com/vi/{vid}/default.jpg"
                return JSONResponse(
                    {
                        "kind": "youtube#thumbnailSetResponse",
                        "items": [{"default": {"url": url, "width": 120, "height": 90}}],
                    }
                )
        except Invalid as exc:
            return _error(exc)

    # -- playlists --------------------------------------------------------------------------------
    def playlists_list(request: Request, _body: bytes) -> Response:
        token, _asked = begin(request, "playlists.list", (*WRITE_SCOPES, SCOPE_READONLY))
        query = query_of(request)
        mine = (query.get("mine") or [""])[0] == "true"
        channel = token.channel_id if mine else (query.get("channelId") or [""])[0]
        items = [
            {
                "kind": "youtube#playlist",
                "id": pid,
                "snippet": {"title": p["title"], "channelId": p["channel_id"]},
            }
            for pid, p in sorted(state.playlists.items())
            if p["channel_id"] == channel
        ]
        return JSONResponse(
            {"kind": "youtube#playlistListResponse", "items": items, "pageInfo": {"totalResults": len(items)}}
        )

    def uploads_playlist(channel_id: str) -> str:
        return "UU" + channel_id[2:]

    def playlist_items_insert(request: Request, body: bytes) -> Response:
        token, _asked = begin(request, "playlistItems.insert")
        spec = json_body("playlistItems.insert", body)
        snippet = spec.get("snippet") or {}
        pid = str(snippet.get("playlistId") or "")
        playlist = state.playlists.get(pid)
        if playlist is None:
            raise Invalid(404, "playlistNotFound", "Playlist not found.", domain="youtube.playlistItem")
        if playlist["channel_id"] != token.channel_id:
            raise Invalid(
                403,
                "playlistItemsNotAccessible",
                "The request is not properly authorized to insert the playlist item.",
                domain="youtube.playlistItem",
            )
        resource = snippet.get("resourceId") or {}
        vid = str(resource.get("videoId") or "")
        if resource.get("kind") != "youtube#video" or vid not in state.videos:
            raise Invalid(404, "videoNotFound", "Video not found.", domain="youtube.playlistItem")
        position = sum(1 for i in state.playlist_items.values() if i.playlist_id == pid)
        item = PlaylistItemRow(state.new_id(20, "PI"), pid, vid, position)
        state.playlist_items[item.id] = item
        state.record("playlist_item", playlist_id=pid, video_id=vid)
        return JSONResponse(
            {
                "kind": "youtube#playlistItem",
                "id": item.id,
                "snippet": {
                    "playlistId": pid,
                    "position": position,
                    "resourceId": {"kind": "youtube#video", "videoId": vid},
                },
            }
        )

    def playlist_items_list(request: Request, _body: bytes) -> Response:
        token, _asked = begin(request, "playlistItems.list", (*WRITE_SCOPES, SCOPE_READONLY))
        query = query_of(request)
        pid = (query.get("playlistId") or [""])[0]
        size = max(0, min(50, int((query.get("maxResults") or ["5"])[0])))
        offset = int((query.get("pageToken") or ["0"])[0] or 0)
        if pid.startswith("UU"):
            channel = "UC" + pid[2:]
            videos = sorted(
                (v for v in state.videos.values() if v.channel_id == channel),
                key=lambda v: (v.created_at, v.id),
                reverse=True,
            )
            if channel != token.channel_id:
                videos = [v for v in videos if v.status.get("privacyStatus") == "public"]
            rows: list[tuple[str, Video | None]] = [(v.id, v) for v in videos]
        elif pid in state.playlists:
            rows = [
                (i.video_id, state.videos.get(i.video_id))
                for i in sorted(state.playlist_items.values(), key=lambda i: i.position)
                if i.playlist_id == pid
            ]
        else:
            raise Invalid(
                404,
                "playlistNotFound",
                "The playlist identified with the request's playlistId parameter cannot be found.",
                domain="youtube.playlistItem",
            )
        page = rows[offset : offset + size]
        items = []
        for vid, video in page:
            snippet: dict[str, Any] = {
                "playlistId": pid,
                "resourceId": {"kind": "youtube#video", "videoId": vid},
            }
            if video is not None:
                snippet.update(
                    title=video.snippet.get("title", ""),
                    description=video.snippet.get("description", ""),
                    publishedAt=wire.format_time(dt.datetime.fromtimestamp(video.created_at, dt.UTC)),
                )
            items.append(
                {
                    "kind": "youtube#playlistItem",
                    "id": f"{pid}.{vid}",
                    "snippet": snippet,
                    "contentDetails": {"videoId": vid},
                }
            )
        out: dict[str, Any] = {
            "kind": "youtube#playlistItemListResponse",
            "items": items,
            "pageInfo": {"totalResults": len(rows), "resultsPerPage": size},
        }
        if offset + size < len(rows):
            out["nextPageToken"] = str(offset + size)
        return JSONResponse(out)

    # -- channels ---------------------------------------------------------------------------------
    def channel_json(cid: str, asked: list[str]) -> dict[str, Any]:
        info = state.channels[cid]
        out: dict[str, Any] = {"kind": "youtube#channel", "etag": f"c{cid}", "id": cid}
        if "snippet" in asked:
            out["snippet"] = {
                "title": info["title"],
                "customUrl": "@" + info["title"].lower().replace(" ", ""),
                "thumbnails": {
                    "default": {"url": f"https://yt3.ggpht.com/{cid}=s88", "width": 88, "height": 88}
                },
            }
        if "statistics" in asked:
            out["statistics"] = {
                "viewCount": str(
                    info["views"] + sum(v.views for v in state.videos.values() if v.channel_id == cid)
                ),
                "subscriberCount": str(info["subscribers"]),
                "hiddenSubscriberCount": False,
                "videoCount": str(sum(1 for v in state.videos.values() if v.channel_id == cid)),
            }
        if "contentDetails" in asked:
            out["contentDetails"] = {"relatedPlaylists": {"likes": "", "uploads": uploads_playlist(cid)}}
        if "status" in asked:
            out["status"] = {"privacyStatus": "public", "isLinked": True, "longUploadsStatus": "allowed"}
        return out

    def channels_list(request: Request, _body: bytes) -> Response:
        token, asked = begin(request, "channels.list", (*WRITE_SCOPES, SCOPE_READONLY))
        query = query_of(request)
        if (query.get("mine") or [""])[0] == "true":
            ids = [token.channel_id] if token.channel_id else []
        else:
            ids = [i for v in query.get("id", []) for i in v.split(",") if i]
            if not ids:
                raise Invalid(
                    400,
                    "missingRequiredParameter",
                    "No filter selected. Expected one of: id, mine, forHandle, forUsername, managedByMe, categoryId, mySubscribers.",
                    domain="youtube.parameter",
                )
        items = [channel_json(cid, asked) for cid in ids if cid in state.channels]
        return JSONResponse(
            {
                "kind": "youtube#channelListResponse",
                "items": items,
                "pageInfo": {"totalResults": len(items), "resultsPerPage": 5},
            }
        )

    # -- comments ---------------------------------------------------------------------------------
    def comment_json(row: CommentRow) -> dict[str, Any]:
        snippet: dict[str, Any] = {
            "channelId": row.channel_id,
            "videoId": row.video_id,
            "textDisplay": row.text,
            "textOriginal": row.text,
            "authorDisplayName": state.channels.get(row.author_id, {}).get("title", row.author_name),
            "authorProfileImageUrl": f"https://yt3.ggpht.com/{row.author_id}=s48",
            "authorChannelUrl": wire.channel_url(row.author_id),
            "authorChannelId": {"value": row.author_id},
            "canRate": True,
            "viewerRating": "none",
            "likeCount": row.likes,
            "moderationStatus": row.moderation,
            "publishedAt": wire.format_time(dt.datetime.fromtimestamp(row.published_at, dt.UTC)),
            "updatedAt": wire.format_time(dt.datetime.fromtimestamp(row.published_at, dt.UTC)),
        }
        if row.parent_id:
            snippet["parentId"] = row.parent_id
        return {"kind": "youtube#comment", "etag": f"m{row.id}", "id": row.id, "snippet": snippet}

    def replies_of(top: CommentRow, viewer: str | None) -> list[CommentRow]:
        return sorted(
            (c for c in state.comments.values() if c.parent_id == top.id and visible(c)),
            key=lambda c: (c.published_at, c.id),
        )

    def visible(row: CommentRow, status: str = "published") -> bool:
        return row.moderation == status

    def thread_json(top: CommentRow, asked: list[str], viewer: str | None) -> dict[str, Any]:
        replies = replies_of(top, viewer)
        out: dict[str, Any] = {"kind": "youtube#commentThread", "etag": f"t{top.id}", "id": top.id}
        if "snippet" in asked:
            out["snippet"] = {
                "channelId": top.channel_id,
                "videoId": top.video_id,
                "topLevelComment": comment_json(top),
                "canReply": True,
                "totalReplyCount": len(replies),
                "isPublic": True,
            }
        if "replies" in asked and replies:
            # Like the API, a thread carries at most five replies: comments.list(parentId) has all.
            out["replies"] = {"comments": [comment_json(r) for r in replies[:5]]}
        return out

    def comment_threads_list(request: Request, _body: bytes) -> Response:
        token, asked = begin(request, "commentThreads.list", (*WRITE_SCOPES, SCOPE_READONLY))
        query = query_of(request)
        video_id = (query.get("videoId") or [""])[0]
        related = (query.get("allThreadsRelatedToChannelId") or [""])[0]
        ids = [i for v in query.get("id", []) for i in v.split(",") if i]
        filters = sum(1 for f in (video_id, related, ids) if f)
        if filters != 1:
            raise Invalid(
                400,
                "missingRequiredParameter",
                "No filter selected. Expected one of: id, videoId, allThreadsRelatedToChannelId, channelId.",
                domain="youtube.parameter",
            )
        status = (query.get("moderationStatus") or ["published"])[0]
        if (
            status != "published"
            and related != token.channel_id
            and (
                not video_id
                or state.videos.get(video_id, None) is None
                or state.videos[video_id].channel_id != token.channel_id
            )
        ):
            raise Invalid(
                403,
                "forbidden",
                "The comment thread could not be retrieved due to insufficient permissions.",
                domain="youtube.commentThread",
            )
        size = int((query.get("maxResults") or ["20"])[0])
        if not 1 <= size <= 100:
            raise Invalid(
                400,
                "invalidMaxResults",
                "The maxResults parameter must be between 1 and 100.",
                domain="youtube.parameter",
            )
        if video_id:
            video = state.videos.get(video_id)
            if video is None:
                raise Invalid(
                    404,
                    "videoNotFound",
                    "The video identified by the <code>videoId</code> parameter could not be found.",
                    domain="youtube.commentThread",
                )
        tops = [c for c in state.comments.values() if c.parent_id is None and visible(c, status)]
        if video_id:
            tops = [c for c in tops if c.video_id == video_id]
        elif related:
            tops = [c for c in tops if c.channel_id == related]
        else:
            tops = [c for c in tops if c.id in ids]

        # order=time (the default): newest thread first; a thread is as new as its newest reply.
        def newest(c: CommentRow) -> float:
            return max([c.published_at, *(r.published_at for r in replies_of(c, token.channel_id))])

        tops.sort(key=lambda c: (newest(c), c.id), reverse=True)
        offset = int((query.get("pageToken") or ["0"])[0] or 0)
        page = tops[offset : offset + size]
        out: dict[str, Any] = {
            "kind": "youtube#commentThreadListResponse",
            "items": [thread_json(c, asked, token.channel_id) for c in page],
            "pageInfo": {"totalResults": len(page), "resultsPerPage": size},
        }
        if offset + size < len(tops):
            out["nextPageToken"] = str(offset + size)
        return JSONResponse(out)

    def comment_threads_insert(request: Request, body: bytes) -> Response:
        token, asked = begin(
            request, "commentThreads.insert", (SCOPE_FORCE_SSL, "https://www.googleapis.com/auth/youtube")
        )
        author = own_channel(token)
        spec = json_body("commentThreads.insert", body)
        snippet = spec.get("snippet") or {}
        video = state.videos.get(str(snippet.get("videoId") or ""))
        if video is None:
            raise Invalid(
                404,
                "videoNotFound",
                "The specified video could not be found.",
                domain="youtube.commentThread",
            )
        text = str(((snippet.get("topLevelComment") or {}).get("snippet") or {}).get("textOriginal") or "")
        check_text(text)
        row = CommentRow(state.new_id(26, "Ug"), video.id, video.channel_id, author, "", text, state.now())
        state.comments[row.id] = row
        state.record("comment", id=row.id, video_id=video.id)
        return JSONResponse(thread_json(row, asked or ["snippet"], token.channel_id))

    def check_text(text: str) -> None:
        if not text.strip():
            raise Invalid(
                400,
                "commentTextRequired",
                "The comment resource must contain a value for the snippet.textOriginal property.",
                domain="youtube.comment",
            )
        if len(text) > wire.COMMENT_MAX:
            raise Invalid(
                400,
                "commentTextTooLong",
                "The comment resource contains too many characters in the snippet.textOriginal property.",
                domain="youtube.comment",
            )

    def comments_list(request: Request, _body: bytes) -> Response:
        token, _asked = begin(request, "comments.list", (*WRITE_SCOPES, SCOPE_READONLY))
        query = query_of(request)
        parent = (query.get("parentId") or [""])[0]
        ids = [i for v in query.get("id", []) for i in v.split(",") if i]
        if bool(parent) == bool(ids):
            raise Invalid(
                400,
                "missingRequiredParameter",
                "No filter selected. Expected one of: id, parentId.",
                domain="youtube.parameter",
            )
        if parent:
            top = state.comments.get(parent)
            if top is None:
                raise Invalid(
                    404,
                    "commentNotFound",
                    "One or more of the comments identified by the request's parentId parameter could not be found.",
                    domain="youtube.comment",
                )
            rows = replies_of(top, token.channel_id)
        else:
            rows = [state.comments[i] for i in ids if i in state.comments]
        size = int((query.get("maxResults") or ["20"])[0])
        offset = int((query.get("pageToken") or ["0"])[0] or 0)
        out: dict[str, Any] = {
            "kind": "youtube#commentListResponse",
            "items": [comment_json(r) for r in rows[offset : offset + size]],
        }
        if offset + size < len(rows):
            out["nextPageToken"] = str(offset + size)
        return JSONResponse(out)

    def comments_insert(request: Request, body: bytes) -> Response:
        token, _asked = begin(
            request, "comments.insert", (SCOPE_FORCE_SSL, "https://www.googleapis.com/auth/youtube")
        )
        author = own_channel(token)
        spec = json_body("comments.insert", body)
        snippet = spec.get("snippet") or {}
        parent_id = str(snippet.get("parentId") or "")
        if not parent_id:
            raise Invalid(
                400,
                "parentIdMissing",
                "The comment that you are trying to create must be a reply; use commentThreads.insert for a top-level comment.",
                domain="youtube.comment",
            )
        parent = state.comments.get(parent_id)
        if parent is None:
            raise Invalid(
                404,
                "parentCommentNotFound",
                "The parent comment could not be found.",
                domain="youtube.comment",
            )
        if parent.parent_id is not None:
            raise Invalid(
                400,
                "operationNotSupported",
                "The API does not support replies to replies; reply to the top-level comment.",
                domain="youtube.comment",
            )
        if parent.moderation != "published":
            raise Invalid(
                403,
                "parentCommentIsPrivate",
                "The specified parent comment is private.",
                domain="youtube.comment",
            )
        text = str(snippet.get("textOriginal") or "")
        check_text(text)
        row = CommentRow(
            state.new_id(26, f"{parent_id}."),
            parent.video_id,
            parent.channel_id,
            author,
            "",
            text,
            state.now(),
            parent_id,
        )
        state.comments[row.id] = row
        state.record("reply", id=row.id, parent_id=parent_id)
        return JSONResponse(comment_json(row))

    def comments_delete(request: Request, _body: bytes) -> Response:
        token, _asked = begin(
            request, "comments.delete", (SCOPE_FORCE_SSL, "https://www.googleapis.com/auth/youtube")
        )
        cid = (query_of(request).get("id") or [""])[0]
        row = state.comments.get(cid)
        if row is None:
            raise Invalid(404, "commentNotFound", "The comment could not be found.", domain="youtube.comment")
        if row.author_id != token.channel_id:
            raise Invalid(
                403,
                "forbidden",
                "The comment could not be deleted due to insufficient permissions.",
                domain="youtube.comment",
            )
        for child in [c for c in state.comments.values() if c.parent_id == cid]:
            del state.comments[child.id]
        del state.comments[cid]
        state.record("comment_deleted", id=cid)
        return Response(status_code=204)

    def comments_moderate(request: Request, _body: bytes) -> Response:
        token, _asked = begin(
            request,
            "comments.setModerationStatus",
            (SCOPE_FORCE_SSL, "https://www.googleapis.com/auth/youtube"),
        )
        query = query_of(request)
        ids = [i for v in query.get("id", []) for i in v.split(",") if i]
        status = (query.get("moderationStatus") or [""])[0]
        ban = (query.get("banAuthor") or ["false"])[0] == "true"
        if ban and status != "rejected":
            raise Invalid(
                400,
                "banWithoutReject",
                "The banAuthor parameter can only be used if the moderationStatus parameter value is rejected.",
                domain="youtube.comment",
            )
        for cid in ids:
            row = state.comments.get(cid)
            if row is None:
                raise Invalid(
                    404,
                    "commentNotFound",
                    "One or more comments identified by the id parameter could not be found.",
                    domain="youtube.comment",
                )
            if row.channel_id != token.channel_id:
                raise Invalid(
                    403,
                    "forbidden",
                    "The comment could not be moderated due to insufficient permissions.",
                    domain="youtube.comment",
                )
            if status == "published" and row.moderation == "published":
                raise Invalid(
                    400,
                    "operationNotSupported",
                    "The comment is already published.",
                    domain="youtube.comment",
                )
        for cid in ids:
            state.comments[cid].moderation = status
            state.record("moderation", id=cid, status=status, ban=ban)
        return Response(status_code=204)

    def comments_spam(request: Request, _body: bytes) -> Response:
        token, _asked = begin(
            request, "comments.markAsSpam", (SCOPE_FORCE_SSL, "https://www.googleapis.com/auth/youtube")
        )
        for cid in [i for v in query_of(request).get("id", []) for i in v.split(",") if i]:
            row = state.comments.get(cid)
            if row is None:
                raise Invalid(
                    404, "commentNotFound", "The comment could not be found.", domain="youtube.comment"
                )
            row.moderation = "likelySpam" if row.channel_id == token.channel_id else row.moderation
        return Response(status_code=204)

    # -- OAuth ------------------------------------------------------------------------------------
    async def token_route(request: Request) -> Response:
        form = parse_qs((await request.body()).decode(), keep_blank_values=True)
        one = {k: v[0] for k, v in form.items()}
        with state.lock:
            client = one.get("client_id", "")
            if state.clients.get(client) != one.get("client_secret", ""):
                return JSONResponse(
                    {"error": "invalid_client", "error_description": "The OAuth client was not found."},
                    status_code=401,
                )
            if one.get("grant_type") != "refresh_token":
                return JSONResponse(
                    {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"},
                    status_code=400,
                )
            known = state.refresh_tokens.get(one.get("refresh_token", ""))
            if known is None or known[0] != client:
                return JSONResponse(
                    {"error": "invalid_grant", "error_description": "Token has been expired or revoked."},
                    status_code=400,
                )
            value = "ya29." + state.new_id(40)
            state.tokens[value] = Token(value, client, known[1], WRITE_SCOPES, state.now() + TOKEN_TTL_S)
            state.record("token_refreshed", client=client)
            return JSONResponse(
                {
                    "access_token": value,
                    "expires_in": TOKEN_TTL_S,
                    "scope": " ".join(WRITE_SCOPES),
                    "token_type": "Bearer",
                }
            )

    # -- the emulator's own controls ----------------------------------------------------------------
    async def audience(request: Request) -> Response:
        kind = request.path_params["kind"]
        spec = json.loads(await request.body() or b"{}")
        with state.lock:
            author = str(spec.get("author") or COMMENTER_IDS[len(state.comments) % len(COMMENTER_IDS)])
            if kind == "comment":
                video = state.videos.get(str(spec.get("video_id", "")))
                if video is None:
                    return JSONResponse({"error": "no such video"}, status_code=404)
                row = CommentRow(
                    state.new_id(26, "Ug"),
                    video.id,
                    video.channel_id,
                    author,
                    "",
                    str(spec.get("text", "")),
                    state.now(),
                )
            else:
                parent = state.comments.get(str(spec.get("comment_id", "")))
                if parent is None:
                    return JSONResponse({"error": "no such comment"}, status_code=404)
                row = CommentRow(
                    state.new_id(26, f"{parent.id}."),
                    parent.video_id,
                    parent.channel_id,
                    author,
                    "",
                    str(spec.get("text", "")),
                    state.now(),
                    parent.id,
                )
            if spec.get("held"):
                row.moderation = "heldForReview"
            state.comments[row.id] = row
            return JSONResponse({"id": row.id})

    async def views(request: Request) -> Response:
        spec = json.loads(await request.body() or b"{}")
        with state.lock:
            video = state.videos.get(str(spec.get("video_id", "")))
            if video is None:
                return JSONResponse({"error": "no such video"}, status_code=404)
            video.views = int(spec.get("views", video.views))
            video.likes = int(spec.get("likes", video.likes))
            return JSONResponse({"ok": True})

    async def posts_with(request: Request) -> Response:
        marker = request.query_params.get("marker", "")
        with state.lock:
            count = sum(
                1
                for v in state.videos.values()
                if v.channel_id == DEMO_CHANNEL_ID
                and (marker in v.snippet.get("title", "") or marker in v.snippet.get("description", ""))
            )
        return JSONResponse({"count": count})

    async def quota_route(_request: Request) -> Response:
        with state.lock:
            return JSONResponse({f"{p}|{d}": used for (p, d), used in state.quota.items()})

    def ledger() -> list[dict[str, Any]]:
        with state.lock:
            return list(state.events)

    async def not_found(_request: Request, _exc: Exception) -> Response:
        return JSONResponse(Invalid(404, "notFound", "Not Found").payload(), status_code=404)

    routes = [
        Route("/oauth2/v4/token", token_route, methods=["POST"]),
        Route("/token", token_route, methods=["POST"]),
        Route("/upload/youtube/v3/videos", start_upload, methods=["POST"]),
        Route("/upload/youtube/v3/videos", put_upload, methods=["PUT"]),
        Route("/resumable/upload/youtube/v3/videos", start_upload, methods=["POST"]),
        Route("/resumable/upload/youtube/v3/videos", put_upload, methods=["PUT"]),
        Route("/upload/youtube/v3/thumbnails/set", thumbnails_set, methods=["POST"]),
        Route("/youtube/v3/videos", api(videos_list), methods=["GET"]),
        Route("/youtube/v3/videos", api(videos_update), methods=["PUT"]),
        Route("/youtube/v3/videos", api(videos_delete), methods=["DELETE"]),
        Route("/youtube/v3/playlists", api(playlists_list), methods=["GET"]),
        Route("/youtube/v3/playlistItems", api(playlist_items_insert), methods=["POST"]),
        Route("/youtube/v3/playlistItems", api(playlist_items_list), methods=["GET"]),
        Route("/youtube/v3/channels", api(channels_list), methods=["GET"]),
        Route("/youtube/v3/commentThreads", api(comment_threads_list), methods=["GET"]),
        Route("/youtube/v3/commentThreads", api(comment_threads_insert), methods=["POST"]),
        Route("/youtube/v3/comments", api(comments_list), methods=["GET"]),
        Route("/youtube/v3/comments", api(comments_insert), methods=["POST"]),
        Route("/youtube/v3/comments", api(comments_delete), methods=["DELETE"]),
        Route("/youtube/v3/comments/setModerationStatus", api(comments_moderate), methods=["POST"]),
        Route("/youtube/v3/comments/markAsSpam", api(comments_spam), methods=["POST"]),
        Route("/_emulator/audience/{kind:str}", audience, methods=["POST"]),
        Route("/_emulator/views", views, methods=["POST"]),
        Route("/_emulator/posts_with", posts_with, methods=["GET"]),
        Route("/_emulator/quota", quota_route, methods=["GET"]),
        *control_routes(injector, state.clock, state.dump, ledger, state.reset),
    ]
    inner = Starlette(routes=routes, exception_handlers={404: not_found})

    def rate_limited(_method: str) -> Response:
        return _error(
            Invalid(
                429,
                "rateLimitExceeded",
                "The request cannot be completed because you have exceeded your quota.",
                domain="youtube.quota",
            )
        )

    def server_error(_method: str) -> Response:
        return _error(Invalid(503, "backendError", "Backend Error"))

    app = FaultMiddleware(inner, injector, _method_of, rate_limited, server_error)
    app.state = SimpleNamespace(emulator=state, injector=injector)  # type: ignore[attr-defined]  # Starlette's app has no declared slot for the emulator; tests and the demo reach it here
    app.emulator = state  # type: ignore[attr-defined]  # as above
    app.injector = injector
    return app


def _range(header: str, total: int) -> tuple[int | None, int | None, int]:
    """Parse ``Content-Range``: ``bytes */TOTAL`` (a status query) or ``bytes A-B/TOTAL``."""
    unit, _, spec = header.strip().partition(" ")
    if unit != "bytes":
        raise ValueError(header)
    span, _, size = spec.partition("/")
    if size not in ("*", str(total)):
        raise ValueError(header)
    if span == "*":
        return None, None, total
    first, _, last = span.partition("-")
    a, b = int(first), int(last)
    if a < 0 or b < a or b >= total:
        raise ValueError(header)
    return a, b, total
