"""A local VK API server that behaves like the real one (docs/networks.md §1).

Routes:

* ``GET|POST /method/<name>`` — the API. ``v`` is mandatory (error 8); the token comes from
  ``access_token`` or ``Authorization: Bearer``; token types are enforced per method from the
  vendored schema (error 27 for a community token on a user-only method, 5 for an unknown
  token); required parameters, integer/boolean types, minimum/maximum/maxLength/enum are
  enforced from the schema (error 100, "One of the parameters specified was missing or
  invalid: <name> is undefined"); per-token buckets of 3/s (user) and 20/s (community)
  answer error 6. Errors come in a 200 body, as VK does.
* ``POST /upload/wall`` — the upload URL ``photos.getWallUploadServer`` hands out (multipart,
  field ``photo``), answering ``{"server", "photo", "hash"}``.
* ``POST /upload/video`` — the ``upload_url`` of ``video.save`` (multipart, field
  ``video_file``), answering ``{"size", "video_id", "owner_id", "video_hash"}``; a file that is
  not a video container answers ``{"error": ...}``. The video can then be attached as
  ``video{owner_id}_{video_id}`` (an unknown video in ``attachments`` is error 100).
* ``GET /lp/<group_id>?act=a_check&key=&ts=&wait=`` — Bots Long Poll, with ``failed`` 1/2/3.
* ``groups.isMember`` (``user_id``: 0/1, or ``{"member"}`` with ``extended``; ``user_ids``, at
  most 500: ``[{"member", "user_id"}]``) and ``likes.getList`` (``type=post`` only; ``filter``
  likes or copies; user or service token, error 27 for a community's): who likes or reposted a
  post is the modelled audience in a seeded order plus the named people, so ``count`` always
  equals the post's ``likes.count`` / ``reposts.count``.
* ``newsfeed.search`` (user or service token — ``SERVICE_TOKEN`` is an application's; a
  community token is error 27 like every user-only method): ``q`` (every word must appear, case-insensitive, at the start of a word; ``#tag``
  matches the hashtag), ``start_time`` (default 24 hours ago), ``end_time`` (default now),
  ``count`` (default 30, 0 to 200, error 100 above), ``start_from``/``next_from`` paging (an
  opaque string; absent on the last page), ``extended`` (``profiles``/``groups``); the answer is
  ``{"items", "count", "total_count", "next_from"?}``, newest first, at most 1000 results per
  query (``count`` is what can be paged, ``total_count`` everything found). Per-token daily
  quota ``search_daily`` (default 1000 [M: the figure widely quoted from dev.vk.com's limits
  page]) answers error 29 "Rate limit reached".
* A group chat (``peer_id`` 2000000001, "Coffee lovers") the demo community's bot is in, without
  access to every message: like VK, it receives ``message_new`` only for messages that mention
  the community (``@rupor_demo`` is written into the text as ``[club1|@rupor_demo]``), reply to
  its messages or start with ``/``; ``chat_all`` gives it every message. Messages of a chat carry
  ``id`` 0 and their ``conversation_message_id``; ``messages.send`` answers in the chat with
  ``forward={"peer_id", "conversation_message_ids", "is_reply": true}``.
* ``/_emulator/*`` — faults, clock, state, ledger, reset (shared), plus VK extras:
  ``POST /_emulator/vk/errors`` ``{"method", "code", "count"}`` queues a VK error (e.g. 14
  captcha) for the next calls of a method; ``POST /_emulator/vk/audience_comment``
  ``{"post": "-1_5", "text", "user_id"?, "reply_to"?}`` (``reply_to``: a comment id on that
  post, as a reply in its thread); ``POST /_emulator/vk/audience_change`` ``{"comment": "-1_7",
  "action": "edit"|"delete"|"restore", "text"}`` (the author's own edit, delete or restore);
  ``POST /_emulator/vk/audience_message`` ``{"text"}``;
  ``POST /_emulator/vk/audience_reaction`` ``{"post": "-1_5", "user_id", "type": "like"|"copy",
  "undo"?}`` (a named person likes or reposts a post: ``likes.getList`` lists them after the
  modelled audience, and the post's counters count them); ``POST /_emulator/vk/audience_membership``
  ``{"group_id", "user_id", "action": "join"|"leave"}`` (with ``group_join``/``group_leave`` events);
  ``GET /_emulator/vk/posts_with?marker=``; ``POST /_emulator/vk/longpoll``
  ``{"expire_key": true}`` or ``{"lose_history": true}``; ``POST /_emulator/vk/public_post``
  ``{"owner_id", "text", "from_id"?, "ago_s"?}`` (a public post anyone can find by search, on a
  user's wall or a community's); ``POST /_emulator/vk/chat_message`` ``{"text", "user_id"?,
  "reply_to"?: conversation_message_id}`` (a member writes in the group chat);
  ``POST /_emulator/vk/message_read`` ``{"user_id", "message_id"?}`` (a person reads the demo
  community's messages up to one, or all; besides, READ_SHARE of them are read by themselves
  5 minutes to 6 hours after sending: ``messages.getConversationsById``'s ``out_read``);
  ``POST /_emulator/vk/message_allow`` ``{"user_id", "allow": true|false, "key"?}`` (a person
  presses *Allow messages* / *Deny messages* for the demo community, or a widget calls
  ``messages.allowMessagesFromGroup`` with ``key``: Callback API ``message_allow`` {user_id,
  key} / ``message_deny`` {user_id}).
* Permission to write (dev.vk.com ``messages.send``, error 901): the community may write to a
  person who allowed its messages or who wrote to it, never after they denied them (until they
  allow again or write again); ``messages.isMessagesFromGroupAllowed`` answers the same.

Modelled behaviour that VK does not document, marked as assumed:

* a repeated ``wall.post`` with the same (user, owner_id, guid) returns the original
  ``post_id`` and creates nothing (the same for ``wall.createComment`` per post);
* a repeated ``messages.send`` with the same (sender, random_id != 0) returns the original
  message id and sends nothing;
* callback deliveries that do not get ``200 ok`` are retried ``callback_retries`` times
  (default 5) with doubling delays starting at ``callback_retry_delay`` seconds (0.2).

``users.get`` answers every positive id (names as in ``extended`` answers); ``photo_*`` and
``followers_count`` only when asked in ``fields``, followers deterministic from the seed and the
id (spread from 0 to about 100 000, like real audiences: most have few, a few have many); user
``DEACTIVATED_USER_ID`` is a deleted page, ids above ``MAX_USER_ID`` are no page at all (left
out; error 113 when none is one) (``deactivated``, no photo or followers, as VK does).

Engagement is deterministic from the seed and the emulator clock: views, likes and reposts
grow towards a per-post potential; the simulated audience comments on posts older than 30
minutes (of emulator time) and joins/leaves the demo community every emulated hour.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import heapq
import html
import json
import random
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Scope

from rupor.networks import engagement
from rupor.networks.base import looks_like_video
from rupor.networks.emulation import EmulatorClock, FaultInjector, FaultMiddleware, control_routes
from rupor.networks.vk import wire

DEMO_GROUP_ID = 1
COMPETITOR_GROUP_ID = 2
#: More public pages of other brands, for competitor watching: an open one with photos, videos
#: and links, a closed and a private one (their walls are for members), a deleted and a blocked one.
RIVAL_GROUP_ID = 3
CLOSED_GROUP_ID = 4
PRIVATE_GROUP_ID = 5
DELETED_GROUP_ID = 6
BANNED_GROUP_ID = 7
ADMIN_USER_ID = 100
OUTSIDER_USER_ID = 101
#: No VK page has an id above this (ids are allocated in order): users.get leaves them out, and
#: answers error 113 when none of the asked ids is a page.
MAX_USER_ID = 1_100_000_000
#: A deleted VK page: users.get answers it with ``deactivated`` and none of the asked fields.
DEACTIVATED_USER_ID = 10099
ADMIN_TOKEN = "vk1.a.demo-admin-user-token"
GROUP_TOKEN = "vk1.a.demo-community-token"
OUTSIDER_TOKEN = "vk1.a.demo-outsider-user-token"
#: An application's service token (no user, no community): search and public reads only.
SERVICE_TOKEN = "vk1.a.demo-app-service-token"
DEMO_APP_ID = 51000001
CONFIRMATION_CODE = "a1b2c3d4"
RATES = {"user": 3, "group": 20, "service": 5}
#: The emulated audience's reading of a community's messages: the share read, and the delay
#: after sending (seconds, from the first to the last reader).
READ_SHARE = 0.6
READ_DELAY_S = (300, 6 * 3600)
#: People who join and leave each community per day on average (networks/engagement.py).
MEMBER_FLOW = {DEMO_GROUP_ID: (5.0, 3.0), COMPETITOR_GROUP_ID: (12.0, 6.0), RIVAL_GROUP_ID: (20.0, 9.0)}
#: Walls whose posts the simulated audience comments on: the demo community and the competitors.
_COMMENTED = frozenset({-DEMO_GROUP_ID, -COMPETITOR_GROUP_ID, -RIVAL_GROUP_ID})
#: The simulated audience writes at most this many comments under one post.
MAX_AUDIENCE_COMMENTS = 12
#: The group chat the demo community's bot is a member of (VK numbers chats from 2000000000).
CHAT_PEER_ID = 2000000001
#: newsfeed.search answers at most this many results per query, however many it found.
SEARCH_MAX_RESULTS = 1000
WALL_ALBUM_ID = -14
#: The first user id of each community's simulated audience (whose likes and reposts are modelled).
_AUDIENCE_BASE = {DEMO_GROUP_ID: 10000, COMPETITOR_GROUP_ID: 30000}

_FIRST = (
    "Anna",
    "Ivan",
    "Olga",
    "Dmitry",
    "Maria",
    "Sergey",
    "Elena",
    "Pavel",
    "Daria",
    "Nikita",
    "Yulia",
    "Artyom",
)
_LAST = (
    "Smirnova",
    "Ivanov",
    "Kuznetsova",
    "Popov",
    "Sokolova",
    "Lebedev",
    "Kozlova",
    "Novikov",
    "Morozova",
    "Volkov",
)
_AUDIENCE_LINES = (
    "Great post, thank you!",
    "When is the next one?",
    "Interesting 🤔",
    "Agree with every word",
    "Can you tell more about this?",
    "👍👍👍",
    "Shared it with friends",
    "Where can I buy it?",
)
_COMPETITOR_LINES = (
    "New seasonal menu is here ☕",
    "Weekend discount: 20% on all drinks",
    "Meet our new barista Olga",
    "How we roast our beans — a short story",
    "Vote: which syrup should we add next?",
    "We are open late this Friday",
)
_RIVAL_LINES = (
    "Cold brew season opens today",
    "A photo tour of our roastery",
    "Latte art in 30 seconds",
    "Where our beans come from",
    "Two for one on Mondays",
    "Meet the team behind the counter",
    "New oat milk flat white",
    "How to brew at home: a guide",
    "Our first cafe turns five",
    "Autumn pumpkin latte is back",
)
#: Other brands' pages that keep posting as the clock moves: every how many days, and their lines.
PAGE_POSTING = {COMPETITOR_GROUP_ID: (2, _COMPETITOR_LINES), RIVAL_GROUP_ID: (1, _RIVAL_LINES)}
#: UTC hours those posts go out at (morning to evening in Moscow).
_PAGE_HOURS = (5, 6, 9, 12, 15, 16, 17, 18)
_PUBLIC_LINES = (
    (10020, "Tried the new Rupor Demo latte today, lovely foam"),
    (10021, "Does anyone know if Rupor Demo delivers on Sundays?"),
    (10022, "Competitor Coffee or Rupor Demo — which one is better?"),
    (10023, "Morning run, then coffee. Perfect day"),
)

_EVENT_TYPES = (
    "message_new",
    "message_reply",
    "message_allow",
    "message_deny",
    "wall_reply_new",
    "wall_reply_edit",
    "wall_reply_delete",
    "wall_reply_restore",
    "wall_post_new",
    "wall_repost",
    "group_join",
    "group_leave",
    "like_add",
    "like_remove",
    "poll_vote_new",
    "user_block",
    "user_unblock",
)


def _format(attachments: list[dict[str, Any]]) -> str:
    """A post's format for the engagement model: video, photo, poll or link when attached."""
    kinds = {a.get("type") for a in attachments}
    return next((k for k in ("video", "photo", "poll", "link") if k in kinds), "text")


class VkError(Exception):
    def __init__(self, code: int, msg: str | None = None, **extra: Any) -> None:
        super().__init__(msg or wire.error_description(code))
        self.code = code
        self.msg = msg or wire.error_description(code)
        self.extra = extra


def _param_error(detail: str) -> VkError:
    return VkError(wire.Code.PARAM, f"One of the parameters specified was missing or invalid: {detail}")


@dataclass
class Token:
    kind: str  # user | group | service
    owner: int  # user id, or group id for community tokens
    valid: bool = True


@dataclass
class Group:
    id: int
    name: str
    screen_name: str
    type: str = "group"
    is_closed: int = 0  # 0 open, 1 closed, 2 private (groups_group_is_closed)
    deactivated: str = ""  # "deleted" or "banned": VK shows only its id, name and this
    wall: int = 2  # 0 off, 1 open, 2 limited, 3 closed
    admins: dict[int, int] = field(
        default_factory=dict
    )  # user id -> admin_level (1 moder, 2 editor, 3 admin)
    members: dict[int, int] = field(default_factory=dict)  # user id -> joined unix time
    banned: dict[int, dict[str, Any]] = field(default_factory=dict)
    joins: list[tuple[int, int]] = field(default_factory=list)  # (time, user id)
    leaves: list[tuple[int, int]] = field(default_factory=list)
    confirmation_code: str = CONFIRMATION_CODE
    callback_servers: dict[int, dict[str, Any]] = field(default_factory=dict)
    longpoll: dict[str, Any] = field(default_factory=dict)
    events: deque[tuple[int, dict[str, Any]]] = field(default_factory=lambda: deque(maxlen=1000))
    event_ts: int = 1
    lp_key: str = ""


@dataclass
class Post:
    id: int
    owner_id: int
    from_id: int
    created_by: int
    date: int
    text: str
    attachments: list[dict[str, Any]]
    post_type: str = "post"  # post | postpone
    guid: str | None = None
    deleted: bool = False
    close_comments: bool = False
    is_pinned: bool = False
    edited: int | None = None
    audience_comments: int = 0
    #: How many followed the wall when the post was made (the audience its counters grow from).
    audience: int = 100
    #: Likes and reposts by named people (POST /_emulator/vk/audience_reaction), on top of the
    #: modelled ones: user id -> unix time.
    liked_by: dict[int, int] = field(default_factory=dict)
    reposted_by: dict[int, int] = field(default_factory=dict)


@dataclass
class WallComment:
    id: int
    owner_id: int
    post_id: int
    from_id: int
    date: int
    text: str
    reply_to_comment: int | None
    reply_to_user: int | None
    parents_stack: list[int]
    deleted: bool = False


@dataclass
class Msg:
    id: int
    group_id: int
    peer_id: int
    from_id: int
    date: int
    text: str
    out: int
    random_id: int = 0
    cmid: int = 0  # conversation_message_id: the message's number within its conversation
    reply_message: dict[str, Any] | None = None


class Ctx:
    """One API call: its parameters and the token that made it."""

    def __init__(self, method: str, params: dict[str, str], token: Token, base_url: str) -> None:
        self.method = method
        self.params = params
        self.token = token
        self.base_url = base_url

    def has(self, name: str) -> bool:
        return self.params.get(name, "") != ""

    def text(self, name: str, default: str = "") -> str:
        return self.params.get(name, default)

    def num(self, name: str, default: int | None = None) -> int | None:
        raw = self.params.get(name, "")
        if raw == "":
            return default
        try:
            return int(raw)
        except ValueError as exc:
            raise _param_error(f"{name} not integer") from exc

    def req_int(self, name: str) -> int:
        value = self.num(name)
        if value is None:
            raise _param_error(f"{name} is undefined")
        return value

    def flag(self, name: str) -> bool:
        return self.params.get(name, "0").lower() in ("1", "true")

    def items(self, name: str) -> list[str]:
        raw = self.params.get(name, "")
        return [x.strip() for x in raw.split(",") if x.strip()]

    @property
    def user_id(self) -> int | None:
        return self.token.owner if self.token.kind == "user" else None


#: The emulated audience's cities and countries (VK ids, names as VK gives them in English).
_CITIES = ((1, "Moscow"), (2, "Saint Petersburg"), (99, "Novosibirsk"), (49, "Yekaterinburg"), (60, "Kazan"))
_COUNTRIES = ((1, "RU", "Russia"), (4, "KZ", "Kazakhstan"), (3, "BY", "Belarus"))
_AGES = ("12-18", "18-21", "21-24", "24-27", "27-30", "30-35", "35-45", "45-100")
_AGE_WEIGHTS = (4, 9, 14, 16, 15, 17, 15, 10)


def _person(uid: int) -> tuple[str, str, int, int]:
    """A member's sex, age band, city index and country index: fixed per user id (a hash)."""
    h = int.from_bytes(hashlib.sha256(f"person:{uid}".encode()).digest()[:8], "big")
    sex = "f" if h % 100 < 56 else "m"
    pick, age = (h >> 8) % sum(_AGE_WEIGHTS), _AGES[-1]
    for band, weight in zip(_AGES, _AGE_WEIGHTS, strict=True):
        if pick < weight:
            age = band
            break
        pick -= weight
    city = (0, 0, 0, 0, 1, 1, 2, 3, 4)[(h >> 16) % 9]
    country = 0 if (h >> 24) % 10 < 8 else 1 + (h >> 28) % 2
    return sex, age, city, country


def _shares(counts: dict[str, int], total: int) -> dict[str, int]:
    """``total`` split over the keys in proportion to ``counts`` (largest remainder: exact sum)."""
    whole = sum(counts.values())
    if whole <= 0 or total <= 0:
        return {}
    raw = {k: v * total / whole for k, v in counts.items()}
    out = {k: int(v) for k, v in raw.items()}
    for k in sorted(raw, key=lambda k: (-(raw[k] - out[k]), k))[: total - sum(out.values())]:
        out[k] += 1
    return {k: v for k, v in out.items() if v}


def _audience_sections(group: Group, until: int, total: int) -> dict[str, Any]:
    """``sex``, ``age``, ``sex_age``, ``cities`` and ``countries`` of a ``stats.get`` section:
    ``total`` people spread like the members who had joined by ``until`` (so the breakdown moves
    as members come and go), each list as VK gives it (value + count; cities and countries with
    their id and name)."""
    sex: collections.Counter[str] = collections.Counter()
    age: collections.Counter[str] = collections.Counter()
    sex_age: collections.Counter[str] = collections.Counter()
    city: collections.Counter[str] = collections.Counter()
    country: collections.Counter[str] = collections.Counter()
    for uid, joined in group.members.items():
        if joined >= until:
            continue
        s, a, c, n = _person(uid)
        sex[s] += 1
        age[a] += 1
        sex_age[f"{s};{a}"] += 1
        city[str(c)] += 1
        country[str(n)] += 1
    return {
        "sex": [{"value": k, "count": v} for k, v in sorted(_shares(sex, total).items())],
        "age": [{"value": k, "count": v} for k, v in sorted(_shares(age, total).items())],
        "sex_age": [{"value": k, "count": v} for k, v in sorted(_shares(sex_age, total).items())],
        "cities": [
            {"value": _CITIES[int(k)][0], "name": _CITIES[int(k)][1], "count": v}
            for k, v in sorted(_shares(city, total).items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "countries": [
            {
                "value": _COUNTRIES[int(k)][0],
                "code": _COUNTRIES[int(k)][1],
                "name": _COUNTRIES[int(k)][2],
                "count": v,
            }
            for k, v in sorted(_shares(country, total).items(), key=lambda kv: (-kv[1], kv[0]))
        ],
    }


class VkEmulator:
    """All state of one emulated VK, guarded by one lock."""

    def __init__(
        self, seed: int = 0, rate_limits: bool = True, clock: EmulatorClock | None = None, **options: Any
    ) -> None:
        self.seed = seed
        self.rate_limits = rate_limits
        self.clock = clock or EmulatorClock()
        self.options = options
        self.lock = threading.RLock()
        self.retries = int(options.get("callback_retries", 5))
        self.retry_delay = float(options.get("callback_retry_delay", 0.2))
        self.delivery_timeout = float(options.get("callback_timeout", 3.0))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self.reset()

    # -- world ---------------------------------------------------------------------------
    def reset(self) -> None:
        with self.lock:
            self.start = int(self.clock.timestamp())
            self.tokens: dict[str, Token] = {
                ADMIN_TOKEN: Token("user", ADMIN_USER_ID),
                OUTSIDER_TOKEN: Token("user", OUTSIDER_USER_ID),
                GROUP_TOKEN: Token("group", DEMO_GROUP_ID),
                SERVICE_TOKEN: Token("service", DEMO_APP_ID),
            }
            self.buckets: dict[str, deque[float]] = {}
            self.groups: dict[int, Group] = {}
            self.posts: dict[int, dict[int, Post]] = {}
            self.comments: dict[int, dict[int, WallComment]] = {}
            #: The same comments by post (owner id, post id), oldest first: a post's listing
            #: reads its own comments, not every comment of the wall.
            self.post_comments: dict[tuple[int, int], list[WallComment]] = {}
            self.next_post: dict[int, int] = {}
            self.next_comment: dict[int, int] = {}
            self.post_guids: dict[tuple[int, int, str], int] = {}
            self.comment_guids: dict[tuple[int, int, str], int] = {}
            self.uploads: dict[str, dict[str, Any]] = {}
            self.photos: dict[tuple[int, int], dict[str, Any]] = {}
            self.polls_counted_closed: set[tuple[int, int]] = set()
            self.polls: dict[tuple[int, int], dict[str, Any]] = {}
            self.videos: dict[tuple[int, int], dict[str, Any]] = {}
            self.video_uploads = 0
            self.next_media = 457239017
            self.messages: dict[int, list[Msg]] = {}
            self.search_calls: dict[tuple[str, int], int] = {}  # (token, day) -> newsfeed.search calls
            self.chat_all = bool(self.options.get("chat_all", False))
            self.random_ids: dict[tuple[int, int], int] = {}
            #: (group id, user id) -> True (allowed messages) / False (denied them); absent: whether
            #: they ever wrote to the community decides.
            self.allowed: dict[tuple[int, int], bool] = {}
            #: (group id, peer id) -> the last message of the community the person said they
            #: read (POST /_emulator/vk/message_read); the audience model reads others by itself.
            self.reads: dict[tuple[int, int], int] = {}
            self.ledger: list[dict[str, Any]] = []
            self.deliveries: list[dict[str, Any]] = []
            self.pending: list[dict[str, Any]] = []
            self.queued_errors: list[dict[str, Any]] = []
            #: How many times each method was answered (tests check that lookups are batched).
            self.calls: collections.Counter[str] = collections.Counter()
            #: The last whole hour (unix time // 3600) whose joins and leaves are applied.
            self.hours_done = self.start // 3600
            self.next_audience_user = 20000
            # What tick() has to look at, so that it does not walk every post on every call:
            # postponed posts, and demo-community posts by the time they can draw comments.
            self._postponed: set[tuple[int, int]] = set()
            # heap of (date, owner id, post id): posts that draw comments, < 30 min old
            self._young: list[tuple[int, int, int]] = []
            self._mature: set[tuple[int, int]] = set()  # (owner id, post id) 30 min old or more
            self._page_day: dict[int, int] = {}  # other brands' pages: the day of their next post
            self._page_posts: dict[int, int] = {}  # ... and how many they made as the clock moved
            self._seed_world()

    def _seed_world(self) -> None:
        rng = random.Random(f"vk:{self.seed}")
        demo = Group(DEMO_GROUP_ID, "Rupor Demo", "rupor_demo", admins={ADMIN_USER_ID: 3}, wall=2)
        for uid in range(10000, 10000 + 300 + rng.randint(0, 50)):
            demo.members[uid] = self.start - rng.randint(86400, 86400 * 300)
        demo.members[ADMIN_USER_ID] = self.start - 86400 * 400
        demo.longpoll = {"enabled": True, "api_version": wire.API_VERSION, "events": set(_EVENT_TYPES)}
        demo.lp_key = self._key("lp", DEMO_GROUP_ID, 0)
        rival = Group(
            COMPETITOR_GROUP_ID,
            "Competitor Coffee",
            "competitor_coffee",
            type="page",
            wall=2,
            admins={999: 3},
        )
        for uid in range(30000, 30000 + 1200 + rng.randint(0, 400)):
            rival.members[uid] = self.start - rng.randint(86400, 86400 * 700)
        rival.lp_key = self._key("lp", COMPETITOR_GROUP_ID, 0)
        self.groups = {g.id: g for g in (demo, rival)}
        self._seed_public_pages()
        for i, (uid, text) in enumerate(_PUBLIC_LINES):
            self._add_post(uid, uid, uid, self.start - (len(_PUBLIC_LINES) - i) * 3600, text, [])
        for i, text in enumerate(_COMPETITOR_LINES):
            self._add_post(
                -COMPETITOR_GROUP_ID,
                -COMPETITOR_GROUP_ID,
                999,
                self.start - (len(_COMPETITOR_LINES) - i) * 86400,
                text,
                [],
            )

    def _seed_public_pages(self) -> None:
        """Other brands' communities (competitor watching), with a random stream of their own."""
        rng = random.Random(f"vk-pages:{self.seed}")
        pages = (
            Group(RIVAL_GROUP_ID, "Bean Brothers", "bean_brothers", type="page", admins={998: 3}),
            Group(CLOSED_GROUP_ID, "Closed Coffee Club", "closed_coffee_club", is_closed=1),
            Group(PRIVATE_GROUP_ID, "Private Roasters", "private_roasters", is_closed=2),
            Group(DELETED_GROUP_ID, "DELETED", "gone_cafe", deactivated="deleted"),
            Group(BANNED_GROUP_ID, "Banned Brew", "banned_brew", deactivated="banned"),
        )
        for base, group in zip((3000, 300, 150, 0, 90), pages, strict=True):
            for uid in range(50000 + group.id * 10000, 50000 + group.id * 10000 + base + rng.randint(0, 200)):
                group.members[uid] = self.start - rng.randint(86400, 86400 * 500)
            self.groups[group.id] = group
        kinds: tuple[tuple[str, dict[str, Any]], ...] = (
            ("photo", {"id": 1, "owner_id": -RIVAL_GROUP_ID, "sizes": []}),
            ("video", {"id": 1, "owner_id": -RIVAL_GROUP_ID, "title": "Latte art"}),
            ("link", {"url": "https://example.com/beans", "title": "Our beans"}),
        )
        for i, text in enumerate(_RIVAL_LINES):
            kind, body = kinds[i % len(kinds)] if i % 4 else ("", {})
            attachments = [{"type": kind, kind: body}] if kind else []
            when = self.start - (len(_RIVAL_LINES) - i) * 86400 * 2 + rng.randint(0, 7200)
            self._add_post(-RIVAL_GROUP_ID, -RIVAL_GROUP_ID, 998, when, text, attachments)
        for gid in (CLOSED_GROUP_ID, PRIVATE_GROUP_ID):
            self._add_post(-gid, -gid, 1, self.start - 86400, "Members only news", [])

    def _key(self, *parts: object) -> str:
        return hashlib.sha256(":".join(map(str, (self.seed, *parts))).encode()).hexdigest()

    def now(self) -> int:
        return int(self.clock.timestamp())

    def profile(self, uid: int) -> dict[str, Any]:
        if uid == ADMIN_USER_ID:
            first, last = "Vera", "Editor"
        elif uid == OUTSIDER_USER_ID:
            first, last = "Oleg", "Outsider"
        else:
            first, last = (
                _FIRST[(uid * 7 + self.seed) % len(_FIRST)],
                _LAST[(uid * 3 + self.seed) % len(_LAST)],
            )
        return {
            "id": uid,
            "first_name": first,
            "last_name": last,
            "can_access_closed": True,
            "is_closed": False,
            "photo_50": f"https://vk.com/images/camera_50.png?u={uid}",
        }

    def followers(self, uid: int) -> int:
        """How many follow a user: heavy-tailed (most have tens, a few tens of thousands)."""
        if uid == ADMIN_USER_ID:
            return 340
        spread = int(self._key("followers", uid)[:4], 16) / 0xFFFF  # 0..1, uniform
        return int(10 ** (spread * 5)) - 1

    def user_json(self, uid: int, fields: list[str]) -> dict[str, Any]:
        """One ``users.get`` item with the asked ``fields`` this emulator models."""
        out = self.profile(uid)
        out.pop("photo_50")
        if uid == DEACTIVATED_USER_ID:
            return {**out, "first_name": "DELETED", "last_name": "", "deactivated": "deleted"}
        for size in (50, 100, 200):
            if f"photo_{size}" in fields:
                out[f"photo_{size}"] = f"https://vk.com/images/camera_{size}.png?u={uid}"
        if "followers_count" in fields:
            out["followers_count"] = self.followers(uid)
        if "screen_name" in fields:
            out["screen_name"] = f"id{uid}"
        return out

    def _add_post(
        self,
        owner_id: int,
        from_id: int,
        created_by: int,
        date: int,
        text: str,
        attachments: list[dict[str, Any]],
        *,
        post_type: str = "post",
        guid: str | None = None,
        close_comments: bool = False,
    ) -> Post:
        pid = self.next_post.get(owner_id, 1)
        self.next_post[owner_id] = pid + 1
        post = Post(
            pid,
            owner_id,
            from_id,
            created_by,
            date,
            text,
            attachments,
            post_type,
            guid,
            close_comments=close_comments,
            audience=len(group.members) if (group := self.groups.get(-owner_id)) else 100,
        )
        self.posts.setdefault(owner_id, {})[pid] = post
        if post_type == "postpone":
            self._postponed.add((owner_id, pid))
        else:
            self._went_live(post)
        return post

    def _went_live(self, post: Post) -> None:
        """A post became a published one (its date no longer changes): watch it for comments."""
        if post.owner_id in _COMMENTED and post.post_type == "post":
            heapq.heappush(self._young, (post.date, post.owner_id, post.id))

    # -- engagement ----------------------------------------------------------------------
    def _model(self, post: Post) -> engagement.PostCounts:
        """The post's counters now (networks/engagement.py: age, quality, hour, format)."""
        return engagement.post_counts(
            self.seed,
            f"vk:{post.owner_id}_{post.id}",
            published=post.date,
            now=self.now(),
            audience=post.audience,
            content_format=_format(post.attachments),
        )

    def engagement(self, post: Post) -> dict[str, int]:
        if post.post_type != "post":
            return {"views": 0, "likes": 0, "reposts": 0, "reach": 0}
        counts = self._model(post)
        likes, reposts = counts.likes, counts.reposts
        if post.liked_by or post.reposted_by:
            likes = len(self.reactors(post, "likes"))
            reposts = len(self.reactors(post, "copies"))
        return {
            "views": counts.views,
            "likes": likes,
            "reposts": reposts,
            "reach": counts.reach,
        }

    def reactors(self, post: Post, what: str) -> list[int]:
        """Who likes (``likes``) or reposted (``copies``) the post, in the order they did: the
        modelled audience (a fixed, seeded order over the wall's audience, so a growing counter
        only ever adds people) and then the named ones. Counters and likes.getList agree."""
        counts = self._model(post) if post.post_type == "post" else None
        modelled = 0 if counts is None else (counts.likes if what == "likes" else counts.reposts)
        base = _AUDIENCE_BASE.get(-post.owner_id, 50000 + abs(post.owner_id) * 10000)
        pool = list(range(base, base + max(post.audience, modelled)))
        random.Random(f"{self.seed}:{what}:{post.owner_id}_{post.id}").shuffle(pool)
        named = post.liked_by if what == "likes" else post.reposted_by
        out = pool[:modelled]
        seen = set(out)
        out.extend(u for u, _when in sorted(named.items(), key=lambda kv: (kv[1], kv[0])) if u not in seen)
        return out

    def tick(self) -> None:
        """Bring the world up to the emulator clock: postponed posts, audience, members."""
        with self.lock:
            now = self.now()
            # Only postponed posts and demo posts at least 30 minutes old can change here (a
            # younger post draws no comments yet); visit those in the order of self.posts.
            while self._young and self._young[0][0] <= now - 1800:
                _date, owner_id, pid = heapq.heappop(self._young)
                self._mature.add((owner_id, pid))
            owners = {owner: i for i, owner in enumerate(self.posts)}
            candidates = set(self._postponed) | self._mature
            for owner_id, pid in sorted(candidates, key=lambda key: (owners.get(key[0], 0), key[1])):
                post = self.posts[owner_id][pid]
                if post.deleted:
                    continue
                if post.post_type == "postpone" and post.date <= now:
                    post.post_type = "post"
                    self._post_event(post)
                    self.ledger.append(
                        {"kind": "post_published", "owner_id": post.owner_id, "post_id": post.id}
                    )
                    self._postponed.discard((owner_id, pid))
                    self._went_live(post)  # (an old one moves on to _mature at the next tick)
                if post.post_type == "post" and post.owner_id in _COMMENTED:
                    self._audience_comments(post, now)
            self._pages_post(now)
            hours = now // 3600
            while self.hours_done < hours:
                self.hours_done += 1
                self._member_churn(self.hours_done)

    def _pages_post(self, now: int) -> None:
        """Other brands' pages keep posting as the clock moves (competitor watching has a
        stream to follow): each of :data:`PAGE_POSTING` on its days, at an hour drawn from the
        seed and the day, its lines and formats in turn."""
        for group_id, (every_days, lines) in PAGE_POSTING.items():
            if group_id not in self.groups:
                continue
            while True:
                day = self._page_day.get(group_id, self.start // 86400 + 1)
                rng = random.Random(f"{self.seed}:page:{group_id}:{day}")
                when = day * 86400 + rng.choice(_PAGE_HOURS) * 3600
                if when > now:
                    break
                self._page_day[group_id] = day + every_days
                n = self._page_posts.get(group_id, 0)
                self._page_posts[group_id] = n + 1
                kind = ("", "photo", "video", "", "link", "photo")[n % 6]
                body = {
                    "photo": {"id": 100 + n, "owner_id": -group_id, "sizes": []},
                    "video": {"id": 100 + n, "owner_id": -group_id, "title": "Video"},
                    "link": {"url": "https://example.com/news", "title": "News"},
                }.get(kind)
                attachments = [{"type": kind, kind: body}] if kind and body else []
                self._add_post(-group_id, -group_id, 999, when, lines[n % len(lines)], attachments)

    def _audience_comments(self, post: Post, now: int) -> None:
        elapsed = now - post.date
        if elapsed < 1800:
            return
        due = min(MAX_AUDIENCE_COMMENTS, self._model(post).comments)
        while post.audience_comments < due:
            post.audience_comments += 1
            n = post.audience_comments
            rng = random.Random(f"{self.seed}:c:{post.owner_id}:{post.id}:{n}")
            uid = rng.randint(10000, 10300)
            date = min(now, post.date + 1800 + n * 600)
            self._create_comment(post, uid, rng.choice(_AUDIENCE_LINES), None, date)

    def _member_churn(self, hour: int) -> None:
        """Joins and leaves in the absolute hour ``hour`` (networks/engagement.py's member flow),
        each at the hour's start: the demo community's come as ``group_join``/``group_leave``
        events too; ``stats.get`` counts the same lists, so its subscribed/unsubscribed always
        agree with the change in ``members_count``."""
        when = hour * 3600
        for group_id, (per_day_in, per_day_out) in MEMBER_FLOW.items():
            group = self.groups.get(group_id)
            if group is None:
                continue
            joins, leaves = engagement.member_flow(
                self.seed, f"vk:{group_id}", hour, joins_per_day=per_day_in, leaves_per_day=per_day_out
            )
            events = group_id == DEMO_GROUP_ID
            for _ in range(joins):
                uid = self.next_audience_user
                self.next_audience_user += 1
                group.members[uid] = when
                group.joins.append((when, uid))
                if events:
                    self._event(group, "group_join", {"user_id": uid, "join_type": "join"})
            if leaves:
                rng = random.Random(f"{self.seed}:leave:{group_id}:{hour}")
                candidates = sorted(
                    u for u in group.members if u != ADMIN_USER_ID and group.admins.get(u) is None
                )
                for uid in rng.sample(candidates, min(leaves, len(candidates))):
                    del group.members[uid]
                    group.leaves.append((when, uid))
                    if events:
                        self._event(group, "group_leave", {"user_id": uid, "self": 1})

    # -- events --------------------------------------------------------------------------
    def _event(self, group: Group, kind: str, obj: dict[str, Any]) -> None:
        event = {
            "group_id": group.id,
            "type": kind,
            "event_id": self._key("ev", group.id, group.event_ts, kind),
            "v": wire.API_VERSION,
            "object": obj,
        }
        group.events.append((group.event_ts, event))
        group.event_ts += 1
        for server in group.callback_servers.values():
            if server["status"] == "ok" and kind in server["events"]:
                self.pending.append(
                    {
                        "server": server,
                        "group": group.id,
                        "body": {**event, "secret": server["secret_key"]} if server["secret_key"] else event,
                        "attempt": 0,
                        "next_at": 0.0,
                        "kind": kind,
                    }
                )
                self._ensure_worker()

    def _post_event(self, post: Post) -> None:
        group = self.groups.get(-post.owner_id)
        if group is not None:
            self._event(group, "wall_post_new", self.post_json(post, None))

    def _ensure_worker(self) -> None:
        self._wake.set()
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._worker, daemon=True, name="vk-emulator-callbacks")
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def _worker(self) -> None:
        from rupor.core import http

        while not self._stop.is_set():
            self.tick()
            with self.lock:
                due = [d for d in self.pending if d["next_at"] <= time.monotonic()]
            for item in due:
                ok, detail = self._deliver(http, item)
                with self.lock:
                    item["attempt"] += 1
                    record = {
                        "server_id": item["server"]["id"],
                        "type": item["kind"],
                        "attempt": item["attempt"],
                        "ok": ok,
                        "detail": detail,
                        "event_id": item["body"].get("event_id"),
                    }
                    self.deliveries.append(record)
                    if ok or item["attempt"] > self.retries:
                        self.pending.remove(item)
                    else:
                        item["next_at"] = time.monotonic() + self.retry_delay * 2 ** (item["attempt"] - 1)
            with self.lock:
                busy = bool(self.pending)
            self._wake.wait(0.05 if busy else 0.25)
            self._wake.clear()

    def _deliver(self, http: Any, item: dict[str, Any]) -> tuple[bool, str]:
        server = item["server"]
        try:
            with http.client(timeout=self.delivery_timeout) as client:
                answer = client.post(
                    server["url"],
                    content=json.dumps(item["body"], ensure_ascii=False).encode(),
                    headers={"Content-Type": "application/json"},
                )
        except (httpx.HTTPError, OSError) as exc:  # a failed delivery, retried like VK does
            return False, type(exc).__name__
        if item.get("confirmation"):
            return True, answer.text
        good = answer.status_code == 200 and answer.text.strip() == "ok"
        return good, f"{answer.status_code} {answer.text[:40]}"

    def _confirm(self, group: Group, server: dict[str, Any]) -> None:
        from rupor.core import http

        body: dict[str, Any] = {"type": "confirmation", "group_id": group.id}
        if server["secret_key"]:
            body["secret"] = server["secret_key"]
        _ok, text = self._deliver(http, {"server": server, "body": body, "confirmation": True})
        with self.lock:
            server["status"] = "ok" if text.strip() == group.confirmation_code else "failed"

    # -- dispatch ------------------------------------------------------------------------
    def call(self, method: str, params: dict[str, str], bearer: str | None, base_url: str) -> dict[str, Any]:
        try:
            return {"response": self._call(method, params, bearer, base_url)}
        except VkError as exc:
            return wire.error_envelope(
                exc.code, exc.msg, {"oauth": "1", "method": method, **params}, **exc.extra
            )

    def _call(self, method: str, params: dict[str, str], bearer: str | None, base_url: str) -> Any:
        spec = wire.schema()["methods"].get(method)
        handler = getattr(self, "m_" + method.replace(".", "_"), None)
        if spec is None or handler is None:
            raise VkError(wire.Code.UNKNOWN_METHOD, "Unknown method passed")
        version = params.get("v", "")
        if not version:
            raise VkError(
                wire.Code.INVALID_REQUEST,
                'Invalid request: v is required. Version param should be passed as "v". "version" param is invalid and not supported.',
            )
        try:
            too_old = tuple(int(x) for x in version.split(".")[:2]) < (5, 81)
        except ValueError:
            too_old = True
        if too_old:
            raise VkError(
                wire.Code.INVALID_REQUEST,
                'Invalid request: versions below 5.81 are deprecated. Version param should be passed as "v".',
            )
        raw_token = params.get("access_token") or bearer or ""
        token = self.tokens.get(raw_token)
        if token is None or not token.valid:
            detail = "no access_token passed." if not raw_token else "invalid access_token (4)."
            raise VkError(wire.Code.AUTH, f"User authorization failed: {detail}")
        self._rate(raw_token, token)
        if token.kind not in spec["access_token_type"]:
            if token.kind == "group":
                raise VkError(
                    wire.Code.GROUP_AUTH, "Group authorization failed: method is unavailable with group auth."
                )
            raise VkError(wire.Code.ACCESS, f"Access denied: method is unavailable with {token.kind} auth.")
        self._validate(spec, params)
        with self.lock:
            for queued in self.queued_errors:
                if queued["method"] in (None, method):
                    queued["count"] -= 1
                    if queued["count"] <= 0:
                        self.queued_errors.remove(queued)
                    extra: dict[str, Any] = {}
                    if queued["code"] == wire.Code.CAPTCHA:
                        extra = {
                            "captcha_sid": "1234567890",
                            "captcha_img": f"{base_url}/captcha.php?sid=1234567890",
                        }
                    raise VkError(int(queued["code"]), queued.get("msg"), **extra)
            self.tick()
            self.calls[method] += 1
            return handler(Ctx(method, params, token, base_url))

    def _rate(self, raw_token: str, token: Token) -> None:
        if not self.rate_limits:
            return
        limit = RATES.get(token.kind, 3)
        now = time.monotonic()
        with self.lock:
            bucket = self.buckets.setdefault(raw_token, deque())
            while bucket and bucket[0] <= now - 1.0:
                bucket.popleft()
            if len(bucket) >= limit:
                raise VkError(wire.Code.TOO_MANY, "Too many requests per second")
            bucket.append(now)

    @staticmethod
    def _validate(spec: dict[str, Any], params: dict[str, str]) -> None:  # noqa: C901 - one branch per type in the VK schema
        for p in spec["parameters"]:
            name = p["name"]
            raw = params.get(name, "")
            if raw == "":
                if p.get("required"):
                    raise _param_error(f"{name} is undefined")
                continue
            kind = p["type"]
            values = raw.split(",") if kind == "array" else [raw]
            item_kind = p.get("items", {}).get("type", "string") if kind == "array" else kind
            if kind == "array" and "maxItems" in p and len(values) > p["maxItems"]:
                raise _param_error(f"{name} should contain at most {p['maxItems']} items")
            for value in values:
                if item_kind == "integer":
                    try:
                        number = int(value)
                    except ValueError as exc:
                        raise _param_error(f"{name} not integer") from exc
                    if "minimum" in p and number < p["minimum"]:
                        raise _param_error(f"{name} should be greater or equal to {p['minimum']}")
                    if "maximum" in p and number > p["maximum"]:
                        raise _param_error(f"{name} should be less or equal to {p['maximum']}")
                    if "enum" in p and number not in p["enum"]:
                        raise _param_error(f"{name} should be one of {p['enum']}")
                elif item_kind == "number":
                    try:
                        float(value)
                    except ValueError as exc:
                        raise _param_error(f"{name} not number") from exc
                elif item_kind == "boolean":
                    if value.lower() not in ("0", "1", "true", "false"):
                        raise _param_error(f"{name} should be 0 or 1")
                elif item_kind == "string" and "enum" in p and value not in [str(x) for x in p["enum"]]:
                    raise _param_error(f"{name} should be one of {', '.join(map(str, p['enum']))}")
            if "maxLength" in p and len(raw) > p["maxLength"] and name not in ("message",):
                raise _param_error(f"{name} is too long (max {p['maxLength']})")

    # -- helpers -------------------------------------------------------------------------
    def _group(self, ref: str | int | None) -> Group:
        if ref is None or ref == "":
            raise _param_error("group_id is undefined")
        text = str(ref).strip()
        match = re.fullmatch(r"(?:https?://)?(?:m\.)?(?:vk\.com|vk\.ru)/(.+)", text)
        if match:
            text = match.group(1).strip("/")
        match = re.fullmatch(r"(?:club|public|event)(\d+)", text)
        if match:
            text = match.group(1)
        if re.fullmatch(r"-?\d+", text):
            group = self.groups.get(abs(int(text)))
        else:
            group = next((g for g in self.groups.values() if g.screen_name == text.lower()), None)
        if group is None:
            raise VkError(wire.Code.PARAM_GROUP_ID, "Invalid group id")
        return group

    def _admin_level(self, ctx: Ctx, group: Group) -> int:
        if ctx.token.kind == "group":
            return 3 if ctx.token.owner == group.id else 0
        return group.admins.get(ctx.token.owner, 0)

    def _require_admin(self, ctx: Ctx, group: Group, level: int = 1) -> None:
        if self._admin_level(ctx, group) < level:
            raise VkError(wire.Code.ACCESS, "Access denied: you are not an administrator of this community")

    def _owner(self, ctx: Ctx) -> int:
        owner = ctx.num("owner_id")
        if owner is None:
            if ctx.token.kind == "group":
                return -ctx.token.owner
            return ctx.token.owner
        return owner

    def _post(self, owner_id: int, post_id: int | None) -> Post:
        post = self.posts.get(owner_id, {}).get(post_id or 0)
        if post is None or post.deleted:
            raise VkError(wire.Code.WALL_ACCESS_POST, "Access to wall's post denied")
        return post

    def _attachments(self, ctx: Ctx) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        links = media = polls = 0
        for item in ctx.items("attachments"):
            if re.match(r"https?://", item):
                links += 1
                if links > 1:
                    raise _param_error("attachments: only one link can be attached")
                out.append(
                    {
                        "type": "link",
                        "link": {
                            "url": item,
                            "title": item.split("/")[2],
                            "caption": "",
                            "description": "",
                            "is_favorite": False,
                        },
                    }
                )
                continue
            match = re.fullmatch(
                r"(photo|poll|video|doc|audio|album|page|note|market)(-?\d+)_(\d+)(?:_\w+)?", item
            )
            if not match:
                raise _param_error(f"attachments: {item} is invalid")
            kind, m_owner, m_id = match.group(1), int(match.group(2)), int(match.group(3))
            if kind == "photo":
                photo = self.photos.get((m_owner, m_id))
                if photo is None:
                    raise _param_error(f"attachments: photo {m_owner}_{m_id} not found")
                media += 1
                out.append({"type": "photo", "photo": photo})
            elif kind == "poll":
                poll = self.polls.get((m_owner, m_id))
                if poll is None:
                    raise _param_error(f"attachments: poll {m_owner}_{m_id} not found")
                polls += 1
                out.append({"type": "poll", "poll": poll})
            elif kind == "video":
                video = self.videos.get((m_owner, m_id))
                if video is None:
                    raise _param_error(f"attachments: video {m_owner}_{m_id} not found")
                media += 1
                out.append({"type": "video", "video": self.video_json(video)})
            else:
                media += 1 if kind == "video" else 0
                out.append({"type": kind, kind: {"id": m_id, "owner_id": m_owner}})
        if media > 10:
            raise _param_error("attachments: too many media attachments (at most 10)")
        if polls > 1:
            raise _param_error("attachments: only one poll can be attached")
        if polls and not ctx.text("message").strip() and len(out) == polls:
            raise _param_error("attachments: a poll cannot be the only content of a post")
        return out

    def post_json(self, post: Post, ctx: Ctx | None) -> dict[str, Any]:
        counts = self.engagement(post)
        comments = [c for c in self.post_comments.get((post.owner_id, post.id), ()) if not c.deleted]
        admin = (
            ctx is not None
            and post.owner_id < 0
            and -post.owner_id in self.groups
            and self._admin_level(ctx, self.groups[-post.owner_id]) >= 2
        )
        item: dict[str, Any] = {
            "id": post.id,
            "owner_id": post.owner_id,
            "from_id": post.from_id,
            "date": post.date,
            "text": post.text,
            "attachments": post.attachments,
            "post_type": post.post_type,
            "comments": {
                "count": len(comments),
                "can_post": 0 if post.close_comments else 1,
                "groups_can_post": True,
            },
            "likes": {"count": counts["likes"], "user_likes": 0, "can_like": 1, "can_publish": 1},
            "reposts": {"count": counts["reposts"], "user_reposted": 0},
            "views": {"count": counts["views"]},
            "post_source": {"type": "api"},
            "marked_as_ads": 0,
            "is_favorite": False,
            "hash": self._key("hash", post.owner_id, post.id)[:18],
        }
        if post.is_pinned:
            item["is_pinned"] = 1
        if post.edited:
            item["edited"] = post.edited
        if admin:
            item.update({"created_by": post.created_by, "can_edit": 1, "can_delete": 1, "can_pin": 1})
        return item

    def _extended(self, owner_ids: set[int]) -> dict[str, Any]:
        profiles = [self.profile(o) for o in sorted(owner_ids) if o > 0]
        groups = [
            self.group_json(self.groups[-o], None, [])
            for o in sorted(owner_ids)
            if o < 0 and -o in self.groups
        ]
        return {"profiles": profiles, "groups": groups}

    def group_json(self, group: Group, ctx: Ctx | None, fields: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": group.id,
            "name": group.name,
            "screen_name": group.screen_name,
            "is_closed": group.is_closed,
            "type": group.type,
            "photo_50": f"https://vk.com/images/community_50.png?g={group.id}",
            "photo_100": f"https://vk.com/images/community_100.png?g={group.id}",
            "photo_200": f"https://vk.com/images/community_200.png?g={group.id}",
        }
        if group.deactivated:  # VK tells a deleted or blocked community by this alone
            return {**out, "deactivated": group.deactivated}
        if ctx is not None and ctx.token.kind == "user":
            level = group.admins.get(ctx.token.owner, 0)
            out["is_admin"] = 1 if level else 0
            if level:
                out["admin_level"] = level
            out["is_member"] = 1 if ctx.token.owner in group.members else 0
            out["is_advertiser"] = 0
        if "members_count" in fields:
            out["members_count"] = len(group.members)
        if "wall" in fields:
            out["wall"] = group.wall
        if "can_post" in fields and ctx is not None:
            level = self._admin_level(ctx, group)
            out["can_post"] = 1 if group.wall == 1 or (group.wall in (2, 3) and level >= 2) else 0
        if "description" in fields:
            out["description"] = f"{group.name} — a community on the Rupor VK emulator"
        return out

    # -- wall ----------------------------------------------------------------------------
    def m_wall_post(self, ctx: Ctx) -> Any:
        user = ctx.token.owner
        owner_id = self._owner(ctx)
        from_group = ctx.flag("from_group") and owner_id < 0
        if owner_id < 0:
            group = self._group(-owner_id)
            level = self._admin_level(ctx, group)
            if group.wall == 0 or (from_group and level < 2) or (group.wall in (2, 3) and level < 2):
                raise VkError(wire.Code.WALL_ADD_POST, "Access to adding post denied")
        elif owner_id != user:
            raise VkError(wire.Code.WALL_ADD_POST, "Access to adding post denied")
        guid = ctx.text("guid")
        if guid:
            known = self.post_guids.get((user, owner_id, guid))
            if (
                known is not None
                and known in self.posts.get(owner_id, {})
                and not self.posts[owner_id][known].deleted
            ):
                return {"post_id": known}
        if ctx.has("post_id"):  # publish a postponed post now
            post = self._post(owner_id, ctx.num("post_id"))
            if post.post_type == "postpone":
                post.post_type, post.date = "post", self.now()
                self._postponed.discard((owner_id, post.id))
                self._went_live(post)
                self._post_event(post)
                self.ledger.append({"kind": "post_published", "owner_id": owner_id, "post_id": post.id})
            return {"post_id": post.id}
        message = ctx.text("message")
        attachments = self._attachments(ctx)
        if not message and not attachments:
            raise _param_error("message is empty or invalid")
        publish_date = ctx.num("publish_date")
        now = self.now()
        postponed = publish_date is not None and publish_date > now + 60
        if postponed and publish_date is not None and publish_date > now + 365 * 86400:
            raise _param_error("publish_date is invalid")
        post = self._add_post(
            owner_id,
            owner_id if from_group else user,
            user,
            publish_date if postponed and publish_date else now,
            message,
            attachments,
            post_type="postpone" if postponed else "post",
            guid=guid or None,
            close_comments=ctx.flag("close_comments"),
        )
        if guid:
            self.post_guids[(user, owner_id, guid)] = post.id
        self.ledger.append(
            {
                "kind": "post_created",
                "owner_id": owner_id,
                "post_id": post.id,
                "guid": guid,
                "text": message,
                "postponed": postponed,
                "attachments": ctx.items("attachments"),
            }
        )
        if not postponed:
            self._post_event(post)
        return {"post_id": post.id}

    def m_wall_edit(self, ctx: Ctx) -> Any:
        owner_id = self._owner(ctx)
        post = self._post(owner_id, ctx.req_int("post_id"))
        if owner_id < 0:
            self._require_admin(ctx, self._group(-owner_id), 2)
        elif ctx.token.owner != owner_id:
            raise VkError(wire.Code.ACCESS, "Access denied: you cannot edit this post")
        attachments = self._attachments(ctx) if ctx.has("attachments") else post.attachments
        message = ctx.text("message") if "message" in ctx.params else post.text
        if not message and not attachments:
            raise _param_error("message is empty or invalid")
        post.text, post.attachments, post.edited = message, attachments, self.now()
        if ctx.has("publish_date") and post.post_type == "postpone":
            post.date = ctx.num("publish_date") or post.date
        self.ledger.append({"kind": "post_edited", "owner_id": owner_id, "post_id": post.id, "text": message})
        return {"post_id": post.id}

    def m_wall_delete(self, ctx: Ctx) -> Any:
        owner_id = self._owner(ctx)
        post = self.posts.get(owner_id, {}).get(ctx.num("post_id") or 0)
        if post is None:
            raise VkError(wire.Code.WALL_ACCESS_POST, "Access to wall's post denied")
        if owner_id < 0:
            self._require_admin(ctx, self._group(-owner_id), 2)
        elif ctx.token.owner != owner_id:
            raise VkError(wire.Code.ACCESS, "Access denied: you cannot delete this post")
        if not post.deleted:
            post.deleted = True
            self.ledger.append({"kind": "post_deleted", "owner_id": owner_id, "post_id": post.id})
        return 1

    def _wall_owner(self, ctx: Ctx) -> int:
        if ctx.has("owner_id"):
            return ctx.req_int("owner_id")
        domain = ctx.text("domain")
        if domain:
            if re.fullmatch(r"id\d+", domain):
                return int(domain[2:])
            return -self._group(domain).id
        return ctx.token.owner

    def m_wall_get(self, ctx: Ctx) -> Any:
        owner_id = self._wall_owner(ctx)
        if owner_id < 0 and -owner_id in self.groups:
            self._require_wall_reader(ctx, self.groups[-owner_id])
        count = ctx.num("count", 20) or 0
        if count > 100:
            raise _param_error("count should be less or equal to 100")
        offset = ctx.num("offset", 0) or 0
        filt = ctx.text("filter", "all")
        posts = [p for p in self.posts.get(owner_id, {}).values() if not p.deleted]
        if filt == "postponed":
            if owner_id < 0:
                self._require_admin(ctx, self._group(-owner_id), 2)
            posts = [p for p in posts if p.post_type == "postpone"]
        else:
            posts = [p for p in posts if p.post_type == "post"]
            if filt == "owner":
                posts = [p for p in posts if p.from_id == owner_id]
            elif filt == "others":
                posts = [p for p in posts if p.from_id != owner_id]
        posts.sort(key=lambda p: (not p.is_pinned, -p.date, -p.id))
        page = posts[offset : offset + count]
        out: dict[str, Any] = {"count": len(posts), "items": [self.post_json(p, ctx) for p in page]}
        if ctx.flag("extended"):
            out.update(self._extended({p.from_id for p in page} | {owner_id}))
        return out

    def _require_wall_reader(self, ctx: Ctx, group: Group) -> None:
        """A blocked or deleted community's wall is blocked content (error 19); a closed or private
        one's is for its members and managers (error 15)."""
        if group.deactivated:
            raise VkError(wire.Code.BLOCKED, "Content blocked")
        if group.is_closed and not (
            self._admin_level(ctx, group) or (ctx.token.kind == "user" and ctx.token.owner in group.members)
        ):
            raise VkError(wire.Code.ACCESS, "Access denied: this wall available only for community members")

    def m_wall_getById(self, ctx: Ctx) -> Any:
        items = []
        for ref in ctx.items("posts"):
            match = re.fullmatch(r"(-?\d+)_(\d+)", ref)
            if not match:
                continue
            post = self.posts.get(int(match.group(1)), {}).get(int(match.group(2)))
            if (
                post is not None
                and not post.deleted
                and (post.post_type == "post" or self._can_see_postponed(ctx, post))
            ):
                items.append(self.post_json(post, ctx))
        out: dict[str, Any] = {"items": items}
        if ctx.flag("extended"):
            out.update(self._extended({i["from_id"] for i in items}))
        return out

    def _can_see_postponed(self, ctx: Ctx, post: Post) -> bool:
        return (
            post.owner_id < 0
            and -post.owner_id in self.groups
            and self._admin_level(ctx, self.groups[-post.owner_id]) >= 2
        )

    def _create_comment(
        self, post: Post, from_id: int, text: str, reply_to: WallComment | None, date: int
    ) -> WallComment:
        cid = self.next_comment.get(post.owner_id, 1)
        self.next_comment[post.owner_id] = cid + 1
        stack: list[int] = []
        if reply_to is not None:
            stack = reply_to.parents_stack[:1] or [reply_to.id]
        comment = WallComment(
            cid,
            post.owner_id,
            post.id,
            from_id,
            date,
            text,
            reply_to.id if reply_to else None,
            reply_to.from_id if reply_to else None,
            stack,
        )
        self.comments.setdefault(post.owner_id, {})[cid] = comment
        self.post_comments.setdefault((post.owner_id, post.id), []).append(comment)
        self.ledger.append(
            {
                "kind": "comment_created",
                "owner_id": post.owner_id,
                "post_id": post.id,
                "comment_id": cid,
                "from_id": from_id,
                "text": text,
            }
        )
        group = self.groups.get(-post.owner_id)
        if group is not None:
            self._event(
                group, "wall_reply_new", {**self.comment_json(comment), "post_owner_id": post.owner_id}
            )
        return comment

    def comment_json(self, c: WallComment) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": c.id,
            "from_id": c.from_id,
            "post_id": c.post_id,
            "owner_id": c.owner_id,
            "parents_stack": c.parents_stack,
            "date": c.date,
            "text": c.text,
            "likes": {"count": 0, "user_likes": 0, "can_like": 1},
        }
        if c.reply_to_comment:
            out["reply_to_comment"] = c.reply_to_comment
            out["reply_to_user"] = c.reply_to_user
        return out

    def m_wall_createComment(self, ctx: Ctx) -> Any:
        owner_id = self._owner(ctx)
        post = self._post(owner_id, ctx.req_int("post_id"))
        if post.post_type != "post":
            raise VkError(wire.Code.WALL_ACCESS_POST, "Access to wall's post denied")
        group = self.groups.get(-owner_id) if owner_id < 0 else None
        if ctx.token.kind == "group":
            if group is None or ctx.token.owner != group.id:
                raise VkError(wire.Code.WALL_ACCESS_REPLIES, "Access to post comments denied")
            from_id = -group.id
        else:
            from_id = ctx.token.owner
            fg = ctx.num("from_group", 0) or 0
            if fg:
                if group is None or fg != group.id or self._admin_level(ctx, group) < 2:
                    raise VkError(
                        wire.Code.ACCESS, "Access denied: you cannot comment on behalf of this community"
                    )
                from_id = -group.id
            if group is not None and from_id in group.banned:
                raise VkError(wire.Code.WALL_ADD_REPLY, "Access to status replies denied")
        if post.close_comments and (group is None or self._admin_level(ctx, group) < 2):
            raise VkError(wire.Code.WALL_ADD_REPLY, "Access to status replies denied")
        message = ctx.text("message")
        if not message and not ctx.has("attachments") and not ctx.has("sticker_id"):
            raise _param_error("message is undefined")
        guid = ctx.text("guid")
        if guid:
            known = self.comment_guids.get((from_id, post.owner_id * 10**12 + post.id, guid))
            if known is not None:
                existing = self.comments[owner_id][known]
                return {"comment_id": known, "parents_stack": existing.parents_stack}
        reply_to = None
        if ctx.has("reply_to_comment"):
            reply_to = self.comments.get(owner_id, {}).get(ctx.req_int("reply_to_comment"))
            if reply_to is None or reply_to.deleted or reply_to.post_id != post.id:
                raise _param_error("reply_to_comment is invalid")
        comment = self._create_comment(post, from_id, message, reply_to, self.now())
        if guid:
            self.comment_guids[(from_id, post.owner_id * 10**12 + post.id, guid)] = comment.id
        return {"comment_id": comment.id, "parents_stack": comment.parents_stack}

    def m_wall_getComments(self, ctx: Ctx) -> Any:
        owner_id = self._owner(ctx)
        post = self._post(owner_id, ctx.num("post_id"))
        count = ctx.num("count", 10) or 0
        if count > 100:
            raise _param_error("count should be less or equal to 100")
        offset = ctx.num("offset", 0) or 0
        threads = ctx.num("thread_items_count", 0) or 0
        alive = [c for c in self.post_comments.get((owner_id, post.id), ()) if not c.deleted]
        parent = ctx.num("comment_id")
        level = [c for c in alive if (c.parents_stack[:1] == [parent] if parent else not c.parents_stack)]
        level.sort(key=lambda c: c.id, reverse=ctx.text("sort", "asc") == "desc")
        start = ctx.num("start_comment_id")
        if start:
            level = (
                [c for c in level if c.id >= start]
                if ctx.text("sort", "asc") != "desc"
                else [c for c in level if c.id <= start]
            )
        page = level[offset : offset + count]
        children: dict[int, list[WallComment]] = {}
        for r in alive:
            if r.parents_stack:
                children.setdefault(r.parents_stack[0], []).append(r)
        items = []
        for c in page:
            item = self.comment_json(c)
            if not parent:
                replies = sorted(children.get(c.id, ()), key=lambda r: r.id)
                item["thread"] = {
                    "count": len(replies),
                    "items": [self.comment_json(r) for r in replies[:threads]],
                    "can_post": True,
                    "show_reply_button": True,
                    "groups_can_post": True,
                }
            items.append(item)
        out: dict[str, Any] = {
            "count": len(alive) if not parent else len(level),
            "items": items,
            "current_level_count": len(level),
            "can_post": not post.close_comments,
            "show_reply_button": True,
            "groups_can_post": True,
        }
        if ctx.flag("extended"):
            owners = {c.from_id for c in page} | {
                r["from_id"] for i in items for r in i.get("thread", {}).get("items", [])
            }
            out.update(self._extended(owners))
        return out

    def m_wall_deleteComment(self, ctx: Ctx) -> Any:
        owner_id = self._owner(ctx)
        comment = self.comments.get(owner_id, {}).get(ctx.req_int("comment_id"))
        if comment is None:
            raise VkError(wire.Code.WALL_ACCESS_COMMENT, "Access to wall's comment denied")
        group = self.groups.get(-owner_id)
        if comment.from_id != ctx.token.owner and (group is None or self._admin_level(ctx, group) < 1):
            raise VkError(wire.Code.WALL_ACCESS_COMMENT, "Access to wall's comment denied")
        if not comment.deleted:
            self._set_deleted(comment, True, by=ctx.token.owner)
        return 1

    def m_wall_restoreComment(self, ctx: Ctx) -> Any:
        """Bring a deleted comment back (its author or a community moderator), as VK does."""
        owner_id = self._owner(ctx)
        comment = self.comments.get(owner_id, {}).get(ctx.req_int("comment_id"))
        if comment is None:
            raise VkError(wire.Code.WALL_ACCESS_COMMENT, "Access to wall's comment denied")
        group = self.groups.get(-owner_id)
        if comment.from_id != ctx.token.owner and (group is None or self._admin_level(ctx, group) < 1):
            raise VkError(wire.Code.WALL_ACCESS_COMMENT, "Access to wall's comment denied")
        if not comment.deleted:
            raise VkError(wire.Code.WALL_COMMENT_NOT_DELETED, "Comment has not been deleted")
        self._set_deleted(comment, False)
        return 1

    def m_wall_editComment(self, ctx: Ctx) -> Any:
        """Change a comment's text; only its author may (VK lets nobody else edit it)."""
        owner_id = self._owner(ctx)
        comment = self.comments.get(owner_id, {}).get(ctx.req_int("comment_id"))
        if comment is None or comment.deleted or comment.from_id != ctx.token.owner:
            raise VkError(wire.Code.WALL_ACCESS_COMMENT, "Access to wall's comment denied")
        self._edit_comment(comment, ctx.text("message"))
        return 1

    def _edit_comment(self, comment: WallComment, text: str) -> None:
        comment.text = text
        self.ledger.append({"kind": "comment_edited", "owner_id": comment.owner_id, "comment_id": comment.id})
        group = self.groups.get(-comment.owner_id)
        if group is not None:
            self._event(
                group, "wall_reply_edit", {**self.comment_json(comment), "post_owner_id": comment.owner_id}
            )

    def _set_deleted(self, comment: WallComment, deleted: bool, by: int | None = None) -> None:
        """Delete or restore a comment, with its ledger entry and Callback API / Long Poll event."""
        comment.deleted = deleted
        kind = "comment_deleted" if deleted else "comment_restored"
        self.ledger.append({"kind": kind, "owner_id": comment.owner_id, "comment_id": comment.id})
        group = self.groups.get(-comment.owner_id)
        if group is None:
            return
        if deleted:
            who = comment.from_id if by is None else by
            obj = {
                "owner_id": comment.owner_id,
                "id": comment.id,
                "user_id": who,
                "deleter_id": who,
                "post_id": comment.post_id,
            }
            self._event(group, "wall_reply_delete", obj)
        else:
            self._event(
                group, "wall_reply_restore", {**self.comment_json(comment), "post_owner_id": comment.owner_id}
            )

    # -- photos and polls ----------------------------------------------------------------
    def m_photos_getWallUploadServer(self, ctx: Ctx) -> Any:
        gid = ctx.num("group_id")
        if gid is not None:
            if gid < 0:
                raise _param_error("group_id should be positive")
            self._require_admin(ctx, self._group(gid), 2)
        sig = self._key("upload", gid or 0, ctx.token.owner)[:16]
        return {
            "upload_url": f"{ctx.base_url}/upload/wall?gid={gid or 0}&uid={ctx.token.owner}&sig={sig}",
            "album_id": WALL_ALBUM_ID,
            "user_id": ctx.token.owner,
        }

    def upload(self, query: dict[str, str], data: bytes | None, filename: str) -> dict[str, Any]:
        gid, uid = int(query.get("gid", "0") or 0), int(query.get("uid", "0") or 0)
        if query.get("sig") != self._key("upload", gid, uid)[:16]:
            return {"error": "invalid upload signature"}
        server = 800000 + self.seed % 1000
        if not data or not (
            data[:3] == b"\xff\xd8\xff" or data[:8] == b"\x89PNG\r\n\x1a\n" or data[:4] == b"GIF8"
        ):
            return {"server": server, "photo": "[]", "hash": hashlib.sha256(b"[]").hexdigest()[:32]}
        with self.lock:
            upload_id = self._key("file", len(self.uploads), hashlib.sha256(data).hexdigest())[:20]
            self.uploads[upload_id] = {
                "gid": gid,
                "uid": uid,
                "size": len(data),
                "filename": filename,
                "photo_id": None,
            }
        photo = json.dumps(
            [
                {
                    "markers_restarted": True,
                    "photo": upload_id,
                    "sizes": [],
                    "latitude": 0,
                    "longitude": 0,
                    "kid": self._key("kid", upload_id)[:32],
                }
            ]
        )
        return {"server": server, "photo": photo, "hash": self._key("hash", photo)[:32]}

    def m_photos_saveWallPhoto(self, ctx: Ctx) -> Any:
        photo = ctx.text("photo")
        if ctx.text("hash") != self._key("hash", photo)[:32]:
            raise _param_error("hash is invalid")
        try:
            parts = json.loads(photo)
            upload_id = parts[0]["photo"]
        except (ValueError, LookupError, TypeError) as exc:
            raise VkError(wire.Code.PARAM_PHOTO, "Invalid photo") from exc
        upload = self.uploads.get(upload_id)
        gid = ctx.num("group_id") or 0
        if upload is None or upload["gid"] != gid or upload["uid"] != ctx.token.owner:
            raise VkError(wire.Code.PARAM_PHOTO, "Invalid photo")
        owner = -gid if gid else ctx.token.owner
        if upload["photo_id"] is None:
            pid = self.next_media
            self.next_media += 1
            upload["photo_id"] = pid
            self.photos[(owner, pid)] = {
                "id": pid,
                "album_id": WALL_ALBUM_ID,
                "owner_id": owner,
                "user_id": 100 if gid else ctx.token.owner,
                "date": self.now(),
                "text": ctx.text("caption"),
                "has_tags": False,
                "access_key": self._key("ak", pid)[:18],
                "web_view_token": self._key("wv", pid)[:18],
                "sizes": [
                    {
                        "type": t,
                        "width": w,
                        "height": h,
                        "url": f"https://sun9-1.userapi.com/emulated/{owner}_{pid}_{t}.jpg",
                    }
                    for t, w, h in (("s", 75, 56), ("m", 130, 97), ("x", 604, 453), ("y", 807, 605))
                ],
            }
            self.ledger.append({"kind": "photo_saved", "owner_id": owner, "photo_id": pid})
        return [self.photos[(owner, upload["photo_id"])]]

    # -- video -------------------------------------------------------------------------------
    def m_video_save(self, ctx: Ctx) -> Any:
        gid = ctx.num("group_id")
        if gid is not None:
            group = self._group(gid)
            if self._admin_level(ctx, group) < 2:
                raise VkError(wire.Code.ACCESS_VIDEO, "Access denied")
        owner = -gid if gid else ctx.token.owner
        vid = self.next_media
        self.next_media += 1
        link = ctx.text("link")
        video = {
            "id": vid,
            "owner_id": owner,
            "title": ctx.text("name") or "Video",
            "description": ctx.text("description"),
            "date": self.now(),
            "access_key": self._key("vak", owner, vid)[:18],
            "uploaded": bool(link),
            "is_private": ctx.flag("is_private"),
            "wallpost": ctx.flag("wallpost"),
            "link": link or None,
            "album_id": ctx.num("album_id"),
            "no_comments": ctx.flag("no_comments"),
            "repeat": ctx.flag("repeat"),
            "created_by": ctx.token.owner,
            "size": 0,
        }
        self.videos[(owner, vid)] = video
        self.ledger.append({"kind": "video_saved", "owner_id": owner, "video_id": vid})
        sig = self._key("vupload", owner, vid)[:16]
        out = {
            "upload_url": f"{ctx.base_url}/upload/video?oid={owner}&vid={vid}&sig={sig}",
            "video_id": vid,
            "owner_id": owner,
            "title": video["title"],
            "description": video["description"],
        }
        if video["is_private"] or gid is None:
            out["access_key"] = video["access_key"]
        return out

    def upload_video(self, query: dict[str, str], data: bytes | None, filename: str) -> dict[str, Any]:
        try:
            owner, vid = int(query.get("oid", "")), int(query.get("vid", ""))
        except ValueError:
            return {"error": "invalid upload url"}
        if query.get("sig") != self._key("vupload", owner, vid)[:16]:
            return {"error": "invalid upload signature"}
        if not data:
            return {"error": "no file: send it as multipart field video_file"}
        if not looks_like_video(data):
            return {"error": "invalid video file: unsupported format"}
        with self.lock:
            video = self.videos.get((owner, vid))
            if video is None:
                return {"error": "video not found"}
            self.video_uploads += 1
            video.update(uploaded=True, size=len(data), filename=filename, date=self.now())
            self.ledger.append(
                {"kind": "video_uploaded", "owner_id": owner, "video_id": vid, "bytes": len(data)}
            )
            if video["wallpost"] and not video.get("posted"):
                video["posted"] = True
                post = self._add_post(
                    owner,
                    owner,
                    int(video["created_by"]),
                    self.now(),
                    video["description"],
                    [{"type": "video", "video": self.video_json(video)}],
                )
                self.ledger.append(
                    {
                        "kind": "post_created",
                        "owner_id": owner,
                        "post_id": post.id,
                        "guid": "",
                        "text": post.text,
                        "postponed": False,
                        "attachments": [wire.video_attachment(owner, vid)],
                    }
                )
                self._post_event(post)
            return {
                "size": len(data),
                "video_id": vid,
                "owner_id": owner,
                "video_hash": self._key("vhash", owner, vid)[:32],
            }

    def video_json(self, video: dict[str, Any]) -> dict[str, Any]:
        owner, vid = video["owner_id"], video["id"]
        out: dict[str, Any] = {
            "id": vid,
            "owner_id": owner,
            "title": video["title"],
            "description": video["description"],
            "duration": max(1, int(video["size"]) // 100000) if video["uploaded"] else 0,
            "date": video["date"],
            "comments": 0,
            "views": 0,
            "local_views": 0,
            "type": "video",
            "access_key": video["access_key"],
            "can_edit": 1,
            "can_add": 1,
            "is_private": 1 if video["is_private"] else 0,
            "image": [
                {
                    "url": f"https://sun9-1.userapi.com/emulated/video{owner}_{vid}_{w}.jpg",
                    "width": w,
                    "height": h,
                    "with_padding": 1,
                }
                for w, h in ((130, 96), (320, 240), (800, 450))
            ],
            "player": f"https://vk.com/video_ext.php?oid={owner}&id={vid}&hash={video['access_key']}",
        }
        if not video["uploaded"]:
            out["processing"] = 1
        if video.get("link"):
            out["platform"] = "external"
        return out

    def poll_votes(self, poll: dict[str, Any]) -> dict[str, Any]:
        """The poll with its audience's votes as of now (seeded: voters come over the first
        day, a favourite answer drawn per poll; nothing moves after ``end_date``), ``rate`` in
        percent of the votes as VK gives it, ``closed`` once the end date passed."""
        now = self.now()
        end = int(poll.get("end_date") or 0)
        if end and now >= end:
            poll["closed"] = True
            now = end
        key = (int(poll["owner_id"]), int(poll["id"]))
        if key in self.polls_counted_closed:
            return poll
        rng = random.Random(f"vk-poll:{self.seed}:{poll['owner_id']}:{poll['id']}")
        crowd = rng.randint(40, 400)
        weights = [rng.uniform(0.5, 3.0) for _ in poll["answers"]]
        elapsed_h = max(0.0, (now - int(poll["created"])) / 3600)
        voters = int(crowd * (1 - 0.5 ** (elapsed_h / 6)))
        shares = [int(voters * w / sum(weights)) for w in weights]
        shares[weights.index(max(weights))] += voters - sum(shares)
        total = sum(shares)
        for answer, n in zip(poll["answers"], shares, strict=True):
            answer["votes"] = n
            answer["rate"] = round(100 * n / total, 2) if total else 0
        poll["votes"] = total
        if poll.get("closed"):
            self.polls_counted_closed.add(key)
        return poll

    def m_polls_getById(self, ctx: Ctx) -> Any:
        """``polls.getById``: a poll by ``owner_id`` and ``poll_id`` with its answers' votes."""
        pid = ctx.num("poll_id")
        if not pid:
            raise _param_error("poll_id is undefined")
        owner = ctx.num("owner_id") or ctx.token.owner
        poll = self.polls.get((owner, pid))
        if poll is None:
            raise VkError(
                wire.Code.PARAM, "One of the parameters specified was missing or invalid: poll not found"
            )
        return self.poll_votes(poll)

    def m_polls_create(self, ctx: Ctx) -> Any:
        question = ctx.text("question")
        if not question.strip():
            raise _param_error("question is undefined")
        try:
            answers = json.loads(ctx.text("add_answers") or "[]")
        except ValueError as exc:
            raise _param_error("add_answers is invalid") from exc
        if (
            not isinstance(answers, list)
            or not 1 <= len(answers) <= 10
            or not all(isinstance(a, str) and a.strip() for a in answers)
        ):
            raise _param_error("add_answers should be a JSON array of 1 to 10 answers")
        if any(len(a) > 100 for a in answers):
            raise _param_error("add_answers: an answer is longer than 100 characters")
        owner = ctx.num("owner_id") or ctx.token.owner
        if owner < 0:
            self._require_admin(ctx, self._group(-owner), 2)
        end_date = ctx.num("end_date", 0) or 0
        if end_date and end_date <= self.now():
            raise _param_error("end_date should be in the future")
        pid = self.next_media
        self.next_media += 1
        poll = {
            "id": pid,
            "owner_id": owner,
            "created": self.now(),
            "question": question,
            "votes": 0,
            "answers": [
                {"id": pid * 10 + i, "rate": 0, "text": a, "votes": 0} for i, a in enumerate(answers)
            ],
            "anonymous": ctx.flag("is_anonymous"),
            "multiple": ctx.flag("is_multiple"),
            "answer_ids": [],
            "end_date": ctx.num("end_date", 0),
            "closed": False,
            "is_board": False,
            "can_edit": True,
            "can_vote": True,
            "can_report": False,
            "can_share": True,
            "author_id": ctx.token.owner,
            "disable_unvote": ctx.flag("disable_unvote"),
            "embed_hash": self._key("poll", pid)[:20],
        }
        self.polls[(owner, pid)] = poll
        self.ledger.append({"kind": "poll_created", "owner_id": owner, "poll_id": pid})
        return poll

    # -- users ---------------------------------------------------------------------------
    def m_users_get(self, ctx: Ctx) -> Any:
        refs = ctx.items("user_ids")
        if not refs:
            if ctx.token.kind != "user":
                return []  # no "current user" behind a community or service token
            refs = [str(ctx.token.owner)]
        fields = ctx.items("fields")
        out = []
        for ref in refs:
            uid = (
                int(ref)
                if ref.isdigit()
                else (int(ref[2:]) if ref.startswith("id") and ref[2:].isdigit() else 0)
            )
            if 0 < uid <= MAX_USER_ID:
                out.append(self.user_json(uid, fields))
        if not out:
            raise VkError(wire.Code.INVALID_USER_ID, "Invalid user id")
        return out

    # -- groups --------------------------------------------------------------------------
    def m_groups_getById(self, ctx: Ctx) -> Any:
        refs = ctx.items("group_ids") or ([ctx.text("group_id")] if ctx.has("group_id") else [])
        if not refs:
            if ctx.token.kind != "group":
                raise _param_error("group_ids is undefined")
            refs = [str(ctx.token.owner)]
        fields = ctx.items("fields")
        return {"groups": [self.group_json(self._group(r), ctx, fields) for r in refs], "profiles": []}

    def m_groups_get(self, ctx: Ctx) -> Any:
        uid = ctx.num("user_id") or ctx.token.owner
        filters = set(ctx.items("filter"))
        levels = {"moder": 1, "editor": 2, "admin": 3}
        groups = []
        for g in self.groups.values():
            level = g.admins.get(uid, 0)
            wanted = [levels[f] for f in filters if f in levels]
            if wanted:
                if level and level >= min(wanted):
                    groups.append(g)
            elif uid in g.members or level:
                groups.append(g)
        if ctx.flag("extended"):
            return {
                "count": len(groups),
                "items": [self.group_json(g, ctx, ctx.items("fields")) for g in groups],
            }
        return {"count": len(groups), "items": [g.id for g in groups]}

    def m_groups_ban(self, ctx: Ctx) -> Any:
        group = self._group(ctx.req_int("group_id"))
        self._require_admin(ctx, group, 1)
        target = ctx.num("owner_id")
        if not target:
            raise _param_error("owner_id is undefined")
        if group.admins.get(target):
            raise VkError(wire.Code.ACCESS, "Access denied: you cannot ban a community manager")
        group.banned[target] = {
            "end_date": ctx.num("end_date", 0),
            "reason": ctx.num("reason", 0),
            "comment": ctx.text("comment"),
        }
        self.ledger.append({"kind": "user_banned", "group_id": group.id, "owner_id": target})
        self._event(
            group,
            "user_block",
            {
                "admin_id": ctx.token.owner,
                "user_id": target,
                "unblock_date": ctx.num("end_date", 0),
                "reason": ctx.num("reason", 0),
                "comment": ctx.text("comment"),
            },
        )
        return 1

    def m_groups_getMembers(self, ctx: Ctx) -> Any:
        group = self._group(
            ctx.text("group_id") or (str(ctx.token.owner) if ctx.token.kind == "group" else "")
        )
        sort = ctx.text("sort", "id_asc")
        if sort.startswith("time") and self._admin_level(ctx, group) < 1:
            raise VkError(wire.Code.ACCESS, "Access denied: sorting by time is available to managers only")
        if ctx.text("filter") == "managers":
            self._require_admin(ctx, group, 1)
            roles = {1: "moderator", 2: "editor", 3: "administrator"}
            items: list[Any] = [{"id": u, "role": roles[lv]} for u, lv in sorted(group.admins.items())]
            return {"count": len(items), "items": items}
        ids = sorted(
            group.members,
            key=lambda u: (group.members[u], u) if sort.startswith("time") else u,
            reverse=sort.endswith("desc"),
        )
        offset, count = ctx.num("offset", 0) or 0, ctx.num("count", 1000) or 0
        page = ids[offset : offset + count]
        if ctx.items("fields"):
            return {"count": len(ids), "items": [self.profile(u) for u in page]}
        return {"count": len(ids), "items": page}

    def m_groups_isMember(self, ctx: Ctx) -> Any:
        """One ``user_id``: 0/1 (``{"member"}`` when ``extended``); ``user_ids``: a list of
        ``{"member", "user_id"}``, in the order asked."""
        group = self._group(ctx.text("group_id"))
        extended = ctx.flag("extended")
        if ctx.has("user_ids"):
            ids = [int(u) for u in ctx.items("user_ids")]
            return [{"member": int(u in group.members), "user_id": u} for u in ids]
        uid = ctx.num("user_id")
        if uid is None:
            uid = ctx.token.owner if ctx.token.kind == "user" else None
        if uid is None:
            raise _param_error("user_id is undefined")
        member = int(uid in group.members)
        return {"member": member} if extended else member

    def m_likes_getList(self, ctx: Ctx) -> Any:
        """Posts only (``type=post``); ``filter`` likes (default) or copies; ``offset``/``count``
        (default 100); ``extended`` gives profiles instead of ids."""
        if ctx.text("type") != "post":
            raise _param_error("type: only posts are emulated")
        owner_id = self._owner(ctx)
        post = self._post(owner_id, ctx.num("item_id"))
        ids = self.reactors(post, ctx.text("filter", "likes") or "likes")
        offset, count = ctx.num("offset", 0) or 0, ctx.num("count", 100)
        page = ids[offset : offset + (100 if count is None else count)]
        if ctx.flag("extended"):
            return {"count": len(ids), "items": [{"type": "profile", **self.profile(u)} for u in page]}
        return {"count": len(ids), "items": page}

    def _managed_group(self, ctx: Ctx) -> Group:
        group = self._group(ctx.req_int("group_id"))
        self._require_admin(ctx, group, 3)
        return group

    def m_groups_getCallbackConfirmationCode(self, ctx: Ctx) -> Any:
        return {"code": self._managed_group(ctx).confirmation_code}

    def m_groups_addCallbackServer(self, ctx: Ctx) -> Any:
        group = self._managed_group(ctx)
        if len(group.callback_servers) >= 10:
            raise VkError(2000, "Servers number limit is reached")
        url = ctx.text("url")
        if not re.match(r"https?://", url):
            raise _param_error("url is invalid")
        sid = max(group.callback_servers, default=0) + 1
        server = {
            "id": sid,
            "title": ctx.text("title"),
            "creator_id": ctx.token.owner if ctx.token.kind == "user" else 0,
            "url": url,
            "secret_key": ctx.text("secret_key"),
            "status": "wait",
            "events": set(),
            "api_version": wire.API_VERSION,
        }
        group.callback_servers[sid] = server
        self.ledger.append({"kind": "callback_server_added", "group_id": group.id, "server_id": sid})
        threading.Thread(target=self._confirm, args=(group, server), daemon=True).start()
        return {"server_id": sid}

    def _server(self, ctx: Ctx, group: Group) -> dict[str, Any]:
        server = group.callback_servers.get(ctx.num("server_id") or 0)
        if server is None:
            raise _param_error("server_id is invalid")
        return server

    def m_groups_editCallbackServer(self, ctx: Ctx) -> Any:
        group = self._managed_group(ctx)
        server = self._server(ctx, group)
        server.update(
            {
                "url": ctx.text("url") or server["url"],
                "title": ctx.text("title") or server["title"],
                "secret_key": ctx.text("secret_key", server["secret_key"]),
                "status": "wait",
            }
        )
        threading.Thread(target=self._confirm, args=(group, server), daemon=True).start()
        return 1

    def m_groups_deleteCallbackServer(self, ctx: Ctx) -> Any:
        group = self._managed_group(ctx)
        group.callback_servers.pop(self._server(ctx, group)["id"])
        return 1

    def m_groups_getCallbackServers(self, ctx: Ctx) -> Any:
        group = self._managed_group(ctx)
        wanted = {int(x) for x in ctx.items("server_ids")}
        items = [
            {k: v for k, v in s.items() if k not in ("events", "api_version")}
            for s in group.callback_servers.values()
            if not wanted or s["id"] in wanted
        ]
        return {"count": len(items), "items": items}

    def m_groups_setCallbackSettings(self, ctx: Ctx) -> Any:
        group = self._managed_group(ctx)
        server = self._server(ctx, group)
        for name in _EVENT_TYPES:
            if name in ctx.params:
                (server["events"].add if ctx.flag(name) else server["events"].discard)(name)
        if ctx.has("api_version"):
            server["api_version"] = ctx.text("api_version")
        return 1

    def m_groups_getCallbackSettings(self, ctx: Ctx) -> Any:
        group = self._managed_group(ctx)
        server = self._server(ctx, group)
        return {
            "api_version": server["api_version"],
            "events": {n: int(n in server["events"]) for n in _EVENT_TYPES},
        }

    def m_groups_setLongPollSettings(self, ctx: Ctx) -> Any:
        group = self._managed_group(ctx)
        if "enabled" in ctx.params:
            group.longpoll["enabled"] = ctx.flag("enabled")
        events = group.longpoll.setdefault("events", set())
        for name in _EVENT_TYPES:
            if name in ctx.params:
                (events.add if ctx.flag(name) else events.discard)(name)
        return 1

    def m_groups_getLongPollServer(self, ctx: Ctx) -> Any:
        group = self._managed_group(ctx)
        if not group.longpoll.get("enabled"):
            raise VkError(
                wire.Code.PARAM,
                "One of the parameters specified was missing or invalid: Long Poll is disabled in community settings",
            )
        return {"key": group.lp_key, "server": f"{ctx.base_url}/lp/{group.id}", "ts": str(group.event_ts)}

    def longpoll(self, group_id: int, key: str, ts: str) -> tuple[dict[str, Any], bool]:
        """One a_check; returns (answer, has_updates)."""
        with self.lock:
            self.tick()
            group = self.groups.get(group_id)
            if group is None or key != group.lp_key:
                return {"failed": 2}, True
            try:
                wanted = int(ts)
            except ValueError:
                return {"failed": 1, "ts": str(group.event_ts)}, True
            oldest = group.events[0][0] if group.events else group.event_ts
            if wanted > group.event_ts or wanted < oldest:
                return {"failed": 1, "ts": str(group.event_ts)}, True
            allowed = group.longpoll.get("events", set())
            updates = [e for t, e in group.events if t >= wanted and e["type"] in allowed]
            return {"ts": str(group.event_ts), "updates": updates}, bool(updates)

    # -- messages ------------------------------------------------------------------------
    def _message_group(self, ctx: Ctx) -> Group:
        if ctx.token.kind == "group":
            return self.groups[ctx.token.owner]
        group = self._group(ctx.num("group_id") or "")
        self._require_admin(ctx, group, 1)
        return group

    def message_json(self, m: Msg) -> dict[str, Any]:
        chat = m.peer_id >= 2000000000
        out = {
            # A community bot sees chat messages without an id of its own: only their number
            # within the chat (conversation_message_id) names them.
            "id": 0 if chat else m.id,
            "date": m.date,
            "peer_id": m.peer_id,
            "from_id": m.from_id,
            "text": m.text,
            "out": m.out,
            "conversation_message_id": m.cmid if chat else m.id,
            "random_id": m.random_id,
            "attachments": [],
            "fwd_messages": [],
            "important": False,
            "is_hidden": False,
        }
        if m.reply_message is not None:
            out["reply_message"] = m.reply_message
        return out

    def add_message(
        self,
        group: Group,
        peer: int,
        from_id: int,
        text: str,
        out: int,
        random_id: int = 0,
        *,
        reply_to: int | None = None,
        deliver: bool = True,
    ) -> Msg:
        box = self.messages.setdefault(group.id, [])
        cmid = 1 + sum(1 for m in box if m.peer_id == peer)
        msg = Msg(len(box) + 1, group.id, peer, from_id, self.now(), text, out, random_id, cmid)
        if reply_to is not None:
            parent = next((m for m in box if m.peer_id == peer and m.cmid == reply_to), None)
            if parent is None:
                raise _param_error("forward: the message to reply to is not found")
            msg.reply_message = {
                "date": parent.date,
                "from_id": parent.from_id,
                "text": parent.text,
                "attachments": [],
                "conversation_message_id": parent.cmid,
                "peer_id": parent.peer_id,
                "id": 0,
            }
        box.append(msg)
        if not out:
            self.allowed.pop((group.id, peer), None)  # writing to the community lets it answer again
        if not out and deliver:
            self._event(
                group,
                "message_new",
                {
                    "message": self.message_json(msg),
                    "client_info": {
                        "button_actions": ["text"],
                        "keyboard": True,
                        "inline_keyboard": True,
                        "carousel": True,
                        "lang_id": 0,
                    },
                },
            )
        return msg

    def m_messages_send(self, ctx: Ctx) -> Any:
        group = self._message_group(ctx)
        if "random_id" not in ctx.params:
            raise _param_error("random_id is undefined")
        random_id = ctx.num("random_id", 0) or 0
        if len(ctx.text("message")) > 9000:
            raise VkError(wire.Code.MESSAGES_TOO_LONG, "Message is too long")
        if not ctx.text("message") and not ctx.has("attachment") and not ctx.has("sticker_id"):
            raise _param_error("message is undefined")
        many = ctx.has("peer_ids")
        peers = (
            [int(x) for x in ctx.items("peer_ids")]
            if many
            else [ctx.num("peer_id") or ctx.num("user_id") or 0]
        )
        if peers == [0]:
            raise _param_error("peer_id is undefined")
        results = []
        sender = -group.id
        for peer in peers:
            key = (sender, random_id)
            if random_id and key in self.random_ids and not many:
                return self.random_ids[key]
            if not self.may_write(group, peer):
                if many:
                    results.append(
                        {
                            "peer_id": peer,
                            "error": {
                                "code": 901,
                                "description": "Can't send messages for users without permission",
                            },
                        }
                    )
                    continue
                raise VkError(wire.Code.MESSAGES_DENY, "Can't send messages for users without permission")
            msg = self.add_message(
                group, peer, sender, ctx.text("message"), 1, random_id, reply_to=self._reply_in(ctx, peer)
            )
            self.ledger.append(
                {
                    "kind": "message_sent",
                    "group_id": group.id,
                    "peer_id": peer,
                    "message_id": msg.id,
                    "random_id": random_id,
                    "text": msg.text,
                }
            )
            if random_id and not many:
                self.random_ids[key] = msg.id
            results.append({"peer_id": peer, "message_id": msg.id, "conversation_message_id": msg.id})
        return results if many else results[0]["message_id"]

    def may_write(self, group: Group, peer: int) -> bool:
        """Whether the community may message this peer (error 901 otherwise)."""
        if peer >= 2000000000:
            return any(m.peer_id == peer for m in self.messages.get(group.id, []))
        said = self.allowed.get((group.id, peer))
        if said is not None:
            return said
        return any(m.peer_id == peer and not m.out for m in self.messages.get(group.id, []))

    def m_messages_isMessagesFromGroupAllowed(self, ctx: Ctx) -> Any:
        group = self._message_group(ctx)
        if ctx.token.kind == "group" and ctx.num("group_id") != group.id:
            raise _param_error("group_id is invalid")
        return {"is_allowed": int(self.may_write(group, ctx.num("user_id") or 0))}

    def message_permission(self, user_id: int, *, allow: bool, key: str = "") -> None:
        """A person allows or denies the demo community's messages; its Callback servers hear it."""
        with self.lock:
            group = self.groups[DEMO_GROUP_ID]
            self.allowed[(group.id, user_id)] = allow
            if allow:
                self._event(group, "message_allow", {"user_id": user_id, "key": key})
            else:
                self._event(group, "message_deny", {"user_id": user_id})
            self.ledger.append(
                {
                    "kind": "message_allow" if allow else "message_deny",
                    "group_id": group.id,
                    "user_id": user_id,
                }
            )

    @staticmethod
    def _reply_in(ctx: Ctx, peer: int) -> int | None:
        """The conversation_message_id ``forward`` (``is_reply``) or ``reply_to`` answers, if any."""
        if ctx.has("forward"):
            try:
                forward = json.loads(ctx.text("forward"))
                ids = [int(x) for x in forward.get("conversation_message_ids") or []]
                if int(forward.get("peer_id", peer)) != peer:
                    raise ValueError("another conversation")
            except (ValueError, TypeError, AttributeError) as exc:
                raise _param_error("forward is invalid") from exc
            if len(ids) != 1 or not forward.get("is_reply"):
                return None  # a forward, not a reply: nothing to thread (not modelled)
            return ids[0]
        if ctx.has("reply_to") and peer >= 2000000000:
            raise _param_error("reply_to: use forward with is_reply for messages in chats")
        return None

    def m_messages_getConversations(self, ctx: Ctx) -> Any:
        group = self._message_group(ctx)
        box = self.messages.get(group.id, [])
        last: dict[int, Msg] = {}
        for m in box:
            last[m.peer_id] = m
        convs = sorted(last.values(), key=lambda m: -m.id)
        offset, count = ctx.num("offset", 0) or 0, ctx.num("count", 20) or 0
        items = [
            {
                "conversation": {
                    "peer": {"id": m.peer_id, "type": "user", "local_id": m.peer_id},
                    "last_message_id": m.id,
                    "in_read": m.id,
                    "out_read": self.out_read(group, m.peer_id),
                    "can_write": {"allowed": True},
                },
                "last_message": self.message_json(m),
            }
            for m in convs[offset : offset + count]
        ]
        out: dict[str, Any] = {"count": len(convs), "items": items}
        if ctx.flag("extended"):
            out["profiles"] = [self.profile(m.peer_id) for m in convs[offset : offset + count]]
        return out

    def _read_by_model(self, m: Msg) -> bool:
        """Whether the emulated person has read the community's message ``m`` by now: a share
        of READ_SHARE of messages are read, each after its own delay (a pure function of the
        seed and the message, so a run is repeatable)."""
        h = int(self._key("read", m.group_id, m.id)[:12], 16)
        if (h % 1000) / 1000 >= READ_SHARE:
            return False
        low, high = READ_DELAY_S
        return self.now() >= m.date + low + (h // 1000) % (high - low)

    def out_read(self, group: Group, peer: int) -> int:
        """``out_read`` of a conversation: the last outgoing message the person has read. They
        read in order; writing to the community reads all before; a chat reads nothing here."""
        if peer >= 2000000000:
            return 0
        mine = [m for m in self.messages.get(group.id, []) if m.peer_id == peer]
        last_in = max((m.id for m in mine if not m.out), default=0)
        read = self.reads.get((group.id, peer), 0)
        for m in mine:
            if m.out and (m.id < last_in or self._read_by_model(m)):
                read = max(read, m.id)
        return read

    def m_messages_getConversationsById(self, ctx: Ctx) -> Any:
        group = self._message_group(ctx)
        if ctx.token.kind == "group" and ctx.has("group_id") and ctx.num("group_id") != group.id:
            raise _param_error("group_id is invalid")
        box = self.messages.get(group.id, [])
        items = []
        for peer in dict.fromkeys(int(x) for x in ctx.items("peer_ids")):
            mine = [m for m in box if m.peer_id == peer]
            if not mine:
                continue  # no conversation with this peer: VK leaves it out
            last = mine[-1]
            chat = peer >= 2000000000
            items.append(
                {
                    "peer": {
                        "id": peer,
                        "type": "chat" if chat else "user",
                        "local_id": peer - 2000000000 if chat else peer,
                    },
                    "last_message_id": 0 if chat else last.id,
                    "last_conversation_message_id": last.cmid,
                    "in_read": max((m.id for m in mine if not m.out), default=0),
                    "out_read": self.out_read(group, peer),
                    "can_write": {"allowed": self.may_write(group, peer)},
                    "version": last.id,
                }
            )
        return {"count": len(items), "items": items}

    def read_message(self, user_id: int, message_id: int | None = None) -> int:
        """A person reads the demo community's messages up to ``message_id`` (default: all)."""
        with self.lock:
            group = self.groups[DEMO_GROUP_ID]
            ours = [m.id for m in self.messages.get(group.id, []) if m.peer_id == user_id and m.out]
            upto = max((i for i in ours if message_id is None or i <= message_id), default=0)
            key = (group.id, user_id)
            self.reads[key] = max(self.reads.get(key, 0), upto)
            self.ledger.append(
                {"kind": "message_read", "group_id": group.id, "user_id": user_id, "upto": upto}
            )
            return self.reads[key]

    def m_messages_getHistory(self, ctx: Ctx) -> Any:
        group = self._message_group(ctx)
        peer = ctx.num("peer_id") or ctx.num("user_id")
        if not peer:
            raise _param_error("peer_id is undefined")
        msgs = [m for m in self.messages.get(group.id, []) if m.peer_id == peer]
        if ctx.num("rev", 0) != 1:
            msgs.reverse()
        offset, count = ctx.num("offset", 0) or 0, ctx.num("count", 20) or 0
        return {
            "count": len(msgs),
            "items": [self.message_json(m) for m in msgs[max(0, offset) : max(0, offset) + count]],
        }

    # -- search --------------------------------------------------------------------------
    @staticmethod
    def _matches(text: str, words: list[str]) -> bool:
        folded = text.casefold()
        for word in words:
            if word.startswith("#"):
                if not re.search(rf"(?<![\w#]){re.escape(word)}(?!\w)", folded):
                    return False
            elif not re.search(rf"(?<!\w){re.escape(word)}", folded):
                return False
        return True

    def m_newsfeed_search(self, ctx: Ctx) -> Any:
        raw_token = next(k for k, t in self.tokens.items() if t is ctx.token)
        now = self.now()
        day = now // 86400
        used = self.search_calls.get((raw_token, day), 0)
        if self.rate_limits and used >= int(self.options.get("search_daily", 1000)):
            raise VkError(wire.Code.RATE_LIMIT, "Rate limit reached")
        self.search_calls[(raw_token, day)] = used + 1
        count = ctx.num("count", 30)
        count = 30 if count is None else count
        start = ctx.num("start_time", now - 86400)
        end = ctx.num("end_time", now)
        words = [w for w in ctx.text("q").casefold().split() if w]
        found = []
        if words:
            found = [
                p
                for owner in self.posts.values()
                for p in owner.values()
                if not p.deleted
                and p.post_type == "post"
                and (start or 0) <= p.date <= (end if end is not None else now)
                and self._matches(p.text, words)
            ]
        found.sort(key=lambda p: (-p.date, -p.owner_id, -p.id))
        reachable = found[:SEARCH_MAX_RESULTS]
        offset = 0
        match = re.fullmatch(r"(\d+)/[0-9a-f]{8}", ctx.text("start_from"))
        if match:
            offset = int(match.group(1))
        page = reachable[offset : offset + count]
        out: dict[str, Any] = {
            "items": [self.post_json(p, ctx) for p in page],
            "count": len(reachable),
            "total_count": len(found),
        }
        if count and offset + count < len(reachable):
            nxt = offset + count
            out["next_from"] = f"{nxt}/{self._key('nf', ctx.text('q'), nxt)[:8]}"
        if ctx.flag("extended"):
            out.update(self._extended({p.owner_id for p in page} | {p.from_id for p in page}))
        return out

    # -- stats ---------------------------------------------------------------------------
    def m_stats_getPostReach(self, ctx: Ctx) -> Any:
        owner_id = ctx.req_int("owner_id")
        if owner_id >= 0 or -owner_id not in self.groups:
            raise _param_error("owner_id is invalid")
        self._require_admin(ctx, self.groups[-owner_id], 2)
        out = []
        for raw in ctx.items("post_ids"):
            post = self._post(owner_id, int(raw))
            e = self.engagement(post)
            subs = int(e["reach"] * 0.8)
            out.append(
                {
                    "post_id": post.id,
                    "hide": 0,
                    "join_group": e["likes"] // 20,
                    "links": 0,
                    "reach_subscribers": subs,
                    "reach_total": e["reach"],
                    "reach_viral": e["reach"] - subs,
                    "reach_ads": 0,
                    "report": 0,
                    "to_group": e["likes"] // 10,
                    "unsubscribe": 0,
                    "sex_age": [],
                }
            )
        return out

    def m_stats_get(self, ctx: Ctx) -> Any:
        group = self._group(ctx.num("group_id") or "")
        self._require_admin(ctx, group, 2)
        interval = {"day": 86400, "week": 7 * 86400, "month": 30 * 86400, "year": 365 * 86400}.get(
            ctx.text("interval", "day")
        )
        now = self.now()
        t_to = int(float(ctx.text("timestamp_to") or now))
        if interval is None:
            periods = [(0, t_to)]
        else:
            t_from = int(float(ctx.text("timestamp_from") or 0)) or t_to - interval * (
                ctx.num("intervals_count", 1) or 1
            )
            start = t_from - t_from % interval
            periods = [(s, s + interval) for s in range(start, t_to, interval)]
            if not ctx.has("timestamp_from"):
                periods = periods[-(ctx.num("intervals_count", 1) or 1) :]
        out = []
        for p_from, p_to in reversed(periods):
            joined = sum(1 for t, _ in group.joins if p_from <= t < p_to)
            left = sum(1 for t, _ in group.leaves if p_from <= t < p_to)
            posts = [
                p
                for p in self.posts.get(-group.id, {}).values()
                if not p.deleted and p.post_type == "post" and p_from <= p.date < p_to
            ]
            reach = sum(self.engagement(p)["reach"] for p in posts)
            out.append(
                {
                    "period_from": p_from,
                    "period_to": p_to,
                    "activity": {
                        "subscribed": joined,
                        "unsubscribed": left,
                        "likes": sum(self.engagement(p)["likes"] for p in posts),
                        "copies": sum(self.engagement(p)["reposts"] for p in posts),
                        "comments": sum(
                            1 for c in self.comments.get(-group.id, {}).values() if p_from <= c.date < p_to
                        ),
                    },
                    "reach": {
                        "reach": reach,
                        "reach_subscribers": int(reach * 0.8),
                        "mobile_reach": int(reach * 0.7),
                        **_audience_sections(group, p_to, reach),
                    },
                    "visitors": {
                        "views": sum(self.engagement(p)["views"] for p in posts),
                        "visitors": int(reach * 0.3),
                        **_audience_sections(group, p_to, int(reach * 0.3)),
                    },
                }
            )
        return out

    # -- emulator-only helpers -----------------------------------------------------------
    def audience_comment(
        self, post_ref: str, text: str, user_id: int = 10007, reply_to: int | None = None
    ) -> str:
        owner_id, post_id = wire.split_post_id(post_ref)
        with self.lock:
            post = self._post(owner_id, post_id)
            parent = self.comments.get(owner_id, {}).get(reply_to) if reply_to else None
            if reply_to and (parent is None or parent.post_id != post.id):
                raise VkError(wire.Code.PARAM, "reply_to_comment: no such comment on this post")
            comment = self._create_comment(post, user_id, text, parent, self.now())
            return wire.comment_remote_id(owner_id, comment.id)

    def audience_reaction(self, post_ref: str, user_id: int, what: str, undo: bool = False) -> None:
        """A person likes (``likes``) or reposts (``copies``) a post, or takes the like back."""
        owner_id, post_id = wire.split_post_id(post_ref)
        with self.lock:
            post = self._post(owner_id, post_id)
            named = post.liked_by if what == "likes" else post.reposted_by
            if undo:
                named.pop(user_id, None)
            else:
                named.setdefault(user_id, int(self.now()))

    def audience_membership(self, group_id: int, user_id: int, action: str) -> None:
        """A person joins or leaves a community, as the hourly churn does (events included)."""
        with self.lock:
            group = self.groups[group_id]
            when = int(self.now())
            if action == "join" and user_id not in group.members:
                group.members[user_id] = when
                group.joins.append((when, user_id))
                self._event(group, "group_join", {"user_id": user_id, "join_type": "join"})
            elif action == "leave" and user_id in group.members:
                del group.members[user_id]
                group.leaves.append((when, user_id))
                self._event(group, "group_leave", {"user_id": user_id, "self": 1})

    def audience_change(self, comment_ref: str, action: str, text: str = "") -> None:
        """The comment's author edits (``edit``), deletes (``delete``) or restores (``restore``) it."""
        owner_id, comment_id = comment_ref.split("_", 1)
        with self.lock:
            comment = self.comments.get(int(owner_id), {}).get(int(comment_id))
            if comment is None:
                raise VkError(wire.Code.WALL_ACCESS_COMMENT, "Access to wall's comment denied")
            if action == "edit" and not comment.deleted:
                self._edit_comment(comment, text)
            elif action in ("delete", "restore") and comment.deleted != (action == "delete"):
                self._set_deleted(comment, action == "delete")

    def audience_message(self, text: str, user_id: int = 10011) -> int:
        with self.lock:
            group = self.groups[DEMO_GROUP_ID]
            msg = self.add_message(group, user_id, user_id, text, 0)
            self.ledger.append(
                {"kind": "message_received", "group_id": group.id, "peer_id": user_id, "message_id": msg.id}
            )
            return msg.id

    def public_post(self, owner_id: int, text: str, from_id: int | None = None, ago_s: int = 0) -> str:
        """Someone publishes a public post (a user on their wall, or a community on its own)."""
        with self.lock:
            if owner_id < 0 and -owner_id not in self.groups:
                raise VkError(wire.Code.PARAM_GROUP_ID, "Invalid group id")
            author = owner_id if from_id is None else from_id
            post = self._add_post(owner_id, author, abs(author), self.now() - max(0, ago_s), text, [])
            if owner_id < 0 and author > 0:
                self._post_event(post)  # a member's post on a community wall reaches the community
            return wire.post_remote_id(owner_id, post.id)

    def chat_message(self, text: str, user_id: int = 10011, reply_to: int | None = None) -> dict[str, Any]:
        """A member writes in the group chat; the bot gets it when VK would give it to a bot."""
        with self.lock:
            group = self.groups[DEMO_GROUP_ID]
            for g in self.groups.values():  # VK writes a typed @mention as a link to the community
                text = re.sub(
                    rf"(?<![\w\[|])@{re.escape(g.screen_name)}\b",
                    f"[club{g.id}|@{g.screen_name}]",
                    text,
                    flags=re.IGNORECASE,
                )
            box = self.messages.get(group.id, [])
            parent = next((m for m in box if m.peer_id == CHAT_PEER_ID and m.cmid == reply_to), None)
            addressed = (
                self.chat_all
                or f"[club{group.id}|" in text
                or f"[public{group.id}|" in text
                or text.startswith("/")
                or (parent is not None and parent.from_id == -group.id)
            )
            msg = self.add_message(
                group, CHAT_PEER_ID, user_id, text, 0, reply_to=reply_to, deliver=addressed
            )
            return {"peer_id": CHAT_PEER_ID, "conversation_message_id": msg.cmid, "delivered": addressed}

    def posts_with(self, marker: str) -> int:
        with self.lock:
            self.tick()
            return sum(
                1
                for owner in self.posts.values()
                for p in owner.values()
                if not p.deleted and p.post_type == "post" and marker in p.text
            )

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "now": self.now(),
                "groups": [
                    {
                        "id": g.id,
                        "name": g.name,
                        "screen_name": g.screen_name,
                        "members": len(g.members),
                        "callback_servers": [
                            {k: v for k, v in s.items() if k != "events"} | {"events": sorted(s["events"])}
                            for s in g.callback_servers.values()
                        ],
                        "event_ts": g.event_ts,
                        "banned": sorted(g.banned),
                    }
                    for g in self.groups.values()
                ],
                "posts": [
                    {
                        "owner_id": p.owner_id,
                        "id": p.id,
                        "text": p.text,
                        "post_type": p.post_type,
                        "deleted": p.deleted,
                        "date": p.date,
                        "guid": p.guid,
                        **self.engagement(p),
                    }
                    for owner in self.posts.values()
                    for p in owner.values()
                ],
                "comments": [
                    self.comment_json(c) | {"deleted": c.deleted}
                    for o in self.comments.values()
                    for c in o.values()
                ],
                "messages": [self.message_json(m) for box in self.messages.values() for m in box],
                "videos": [
                    {
                        "owner_id": v["owner_id"],
                        "id": v["id"],
                        "title": v["title"],
                        "uploaded": v["uploaded"],
                        "size": v["size"],
                    }
                    for v in self.videos.values()
                ],
                "video_uploads": self.video_uploads,
                "deliveries": list(self.deliveries),
            }


def _method_of(scope: Scope, _body: bytes) -> str | None:
    path: str = scope["path"]
    if path.startswith("/method/"):
        return path[len("/method/") :]
    if path.startswith("/upload/video"):
        return "video.upload"
    if path.startswith("/upload/"):
        return "upload"
    if path.startswith("/lp/"):
        return "longpoll"
    return None


def _rate_limited(method: str) -> Response:
    return JSONResponse(
        wire.error_envelope(
            wire.Code.TOO_MANY, "Too many requests per second", {"oauth": "1", "method": method}
        )
    )


def create_app(seed: int = 0, rate_limits: bool = True, **options: Any) -> Any:  # noqa: C901 - the emulator's route table
    """The emulated VK API as an ASGI app; ``app.state.emulator`` is the :class:`VkEmulator`."""
    clock = EmulatorClock()
    emulator = VkEmulator(seed=seed, rate_limits=rate_limits, clock=clock, **options)
    injector = FaultInjector(seed=seed)

    def base_url(request: Request) -> str:
        return f"{request.url.scheme}://{request.url.netloc}"

    async def api(request: Request) -> Response:
        method = request.path_params["name"]
        params: dict[str, str] = dict(request.query_params)
        ctype = request.headers.get("content-type", "")
        if request.method == "POST" and ("form" in ctype):
            form = await request.form()
            for key, value in form.multi_items():
                if not isinstance(value, UploadFile):
                    params[key] = value
        auth = request.headers.get("authorization", "")
        bearer = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        answer = await asyncio.to_thread(emulator.call, method, params, bearer, base_url(request))
        return JSONResponse(answer)

    async def upload(request: Request) -> Response:
        data: bytes | None = None
        filename = ""
        if "multipart/form-data" in request.headers.get("content-type", ""):
            form = await request.form()
            item = form.get("photo")
            if isinstance(item, UploadFile):
                data = await item.read()
                filename = item.filename or ""
        answer = emulator.upload(dict(request.query_params), data, filename)
        return JSONResponse(answer)

    async def upload_video(request: Request) -> Response:
        data: bytes | None = None
        filename = ""
        if "multipart/form-data" in request.headers.get("content-type", ""):
            form = await request.form()
            item = form.get("video_file")
            if isinstance(item, UploadFile):
                data = await item.read()
                filename = item.filename or ""
        answer = await asyncio.to_thread(emulator.upload_video, dict(request.query_params), data, filename)
        return JSONResponse(answer)

    async def longpoll(request: Request) -> Response:
        q = request.query_params
        if q.get("act") != "a_check":
            return JSONResponse({"failed": 2})
        try:
            wait = min(90.0, max(0.0, float(q.get("wait", "25"))))
        except ValueError:
            wait = 25.0
        deadline = time.monotonic() + wait
        gid = int(request.path_params["group_id"])
        while True:
            answer, ready = await asyncio.to_thread(emulator.longpoll, gid, q.get("key", ""), q.get("ts", ""))
            if ready or time.monotonic() >= deadline:
                return JSONResponse(answer)
            await asyncio.sleep(0.05)

    async def queue_error(request: Request) -> Response:
        spec = json.loads(await request.body() or b"{}")
        with emulator.lock:
            emulator.queued_errors.append(
                {
                    "method": spec.get("method"),
                    "code": int(spec["code"]),
                    "count": int(spec.get("count", 1)),
                    "msg": spec.get("msg"),
                }
            )
        return JSONResponse({"ok": True})

    async def audience_comment(request: Request) -> Response:
        spec = json.loads(await request.body() or b"{}")
        try:
            remote = emulator.audience_comment(
                str(spec["post"]),
                str(spec.get("text", "")),
                int(spec.get("user_id", 10007)),
                int(spec["reply_to"]) if spec.get("reply_to") else None,
            )
        except VkError as exc:
            return JSONResponse({"error": exc.msg}, status_code=404)
        return JSONResponse({"comment": remote})

    async def audience_reaction(request: Request) -> Response:
        spec = json.loads(await request.body() or b"{}")
        try:
            emulator.audience_reaction(
                str(spec["post"]),
                int(spec["user_id"]),
                "copies" if spec.get("type") == "copy" else "likes",
                bool(spec.get("undo", False)),
            )
        except VkError as exc:
            return JSONResponse({"error": exc.msg}, status_code=404)
        return JSONResponse({"ok": True})

    async def audience_membership(request: Request) -> Response:
        spec = json.loads(await request.body() or b"{}")
        try:
            emulator.audience_membership(int(spec["group_id"]), int(spec["user_id"]), str(spec["action"]))
        except KeyError:
            return JSONResponse({"error": "no such community"}, status_code=404)
        return JSONResponse({"ok": True})

    async def audience_change(request: Request) -> Response:
        spec = json.loads(await request.body() or b"{}")
        try:
            emulator.audience_change(str(spec["comment"]), str(spec["action"]), str(spec.get("text", "")))
        except VkError as exc:
            return JSONResponse({"error": exc.msg}, status_code=404)
        return JSONResponse({"ok": True})

    async def audience_message(request: Request) -> Response:
        spec = json.loads(await request.body() or b"{}")
        mid = emulator.audience_message(str(spec.get("text", "")), int(spec.get("user_id", 10011)))
        return JSONResponse({"message_id": mid, "peer_id": int(spec.get("user_id", 10011))})

    async def message_allow(request: Request) -> Response:
        spec = json.loads(await request.body() or b"{}")
        emulator.message_permission(
            int(spec["user_id"]), allow=bool(spec.get("allow", True)), key=str(spec.get("key", ""))
        )
        return JSONResponse({"ok": True})

    async def message_read(request: Request) -> Response:
        spec = json.loads(await request.body() or b"{}")
        upto = spec.get("message_id")
        read = emulator.read_message(int(spec["user_id"]), int(upto) if upto is not None else None)
        return JSONResponse({"out_read": read})

    async def public_post(request: Request) -> Response:
        spec = json.loads(await request.body() or b"{}")
        try:
            remote = emulator.public_post(
                int(spec["owner_id"]),
                str(spec.get("text", "")),
                int(spec["from_id"]) if spec.get("from_id") is not None else None,
                int(spec.get("ago_s", 0)),
            )
        except VkError as exc:
            return JSONResponse({"error": exc.msg}, status_code=404)
        return JSONResponse({"post": remote})

    async def chat_message(request: Request) -> Response:
        spec = json.loads(await request.body() or b"{}")
        try:
            answer = emulator.chat_message(
                str(spec.get("text", "")),
                int(spec.get("user_id", 10011)),
                int(spec["reply_to"]) if spec.get("reply_to") is not None else None,
            )
        except VkError as exc:
            return JSONResponse({"error": exc.msg}, status_code=404)
        return JSONResponse(answer)

    async def posts_with(request: Request) -> Response:
        return JSONResponse({"count": emulator.posts_with(request.query_params.get("marker", ""))})

    async def longpoll_control(request: Request) -> Response:
        spec = json.loads(await request.body() or b"{}")
        with emulator.lock:
            for group in emulator.groups.values():
                if spec.get("expire_key") or spec.get("lose_history"):
                    group.lp_key = emulator._key("lp", group.id, time.monotonic_ns())
                if spec.get("lose_history"):
                    group.events.clear()
                    group.event_ts += 1000
        return JSONResponse({"ok": True})

    async def captcha(_request: Request) -> Response:
        return PlainTextResponse("captcha image")

    async def post_page(request: Request) -> Response:
        # The public page of a post, at the address the adapter returns (vk.com/wall<owner>_<id>),
        # so the demo's "open on the network" leads somewhere. Read-only.
        try:
            owner_id, post_id = int(request.path_params["owner_id"]), int(request.path_params["post_id"])
        except ValueError:
            return PlainTextResponse("Not found", status_code=404)
        with emulator.lock:
            post = emulator.posts.get(owner_id, {}).get(post_id)
            if post is None or post.deleted:
                return PlainTextResponse("Not found", status_code=404)
            text, edited = post.text, post.edited
        body = html.escape(text).replace("\n", "<br>")
        note = "<p><small>edited</small></p>" if edited else ""
        return HTMLResponse(
            f"<!doctype html><meta charset='utf-8'><title>VK post wall{owner_id}_{post_id}</title>"
            f"<h1>VK (emulator): wall{owner_id}_{post_id}</h1><article>{body}</article>{note}"
        )

    def reset() -> None:
        emulator.reset()

    routes = [
        Route("/method/{name}", api, methods=["GET", "POST"]),
        Route("/upload/wall", upload, methods=["POST"]),
        Route("/upload/video", upload_video, methods=["POST"]),
        Route("/lp/{group_id:int}", longpoll, methods=["GET", "POST"]),
        Route("/captcha.php", captcha, methods=["GET"]),
        Route("/wall{owner_id}_{post_id}", post_page, methods=["GET"]),
        Route("/_emulator/vk/errors", queue_error, methods=["POST"]),
        Route("/_emulator/vk/audience_comment", audience_comment, methods=["POST"]),
        Route("/_emulator/vk/audience_change", audience_change, methods=["POST"]),
        Route("/_emulator/vk/audience_reaction", audience_reaction, methods=["POST"]),
        Route("/_emulator/vk/audience_membership", audience_membership, methods=["POST"]),
        Route("/_emulator/vk/audience_message", audience_message, methods=["POST"]),
        Route("/_emulator/vk/posts_with", posts_with, methods=["GET"]),
        Route("/_emulator/vk/public_post", public_post, methods=["POST"]),
        Route("/_emulator/vk/chat_message", chat_message, methods=["POST"]),
        Route("/_emulator/vk/message_allow", message_allow, methods=["POST"]),
        Route("/_emulator/vk/message_read", message_read, methods=["POST"]),
        Route("/_emulator/vk/longpoll", longpoll_control, methods=["POST"]),
        *control_routes(injector, clock, emulator.snapshot, lambda: list(emulator.ledger), reset),
    ]
    inner = Starlette(routes=routes)
    inner.state.emulator = emulator
    inner.state.injector = injector
    inner.state.clock = clock
    app = FaultMiddleware(inner, injector, _method_of, _rate_limited)
    app.state = SimpleNamespace(emulator=emulator, injector=injector, clock=clock)  # type: ignore[attr-defined]  # Starlette's app has no declared slot for the emulator; tests and the demo reach it here
    app.emulator = emulator  # type: ignore[attr-defined]  # Starlette's app has no declared slot for the emulator; tests and the demo reach it here
    return app
