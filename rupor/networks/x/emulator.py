"""An X (Twitter) API v2 emulator, built from X's documentation (docs.x.com).

What it models, each from the documentation of the real endpoint:

* ``POST /2/tweets`` (JSON: ``text``, ``reply.in_reply_to_tweet_id``, ``media.media_ids``,
  ``poll.options``/``poll.duration_minutes``), ``GET /2/tweets?ids=&tweet.fields=public_metrics``,
  ``DELETE /2/tweets/:id``, ``GET /2/users/me``, ``GET /2/users?ids=``,
  ``GET /2/users/:id/tweets`` (the user's timeline), ``GET /2/users/:id/mentions`` and
  ``GET /2/tweets/search/recent?query=conversation_id:N`` (not on the Free access tier);
* chunked media upload: ``POST /2/media/upload`` with ``command=INIT|APPEND|FINALIZE`` and
  ``GET /2/media/upload?command=STATUS&media_id=`` (video is processed asynchronously:
  ``processing_info`` with ``state`` and ``check_after_secs``), and the newer
  ``/2/media/upload/initialize``, ``/2/media/upload/{id}/append``, ``/{id}/finalize`` routes;
* OAuth 2.0 authorization code with PKCE (``GET /i/oauth2/authorize`` shows the consent page;
  its "Authorize app" sends the person back with ``code`` and ``state``, "Cancel" with
  ``error=access_denied``; S256 only) and
  ``POST /2/oauth2/token`` with refresh-token rotation: a refresh token works once;
* X has **no idempotency key**: the same text posted twice by the same user is refused with 403
  "You are not allowed to create a Tweet with duplicate content."; any other text is a new post.
  X does not document how far back it compares; the emulator compares with the account's posts
  of the last :data:`DUPLICATE_WINDOW_S` (a day), inside the 48 hours Rupor searches when it
  reconciles, so a text repeated a week later (a weekly rubric) is a new post;
* text longer than 280 *weighted* characters is refused (twitter-text v3 configuration: code
  points in the light ranges weigh 1, others 2, a URL 23), as are polls and media out of range;
* per-user 15-minute windows and the per-user and per-app 24-hour caps on creating posts, told
  in ``x-rate-limit-*``, ``x-user-limit-24hour-*`` and ``x-app-limit-24hour-*`` headers; a 429
  carries no ``Retry-After`` (X's answers do not);
* errors in X's v2 problem shapes (``title``, ``detail``, ``type``, ``status``);
* public metrics that grow with the emulator's clock (networks/engagement.py).

Control routes (``/_emulator/...``): faults, clock, state, ledger, reset; ``audience/reply``
(a follower answers a post), ``audience/mention``, ``posts_with``, ``tokens/expire``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import json
import random
import re
import secrets
import threading
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import Scope

from rupor.networks import engagement
from rupor.networks.emulation import EmulatorClock, FaultInjector, FaultMiddleware, control_routes

DEMO_USER_ID = "1600000000000000001"
DEMO_USERNAME = "rupor_demo"
DEMO_NAME = "Rupor Demo"
DEMO_CLIENT_ID = "cnVwb3ItZGVtby1jbGllbnQ6MTpjaQ"
DEMO_CLIENT_SECRET = "emulator-client-secret-0123456789abcdef"
#: A Free-tier application: posting works, reading mentions and searching do not.
FREE_CLIENT_ID = "cnVwb3ItZnJlZS1jbGllbnQ6MTpjaQ"
DEMO_ACCESS_TOKEN = "X2RlbW8tYWNjZXNzLXRva2VuLTAxMjM0NTY3ODlhYmNkZWY6MTpkZW1v"
DEMO_REFRESH_TOKEN = "X2RlbW8tcmVmcmVzaC10b2tlbi0wMTIzNDU2Nzg5YWJjZGVmOjE6cmY"
FREE_ACCESS_TOKEN = "X2ZyZWUtYWNjZXNzLXRva2VuLTAxMjM0NTY3ODlhYmNkZWY6MTpmcmVl"
#: A token granted without ``tweet.write``: it reads but cannot post.
READ_ONLY_TOKEN = "X3JlYWRvbmx5LWFjY2Vzcy10b2tlbi0wMTIzNDU2Nzg5YWJjOjE6cm8"
EXPIRED_TOKEN = "X2V4cGlyZWQtYWNjZXNzLXRva2VuLTAxMjM0NTY3ODlhYmNkZWY6MTpleA"
COMPETITOR_ID = "1600000000000000002"
COMPETITOR_USERNAME = "rival_news"

ACCESS_TOKEN_TTL_S = 7200  # docs.x.com: an OAuth 2.0 access token lives two hours
ALL_SCOPES = "tweet.read tweet.write users.read offline.access media.write"
MAX_WEIGHTED = 280
URL_WEIGHT = 23
MEDIA_CHUNK_MAX = 5 * 1024 * 1024
IMAGE_MAX = 5 * 1024 * 1024
VIDEO_MAX = 512 * 1024 * 1024
VIDEO_PROCESSING_S = 2
#: How far back the duplicate-content check compares (X does not document it; see the module text).
DUPLICATE_WINDOW_S = 86400

#: Access tiers: posts per 15 minutes per user, per 24 h per user and per app, and what the tier
#: can read (docs.x.com "Rate limits"; the caps change often, which is why clients read headers).
TIERS: dict[str, dict[str, Any]] = {
    "free": {"user_15m": 17, "user_24h": 17, "app_24h": 17, "mentions": False, "search": False},
    "basic": {"user_15m": 100, "user_24h": 100, "app_24h": 1667, "mentions": True, "search": True},
    "pro": {"user_15m": 100, "user_24h": 10000, "app_24h": 10000, "mentions": True, "search": True},
}
#: Other endpoints' per-user 15-minute windows.
WINDOWS = {
    "DELETE /2/tweets/:id": 50,
    "GET /2/tweets": 900,
    "GET /2/users/me": 75,
    "GET /2/users": 900,
    "GET /2/users/:id/tweets": 900,
    "GET /2/users/:id/mentions": 300,
    "GET /2/tweets/search/recent": 300,
    "POST /2/media/upload": 500,
    "GET /2/media/upload": 500,
}

#: twitter-text v3 configuration (twitter-text/config/v3.json): ranges of weight 100, default 200.
LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
_URL = re.compile(r"https?://[^\s]+", re.IGNORECASE)

AUDIENCE = (
    ("1700000000000000011", "anna_k", "Anna K."),
    ("1700000000000000012", "dmitry_s", "Dmitry S."),
    ("1700000000000000013", "minji_park", "Minji Park"),
    ("1700000000000000014", "olga_v", "Olga V."),
)
AUDIENCE_LINES = ("Great thread!", "Where can I read more?", "Agree 100%", "Thanks for sharing")


def weighted_length(text: str) -> int:
    """twitter-text v3: NFC text, each URL 23, code points in ``LIGHT_RANGES`` 1, others 2."""
    import unicodedata

    text = unicodedata.normalize("NFC", text)
    total, pos = 0, 0
    for match in _URL.finditer(text):
        total += _weigh(text[pos : match.start()]) + URL_WEIGHT
        pos = match.end()
    return total + _weigh(text[pos:])


def _weigh(chunk: str) -> int:
    return sum(1 if any(lo <= ord(ch) <= hi for lo, hi in LIGHT_RANGES) else 2 for ch in chunk)


class Problem(Exception):
    """An error answer in X's v2 problem shape."""

    def __init__(self, status: int, title: str, detail: str, type_: str = "about:blank", **extra: Any):
        super().__init__(detail)
        self.status, self.body = (
            status,
            {"title": title, "detail": detail, "type": type_, "status": status, **extra},
        )
        self.headers: dict[str, str] = {}


def invalid_request(message: str, parameter: str, value: Any = None) -> Problem:
    return Problem(
        400,
        "Invalid Request",
        "One or more parameters to your request was invalid.",
        "https://api.twitter.com/2/problems/invalid-request",
        errors=[{"parameters": {parameter: [] if value is None else [str(value)]}, "message": message}],
    )


def not_enrolled(client_id: str) -> Problem:
    return Problem(
        403,
        "Client Forbidden",
        "When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens from a "
        "Twitter developer App that is attached to a Project. You can create a project via the developer portal.",
        "https://api.twitter.com/2/problems/client-forbidden",
        client_id=client_id,
        registration_url="https://developer.twitter.com/en/docs/projects/overview",
        required_enrollment="Appropriate Level of API Access",
        reason="client-not-enrolled",
    )


@dataclass
class Token:
    user_id: str
    client_id: str
    scopes: frozenset[str]
    expires_at: float
    revoked: bool = False


@dataclass
class Tweet:
    id: str
    author_id: str
    text: str
    created: float
    conversation_id: str
    in_reply_to: str | None = None
    in_reply_to_user: str | None = None
    media_ids: tuple[str, ...] = ()
    poll: dict[str, Any] | None = None
    deleted: bool = False
    audience: int = 100
    audience_replies: int = 0

    @property
    def format(self) -> str:
        if self.poll:
            return "poll"
        if self.media_ids:
            return "photo"
        return "link" if _URL.search(self.text) else "text"


@dataclass
class Upload:
    id: str
    user_id: str
    media_type: str
    category: str
    total_bytes: int
    created: float
    segments: dict[int, int] = field(default_factory=dict)
    finalized_at: float | None = None
    failed: bool = False

    @property
    def is_video(self) -> bool:
        return self.media_type.startswith("video/") or self.category in ("tweet_video", "amplify_video")


class XEmulatorState:
    def __init__(self, seed: int = 0, rate_limits: bool = True) -> None:
        self.seed = seed
        self.rate_limits = rate_limits
        self.clock = EmulatorClock()
        self.lock = threading.RLock()
        self.base_url = ""
        self._build()

    def _build(self) -> None:
        self.rng = random.Random(self.seed)
        self._next_id = 1_800_000_000_000_000_000
        self.started = self.clock.timestamp()
        self.clients = {DEMO_CLIENT_ID: "pro", FREE_CLIENT_ID: "free"}
        self.users: dict[str, dict[str, Any]] = {
            DEMO_USER_ID: {"username": DEMO_USERNAME, "name": DEMO_NAME, "followers": 1200},
            COMPETITOR_ID: {"username": COMPETITOR_USERNAME, "name": "Rival News", "followers": 5400},
            **{
                uid: {"username": u, "name": n, "followers": 40 + i * 17}
                for i, (uid, u, n) in enumerate(AUDIENCE)
            },
        }
        far = self.started + 10 * 365 * 86400
        self.tokens: dict[str, Token] = {
            DEMO_ACCESS_TOKEN: Token(DEMO_USER_ID, DEMO_CLIENT_ID, frozenset(ALL_SCOPES.split()), far),
            FREE_ACCESS_TOKEN: Token(DEMO_USER_ID, FREE_CLIENT_ID, frozenset(ALL_SCOPES.split()), far),
            READ_ONLY_TOKEN: Token(
                DEMO_USER_ID, DEMO_CLIENT_ID, frozenset({"tweet.read", "users.read"}), far
            ),
            EXPIRED_TOKEN: Token(
                DEMO_USER_ID, DEMO_CLIENT_ID, frozenset(ALL_SCOPES.split()), self.started - 60
            ),
        }
        self.refresh_tokens: dict[str, Token] = {
            DEMO_REFRESH_TOKEN: Token(DEMO_USER_ID, DEMO_CLIENT_ID, frozenset(ALL_SCOPES.split()), far)
        }
        self.codes: dict[str, dict[str, Any]] = {}
        self.tweets: dict[str, Tweet] = {}
        self.uploads: dict[str, Upload] = {}
        self.windows: dict[tuple[str, str], list[float]] = {}
        self.day_user: dict[str, list[float]] = {}
        self.day_app: dict[str, list[float]] = {}
        self.ledger: list[dict[str, Any]] = []

    def reset(self) -> None:
        with self.lock:
            self._build()

    def now(self) -> float:
        return self.clock.timestamp()

    def new_id(self) -> str:
        self._next_id += 1 + self.rng.randrange(1 << 20)
        return str(self._next_id)

    def record(self, kind: str, **data: Any) -> None:
        self.ledger.append(
            {"kind": kind, "at": dt.datetime.fromtimestamp(self.now(), dt.UTC).isoformat(), **data}
        )

    # -- audience ------------------------------------------------------------------------------
    def metrics(self, tweet: Tweet) -> dict[str, int]:
        model = engagement.post_counts(
            self.seed,
            f"x:{tweet.id}",
            published=tweet.created,
            now=self.now(),
            audience=tweet.audience,
            content_format=tweet.format,
        )
        self._grow_replies(tweet, model.comments)
        replies = sum(1 for t in self.tweets.values() if t.in_reply_to == tweet.id and not t.deleted)
        return {
            "retweet_count": model.reposts,
            "reply_count": replies,
            "like_count": model.likes,
            "quote_count": model.reposts // 4,
            "bookmark_count": model.likes // 10,
            "impression_count": model.views,
        }

    def _grow_replies(self, tweet: Tweet, due: int) -> None:
        if tweet.author_id != DEMO_USER_ID:
            return
        while tweet.audience_replies < min(10, due):
            pick = random.Random(f"{self.seed}:{tweet.id}:{tweet.audience_replies}")
            uid = AUDIENCE[pick.randrange(len(AUDIENCE))][0]
            self._add(uid, AUDIENCE_LINES[pick.randrange(len(AUDIENCE_LINES))], reply_to=tweet)
            tweet.audience_replies += 1

    def _add(self, author: str, text: str, *, reply_to: Tweet | None = None, **extra: Any) -> Tweet:
        tid = self.new_id()
        tweet = Tweet(
            tid,
            author,
            text,
            self.now(),
            reply_to.conversation_id if reply_to else tid,
            in_reply_to=reply_to.id if reply_to else None,
            in_reply_to_user=reply_to.author_id if reply_to else None,
            audience=int(self.users.get(author, {}).get("followers", 100)),
            **extra,
        )
        self.tweets[tid] = tweet
        return tweet

    def audience_reply(self, tweet_id: str, text: str) -> str:
        with self.lock:
            parent = self.tweets.get(tweet_id)
            if parent is None or parent.deleted:
                raise KeyError(tweet_id)
            uid = AUDIENCE[len(self.tweets) % len(AUDIENCE)][0]
            return self._add(uid, text, reply_to=parent).id

    def audience_mention(self, text: str) -> str:
        with self.lock:
            uid = AUDIENCE[len(self.tweets) % len(AUDIENCE)][0]
            return self._add(uid, f"@{DEMO_USERNAME} {text}").id

    def posts_with(self, marker: str) -> int:
        with self.lock:
            return sum(
                1
                for t in self.tweets.values()
                if not t.deleted and t.author_id == DEMO_USER_ID and marker in t.text
            )

    def dump(self) -> dict[str, Any]:
        with self.lock:
            return {
                "tweets": [
                    {
                        "id": t.id,
                        "author_id": t.author_id,
                        "text": t.text,
                        "deleted": t.deleted,
                        "in_reply_to": t.in_reply_to,
                        "media_ids": list(t.media_ids),
                        "poll": t.poll,
                    }
                    for t in self.tweets.values()
                ],
                "uploads": {
                    u.id: {"segments": len(u.segments), "finalized": u.finalized_at is not None}
                    for u in self.uploads.values()
                },
                "refresh_tokens": len(self.refresh_tokens),
            }

    # -- limits -----------------------------------------------------------------------------------
    def count(self, endpoint: str, token: Token) -> dict[str, str]:
        """Count one call of ``endpoint`` for ``token``'s user (and app); the headers to send, or a
        429 :class:`Problem` when a window or cap is spent."""
        now = self.now()
        tier = TIERS[self.clients.get(token.client_id, "free")]
        limit = tier["user_15m"] if endpoint == "POST /2/tweets" else WINDOWS.get(endpoint, 900)
        key = (endpoint, token.user_id)
        calls = [t for t in self.windows.get(key, []) if t > now - 900]
        reset = int((calls[0] if calls else now) + 900)
        headers = {"x-rate-limit-limit": str(limit), "x-rate-limit-reset": str(reset)}
        day_headers: dict[str, str] = {}
        day_user: list[float] = []
        day_app: list[float] = []
        if endpoint == "POST /2/tweets":
            day_user = [t for t in self.day_user.get(token.user_id, []) if t > now - 86400]
            day_app = [t for t in self.day_app.get(token.client_id, []) if t > now - 86400]
            for name, used, cap in (("user", day_user, tier["user_24h"]), ("app", day_app, tier["app_24h"])):
                day_headers[f"x-{name}-limit-24hour-limit"] = str(cap)
                day_headers[f"x-{name}-limit-24hour-reset"] = str(int((used[0] if used else now) + 86400))
                day_headers[f"x-{name}-limit-24hour-remaining"] = str(max(0, cap - len(used)))
        if self.rate_limits:
            if len(calls) >= limit:
                problem = Problem(429, "Too Many Requests", "Too Many Requests")
                problem.headers = {**headers, "x-rate-limit-remaining": "0", **day_headers}
                raise problem
            if endpoint == "POST /2/tweets":
                for name, used, cap in (
                    ("user", day_user, tier["user_24h"]),
                    ("app", day_app, tier["app_24h"]),
                ):
                    if len(used) >= cap:
                        problem = Problem(
                            429,
                            "UsageCapExceeded",
                            f"Usage cap exceeded: Daily {name} limit",
                            "https://api.twitter.com/2/problems/usage-capped",
                            period="Daily",
                            scope=name.title(),
                        )
                        problem.headers = {
                            **headers,
                            "x-rate-limit-remaining": str(limit - len(calls)),
                            **day_headers,
                        }
                        raise problem
        calls.append(now)
        self.windows[key] = calls
        headers["x-rate-limit-remaining"] = str(max(0, limit - len(calls)))
        if endpoint == "POST /2/tweets":
            day_user.append(now)
            day_app.append(now)
            self.day_user[token.user_id] = day_user
            self.day_app[token.client_id] = day_app
            for name, used in (("user", day_user), ("app", day_app)):
                cap = int(day_headers[f"x-{name}-limit-24hour-limit"])
                day_headers[f"x-{name}-limit-24hour-remaining"] = str(max(0, cap - len(used)))
        return {**headers, **day_headers}


# -- JSON shapes ----------------------------------------------------------------------------------
def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _tweet_json(state: XEmulatorState, tweet: Tweet, fields: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"id": tweet.id, "text": tweet.text, "edit_history_tweet_ids": [tweet.id]}
    if "created_at" in fields:
        out["created_at"] = _iso(tweet.created)
    if "author_id" in fields:
        out["author_id"] = tweet.author_id
    if "conversation_id" in fields:
        out["conversation_id"] = tweet.conversation_id
    if "in_reply_to_user_id" in fields and tweet.in_reply_to_user:
        out["in_reply_to_user_id"] = tweet.in_reply_to_user
    if "referenced_tweets" in fields and tweet.in_reply_to:
        out["referenced_tweets"] = [{"type": "replied_to", "id": tweet.in_reply_to}]
    if "public_metrics" in fields:
        out["public_metrics"] = state.metrics(tweet)
    if "attachments" in fields and (tweet.media_ids or tweet.poll):
        att: dict[str, Any] = {}
        if tweet.media_ids:
            att["media_keys"] = [f"3_{m}" for m in tweet.media_ids]
        if tweet.poll:
            att["poll_ids"] = [tweet.poll["id"]]
        out["attachments"] = att
    return out


def _poll_json(state: XEmulatorState, tweet: Tweet, fields: set[str]) -> dict[str, Any]:
    """A Poll object (``expansions=attachments.poll_ids``): ``id`` and ``options`` (``position``
    from 1, ``label``, ``votes``) always, ``duration_minutes``, ``end_datetime`` and
    ``voting_status`` when asked for in ``poll.fields``. The audience's votes are seeded: about
    twice the likes vote, a favourite option drawn per poll; none move after the end."""
    assert tweet.poll is not None
    end = tweet.created + 60 * int(tweet.poll["duration_minutes"])
    closed = state.now() >= end
    likes = engagement.post_counts(
        state.seed,
        f"x:{tweet.id}",
        published=tweet.created,
        now=min(state.now(), end),
        audience=tweet.audience,
        content_format="poll",
    ).likes
    rng = random.Random(f"x-poll:{state.seed}:{tweet.id}")
    weights = [rng.uniform(0.5, 3.0) for _ in tweet.poll["options"]]
    voters = 2 * likes
    shares = [int(voters * w / sum(weights)) for w in weights]
    shares[weights.index(max(weights))] += voters - sum(shares)
    out: dict[str, Any] = {
        "id": tweet.poll["id"],
        "options": [
            {"position": i + 1, "label": label, "votes": n}
            for i, (label, n) in enumerate(zip(tweet.poll["options"], shares, strict=True))
        ],
    }
    if "duration_minutes" in fields:
        out["duration_minutes"] = tweet.poll["duration_minutes"]
    if "end_datetime" in fields:
        out["end_datetime"] = _iso(end)
    if "voting_status" in fields:
        out["voting_status"] = "closed" if closed else "open"
    return out


def _user_json(state: XEmulatorState, uid: str, fields: set[str]) -> dict[str, Any]:
    user = state.users[uid]
    out: dict[str, Any] = {"id": uid, "name": user["name"], "username": user["username"]}
    if "profile_image_url" in fields:
        out["profile_image_url"] = f"https://pbs.twimg.com/profile_images/{uid}/avatar_normal.jpg"
    if "public_metrics" in fields:
        out["public_metrics"] = {
            "followers_count": user["followers"],
            "following_count": 120,
            "tweet_count": sum(1 for t in state.tweets.values() if t.author_id == uid and not t.deleted),
            "listed_count": 3,
        }
    return out


def _fields(request: Request, name: str) -> set[str]:
    return {f for f in request.query_params.get(name, "").split(",") if f}


def _problem_response(problem: Problem) -> JSONResponse:
    return JSONResponse(
        problem.body,
        status_code=problem.status,
        headers=problem.headers,
        media_type="application/problem+json",
    )


def _endpoint(method: str, path: str) -> str | None:
    """The documented name of an API call (``POST /2/tweets``), ``None`` for anything else."""
    path = path.rstrip("/") or "/"
    if not path.startswith("/2/"):
        return None
    name = "/".join(":id" if p.isdigit() and len(p) > 1 else p for p in path.split("/"))
    if name.startswith("/2/media/upload/:id/") or name == "/2/media/upload/initialize":
        name = "/2/media/upload"
    return f"{method} {name}"


def _method_of(scope: Scope, _body: bytes) -> str | None:
    return _endpoint(str(scope.get("method", "GET")), str(scope.get("path", "")))


def create_app(seed: int = 0, rate_limits: bool = True, **options: Any) -> Any:  # noqa: C901 - the emulator's route table
    """The X emulator as an ASGI app; ``app.emulator`` is its :class:`XEmulatorState`."""
    state = XEmulatorState(seed=seed, rate_limits=rate_limits)
    if options.get("base_url"):
        state.base_url = str(options["base_url"]).rstrip("/")
    injector = FaultInjector(seed=seed)

    def authed(request: Request, endpoint: str, scope: str | None = None) -> tuple[Token, dict[str, str]]:
        header = request.headers.get("authorization", "")
        token = state.tokens.get(header[7:]) if header.lower().startswith("bearer ") else None
        if token is None or token.revoked or token.expires_at <= state.now():
            raise Problem(401, "Unauthorized", "Unauthorized")
        if scope and scope not in token.scopes:
            raise Problem(403, "Forbidden", "You are not permitted to perform this action.")
        return token, state.count(endpoint, token)

    def api(handler: Any) -> Any:
        async def run(request: Request) -> Response:
            if not state.base_url:
                state.base_url = str(request.base_url).rstrip("/")
            try:
                body = await request.body()
                with state.lock:
                    status, payload, headers = handler(request, body)
            except Problem as problem:
                return _problem_response(problem)
            return JSONResponse(payload, status_code=status, headers=headers)

        return run

    # -- tweets --------------------------------------------------------------------------------
    def create_tweet(request: Request, body: bytes) -> tuple[int, Any, dict[str, str]]:  # noqa: C901 - one check per rule X documents for a post
        token, headers = authed(request, "POST /2/tweets", "tweet.write")
        try:
            spec = json.loads(body or b"{}")
        except ValueError:
            raise Problem(
                400,
                "Invalid Request",
                "Request body is not valid JSON.",
                "https://api.twitter.com/2/problems/invalid-request",
            ) from None
        if not isinstance(spec, dict):
            raise invalid_request("The request body must be a JSON object", "body")
        text = spec.get("text")
        media = (spec.get("media") or {}).get("media_ids") or []
        poll = spec.get("poll")
        reply = (spec.get("reply") or {}).get("in_reply_to_tweet_id")
        if text is not None and not isinstance(text, str):
            raise invalid_request("$.text: expected a string", "text")
        text = text or ""
        if not text and not media and not poll:
            raise invalid_request("Tweet text or media is required", "text")
        if weighted_length(text) > MAX_WEIGHTED:
            raise Problem(
                403,
                "Forbidden",
                "Your Tweet text is too long. For more information on how Twitter determines text length see https://github.com/twitter/twitter-text.",
            )
        if len(media) > 4:
            raise invalid_request("$.media.media_ids: size must be between 1 and 4", "media.media_ids")
        uploads = []
        for mid in media:
            upload = state.uploads.get(str(mid))
            if upload is None or upload.user_id != token.user_id or upload.finalized_at is None:
                raise invalid_request("Your media IDs are invalid.", "media.media_ids", mid)
            if upload.is_video and state.now() < upload.finalized_at + VIDEO_PROCESSING_S:
                raise invalid_request("Your media ID is still being processed.", "media.media_ids", mid)
            uploads.append(upload)
        if any(u.is_video for u in uploads) and len(uploads) > 1:
            raise invalid_request("A Tweet may contain one video or up to four images.", "media.media_ids")
        poll_data = None
        if poll is not None:
            if media:
                raise invalid_request("A Tweet with a poll cannot have media.", "poll")
            options_ = poll.get("options") or []
            duration = poll.get("duration_minutes")
            if not 2 <= len(options_) <= 4 or any(
                not isinstance(o, str) or not 1 <= len(o) <= 25 for o in options_
            ):
                raise invalid_request("$.poll.options: 2 to 4 options of 1 to 25 characters", "poll.options")
            if not isinstance(duration, int) or not 5 <= duration <= 10080:
                raise invalid_request(
                    "$.poll.duration_minutes: must be between 5 and 10080", "poll.duration_minutes"
                )
            poll_data = {"id": state.new_id(), "options": list(options_), "duration_minutes": duration}
        parent = None
        if reply is not None:
            parent = state.tweets.get(str(reply))
            if parent is None or parent.deleted:
                raise Problem(
                    403,
                    "Forbidden",
                    "You attempted to reply to a Tweet that is deleted or not visible to you.",
                )
        since = state.now() - DUPLICATE_WINDOW_S
        if text and any(
            t.author_id == token.user_id and not t.deleted and t.text == text and t.created >= since
            for t in state.tweets.values()
        ):
            raise Problem(403, "Forbidden", "You are not allowed to create a Tweet with duplicate content.")
        tweet = state._add(
            token.user_id, text, reply_to=parent, media_ids=tuple(str(m) for m in media), poll=poll_data
        )
        state.record("tweet_created", id=tweet.id, text=text, in_reply_to=tweet.in_reply_to)
        return 201, {"data": {"id": tweet.id, "text": text, "edit_history_tweet_ids": [tweet.id]}}, headers

    def get_tweets(request: Request, _body: bytes) -> tuple[int, Any, dict[str, str]]:
        _token, headers = authed(request, "GET /2/tweets")
        ids = [i for i in request.query_params.get("ids", "").split(",") if i]
        if not 1 <= len(ids) <= 100:
            raise invalid_request("The `ids` query parameter value [] is not between 1 and 100", "ids")
        fields = _fields(request, "tweet.fields")
        data, errors = [], []
        for tid in ids:
            tweet = state.tweets.get(tid)
            if tweet is None or tweet.deleted:
                errors.append(
                    {
                        "value": tid,
                        "detail": f"Could not find tweet with ids: [{tid}].",
                        "title": "Not Found Error",
                        "resource_type": "tweet",
                        "parameter": "ids",
                        "resource_id": tid,
                        "type": "https://api.twitter.com/2/problems/resource-not-found",
                    }
                )
            else:
                data.append(_tweet_json(state, tweet, fields))
        out: dict[str, Any] = {}
        if data:
            out["data"] = data
            if "attachments.poll_ids" in request.query_params.get("expansions", "").split(","):
                pfields = _fields(request, "poll.fields")
                polled = [state.tweets[t["id"]] for t in data if state.tweets[t["id"]].poll]
                if polled:
                    out["includes"] = {"polls": [_poll_json(state, t, pfields) for t in polled]}
        if errors:
            out["errors"] = errors
        return 200, out, headers

    def delete_tweet(request: Request, _body: bytes) -> tuple[int, Any, dict[str, str]]:
        token, headers = authed(request, "DELETE /2/tweets/:id", "tweet.write")
        tweet = state.tweets.get(str(request.path_params["id"]))
        if tweet is None or tweet.deleted:
            return 200, {"data": {"deleted": False}}, headers
        if tweet.author_id != token.user_id:
            raise Problem(403, "Forbidden", "You are not authorized to delete this Tweet.")
        tweet.deleted = True
        state.record("tweet_deleted", id=tweet.id)
        return 200, {"data": {"deleted": True}}, headers

    def search_recent(request: Request, _body: bytes) -> tuple[int, Any, dict[str, str]]:
        token, headers = authed(request, "GET /2/tweets/search/recent")
        if not TIERS[state.clients.get(token.client_id, "free")]["search"]:
            raise not_enrolled(token.client_id)
        query = request.query_params.get("query", "")
        match = re.fullmatch(r"\s*conversation_id:(\d+)\s*", query)
        found = [
            t
            for t in state.tweets.values()
            if not t.deleted
            and (
                (match and t.conversation_id == match.group(1) and t.id != match.group(1))
                or (not match and query.lower() in t.text.lower())
            )
        ]
        return (200, *_page(request, state, found, headers))

    # -- users ----------------------------------------------------------------------------------
    def users_me(request: Request, _body: bytes) -> tuple[int, Any, dict[str, str]]:
        token, headers = authed(request, "GET /2/users/me")
        return 200, {"data": _user_json(state, token.user_id, _fields(request, "user.fields"))}, headers

    def users_by_ids(request: Request, _body: bytes) -> tuple[int, Any, dict[str, str]]:
        _token, headers = authed(request, "GET /2/users")
        ids = [i for i in request.query_params.get("ids", "").split(",") if i]
        if not 1 <= len(ids) <= 100:
            raise invalid_request("The `ids` query parameter value is not between 1 and 100", "ids")
        fields = _fields(request, "user.fields")
        data = [_user_json(state, uid, fields) for uid in ids if uid in state.users]
        errors = [
            {
                "value": uid,
                "detail": f"Could not find user with ids: [{uid}].",
                "title": "Not Found Error",
                "resource_type": "user",
                "parameter": "ids",
                "resource_id": uid,
                "type": "https://api.twitter.com/2/problems/resource-not-found",
            }
            for uid in ids
            if uid not in state.users
        ]
        return 200, {**({"data": data} if data else {}), **({"errors": errors} if errors else {})}, headers

    def user_tweets(request: Request, _body: bytes) -> tuple[int, Any, dict[str, str]]:
        _token, headers = authed(request, "GET /2/users/:id/tweets")
        uid = str(request.path_params["id"])
        found = [t for t in state.tweets.values() if t.author_id == uid and not t.deleted]
        return (200, *_page(request, state, found, headers))

    def mentions(request: Request, _body: bytes) -> tuple[int, Any, dict[str, str]]:
        token, headers = authed(request, "GET /2/users/:id/mentions")
        if not TIERS[state.clients.get(token.client_id, "free")]["mentions"]:
            raise not_enrolled(token.client_id)
        uid = str(request.path_params["id"])
        handle = f"@{state.users.get(uid, {}).get('username', '')}".lower()
        found = [
            t
            for t in state.tweets.values()
            if not t.deleted
            and t.author_id != uid
            and (t.in_reply_to_user == uid or handle in t.text.lower())
        ]
        return (200, *_page(request, state, found, headers))

    # -- media ----------------------------------------------------------------------------------
    async def media_upload(request: Request) -> Response:
        try:
            ctype = request.headers.get("content-type", "")
            form: dict[str, Any] = {}
            data = b""
            if ctype.startswith("application/json"):
                form = json.loads(await request.body() or b"{}")
            elif ctype.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
                parsed = await request.form(max_part_size=MEDIA_CHUNK_MAX + 1024)
                for key, value in parsed.multi_items():
                    if isinstance(value, UploadFile):
                        data = await value.read()
                    else:
                        form[key] = value
            if "media_data" in form:
                data = base64.b64decode(str(form.pop("media_data")))
            path = request.url.path.rstrip("/")
            if path.endswith("/initialize"):
                form["command"] = "INIT"
            elif path.endswith("/append"):
                form.update(command="APPEND", media_id=request.path_params.get("id"))
            elif path.endswith("/finalize"):
                form.update(command="FINALIZE", media_id=request.path_params.get("id"))
            with state.lock:
                token, headers = authed(request, "POST /2/media/upload", "media.write")
                return _media_command(state, token, form, data, headers)
        except Problem as problem:
            return _problem_response(problem)

    def media_status(request: Request, _body: bytes) -> tuple[int, Any, dict[str, str]]:
        token, headers = authed(request, "GET /2/media/upload", "media.write")
        upload = state.uploads.get(request.query_params.get("media_id", ""))
        if upload is None or upload.user_id != token.user_id or upload.finalized_at is None:
            raise invalid_request("Invalid media_id", "media_id")
        return 200, {"data": _media_json(state, upload)}, headers

    # -- OAuth 2.0 ------------------------------------------------------------------------------
    async def authorize(request: Request) -> Response:
        """GET: X's consent page ("Authorize app" / "Cancel"); POST: the person's decision, sent
        back to the app's ``redirect_uri`` with ``code`` and ``state``, or ``error=access_denied``."""
        q: Any = request.query_params if request.method == "GET" else await request.form()
        if q.get("response_type") != "code" or q.get("client_id") not in state.clients:
            return PlainTextResponse(
                "Something went wrong: unknown client or response type.", status_code=400
            )
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return PlainTextResponse("Something went wrong: PKCE with S256 is required.", status_code=400)
        if request.method == "GET":
            hidden = "".join(
                f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(str(v))}">'
                for k, v in q.items()
            )
            scopes = "".join(f"<li>{html.escape(s)}</li>" for s in str(q.get("scope", "")).split())
            return HTMLResponse(
                "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Authorize app / X"
                "</title></head><body style='font-family:sans-serif;max-width:36rem;margin:3rem auto'>"
                f"<h1>An app wants to access your X account</h1><p>Signed in as @{DEMO_USERNAME}.</p>"
                f"<p>It asks for:</p><ul>{scopes}</ul>"
                f"<form method='post'>{hidden}"
                "<button name='decision' value='allow' id='allow'>Authorize app</button> "
                "<button name='decision' value='deny' id='deny'>Cancel</button></form></body></html>"
            )
        back = str(q.get("redirect_uri", ""))
        if q.get("decision") != "allow":
            return RedirectResponse(
                f"{back}?{urlencode({'error': 'access_denied', 'state': q.get('state', '')})}",
                status_code=302,
            )
        code = secrets.token_urlsafe(24)
        with state.lock:
            state.codes[code] = {
                "client_id": q["client_id"],
                "challenge": q["code_challenge"],
                "redirect_uri": q.get("redirect_uri", ""),
                "scopes": frozenset(q.get("scope", "").split()),
                "expires": state.now() + 30,
            }
        return RedirectResponse(
            f"{back}?{urlencode({'state': q.get('state', ''), 'code': code})}",
            status_code=302,
        )

    async def token_endpoint(request: Request) -> Response:
        form = dict(await request.form())
        client_id = str(form.get("client_id", ""))
        basic = request.headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            client_id = base64.b64decode(basic[6:]).decode("utf-8", "replace").split(":", 1)[0]

        def refused(description: str) -> Response:
            return JSONResponse(
                {"error": "invalid_request", "error_description": description}, status_code=400
            )

        with state.lock:
            grant = form.get("grant_type")
            if grant == "authorization_code":
                code = state.codes.pop(str(form.get("code", "")), None)
                verifier = str(form.get("code_verifier", ""))
                challenge = (
                    base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                )
                if code is None or code["expires"] < state.now() or code["client_id"] != client_id:
                    return refused("Value passed for the authorization code was invalid.")
                if challenge != code["challenge"] or code["redirect_uri"] != form.get("redirect_uri", ""):
                    return refused("Value passed for the code_verifier was invalid.")
                scopes = code["scopes"]
                user = DEMO_USER_ID
            elif grant == "refresh_token":
                old = state.refresh_tokens.pop(str(form.get("refresh_token", "")), None)
                if old is None or old.client_id != client_id:
                    return refused("Value passed for the token was invalid.")
                scopes, user = old.scopes, old.user_id
                state.record("token_refreshed", client_id=client_id)
            else:
                return JSONResponse(
                    {"error": "unsupported_grant_type", "error_description": "Unsupported grant type"},
                    status_code=400,
                )
            access = secrets.token_urlsafe(40)
            state.tokens[access] = Token(user, client_id, scopes, state.now() + ACCESS_TOKEN_TTL_S)
            out = {
                "token_type": "bearer",
                "expires_in": ACCESS_TOKEN_TTL_S,
                "access_token": access,
                "scope": " ".join(sorted(scopes)),
            }
            if "offline.access" in scopes:
                refresh = secrets.token_urlsafe(40)
                state.refresh_tokens[refresh] = Token(user, client_id, scopes, state.now() + 180 * 86400)
                out["refresh_token"] = refresh
        return JSONResponse(out)

    # -- control --------------------------------------------------------------------------------
    async def audience_reply(request: Request) -> Response:
        spec = json.loads(await request.body() or b"{}")
        try:
            return JSONResponse({"id": state.audience_reply(str(spec["tweet_id"]), str(spec["text"]))})
        except KeyError:
            return JSONResponse({"error": "unknown tweet"}, status_code=404)

    async def audience_mention(request: Request) -> Response:
        spec = json.loads(await request.body() or b"{}")
        return JSONResponse({"id": state.audience_mention(str(spec.get("text", "hello")))})

    async def posts_with(request: Request) -> Response:
        return JSONResponse({"count": state.posts_with(request.query_params.get("marker", ""))})

    async def expire_tokens(_request: Request) -> Response:
        with state.lock:
            for token in state.tokens.values():
                token.expires_at = min(token.expires_at, state.now() - 1)
        return JSONResponse({"ok": True})

    async def tweet_page(request: Request) -> Response:
        with state.lock:
            tweet = state.tweets.get(str(request.path_params["tid"]))
            if tweet is None or tweet.deleted:
                return PlainTextResponse("This post is unavailable.", status_code=404)
            text, user = tweet.text, state.users.get(tweet.author_id, {}).get("username", "")
        return HTMLResponse(
            f"<!doctype html><meta charset='utf-8'><title>@{html.escape(user)} on X</title>"
            f"<h1>X (emulator): @{html.escape(user)}</h1><article>{html.escape(text)}</article>"
        )

    def ledger() -> Any:
        with state.lock:
            return list(state.ledger)

    routes = [
        Route("/2/tweets", api(create_tweet), methods=["POST"]),
        Route("/2/tweets", api(get_tweets), methods=["GET"]),
        Route("/2/tweets/search/recent", api(search_recent), methods=["GET"]),
        Route("/2/tweets/{id}", api(delete_tweet), methods=["DELETE"]),
        Route("/2/users/me", api(users_me), methods=["GET"]),
        Route("/2/users", api(users_by_ids), methods=["GET"]),
        Route("/2/users/{id}/tweets", api(user_tweets), methods=["GET"]),
        Route("/2/users/{id}/mentions", api(mentions), methods=["GET"]),
        Route("/2/media/upload", media_upload, methods=["POST"]),
        Route("/2/media/upload", api(media_status), methods=["GET"]),
        Route("/2/media/upload/initialize", media_upload, methods=["POST"]),
        Route("/2/media/upload/{id}/append", media_upload, methods=["POST"]),
        Route("/2/media/upload/{id}/finalize", media_upload, methods=["POST"]),
        Route("/2/oauth2/token", token_endpoint, methods=["POST"]),
        Route("/i/oauth2/authorize", authorize, methods=["GET", "POST"]),
        Route("/{user}/status/{tid}", tweet_page, methods=["GET"]),
        Route("/_emulator/audience/reply", audience_reply, methods=["POST"]),
        Route("/_emulator/audience/mention", audience_mention, methods=["POST"]),
        Route("/_emulator/posts_with", posts_with, methods=["GET"]),
        Route("/_emulator/tokens/expire", expire_tokens, methods=["POST"]),
        *control_routes(injector, state.clock, state.dump, ledger, state.reset),
    ]
    inner = Starlette(routes=routes)

    def rate_limited(_method: str) -> Response:
        reset = int(state.now()) + 900
        return JSONResponse(
            {
                "title": "Too Many Requests",
                "detail": "Too Many Requests",
                "type": "about:blank",
                "status": 429,
            },
            status_code=429,
            headers={
                "x-rate-limit-limit": "100",
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(reset),
            },
        )

    def server_error(_method: str) -> Response:
        return JSONResponse(
            {
                "title": "Service Unavailable",
                "detail": "Service Unavailable",
                "type": "about:blank",
                "status": 503,
            },
            status_code=503,
        )

    app = FaultMiddleware(inner, injector, _method_of, rate_limited, server_error)
    app.state = SimpleNamespace(emulator=state, injector=injector)  # type: ignore[attr-defined]  # Starlette's app has no declared slot for the emulator; tests and the demo reach it here
    app.emulator = state  # type: ignore[attr-defined]  # as above
    app.injector = injector
    return app


def _page(
    request: Request, state: XEmulatorState, found: list[Tweet], headers: dict[str, str]
) -> tuple[Any, dict[str, str]]:
    """One page of a timeline, newest first, with X's ``meta`` and ``pagination_token``."""
    found = sorted(found, key=lambda t: int(t.id), reverse=True)
    since = request.query_params.get("since_id")
    if since and since.isdigit():
        found = [t for t in found if int(t.id) > int(since)]
    try:
        size = max(5, min(100, int(request.query_params.get("max_results", "10"))))
    except ValueError:
        raise invalid_request("max_results must be a number between 5 and 100", "max_results") from None
    token = request.query_params.get("pagination_token")
    if token:
        found = [t for t in found if int(t.id) < int(token)]
    page = found[:size]
    fields = _fields(request, "tweet.fields")
    out: dict[str, Any] = {"meta": {"result_count": len(page)}}
    if page:
        out["data"] = [_tweet_json(state, t, fields) for t in page]
        out["meta"].update(newest_id=page[0].id, oldest_id=page[-1].id)
        if "author_id" in request.query_params.get("expansions", ""):
            ufields = _fields(request, "user.fields")
            out["includes"] = {
                "users": [
                    _user_json(state, uid, ufields)
                    for uid in sorted({t.author_id for t in page})
                    if uid in state.users
                ]
            }
    if len(found) > size:
        out["meta"]["next_token"] = page[-1].id
    return out, headers


def _media_json(state: XEmulatorState, upload: Upload) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": upload.id,
        "media_key": f"3_{upload.id}",
        "size": upload.total_bytes,
        "expires_after_secs": 86400,
    }
    if upload.is_video and upload.finalized_at is not None:
        elapsed = state.now() - upload.finalized_at
        if elapsed >= VIDEO_PROCESSING_S:
            out["processing_info"] = {"state": "succeeded", "progress_percent": 100}
        elif elapsed >= VIDEO_PROCESSING_S / 2:
            out["processing_info"] = {"state": "in_progress", "check_after_secs": 1, "progress_percent": 50}
        else:
            out["processing_info"] = {"state": "pending", "check_after_secs": 1}
    return out


def _media_command(
    state: XEmulatorState, token: Token, form: dict[str, Any], data: bytes, headers: dict[str, str]
) -> Response:
    command = str(form.get("command", "")).upper()
    if command == "INIT":
        try:
            total = int(form.get("total_bytes", 0))
        except (TypeError, ValueError):
            raise invalid_request("total_bytes must be a number", "total_bytes") from None
        media_type = str(form.get("media_type", ""))
        if not media_type.startswith(("image/", "video/")):
            raise invalid_request("media_type is not supported", "media_type", media_type)
        limit = VIDEO_MAX if media_type.startswith("video/") else IMAGE_MAX
        if not 0 < total <= limit:
            raise invalid_request("total_bytes is out of range for this media type", "total_bytes", total)
        upload = Upload(
            state.new_id(),
            token.user_id,
            media_type,
            str(form.get("media_category", "tweet_image")),
            total,
            state.now(),
        )
        state.uploads[upload.id] = upload
        state.record("media_init", id=upload.id, bytes=total)
        return JSONResponse(
            {"data": {"id": upload.id, "media_key": f"3_{upload.id}", "expires_after_secs": 86400}},
            headers=headers,
        )
    found = state.uploads.get(str(form.get("media_id", "")))
    if found is None or found.user_id != token.user_id:
        raise invalid_request("Invalid media_id", "media_id")
    upload = found
    if command == "APPEND":
        try:
            index = int(form.get("segment_index", -1))
        except (TypeError, ValueError):
            index = -1
        if not 0 <= index <= 999 or not data:
            raise invalid_request("segment_index (0-999) and media are required", "segment_index")
        if len(data) > MEDIA_CHUNK_MAX:
            raise invalid_request("A segment is larger than 5 MB", "media")
        upload.segments[index] = len(data)
        return Response(status_code=204, headers=headers)
    if command == "FINALIZE":
        if sum(upload.segments.values()) != upload.total_bytes:
            raise invalid_request("File size does not match total_bytes given at INIT", "media_id")
        if upload.finalized_at is None:
            upload.finalized_at = state.now()
            state.record("media_finalized", id=upload.id)
        return JSONResponse({"data": _media_json(state, upload)}, headers=headers)
    raise invalid_request("command must be INIT, APPEND or FINALIZE", "command", command)
