"""An emulator of a Mastodon instance's REST API for tests, benchmarks and the offline demo.

Built from the official documentation (https://docs.joinmastodon.org/), not from Rupor's adapter:

* OAuth: ``POST /api/v1/apps`` registers an application (client id and secret), ``GET
  /oauth/authorize`` grants a code (this emulator approves at once, for its demo account),
  ``POST /oauth/token`` exchanges it for a bearer token, ``POST /oauth/revoke`` revokes one;
* ``GET /api/v1/accounts/verify_credentials``, ``GET /api/v1/apps/verify_credentials`` (with the
  token's scopes), ``GET /api/v1/accounts/:id``, ``GET /api/v1/accounts?id[]=``;
* ``GET /api/v2/instance`` with ``configuration`` (characters, media, polls) — the only place the
  limits come from (``create_app(max_characters=5000)`` makes an instance like the forks that
  allow more);
* ``POST /api/v1/statuses`` (form or JSON) with ``Idempotency-Key`` (the same key within an hour
  returns the same status), visibility, ``spoiler_text``, ``sensitive``, ``language``, polls
  (``poll[options][]``, ``poll[expires_in]``, ``poll[multiple]``; not with media), ``scheduled_at``
  (at least 5 minutes ahead; answers a ScheduledStatus), validation failures as 422
  ``{"error": "Validation failed: ..."}``; ``GET``/``DELETE /api/v1/statuses/:id``, ``GET
  /api/v1/statuses?id[]=``, ``GET /api/v1/statuses/:id/context``;
* ``POST /api/v2/media``: small images are processed at once (200), video and large files answer
  202 with ``url: null`` and ``GET /api/v1/media/:id`` answers 206 until processing is done (a few
  emulated seconds), then 200; attaching unprocessed media is a 422;
* ``GET /api/v1/notifications`` (``types[]``, ``since_id``, ``limit``), ``GET
  /api/v1/conversations`` (direct statuses);
* a wrong or revoked token is 401 ``{"error": "The access token is invalid"}``, a token without
  the scope 403 ``{"error": "This action is outside the authorized scopes"}``, unknown ids 404
  ``{"error": "Record not found"}``;
* rate limits per account: 300 requests per 5 minutes, 30 media uploads per 30 minutes, in fixed
  windows, every answer with ``X-RateLimit-Limit``/``-Remaining``/``-Reset``; over it a 429
  ``{"error": "Too many requests"}`` (``rate_limits=False`` turns it off);
* favourites, boosts and replies of a status grow with its age (:mod:`rupor.networks.engagement`);
  audience replies, mentions and direct messages are made through ``/_emulator/audience/*``.
"""

from __future__ import annotations

import datetime as dt
import html
import itertools
import json
import random
import secrets
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import Scope

from rupor.networks import engagement
from rupor.networks.base import looks_like_video
from rupor.networks.emulation import EmulatorClock, FaultInjector, FaultMiddleware, control_routes
from rupor.networks.mastodon import wire

DOMAIN = "mastodon.example"
DEMO_ACCOUNT_ID = "109000000000000001"
DEMO_USERNAME = "rupor"
DEMO_TOKEN = "mastodon-emulator-demo-token-0123456789abcdef"
#: A token granted only ``read``: it can look but not post.
READ_ONLY_TOKEN = "mastodon-emulator-read-only-token-0123456789ab"
DEMO_CLIENT_ID = "mastodon-emulator-client-id"
DEMO_CLIENT_SECRET = "mastodon-emulator-client-secret-0123456789"
#: Images up to this size are processed at once (200); bigger files and any video take a while (202).
SYNC_IMAGE_BYTES = 1024 * 1024
PROCESSING_S = 3.0
INJECTED_THROTTLE_S = 5
AUDIENCE = (
    ("109000000000000101", "anna", "Anna Berg"),
    ("109000000000000102", "kenji", "Kenji Sato"),
    ("109000000000000103", "olga", "Ольга"),
    ("109000000000000104", "minjun", "민준"),
)
AUDIENCE_LINES = ("Great thread!", "Thanks for sharing 🙏", "Boosted.", "Where can I read more?")


class ApiError(Exception):
    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


@dataclass
class Account:
    id: str
    username: str
    display_name: str
    followers: int = 0
    created_at: float = 0.0

    def acct(self) -> str:
        return self.username


@dataclass
class Token:
    account_id: str
    scopes: frozenset[str]
    client_id: str = DEMO_CLIENT_ID
    revoked: bool = False


@dataclass
class Status:
    id: str
    account_id: str
    text: str
    created_at: float
    visibility: str = "public"
    spoiler_text: str = ""
    sensitive: bool = False
    language: str | None = None
    in_reply_to_id: str | None = None
    in_reply_to_account_id: str | None = None
    media_ids: list[str] = field(default_factory=list)
    poll: dict[str, Any] | None = None
    mentions: list[str] = field(default_factory=list)  # account ids
    deleted: bool = False
    audience: int = 0


@dataclass
class MediaItem:
    id: str
    account_id: str
    kind: str  # image | video | gifv | audio | unknown
    size: int
    description: str | None
    ready_at: float
    used: bool = False


class MastodonEmulatorState:
    def __init__(self, seed: int = 0, rate_limits: bool = True, max_characters: int | None = None) -> None:
        self.seed = seed
        self.rate_limits = rate_limits
        #: This instance's own limits (``/api/v2/instance``); a fork or an admin may change them.
        self.configuration: dict[str, Any] = json.loads(json.dumps(wire.DEFAULT_CONFIGURATION))
        if max_characters:
            self.configuration["statuses"]["max_characters"] = int(max_characters)
        self.clock = EmulatorClock()
        self.lock = threading.RLock()
        self.base_url = ""
        self.reset_world()

    def reset_world(self) -> None:
        now = self.clock.timestamp()
        self.ids = itertools.count(110000000000000001)
        self.accounts: dict[str, Account] = {
            DEMO_ACCOUNT_ID: Account(DEMO_ACCOUNT_ID, DEMO_USERNAME, "Rupor Demo", 1200, now - 86400 * 400)
        }
        for aid, username, name in AUDIENCE:
            self.accounts[aid] = Account(aid, username, name, 50 + int(aid[-2:]) * 7, now - 86400 * 100)
        self.tokens: dict[str, Token] = {
            DEMO_TOKEN: Token(DEMO_ACCOUNT_ID, frozenset({"read", "write", "follow"})),
            READ_ONLY_TOKEN: Token(DEMO_ACCOUNT_ID, frozenset({"read"})),
        }
        self.apps: dict[str, dict[str, Any]] = {
            DEMO_CLIENT_ID: {
                "name": "Rupor",
                "client_secret": DEMO_CLIENT_SECRET,
                "redirect_uris": [wire.OOB_REDIRECT],
                "scopes": ["read", "write"],
            }
        }
        self.codes: dict[str, tuple[str, str]] = {}  # code -> (client_id, scopes)
        self.statuses: dict[str, Status] = {}
        self.media: dict[str, MediaItem] = {}
        self.scheduled: dict[str, dict[str, Any]] = {}
        self.idempotency: dict[tuple[str, str], tuple[float, int, dict[str, Any]]] = {}
        self.notifications: list[dict[str, Any]] = []  # {id, type, account_id, status_id, at}
        self.windows: dict[tuple[str, str, int], int] = {}
        self.followers_at: dict[int, int] = {}  # the demo account's followers by hour (a pure function of it)
        self.status_counts: dict[str, int] = {}
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
                "statuses": len([s for s in self.statuses.values() if not s.deleted]),
                "media": len(self.media),
                "scheduled": len(self.scheduled),
                "notifications": len(self.notifications),
            }

    # -- auth and limits -------------------------------------------------------------------------
    def authenticate(self, headers: Mapping[str, str], scope: str | None) -> Token:
        auth = headers.get("authorization", "")
        token = self.tokens.get(auth[7:].strip()) if auth.lower().startswith("bearer ") else None
        if token is None or token.revoked:
            raise ApiError(401, "The access token is invalid")
        if scope and scope not in token.scopes and scope.split(":")[0] not in token.scopes:
            raise ApiError(403, "This action is outside the authorized scopes")
        return token

    def count(self, bucket: str, account_id: str, limit: int, per_s: int) -> dict[str, str]:
        """Count one request in a fixed window; the rate-limit headers, or a 429."""
        now = self.now()
        window = int(now // per_s)
        key = (bucket, account_id, window)
        used = self.windows.get(key, 0) + 1
        self.windows[key] = used
        reset = dt.datetime.fromtimestamp((window + 1) * per_s, dt.UTC)
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(0, limit - used)),
            "X-RateLimit-Reset": wire.format_time(reset),
        }
        if self.rate_limits and used > limit:
            raise RateLimitedError(headers)
        return headers

    # -- rendering --------------------------------------------------------------------------------
    def account_json(self, account: Account) -> dict[str, Any]:
        base = self.base_url or f"https://{DOMAIN}"
        return {
            "id": account.id,
            "username": account.username,
            "acct": account.acct(),
            "display_name": account.display_name,
            "locked": False,
            "bot": False,
            "created_at": wire.format_time(dt.datetime.fromtimestamp(account.created_at, dt.UTC)),
            "note": "",
            "url": f"{base}/@{account.username}",
            "avatar": f"https://{DOMAIN}/avatars/{account.id}.png",
            "avatar_static": f"https://{DOMAIN}/avatars/{account.id}.png",
            "header": f"https://{DOMAIN}/headers/original/missing.png",
            "followers_count": self.followers(account),
            "following_count": 10,
            "statuses_count": self.status_counts.get(account.id, 0),
            "emojis": [],
            "fields": [],
        }

    def followers(self, account: Account) -> int:
        if account.id != DEMO_ACCOUNT_ID:
            return account.followers
        hours = int(self.now() // 3600)
        cached = self.followers_at.get(hours)
        if cached is None:
            cached = self.followers_at[hours] = self._followers(account, hours)
        return cached

    def _followers(self, account: Account, hours: int) -> int:
        start = int(account.created_at // 3600)
        total = account.followers
        for hour in range(max(start, hours - 24 * 60), hours):
            joins, leaves = engagement.member_flow(
                self.seed, account.id, hour, joins_per_day=6, leaves_per_day=2
            )
            total += joins - leaves
        return max(0, total)

    def media_json(self, item: MediaItem) -> dict[str, Any]:
        ready = self.now() >= item.ready_at
        url = f"https://{DOMAIN}/media/{item.id}/original" if ready else None
        return {
            "id": item.id,
            "type": item.kind,
            "url": url,
            "preview_url": f"https://{DOMAIN}/media/{item.id}/small",
            "remote_url": None,
            "text_url": None,
            "meta": {},
            "description": item.description,
            "blurhash": "UFBWY:8_0Jof4mNG-;xt0Kt7%2Rj~qWBt7of",
        }

    def poll_json(self, status: Status, likes: int) -> dict[str, Any]:
        """The status's Poll entity with its audience's votes (seeded: about three voters per
        favourite, a favourite option drawn per poll; no votes move after ``expires_at``); with
        multiple choice a voter picks one or two, so ``votes_count`` exceeds ``voters_count``."""
        assert status.poll is not None
        expires = status.poll["expires_at"]
        if self.now() >= expires:
            likes = engagement.post_counts(
                self.seed,
                status.id,
                published=status.created_at,
                now=float(expires),
                audience=status.audience,
                content_format="poll",
            ).likes
        rng = random.Random(f"mastodon-poll:{self.seed}:{status.id}")
        weights = [rng.uniform(0.5, 3.0) for _ in status.poll["options"]]
        voters = 3 * likes
        shares = [int(voters * w / sum(weights)) for w in weights]
        shares[weights.index(max(weights))] += voters - sum(shares)
        if status.poll["multiple"]:
            second = rng.randrange(len(shares))
            shares[second] += voters // 4
        return {
            "id": status.poll["id"],
            "expires_at": wire.format_time(dt.datetime.fromtimestamp(expires, dt.UTC)),
            "expired": self.now() >= expires,
            "multiple": status.poll["multiple"],
            "votes_count": sum(shares),
            "voters_count": voters if status.poll["multiple"] else None,
            "options": [
                {"title": o, "votes_count": n} for o, n in zip(status.poll["options"], shares, strict=True)
            ],
            "emojis": [],
            "voted": False,
            "own_votes": [],
        }

    def status_json(self, status: Status) -> dict[str, Any]:
        account = self.accounts[status.account_id]
        base = self.base_url or f"https://{DOMAIN}"
        replies = sum(1 for s in self.statuses.values() if s.in_reply_to_id == status.id and not s.deleted)
        counts = engagement.post_counts(
            self.seed,
            status.id,
            published=status.created_at,
            now=self.now(),
            audience=status.audience,
            content_format=self._format(status),
        )
        mine = status.account_id == DEMO_ACCOUNT_ID and status.in_reply_to_id is None
        poll = self.poll_json(status, counts.likes) if status.poll is not None else None
        return {
            "id": status.id,
            "uri": f"{base}/users/{account.username}/statuses/{status.id}",
            "url": f"{base}/@{account.username}/{status.id}",
            "created_at": wire.format_time(dt.datetime.fromtimestamp(status.created_at, dt.UTC)),
            "account": self.account_json(account),
            "content": "<p>" + html.escape(status.text).replace("\n", "<br />") + "</p>",
            "visibility": status.visibility,
            "sensitive": status.sensitive,
            "spoiler_text": status.spoiler_text,
            "language": status.language,
            "in_reply_to_id": status.in_reply_to_id,
            "in_reply_to_account_id": status.in_reply_to_account_id,
            "media_attachments": [self.media_json(self.media[m]) for m in status.media_ids],
            "mentions": [
                {
                    "id": a,
                    "username": self.accounts[a].username,
                    "acct": self.accounts[a].acct(),
                    "url": f"{base}/@{self.accounts[a].username}",
                }
                for a in status.mentions
            ],
            "tags": [],
            "emojis": [],
            "card": None,
            "poll": poll,
            "reblog": None,
            "application": {"name": "Rupor", "website": None},
            "replies_count": replies + (counts.comments if mine else 0),
            "reblogs_count": counts.reposts if mine else 0,
            "favourites_count": counts.likes if mine else 0,
            "edited_at": None,
        }

    def _format(self, status: Status) -> str:
        kinds = {self.media[m].kind for m in status.media_ids}
        if kinds & {"video", "gifv"}:
            return "video"
        if "image" in kinds:
            return "photo"
        return "poll" if status.poll else "text"

    # -- statuses ---------------------------------------------------------------------------------
    def create_status(
        self, account_id: str, params: Mapping[str, Any], key: str | None
    ) -> tuple[int, dict[str, Any]]:
        now = self.now()
        if key:
            for k, (at, _code, _body) in list(self.idempotency.items()):
                if now - at > wire.IDEMPOTENCY_TTL_S:
                    del self.idempotency[k]
            seen = self.idempotency.get((account_id, key))
            if seen is not None:
                return seen[1], seen[2]
        code, body = self._create(account_id, params, now)
        if key:
            self.idempotency[(account_id, key)] = (now, code, body)
        return code, body

    def _create(self, account_id: str, params: Mapping[str, Any], now: float) -> tuple[int, dict[str, Any]]:  # noqa: C901 - one check per documented validation
        text = str(params.get("status") or "")
        media_ids = [str(m) for m in _list(params, "media_ids")]
        options = [str(o) for o in _list(params, "poll[options]")]
        poll_param = params.get("poll")
        if isinstance(poll_param, Mapping):  # a JSON body
            options = [str(o) for o in poll_param.get("options") or ()]
        conf = self.configuration
        if not text.strip() and not media_ids:
            raise ApiError(422, "Validation failed: Text can't be blank")
        if len(text) > conf["statuses"]["max_characters"]:
            raise ApiError(
                422,
                f"Validation failed: Text character limit of {conf['statuses']['max_characters']} exceeded",
            )
        if len(media_ids) > conf["statuses"]["max_media_attachments"]:
            raise ApiError(422, "Validation failed: Media attachments too many attachments")
        if media_ids and options:
            raise ApiError(
                422, "Validation failed: Media attachments cannot be attached to a status with a poll"
            )
        visibility = str(params.get("visibility") or "public")
        if visibility not in wire.VISIBILITIES:
            raise ApiError(422, f"Validation failed: Visibility '{visibility}' is not a valid visibility")
        for mid in media_ids:
            item = self.media.get(mid)
            if item is None or item.account_id != account_id:
                raise ApiError(422, "Validation failed: Media attachments are invalid")
            if now < item.ready_at:
                raise ApiError(
                    422, "Cannot attach files that have not finished processing. Try again in a moment!"
                )
        poll: dict[str, Any] | None = None
        if options:
            expires_raw = (
                poll_param.get("expires_in")
                if isinstance(poll_param, Mapping)
                else params.get("poll[expires_in]")
            )
            if not expires_raw:
                raise ApiError(422, "Validation failed: Poll expires in can't be blank")
            expires_in = int(str(expires_raw))
            polls = conf["polls"]
            if len(options) < 2 or len(options) > polls["max_options"]:
                raise ApiError(
                    422,
                    f"Validation failed: Poll options must have between 2 and {polls['max_options']} items",
                )
            if any(len(o) > polls["max_characters_per_option"] or not o.strip() for o in options):
                raise ApiError(422, "Validation failed: Poll options are too long or empty")
            if not polls["min_expiration"] <= expires_in <= polls["max_expiration"]:
                raise ApiError(422, "Validation failed: Poll expiration is out of range")
            multiple = (
                params.get("poll[multiple]")
                if not isinstance(poll_param, Mapping)
                else poll_param.get("multiple")
            )
            poll = {
                "id": self.next_id(),
                "options": options,
                "expires_at": now + expires_in,
                "multiple": _bool(multiple),
            }
        language = str(params.get("language") or "") or None
        scheduled_raw = params.get("scheduled_at")
        if scheduled_raw:
            when = wire.parse_time(scheduled_raw)
            if when is None or when.timestamp() < now + wire.SCHEDULE_MIN_OFFSET_S:
                raise ApiError(
                    422, "Validation failed: Scheduled at The scheduled date must be in the future"
                )
            sid = self.next_id()
            for mid in media_ids:
                self.media[mid].used = True
            self.scheduled[sid] = {
                "id": sid,
                "account_id": account_id,
                "scheduled_at": wire.format_time(when),
                "params": {
                    "text": text,
                    "visibility": visibility,
                    "spoiler_text": str(params.get("spoiler_text") or "") or None,
                    "language": language,
                    "media_ids": media_ids or None,
                    "poll": {
                        "options": options,
                        "expires_in": str(poll["expires_at"] - now),
                        "multiple": poll["multiple"],
                    }
                    if poll
                    else None,
                    "in_reply_to_id": params.get("in_reply_to_id"),
                    "application_id": 1,
                },
            }
            self.record("status_scheduled", id=sid, text=text)
            body = dict(self.scheduled[sid])
            body.pop("account_id")
            body["media_attachments"] = [self.media_json(self.media[m]) for m in media_ids]
            return 200, body
        reply_to = str(params.get("in_reply_to_id") or "") or None
        reply_account = None
        if reply_to:
            parent = self.statuses.get(reply_to)
            if parent is None or parent.deleted:
                raise ApiError(404, "Record not found")
            reply_account = parent.account_id
        mentions = [a.id for a in self.accounts.values() if f"@{a.username}" in text and a.id != account_id]
        status = Status(
            id=self.next_id(),
            account_id=account_id,
            text=text,
            created_at=now,
            visibility=visibility,
            spoiler_text=str(params.get("spoiler_text") or ""),
            sensitive=_bool(params.get("sensitive")),
            language=language,
            in_reply_to_id=reply_to,
            in_reply_to_account_id=reply_account,
            media_ids=media_ids,
            poll=poll,
            mentions=mentions,
            audience=self.followers(self.accounts[account_id]),
        )
        for mid in media_ids:
            self.media[mid].used = True
        self.statuses[status.id] = status
        self.status_counts[account_id] = self.status_counts.get(account_id, 0) + 1
        self.record("status_created", id=status.id, text=text, visibility=visibility)
        self._notify(status)
        return 200, self.status_json(status)

    def _notify(self, status: Status) -> None:
        """Mentions of (and replies to) the demo account become its notifications."""
        if status.account_id == DEMO_ACCOUNT_ID:
            return
        if DEMO_ACCOUNT_ID in status.mentions or status.in_reply_to_account_id == DEMO_ACCOUNT_ID:
            self.notifications.append(
                {
                    "id": self.next_id(),
                    "type": "mention",
                    "account_id": status.account_id,
                    "status_id": status.id,
                    "at": status.created_at,
                }
            )

    def audience_status(self, text: str, *, reply_to: str | None, direct: bool, author: str | None) -> Status:
        account_id = author or AUDIENCE[len(self.statuses) % len(AUDIENCE)][0]
        if reply_to is not None and (reply_to not in self.statuses or self.statuses[reply_to].deleted):
            raise KeyError(reply_to)
        params: dict[str, Any] = {
            "status": f"@{DEMO_USERNAME} {text}" if direct or reply_to is None else text
        }
        if reply_to:
            params["in_reply_to_id"] = reply_to
        if direct:
            params["visibility"] = "direct"
        _code, body = self._create(account_id, params, self.now())
        return self.statuses[str(body["id"])]

    def posts_with(self, marker: str) -> int:
        with self.lock:
            own = [s for s in self.statuses.values() if s.account_id == DEMO_ACCOUNT_ID and not s.deleted]
            return sum(1 for s in own if marker in s.text) + sum(
                1 for s in self.scheduled.values() if marker in str(s["params"]["text"])
            )


#: An API handler: the request, its token, its parameters -> a response or (status, JSON body).
Handler = Callable[[Request, "Token", dict[str, Any]], Awaitable[Any]]
Endpoint = Callable[[Request], Awaitable[Response]]


class RateLimitedError(Exception):
    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__("rate limited")
        self.headers = headers


def _list(params: Mapping[str, Any], name: str) -> list[Any]:
    """A form's ``name[]`` list (or a JSON body's ``name`` array)."""
    value = params.get(f"{name}[]", params.get(name))
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _bool(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1", "on")


async def _params(request: Request) -> dict[str, Any]:
    """Query, form or JSON parameters, merged; repeated ``x[]`` keys become lists."""
    out: dict[str, Any] = {}
    pairs: list[tuple[str, Any]] = list(request.query_params.multi_items())
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("application/json"):
        body = json.loads(await request.body() or b"{}")
        if not isinstance(body, dict):
            raise ApiError(422, "Validation failed: the body must be an object")
        out.update(body)
    elif ctype.startswith("multipart/form-data"):
        form = await request.form()
        pairs += list(form.multi_items())
    elif ctype.startswith("application/x-www-form-urlencoded"):
        pairs += parse_qsl((await request.body()).decode(), keep_blank_values=True)
    for key, value in pairs:
        if key.endswith("[]"):
            out.setdefault(key, []).append(value)
        else:
            out[key] = value
    return out


def _error(status: int, error: str, headers: Mapping[str, str] | None = None) -> Response:
    return JSONResponse({"error": error}, status_code=status, headers=dict(headers or {}))


def _method_of(scope: Scope, _body: bytes) -> str | None:
    path = str(scope.get("path", ""))
    if not path.startswith(("/api/", "/oauth/")):
        return None
    method = str(scope.get("method", "GET"))
    if path == "/api/v1/statuses" and method == "POST":
        return "statuses.create"
    if path == "/api/v2/media" and method == "POST":
        return "media.create"
    return f"{method} {path}"


def create_app(seed: int = 0, rate_limits: bool = True, **options: Any) -> Any:  # noqa: C901 - the emulator's route table
    """The Mastodon emulator as an ASGI app; ``app.emulator`` is its :class:`MastodonEmulatorState`."""
    state = MastodonEmulatorState(
        seed=seed, rate_limits=rate_limits, max_characters=options.get("max_characters")
    )
    if options.get("base_url"):
        state.base_url = str(options["base_url"]).rstrip("/")
    injector = FaultInjector(seed=seed)

    def api(scope_name: str | None, *, media: bool = False) -> Callable[[Handler], Endpoint]:
        """Wrap a handler: authenticate, count against the limits, answer errors as Mastodon does."""

        def wrap(handler: Handler) -> Endpoint:
            async def endpoint(request: Request) -> Response:
                if not state.base_url:
                    state.base_url = str(request.base_url).rstrip("/")
                headers: dict[str, str] = {}
                try:
                    params = await _params(request)
                    with state.lock:
                        token = state.authenticate(request.headers, scope_name)
                        headers = state.count(
                            "requests", token.account_id, wire.REQUESTS_PER_WINDOW, wire.REQUEST_WINDOW_S
                        )
                        if media:
                            headers = state.count(
                                "media", token.account_id, wire.MEDIA_PER_WINDOW, wire.MEDIA_WINDOW_S
                            )
                    result = await handler(request, token, params)
                except RateLimitedError as limited:
                    return _error(429, "Too many requests", limited.headers)
                except ApiError as exc:
                    return _error(exc.status, exc.error, headers)
                except (ValueError, TypeError) as exc:
                    return _error(422, f"Validation failed: {exc}", headers)
                if isinstance(result, Response):
                    result.headers.update(headers)
                    return result
                code, body = result
                return JSONResponse(body, status_code=code, headers=headers)

            return endpoint

        return wrap

    # -- OAuth ------------------------------------------------------------------------------------
    async def apps(request: Request) -> Response:
        params = await _params(request)
        name = str(params.get("client_name") or "")
        redirect = params.get("redirect_uris") or params.get("redirect_uris[]")
        if not name or not redirect:
            return _error(
                422, "Validation failed: Application name can't be blank, Redirect URI can't be blank"
            )
        uris = redirect if isinstance(redirect, list) else [str(redirect)]
        client_id, secret = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        scopes = str(params.get("scopes") or "read").split()
        with state.lock:
            state.apps[client_id] = {
                "name": name,
                "client_secret": secret,
                "redirect_uris": uris,
                "scopes": scopes,
            }
            state.record("app_registered", name=name)
        return JSONResponse(
            {
                "id": str(len(state.apps)),
                "name": name,
                "website": params.get("website"),
                "scopes": scopes,
                "redirect_uri": "\n".join(uris),
                "redirect_uris": uris,
                "client_id": client_id,
                "client_secret": secret,
                "client_secret_expires_at": 0,
            }
        )

    async def authorize(request: Request) -> Response:
        q = request.query_params
        client = state.apps.get(q.get("client_id", ""))
        if (
            client is None
            or q.get("response_type") != "code"
            or q.get("redirect_uri") not in client["redirect_uris"]
        ):
            return HTMLResponse("<h1>The redirect URI or client is not valid.</h1>", status_code=400)
        code = secrets.token_urlsafe(24)
        with state.lock:
            state.codes[code] = (q["client_id"], q.get("scope", "read"))
        if q["redirect_uri"] == wire.OOB_REDIRECT:
            return HTMLResponse(f"<h1>Authorization code</h1><code id='code'>{code}</code>")
        return RedirectResponse(
            f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q.get('state', '')})}", 302
        )

    async def token(request: Request) -> Response:
        params = await _params(request)
        client = state.apps.get(str(params.get("client_id") or ""))
        if client is None or client["client_secret"] != params.get("client_secret"):
            return JSONResponse(
                {
                    "error": "invalid_client",
                    "error_description": "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.",
                },
                status_code=401,
            )
        grant = params.get("grant_type")
        with state.lock:
            if grant == "authorization_code":
                found = state.codes.pop(str(params.get("code") or ""), None)
                if found is None or found[0] != params.get("client_id"):
                    return JSONResponse(
                        {
                            "error": "invalid_grant",
                            "error_description": "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.",
                        },
                        status_code=400,
                    )
                scopes = found[1]
                value = secrets.token_urlsafe(32)
                state.tokens[value] = Token(
                    DEMO_ACCOUNT_ID, frozenset(scopes.split()), str(params["client_id"])
                )
            elif grant == "client_credentials":
                scopes = str(params.get("scope") or "read")
                value = secrets.token_urlsafe(32)
                state.tokens[value] = Token("", frozenset(scopes.split()), str(params["client_id"]))
            else:
                return JSONResponse(
                    {
                        "error": "unsupported_grant_type",
                        "error_description": "The authorization grant type is not supported by the authorization server.",
                    },
                    status_code=400,
                )
        return JSONResponse(
            {"access_token": value, "token_type": "Bearer", "scope": scopes, "created_at": int(state.now())}
        )

    async def revoke(request: Request) -> Response:
        params = await _params(request)
        with state.lock:
            found = state.tokens.get(str(params.get("token") or ""))
            if found is not None:
                found.revoked = True
        return JSONResponse({})

    # -- accounts and instance ------------------------------------------------------------------
    @api("read:accounts")
    async def verify_credentials(_request: Request, tok: Token, _params_: dict[str, Any]) -> Any:
        if not tok.account_id:
            raise ApiError(422, "This method requires an authenticated user")
        body = state.account_json(state.accounts[tok.account_id])
        body["source"] = {"privacy": "public", "sensitive": False, "language": "", "note": "", "fields": []}
        return 200, body

    @api(None)
    async def app_credentials(_request: Request, tok: Token, _params_: dict[str, Any]) -> Any:
        app_info = state.apps.get(tok.client_id, {"name": "Rupor"})
        return 200, {"name": app_info["name"], "website": None, "scopes": sorted(tok.scopes)}

    @api("read:accounts")
    async def account(request: Request, _tok: Token, _params_: dict[str, Any]) -> Any:
        found = state.accounts.get(request.path_params["id"])
        if found is None:
            raise ApiError(404, "Record not found")
        return 200, state.account_json(found)

    @api("read:accounts")
    async def accounts(_request: Request, _tok: Token, params: dict[str, Any]) -> Any:
        ids = [str(i) for i in _list(params, "id")][:40]
        return 200, [state.account_json(state.accounts[i]) for i in ids if i in state.accounts]

    async def instance(request: Request) -> Response:
        if not state.base_url:
            state.base_url = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "domain": DOMAIN,
                "title": "Mastodon (emulator)",
                "version": "4.3.0",
                "source_url": "https://github.com/mastodon/mastodon",
                "description": "An emulated Mastodon instance for Rupor's tests and demo.",
                "usage": {"users": {"active_month": len(state.accounts)}},
                "languages": ["en", "ru", "ko"],
                "configuration": {
                    "urls": {"streaming": "wss://mastodon.example"},
                    "accounts": {"max_featured_tags": 10, "max_pinned_statuses": 5},
                    **json.loads(json.dumps(state.configuration)),
                    "translation": {"enabled": False},
                },
                "registrations": {"enabled": False, "approval_required": False, "message": None},
                "contact": {"email": "admin@mastodon.example", "account": None},
                "rules": [],
            }
        )

    # -- statuses -------------------------------------------------------------------------------
    @api("write:statuses")
    async def create_status(request: Request, tok: Token, params: dict[str, Any]) -> Any:
        with state.lock:
            return state.create_status(tok.account_id, params, request.headers.get("idempotency-key"))

    @api("read:statuses")
    async def get_status(request: Request, _tok: Token, _params_: dict[str, Any]) -> Any:
        with state.lock:
            found = state.statuses.get(request.path_params["id"])
            if found is None or found.deleted:
                raise ApiError(404, "Record not found")
            return 200, state.status_json(found)

    @api("read:statuses")
    async def get_statuses(_request: Request, _tok: Token, params: dict[str, Any]) -> Any:
        ids = [str(i) for i in _list(params, "id")]
        with state.lock:
            return 200, [
                state.status_json(state.statuses[i])
                for i in ids
                if i in state.statuses and not state.statuses[i].deleted
            ]

    @api("read:statuses")
    async def get_poll(request: Request, _tok: Token, _params_: dict[str, Any]) -> Any:
        """``GET /api/v1/polls/:id``: the Poll entity (404 for an unknown id)."""
        with state.lock:
            for status in state.statuses.values():
                if status.poll is not None and str(status.poll["id"]) == request.path_params["id"]:
                    if status.deleted:
                        break
                    return 200, state.status_json(status)["poll"]
            raise ApiError(404, "Record not found")

    @api("write:statuses")
    async def delete_status(request: Request, tok: Token, _params_: dict[str, Any]) -> Any:
        with state.lock:
            found = state.statuses.get(request.path_params["id"])
            if found is None or found.deleted:
                raise ApiError(404, "Record not found")
            if found.account_id != tok.account_id:
                raise ApiError(403, "This action is not allowed")
            body = state.status_json(found)
            body["text"] = found.text
            found.deleted = True
            state.status_counts[found.account_id] -= 1
            state.record("status_deleted", id=found.id)
            return 200, body

    @api("read:statuses")
    async def context(request: Request, _tok: Token, _params_: dict[str, Any]) -> Any:
        with state.lock:
            found = state.statuses.get(request.path_params["id"])
            if found is None or found.deleted:
                raise ApiError(404, "Record not found")
            ancestors: list[Status] = []
            parent = found.in_reply_to_id
            while parent and parent in state.statuses:
                ancestors.insert(0, state.statuses[parent])
                parent = state.statuses[parent].in_reply_to_id
            descendants: list[Status] = []
            frontier = [found.id]
            while frontier:
                children = sorted(
                    (
                        s
                        for s in state.statuses.values()
                        if s.in_reply_to_id in frontier and not s.deleted and s.visibility != "direct"
                    ),
                    key=lambda s: int(s.id),
                )
                descendants += children
                frontier = [c.id for c in children]
            return 200, {
                "ancestors": [state.status_json(s) for s in ancestors if not s.deleted],
                "descendants": [state.status_json(s) for s in sorted(descendants, key=lambda s: int(s.id))],
            }

    @api("read:statuses")
    async def scheduled_list(_request: Request, tok: Token, _params_: dict[str, Any]) -> Any:
        with state.lock:
            out = []
            for item in state.scheduled.values():
                if item["account_id"] == tok.account_id:
                    body = {k: v for k, v in item.items() if k != "account_id"}
                    body["media_attachments"] = []
                    out.append(body)
            return 200, out

    @api("write:statuses")
    async def scheduled_delete(request: Request, tok: Token, _params_: dict[str, Any]) -> Any:
        with state.lock:
            item = state.scheduled.get(request.path_params["id"])
            if item is None or item["account_id"] != tok.account_id:
                raise ApiError(404, "Record not found")
            del state.scheduled[item["id"]]
            return 200, {}

    # -- media ----------------------------------------------------------------------------------
    @api("write:media", media=True)
    async def upload_media(request: Request, tok: Token, params: dict[str, Any]) -> Any:
        upload = params.get("file")
        if not isinstance(upload, UploadFile):
            raise ApiError(422, "Validation failed: File can't be blank")
        data = await upload.read()
        ctype = upload.content_type or "application/octet-stream"
        conf = state.configuration["media_attachments"]
        if ctype not in conf["supported_mime_types"] or not data:
            raise ApiError(422, "Validation failed: File content type is invalid")
        kind = ctype.split("/")[0]
        kind = {"image": "gifv" if ctype == "image/gif" else "image", "video": "video", "audio": "audio"}.get(
            kind, "unknown"
        )
        cap = conf["image_size_limit"] if kind == "image" else conf["video_size_limit"]
        if len(data) > cap:
            raise ApiError(
                422, f"Validation failed: File file size must be less than {cap // (1024 * 1024)} MB"
            )
        if kind == "video" and not looks_like_video(data):
            raise ApiError(422, "Validation failed: File is not a video Mastodon can process")
        now = state.now()
        sync = kind == "image" and len(data) <= SYNC_IMAGE_BYTES
        description = str(params.get("description") or "") or None
        with state.lock:
            item = MediaItem(
                state.next_id(),
                tok.account_id,
                kind,
                len(data),
                description,
                now if sync else now + PROCESSING_S,
            )
            state.media[item.id] = item
            state.record("media_uploaded", id=item.id, bytes=len(data), kind=kind)
            return (200 if sync else 202), state.media_json(item)

    @api("read:statuses")
    async def get_media(request: Request, tok: Token, _params_: dict[str, Any]) -> Any:
        with state.lock:
            item = state.media.get(request.path_params["id"])
            if item is None or item.account_id != tok.account_id:
                raise ApiError(404, "Record not found")
            return (200 if state.now() >= item.ready_at else 206), state.media_json(item)

    @api("write:media")
    async def update_media(request: Request, tok: Token, params: dict[str, Any]) -> Any:
        with state.lock:
            item = state.media.get(request.path_params["id"])
            if item is None or item.account_id != tok.account_id:
                raise ApiError(404, "Record not found")
            if item.used:
                raise ApiError(422, "Validation failed: media already attached to a status")
            if "description" in params:
                item.description = str(params["description"]) or None
            return 200, state.media_json(item)

    # -- notifications and conversations ----------------------------------------------------------
    @api("read:notifications")
    async def notifications(_request: Request, tok: Token, params: dict[str, Any]) -> Any:
        types = set(_list(params, "types"))
        since = int(str(params.get("since_id") or 0))
        limit = max(1, min(80, int(str(params.get("limit") or 40))))
        with state.lock:
            found = [
                n
                for n in state.notifications
                if tok.account_id == DEMO_ACCOUNT_ID
                and int(n["id"]) > since
                and (not types or n["type"] in types)
            ]
            found = sorted(found, key=lambda n: int(n["id"]), reverse=True)[:limit]
            return 200, [
                {
                    "id": n["id"],
                    "type": n["type"],
                    "created_at": wire.format_time(dt.datetime.fromtimestamp(n["at"], dt.UTC)),
                    "account": state.account_json(state.accounts[n["account_id"]]),
                    "status": state.status_json(state.statuses[n["status_id"]])
                    if n["status_id"] in state.statuses
                    else None,
                }
                for n in found
            ]

    @api("read:statuses")
    async def conversations(_request: Request, tok: Token, _params_: dict[str, Any]) -> Any:
        with state.lock:
            threads: dict[str, list[Status]] = {}
            for s in state.statuses.values():
                if s.visibility != "direct" or s.deleted:
                    continue
                if tok.account_id not in (s.account_id, *s.mentions):
                    continue
                other = (
                    s.account_id
                    if s.account_id != tok.account_id
                    else (s.mentions[0] if s.mentions else s.account_id)
                )
                threads.setdefault(other, []).append(s)
            out: list[dict[str, Any]] = []
            for other, items in threads.items():
                last = max(items, key=lambda s: int(s.id))
                out.append(
                    {
                        "id": other,
                        "unread": True,
                        "accounts": [state.account_json(state.accounts[other])],
                        "last_status": state.status_json(last),
                    }
                )
            return 200, sorted(out, key=lambda c: int(c["last_status"]["id"]), reverse=True)

    @api("read:statuses")
    async def account_statuses(request: Request, _tok: Token, params: dict[str, Any]) -> Any:
        aid = request.path_params["id"]
        limit = max(1, min(40, int(str(params.get("limit") or 20))))
        with state.lock:
            if aid not in state.accounts:
                raise ApiError(404, "Record not found")
            found = sorted(
                (
                    s
                    for s in state.statuses.values()
                    if s.account_id == aid and not s.deleted and s.visibility in ("public", "unlisted")
                ),
                key=lambda s: int(s.id),
                reverse=True,
            )[:limit]
            return 200, [state.status_json(s) for s in found]

    # -- the emulator's own controls ------------------------------------------------------------
    async def audience(request: Request) -> Response:
        spec = json.loads(await request.body() or b"{}")
        kind = request.path_params["kind"]
        with state.lock:
            try:
                status = state.audience_status(
                    str(spec.get("text", "")),
                    reply_to=str(spec["status_id"]) if kind == "reply" else None,
                    direct=kind == "direct",
                    author=spec.get("account_id"),
                )
            except (KeyError, ApiError):
                return JSONResponse({"error": "unknown status"}, status_code=404)
        return JSONResponse({"id": status.id, "account_id": status.account_id})

    async def posts_with(request: Request) -> Response:
        return JSONResponse({"count": state.posts_with(request.query_params.get("marker", ""))})

    async def revoke_token(request: Request) -> Response:
        spec = json.loads(await request.body() or b"{}")
        with state.lock:
            found = state.tokens.get(str(spec.get("access_token", "")))
            if found is None:
                return JSONResponse({"error": "unknown token"}, status_code=404)
            found.revoked = True
        return JSONResponse({"ok": True})

    async def public_status(request: Request) -> Response:
        with state.lock:
            found = state.statuses.get(request.path_params["id"])
            if found is None or found.deleted or found.visibility == "direct":
                return PlainTextResponse("Not found", status_code=404)
            name = state.accounts[found.account_id].display_name
            text = found.text
        return HTMLResponse(
            f"<!doctype html><meta charset='utf-8'><title>{html.escape(name)}</title>"
            f"<h1>Mastodon (emulator): {html.escape(name)}</h1><article>{html.escape(text).replace(chr(10), '<br>')}</article>"
        )

    def ledger() -> Any:
        with state.lock:
            return list(state.ledger)

    def not_found(_request: Request, _exc: Exception) -> Response:
        return _error(404, "Record not found")

    routes = [
        Route("/api/v1/apps", apps, methods=["POST"]),
        Route("/oauth/authorize", authorize, methods=["GET"]),
        Route("/oauth/token", token, methods=["POST"]),
        Route("/oauth/revoke", revoke, methods=["POST"]),
        Route("/api/v1/apps/verify_credentials", app_credentials, methods=["GET"]),
        Route("/api/v1/accounts/verify_credentials", verify_credentials, methods=["GET"]),
        Route("/api/v1/accounts/{id}/statuses", account_statuses, methods=["GET"]),
        Route("/api/v1/accounts/{id}", account, methods=["GET"]),
        Route("/api/v1/accounts", accounts, methods=["GET"]),
        Route("/api/v2/instance", instance, methods=["GET"]),
        Route("/api/v1/statuses", create_status, methods=["POST"]),
        Route("/api/v1/statuses", get_statuses, methods=["GET"]),
        Route("/api/v1/statuses/{id}/context", context, methods=["GET"]),
        Route("/api/v1/statuses/{id}", get_status, methods=["GET"]),
        Route("/api/v1/polls/{id}", get_poll, methods=["GET"]),
        Route("/api/v1/statuses/{id}", delete_status, methods=["DELETE"]),
        Route("/api/v1/scheduled_statuses", scheduled_list, methods=["GET"]),
        Route("/api/v1/scheduled_statuses/{id}", scheduled_delete, methods=["DELETE"]),
        Route("/api/v2/media", upload_media, methods=["POST"]),
        Route("/api/v1/media/{id}", get_media, methods=["GET"]),
        Route("/api/v1/media/{id}", update_media, methods=["PUT"]),
        Route("/api/v1/notifications", notifications, methods=["GET"]),
        Route("/api/v1/conversations", conversations, methods=["GET"]),
        Route("/@{user}/{id}", public_status, methods=["GET"]),
        Route("/_emulator/audience/{kind:str}", audience, methods=["POST"]),
        Route("/_emulator/posts_with", posts_with, methods=["GET"]),
        Route("/_emulator/tokens/revoke", revoke_token, methods=["POST"]),
        *control_routes(injector, state.clock, state.dump, ledger, state.reset),
    ]
    inner = Starlette(routes=routes, exception_handlers={404: not_found})
    inner.state.emulator = state
    inner.state.injector = injector

    def rate_limited(_method: str) -> Response:
        # An injected 429 is a short throttle (a proxy's, or a window about to end): its reset is
        # a few seconds ahead, so tests see the adapter wait for exactly that.
        reset = dt.datetime.fromtimestamp(state.now() + INJECTED_THROTTLE_S, dt.UTC)
        return _error(
            429,
            "Too many requests",
            {
                "X-RateLimit-Limit": "300",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": wire.format_time(reset),
            },
        )

    def server_error(_method: str) -> Response:
        return HTMLResponse("<html><body><h1>We're sorry, but something went wrong.</h1></body></html>", 500)

    app = FaultMiddleware(inner, injector, _method_of, rate_limited, server_error)
    app.state = SimpleNamespace(emulator=state, injector=injector)  # type: ignore[attr-defined]  # Starlette's app has no declared slot for the emulator; tests and the demo reach it here
    app.emulator = state  # type: ignore[attr-defined]  # as above
    app.injector = injector
    return app
