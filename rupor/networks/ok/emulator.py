"""An emulator of the OK.ru REST API (``fb.do``) for tests, benchmarks and the offline demo.

It behaves like https://api.ok.ru/ as documented on apiok.ru:

* ``/fb.do?method=<name>`` and ``/api/<group>/<name>``, GET query or POST form parameters
  (both merged), JSON answers;
* ``application_key`` and ``sig`` checked on every call (session secret
  ``md5(access_token + application_secret_key)``, or the application secret for calls without
  a session); wrong signature → 104 PARAM_SIGNATURE, unknown application → 101, unknown or
  expired token → 102 PARAM_SESSION_EXPIRED, missing session → 103, missing or malformed
  method parameters → 100 PARAM, unknown method → 3 METHOD, no right → 10 PERMISSION_DENIED;
* errors as ``{"error_code", "error_msg", "error_data"}`` with HTTP 200 and the
  ``invocation-error`` header;
* throttling with 8 FLOOD_BLOCKED per token at ``ASSUMED_REQUESTS_PER_SECOND`` calls per second
  (OK publishes no limit; the adapter declares the same rate; ``rate_limits=False`` turns it off);
* long access tokens live 30 days and any call extends them (at most once a day);
* photo upload through ``photosV2.getUploadUrl`` → multipart POST to the returned
  ``upload_url`` (served here) → per-photo tokens used in the ``mediatopic.post`` attachment;
* video upload through ``video.getUploadUrl`` (``gid``/``uid``, ``file_name``, ``file_size``,
  ``post_form``; ``PARAM : FileToSmall`` under 16 KB, ``FileToLarge`` over 1 GB, ``BadFormat``
  for a non-video file name) → POST of the file (multipart, any file field, or the raw body) to
  ``upload_url`` (``/upload/video``) → ``{"type": "movie", "list": [{"id": video_id}]}`` in the
  ``mediatopic.post`` attachment; ``video.update`` sets title, description, tags, privacy;
* **no idempotency**: posting the same attachment twice creates two topics, as on OK.

State lives in memory per instance; likes, views, reshares, audience comments and members
evolve deterministically with the emulator clock from ``seed``. Every side effect is appended
to the ledger (``GET /_emulator/ledger``).
"""

# Sample audience texts are Russian on purpose (OK is a Russian-speaking network).
# ruff: noqa: RUF001

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import json
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Scope

from rupor.networks import engagement
from rupor.networks.base import looks_like_video
from rupor.networks.emulation import EmulatorClock, FaultInjector, FaultMiddleware, control_routes
from rupor.networks.ok import wire
from rupor.networks.ok.adapter import ASSUMED_REQUESTS_PER_SECOND

# -- the seeded world -----------------------------------------------------------------------
DEMO_APP_ID = "512000000001"
DEMO_APP_KEY = "CBAEMULATORKEYABCD"
DEMO_APP_SECRET = "5F0E9A1B2C3D4E5F60718293"
DEMO_TOKEN = "tkn1emulatordemo0123456789abcdefghijklmnopqrstuvwxyzDEMO"
#: A valid token whose user never granted GROUP_CONTENT (cannot post to groups).
NO_CONTENT_TOKEN = "tkn1emulatornocontent0123456789abcdefghijklmnopqrstNOGC"
#: A token that has expired (30 days without a call).
EXPIRED_TOKEN = "tkn1emulatorexpired0123456789abcdefghijklmnopqrstuvwEXP"
DEMO_UID = "570000000001"
DEMO_GID = "70000000000001"
#: A group the demo user is only a member of (no right to post).
NO_RIGHTS_GID = "70000000000002"
#: A public competitor group with posts, readable by anyone.
COMPETITOR_GID = "70000000000003"
COMPETITOR_SHORTNAME = "rivalnews"

LONG_TOKEN_TTL_S = 30 * 24 * 3600
UPLOAD_TTL_MS = 24 * 3600 * 1000
SIGNED_METHOD_PARAMS = ("method",)

AUDIENCE = (
    ("570000000101", "Ольга", "Смирнова"),
    ("570000000102", "Иван", "Петров"),
    ("570000000103", "Marina", "Kim"),
    ("570000000104", "Сергей", "Волков"),
    ("570000000105", "Наталья", "Орлова"),
    ("570000000106", "Алексей", "Фёдоров"),
)
AUDIENCE_LINES = (
    "Класс! 👍",
    "Спасибо, очень полезно",
    "А когда следующий выпуск?",
    "Согласна на все сто",
    "Интересно, расскажите подробнее",
    "Поделилась с подругами 🌸",
    "Отличная новость!",
)
COMPETITOR_POSTS = (
    "Итоги недели: рассказываем о главном",
    "Скидки выходного дня — только до воскресенья!",
    "Как мы выбирали поставщика: честный рассказ",
    "Опрос: какой формат постов вам нравится больше?",
    "Новая коллекция уже в магазинах 🎉",
)


class ApiError(Exception):
    def __init__(self, code: int, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass
class Token:
    uid: str
    app_key: str
    permissions: frozenset[str]
    expires_at: float
    extended_at: float = 0.0
    revoked: bool = False


@dataclass
class Group:
    gid: str
    name: str
    shortname: str
    description: str
    base_members: int
    admins: set[str] = field(default_factory=set)
    moderators: set[str] = field(default_factory=set)
    members: set[str] = field(default_factory=set)
    join_rate_per_h: float = 0.0
    leave_rate_per_h: float = 0.0


def _format(media: list[dict[str, Any]]) -> str:
    """A topic's format for the engagement model: video, photo, poll or link when attached."""
    kinds = {block.get("type") for block in media}
    for kind, name in (("movie", "video"), ("photo", "photo"), ("poll", "poll"), ("link", "link")):
        if kind in kinds:
            return name
    return "text"


#: UTC hours the rival group posts at (morning to evening in Moscow).
_PAGE_HOURS = (5, 6, 9, 12, 15, 17)


@dataclass
class OkComment:
    id: str
    topic_id: str
    author_id: str
    author_type: str  # "USER" | "GROUP"
    text: str
    created: float
    reply_to: str | None = None
    deleted: bool = False
    audience: bool = False


@dataclass
class Topic:
    id: str
    gid: str | None
    owner_uid: str | None
    author_ref: str
    media: list[dict[str, Any]]
    created: float
    visible_at: float
    rates: tuple[float, float, float, float]
    deleted: bool = False
    restore_id: str = ""
    comments: list[OkComment] = field(default_factory=list)
    audience_comments: int = 0
    #: How many followed the group when the topic was made (the audience its counters grow from).
    audience: int = 100

    @property
    def text(self) -> str:
        return wire.topic_text(self.media)


class OkEmulatorState:
    """Everything the emulated OK knows. All access goes through ``lock``."""

    def __init__(
        self,
        seed: int = 0,
        rate_limits: bool = True,
        requests_per_second: int = ASSUMED_REQUESTS_PER_SECOND,
        clock: EmulatorClock | None = None,
    ) -> None:
        self.seed = seed
        self.rate_limits = rate_limits
        self.requests_per_second = requests_per_second
        self.clock = clock or EmulatorClock()
        self.lock = threading.RLock()
        self.base_url = ""
        self._build()

    # -- world ----------------------------------------------------------------------------
    def _build(self) -> None:
        now = self.clock.timestamp()
        self.started = now
        self._flow_totals: dict[str, list[tuple[int, int]]] = {}
        self._page_day = 0  # the day of the rival group's next post (tick)
        self._page_posts = 0
        self.rng = random.Random(self.seed)
        self._next_id = 800000000000000 + self.seed * 1000
        self.apps = {DEMO_APP_KEY: DEMO_APP_SECRET}
        full = frozenset(
            {"VALUABLE_ACCESS", "GROUP_CONTENT", "PHOTO_CONTENT", "VIDEO_CONTENT", "LONG_ACCESS_TOKEN"}
        )
        self.tokens: dict[str, Token] = {
            DEMO_TOKEN: Token(DEMO_UID, DEMO_APP_KEY, full, now + LONG_TOKEN_TTL_S),
            NO_CONTENT_TOKEN: Token(
                DEMO_UID,
                DEMO_APP_KEY,
                frozenset({"VALUABLE_ACCESS", "LONG_ACCESS_TOKEN"}),
                now + LONG_TOKEN_TTL_S,
            ),
            EXPIRED_TOKEN: Token(DEMO_UID, DEMO_APP_KEY, full, now - 3600),
        }
        self.users: dict[str, tuple[str, str]] = {DEMO_UID: ("Анна", "Демидова")}
        for uid, first, last in AUDIENCE:
            self.users[uid] = (first, last)
        self.groups: dict[str, Group] = {
            DEMO_GID: Group(
                DEMO_GID,
                "Rupor Demo Bakery",
                "ruporbakery",
                "Свежая выпечка каждый день",
                1200,
                admins={DEMO_UID},
                join_rate_per_h=0.4,  # about 10 joins and 5 leaves a day
                leave_rate_per_h=0.2,
            ),
            NO_RIGHTS_GID: Group(
                NO_RIGHTS_GID,
                "Городской клуб любителей кофе",
                "coffeeclub",
                "Клуб",
                5400,
                members={DEMO_UID},
                join_rate_per_h=2.0,
                leave_rate_per_h=1.5,
            ),
            COMPETITOR_GID: Group(
                COMPETITOR_GID,
                "Rival News",
                COMPETITOR_SHORTNAME,
                "Новости конкурента",
                48200,
                join_rate_per_h=9.0,
                leave_rate_per_h=4.0,
            ),
        }
        self.topics: dict[str, Topic] = {}
        self.uploads: dict[str, dict[str, Any]] = {}  # photo_id -> {gid, expires, token}
        self.photo_tokens: dict[str, str] = {}  # token -> photo_id
        self.videos: dict[
            str, dict[str, Any]
        ] = {}  # video_id -> {gid, uid, title, declared_size, uploaded, ...}
        self.video_uploads = 0
        self.ledger: list[dict[str, Any]] = []
        self.calls: dict[str, deque[float]] = {}
        for index, text in enumerate(COMPETITOR_POSTS):
            created = now - (len(COMPETITOR_POSTS) - index) * 6 * 3600
            self._new_topic(
                COMPETITOR_GID,
                None,
                f"group:{COMPETITOR_GID}",
                [{"type": "text", "text": text}],
                created,
                created,
            )
        for index, text in enumerate(("Добро пожаловать в нашу пекарню!", "Сегодня в меню: круассаны")):
            created = now - (2 - index) * 24 * 3600
            self._new_topic(
                DEMO_GID, None, f"group:{DEMO_GID}", [{"type": "text", "text": text}], created, created
            )

    def tick(self) -> None:
        """Other brands' groups keep posting as the clock moves (competitor watching has a
        stream to follow): the rival group once a day, at an hour drawn from the seed and the day."""
        with self.lock:
            now = self.now()
            while True:
                day = self._page_day or int(self.started // 86400) + 1
                when = day * 86400 + random.Random(f"{self.seed}:page:{day}").choice(_PAGE_HOURS) * 3600
                if when > now:
                    return
                self._page_day = day + 1
                text = COMPETITOR_POSTS[self._page_posts % len(COMPETITOR_POSTS)]
                self._page_posts += 1
                media = [{"type": "text", "text": text}]
                if self._page_posts % 3 == 0:
                    media.append({"type": "link", "url": "https://example.com/rival"})
                self._new_topic(COMPETITOR_GID, None, f"group:{COMPETITOR_GID}", media, when, when)

    def reset(self) -> None:
        with self.lock:
            self._build()

    def new_id(self) -> str:
        self._next_id += 1 + self.rng.randrange(7)
        return str(self._next_id)

    def _new_topic(
        self,
        gid: str | None,
        owner_uid: str | None,
        author_ref: str,
        media: list[dict[str, Any]],
        created: float,
        visible_at: float,
    ) -> Topic:
        tid = self.new_id()
        digest = hashlib.sha256(f"{self.seed}:{tid}".encode()).digest()
        rates = tuple(0.5 + b / 255 for b in digest[:4])
        topic = Topic(tid, gid, owner_uid, author_ref, media, created, visible_at, rates)  # type: ignore[arg-type]  # the four engagement rates are a fixed-size tuple built from four digest bytes
        group = self.groups.get(gid) if gid else None
        topic.audience = self.members(group) if group is not None else 100
        self.topics[tid] = topic
        return topic

    # -- evolving numbers -------------------------------------------------------------------
    def now(self) -> float:
        return self.clock.timestamp()

    def members(self, group: Group) -> int:
        """The group's members now: the start count plus every join and minus every leave since
        the world began (networks/engagement.py's hourly member flow, at the group's rates)."""
        joins, leaves = self._flow(group, int(self.now() // 3600))
        return group.base_members + len(group.members) + len(group.admins) + joins - leaves

    def _flow(self, group: Group, hour: int) -> tuple[int, int]:
        """Joins and leaves of ``group`` from the world's first hour up to ``hour`` (cached as
        running totals: the clock mostly moves forward)."""
        first = int(self.started // 3600)
        totals = self._flow_totals.setdefault(group.gid, [(0, 0)])  # totals[i]: hours first..first+i-1
        while len(totals) <= hour - first:
            h = first + len(totals) - 1
            j, lv = engagement.member_flow(
                self.seed,
                f"ok:{group.gid}",
                h,
                joins_per_day=group.join_rate_per_h * 24,
                leaves_per_day=group.leave_rate_per_h * 24,
            )
            last = totals[-1]
            totals.append((last[0] + j, last[1] + lv))
        return totals[max(0, hour - first)]

    def counts(self, topic: Topic) -> dict[str, int]:
        """The topic's counters now (networks/engagement.py: age, quality, hour, format)."""
        model = engagement.post_counts(
            self.seed,
            f"ok:{topic.id}",
            published=topic.visible_at,
            now=self.now(),
            audience=topic.audience,
            content_format=_format(topic.media),
        )
        self._grow_audience(topic, model.comments)
        return {
            "views": model.views,
            "reach": model.reach,
            "likes": model.likes,
            "reshares": model.reposts,
            "comments": sum(1 for c in topic.comments if not c.deleted),
        }

    def _grow_audience(self, topic: Topic, due: int) -> None:
        target = min(25, due)
        while topic.audience_comments < target:
            k = topic.audience_comments
            pick = random.Random(f"{self.seed}:{topic.id}:{k}")
            uid = AUDIENCE[pick.randrange(len(AUDIENCE))][0]
            text = AUDIENCE_LINES[pick.randrange(len(AUDIENCE_LINES))]
            topic.comments.append(
                OkComment(self.new_id(), topic.id, uid, "USER", text, self.now(), audience=True)
            )
            topic.audience_comments += 1

    def audience_comment(self, topic_id: str, text: str, uid: str | None = None) -> str:
        with self.lock:
            topic = self.topics.get(topic_id)
            if topic is None or topic.deleted:
                raise KeyError(topic_id)
            author = uid or AUDIENCE[len(topic.comments) % len(AUDIENCE)][0]
            comment = OkComment(self.new_id(), topic_id, author, "USER", text, self.now(), audience=True)
            topic.comments.append(comment)
            return comment.id

    def posts_with(self, marker: str) -> int:
        with self.lock:
            return sum(1 for t in self.topics.values() if not t.deleted and marker in t.text)

    # -- snapshots ---------------------------------------------------------------------------
    def dump(self) -> dict[str, Any]:
        with self.lock:
            return {
                "groups": {
                    gid: {"name": g.name, "members": self.members(g)} for gid, g in self.groups.items()
                },
                "topics": [
                    {
                        "id": t.id,
                        "gid": t.gid,
                        "text": t.text,
                        "deleted": t.deleted,
                        "created_ms": int(t.created * 1000),
                        "comments": len([c for c in t.comments if not c.deleted]),
                        **self.counts(t),
                    }
                    for t in self.topics.values()
                ],
                "videos": [
                    {
                        "id": vid,
                        "gid": v["gid"],
                        "title": v["title"],
                        "uploaded": v["uploaded"],
                        "size": v["size"],
                    }
                    for vid, v in self.videos.items()
                ],
                "video_uploads": self.video_uploads,
                "tokens": {
                    tok[:8] + "…": {"uid": t.uid, "expires_at": t.expires_at, "revoked": t.revoked}
                    for tok, t in self.tokens.items()
                },
            }

    def record(self, kind: str, **data: Any) -> None:
        self.ledger.append(
            {"kind": kind, "at": dt.datetime.fromtimestamp(self.now(), dt.UTC).isoformat(), **data}
        )


# -- request context --------------------------------------------------------------------------
@dataclass
class Call:
    state: OkEmulatorState
    params: dict[str, str]
    token: Token | None

    def require(self, name: str) -> str:
        value = self.params.get(name)
        if value is None or value == "":
            raise ApiError(wire.Code.PARAM, f"Missing required parameter {name}")
        return value

    def opt_int(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.params.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError as exc:
            raise ApiError(wire.Code.PARAM, f"Invalid value of parameter {name}: {raw}") from exc
        if not low <= value <= high:
            raise ApiError(wire.Code.PARAM, f"Parameter {name} must be between {low} and {high}")
        return value

    def opt_bool(self, name: str) -> bool:
        return self.params.get(name, "").lower() in ("true", "1")

    @property
    def uid(self) -> str:
        if self.token is None:
            uid = self.params.get("uid")
            if not uid:
                raise ApiError(wire.Code.PARAM_SESSION_KEY, "Session key is required for this method")
            return uid
        return self.token.uid

    def group(self, gid: str) -> Group:
        group = self.state.groups.get(gid)
        if group is None:
            raise ApiError(wire.Code.NOT_FOUND, f"Group {gid} not found")
        return group

    def is_manager(self, group: Group) -> bool:
        return self.uid in group.admins or self.uid in group.moderators

    def need_permission(self, name: str) -> None:
        if self.token is not None and name not in self.token.permissions:
            raise ApiError(
                wire.Code.PERMISSION_DENIED, f"Application has no permission {name} granted by the user"
            )


Handler = Callable[[Call], Any]


def _group_json(state: OkEmulatorState, group: Group, fields: set[str]) -> dict[str, Any]:
    full = {
        "uid": group.gid,
        "name": group.name,
        "description": group.description,
        "shortname": group.shortname,
        "members_count": state.members(group),
        "pic_avatar": f"https://i.mycdn.me/i?r=group{group.gid}",
        "private": False,
        "premium": False,
        "status": "ACTIVE",
    }
    wanted = {f.strip().lower() for f in fields if f.strip()}
    if "*" in wanted:
        return full
    out: dict[str, Any] = {"uid": group.gid}
    out.update({k: v for k, v in full.items() if k in wanted})
    return out


def _topic_json(state: OkEmulatorState, topic: Topic) -> dict[str, Any]:
    counts = state.counts(topic)
    media = []
    for block in topic.media:
        if block.get("type") == "photo":
            media.append({"type": "photo", "photo_refs": [f"photo:{p['id']}" for p in block.get("list", [])]})
        elif block.get("type") == "movie":
            media.append({"type": "movie", "movie_refs": [f"movie:{m['id']}" for m in block.get("list", [])]})
        else:
            media.append(dict(block))
    owner_ref = f"group:{topic.gid}" if topic.gid else f"user:{topic.owner_uid}"
    return {
        "id": topic.id,
        "created_ms": int(topic.visible_at * 1000),
        "author_ref": topic.author_ref,
        "owner_ref": owner_ref,
        "media": media,
        "like_summary": {"count": counts["likes"], "self": False},
        "reshare_summary": {"count": counts["reshares"], "self": False},
        "discussion_summary": {"comments_count": counts["comments"]},
        "is_commenting_denied": False,
    }


def _comment_json(state: OkEmulatorState, comment: OkComment) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": comment.id,
        "text": comment.text,
        "date": wire.to_ok_datetime(dt.datetime.fromtimestamp(comment.created, dt.UTC)),
        "date_ms": int(comment.created * 1000),
        "author_id": comment.author_id,
        "author_type": comment.author_type,
        "like_count": 0,
        "liked_it": False,
    }
    if comment.author_type == "USER" and comment.author_id in state.users:
        first, last = state.users[comment.author_id]
        out["author_name"] = f"{first} {last}"
    elif comment.author_type == "GROUP" and comment.author_id in state.groups:
        out["author_name"] = state.groups[comment.author_id].name
    if comment.reply_to:
        out["reply_to_comment_id"] = comment.reply_to
        parent = next((c for c in state.topics[comment.topic_id].comments if c.id == comment.reply_to), None)
        if parent is not None:
            out["reply_to_id"] = parent.author_id
    return out


def _visible(state: OkEmulatorState, topic: Topic) -> bool:
    return not topic.deleted and state.now() >= topic.visible_at


# -- methods -----------------------------------------------------------------------------------
def users_get_current_user(call: Call) -> Any:
    first, last = call.state.users[call.uid]
    return {
        "uid": call.uid,
        "first_name": first,
        "last_name": last,
        "name": f"{first} {last}",
        "gender": "female",
        "locale": "ru",
        "pic_1": f"https://i.mycdn.me/i?r=user{call.uid}",
    }


def users_has_app_permission(call: Call) -> Any:
    perm = call.require("ext_perm")
    return call.token is not None and perm in call.token.permissions


#: The user fields ``users.getInfo`` answers here (OK's docs list many more; it has no follower
#: count for people, so none is modelled).
USER_FIELDS = frozenset(
    {"uid", "first_name", "last_name", "name", "pic50x50", "pic128x128", "pic190x190", "url_profile"}
)


def users_get_info(call: Call) -> Any:
    uids = [u.strip() for u in call.require("uids").split(",") if u.strip()]
    if len(uids) > 100:
        raise ApiError(wire.Code.PARAM, "Too many uids: at most 100")
    fields = {f.strip().lower() for f in call.require("fields").split(",")} & USER_FIELDS
    out = []
    for uid in uids:
        if uid not in call.state.users:
            continue  # OK leaves unknown people out of the answer
        first, last = call.state.users[uid]
        full: dict[str, Any] = {
            "uid": uid,
            "first_name": first,
            "last_name": last,
            "name": f"{first} {last}",
            "pic50x50": f"https://i.mycdn.me/i?r=user{uid}&fn=sqr_50",
            "pic128x128": f"https://i.mycdn.me/i?r=user{uid}&fn=sqr_128",
            "pic190x190": f"https://i.mycdn.me/i?r=user{uid}&fn=sqr_190",
            "url_profile": f"https://ok.ru/profile/{uid}",
        }
        out.append({k: v for k, v in full.items() if k in fields or k == "uid"})
    return out


def group_get_info(call: Call) -> Any:
    uids = [u for u in call.require("uids").split(",") if u.strip()]
    if len(uids) > 100:
        raise ApiError(wire.Code.PARAM, "Too many uids: at most 100")
    fields = set(call.require("fields").split(","))
    return [
        _group_json(call.state, call.state.groups[u.strip()], fields)
        for u in uids
        if u.strip() in call.state.groups
    ]


def group_get_user_groups_by_ids(call: Call) -> Any:
    group = call.group(call.require("group_id"))
    out = []
    for uid in call.require("uids").split(","):
        uid = uid.strip()
        if uid in group.admins:
            status = "ADMIN"
        elif uid in group.moderators:
            status = "MODERATOR"
        elif uid in group.members:
            status = "ACTIVE"
        else:
            continue
        out.append({"groupId": group.gid, "userId": uid, "status": status})
    return out


def group_get_counters(call: Call) -> Any:
    group = call.group(call.require("group_id"))
    kinds = {k.strip().lower() for k in call.require("counterTypes").split(",")}
    known = {
        "members": call.state.members(group),
        "themes": sum(
            1 for t in call.state.topics.values() if t.gid == group.gid and _visible(call.state, t)
        ),
    }
    return {"counters": {k: v for k, v in known.items() if k in kinds}}


def url_get_info(call: Call) -> Any:
    url = call.require("url")
    path = urlsplit(url if "://" in url else f"https://{url}").path.strip("/").split("/")
    for group in call.state.groups.values():
        if path[:2] == ["group", group.gid] or path[:1] == [group.shortname]:
            return {"type": "GROUP", "objectId": int(group.gid)}
    return {"type": "UNKNOWN"}


def photos_get_upload_url(call: Call) -> Any:
    count = call.opt_int("count", 1, 1, 100)
    gid = call.params.get("gid")
    if gid:
        call.group(gid)
    elif "PHOTO_CONTENT" not in (call.token.permissions if call.token else frozenset()):
        raise ApiError(
            wire.Code.PERMISSION_DENIED, "Application has no permission PHOTO_CONTENT granted by the user"
        )
    expires = int(call.state.now() * 1000) + UPLOAD_TTL_MS
    ids = []
    for _ in range(count):
        pid = base64.urlsafe_b64encode(
            hashlib.sha256(f"{call.state.seed}:{call.state.new_id()}".encode()).digest()[:18]
        ).decode()
        call.state.uploads[pid] = {"gid": gid, "expires_ms": expires, "token": None}
        ids.append(pid)
    upload_url = f"{call.state.base_url}/upload.jsp?api=true&photoIds={','.join(ids)}&expires={expires}"
    return {"upload_url": upload_url, "photo_ids": ids, "expires_ms": expires, "ttl_ms": UPLOAD_TTL_MS}


def photos_commit(call: Call) -> Any:
    pid = call.require("photo_id")
    token = call.require("token")
    if call.state.photo_tokens.get(token) != pid:
        raise ApiError(wire.Code.PARAM, "Invalid photo token")
    return {"photos": [{"photo_id": pid, "status": "SUCCESS", "assigned_photo_id": call.state.new_id()}]}


def video_get_upload_url(call: Call) -> Any:
    gid = call.params.get("gid") or None
    if gid:
        call.need_permission("GROUP_CONTENT")
        if not call.is_manager(call.group(gid)):
            raise ApiError(wire.Code.PERMISSION_DENIED, "User is not allowed to upload videos to this group")
    else:
        call.need_permission("VIDEO_CONTENT")
    file_name = call.params.get("file_name") or "video"
    if "." in file_name and file_name.rsplit(".", 1)[1].lower() not in wire.VIDEO_EXTENSIONS:
        raise ApiError(wire.Code.PARAM, "BadFormat")
    size = call.opt_int("file_size", 0, 0, 2**62)
    if 0 < size < wire.VIDEO_MIN_BYTES:
        raise ApiError(wire.Code.PARAM, "FileToSmall")
    if size > wire.VIDEO_MAX_BYTES:
        raise ApiError(wire.Code.PARAM, "FileToLarge")
    kind = call.params.get("attachment_type")
    if kind and kind.upper() not in ("MOVIE", "VIDEO", "AUDIO_RECORDING"):
        raise ApiError(wire.Code.PARAM, f"Invalid value of parameter attachment_type: {kind}")
    vid = call.state.new_id()
    sig = hashlib.sha256(f"{call.state.seed}:video:{vid}".encode()).hexdigest()[:20]
    call.state.videos[vid] = {
        "gid": gid,
        "uid": call.uid,
        "title": file_name.rsplit(".", 1)[0],
        "description": "",
        "tags": "",
        "privacy": "PUBLIC",
        "declared_size": size,
        "uploaded": False,
        "size": 0,
        "post_form": call.opt_bool("post_form"),
        "sig": sig,
        "created": call.state.now(),
    }
    call.state.record("video_created", video_id=vid, gid=gid, file_name=file_name)
    return {"video_id": int(vid), "upload_url": f"{call.state.base_url}/upload/video?vid={vid}&sig={sig}"}


def video_update(call: Call) -> Any:
    vid = call.require("vid")
    video = call.state.videos.get(vid)
    if video is None:
        raise ApiError(wire.Code.NOT_FOUND, f"Video {vid} not found")
    if video["uid"] != call.uid and not (video["gid"] and call.is_manager(call.group(video["gid"]))):
        raise ApiError(wire.Code.PERMISSION_DENIED, "User cannot edit this video")
    privacy = call.params.get("privacy")
    if privacy and privacy.upper() not in ("PUBLIC", "FRIENDS", "PRIVATE", "GROUP_MEMBERS"):
        raise ApiError(wire.Code.PARAM, f"Invalid value of parameter privacy: {privacy}")
    for name in ("title", "description", "tags"):
        if call.params.get(name) is not None:
            video[name] = call.params[name]
    if privacy:
        video["privacy"] = privacy.upper()
    if call.params.get("publish") is not None:
        video["published"] = call.opt_bool("publish")
    call.state.record("video_updated", video_id=vid)
    return {"success": True}


def _parse_attachment(call: Call, raw: str) -> tuple[list[dict[str, Any]], float | None, bool]:  # noqa: C901 - one branch per attachment type OK documents
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise ApiError(wire.Code.PARAM, "Invalid attachment: not a JSON document") from exc
    if not isinstance(body, dict) or not isinstance(body.get("media"), list) or not body["media"]:
        raise ApiError(wire.Code.PARAM, "Invalid attachment: media list is required")
    media: list[dict[str, Any]] = []
    for block in body["media"]:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            if not isinstance(block.get("text"), str):
                raise ApiError(wire.Code.PARAM, "Invalid attachment: text media needs a text")
            media.append({"type": "text", "text": block["text"]})
        elif kind == "photo":
            items = block.get("list")
            if not isinstance(items, list) or not items:
                raise ApiError(wire.Code.PARAM, "Invalid attachment: photo media needs a list")
            for item in items:
                token = item.get("id") if isinstance(item, dict) else None
                if token not in call.state.photo_tokens:
                    raise ApiError(wire.Code.PARAM, "Invalid attachment: unknown photo token")
            media.append({"type": "photo", "list": [{"id": i["id"]} for i in items]})
        elif kind == "movie":
            items = block.get("list")
            if not isinstance(items, list) or not items:
                raise ApiError(wire.Code.PARAM, "Invalid attachment: movie media needs a list")
            for item in items:
                vid = str(item.get("id", "")) if isinstance(item, dict) else ""
                video = call.state.videos.get(vid)
                if video is None or not video["uploaded"]:
                    raise ApiError(wire.Code.PARAM, f"Invalid attachment: unknown video {vid or '?'}")
                if video["uid"] != call.uid:
                    raise ApiError(wire.Code.PERMISSION_DENIED, f"Video {vid} belongs to another user")
            media.append({"type": "movie", "list": [{"id": str(i["id"])} for i in items]})
        elif kind == "poll":
            answers = block.get("answers")
            if (
                not str(block.get("question", "")).strip()
                or not isinstance(answers, list)
                or len(answers) < 2
            ):
                raise ApiError(
                    wire.Code.PARAM, "Invalid attachment: a poll needs a question and at least two answers"
                )
            if any(not str(a.get("text", "")).strip() for a in answers if isinstance(a, dict)):
                raise ApiError(wire.Code.PARAM, "Invalid attachment: poll answers cannot be empty")
            media.append(
                {
                    "type": "poll",
                    "question": block["question"],
                    "answers": [{"text": a["text"]} for a in answers],
                    "options": str(block.get("options", "")),
                }
            )
        elif kind == "link":
            url = str(block.get("url", ""))
            if not url.startswith(("http://", "https://")):
                raise ApiError(wire.Code.PARAM, "Invalid attachment: link media needs an http(s) url")
            media.append({"type": "link", "url": url})
        else:
            raise ApiError(wire.Code.PARAM, f"Invalid attachment: unsupported media type {kind!r}")
    publish_at: float | None = None
    if body.get("publishAtMs") not in (None, ""):
        try:
            publish_at = int(body["publishAtMs"]) / 1000
        except (TypeError, ValueError) as exc:
            raise ApiError(wire.Code.PARAM, "Invalid attachment: publishAtMs") from exc
    elif body.get("publishAt") not in (None, ""):
        try:
            publish_at = wire.from_ok_datetime(str(body["publishAt"])).timestamp()
        except ValueError as exc:
            raise ApiError(
                wire.Code.PARAM, "Invalid attachment: publishAt must look like 2026-05-01 10:00:00"
            ) from exc
    on_behalf = str(body.get("onBehalfOfGroup", "false")).lower() == "true"
    return media, publish_at, on_behalf


def mediatopic_post(call: Call) -> Any:
    media, publish_at, on_behalf = _parse_attachment(call, call.require("attachment"))
    kind = call.params.get("type", "USER")
    gid = call.params.get("gid")
    now = call.state.now()
    visible = max(now, publish_at) if publish_at else now
    if gid:
        if kind not in ("GROUP_THEME", "GROUP_THEME_PROMO", "GROUP_SUGGESTED"):
            raise ApiError(wire.Code.PARAM, "Parameter gid requires type=GROUP_THEME or GROUP_THEME_PROMO")
        call.need_permission("GROUP_CONTENT")
        group = call.group(gid)
        if kind != "GROUP_SUGGESTED" and not call.is_manager(group):
            raise ApiError(wire.Code.PERMISSION_DENIED, "User is not allowed to publish in this group")
        author = f"group:{gid}" if on_behalf and call.is_manager(group) else f"user:{call.uid}"
        topic = call.state._new_topic(gid, None, author, media, now, visible)
    else:
        if kind.startswith("GROUP"):
            raise ApiError(wire.Code.PARAM, "Parameter gid is required for group topics")
        topic = call.state._new_topic(None, call.uid, f"user:{call.uid}", media, now, visible)
    call.state.record(
        "topic_created",
        id=topic.id,
        gid=gid,
        text=topic.text,
        publish_at=publish_at,
        media=[b["type"] for b in media],
        movies=[m["id"] for b in media if b["type"] == "movie" for m in b["list"]],
    )
    return topic.id


def _topic_for_manager(call: Call, topic_id: str) -> Topic:
    topic = call.state.topics.get(topic_id)
    if topic is None or topic.deleted:
        raise ApiError(wire.Code.NOT_FOUND, f"Topic {topic_id} not found")
    if topic.gid:
        if not call.is_manager(call.group(topic.gid)):
            raise ApiError(wire.Code.PERMISSION_DENIED, "User is not an administrator of the group")
    elif topic.owner_uid != call.uid:
        raise ApiError(wire.Code.PERMISSION_DENIED, "User is not the owner of the topic")
    return topic


def mediatopic_delete_topic(call: Call) -> Any:
    topic = _topic_for_manager(call, call.require("topic_id"))
    topic.deleted = True
    topic.restore_id = call.state.new_id()
    call.state.record("topic_deleted", id=topic.id, gid=topic.gid)
    return {"success": True, "restore_id": topic.restore_id}


def mediatopic_get_by_ids(call: Call) -> Any:
    ids = [t.strip() for t in call.require("topic_ids").split(",") if t.strip()]
    if len(ids) > 100:
        raise ApiError(wire.Code.PARAM, "Too many topic_ids: at most 100")
    topics = [
        call.state.topics[i]
        for i in ids
        if i in call.state.topics and _visible(call.state, call.state.topics[i])
    ]
    return {"media_topics": [_topic_json(call.state, t) for t in topics]}


def mediatopic_get_topics(call: Call) -> Any:
    gid = call.params.get("gid")
    uid = call.params.get("uid")
    if not gid and not uid:
        raise ApiError(wire.Code.PARAM, "Missing required parameter gid")
    if gid:
        call.group(gid)
    count = call.opt_int("count", 20, 1, 100)
    try:
        offset = (
            int(base64.urlsafe_b64decode(call.params["anchor"]).decode()) if call.params.get("anchor") else 0
        )
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(wire.Code.PARAM, "Invalid anchor") from exc
    mine = [
        t
        for t in call.state.topics.values()
        if _visible(call.state, t) and ((gid and t.gid == gid) or (not gid and t.owner_uid == uid))
    ]
    mine.sort(key=lambda t: (t.visible_at, int(t.id)), reverse=True)
    page = mine[offset : offset + count]
    end = offset + len(page)
    return {
        "media_topics": [_topic_json(call.state, t) for t in page],
        "anchor": base64.urlsafe_b64encode(str(end).encode()).decode(),
        "has_more": end < len(mine),
    }


STAT_FIELDS = (
    "COMMENTS",
    "LIKES",
    "RESHARES",
    "VIEWS",
    "REACH",
    "REACH_EARNED",
    "REACH_OWN",
    "ENGAGEMENT",
    "FEEDBACK",
    "CONTENT_OPENS",
    "LINK_CLICKS",
    "VIDEO_PLAYS",
    "NEGATIVES",
    "COMPLAINTS",
    "HIDES_FROM_FEED",
)


def _stat_json(call: Call, topic: Topic, fields: list[str]) -> dict[str, Any]:
    counts = call.state.counts(topic)
    values = {
        "COMMENTS": counts["comments"],
        "LIKES": counts["likes"],
        "RESHARES": counts["reshares"],
        "VIEWS": counts["views"],
        "REACH": counts["reach"],
        "REACH_EARNED": counts["reach"] // 4,
        "REACH_OWN": counts["reach"] - counts["reach"] // 4,
        "ENGAGEMENT": counts["likes"] + counts["comments"] + counts["reshares"],
        "FEEDBACK": counts["likes"] + counts["comments"] + counts["reshares"],
        "CONTENT_OPENS": counts["views"] // 10,
        "LINK_CLICKS": 0,
        "VIDEO_PLAYS": 0,
        "NEGATIVES": 0,
        "COMPLAINTS": 0,
        "HIDES_FROM_FEED": 0,
    }
    out: dict[str, Any] = {"id": topic.id, "created_ms": int(topic.visible_at * 1000)}
    for name in fields:
        out[name.lower()] = values[name]
    return out


def _stat_fields(call: Call) -> list[str]:
    fields = [f.strip().upper() for f in call.require("fields").split(",") if f.strip()]
    unknown = [f for f in fields if f not in STAT_FIELDS]
    if unknown:
        raise ApiError(wire.Code.PARAM, f"Invalid value of parameter fields: {','.join(unknown)}")
    return fields


def group_get_stat_topic(call: Call) -> Any:
    topic = _topic_for_manager(call, call.require("topic_id"))
    return {"topic": _stat_json(call, topic, _stat_fields(call))}


def group_get_stat_topics(call: Call) -> Any:
    group = call.group(call.require("gid"))
    if not call.is_manager(group):
        raise ApiError(wire.Code.PERMISSION_DENIED, "User is not an administrator of the group")
    fields = _stat_fields(call)
    start = int(call.params.get("start_time") or 0) / 1000
    end = int(call.params.get("end_time") or 0) / 1000 or call.state.now()
    count = call.opt_int("count", 100, 1, 100)
    topics = [
        t
        for t in call.state.topics.values()
        if t.gid == group.gid
        and _visible(call.state, t)
        and start <= t.visible_at <= end
        and call.state.counts(t)["views"] > 0
    ]
    topics.sort(key=lambda t: t.visible_at, reverse=True)
    return {"topics": [_stat_json(call, t, fields) for t in topics[:count]]}


def _discussion(call: Call, id_param: str, type_param: str) -> Topic:
    topic_id = call.require(id_param)
    kind = call.require(type_param)
    if kind not in ("GROUP_TOPIC", "USER_STATUS", "USER_TOPIC"):
        raise ApiError(wire.Code.PARAM, f"Invalid value of parameter {type_param}: {kind}")
    topic = call.state.topics.get(topic_id)
    if topic is None or not _visible(call.state, topic):
        raise ApiError(wire.Code.NOT_FOUND, f"Discussion {topic_id} not found")
    call.state.counts(topic)
    return topic


def discussions_get_comments(call: Call) -> Any:
    topic = _discussion(call, "discussionId", "discussionType")
    count = call.opt_int("count", 20, 1, 100)
    live = [c for c in topic.comments if not c.deleted or call.opt_bool("includeRemoved")]
    live.sort(key=lambda c: (c.created, int(c.id)))
    try:
        offset = (
            int(base64.urlsafe_b64decode(call.params["anchor"]).decode()) if call.params.get("anchor") else 0
        )
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(wire.Code.PARAM, "Invalid anchor") from exc
    page = live[offset : offset + count]
    end = offset + len(page)
    users = sorted({c.author_id for c in page if c.author_type == "USER" and c.author_id in call.state.users})
    return {
        "discussionId": topic.id,
        "discussionType": call.params["discussionType"],
        "comments": [_comment_json(call.state, c) for c in page],
        "anchor": base64.urlsafe_b64encode(str(end).encode()).decode(),
        "has_more": end < len(live),
        "entities": {
            "users": [
                {
                    "uid": u,
                    "first_name": call.state.users[u][0],
                    "last_name": call.state.users[u][1],
                    "name": " ".join(call.state.users[u]),
                }
                for u in users
            ]
        },
    }


def discussions_add_comment(call: Call) -> Any:
    topic = _discussion(call, "entityId", "entityType")
    text = call.require("comment")
    reply_to = call.params.get("reply_to_comment_id") or None
    if reply_to and not any(c.id == reply_to and not c.deleted for c in topic.comments):
        raise ApiError(wire.Code.NOT_FOUND, f"Comment {reply_to} not found")
    as_admin = call.opt_bool("as_admin")
    if as_admin:
        if not topic.gid or not call.is_manager(call.group(topic.gid)):
            raise ApiError(wire.Code.PERMISSION_DENIED, "User cannot comment on behalf of the group")
        author, author_type = topic.gid, "GROUP"
    else:
        author, author_type = call.uid, "USER"
    comment = OkComment(call.state.new_id(), topic.id, author, author_type, text, call.state.now(), reply_to)
    topic.comments.append(comment)
    call.state.record("comment_created", id=comment.id, topic_id=topic.id, text=text, reply_to=reply_to)
    return comment.id


def discussions_delete_comment(call: Call) -> Any:
    topic = _discussion(call, "entityId", "entityType")
    comment_id = call.require("comment_id")
    comment = next((c for c in topic.comments if c.id == comment_id and not c.deleted), None)
    if comment is None:
        raise ApiError(wire.Code.NOT_FOUND, f"Comment {comment_id} not found")
    own = comment.author_id == call.uid
    if not own and not (topic.gid and call.is_manager(call.group(topic.gid))):
        raise ApiError(wire.Code.PERMISSION_DENIED, "User cannot delete this comment")
    comment.deleted = True
    call.state.record("comment_deleted", id=comment.id, topic_id=topic.id)
    return True


@dataclass(frozen=True)
class MethodSpec:
    handler: Handler
    session: str  # "required" | "optional"


METHODS: dict[str, MethodSpec] = {
    "users.getCurrentUser": MethodSpec(users_get_current_user, "required"),
    "users.hasAppPermission": MethodSpec(users_has_app_permission, "required"),
    "users.getInfo": MethodSpec(users_get_info, "optional"),
    "group.getInfo": MethodSpec(group_get_info, "optional"),
    "group.getUserGroupsByIds": MethodSpec(group_get_user_groups_by_ids, "optional"),
    "group.getCounters": MethodSpec(group_get_counters, "optional"),
    "group.getStatTopic": MethodSpec(group_get_stat_topic, "required"),
    "group.getStatTopics": MethodSpec(group_get_stat_topics, "required"),
    "url.getInfo": MethodSpec(url_get_info, "optional"),
    "photosV2.getUploadUrl": MethodSpec(photos_get_upload_url, "required"),
    "photosV2.commit": MethodSpec(photos_commit, "required"),
    "video.getUploadUrl": MethodSpec(video_get_upload_url, "required"),
    "video.update": MethodSpec(video_update, "required"),
    "mediatopic.post": MethodSpec(mediatopic_post, "required"),
    "mediatopic.deleteTopic": MethodSpec(mediatopic_delete_topic, "required"),
    "mediatopic.getByIds": MethodSpec(mediatopic_get_by_ids, "optional"),
    "mediatopic.getTopics": MethodSpec(mediatopic_get_topics, "optional"),
    "discussions.getComments": MethodSpec(discussions_get_comments, "optional"),
    "discussions.addDiscussionComment": MethodSpec(discussions_add_comment, "required"),
    "discussions.deleteDiscussionComment": MethodSpec(discussions_delete_comment, "required"),
}
_METHODS_LOWER = {name.lower(): name for name in METHODS}


def dispatch(state: OkEmulatorState, params: dict[str, str], method: str | None) -> tuple[Any, int | None]:
    """Run one API call (the world first brought up to the clock); returns (JSON payload, error
    code or None)."""
    state.tick()
    try:
        return _dispatch(state, params, method), None
    except ApiError as err:
        return wire.error_payload(err.code, err.detail), err.code


def _dispatch(state: OkEmulatorState, params: dict[str, str], method: str | None) -> Any:
    app_key = params.get("application_key")
    if not app_key or app_key not in state.apps:
        raise ApiError(wire.Code.PARAM_API_KEY, "Application key is missing or unknown")
    sig = params.get("sig")
    if not sig:
        raise ApiError(wire.Code.PARAM_SIGNATURE, "No signature specified")
    access = params.get("access_token") or params.get("session_key")
    secret = wire.session_secret_key(access, state.apps[app_key]) if access else state.apps[app_key]
    if sig.lower() != wire.signature(params, secret):
        raise ApiError(wire.Code.PARAM_SIGNATURE, "Invalid signature")
    if not method:
        raise ApiError(wire.Code.PARAM, "Missing required parameter method")
    name = _METHODS_LOWER.get(method.lower())
    if name is None:
        raise ApiError(wire.Code.METHOD, f"Method {method} does not exist")
    spec = METHODS[name]
    with state.lock:
        token: Token | None = None
        if access:
            token = state.tokens.get(access)
            now = state.now()
            if token is None or token.revoked or token.expires_at <= now or token.app_key != app_key:
                raise ApiError(wire.Code.PARAM_SESSION_EXPIRED, "Session expired")
            if now - token.extended_at >= 24 * 3600:  # any call extends a long token, once a day
                token.expires_at = now + LONG_TOKEN_TTL_S
                token.extended_at = now
        elif spec.session == "required":
            raise ApiError(wire.Code.PARAM_SESSION_KEY, "Session key is required for this method")
        if state.rate_limits:
            key = access or app_key
            window = state.calls.setdefault(key, deque())
            real_now = time.monotonic()
            while window and real_now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= state.requests_per_second:
                raise ApiError(wire.Code.FLOOD_BLOCKED, "Too many requests, try again later")
            window.append(real_now)
        return spec.handler(Call(state, params, token))


# -- HTTP ---------------------------------------------------------------------------------------
def _reply(payload: Any, code: int | None) -> JSONResponse:
    headers = {"invocation-error": str(code)} if code is not None else {}
    return JSONResponse(payload, headers=headers)


async def _params(request: Request) -> dict[str, str]:
    params = dict(request.query_params)
    if request.method == "POST":
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            for key, value in form.items():
                if isinstance(value, str):
                    params[key] = value
    return params


def _canonical(method: str) -> str:
    """The registered spelling of a method: OK method names are case-insensitive (``dispatch``
    looks them up lowercased), so fault filters must compare the same canonical name."""
    return _METHODS_LOWER.get(method.lower(), method)


_MULTIPART_FIELD = re.compile(rb'name="?method"?[^\r\n]*\r?\n(?:[^\r\n]+\r?\n)*\r?\n([^\r\n]*)\r?\n')


def _method_of(scope: Scope, body: bytes) -> str | None:
    """The API method one request calls, for :class:`FaultMiddleware` (``None``: not an API call).

    Parameters are merged like :func:`_params` does: query string first, then a form-encoded or
    multipart POST body (which wins), and the name is canonicalised like :func:`_dispatch`.
    """
    path = scope.get("path", "")
    if path.startswith("/upload.jsp"):
        return "photos.upload"
    if path.startswith("/upload/video"):
        return "video.upload"
    if path.startswith("/api/"):
        parts = path.strip("/").split("/")
        return _canonical(".".join(parts[1:3])) if len(parts) >= 3 else None
    if path.rstrip("/") != "/fb.do":
        return None
    params = dict(parse_qsl(scope.get("query_string", b"").decode("utf-8", "replace")))
    ctype = b""
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-type":
            ctype = value.lower()
    if scope.get("method") == "POST":
        if ctype.startswith(b"application/x-www-form-urlencoded"):
            params.update(parse_qsl(body.decode("utf-8", "replace")))
        elif ctype.startswith(b"multipart/form-data"):
            found = _MULTIPART_FIELD.search(body)
            if found:
                params["method"] = found.group(1).decode("utf-8", "replace")
    method = params.get("method")
    return _canonical(method) if method else "fb.do"


def create_app(seed: int = 0, rate_limits: bool = True, **options: Any) -> Any:  # noqa: C901 - the emulator's route table
    """The OK emulator as an ASGI app; ``app.state.emulator`` is its :class:`OkEmulatorState`."""
    state = OkEmulatorState(
        seed=seed,
        rate_limits=rate_limits,
        requests_per_second=int(options.get("requests_per_second", ASSUMED_REQUESTS_PER_SECOND)),
    )
    if options.get("base_url"):
        state.base_url = str(options["base_url"]).rstrip("/")
    injector = FaultInjector(seed=seed)

    def remember_base(request: Request) -> None:
        if not state.base_url:
            state.base_url = str(request.base_url).rstrip("/")

    async def fb_do(request: Request) -> Response:
        remember_base(request)
        params = await _params(request)
        payload, code = dispatch(state, params, params.get("method"))
        return _reply(payload, code)

    async def api_path(request: Request) -> Response:
        remember_base(request)
        params = await _params(request)
        method = f"{request.path_params['group']}.{request.path_params['name']}"
        payload, code = dispatch(state, params, method)
        return _reply(payload, code)

    async def upload(request: Request) -> Response:
        ids = [i for i in request.query_params.get("photoIds", "").split(",") if i]
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            return _reply(
                wire.error_payload(wire.Code.NOT_MULTIPART, "Request is not multipart"),
                wire.Code.NOT_MULTIPART,
            )
        form = await request.form()
        items = [(k, v) for k, v in form.multi_items() if isinstance(v, UploadFile)]
        files = [v for _k, v in sorted(items, key=lambda kv: (len(kv[0]), kv[0]))]  # pic1, pic2, …, pic10
        with state.lock:
            now_ms = int(state.now() * 1000)
            if not ids or any(i not in state.uploads or state.uploads[i]["expires_ms"] < now_ms for i in ids):
                return _reply(
                    wire.error_payload(wire.Code.PARAM, "Upload URL is invalid or expired"), wire.Code.PARAM
                )
            if not files or len(files) > len(ids):
                return _reply(
                    wire.error_payload(wire.Code.PARAM, "Expected one file per photo id"), wire.Code.PARAM
                )
            photos = {}
            for pid, upload_file in zip(ids, files, strict=False):
                data = await upload_file.read()
                if not data:
                    return _reply(wire.error_payload(wire.Code.PARAM, "Empty file"), wire.Code.PARAM)
                token = base64.b64encode(
                    hashlib.sha256(f"{state.seed}:{pid}:{len(data)}".encode() + data[:64]).digest()
                ).decode()
                state.uploads[pid]["token"] = token
                state.photo_tokens[token] = pid
                photos[pid] = {"token": token}
                state.record("photo_uploaded", photo_id=pid, bytes=len(data))
        return JSONResponse({"photos": photos})

    async def upload_video(request: Request) -> Response:
        vid = request.query_params.get("vid", "")
        data = b""
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            form = await request.form()
            for _key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    data = await value.read()
                    break
        else:
            data = await request.body()
        with state.lock:
            video = state.videos.get(vid)
            if video is None or request.query_params.get("sig") != video["sig"]:
                return _reply(
                    wire.error_payload(wire.Code.PARAM, "Upload URL is invalid or expired"), wire.Code.PARAM
                )
            if not data:
                return _reply(wire.error_payload(wire.Code.PARAM, "Empty file"), wire.Code.PARAM)
            if len(data) < wire.VIDEO_MIN_BYTES:
                return _reply(wire.error_payload(wire.Code.PARAM, "FileToSmall"), wire.Code.PARAM)
            if not looks_like_video(data):
                return _reply(wire.error_payload(wire.Code.PARAM, "BadFormat"), wire.Code.PARAM)
            state.video_uploads += 1
            video.update(uploaded=True, size=len(data))
            state.record("video_uploaded", video_id=vid, bytes=len(data))
        return JSONResponse({})

    async def audience_comment(request: Request) -> Response:
        spec = json.loads(await request.body() or b"{}")
        try:
            comment_id = state.audience_comment(str(spec["topic_id"]), str(spec["text"]), spec.get("uid"))
        except KeyError:
            return JSONResponse({"error": "unknown topic"}, status_code=404)
        return JSONResponse({"id": comment_id})

    async def posts_with(request: Request) -> Response:
        return JSONResponse({"count": state.posts_with(request.query_params.get("marker", ""))})

    async def expire_token(request: Request) -> Response:
        spec = json.loads(await request.body() or b"{}")
        with state.lock:
            token = state.tokens.get(str(spec.get("access_token", "")))
            if token is None:
                return JSONResponse({"error": "unknown token"}, status_code=404)
            token.revoked = True
        return JSONResponse({"ok": True})

    def ledger() -> Any:
        with state.lock:
            return list(state.ledger)

    async def topic_page(request: Request) -> Response:
        # The public page of a group topic, at the address the adapter returns
        # (ok.ru/group/<gid>/topic/<id>), so the demo's "open on the network" leads somewhere. Read-only.
        gid, tid = str(request.path_params["gid"]), str(request.path_params["tid"])
        with state.lock:
            topic = state.topics.get(tid)
            if topic is None or topic.deleted or str(topic.gid) != gid:
                return PlainTextResponse("Not found", status_code=404)
            text = topic.text
        body = html.escape(text).replace("\n", "<br>")
        return HTMLResponse(
            f"<!doctype html><meta charset='utf-8'><title>OK topic {html.escape(tid)}</title>"
            f"<h1>OK (emulator): group {html.escape(gid)}, topic {html.escape(tid)}</h1><article>{body}</article>"
        )

    routes = [
        Route("/fb.do", fb_do, methods=["GET", "POST"]),
        Route("/group/{gid}/topic/{tid}", topic_page, methods=["GET"]),
        Route("/api/{group}/{name}", api_path, methods=["GET", "POST"]),
        Route("/upload.jsp", upload, methods=["POST"]),
        Route("/upload/video", upload_video, methods=["POST"]),
        Route("/_emulator/audience/comment", audience_comment, methods=["POST"]),
        Route("/_emulator/posts_with", posts_with, methods=["GET"]),
        Route("/_emulator/tokens/revoke", expire_token, methods=["POST"]),
        *control_routes(injector, state.clock, state.dump, ledger, state.reset),
    ]
    inner = Starlette(routes=routes)
    inner.state.emulator = state
    inner.state.injector = injector

    def rate_limited(_method: str) -> Response:
        return _reply(
            wire.error_payload(wire.Code.FLOOD_BLOCKED, "Too many requests, try again later"),
            wire.Code.FLOOD_BLOCKED,
        )

    app = FaultMiddleware(inner, injector, _method_of, rate_limited)
    app.state = SimpleNamespace(emulator=state, injector=injector)  # type: ignore[attr-defined]  # Starlette's app has no declared slot for the emulator; tests and the demo reach it here
    app.emulator = state  # type: ignore[attr-defined]  # Starlette's app has no declared slot for the emulator; tests and the demo reach it here
    app.injector = injector
    return app
