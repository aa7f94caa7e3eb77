"""An emulator of a Bluesky PDS with the app view's reads, for tests, benchmarks and the demo.

It behaves like a PDS as the AT Protocol documents it (https://atproto.com/specs/xrpc, the
lexicons under https://github.com/bluesky-social/atproto/tree/main/lexicons):

* XRPC: ``GET|POST /xrpc/<nsid>``, JSON in and out, errors as
  ``{"error": "<Name>", "message": "..."}`` with 400 (``InvalidRequest``, ``ExpiredToken``,
  ``RecordNotFound``...), 401 (``AuthenticationRequired``, ``InvalidToken``), 429
  (``RateLimitExceeded``, with ``ratelimit-limit``/``-remaining``/``-reset``/``-policy``);
* sessions: ``com.atproto.server.createSession`` (handle or DID + app password) gives an access
  JWT (2 hours) and a refresh JWT (90 days); ``refreshSession`` takes the refresh JWT in the
  ``Authorization`` header and rotates both (the old refresh JWT keeps working for a 2-hour grace
  period, then is revoked); an expired access JWT is ``400 ExpiredToken``; createSession is
  limited to 30 per 5 minutes and 300 a day per account;
* records: ``createRecord``, ``putRecord`` (an unchanged record is a no-op: same CID, no
  ``commit`` in the answer), ``applyWrites`` (create/update/delete; a create on a key already
  taken fails with a bare 500 ``InternalServerError``, as the reference PDS does),
  ``deleteRecord``, ``getRecord``, ``listRecords``; ``app.bsky.feed.post`` records are validated
  as the lexicon says (text at most 300 graphemes and 3000 bytes, facets, at most 4 images each
  with ``alt`` and a blob of at most 1,000,000 bytes, external cards, quoted records, reply
  ``root``/``parent`` strong refs); record keys are TIDs; writes cost 3 (create), 2 (update) and
  1 (delete) points of 5000 an hour per account;
* blobs: ``uploadBlob`` with the raw bytes and their ``Content-Type`` (at most 50 MB);
* app view: ``app.bsky.feed.getPosts`` (``likeCount``, ``repostCount``, ``replyCount``,
  ``quoteCount``, growing with the emulator clock as :mod:`rupor.networks.engagement` models),
  ``getPostThread``, ``app.bsky.notification.listNotifications`` (reply, mention, quote, like,
  repost), ``app.bsky.actor.getProfile(s)``, ``com.atproto.identity.resolveHandle``.

State lives in memory; every side effect goes to the ledger (``GET /_emulator/ledger``).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import html
import json
import random
import threading
from collections import deque
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Scope

from rupor.networks import engagement
from rupor.networks.bluesky import wire
from rupor.networks.emulation import EmulatorClock, FaultInjector, FaultMiddleware, control_routes
from rupor.networks.text import grapheme_length

# -- the seeded world ---------------------------------------------------------------------------
DEMO_HANDLE = "ruporbakery.bsky.social"
DEMO_DID = "did:plc:ruporbakery2demo0000000a"
DEMO_APP_PASSWORD = "demo-appp-assw-ord1"
#: An account whose password was revoked: every login fails.
LOCKED_HANDLE = "locked.bsky.social"
LOCKED_DID = "did:plc:lockedaccount00000000000b"
ACCESS_TTL_S = 2 * 3600
REFRESH_TTL_S = 90 * 86400
REFRESH_GRACE_S = 2 * 3600
BLOB_MAX_BYTES = 50 * 1024 * 1024
#: At most this many replies from the emulated audience under one post.
AUDIENCE_REPLIES_MAX = 10
_SECRET = b"rupor-bluesky-emulator"

AUDIENCE: tuple[tuple[str, str, str], ...] = (
    ("did:plc:audience0000000000000001", "mina.bsky.social", "Mina Park"),
    ("did:plc:audience0000000000000002", "ivan.bsky.social", "Иван Петров"),
    ("did:plc:audience0000000000000003", "sam.bsky.social", "Sam Carter"),
    ("did:plc:audience0000000000000004", "jiwoo.bsky.social", "지우"),
    ("did:plc:audience0000000000000005", "olga.bsky.social", "Ольга"),
)
AUDIENCE_LINES = (
    "Love this!",
    "Looks delicious, what time do you open?",
    "정말 맛있어 보여요!",
    "Отличная идея 👍",
    "Saving this for the weekend.",
)


@dataclass
class Account:
    did: str
    handle: str
    display_name: str
    password: str
    followers: int = 0
    locked: bool = False
    sessions: deque[float] = field(default_factory=deque)
    points: deque[tuple[float, int]] = field(default_factory=deque)


@dataclass
class Record:
    uri: str
    cid: str
    value: dict[str, Any]
    repo: str
    collection: str
    rkey: str
    indexed_at: float
    deleted: bool = False
    audience: int = 100
    audience_replies: int = 0
    #: The order the repo's records were first written in: the engagement model's key (the record
    #: key holds the writer's clock and random bits, so the same history would count differently).
    number: int = 0


@dataclass
class Notification:
    uri: str
    cid: str
    author: str
    reason: str
    reason_subject: str | None
    record: dict[str, Any]
    indexed_at: float
    recipient: str


class XrpcError(Exception):
    def __init__(self, status: int, name: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.name, self.message, self.headers = status, name, message, headers or {}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def cid_of(value: Any) -> str:
    """A CIDv1 (dag-cbor, sha-256) look-alike: the hash of the canonical JSON, base32."""
    digest = hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode()).digest()
    return "bafyrei" + base64.b32encode(digest).decode().lower().rstrip("=")


def blob_cid(data: bytes) -> str:
    return "bafkrei" + base64.b32encode(hashlib.sha256(data).digest()).decode().lower().rstrip("=")


class BlueskyEmulatorState:
    """Everything the emulated PDS and app view know. All access goes through ``lock``."""

    def __init__(self, seed: int = 0, rate_limits: bool = True, clock: EmulatorClock | None = None) -> None:
        self.seed = seed
        self.rate_limits = rate_limits
        self.clock = clock or EmulatorClock()
        self.lock = threading.RLock()
        self.base_url = ""
        self._build()

    def _build(self) -> None:
        now = self.clock.timestamp()
        self.started = now
        self.rng = random.Random(self.seed)
        self.accounts: dict[str, Account] = {
            DEMO_DID: Account(DEMO_DID, DEMO_HANDLE, "Rupor Demo Bakery", DEMO_APP_PASSWORD, 840),
            LOCKED_DID: Account(LOCKED_DID, LOCKED_HANDLE, "Locked", "x" * 19, 10, locked=True),
        }
        for did, handle, name in AUDIENCE:
            self.accounts[did] = Account(did, handle, name, "", 50 + len(name) * 7)
        self.records: dict[str, Record] = {}
        self.blobs: dict[str, dict[str, Any]] = {}  # cid -> {mimeType, size, repo}
        self.refresh_tokens: dict[str, dict[str, Any]] = {}  # jti -> {did, expires, revoked_at}
        self.revoked_access: set[str] = set()
        self.notifications: list[Notification] = []
        self.ledger: list[dict[str, Any]] = []
        self.revs = 0
        self.commits: dict[str, str] = {}  # did -> head commit cid
        self.seq = 0
        for index, text in enumerate(("Fresh bread every morning 🥖", "Our new croissants are here!")):
            created = now - (2 - index) * 86400
            seeded = self._store(
                DEMO_DID,
                wire.POST,
                wire.tid(int(created * 1_000_000), 1),
                {"$type": wire.POST, "text": text, "createdAt": wire.iso(_at(created))},
                created,
            )
            # The account's earlier posts had their conversation before the world began: only
            # posts written through the API draw new replies (the inbox then has Rupor's posts).
            seeded.audience_replies = AUDIENCE_REPLIES_MAX

    def reset(self) -> None:
        with self.lock:
            self._build()

    def now(self) -> float:
        return self.clock.timestamp()

    def record(self, kind: str, **data: Any) -> None:
        self.ledger.append({"kind": kind, "at": _at(self.now()).isoformat(), **data})

    # -- tokens ------------------------------------------------------------------------------
    def _jwt(self, did: str, scope: str, ttl: float, jti: str | None = None) -> str:
        now = int(self.now())
        head = _b64(
            json.dumps(
                {"typ": "at+jwt" if scope != "com.atproto.refresh" else "refresh+jwt", "alg": "HS256"}
            ).encode()
        )
        body: dict[str, Any] = {
            "scope": scope,
            "sub": did,
            "iat": now,
            "exp": int(now + ttl),
            "aud": "did:web:emulator",
        }
        if jti:
            body["jti"] = jti
        payload = _b64(json.dumps(body).encode())
        sig = _b64(hmac.new(_SECRET, f"{head}.{payload}".encode(), hashlib.sha256).digest())
        return f"{head}.{payload}.{sig}"

    def decode(self, token: str) -> dict[str, Any]:
        try:
            head, payload, sig = token.split(".")
        except ValueError:
            raise XrpcError(400, "InvalidToken", "Malformed token") from None
        good = _b64(hmac.new(_SECRET, f"{head}.{payload}".encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(good, sig):
            raise XrpcError(400, "InvalidToken", "Token could not be verified")
        data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return data

    def new_session(self, account: Account) -> dict[str, Any]:
        jti = _b64(self.rng.randbytes(16))
        self.refresh_tokens[jti] = {
            "did": account.did,
            "expires": self.now() + REFRESH_TTL_S,
            "revoked_at": None,
        }
        return {
            "accessJwt": self._jwt(account.did, "com.atproto.appPass", ACCESS_TTL_S),
            "refreshJwt": self._jwt(account.did, "com.atproto.refresh", REFRESH_TTL_S, jti),
            "handle": account.handle,
            "did": account.did,
            "active": True,
            "email": f"{account.handle.split('.')[0]}@example.com",
        }

    def authed(self, request: Request, *, refresh: bool = False) -> Account:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            raise XrpcError(401, "AuthenticationRequired", "Authentication Required")
        token = header[7:].strip()
        claims = self.decode(token)
        scope = claims.get("scope", "")
        if refresh != (scope == "com.atproto.refresh"):
            raise XrpcError(400, "InvalidToken", "Bad token scope")
        if claims.get("exp", 0) < self.now():
            raise XrpcError(400, "ExpiredToken", "Token has expired")
        if token in self.revoked_access:
            raise XrpcError(400, "InvalidToken", "Token has been revoked")
        if refresh:
            info = self.refresh_tokens.get(str(claims.get("jti")))
            if info is None or (
                info["revoked_at"] is not None and info["revoked_at"] + REFRESH_GRACE_S < self.now()
            ):
                raise XrpcError(400, "ExpiredToken", "Token has been revoked")
        account = self.accounts.get(str(claims.get("sub")))
        if account is None or account.locked:
            raise XrpcError(401, "InvalidToken", "Account not found")
        return account

    # -- rate limits ---------------------------------------------------------------------------
    def spend(self, account: Account, points: int) -> dict[str, str]:
        now = self.now()
        while account.points and account.points[0][0] < now - 3600:
            account.points.popleft()
        used = sum(p for _t, p in account.points)
        reset = int((account.points[0][0] if account.points else now) + 3600)
        headers = {
            "ratelimit-limit": str(wire.WRITE_POINTS_PER_HOUR),
            "ratelimit-policy": f"{wire.WRITE_POINTS_PER_HOUR};w=3600",
            "ratelimit-reset": str(reset),
        }
        if self.rate_limits and used + points > wire.WRITE_POINTS_PER_HOUR:
            headers["ratelimit-remaining"] = str(max(0, wire.WRITE_POINTS_PER_HOUR - used))
            raise XrpcError(429, "RateLimitExceeded", "Rate Limit Exceeded", headers)
        account.points.append((now, points))
        headers["ratelimit-remaining"] = str(wire.WRITE_POINTS_PER_HOUR - used - points)
        return headers

    # -- records -------------------------------------------------------------------------------
    def _store(self, repo: str, collection: str, rkey: str, value: dict[str, Any], at: float) -> Record:
        uri = wire.at_uri(repo, collection, rkey)
        cid = cid_of(value)
        rec = Record(uri, cid, value, repo, collection, rkey, at)
        earlier = self.records.get(uri)
        rec.number = earlier.number if earlier is not None else self.revs + 1
        account = self.accounts.get(repo)
        rec.audience = account.followers if account else 100
        self.records[uri] = rec
        self.revs += 1
        self.commits[repo] = cid_of({"rev": self.revs, "repo": repo})
        if collection == wire.POST:
            self._notify_for(rec)
        return rec

    def _notify_for(self, rec: Record) -> None:
        """Notifications the app view would send for a new post: replies, quotes, mentions."""
        value = rec.value
        told: set[str] = set()
        reply = value.get("reply") or {}
        parent = self.records.get(str((reply.get("parent") or {}).get("uri", "")))
        if parent is not None and parent.repo != rec.repo:
            self._notify(rec, "reply", parent.uri, parent.repo)
            told.add(parent.repo)
        embed = value.get("embed") or {}
        quoted = (embed.get("record") or {}) if embed.get("$type") == "app.bsky.embed.record" else {}
        target = self.records.get(str(quoted.get("uri", "")))
        if target is not None and target.repo != rec.repo and target.repo not in told:
            self._notify(rec, "quote", target.uri, target.repo)
            told.add(target.repo)
        for facet in value.get("facets") or ():
            for feature in facet.get("features") or ():
                did = feature.get("did")
                mention = feature.get("$type") == "app.bsky.richtext.facet#mention"
                if mention and did in self.accounts and did != rec.repo and did not in told:
                    self._notify(rec, "mention", None, did)
                    told.add(did)

    def _notify(self, rec: Record, reason: str, subject: str | None, recipient: str) -> None:
        self.notifications.append(
            Notification(rec.uri, rec.cid, rec.repo, reason, subject, rec.value, rec.indexed_at, recipient)
        )

    def validate_post(self, repo: str, value: Any) -> None:  # noqa: C901 - one check per lexicon rule
        def bad(path: str, problem: str) -> XrpcError:
            return XrpcError(
                400, "InvalidRequest", f"Invalid app.bsky.feed.post record: Record/{path} {problem}"
            )

        if not isinstance(value, dict):
            raise bad("", "must be an object")
        if value.get("$type", wire.POST) != wire.POST:
            raise XrpcError(
                400, "InvalidRequest", f"Invalid $type: expected {wire.POST}, got {value.get('$type')}"
            )
        text = value.get("text")
        if not isinstance(text, str):
            raise bad("text", "must be a string")
        if grapheme_length(text) > wire.TEXT_MAX_GRAPHEMES:
            raise bad("text", "must not be longer than 300 graphemes")
        if len(text.encode()) > wire.TEXT_MAX_BYTES:
            raise bad("text", "must not be longer than 3000 characters")
        try:
            wire.parse_time(str(value["createdAt"]))
        except (KeyError, ValueError):
            raise bad("createdAt", "must be a valid datetime") from None
        langs = value.get("langs")
        if langs is not None and (not isinstance(langs, list) or len(langs) > 3):
            raise bad("langs", "must not have more than 3 elements")
        for i, facet in enumerate(value.get("facets") or ()):
            index = facet.get("index") if isinstance(facet, dict) else None
            if not isinstance(index, dict):
                raise bad(f"facets/{i}", 'must have the property "index"')
            start, end = index.get("byteStart"), index.get("byteEnd")
            if not isinstance(start, int) or not isinstance(end, int) or start < 0 or end < 0:
                raise bad(f"facets/{i}/index", "byteStart and byteEnd must be non-negative integers")
            features = facet.get("features")
            if not isinstance(features, list) or not features:
                raise bad(f"facets/{i}/features", "must be a non-empty array")
            for feature in features:
                kind = feature.get("$type") if isinstance(feature, dict) else None
                if (
                    kind == "app.bsky.richtext.facet#link"
                    and not str(feature.get("uri", "")).partition(":")[2]
                ):
                    raise bad(f"facets/{i}/features/0/uri", "must be a uri")
                if kind == "app.bsky.richtext.facet#mention" and not str(feature.get("did", "")).startswith(
                    "did:"
                ):
                    raise bad(f"facets/{i}/features/0/did", "must be a did")
                if kind == "app.bsky.richtext.facet#tag":
                    tag = str(feature.get("tag", ""))
                    if (
                        len(tag.encode()) > wire.TAG_MAX_BYTES
                        or grapheme_length(tag) > wire.TAG_MAX_GRAPHEMES
                    ):
                        raise bad(f"facets/{i}/features/0/tag", "must not be longer than 64 graphemes")
        embed = value.get("embed")
        if embed is not None:
            self._validate_embed(repo, embed, bad)
        reply = value.get("reply")
        if reply is not None:
            for part in ("root", "parent"):
                ref = reply.get(part) if isinstance(reply, dict) else None
                if not isinstance(ref, dict) or not ref.get("uri") or not ref.get("cid"):
                    raise bad(f"reply/{part}", "must be a strong ref with uri and cid")

    def _validate_embed(self, repo: str, embed: Any, bad: Any) -> None:
        kind = embed.get("$type") if isinstance(embed, dict) else None
        if kind == "app.bsky.embed.images":
            images = embed.get("images")
            if not isinstance(images, list) or not images:
                raise bad("embed/images", "must be a non-empty array")
            if len(images) > wire.IMAGES_MAX:
                raise bad("embed/images", "must not have more than 4 elements")
            for i, image in enumerate(images):
                if not isinstance(image, dict) or not isinstance(image.get("alt"), str):
                    raise bad(f"embed/images/{i}", 'must have the property "alt"')
                ratio = image.get("aspectRatio")
                if ratio is not None and (
                    not isinstance(ratio, dict)
                    or int(ratio.get("width", 0)) < 1
                    or int(ratio.get("height", 0)) < 1
                ):
                    raise bad(f"embed/images/{i}/aspectRatio", "width and height must be at least 1")
                self._check_blob(
                    repo, image.get("image"), f"embed/images/{i}/image", wire.IMAGE_MAX_BYTES, bad
                )
        elif kind == "app.bsky.embed.external":
            external = embed.get("external")
            if not isinstance(external, dict) or not external.get("uri"):
                raise bad("embed/external", 'must have the property "uri"')
            for name in ("title", "description"):
                if not isinstance(external.get(name), str):
                    raise bad(f"embed/external/{name}", "must be a string")
            if external.get("thumb") is not None:
                self._check_blob(repo, external["thumb"], "embed/external/thumb", wire.IMAGE_MAX_BYTES, bad)
        elif kind == "app.bsky.embed.record":
            ref = embed.get("record")
            if not isinstance(ref, dict) or not ref.get("uri") or not ref.get("cid"):
                raise bad("embed/record", "must be a strong ref with uri and cid")
        else:
            raise bad("embed", f"has an unsupported type {kind!r}")

    def _check_blob(self, repo: str, ref: Any, path: str, max_size: int, bad: Any) -> None:
        link = ((ref or {}).get("ref") or {}).get("$link") if isinstance(ref, dict) else None
        blob = self.blobs.get(str(link))
        if blob is None or blob["repo"] != repo:
            raise XrpcError(400, "InvalidRequest", f"Could not find blob: {link}")
        if not str(blob["mimeType"]).startswith("image/"):
            raise bad(path, f"has a mime type {blob['mimeType']} that is not accepted")
        if blob["size"] > max_size:
            raise XrpcError(
                400,
                "BlobTooLarge",
                f"{path}: this file is too large. It is {blob['size']} bytes but the maximum size is {max_size} bytes.",
            )

    def validate(self, repo: str, collection: str, value: Any) -> None:
        if collection == wire.POST:
            self.validate_post(repo, value)
        elif not isinstance(value, dict):
            raise XrpcError(400, "InvalidRequest", "Record must be an object")

    # -- engagement ------------------------------------------------------------------------------
    def counts(self, rec: Record) -> dict[str, int]:
        model = engagement.post_counts(
            self.seed,
            f"bluesky:{rec.repo}:{rec.number}",
            published=rec.indexed_at,
            now=self.now(),
            audience=rec.audience,
            content_format="photo"
            if (rec.value.get("embed") or {}).get("$type") == "app.bsky.embed.images"
            else "text",
        )
        if rec.repo == DEMO_DID:
            self._grow_audience(rec, model.comments)
        live = [r for r in self.records.values() if not r.deleted and r.collection == wire.POST]
        replies = sum(
            1 for r in live if ((r.value.get("reply") or {}).get("parent") or {}).get("uri") == rec.uri
        )
        quotes = sum(
            1 for r in live if ((r.value.get("embed") or {}).get("record") or {}).get("uri") == rec.uri
        )
        return {
            "likeCount": model.likes,
            "repostCount": model.reposts,
            "replyCount": replies,
            "quoteCount": quotes + model.reposts // 5,
        }

    def _grow_audience(self, rec: Record, due: int) -> None:
        """The audience replies to the demo account's posts as time goes on (at most 10 a post)."""
        while (
            rec.audience_replies < min(AUDIENCE_REPLIES_MAX, due)
            and not rec.deleted
            and rec.value.get("reply") is None
        ):
            k = rec.audience_replies
            rec.audience_replies += 1
            pick = random.Random(f"{self.seed}:{rec.repo}:{rec.number}:{k}")
            did = AUDIENCE[pick.randrange(len(AUDIENCE))][0]
            self.audience_post(did, AUDIENCE_LINES[pick.randrange(len(AUDIENCE_LINES))], reply_to=rec.uri)

    def audience_post(
        self,
        did: str,
        text: str,
        *,
        reply_to: str | None = None,
        quote: str | None = None,
        mention: str | None = None,
    ) -> Record:
        value: dict[str, Any] = {"$type": wire.POST, "text": text, "createdAt": wire.iso(_at(self.now()))}
        if reply_to:
            parent = self.records[reply_to]
            root = (parent.value.get("reply") or {}).get("root") or {"uri": parent.uri, "cid": parent.cid}
            value["reply"] = {"root": root, "parent": {"uri": parent.uri, "cid": parent.cid}}
        if quote:
            target = self.records[quote]
            value["embed"] = {
                "$type": "app.bsky.embed.record",
                "record": {"uri": target.uri, "cid": target.cid},
            }
        if mention:
            account = self.accounts[mention]
            value["text"] = f"@{account.handle} {text}"
            end = len(account.handle.encode()) + 1
            value["facets"] = [
                {
                    "index": {"byteStart": 0, "byteEnd": end},
                    "features": [{"$type": "app.bsky.richtext.facet#mention", "did": mention}],
                }
            ]
        rec = self._store(
            did,
            wire.POST,
            wire.tid(int(self.now() * 1_000_000) + self.rng.randrange(1000), self.rng.getrandbits(10)),
            value,
            self.now(),
        )
        self.record("audience_post", uri=rec.uri, reply_to=reply_to, quote=quote, mention=mention)
        return rec

    def posts_with(self, marker: str) -> int:
        with self.lock:
            return sum(
                1
                for r in self.records.values()
                if not r.deleted
                and r.collection == wire.POST
                and r.repo == DEMO_DID
                and marker in str(r.value.get("text", ""))
            )

    # -- views --------------------------------------------------------------------------------------
    def profile_basic(self, did: str) -> dict[str, Any]:
        account = self.accounts[did]
        return {
            "did": did,
            "handle": account.handle,
            "displayName": account.display_name,
            "avatar": f"https://cdn.bsky.app/img/avatar/plain/{did}/bafkreiavatar@jpeg",
        }

    def post_view(self, rec: Record) -> dict[str, Any]:
        return {
            "uri": rec.uri,
            "cid": rec.cid,
            "author": self.profile_basic(rec.repo),
            "record": rec.value,
            "indexedAt": wire.iso(_at(rec.indexed_at)),
            **self.counts(rec),
        }

    def dump(self) -> dict[str, Any]:
        with self.lock:
            return {
                "posts": [
                    {"uri": r.uri, "text": r.value.get("text"), "deleted": r.deleted, **self.counts(r)}
                    for r in self.records.values()
                    if r.collection == wire.POST
                ],
                "blobs": len(self.blobs),
                "notifications": len(self.notifications),
            }


def _at(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.UTC)


# -- the XRPC methods ---------------------------------------------------------------------------------
class Call:
    def __init__(self, state: BlueskyEmulatorState, request: Request, body: bytes) -> None:
        self.state, self.request, self.body = state, request, body
        self._json: Any = None
        self.headers: dict[str, str] = {}

    def json(self) -> dict[str, Any]:
        if self._json is None:
            try:
                self._json = json.loads(self.body or b"{}")
            except ValueError:
                raise XrpcError(400, "InvalidRequest", "Request body is not valid JSON") from None
        if not isinstance(self._json, dict):
            raise XrpcError(400, "InvalidRequest", "Request body must be an object")
        return self._json

    def param(self, name: str, required: bool = True) -> str:
        value = self.request.query_params.get(name)
        if value is None and required:
            raise XrpcError(400, "InvalidRequest", f'Params must have the property "{name}"')
        return value or ""

    def field(self, name: str) -> Any:
        body = self.json()
        if name not in body:
            raise XrpcError(400, "InvalidRequest", f'Input must have the property "{name}"')
        return body[name]

    def me(self) -> Account:
        return self.state.authed(self.request)

    def repo(self, account: Account) -> None:
        repo = str(self.field("repo"))
        if repo not in (account.did, account.handle):
            raise XrpcError(
                400, "InvalidRequest", "Invalid repo: the session's account can only write its own repo"
            )


def create_session(call: Call) -> Any:
    state = call.state
    ident = str(call.field("identifier")).lstrip("@").lower()
    password = str(call.field("password"))
    account = next((a for a in state.accounts.values() if ident in (a.did, a.handle)), None)
    if account is not None:
        now = state.now()
        while account.sessions and account.sessions[0] < now - 86400:
            account.sessions.popleft()
        recent = sum(1 for t in account.sessions if t > now - 300)
        if state.rate_limits and (
            recent >= wire.SESSIONS_PER_5_MIN or len(account.sessions) >= wire.SESSIONS_PER_DAY
        ):
            raise XrpcError(
                429,
                "RateLimitExceeded",
                "Rate Limit Exceeded",
                {
                    "ratelimit-limit": str(wire.SESSIONS_PER_5_MIN),
                    "ratelimit-remaining": "0",
                    "ratelimit-reset": str(int(now + 300)),
                    "ratelimit-policy": f"{wire.SESSIONS_PER_5_MIN};w=300",
                },
            )
        account.sessions.append(now)
    if (
        account is None
        or account.locked
        or not account.password
        or not hmac.compare_digest(account.password, password)
    ):
        raise XrpcError(401, "AuthenticationRequired", "Invalid identifier or password")
    state.record("session_created", did=account.did)
    return state.new_session(account)


def refresh_session(call: Call) -> Any:
    state = call.state
    account = state.authed(call.request, refresh=True)
    claims = state.decode(call.request.headers["authorization"][7:].strip())
    info = state.refresh_tokens[str(claims["jti"])]
    if info["revoked_at"] is None:
        info["revoked_at"] = state.now()
    state.record("session_refreshed", did=account.did)
    return state.new_session(account)


def get_session(call: Call) -> Any:
    account = call.me()
    return {"handle": account.handle, "did": account.did, "active": True}


def resolve_handle(call: Call) -> Any:
    handle = call.param("handle").lower()
    account = next((a for a in call.state.accounts.values() if a.handle == handle), None)
    if account is None:
        raise XrpcError(400, "InvalidRequest", "Unable to resolve handle")
    return {"did": account.did}


def upload_blob(call: Call) -> Any:
    account = call.me()
    mime = call.request.headers.get("content-type", "").split(";")[0].strip() or "application/octet-stream"
    if len(call.body) > BLOB_MAX_BYTES:
        raise XrpcError(400, "BlobTooLarge", "This file is too large")
    cid = blob_cid(call.body)
    call.state.blobs[cid] = {"mimeType": mime, "size": len(call.body), "repo": account.did}
    call.state.record("blob_uploaded", cid=cid, size=len(call.body), mimeType=mime)
    return {"blob": {"$type": "blob", "ref": {"$link": cid}, "mimeType": mime, "size": len(call.body)}}


def _write(
    call: Call, account: Account, op: str, collection: str, rkey: str | None, value: Any, swap: Any = ...
) -> dict[str, Any]:
    state = call.state
    if op in ("create", "update"):
        if isinstance(value, dict) and "$type" not in value:
            value = {"$type": collection, **value}
        state.validate(account.did, collection, value)
    if rkey is None:
        rkey = wire.tid()
    elif collection == wire.POST and not wire.is_tid(rkey):
        raise XrpcError(400, "InvalidRequest", f"Invalid record key for {collection}: {rkey} is not a TID")
    uri = wire.at_uri(account.did, collection, rkey)
    current = state.records.get(uri)
    live = current is not None and not current.deleted
    if op == "create":
        if live:
            # The reference PDS (npm @atproto/pds 0.5) answers a create on a taken key with a bare
            # 500, not a named error: a blind create retry cannot tell "mine" from "failed".
            raise XrpcError(500, "InternalServerError", "Internal Server Error")
    elif op == "update":
        if swap is not ... and (current.cid if live and current else None) != swap:
            raise XrpcError(400, "InvalidSwap", f"Record was at {current.cid if live and current else None}")
        if live and current is not None and current.cid == cid_of(value):
            return {"uri": uri, "cid": current.cid, "noop": True}
    else:  # delete
        if not live or current is None:
            return {"uri": uri, "noop": True}
        call.headers.update(state.spend(account, 1))
        current.deleted = True
        state.revs += 1
        state.record("record_deleted", uri=uri)
        return {"uri": uri}
    call.headers.update(state.spend(account, wire.CREATE_POINTS if not live else 2))
    rec = state._store(account.did, collection, rkey, value, state.now())
    state.record(
        "record_written",
        op="update" if live else "create",
        uri=uri,
        cid=rec.cid,
        text=str(value.get("text", ""))[:80],
    )
    return {"uri": uri, "cid": rec.cid}


def _commit(state: BlueskyEmulatorState, did: str) -> dict[str, str]:
    return {
        "cid": state.commits.get(did, cid_of({"repo": did})),
        "rev": wire.tid(int(state.now() * 1e6), state.revs & 0x3FF),
    }


def create_record(call: Call) -> Any:
    account = call.me()
    call.repo(account)
    out = _write(
        call, account, "create", str(call.field("collection")), call.json().get("rkey"), call.field("record")
    )
    return {
        "uri": out["uri"],
        "cid": out["cid"],
        "commit": _commit(call.state, account.did),
        "validationStatus": "valid",
    }


def put_record(call: Call) -> Any:
    account = call.me()
    call.repo(account)
    body = call.json()
    swap = body.get("swapRecord", ...)
    out = _write(
        call,
        account,
        "update",
        str(call.field("collection")),
        str(call.field("rkey")),
        call.field("record"),
        swap,
    )
    if out.get("noop"):  # an unchanged record makes no commit (as the reference PDS answers)
        return {"uri": out["uri"], "cid": out["cid"], "validationStatus": "valid"}
    return {
        "uri": out["uri"],
        "cid": out["cid"],
        "commit": _commit(call.state, account.did),
        "validationStatus": "valid",
    }


def delete_record(call: Call) -> Any:
    account = call.me()
    call.repo(account)
    _write(call, account, "delete", str(call.field("collection")), str(call.field("rkey")), None)
    return {"commit": _commit(call.state, account.did)}


def apply_writes(call: Call) -> Any:
    account = call.me()
    call.repo(account)
    writes = call.field("writes")
    if not isinstance(writes, list) or len(writes) > 200:
        raise XrpcError(400, "InvalidRequest", "Input/writes must be an array of at most 200 writes")
    # Check every write first: applyWrites is all or nothing.
    results = []
    for write in writes:
        kind = str(write.get("$type", "")).rpartition("#")[2]
        collection, rkey = str(write.get("collection", "")), write.get("rkey")
        if kind == "create":
            uri = wire.at_uri(account.did, collection, str(rkey)) if rkey else ""
            if uri and uri in call.state.records and not call.state.records[uri].deleted:
                raise XrpcError(500, "InternalServerError", "Internal Server Error")
            call.state.validate(account.did, collection, write.get("value"))
        elif kind == "update":
            call.state.validate(account.did, collection, write.get("value"))
        elif kind != "delete":
            raise XrpcError(400, "InvalidRequest", f"Unknown write type {write.get('$type')!r}")
    for write in writes:
        kind = str(write.get("$type", "")).rpartition("#")[2]
        out = _write(call, account, kind, str(write.get("collection")), write.get("rkey"), write.get("value"))
        result: dict[str, Any] = {"$type": f"com.atproto.repo.applyWrites#{kind}Result"}
        if kind != "delete":
            result.update(uri=out["uri"], cid=out["cid"], validationStatus="valid")
        results.append(result)
    return {"commit": _commit(call.state, account.did), "results": results}


def _record(state: BlueskyEmulatorState, repo: str, collection: str, rkey: str) -> Record:
    did = next((a.did for a in state.accounts.values() if repo in (a.did, a.handle)), repo)
    rec = state.records.get(wire.at_uri(did, collection, rkey))
    if rec is None or rec.deleted:
        raise XrpcError(
            400, "RecordNotFound", f"Could not locate record: {wire.at_uri(did, collection, rkey)}"
        )
    return rec


def get_record(call: Call) -> Any:
    rec = _record(call.state, call.param("repo"), call.param("collection"), call.param("rkey"))
    return {"uri": rec.uri, "cid": rec.cid, "value": rec.value}


def list_records(call: Call) -> Any:
    repo, collection = call.param("repo"), call.param("collection")
    did = next((a.did for a in call.state.accounts.values() if repo in (a.did, a.handle)), repo)
    limit = max(1, min(100, int(call.param("limit", False) or 50)))
    cursor = call.param("cursor", False)
    rows = sorted(
        (
            r
            for r in call.state.records.values()
            if r.repo == did and r.collection == collection and not r.deleted
        ),
        key=lambda r: r.rkey,
        reverse=call.param("reverse", False) != "true",
    )
    if cursor:
        rows = [
            r
            for r in rows
            if (r.rkey < cursor if call.param("reverse", False) != "true" else r.rkey > cursor)
        ]
    page = rows[:limit]
    out: dict[str, Any] = {"records": [{"uri": r.uri, "cid": r.cid, "value": r.value} for r in page]}
    if len(rows) > limit:
        out["cursor"] = page[-1].rkey
    return out


def get_posts(call: Call) -> Any:
    call.me()
    uris = call.request.query_params.getlist("uris")
    if len(uris) > 25:
        raise XrpcError(400, "InvalidRequest", "Params/uris must not have more than 25 elements")
    state = call.state
    return {
        "posts": [
            state.post_view(state.records[u])
            for u in uris
            if u in state.records and not state.records[u].deleted
        ]
    }


def get_post_thread(call: Call) -> Any:
    call.me()
    state = call.state
    uri = call.param("uri")
    depth = max(0, min(1000, int(call.param("depth", False) or 6)))
    rec = state.records.get(uri)
    if rec is None or rec.deleted:
        raise XrpcError(400, "NotFound", f"Post not found: {uri}")
    state.counts(rec)  # the audience catches up with the clock

    def node(r: Record, level: int) -> dict[str, Any]:
        out: dict[str, Any] = {"$type": "app.bsky.feed.defs#threadViewPost", "post": state.post_view(r)}
        if level < depth:
            children = sorted(
                (
                    c
                    for c in state.records.values()
                    if not c.deleted
                    and ((c.value.get("reply") or {}).get("parent") or {}).get("uri") == r.uri
                ),
                key=lambda c: c.indexed_at,
            )
            out["replies"] = [node(c, level + 1) for c in children]
        return out

    return {"thread": node(rec, 0)}


def list_notifications(call: Call) -> Any:
    account = call.me()
    state = call.state
    for rec in [
        r
        for r in state.records.values()
        if r.repo == account.did and not r.deleted and r.collection == wire.POST
    ]:
        state.counts(rec)
    limit = max(1, min(100, int(call.param("limit", False) or 50)))
    cursor = call.param("cursor", False)
    mine = sorted(
        (
            n
            for n in state.notifications
            if n.recipient == account.did and state.records.get(n.uri) and not state.records[n.uri].deleted
        ),
        key=lambda n: (n.indexed_at, n.uri),
        reverse=True,
    )
    if cursor:
        mine = [n for n in mine if f"{n.indexed_at:.6f}|{n.uri}" < cursor]
    page = mine[:limit]
    out: dict[str, Any] = {
        "notifications": [
            {
                "uri": n.uri,
                "cid": n.cid,
                "author": state.profile_basic(n.author),
                "reason": n.reason,
                **({"reasonSubject": n.reason_subject} if n.reason_subject else {}),
                "record": n.record,
                "isRead": False,
                "indexedAt": wire.iso(_at(n.indexed_at)),
            }
            for n in page
        ]
    }
    if len(mine) > limit:
        out["cursor"] = f"{page[-1].indexed_at:.6f}|{page[-1].uri}"
    return out


def get_profile(call: Call) -> Any:
    call.me()
    return _profile(call.state, call.param("actor"))


def get_profiles(call: Call) -> Any:
    call.me()
    actors = call.request.query_params.getlist("actors")
    if len(actors) > 25:
        raise XrpcError(400, "InvalidRequest", "Params/actors must not have more than 25 elements")
    out = []
    for actor in actors:
        try:
            out.append(_profile(call.state, actor))
        except XrpcError:
            continue
    return {"profiles": out}


def _profile(state: BlueskyEmulatorState, actor: str) -> dict[str, Any]:
    account = next(
        (a for a in state.accounts.values() if actor.lstrip("@").lower() in (a.did, a.handle)), None
    )
    if account is None:
        raise XrpcError(400, "InvalidRequest", "Profile not found")
    posts = sum(
        1
        for r in state.records.values()
        if r.repo == account.did and r.collection == wire.POST and not r.deleted
    )
    return {
        **state.profile_basic(account.did),
        "followersCount": account.followers,
        "followsCount": 12,
        "postsCount": posts,
    }


#: nsid -> (handler, HTTP method)
METHODS: dict[str, tuple[Any, str]] = {
    "com.atproto.server.createSession": (create_session, "POST"),
    "com.atproto.server.refreshSession": (refresh_session, "POST"),
    "com.atproto.server.getSession": (get_session, "GET"),
    "com.atproto.identity.resolveHandle": (resolve_handle, "GET"),
    "com.atproto.repo.uploadBlob": (upload_blob, "POST"),
    "com.atproto.repo.createRecord": (create_record, "POST"),
    "com.atproto.repo.putRecord": (put_record, "POST"),
    "com.atproto.repo.deleteRecord": (delete_record, "POST"),
    "com.atproto.repo.applyWrites": (apply_writes, "POST"),
    "com.atproto.repo.getRecord": (get_record, "GET"),
    "com.atproto.repo.listRecords": (list_records, "GET"),
    "app.bsky.feed.getPosts": (get_posts, "GET"),
    "app.bsky.feed.getPostThread": (get_post_thread, "GET"),
    "app.bsky.notification.listNotifications": (list_notifications, "GET"),
    "app.bsky.actor.getProfile": (get_profile, "GET"),
    "app.bsky.actor.getProfiles": (get_profiles, "GET"),
}


def _error(exc: XrpcError) -> JSONResponse:
    return JSONResponse(wire.error_body(exc.name, exc.message), status_code=exc.status, headers=exc.headers)


def _method_of(scope: Scope, _body: bytes) -> str | None:
    path = str(scope.get("path", ""))
    return path[len("/xrpc/") :] if path.startswith("/xrpc/") else None


def create_app(seed: int = 0, rate_limits: bool = True, **options: Any) -> Any:  # noqa: C901 - the emulator's route table
    """The Bluesky emulator as an ASGI app; ``app.emulator`` is its :class:`BlueskyEmulatorState`."""
    state = BlueskyEmulatorState(seed=seed, rate_limits=rate_limits)
    if options.get("base_url"):
        state.base_url = str(options["base_url"]).rstrip("/")
    injector = FaultInjector(seed=seed)

    async def xrpc(request: Request) -> Response:
        if not state.base_url:
            state.base_url = str(request.base_url).rstrip("/")
        nsid = str(request.path_params["nsid"])
        spec = METHODS.get(nsid)
        if spec is None:
            return _error(XrpcError(501, "MethodNotImplemented", f"Method Not Implemented: {nsid}"))
        handler, verb = spec
        if request.method != verb:
            return _error(
                XrpcError(400, "InvalidRequest", f"Incorrect HTTP method ({request.method}) expected {verb}")
            )
        body = await request.body()
        call = Call(state, request, body)
        try:
            with state.lock:
                payload = handler(call)
        except XrpcError as exc:
            return _error(exc)
        return JSONResponse(payload, headers=call.headers)

    async def audience(request: Request) -> Response:
        spec = json.loads(await request.body() or b"{}")
        kind = str(request.path_params["kind"])
        with state.lock:
            did = str(spec.get("did") or AUDIENCE[len(state.records) % len(AUDIENCE)][0])
            try:
                if kind == "comment":
                    rec = state.audience_post(did, str(spec["text"]), reply_to=str(spec["uri"]))
                elif kind == "quote":
                    rec = state.audience_post(did, str(spec["text"]), quote=str(spec["uri"]))
                elif kind == "mention":
                    rec = state.audience_post(did, str(spec["text"]), mention=DEMO_DID)
                else:
                    return JSONResponse({"error": "unknown kind"}, status_code=404)
            except KeyError:
                return JSONResponse({"error": "unknown post"}, status_code=404)
        return JSONResponse({"uri": rec.uri, "cid": rec.cid})

    async def posts_with(request: Request) -> Response:
        return JSONResponse({"count": state.posts_with(request.query_params.get("marker", ""))})

    async def expire(request: Request) -> Response:
        """Move every session of the demo account past its access token's life (tests)."""
        spec = json.loads(await request.body() or b"{}")
        state.clock.advance(float(spec.get("advance_s", ACCESS_TTL_S + 1)))
        return JSONResponse({"ok": True})

    def ledger() -> Any:
        with state.lock:
            return list(state.ledger)

    async def post_page(request: Request) -> Response:
        actor, rkey = str(request.path_params["actor"]), str(request.path_params["rkey"])
        with state.lock:
            account = next((a for a in state.accounts.values() if actor in (a.did, a.handle)), None)
            rec = state.records.get(wire.at_uri(account.did, wire.POST, rkey)) if account else None
            if rec is None or rec.deleted:
                return PlainTextResponse("Not found", status_code=404)
            text = str(rec.value.get("text", ""))
        return HTMLResponse(
            f"<!doctype html><meta charset='utf-8'><title>Bluesky post {html.escape(rkey)}</title>"
            f"<h1>Bluesky (emulator): @{html.escape(actor)}</h1><article>{html.escape(text)}</article>"
        )

    routes = [
        Route("/xrpc/{nsid}", xrpc, methods=["GET", "POST"]),
        Route("/profile/{actor}/post/{rkey}", post_page, methods=["GET"]),
        Route("/_emulator/audience/{kind}", audience, methods=["POST"]),
        Route("/_emulator/posts_with", posts_with, methods=["GET"]),
        Route("/_emulator/expire_sessions", expire, methods=["POST"]),
        *control_routes(injector, state.clock, state.dump, ledger, state.reset),
    ]
    inner = Starlette(routes=routes)

    def rate_limited(_method: str) -> Response:
        return JSONResponse(
            wire.error_body("RateLimitExceeded", "Rate Limit Exceeded"),
            status_code=429,
            headers={
                "ratelimit-limit": "3000",
                "ratelimit-remaining": "0",
                "ratelimit-reset": str(int(state.now()) + 30),
                "ratelimit-policy": "3000;w=300",
            },
        )

    def server_error(_method: str) -> Response:
        return JSONResponse(wire.error_body("InternalServerError", "Internal Server Error"), status_code=500)

    app = FaultMiddleware(inner, injector, _method_of, rate_limited, server_error)
    app.state = SimpleNamespace(emulator=state, injector=injector)  # type: ignore[attr-defined]  # tests and the demo reach the emulator here
    app.emulator = state  # type: ignore[attr-defined]  # tests and the demo reach the emulator here
    app.injector = injector
    return app
