"""An emulator of LinkedIn's versioned REST API for organisation pages (tests, benchmarks, demo).

It behaves like https://api.linkedin.com/rest/ as LinkedIn documents it on Microsoft Learn:

* every ``/rest/`` call needs ``Authorization: Bearer``, ``LinkedIn-Version: YYYYMM`` (missing →
  400 ``VERSION_MISSING``; not an active version → 426 ``NONEXISTENT_VERSION``) and
  ``X-Restli-Protocol-Version: 2.0.0`` (missing → 400); unknown token → 401 ``INVALID_ACCESS_TOKEN`` (65600),
  revoked → 401 ``REVOKED_ACCESS_TOKEN`` (65601), expired → 401 ``EXPIRED_ACCESS_TOKEN``
  (65602); a member without a page role → 403 ``ACCESS_DENIED``;
* ``POST /rest/posts`` (author ``urn:li:organization:N``, ``commentary``, ``visibility``,
  ``distribution``, ``lifecycleState``, ``content.media`` or ``content.article``) → 201, empty
  body, the URN in ``x-restli-id``; commentary over 3,000 characters or a post with neither
  commentary nor content → 422; the commentary is read as little text format: ``\\x`` is a
  literal ``x``, ``@[Name](urn)`` a mention, ``{hashtag|\\#|tag}`` a hashtag, and the text is cut
  silently at the first unescaped reserved character, as LinkedIn does;
* ``GET /rest/posts/{urn}``, ``GET /rest/posts?q=author&author=…`` (newest first, paged),
  ``DELETE /rest/posts/{urn}`` (204);
* ``POST /rest/images?action=initializeUpload`` and ``/rest/documents?action=initializeUpload``
  → ``value.uploadUrl`` and ``value.image``/``value.document``; ``PUT`` the bytes to the upload
  URL (no auth header); the asset is ``PROCESSING`` for a moment and then ``AVAILABLE``
  (``GET /rest/images/{urn}``); a post using an asset that is not available → 422;
* ``GET``/``POST /rest/socialActions/{urn}/comments`` (``message.text`` is plain text, kept
  exactly as sent), ``DELETE …/comments/{id}``;
* ``GET /rest/organizationalEntityShareStatistics?q=organizationalEntity&…&shares=List(…)``:
  impressions, unique impressions, clicks, likes, comments, shares and engagement, growing with
  the emulator clock (networks/engagement.py);
* ``POST /oauth/v2/accessToken`` ``grant_type=refresh_token``: a new 60-day access token; the
  refresh token keeps its 365-day life from the first authorization;
* daily application and member limits (reset at 00:00 UTC) answered with 429;
* **no idempotency**: the same post sent twice is two posts.

Every side effect is appended to the ledger (``GET /_emulator/ledger``).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import random
import re
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Scope

from rupor.networks import engagement
from rupor.networks.emulation import EmulatorClock, FaultInjector, FaultMiddleware, control_routes
from rupor.networks.linkedin import wire

# -- the seeded world -----------------------------------------------------------------------
DEMO_CLIENT_ID = "86emulatorclient"
DEMO_CLIENT_SECRET = "emulatorClientSecret0123"
DEMO_TOKEN = "AQVemulatordemo0123456789abcdefghijklmnopqrstuvwxyzDEMO"
DEMO_REFRESH = "AQXemulatorrefresh0123456789abcdefghijklmnopqrstuvwxyzREF"
EXPIRED_TOKEN = "AQVemulatorexpired0123456789abcdefghijklmnopqrstuvwxyEXP"
REVOKED_TOKEN = "AQVemulatorrevoked0123456789abcdefghijklmnopqrstuvwxyREV"
DEMO_MEMBER = "urn:li:person:Em7demoAdm"
DEMO_ORG = "10000001"
NO_RIGHTS_ORG = "10000002"
#: Versions the emulator treats as active (LinkedIn keeps each for about a year).
ACTIVE_VERSIONS = frozenset({"202508", "202509", "202510", "202511", "202512", "202601"})
#: LinkedIn publishes no numbers; each app sees its own in the Developer Portal. These are the
#: emulator's daily caps per endpoint, per application and per member.
DAILY_APP_LIMIT = 100_000
DAILY_MEMBER_LIMIT = 5_000
#: How long (real seconds) an uploaded image or document is PROCESSING before it is AVAILABLE.
PROCESSING_S = 0.2

AUDIENCE = (
    ("urn:li:person:aud01", "Priya Raman"),
    ("urn:li:person:aud02", "Jonas Weber"),
    ("urn:li:person:aud03", "Mei Tanaka"),
    ("urn:li:person:aud04", "Carlos Ortega"),
    ("urn:li:person:aud05", "Olga Smirnova"),
)
AUDIENCE_LINES = (
    "Great insight, thanks for sharing.",
    "We have seen the same in our team.",
    "Congratulations to everyone involved!",
    "Interesting. How did you measure it?",
    "Very useful, saving this.",
)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, service: int | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.service = status, code, message, service

    def response(self) -> Response:
        return JSONResponse(
            wire.error_payload(self.status, self.code, self.message, self.service), self.status
        )


@dataclass
class Token:
    member: str
    expires_at: float
    scopes: frozenset[str]
    revoked: bool = False


@dataclass
class Refresh:
    member: str
    expires_at: float  # fixed at the first authorization: refreshing never extends it
    scopes: frozenset[str]
    revoked: bool = False


@dataclass
class Organization:
    id: str
    name: str
    vanity: str
    followers: int
    admins: set[str] = field(default_factory=set)


@dataclass
class LiComment:
    id: str
    post: str
    actor: str
    text: str
    created: float
    parent: str | None = None
    deleted: bool = False


@dataclass
class Post:
    urn: str
    author: str
    commentary: str  # as sent (little text format)
    text: str  # as LinkedIn shows it
    content: dict[str, Any] | None
    created: float
    audience: int
    deleted: bool = False
    comments: list[LiComment] = field(default_factory=list)
    audience_comments: int = 0

    @property
    def format(self) -> str:
        media = (self.content or {}).get("media") or {}
        if str(media.get("id", "")).startswith("urn:li:image:"):
            return "photo"
        if str(media.get("id", "")).startswith("urn:li:document:"):
            return "link"
        return "link" if (self.content or {}).get("article") else "text"


_MENTION = re.compile(r"@\[([^\]\\]*)\]\((urn:li:[a-zA-Z]+:[^)\s]+)\)")
_HASHTAG = re.compile(r"\{hashtag\|\\#\|([^}]*)\}")


def render_little_text(commentary: str) -> str:
    """What LinkedIn shows for a commentary: escapes resolved, mentions and hashtag templates
    rendered, and the text cut at the first unescaped reserved character (LinkedIn does so
    silently, with no error)."""
    out: list[str] = []
    i = 0
    while i < len(commentary):
        ch = commentary[i]
        if ch == "\\":
            if i + 1 < len(commentary):
                out.append(commentary[i + 1])
            i += 2
            continue
        if ch == "@" and (m := _MENTION.match(commentary, i)):
            out.append(m.group(1))
            i = m.end()
            continue
        if ch == "{" and (m := _HASHTAG.match(commentary, i)):
            out.append("#" + m.group(1))
            i = m.end()
            continue
        if ch in wire.RESERVED:
            break
        out.append(ch)
        i += 1
    return "".join(out)


class LinkedInEmulatorState:
    """Everything the emulated LinkedIn knows. All access goes through ``lock``."""

    def __init__(self, seed: int = 0, rate_limits: bool = True, clock: EmulatorClock | None = None) -> None:
        self.seed = seed
        self.rate_limits = rate_limits
        self.clock = clock or EmulatorClock()
        self.lock = threading.RLock()
        self.base_url = ""
        self.daily_app_limit = DAILY_APP_LIMIT
        self.daily_member_limit = DAILY_MEMBER_LIMIT
        self._build()

    def _build(self) -> None:
        now = self.clock.timestamp()
        self.rng = random.Random(self.seed)
        self._next_id = 7_100_000_000_000_000_000 + self.seed * 1000
        full = frozenset({"w_organization_social", "r_organization_social", "rw_organization_admin"})
        self.tokens: dict[str, Token] = {
            DEMO_TOKEN: Token(DEMO_MEMBER, now + wire.ACCESS_TOKEN_TTL_S, full),
            EXPIRED_TOKEN: Token(DEMO_MEMBER, now - 3600, full),
            REVOKED_TOKEN: Token(DEMO_MEMBER, now + wire.ACCESS_TOKEN_TTL_S, full, revoked=True),
        }
        self.refresh_tokens: dict[str, Refresh] = {
            DEMO_REFRESH: Refresh(DEMO_MEMBER, now + wire.REFRESH_TOKEN_TTL_S, full),
        }
        self.clients = {DEMO_CLIENT_ID: DEMO_CLIENT_SECRET}
        self.orgs: dict[str, Organization] = {
            DEMO_ORG: Organization(DEMO_ORG, "Rupor Demo Bakery", "rupor-demo-bakery", 850, {DEMO_MEMBER}),
            NO_RIGHTS_ORG: Organization(NO_RIGHTS_ORG, "Acme Logistics", "acme-logistics", 12400),
        }
        self.names = dict(AUDIENCE) | {DEMO_MEMBER: "Anna Demidova"}
        self.posts: dict[str, Post] = {}
        self.assets: dict[str, dict[str, Any]] = {}  # urn -> {owner, status, upload, bytes, available_at}
        self.uploads: dict[str, str] = {}  # upload token -> asset urn
        self.calls: dict[tuple[str, str, str], int] = {}  # (day, who, endpoint) -> calls
        self.ledger: list[dict[str, Any]] = []
        for index, text in enumerate(("Welcome to our bakery's page!", "We are hiring bakers in Lisbon.")):
            created = now - (2 - index) * 24 * 3600
            self._new_post(f"urn:li:organization:{DEMO_ORG}", wire.escape_commentary(text), None, created)

    def reset(self) -> None:
        with self.lock:
            self._build()

    def now(self) -> float:
        return self.clock.timestamp()

    def new_id(self) -> str:
        self._next_id += 1 + self.rng.randrange(97)
        return str(self._next_id)

    def _new_post(self, author: str, commentary: str, content: dict[str, Any] | None, created: float) -> Post:
        urn = f"urn:li:share:{self.new_id()}"
        org = self.orgs.get(author.rsplit(":", 1)[-1])
        post = Post(
            urn,
            author,
            commentary,
            render_little_text(commentary),
            content,
            created,
            org.followers if org else 100,
        )
        self.posts[urn] = post
        return post

    # -- evolving numbers -------------------------------------------------------------------
    def stats(self, post: Post) -> dict[str, Any]:
        model = engagement.post_counts(
            self.seed, f"linkedin:{post.urn}", published=post.created, now=self.now(),
            audience=post.audience, content_format=post.format,
        )  # fmt: skip
        self._grow_audience(post, model.comments)
        comments = sum(1 for c in post.comments if not c.deleted)
        clicks = int(model.views * 0.03 * engagement.quality(self.seed, f"linkedin:clicks:{post.urn}"))
        impressions = model.views
        engaged = clicks + model.likes + comments + model.reposts
        return {
            "impressionCount": impressions,
            "uniqueImpressionsCount": model.reach,
            "clickCount": clicks,
            "likeCount": model.likes,
            "commentCount": comments,
            "shareCount": model.reposts,
            "engagement": round(engaged / impressions, 6) if impressions else 0.0,
        }

    def _grow_audience(self, post: Post, due: int) -> None:
        while post.audience_comments < min(25, due):
            pick = random.Random(f"{self.seed}:{post.urn}:{post.audience_comments}")
            actor = AUDIENCE[pick.randrange(len(AUDIENCE))][0]
            text = AUDIENCE_LINES[pick.randrange(len(AUDIENCE_LINES))]
            post.comments.append(LiComment(self.new_id(), post.urn, actor, text, self.now()))
            post.audience_comments += 1

    def audience_comment(self, urn: str, text: str) -> str:
        with self.lock:
            post = self.posts.get(urn)
            if post is None or post.deleted:
                raise KeyError(urn)
            actor = AUDIENCE[len(post.comments) % len(AUDIENCE)][0]
            comment = LiComment(self.new_id(), urn, actor, text, self.now())
            post.comments.append(comment)
            return comment.id

    def posts_with(self, marker: str) -> int:
        with self.lock:
            return sum(1 for p in self.posts.values() if not p.deleted and marker in p.text)

    def dump(self) -> dict[str, Any]:
        with self.lock:
            return {
                "organizations": {
                    o.id: {"name": o.name, "followers": o.followers} for o in self.orgs.values()
                },
                "posts": [
                    {
                        "id": p.urn,
                        "author": p.author,
                        "commentary": p.commentary,
                        "text": p.text,
                        "deleted": p.deleted,
                        "created_ms": int(p.created * 1000),
                        **self.stats(p),
                    }
                    for p in self.posts.values()
                ],
                "assets": {
                    urn: {"status": self.asset_status(urn), "bytes": a["bytes"]}
                    for urn, a in self.assets.items()
                },
                "tokens": {
                    t[:8] + "…": {"expires_at": v.expires_at, "revoked": v.revoked}
                    for t, v in self.tokens.items()
                },
            }

    def record(self, kind: str, **data: Any) -> None:
        self.ledger.append(
            {"kind": kind, "at": dt.datetime.fromtimestamp(self.now(), dt.UTC).isoformat(), **data}
        )

    def asset_status(self, urn: str) -> str:
        asset = self.assets[urn]
        if asset["available_at"] is None:
            return "WAITING_UPLOAD"
        # Processing takes real time, whatever the emulator's clock does (the demo freezes it).
        return "AVAILABLE" if time.time() >= asset["available_at"] else "PROCESSING"

    # -- checks -------------------------------------------------------------------------------
    def authorize(self, request: Request, endpoint: str) -> Token:
        version = request.headers.get("linkedin-version")
        if not version:
            raise ApiError(
                400,
                "VERSION_MISSING",
                "A version must be present. Please specify a version by adding the LinkedIn-Version header.",
            )
        if version not in ACTIVE_VERSIONS:
            raise ApiError(426, "NONEXISTENT_VERSION", f"Requested version {version} is not active")
        if request.headers.get("x-restli-protocol-version") != wire.RESTLI_PROTOCOL:
            raise ApiError(
                400,
                "INVALID_PARAMS",
                "Rest.li protocol version 2.0.0 is required: send X-Restli-Protocol-Version: 2.0.0",
            )
        auth = request.headers.get("authorization", "")
        token = self.tokens.get(auth.removeprefix("Bearer ").strip()) if auth.startswith("Bearer ") else None
        if token is None:
            raise ApiError(401, "INVALID_ACCESS_TOKEN", "Invalid access token", wire.INVALID_ACCESS_TOKEN)
        if token.revoked:
            raise ApiError(
                401,
                "REVOKED_ACCESS_TOKEN",
                "The token used in the request has been revoked by the user",
                wire.REVOKED_ACCESS_TOKEN,
            )
        if token.expires_at <= self.now():
            raise ApiError(
                401,
                "EXPIRED_ACCESS_TOKEN",
                "The token used in the request has expired",
                wire.EXPIRED_ACCESS_TOKEN,
            )
        if self.rate_limits:
            day = dt.datetime.fromtimestamp(self.now(), dt.UTC).date().isoformat()
            for who, limit, label in (
                ("app", self.daily_app_limit, "APPLICATION"),
                (token.member, self.daily_member_limit, "MEMBER"),
            ):
                key = (day, who, endpoint)
                if self.calls.get(key, 0) >= limit:
                    raise ApiError(
                        429,
                        "TOO_MANY_REQUESTS",
                        f"Resource level throttle {label} DAY limit for calls to this resource is reached.",
                    )
            for who in ("app", token.member):
                key = (day, who, endpoint)
                self.calls[key] = self.calls.get(key, 0) + 1
        return token

    def org_for(self, token: Token, author: str, *, write: bool) -> Organization:
        if not author.startswith("urn:li:organization:"):
            raise ApiError(
                422, "UNPROCESSABLE_ENTITY", f"/author :: {author!r} is not a valid organization urn"
            )
        org = self.orgs.get(author.rsplit(":", 1)[-1])
        if org is None:
            raise ApiError(404, "NOT_FOUND", f"Organization {author} not found")
        if token.member not in org.admins or (write and "w_organization_social" not in token.scopes):
            raise ApiError(
                403,
                "ACCESS_DENIED",
                f"Not enough permissions to access: partnerApiPostsExternal.CREATE.{wire.API_VERSION}",
            )
        return org


# -- request handling ---------------------------------------------------------------------------
def _json_body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"{}")
    except ValueError as exc:
        raise ApiError(400, "INVALID_PARAMS", "Request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "INVALID_PARAMS", "Request body must be an object")
    return body


def _post_json(state: LinkedInEmulatorState, post: Post) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": post.urn,
        "author": post.author,
        "commentary": post.commentary,
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
        "createdAt": int(post.created * 1000),
        "publishedAt": int(post.created * 1000),
        "lastModifiedAt": int(post.created * 1000),
    }
    if post.content:
        out["content"] = post.content
    return out


def _comment_json(comment: LiComment) -> dict[str, Any]:
    activity = comment.post.rsplit(":", 1)[-1]
    return {
        "id": comment.id,
        "$URN": f"urn:li:comment:(urn:li:activity:{activity},{comment.id})",
        "actor": comment.actor,
        "object": comment.post,
        "message": {"text": comment.text},
        "created": {"actor": comment.actor, "time": int(comment.created * 1000)},
        **(
            {"parentComment": f"urn:li:comment:(urn:li:activity:{activity},{comment.parent})"}
            if comment.parent
            else {}
        ),
    }


def _list_param(value: str) -> list[str]:
    """Rest.li 2.0 ``List(a,b)`` (URL-decoded)."""
    value = unquote(value)
    if value.startswith("List(") and value.endswith(")"):
        value = value[5:-1]
    return [unquote(v) for v in value.split(",") if v]


def _endpoint(method: str, path: str, query: str) -> str | None:
    """The named endpoint of a request, for faults and limits (``None``: not an API call)."""
    if path.startswith("/upload/"):
        return "upload"
    if path.rstrip("/") == wire.TOKEN_PATH:
        return "oauth.accessToken"
    if not path.startswith("/rest/"):
        return None
    parts = path[len("/rest/") :].strip("/").split("/")
    resource = parts[0]
    if resource in ("images", "documents") and "action=initializeUpload" in query:
        return f"{resource}.initializeUpload"
    if resource == "socialActions":
        verb = {"POST": "create", "DELETE": "delete"}.get(method, "get")
        return f"comments.{verb}"
    if resource == "posts":
        if method == "POST":
            return "posts.create"
        if method == "DELETE":
            return "posts.delete"
        return "posts.get" if len(parts) > 1 else "posts.finder"
    return f"{resource}.get"


def _method_of(scope: Scope, _body: bytes) -> str | None:
    return _endpoint(
        scope.get("method", "GET"), scope.get("path", ""), scope.get("query_string", b"").decode("latin-1")
    )


def create_app(seed: int = 0, rate_limits: bool = True, **options: Any) -> Any:  # noqa: C901 - the emulator's route table
    """The LinkedIn emulator as an ASGI app; ``app.emulator`` is its :class:`LinkedInEmulatorState`."""
    state = LinkedInEmulatorState(seed=seed, rate_limits=rate_limits)
    if options.get("base_url"):
        state.base_url = str(options["base_url"]).rstrip("/")
    injector = FaultInjector(seed=seed)

    def api(handler: Callable[[Request, Token], Any]) -> Callable[[Request], Awaitable[Response]]:
        async def route(request: Request) -> Response:
            if not state.base_url:
                state.base_url = str(request.base_url).rstrip("/")
            endpoint = _endpoint(request.method, request.url.path, request.url.query) or "other"
            raw = await request.body()
            try:
                with state.lock:
                    token = state.authorize(request, endpoint)
                    request.state.raw = raw
                    result: Response = handler(request, token)
                    return result
            except ApiError as exc:
                return exc.response()

        return route

    def create_post(request: Request, token: Token) -> Response:
        body = _json_body(request.state.raw)
        author = str(body.get("author", ""))
        if not author:
            raise ApiError(
                422,
                "UNPROCESSABLE_ENTITY",
                "/author :: field is required but not found and has no default value",
            )
        state.org_for(token, author, write=True)
        if body.get("lifecycleState", "PUBLISHED") not in ("PUBLISHED", "DRAFT"):
            raise ApiError(422, "UNPROCESSABLE_ENTITY", "/lifecycleState :: invalid enum value")
        if body.get("visibility") not in ("PUBLIC", "CONNECTIONS", "LOGGED_IN", "CONTAINER"):
            raise ApiError(422, "UNPROCESSABLE_ENTITY", "/visibility :: field is required")
        if not isinstance(body.get("distribution"), dict):
            raise ApiError(
                422,
                "UNPROCESSABLE_ENTITY",
                "/distribution :: field is required but not found and has no default value",
            )
        commentary = body.get("commentary", "")
        if not isinstance(commentary, str):
            raise ApiError(400, "INVALID_PARAMS", "/commentary :: not a string")
        if len(commentary) > wire.COMMENTARY_MAX:
            raise ApiError(
                422, "UNPROCESSABLE_ENTITY",
                f"ShareCommentary text length ({len(commentary)} characters) exceeded the maximum allowed ({wire.COMMENTARY_MAX} characters)",
            )  # fmt: skip
        content = body.get("content")
        if content is not None:
            media = content.get("media") if isinstance(content, dict) else None
            if isinstance(media, dict):
                urn = str(media.get("id", ""))
                if urn not in state.assets or state.assets[urn]["owner"] != author:
                    raise ApiError(422, "UNPROCESSABLE_ENTITY", f"/content/media/id :: {urn} does not exist")
                if state.asset_status(urn) != "AVAILABLE":
                    raise ApiError(
                        422, "UNPROCESSABLE_ENTITY", f"/content/media/id :: {urn} is not AVAILABLE"
                    )
                if urn.startswith("urn:li:document:") and not media.get("title"):
                    raise ApiError(
                        422, "UNPROCESSABLE_ENTITY", "/content/media/title :: a document post needs a title"
                    )
            elif not (
                isinstance(content, dict)
                and isinstance(content.get("article"), dict)
                and content["article"].get("source")
            ):
                raise ApiError(422, "UNPROCESSABLE_ENTITY", "/content :: unsupported or incomplete content")
        if not commentary.strip() and content is None:
            raise ApiError(422, "UNPROCESSABLE_ENTITY", "/commentary :: a post needs commentary or content")
        post = state._new_post(author, commentary, content, state.now())
        state.record("post_created", urn=post.urn, author=author, text=post.text)
        return Response(status_code=201, headers={"x-restli-id": post.urn, "x-linkedin-id": post.urn})

    def _post_or_404(urn: str) -> Post:
        post = state.posts.get(urn)
        if post is None or post.deleted:
            raise ApiError(404, "NOT_FOUND", f"Post {urn} not found")
        return post

    def get_post(request: Request, token: Token) -> Response:
        post = _post_or_404(unquote(request.path_params["urn"]))
        state.org_for(token, post.author, write=False)
        return JSONResponse(_post_json(state, post))

    def delete_post(request: Request, token: Token) -> Response:
        post = _post_or_404(unquote(request.path_params["urn"]))
        state.org_for(token, post.author, write=True)
        post.deleted = True
        state.record("post_deleted", urn=post.urn)
        return Response(status_code=204)

    def find_posts(request: Request, token: Token) -> Response:
        q = request.query_params
        if q.get("q") != "author":
            raise ApiError(400, "INVALID_PARAMS", "Missing or unsupported finder q")
        author = unquote(q.get("author", ""))
        state.org_for(token, author, write=False)
        start = max(0, int(q.get("start", "0") or 0))
        count = max(1, min(100, int(q.get("count", "10") or 10)))
        mine = sorted(
            (p for p in state.posts.values() if p.author == author and not p.deleted),
            key=lambda p: -p.created,
        )
        page = mine[start : start + count]
        return JSONResponse(
            {
                "elements": [_post_json(state, p) for p in page],
                "paging": {"start": start, "count": count, "total": len(mine), "links": []},
            }
        )

    def initialize_upload(kind: str) -> Callable[[Request, Token], Response]:
        def handler(request: Request, token: Token) -> Response:
            body = _json_body(request.state.raw).get("initializeUploadRequest") or {}
            owner = str(body.get("owner", ""))
            state.org_for(token, owner, write=True)
            urn = f"urn:li:{kind}:D4E{uuid.UUID(int=random.Random(f'{state.seed}:{state.new_id()}').getrandbits(128)).hex[:16]}"
            upload = uuid.UUID(int=random.Random(f"{state.seed}:up:{urn}").getrandbits(128)).hex
            state.assets[urn] = {
                "owner": owner,
                "upload": upload,
                "bytes": 0,
                "available_at": None,
                "kind": kind,
            }
            state.uploads[upload] = urn
            base = state.base_url or str(request.base_url).rstrip("/")
            expires = int((state.now() + 24 * 3600) * 1000)
            return JSONResponse(
                {
                    "value": {
                        "uploadUrlExpiresAt": expires,
                        "uploadUrl": f"{base}/upload/{kind}/{upload}",
                        kind: urn,
                    }
                }
            )

        return handler

    def get_asset(kind: str) -> Callable[[Request, Token], Response]:
        def handler(request: Request, _token: Token) -> Response:
            urn = unquote(request.path_params["urn"])
            if urn not in state.assets or not urn.startswith(f"urn:li:{kind}:"):
                raise ApiError(404, "NOT_FOUND", f"{urn} not found")
            return JSONResponse(
                {"id": urn, "owner": state.assets[urn]["owner"], "status": state.asset_status(urn)}
            )

        return handler

    async def put_upload(request: Request) -> Response:
        data = await request.body()
        with state.lock:
            urn = state.uploads.get(str(request.path_params["token"]))
            if urn is None:
                return PlainTextResponse("Upload URL is invalid or expired", status_code=400)
            asset = state.assets[urn]
            if not data:
                return PlainTextResponse("Empty upload", status_code=400)
            limit = wire.DOCUMENT_MAX_BYTES if asset["kind"] == "document" else wire.IMAGE_MAX_BYTES
            if len(data) > limit:
                return PlainTextResponse("Entity too large", status_code=413)
            asset.update(bytes=len(data), available_at=time.time() + PROCESSING_S)
            state.record(f"{asset['kind']}_uploaded", urn=urn, bytes=len(data))
        return Response(status_code=201)

    def comments(request: Request, token: Token) -> Response:
        post = _post_or_404(unquote(request.path_params["urn"]))
        if request.method == "GET":
            state.org_for(token, post.author, write=False)
            state.stats(post)  # the audience's comments arrive with the clock
            live = [c for c in post.comments if not c.deleted]
            start = max(0, int(request.query_params.get("start", "0") or 0))
            count = max(1, min(100, int(request.query_params.get("count", "100") or 100)))
            return JSONResponse(
                {
                    "elements": [_comment_json(c) for c in live[start : start + count]],
                    "paging": {"start": start, "count": count, "total": len(live)},
                }
            )
        body = _json_body(request.state.raw)
        actor = str(body.get("actor", ""))
        state.org_for(token, actor, write=True)
        text = (body.get("message") or {}).get("text") if isinstance(body.get("message"), dict) else None
        if not isinstance(text, str) or not text.strip():
            raise ApiError(422, "UNPROCESSABLE_ENTITY", "/message/text :: field is required")
        if len(text) > wire.COMMENT_MAX:
            raise ApiError(422, "UNPROCESSABLE_ENTITY", f"/message/text :: length exceeds {wire.COMMENT_MAX}")
        parent = None
        if body.get("parentComment"):
            parent = str(body["parentComment"]).rstrip(")").rsplit(",", 1)[-1]
            if not any(c.id == parent and not c.deleted for c in post.comments):
                raise ApiError(404, "NOT_FOUND", "Parent comment not found")
        comment = LiComment(state.new_id(), post.urn, actor, text, state.now(), parent)
        post.comments.append(comment)
        state.record("comment_created", urn=post.urn, id=comment.id)
        return JSONResponse(_comment_json(comment), status_code=201, headers={"x-restli-id": comment.id})

    def delete_comment(request: Request, token: Token) -> Response:
        post = _post_or_404(unquote(request.path_params["urn"]))
        state.org_for(token, post.author, write=True)
        cid = unquote(request.path_params["cid"])
        found = next((c for c in post.comments if c.id == cid and not c.deleted), None)
        if found is None:
            raise ApiError(404, "NOT_FOUND", "Comment not found")
        found.deleted = True
        state.record("comment_deleted", urn=post.urn, id=cid)
        return Response(status_code=204)

    def share_statistics(request: Request, token: Token) -> Response:
        q = request.query_params
        if q.get("q") != "organizationalEntity":
            raise ApiError(400, "INVALID_PARAMS", "Missing or unsupported finder q")
        org_urn = unquote(q.get("organizationalEntity", ""))
        state.org_for(token, org_urn, write=False)
        wanted = [*_list_param(q.get("shares", "")), *_list_param(q.get("ugcPosts", ""))]
        elements = []
        if wanted:
            for urn in wanted:
                post = state.posts.get(urn)
                if post is None or post.deleted or post.author != org_urn:
                    continue
                key = "ugcPost" if urn.startswith("urn:li:ugcPost:") else "share"
                elements.append(
                    {"organizationalEntity": org_urn, key: urn, "totalShareStatistics": state.stats(post)}
                )
        else:
            totals: dict[str, float] = {}
            for post in state.posts.values():
                if post.author == org_urn and not post.deleted:
                    for name, value in state.stats(post).items():
                        totals[name] = totals.get(name, 0) + value
            impressions = totals.get("impressionCount", 0)
            engaged = sum(totals.get(n, 0) for n in ("clickCount", "likeCount", "commentCount", "shareCount"))
            totals["engagement"] = round(engaged / impressions, 6) if impressions else 0.0
            elements.append(
                {
                    "organizationalEntity": org_urn,
                    "totalShareStatistics": {
                        k: (v if k == "engagement" else int(v)) for k, v in totals.items()
                    },
                }
            )
        return JSONResponse(
            {"elements": elements, "paging": {"start": 0, "count": len(elements), "links": []}}
        )

    def organization(request: Request, token: Token) -> Response:
        org = state.orgs.get(str(request.path_params["oid"]))
        if org is None:
            raise ApiError(404, "NOT_FOUND", "Organization not found")
        del token
        return JSONResponse({"id": int(org.id), "localizedName": org.name, "vanityName": org.vanity})

    def acls(request: Request, token: Token) -> Response:
        if request.query_params.get("q") != "roleAssignee":
            raise ApiError(400, "INVALID_PARAMS", "Missing or unsupported finder q")
        elements = [
            {"roleAssignee": token.member, "organization": f"urn:li:organization:{o.id}", "role": "ADMINISTRATOR", "state": "APPROVED"}
            for o in state.orgs.values() if token.member in o.admins
        ]  # fmt: skip
        return JSONResponse({"elements": elements, "paging": {"start": 0, "count": len(elements)}})

    def network_size(request: Request, token: Token) -> Response:
        urn = unquote(request.path_params["urn"])
        org = state.org_for(token, urn, write=False)
        return JSONResponse({"firstDegreeSize": org.followers})

    async def access_token(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        with state.lock:
            if state.clients.get(form.get("client_id", "")) != form.get("client_secret") or not form.get(
                "client_secret"
            ):
                return JSONResponse(
                    {"error": "invalid_client", "error_description": "Client authentication failed"}, 401
                )
            if form.get("grant_type") != "refresh_token":
                return JSONResponse(
                    {"error": "unsupported_grant_type", "error_description": "grant_type is not supported"},
                    400,
                )
            refresh = state.refresh_tokens.get(form.get("refresh_token", ""))
            now = state.now()
            if refresh is None or refresh.revoked or refresh.expires_at <= now:
                state.record("token_refused")
                return JSONResponse(
                    {
                        "error": "invalid_grant",
                        "error_description": "The provided authorization grant or refresh token is invalid, expired or revoked",
                    },
                    400,
                )
            access = (
                "AQV"
                + uuid.UUID(int=random.Random(f"{state.seed}:tok:{state.new_id()}").getrandbits(128)).hex * 2
            )
            state.tokens[access] = Token(refresh.member, now + wire.ACCESS_TOKEN_TTL_S, refresh.scopes)
            state.record("token_refreshed", member=refresh.member)
            return JSONResponse({
                "access_token": access,
                "expires_in": wire.ACCESS_TOKEN_TTL_S,
                "refresh_token": form["refresh_token"],
                "refresh_token_expires_in": int(refresh.expires_at - now),
                "scope": ",".join(sorted(refresh.scopes)),
            })  # fmt: skip

    async def audience_comment(request: Request) -> Response:
        spec = json.loads(await request.body() or b"{}")
        try:
            cid = state.audience_comment(str(spec["post"]), str(spec["text"]))
        except KeyError:
            return JSONResponse({"error": "unknown post"}, status_code=404)
        return JSONResponse({"id": cid})

    async def posts_with(request: Request) -> Response:
        return JSONResponse({"count": state.posts_with(request.query_params.get("marker", ""))})

    async def revoke(request: Request) -> Response:
        spec = json.loads(await request.body() or b"{}")
        with state.lock:
            token = state.tokens.get(str(spec.get("access_token", "")))
            if token is None:
                return JSONResponse({"error": "unknown token"}, status_code=404)
            token.revoked = True
        return JSONResponse({"ok": True})

    async def feed_page(request: Request) -> Response:
        urn = unquote(str(request.path_params["urn"]))
        with state.lock:
            post = state.posts.get(urn)
            if post is None or post.deleted:
                return PlainTextResponse("Not found", status_code=404)
            text = post.text
        body = html.escape(text).replace("\n", "<br>")
        return HTMLResponse(
            f"<!doctype html><meta charset='utf-8'><title>LinkedIn post</title><h1>LinkedIn (emulator): {html.escape(urn)}</h1><article>{body}</article>"
        )

    def ledger() -> Any:
        with state.lock:
            return list(state.ledger)

    async def dispatch_posts(request: Request) -> Response:
        handler = create_post if request.method == "POST" else find_posts
        return await api(handler)(request)

    async def dispatch_post(request: Request) -> Response:
        handler = delete_post if request.method == "DELETE" else get_post
        return await api(handler)(request)

    routes = [
        Route("/rest/posts", dispatch_posts, methods=["GET", "POST"]),
        Route("/rest/posts/{urn}", dispatch_post, methods=["GET", "DELETE"]),
        Route("/rest/images", api(initialize_upload("image")), methods=["POST"]),
        Route("/rest/images/{urn}", api(get_asset("image")), methods=["GET"]),
        Route("/rest/documents", api(initialize_upload("document")), methods=["POST"]),
        Route("/rest/documents/{urn}", api(get_asset("document")), methods=["GET"]),
        Route("/rest/socialActions/{urn}/comments", api(comments), methods=["GET", "POST"]),
        Route("/rest/socialActions/{urn}/comments/{cid}", api(delete_comment), methods=["DELETE"]),
        Route("/rest/organizationalEntityShareStatistics", api(share_statistics), methods=["GET"]),
        Route("/rest/organizations/{oid}", api(organization), methods=["GET"]),
        Route("/rest/organizationAcls", api(acls), methods=["GET"]),
        Route("/rest/networkSizes/{urn}", api(network_size), methods=["GET"]),
        Route("/upload/{kind}/{token}", put_upload, methods=["PUT"]),
        Route(wire.TOKEN_PATH, access_token, methods=["POST"]),
        Route("/feed/update/{urn}/", feed_page, methods=["GET"]),
        Route("/_emulator/audience/comment", audience_comment, methods=["POST"]),
        Route("/_emulator/posts_with", posts_with, methods=["GET"]),
        Route("/_emulator/tokens/revoke", revoke, methods=["POST"]),
        *control_routes(injector, state.clock, state.dump, ledger, state.reset),
    ]
    inner = Starlette(routes=routes)

    def rate_limited(_method: str) -> Response:
        return JSONResponse(
            wire.error_payload(
                429,
                "TOO_MANY_REQUESTS",
                "Resource level throttle APPLICATION DAY limit for calls to this resource is reached.",
            ),
            status_code=429,
        )

    def server_error(_method: str) -> Response:
        return JSONResponse(
            wire.error_payload(500, "INTERNAL_SERVER_ERROR", "Internal Server Error"), status_code=500
        )

    app = FaultMiddleware(inner, injector, _method_of, rate_limited, server_error)
    app.state = SimpleNamespace(emulator=state, injector=injector)  # type: ignore[attr-defined]  # Starlette's app has no declared slot for the emulator; tests and the demo reach it here
    app.emulator = state  # type: ignore[attr-defined]  # as above
    app.injector = injector
    return app
