"""An emulator of the Graph API for Facebook Pages, for tests, benchmarks and the offline demo.

Built from Meta's documentation (see :mod:`rupor.networks.facebook.wire` for the pages) and its
machine-readable node definitions (``graph_spec.json``, extracted from the ``facebook-business``
SDK by ``tools/facebook_graph_spec.py``), not from Rupor's adapter:

* every path under ``/v{N}.0/`` (older than v22.0: error 2635; none: the oldest), the token in
  ``Authorization: Bearer|OAuth`` or ``access_token``; unknown or revoked tokens error 190;
* ``fields=`` is checked against the node's fields in the spec (field expansion included): an
  unknown one is ``(#100) Tried accessing nonexisting field (x) on node type (Page)``; typed
  parameters of the spec's edges (booleans, integers, enums) are checked, others ignored;
* ``GET /me``, ``GET /me/accounts`` (Pages with their Page token and ``tasks``), ``GET /{page-id}``
  (``fields=access_token`` with a user token of someone with a role gives the Page token);
  ``GET /oauth/access_token?grant_type=fb_exchange_token`` (a long-lived user token, 60 days) and
  ``GET /debug_token`` (type and expiry; a Page token's ``expires_at`` is 0);
* ``POST /{page-id}/feed`` (``message``, ``link``, ``published``, ``scheduled_publish_time`` 10
  minutes to 30 days ahead, ``attached_media`` of this Page's unpublished photos, each usable once),
  ``GET /{page-id}/feed|published_posts|scheduled_posts``, ``GET``/``DELETE /{post-id}``;
* ``POST /{page-id}/photos`` with ``url``: the emulator downloads it over HTTP as Meta does, and a
  failed download or a file that is not a picture is ``(#324) Missing or invalid image file``;
* comments: ``GET``/``POST /{object-id}/comments`` (``filter``, ``order``, ``summary``),
  ``POST /{comment-id}`` ``is_hidden``, ``DELETE /{comment-id}``;
* ``GET /{page-id|post-id}/insights``: only current metrics; one retired or unknown metric fails
  the whole call with ``(#100) The value must be a valid insights metric``;
* Page-token calls count against the Page's Business Use Case limit and every answer carries
  ``X-Business-Use-Case-Usage``; user-token calls carry ``X-App-Usage``; at 100 % the call is
  refused with code 32 (Page) or 4 (app) until the window has room (``rate_limits=False``: off);
* posting needs the Page token of someone with the ``CREATE_CONTENT`` task, else error 200.

Audience comments are made through ``/_emulator/audience/comment``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rupor.networks import engagement
from rupor.networks.emulation import EmulatorClock, FaultInjector, FaultMiddleware, control_routes
from rupor.networks.facebook import wire
from rupor.networks.graph import emulation as g
from rupor.networks.graph.specs import FieldRequest, Spec, parse_fields

SPEC = Spec.load(Path(__file__).with_name("graph_spec.json"))

DEMO_PAGE_ID = "104000000000001"
DEMO_PAGE_NAME = "Rupor Coffee House"
DEMO_BUSINESS_ID = "880000000000001"
DEMO_USER_ID = "100000000000007"
DEMO_APP_ID = "1234567890123"
DEMO_APP_SECRET = "demo-app-secret-0123456789"
#: The longest since..until window of one insights call (90 days).
INSIGHTS_WINDOW_S = 90 * 86400
#: A long-lived user token lasts about 60 days (``expires_in`` as Meta answers it).
LONG_LIVED_S = 5183944
DEMO_USER_TOKEN = "EAAR" + "demouser" * 6
READ_ONLY_USER_TOKEN = "EAAR" + "analyst0" * 6
READ_ONLY_USER_ID = "100000000000008"
OTHER_PAGE_ID = "104000000000002"
#: People who comment in the demo.
AUDIENCE = (
    ("100000000000101", "Anna Petrova"),
    ("100000000000102", "Jon Park"),
    ("100000000000103", "Mina Lee"),
)
#: Business Use Case limit of the emulated Page (calls per 24 h; Meta: 4800 x engaged users).
PAGE_CALLS_PER_DAY = 4800
APP_CALLS_PER_HOUR = 200


@dataclass
class FacebookState:
    seed: int = 0
    rate_limits: bool = True
    schedule_max_s: int = wire.SCHEDULE_MAX_S
    retired: set[str] = field(default_factory=lambda: set(wire.RETIRED_METRICS))
    clock: EmulatorClock = field(default_factory=EmulatorClock)
    lock: threading.RLock = field(default_factory=threading.RLock)
    pages: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: user token -> {"user_id", "name", "roles": {page_id: [tasks]}}
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: page token -> (page_id, user token it was derived from)
    page_tokens: dict[str, tuple[str, str]] = field(default_factory=dict)
    posts: dict[str, dict[str, Any]] = field(default_factory=dict)
    photos: dict[str, dict[str, Any]] = field(default_factory=dict)
    comments: dict[str, dict[str, Any]] = field(default_factory=dict)
    ledger: list[dict[str, Any]] = field(default_factory=list)
    ids: Any = field(default_factory=lambda: itertools.count(1000))
    page_meter: g.UsageMeter = field(default_factory=lambda: g.UsageMeter(PAGE_CALLS_PER_DAY, 86400, code=32))
    app_meter: g.UsageMeter = field(default_factory=lambda: g.UsageMeter(APP_CALLS_PER_HOUR, 3600, code=4))

    def __post_init__(self) -> None:
        self.pages[DEMO_PAGE_ID] = {
            "id": DEMO_PAGE_ID,
            "name": DEMO_PAGE_NAME,
            "category": "Coffee Shop",
            "link": f"https://www.facebook.com/{DEMO_PAGE_ID}",
            "fan_count": 1240,
            "followers_count": 1315,
            "business_id": DEMO_BUSINESS_ID,
        }
        self.pages[OTHER_PAGE_ID] = {
            "id": OTHER_PAGE_ID,
            "name": "Somebody Else's Page",
            "category": "Bakery",
            "link": f"https://www.facebook.com/{OTHER_PAGE_ID}",
            "fan_count": 50,
            "followers_count": 52,
            "business_id": "880000000000002",
        }
        everything = ["ADVERTISE", "ANALYZE", "CREATE_CONTENT", "MESSAGING", "MODERATE", "MANAGE"]
        self.users[DEMO_USER_TOKEN] = {
            "user_id": DEMO_USER_ID,
            "name": "Dana Admin",
            "roles": {DEMO_PAGE_ID: everything},
        }
        self.users[READ_ONLY_USER_TOKEN] = {
            "user_id": READ_ONLY_USER_ID,
            "name": "Alex Analyst",
            "roles": {DEMO_PAGE_ID: ["ANALYZE"]},
        }

    def reset(self) -> None:
        """Forget every post, photo and comment (the demo's history starts its world anew)."""
        with self.lock:
            self.posts.clear()
            self.photos.clear()
            self.comments.clear()
            self.ledger.clear()
            self.page_meter.reset()
            self.app_meter.reset()

    # -- tokens ----------------------------------------------------------------------------------
    def page_token(self, page_id: str, user_token: str) -> str:
        for token, (page, user) in self.page_tokens.items():
            if page == page_id and user == user_token:
                return token
        token = "EAAP" + secrets.token_hex(24)
        self.page_tokens[token] = (page_id, user_token)
        return token

    def who(self, token: str | None) -> tuple[str, str, str | None]:
        """("user", user_id, None) or ("page", page_id, user token); unknown tokens: 190."""
        if not token:
            raise g.GraphFault(
                2500, "An active access token must be used to query information about the current user."
            )
        if token in self.users:
            return "user", self.users[token]["user_id"], None
        if token in self.page_tokens:
            page, user = self.page_tokens[token]
            if user not in self.users or page not in self.users[user]["roles"]:
                raise g.invalid_token(460)
            return "page", page, user
        raise g.invalid_token()

    def tasks(self, user_token: str | None, page_id: str) -> list[str]:
        if user_token is None or user_token not in self.users:
            return []
        return list(self.users[user_token]["roles"].get(page_id, []))

    def new_id(self) -> str:
        return str(10**14 + next(self.ids) * 7919 + self.seed)

    def record(self, action: str, **details: Any) -> None:
        self.ledger.append({"action": action, "at": self.clock.timestamp(), **details})

    # -- counts ----------------------------------------------------------------------------------
    def counts(self, post: dict[str, Any]) -> engagement.PostCounts:
        return engagement.post_counts(
            self.seed,
            post["id"],
            published=post["created_ts"],
            now=max(self.clock.timestamp(), post["created_ts"]),
            audience=self.pages[post["page_id"]]["followers_count"],
            content_format="photo" if post["photos"] else "text",
        )


def _now_fmt(state: FacebookState) -> str:
    return wire.format_time(state.clock.now())


def _bool(value: Any, default: bool) -> bool:
    if value is None:
        return default
    return str(value).lower() in ("true", "1")


def _attached(params: dict[str, Any]) -> list[str]:
    """``attached_media`` as a JSON list, or ``attached_media[0]={"media_fbid": ...}`` fields."""
    raw: list[Any] = []
    value = params.get("attached_media")
    if isinstance(value, str):
        try:
            decoded = json.loads(value)
        except ValueError as exc:
            raise g.invalid_param("param attached_media must be an array.") from exc
        raw = decoded if isinstance(decoded, list) else [decoded]
    elif isinstance(value, list):
        raw = value
    for key in sorted(k for k in params if k.startswith("attached_media[")):
        item = params[key]
        raw.append(json.loads(item) if isinstance(item, str) and item.startswith("{") else item)
    ids = []
    for item in raw:
        entry = json.loads(item) if isinstance(item, str) and item.startswith("{") else item
        if not isinstance(entry, dict) or not entry.get("media_fbid"):
            raise g.invalid_param("param attached_media must be an array of objects with media_fbid.")
        ids.append(str(entry["media_fbid"]))
    return ids


class _Emulator:
    """The route handlers over one :class:`FacebookState`."""

    def __init__(self, state: FacebookState) -> None:
        self.s = state

    # -- shaping ---------------------------------------------------------------------------------
    def fields(
        self, node: str, params: dict[str, Any], default: str, extra: frozenset[str] = frozenset()
    ) -> list[FieldRequest]:
        try:
            requested = parse_fields(str(params.get("fields") or default))
        except ValueError as exc:
            raise g.invalid_param(f'Syntax error "{exc}"') from exc
        bad = SPEC.unknown_field(node, [f for f in requested if f.name not in extra])
        if bad is not None:
            raise g.nonexisting_field(bad, node)
        return requested

    def check_params(self, node: str, method: str, endpoint: str, params: dict[str, Any]) -> None:
        problem = SPEC.bad_param(node, method, endpoint, params)
        if problem:
            raise g.invalid_param(problem)

    def page_view(
        self, page: dict[str, Any], requested: list[FieldRequest], kind: str, user: str | None
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for item in requested:
            if item.name == "access_token":
                # Only a user token of someone with a role on the Page sees it; to anyone else the
                # field is left out, as fields without permission are.
                if kind == "user" and self.s.tasks(user, page["id"]):
                    out["access_token"] = self.s.page_token(page["id"], user or "")
            elif item.name in page and item.name != "business_id":
                out[item.name] = page[item.name]
            elif item.name == "tasks" and user:
                out["tasks"] = self.s.tasks(user, page["id"])
        return out

    def post_view(self, post: dict[str, Any], requested: list[FieldRequest]) -> dict[str, Any]:
        counts = self.s.counts(post)
        out: dict[str, Any] = {}
        for item in requested:
            name = item.name
            if name == "id":
                out["id"] = post["id"]
            elif name == "message" and post["message"]:
                out["message"] = post["message"]
            elif name in ("created_time", "updated_time"):
                out[name] = wire.format_time(dt.datetime.fromtimestamp(post["created_ts"], dt.UTC))
            elif name == "scheduled_publish_time" and post.get("scheduled_ts"):
                out[name] = int(post["scheduled_ts"])
            elif name == "is_published":
                out[name] = post["published"]
            elif name == "is_hidden":
                out[name] = bool(post.get("hidden"))
            elif name == "permalink_url":
                out[name] = wire.post_url(post["id"])
            elif name == "from":
                page = self.s.pages[post["page_id"]]
                out["from"] = {"id": page["id"], "name": page["name"]}
            elif name == "link" and post.get("link"):
                out["link"] = post["link"]
            elif name == "shares" and counts.reposts:
                out["shares"] = {"count": counts.reposts}
            elif name == "attachments" and post["photos"]:
                subs = [
                    {
                        "target": {"id": pid},
                        "type": "photo",
                        "media": {"image": {"src": self.s.photos[pid]["url"]}},
                    }
                    for pid in post["photos"]
                ]
                first = subs[0] if len(subs) == 1 else {"type": "album", "subattachments": {"data": subs}}
                out["attachments"] = {"data": [first]}
            elif name == "reactions":
                out["reactions"] = self.summary_edge(item, counts.likes, [])
            elif name == "comments":
                listed = self.comment_list(post["id"], item.modifiers.get("filter", "toplevel"))
                out["comments"] = self.summary_edge(
                    item,
                    len(listed),
                    [self.comment_view(c, list(item.subfields) or [FieldRequest("id", {})]) for c in listed],
                )
        return out

    @staticmethod
    def summary_edge(item: FieldRequest, total: int, data: list[dict[str, Any]]) -> dict[str, Any]:
        limit = int(item.modifiers.get("limit", "25") or 25)
        out: dict[str, Any] = {"data": data[:limit]}
        if item.modifiers.get("summary") == "true":
            out["summary"] = {"total_count": total}
        return out

    def comment_list(self, object_id: str, filter_: str) -> list[dict[str, Any]]:
        listed = [c for c in self.s.comments.values() if not c["deleted"]]
        if filter_ == "stream":
            return [c for c in listed if c["post_id"] == object_id or c.get("parent_id") == object_id]
        return [c for c in listed if c["object_id"] == object_id]

    def comment_view(self, comment: dict[str, Any], requested: list[FieldRequest]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for item in requested:
            name = item.name
            if name == "from":
                out["from"] = {"id": comment["from_id"], "name": comment["from_name"]}
            elif name == "created_time":
                out[name] = wire.format_time(dt.datetime.fromtimestamp(comment["created_ts"], dt.UTC))
            elif name == "parent" and comment.get("parent_id"):
                out["parent"] = {"id": comment["parent_id"]}
            elif name == "comment_count":
                out[name] = sum(
                    1
                    for c in self.s.comments.values()
                    if c.get("parent_id") == comment["id"] and not c["deleted"]
                )
            elif name in ("id", "message", "is_hidden", "like_count"):
                out[name] = comment.get(name, 0)
            elif name in ("can_hide", "can_remove", "can_comment", "can_like"):
                out[name] = True
            elif name == "permalink_url":
                out[name] = wire.post_url(comment["post_id"]) + f"?comment_id={comment['id']}"
        return out

    # -- routing ---------------------------------------------------------------------------------
    async def dispatch(self, request: Request) -> Response:
        version, path = g.split_version(request.url.path)
        headers: dict[str, str] = {}
        try:
            g.check_version(version)
            params = await g.params_of(request)
            if path.rstrip("/") == "/oauth/access_token":
                with self.s.lock:
                    return JSONResponse(self.exchange(params))
            with self.s.lock:
                kind, who, user = self.s.who(g.token_of(request, params))
                if path.rstrip("/") == "/debug_token":
                    return JSONResponse(self.debug_token(str(params.get("input_token") or "")))
                headers = self.meter(kind, who)
            parts = [p for p in path.split("/") if p]
            result = await self.route(request.method, parts, params, kind, who, user)
        except g.GraphFault as fault:
            return fault.response(headers)
        return JSONResponse(result, headers=headers)

    def exchange(self, params: dict[str, Any]) -> dict[str, Any]:
        """``GET /oauth/access_token?grant_type=fb_exchange_token``: a long-lived user token (about
        60 days) for a short-lived one, given the app's id and secret."""
        if params.get("grant_type") != "fb_exchange_token":
            raise g.invalid_param("Unsupported grant_type")
        if params.get("client_id") != DEMO_APP_ID or params.get("client_secret") != DEMO_APP_SECRET:
            raise g.GraphFault(1, "Error validating client secret.")
        short = str(params.get("fb_exchange_token") or "")
        if short not in self.s.users:
            raise g.invalid_token()
        long_lived = "EAAR" + secrets.token_hex(24)
        self.s.users[long_lived] = dict(self.s.users[short])
        return {"access_token": long_lived, "token_type": "bearer", "expires_in": LONG_LIVED_S}

    def debug_token(self, token: str) -> dict[str, Any]:
        """``GET /debug_token?input_token=``: whose token it is, its type and when it expires
        (``expires_at: 0`` for a Page token read with a long-lived user token: never)."""
        data: dict[str, Any] = {"app_id": DEMO_APP_ID, "application": "Rupor", "is_valid": True}
        if token in self.s.users:
            user = self.s.users[token]
            data.update(
                type="USER", user_id=user["user_id"], expires_at=int(self.s.clock.timestamp()) + LONG_LIVED_S
            )
        elif token in self.s.page_tokens:
            page, _user = self.s.page_tokens[token]
            data.update(type="PAGE", profile_id=page, expires_at=0)
        else:
            data = {"is_valid": False, "error": {"code": 190, "message": "Invalid OAuth access token."}}
        return {"data": data}

    def meter(self, kind: str, who: str) -> dict[str, str]:
        now = self.s.clock.timestamp()
        if kind == "page":
            business = self.s.pages[who]["business_id"]
            if not self.s.rate_limits:
                return g.business_usage_header(business, 0, 0)
            allowed, used, regain = self.s.page_meter.count(who, now)
            headers = g.business_usage_header(business, used, regain)
            if not allowed:
                raise g.throttled(32, headers)
            return headers
        if not self.s.rate_limits:
            return g.app_usage_header(0)
        allowed, used, _regain = self.s.app_meter.count("app", now)
        headers = g.app_usage_header(used)
        if not allowed:
            raise g.throttled(4, headers)
        return headers

    async def route(  # noqa: C901 - the route table
        self, method: str, parts: list[str], params: dict[str, Any], kind: str, who: str, user: str | None
    ) -> Any:
        if not parts:
            if method == "GET" and params.get("ids"):
                return self.many(str(params["ids"]).split(","), params, kind, who)
            raise g.unsupported_get("", method.lower())
        node_id, edge = parts[0], (parts[1] if len(parts) > 1 else "")
        if node_id == "me":
            node_id = who
            if kind == "user" and edge == "accounts":
                return self.accounts(user_token=self._user_token(who), params=params)
        s = self.s
        with s.lock:
            if node_id in s.pages:
                page = s.pages[node_id]
                if edge == "" and method == "GET":
                    token_user = self._user_token(who) if kind == "user" else user
                    return self.page_view(page, self.fields("Page", params, "id,name"), kind, token_user)
                if kind == "page" and who != node_id and method != "GET":
                    raise g.missing_permission("pages_manage_posts")
                if edge == "feed" and method == "POST":
                    self.check_params("Page", "POST", "/feed", params)
                    return self.create_post(page, params, kind, user)
                if edge in ("feed", "published_posts", "scheduled_posts", "posts") and method == "GET":
                    return self.list_posts(page, edge, params)
                if edge == "photos" and method == "POST":
                    self.check_params("Page", "POST", "/photos", params)
            if (
                (node_id == DEMO_USER_ID or (kind == "user" and node_id == who))
                and edge == ""
                and method == "GET"
            ):
                requested = self.fields("User", params, "id,name")
                person = {"id": who, "name": s.users.get(self._user_token(who) or "", {}).get("name", "")}
                return {f.name: person[f.name] for f in requested if person.get(f.name)}
        if node_id in s.pages and edge == "photos" and method == "POST":
            return await self.create_photo(s.pages[node_id], params, kind, who, user)
        with s.lock:
            if node_id in s.pages and edge == "insights" and method == "GET":
                return self.insights("page", s.pages[node_id], params)
            post = s.posts.get(node_id)
            if post is not None and not post["deleted"]:
                self._own(kind, who, post["page_id"])
                if edge == "" and method == "GET":
                    return self.post_view(post, self.fields("PagePost", params, "id,message,created_time"))
                if edge == "" and method == "DELETE":
                    post["deleted"] = True
                    s.record("delete_post", id=post["id"])
                    return {"success": True}
                if edge == "" and method == "POST":
                    return self.update_post(post, params, kind, user)
                if edge == "comments":
                    return self.comments_edge(method, post["id"], post["id"], params, kind, user)
                if edge == "insights" and method == "GET":
                    return self.insights("post", post, params)
            comment = s.comments.get(node_id)
            if comment is not None and not comment["deleted"]:
                self._own(kind, who, wire.page_of(comment["post_id"]))
                if edge == "" and method == "GET":
                    return self.comment_view(
                        comment, self.fields("Comment", params, "id,message,created_time,from")
                    )
                if edge == "" and method == "POST":
                    self.check_params("Comment", "POST", "/", params)
                    self._need(
                        kind,
                        user,
                        wire.page_of(comment["post_id"]),
                        wire.TASK_MODERATE,
                        "pages_manage_engagement",
                    )
                    if "is_hidden" in params:
                        comment["is_hidden"] = _bool(params["is_hidden"], default=False)
                        s.record("hide_comment", id=comment["id"], hidden=comment["is_hidden"])
                    if "message" in params:
                        comment["message"] = str(params["message"])
                    return {"success": True}
                if edge == "" and method == "DELETE":
                    self._need(
                        kind,
                        user,
                        wire.page_of(comment["post_id"]),
                        wire.TASK_MODERATE,
                        "pages_manage_engagement",
                    )
                    comment["deleted"] = True
                    s.record("delete_comment", id=comment["id"])
                    return {"success": True}
                if edge == "comments":
                    return self.comments_edge(method, comment["id"], comment["post_id"], params, kind, user)
            photo = s.photos.get(node_id)
            if photo is not None and edge == "" and method == "GET":
                requested = self.fields("Photo", params, "id")
                view = {
                    "id": photo["id"],
                    "created_time": wire.format_time(dt.datetime.fromtimestamp(photo["created_ts"], dt.UTC)),
                    "link": photo["url"],
                    "name": photo.get("caption", ""),
                }
                return {f.name: view[f.name] for f in requested if f.name in view}
        raise g.unsupported_get(node_id, method.lower())

    def many(self, ids: list[str], params: dict[str, Any], kind: str, who: str) -> dict[str, Any]:
        """``GET /?ids=a,b&fields=...``: several posts in one call, keyed by id (unknown ids: 100)."""
        requested = self.fields("PagePost", params, "id,message,created_time")
        out: dict[str, Any] = {}
        with self.s.lock:
            for post_id in ids:
                post = self.s.posts.get(post_id)
                if post is None or post["deleted"]:
                    raise g.unsupported_get(post_id)
                self._own(kind, who, post["page_id"])
                out[post_id] = self.post_view(post, requested)
        return out

    def _user_token(self, user_id: str) -> str | None:
        return next((t for t, u in self.s.users.items() if u["user_id"] == user_id), None)

    @staticmethod
    def _own(kind: str, who: str, page_id: str) -> None:
        if kind == "page" and who != page_id:
            raise g.unsupported_get(page_id)

    def _need(self, kind: str, user: str | None, page_id: str, task: str, permission: str) -> None:
        if kind != "page":
            raise g.GraphFault(210, "(#210) A page access token is required to request this resource.")
        if task not in self.s.tasks(user, page_id):
            raise g.missing_permission(permission)

    def accounts(self, user_token: str | None, params: dict[str, Any]) -> dict[str, Any]:
        # The accounts edge adds the person's ``tasks`` on each Page (Pages API overview), which the
        # SDK's Page node does not list.
        requested = self.fields(
            "Page", params, "id,name,access_token,category,tasks", extra=frozenset({"tasks"})
        )
        user = self.s.users.get(user_token or "")
        data = []
        for page_id in (user or {}).get("roles", {}):
            data.append(self.page_view(self.s.pages[page_id], requested, "user", user_token))
        return {"data": data, "paging": {"cursors": {"before": "QVFIUj", "after": "QVFIUk"}}}

    # -- publishing ------------------------------------------------------------------------------
    def create_post(
        self, page: dict[str, Any], params: dict[str, Any], kind: str, user: str | None
    ) -> dict[str, Any]:
        s = self.s
        self._need(kind, user, page["id"], wire.TASK_CREATE, "pages_manage_posts")
        message = str(params.get("message") or "")
        link = str(params.get("link") or "")
        photos = _attached(params)
        if not message and not link and not photos:
            raise g.invalid_param("Missing message or attachment.")
        published = _bool(params.get("published"), default=True)
        scheduled = params.get("scheduled_publish_time")
        now = s.clock.timestamp()
        scheduled_ts = None
        if scheduled is not None:
            try:
                scheduled_ts = (
                    float(scheduled)
                    if str(scheduled).isdigit()
                    else dt.datetime.fromisoformat(str(scheduled)).timestamp()
                )
            except ValueError as exc:
                raise g.invalid_param("The specified scheduled publish time is invalid.") from exc
            if published:
                raise g.invalid_param("Cannot specify a scheduled publish time on a published post.")
            if not (now + wire.SCHEDULE_MIN_S <= scheduled_ts <= now + s.schedule_max_s):
                raise g.invalid_param("The specified scheduled publish time is invalid.")
        for pid in photos:
            photo = s.photos.get(pid)
            if photo is None or photo["page_id"] != page["id"]:
                raise g.invalid_param(f"Invalid media_fbid {pid}.")
            if photo["published"] or photo.get("post_id"):
                raise g.invalid_param(f"Photo {pid} is already published or attached to a post.")
        post_id = f"{page['id']}_{s.new_id()}"
        for pid in photos:
            s.photos[pid]["post_id"] = post_id
        s.posts[post_id] = {
            "id": post_id,
            "page_id": page["id"],
            "message": message,
            "link": link,
            "photos": photos,
            "published": published,
            "scheduled_ts": scheduled_ts,
            "created_ts": scheduled_ts or now,
            "deleted": False,
        }
        s.record("create_post", id=post_id, message=message, photos=photos, scheduled=scheduled_ts)
        return {"id": post_id}

    def update_post(
        self, post: dict[str, Any], params: dict[str, Any], kind: str, user: str | None
    ) -> dict[str, Any]:
        """``POST /{post-id}``: a new ``message``, ``is_pinned``, ``is_hidden``, or ``is_published``
        (publish a scheduled or unpublished post now)."""
        self.check_params("PagePost", "POST", "/", params)
        self._need(kind, user, post["page_id"], wire.TASK_CREATE, "pages_manage_posts")
        if "message" in params:
            post["message"] = str(params["message"])
        if "is_pinned" in params:
            pinned = _bool(params["is_pinned"], default=False)
            for other in self.s.posts.values():
                if other["page_id"] == post["page_id"] and pinned:
                    other["pinned"] = False
            post["pinned"] = pinned
        if "is_hidden" in params:
            post["hidden"] = _bool(params["is_hidden"], default=False)
        if _bool(params.get("is_published"), default=False) and not post["published"]:
            post["published"], post["scheduled_ts"] = True, None
            post["created_ts"] = self.s.clock.timestamp()
        self.s.record("update_post", id=post["id"], fields=sorted(params))
        return {"success": True}

    async def create_photo(
        self, page: dict[str, Any], params: dict[str, Any], kind: str, who: str, user: str | None
    ) -> dict[str, Any]:
        s = self.s
        with s.lock:
            self._own(kind, who, page["id"])
            self._need(kind, user, page["id"], wire.TASK_CREATE, "pages_manage_posts")
        source = params.get("source")
        address = str(params.get("url") or "")
        if isinstance(source, UploadFile):
            data = await source.read()
        elif address:
            fetched = await g.fetch_url(address)
            if fetched is None:
                raise g.unfetchable_image()
            data = fetched.data
        else:
            raise g.GraphFault(324, "(#324) Requires upload file")
        if g.looks_like_image(data) is None:
            raise g.unfetchable_image()
        published = _bool(params.get("published"), default=True)
        caption = str(params.get("caption") or params.get("message") or "")
        with s.lock:
            photo_id = s.new_id()
            s.photos[photo_id] = {
                "id": photo_id,
                "page_id": page["id"],
                "url": address or f"https://scontent.example/{photo_id}.jpg",
                "size": len(data),
                "caption": caption,
                "published": published,
                "created_ts": s.clock.timestamp(),
            }
            s.record("create_photo", id=photo_id, published=published, url=address)
            if not published:
                return {"id": photo_id}
            post_id = f"{page['id']}_{s.new_id()}"
            s.photos[photo_id]["post_id"] = post_id
            s.posts[post_id] = {
                "id": post_id,
                "page_id": page["id"],
                "message": caption,
                "link": "",
                "photos": [photo_id],
                "published": True,
                "scheduled_ts": None,
                "created_ts": s.clock.timestamp(),
                "deleted": False,
            }
            s.record("create_post", id=post_id, message=caption, photos=[photo_id], scheduled=None)
            return {"id": photo_id, "post_id": post_id}

    def list_posts(self, page: dict[str, Any], edge: str, params: dict[str, Any]) -> dict[str, Any]:
        requested = self.fields("PagePost", params, "id,message,created_time")
        now = self.s.clock.timestamp()
        posts = [p for p in self.s.posts.values() if p["page_id"] == page["id"] and not p["deleted"]]
        if edge == "scheduled_posts":
            posts = [p for p in posts if p.get("scheduled_ts") and p["scheduled_ts"] > now]
        else:
            posts = [
                p for p in posts if (p["published"] or (p.get("scheduled_ts") and p["scheduled_ts"] <= now))
            ]
        posts.sort(key=lambda p: (p["created_ts"], p["id"]), reverse=True)
        limit = min(int(params.get("limit") or 25), 100)
        offset = int(params.get("after") or 0) if str(params.get("after") or "0").isdigit() else 0
        chunk = posts[offset : offset + limit]
        out: dict[str, Any] = {"data": [self.post_view(p, requested) for p in chunk]}
        if offset + limit < len(posts):
            out["paging"] = {"cursors": {"after": str(offset + limit)}, "next": f"?after={offset + limit}"}
        return out

    # -- comments --------------------------------------------------------------------------------
    def comments_edge(
        self, method: str, object_id: str, post_id: str, params: dict[str, Any], kind: str, user: str | None
    ) -> dict[str, Any]:
        s = self.s
        if method == "POST":
            self.check_params("PagePost", "POST", "/comments", params)
            self._need(kind, user, wire.page_of(post_id), wire.TASK_MODERATE, "pages_manage_engagement")
            message = str(params.get("message") or "")
            if not message and not params.get("attachment_url"):
                raise g.invalid_param("Missing message or attachment.")
            page = s.pages[wire.page_of(post_id)]
            return {"id": self.add_comment(post_id, object_id, page["id"], page["name"], message)}
        self.check_params("PagePost", "GET", "/comments", params)
        requested = self.fields("Comment", params, "id,message,created_time")
        listed = self.comment_list(object_id, str(params.get("filter") or "toplevel"))
        order = str(params.get("order") or "chronological")
        listed.sort(key=lambda c: (c["created_ts"], c["id"]), reverse=order == "reverse_chronological")
        limit = min(int(params.get("limit") or 25), 100)
        offset = int(params.get("after") or 0) if str(params.get("after") or "0").isdigit() else 0
        out: dict[str, Any] = {
            "data": [self.comment_view(c, requested) for c in listed[offset : offset + limit]]
        }
        if offset + limit < len(listed):
            out["paging"] = {"cursors": {"after": str(offset + limit)}, "next": f"?after={offset + limit}"}
        if _bool(params.get("summary"), default=False):
            out["summary"] = {"order": order, "total_count": len(listed), "can_comment": True}
        return out

    def add_comment(self, post_id: str, object_id: str, from_id: str, from_name: str, message: str) -> str:
        s = self.s
        comment_id = f"{post_id.split('_', 1)[-1]}_{s.new_id()}"
        s.comments[comment_id] = {
            "id": comment_id,
            "post_id": post_id,
            "object_id": object_id,
            "parent_id": object_id if object_id != post_id else None,
            "from_id": from_id,
            "from_name": from_name,
            "message": message,
            "created_ts": s.clock.timestamp(),
            "is_hidden": False,
            "like_count": 0,
            "deleted": False,
        }
        s.record("create_comment", id=comment_id, post_id=post_id, message=message)
        return comment_id

    # -- insights --------------------------------------------------------------------------------
    def insights(self, level: str, obj: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        self.check_params("Page" if level == "page" else "PagePost", "GET", "/insights", params)
        names = [m for m in str(params.get("metric") or "").split(",") if m]
        valid = wire.PAGE_METRICS if level == "page" else wire.POST_METRICS
        if not names:
            raise g.invalid_param("The parameter metric is required")
        for name in names:
            if name not in valid or name in self.s.retired:
                raise g.GraphFault(100, wire.INVALID_METRIC_MESSAGE)
        since, until = params.get("since"), params.get("until")
        numeric = bool(since and until and str(since).isdigit() and str(until).isdigit())
        if numeric and int(str(until)) - int(str(since)) > INSIGHTS_WINDOW_S:
            raise g.invalid_param("There cannot be more than 90 days (7776000 s) between since and until")
        period = str(params.get("period") or ("day" if level == "page" else "lifetime"))
        data = []
        for name in names:
            value = self.metric_value(level, obj, name)
            end = wire.format_time(self.s.clock.now().replace(hour=8, minute=0, second=0, microsecond=0))
            data.append(
                {
                    "name": name,
                    "period": period,
                    "values": [{"value": value, "end_time": end}],
                    "title": name.replace("_", " ").capitalize(),
                    "id": f"{obj['id']}/insights/{name}/{period}",
                }
            )
        return {"data": data, "paging": {}}

    def metric_value(self, level: str, obj: dict[str, Any], name: str) -> int:
        if level == "post":
            counts = self.s.counts(obj)
            views = counts.views
            return {
                "post_media_view": views,
                "post_total_media_view_unique": counts.reach,
                "post_reactions_like_total": counts.likes,
                "post_clicks": counts.reposts * 3,
                "post_video_views": 0,
            }.get(name, 0)
        posts = [p for p in self.s.posts.values() if p["page_id"] == obj["id"] and not p["deleted"]]
        views = sum(self.s.counts(p).views for p in posts)
        values: dict[str, int] = {
            "page_media_view": views,
            "page_total_media_view_unique": int(views * 0.6),
            "page_post_engagements": sum(self.s.counts(p).likes for p in posts),
            "page_daily_follows_unique": 3,
            "page_daily_unfollows_unique": 1,
            "page_follows": obj["followers_count"],
            "page_views_total": 40 + len(posts),
            "page_video_views": 0,
        }
        return values.get(name, 0)


def create_app(seed: int = 0, rate_limits: bool = True, **options: Any) -> Any:
    """The Facebook Graph API emulator as an ASGI app; ``app.emulator`` is its :class:`FacebookState`.

    ``retired=[...]`` adds metrics to those the emulated API refuses; ``schedule_max_s`` changes the
    latest scheduling allowed (default 30 days).
    """
    state = FacebookState(seed=seed, rate_limits=rate_limits)
    if options.get("retired"):
        state.retired |= set(options["retired"])
    if options.get("schedule_max_s"):
        state.schedule_max_s = int(options["schedule_max_s"])
    emulator = _Emulator(state)
    injector = FaultInjector(seed=seed)

    async def api(request: Request) -> Response:
        return await emulator.dispatch(request)

    async def audience_comment(request: Request) -> Response:
        body = json.loads(await request.body() or b"{}")
        target = str(body["post_id"])
        with state.lock:
            parent = state.comments.get(target)
            post_id = parent["post_id"] if parent else target
            if post_id not in state.posts:
                return JSONResponse({"error": "no such post"}, 404)
            who = AUDIENCE[int(body.get("who", len(state.comments))) % len(AUDIENCE)]
            comment_id = emulator.add_comment(post_id, target, who[0], who[1], str(body.get("text") or ""))
        return JSONResponse({"id": comment_id})

    async def posts_with(request: Request) -> Response:
        marker = request.query_params.get("marker", "")
        with state.lock:
            count = sum(1 for p in state.posts.values() if not p["deleted"] and marker in p["message"])
        return JSONResponse({"count": count})

    def dump() -> dict[str, Any]:
        with state.lock:
            return {
                "posts": list(state.posts.values()),
                "photos": list(state.photos.values()),
                "comments": list(state.comments.values()),
            }

    def ledger() -> list[dict[str, Any]]:
        with state.lock:
            return list(state.ledger)

    routes = [
        *control_routes(injector, state.clock, dump, ledger, state.reset),
        Route("/_emulator/audience/comment", audience_comment, methods=["POST"]),
        Route("/_emulator/posts_with", posts_with, methods=["GET"]),
        Route("/{path:path}", api, methods=["GET", "POST", "DELETE"]),
    ]
    app = Starlette(routes=routes)
    wrapped: Any = FaultMiddleware(app, injector, g.method_of, g.rate_limited_answer, g.server_error_answer)
    # Tests and the demo reach the state here (the demo's history keeps and restores its world).
    wrapped.state = SimpleNamespace(emulator=state, injector=injector)
    wrapped.emulator = state
    wrapped.injector = injector
    return wrapped
