"""Every route of the API by every role, enumerated from the ninja routers, plus tenancy.

The permission of each route is read from its code (``need(request, Perm.X)``) or, where the
domain action checks it, from :data:`SERVICE_PERMS`; what each role may do comes from
``accounts/roles.py``. A new route that neither calls ``need`` nor is listed here fails
:func:`test_every_route_has_a_known_permission`. Request bodies are built from the OpenAPI schema,
so that a refusal is the role check and not a malformed body.
"""

from __future__ import annotations

import datetime as dt
import inspect
import io
import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from PIL import Image

from rupor.accounts import service as accounts
from rupor.accounts.models import Membership, Workspace
from rupor.accounts.roles import Perm, Role, can
from rupor.analytics.models import ABTest, Report, ReportSchedule, WatchedPage
from rupor.api.app import api
from rupor.channels.models import Channel
from rupor.core import clock
from rupor.giveaways.models import Giveaway
from rupor.inbox import service as inbox
from rupor.inbox.models import InboxItem, ReplyDraft, SavedReply
from rupor.networks.base import Comment, Event, EventKind, Person
from rupor.notifications.models import WebhookEndpoint
from rupor.planning.models import ClientLink, Media, QueueSlot, Rubric
from rupor.publishing.models import PublicationTarget

pytestmark = pytest.mark.django_db

#: Routes whose permission the domain action checks (not ``need`` in the route); ``None``: any key.
SERVICE_PERMS: dict[str, Perm | None] = {
    "GET /me": None,
    "POST /plan/rubrics": Perm.POSTS_PUBLISH,
    "PUT /plan/rubrics/{rubric_id}": Perm.POSTS_PUBLISH,
    "DELETE /plan/rubrics/{rubric_id}": Perm.POSTS_PUBLISH,
    "POST /queue/slots": Perm.POSTS_PUBLISH,
    "DELETE /queue/slots/{slot_id}": Perm.POSTS_PUBLISH,
    "POST /posts/{post_id}/queue": Perm.POSTS_EDIT,
    "POST /posts/{post_id}/submit": Perm.POSTS_EDIT,
    "POST /posts/{post_id}/approve": Perm.POSTS_APPROVE,
    "POST /posts/{post_id}/request-changes": Perm.POSTS_APPROVE,
    "POST /posts/{post_id}/reject": Perm.POSTS_APPROVE,
    "POST /posts/{post_id}/client-review": Perm.POSTS_CLIENT_REVIEW,
    "POST /plan/client-links": Perm.POSTS_APPROVE,
    "DELETE /plan/client-links/{link_id}": Perm.POSTS_APPROVE,
    "GET /plan/ical": Perm.POSTS_VIEW,
    "POST /plan/ical/rotate": Perm.POSTS_PUBLISH,
    "DELETE /media/{media_id}": Perm.POSTS_EDIT,
    # An API key has no person, so the only views it may change are shared ones: managers and above.
    "PATCH /inbox/views/{view_id}": Perm.POSTS_APPROVE,
    "DELETE /inbox/views/{view_id}": Perm.POSTS_APPROVE,
}
_NEED = re.compile(r"(?<![A-Za-z0-9])_?need\(\s*request\s*,\s*Perm\.([A-Z_]+)\s*\)")


@dataclass(frozen=True)
class Op:
    method: str
    path: str  # as in the router, without /api/v1: /posts/{post_id}
    view: Any

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def params(self) -> list[str]:
        return re.findall(r"\{(\w+)\}", self.path)


def operations() -> list[Op]:
    ops: list[Op] = []
    for prefix, router in api._routers:
        for path, view in router.path_operations.items():
            for op in view.operations:
                full = "/" + "/".join(part for part in f"{prefix}/{path}".split("/") if part)
                full = re.sub(r"\{\w+:(\w+)\}", r"{\1}", full)  # as the OpenAPI names it: {int:x} is {x}
                ops.extend(Op(method, full, op.view_func) for method in op.methods)
    # Deleting goes last: later routes still need the objects.
    return sorted(ops, key=lambda o: o.method == "DELETE")


def permission(op: Op) -> Perm | None:
    found = _NEED.findall(inspect.getsource(op.view))
    if found:
        return Perm[found[0]]
    return SERVICE_PERMS[op.key]


# -- request bodies from the schema --------------------------------------------------------

SCHEMA = api.get_openapi_schema()


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = SCHEMA["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _value(name: str, node: dict[str, Any], ids: dict[str, Any]) -> Any:
    node = _resolve(node)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in node:
            options = [_resolve(o) for o in node[key] if _resolve(o).get("type") != "null"]
            return _value(name, options[0], ids)
    if "enum" in node:
        return node["enum"][0]
    if "const" in node:
        return node["const"]
    kind = node.get("type")
    if name in ids and kind in ("integer", None):
        return ids[name]
    if kind == "object":
        return {
            prop: _value(prop, sub, ids)
            for prop, sub in node.get("properties", {}).items()
            if prop in node.get("required", [])
        }
    if kind == "array":
        return []
    if kind == "integer":
        return max(int(node.get("minimum", 1)), 1) if "maximum" not in node else int(node.get("minimum", 0))
    if kind == "number":
        return 1
    if kind == "boolean":
        return False
    fmt = node.get("format")
    return {"date-time": "2099-01-01T10:00:00Z", "date": "2099-01-01", "time": "10:00:00"}.get(fmt or "", "x")


def _body(op: Op, ids: dict[str, Any]) -> tuple[str, Any] | None:
    spec = SCHEMA["paths"]["/api/v1" + op.path][op.method.lower()].get("requestBody")
    if not spec:
        return None
    content = spec["content"]
    if "multipart/form-data" in content:
        picture = io.BytesIO()
        Image.new("RGB", (64, 48), (1, 2, 3)).save(picture, "PNG")
        picture.seek(0)
        picture.name = "x.png"
        return "multipart", {"file": picture}
    return "json", _value("", content["application/json"]["schema"], ids)


# -- the world -------------------------------------------------------------------------------


def _webhook_endpoint(ws: Workspace) -> int:
    """A webhook endpoint on a closed local port (stored directly: registering one checks the
    address, and the outbound guard refuses this one when a test event is sent)."""
    endpoint = WebhookEndpoint(workspace=ws, url="http://127.0.0.1:9/hook")
    endpoint.set_secret("whsec_test")
    endpoint.save()
    return endpoint.pk


def _world(name: str) -> tuple[Workspace, dict[str, Any], dict[Role, str]]:
    owner = accounts.create_user(f"owner@{name}.example", "a-long-enough-passphrase-42")
    ws = accounts.create_workspace(name, owner, timezone="Europe/Moscow")
    ws.approval = Workspace.Approval.CLIENT
    ws.save()
    keys = {role: accounts.create_api_key(None, ws, role.value).key for role in Role}
    client = Client()
    headers = {"Authorization": f"Bearer {keys[Role.OWNER]}"}

    def call(method: str, path: str, body: Any = None) -> Any:
        res = getattr(client, method)(
            f"/api/v1{path}", json.dumps(body or {}), content_type="application/json", headers=headers
        )
        assert res.status_code < 300, (path, res.content)
        return res.json() if res.content else None

    # A closed local port: routes that talk to the network fail fast and never reach the internet.
    channel = call(
        "post",
        "/channels",
        {
            "network": "telegram",
            "remote_id": f"{name}-acct",
            "credentials": {"bot_token": "1:x"},
            "base_url": "http://127.0.0.1:9",
            "verify": False,
        },
    )["id"]
    post = call("post", "/posts", {"text": f"{name} post", "variants": [{"channel_id": channel}]})["id"]
    waiting = call(
        "post", "/posts", {"text": f"{name} for the client", "variants": [{"channel_id": channel}]}
    )["id"]
    call("post", f"/posts/{waiting}/submit")
    call("post", f"/posts/{waiting}/approve")
    call("post", "/plan/client-links", {"post_id": waiting, "expires_in_hours": 24})
    call("post", "/queue/slots", {"channel_id": channel, "weekday": 0, "time": "10:00"})
    picture = io.BytesIO()
    Image.new("RGB", (64, 48), (9, 9, 9)).save(picture, "PNG")
    picture.seek(0)
    picture.name = "lib.png"
    assert client.post("/api/v1/media", {"file": picture}, headers=headers).status_code == 201
    now = clock.now()
    comment_id = f"-100{len(name)}:5"  # Telegram's chat:message shape
    inbox.ingest_events(
        channel,
        [
            Event(
                EventKind.COMMENT_NEW,
                f"{name}-c1",
                f"{name}-acct",
                now,
                comment=Comment(comment_id, "-100:1", Person("u1", "Someone"), "hi", now),
            )
        ],
    )
    ids = {
        "channel_id": channel,
        "post_id": post,
        "waiting_id": waiting,
        "table": "daily",  # an analytics export: GET /analytics/export/daily.csv
        "fmt": "csv",
        "rubric_id": Rubric.objects.filter(workspace=ws).first().pk,  # type: ignore[union-attr]  # a new workspace has its default rubrics
        "slot_id": QueueSlot.objects.get(channel_id=channel).pk,
        "link_id": ClientLink.objects.get(workspace=ws).pk,
        "media_id": Media.objects.get(workspace=ws).pk,
        "item_id": InboxItem.objects.get(channel_id=channel).pk,
        "membership_id": Membership.objects.create(
            workspace=ws,
            user=accounts.create_user(f"moderator@{name}.example", "a-long-enough-passphrase-42"),
            role="moderator",
        ).pk,
        "saved_reply_id": SavedReply.objects.create(
            workspace=ws, title=f"{name} hi", body="Hi {first_name}"
        ).pk,
        "draft_id": ReplyDraft.objects.create(
            workspace=ws,
            item=InboxItem.objects.get(channel_id=channel),
            text=f"{name} draft",
            idempotency_key=f"{name}-draft",
        ).pk,
        "target_id": PublicationTarget.objects.filter(variant__post_id=post).get().pk,
        "handle": "someone",
        "endpoint_id": _webhook_endpoint(ws),
        "view_id": call("post", "/inbox/views", {"name": f"{name} view", "shared": True})["id"],
        "keyword_id": call("post", "/inbox/monitoring/keywords", {"phrase": f"{name} coffee"})["id"],
        # A watched competitor page, stored directly: adding one reads it from the network.
        "page_id": WatchedPage.objects.create(
            workspace=ws, network="vk", handle=f"{name}-rival", remote_id=f"{name}-rival"
        ).pk,
        "test_id": ABTest.objects.create(
            workspace=ws, name=f"{name} headline", a_successes=1, a_trials=10
        ).pk,
        "report_id": Report.objects.create(
            workspace=ws, start=dt.date(2026, 1, 1), end=dt.date(2026, 1, 7)
        ).pk,
        "schedule_id": ReportSchedule.objects.create(
            workspace=ws, frequency="weekly", recipients=[f"boss@{name}.example"]
        ).pk,
        # A draft giveaway: "cancel" is the one action that does not reach the network or drand.
        "giveaway_id": Giveaway.objects.create(
            workspace=ws, channel_id=channel, title=f"{name} giveaway", starts_at=now, ends_at=now
        ).pk,
        "action": "cancel",
        "name": "rules.json",
        "source": "metrica",  # a web analytics source (/links/traffic/sources/metrica)
    }
    ids["list_id"] = call(
        "post", "/newsletters/lists", {"channel_id": channel, "name": f"{name} news", "key": "news"}
    )["id"]
    ids["newsletter_id"] = call(
        "post", "/newsletters", {"list_id": ids["list_id"], "title": "June", "text": "Hi"}
    )["id"]
    assert Channel.objects.filter(pk=channel, workspace=ws).exists()
    return ws, ids, keys


def _path(op: Op, ids: dict[str, Any]) -> str:
    path = op.path
    for param in op.params:
        assert param in ids, f"{op.key}: no test object for {param!r}; add one to _world()"
        # Decisions are on the post that waits for one.
        value = (
            ids["waiting_id"]
            if param == "post_id"
            and op.path.endswith(("/approve", "/client-review", "/reject", "/request-changes"))
            else ids[param]
        )
        path = path.replace("{" + param + "}", str(value))
    return path


def _query(op: Op, ids: dict[str, Any]) -> str:
    spec = SCHEMA["paths"]["/api/v1" + op.path][op.method.lower()]
    wanted = {
        p["name"]: _value(p["name"], p.get("schema", {}), ids)
        for p in spec.get("parameters", [])
        if p.get("in") == "query" and p.get("required")
    }
    return "?" + "&".join(f"{k}={v}" for k, v in wanted.items()) if wanted else ""


def _send(client: Client, key: str, op: Op, path: str, ids: dict[str, Any]) -> Any:
    headers = {"Authorization": f"Bearer {key}"}
    body = _body(op, ids)
    url = f"/api/v1{path}{_query(op, ids)}"
    if body is None:
        return getattr(client, op.method.lower())(url, headers=headers)
    kind, data = body
    if kind == "multipart":
        return client.post(url, data, headers=headers)
    return getattr(client, op.method.lower())(
        url, json.dumps(data), content_type="application/json", headers=headers
    )


def test_every_route_has_a_known_permission() -> None:
    ops = operations()
    assert len(ops) > 50
    unknown = [
        op.key for op in ops if not _NEED.search(inspect.getsource(op.view)) and op.key not in SERVICE_PERMS
    ]
    assert not unknown, (
        f"routes whose permission this test does not know (call need() or list them in SERVICE_PERMS): {unknown}"
    )
    stale = set(SERVICE_PERMS) - {op.key for op in ops}
    assert not stale, f"SERVICE_PERMS lists routes that no longer exist: {stale}"


@pytest.mark.parametrize("role", list(Role))
def test_every_route_answers_each_role_as_the_permission_table_says(
    role: Role, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    _ws, ids, keys = _world("alpha")
    client = Client(raise_request_exception=False)
    problems = []
    for op in operations():
        perm = permission(op)
        allowed = perm is None or can(role, perm)
        res = _send(client, keys[role], op, _path(op, ids), ids)
        if allowed and (res.status_code == 403 or res.status_code >= 500):
            problems.append((op.key, "allowed", res.status_code, res.content[:200]))
        if not allowed and res.status_code != 403:
            problems.append((op.key, "forbidden", res.status_code, res.content[:200]))
        if res.status_code == 403:
            assert res.json()["detail"], op.key
    assert not problems, problems
    perms = [permission(op) for op in operations()]
    forbidden = [perm for perm in perms if perm is not None and not can(role, perm)]
    assert bool(forbidden) == (role != Role.OWNER)


def test_another_workspaces_ids_answer_404_on_every_route(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    _mine, my_ids, my_keys = _world("alpha")
    _theirs, their_ids, _their_keys = _world("beta")
    client = Client(raise_request_exception=False)
    problems = []
    checked = 0
    for op in operations():
        params = [p for p in op.params if p.endswith("_id")]
        if not params:
            continue
        checked += 1
        ids = {**my_ids, **{p: their_ids[p] for p in params}, "waiting_id": their_ids["waiting_id"]}
        res = _send(client, my_keys[Role.OWNER], op, _path(op, ids), my_ids)
        if res.status_code != 404:
            problems.append((op.key, res.status_code, res.content[:200]))
    assert checked >= 25
    assert not problems, problems
    # Nothing of theirs changed or went away.
    for model, pk in (
        (Channel, their_ids["channel_id"]),
        (Media, their_ids["media_id"]),
        (QueueSlot, their_ids["slot_id"]),
        (Rubric, their_ids["rubric_id"]),
        (WebhookEndpoint, their_ids["endpoint_id"]),
    ):
        assert model.objects.filter(pk=pk).exists(), model
    assert ClientLink.objects.get(pk=their_ids["link_id"]).revoked_at is None
