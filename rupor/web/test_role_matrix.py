"""Every page of the web app by every role, read from the URL resolver and the permission table.

Each view that touches a workspace declares its permission with ``workspace_view(Perm.…)`` (the
decorator records it as ``required_perm``); this test walks every URL pattern, builds its address
with real objects, and checks each role gets exactly what ``accounts/roles.py`` says: allowed → never
403/404/5xx, forbidden → 403. A new page without a declared permission (or a public page not listed
here) fails the test. Tenancy: another workspace's ids answer 404 on every page, for every verb.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from PIL import Image

from rupor.accounts import service as accounts
from rupor.accounts.middleware import SESSION_KEY
from rupor.accounts.models import ApiKey, Membership, User, Workspace
from rupor.accounts.roles import Perm, Role, can
from rupor.analytics.models import ABTest, Report, ReportSchedule
from rupor.channels import service as channels
from rupor.channels.models import Channel
from rupor.core import clock
from rupor.giveaways.models import Giveaway
from rupor.inbox import answering, hooks
from rupor.inbox import service as inbox
from rupor.inbox.models import InboxItem, InternalNote, ReplyDraft, SavedReply, SavedView
from rupor.newsletters import service as newsletters
from rupor.notifications.models import Delivery, Notification, WebhookEndpoint
from rupor.planning import approvals, ical, slots
from rupor.planning import media as media_lib
from rupor.planning import service as planning
from rupor.planning.models import ClientLink, Media, Post, QueueSlot, Rubric
from rupor.publishing.models import PublicationTarget

pytestmark = pytest.mark.django_db

#: Pages anyone may open (they check a token or sign people in themselves).
PUBLIC = {
    "web:login",
    "web:login_two_factor",  # the second step of signing in: only a session that passed the password
    "web:logout",
    "web:invitation",
    "web:client_review",
    "web:client_review_bare",
    "web:client_review_media",
    "ical-feed",
    "network-hook",
    "web:giveaway_verify",  # recomputes a draw from files alone, for anyone
    "web:giveaway_public",  # a published giveaway's page and files, by its unguessable id
    "web:giveaway_file",
    "public-media",  # a library file for a network that fetches media, by a signed, expiring token
    "short-link",  # a tracked link's redirect, for anyone who clicks it
    "web:unsubscribe",  # a newsletter's one-click unsubscribe, by the subscriber's token
    "metrics",  # Prometheus's scrape: 404 unless RUPOR_METRICS_TOKEN is set, then that bearer token
}
#: Pages for any signed-in person, whatever their role (they choose or create a workspace).
SIGNED_IN = {
    "web:dashboard",
    "web:profile",
    "web:workspace_new",
    "web:workspace_switch",
    "web:email_preferences",  # a person's own email preferences, whatever their role
    # A person's own two-factor sign-in (profile).
    "web:two_factor_setup",
    "web:two_factor_disable",
    "web:two_factor_recovery_codes",
}
#: Pages that answer 404 (not 403) to someone who may not see them, so as not to confirm the file exists.
NOT_FOUND_WHEN_FORBIDDEN = {"media": Perm.POSTS_VIEW}
#: Pages anyone who may see them may open, whose form (POST) needs a further permission.
POST_PERMS = {
    "web:media": Perm.POSTS_EDIT,
    "web:plan_import": Perm.POSTS_EDIT,
    "web:inbox_monitoring": Perm.INBOX_MONITOR,
}
SKIPPED_PREFIXES = ("api/", "i18n/")


@dataclass
class Route:
    name: str
    pattern: str
    callback: Any
    params: list[str]


def _walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[Route]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            route = prefix + str(entry.pattern)
            if route.startswith(SKIPPED_PREFIXES):
                continue
            ns = entry.namespace or namespace
            yield from _walk(entry.url_patterns, route, ns)
        elif isinstance(entry, URLPattern):
            full = prefix + str(entry.pattern)
            name = f"{namespace}:{entry.name}" if namespace else str(entry.name)
            yield Route(name, full, entry.callback, list(entry.pattern.converters))


def routes() -> list[Route]:
    return list(_walk(get_resolver().url_patterns))


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


@dataclass
class World:
    ws: Workspace
    users: dict[Role, User]
    ids: dict[str, Any]  # URL parameter -> value in this workspace


def _webhook_endpoint(ws: Workspace) -> int:
    """A webhook endpoint on a closed local port (stored directly: registering one checks the
    address, and the outbound guard refuses this one when a test event is sent)."""
    endpoint = WebhookEndpoint(workspace=ws, url="http://127.0.0.1:9/hook")
    endpoint.set_secret("whsec_test")
    endpoint.save()
    return endpoint.pk


def _world(name: str, settings: Any) -> World:
    users = {
        role: accounts.create_user(f"{role.value}@{name.lower()}.example", "a-long-enough-passphrase-42")
        for role in Role
    }
    ws = accounts.create_workspace(name, users[Role.OWNER], timezone="Europe/Moscow")
    ws.approval = Workspace.Approval.CLIENT
    ws.save()
    owner = accounts.actor_for_user(users[Role.OWNER], ws)
    assert owner is not None
    for role in Role:
        if role != Role.OWNER:
            accounts.add_member(owner, users[role].email, role.value)
    channel = channels.connect(
        owner,
        channels.ChannelInput(
            network="telegram",
            name=f"{name} TG",
            remote_id=f"@{name.lower()}",
            credentials={"bot_token": "1:x"},
        ),
        verify=False,
    )
    media = media_lib.save_media(owner, "red.png", _png())
    post = planning.create_post(
        owner,
        planning.PostInput(
            text=f"{name} plan",
            variants=(planning.VariantInput(channel_id=channel.pk, media_ids=(media.pk,)),),
        ),
    )
    review = planning.create_post(
        owner,
        planning.PostInput(
            text=f"{name} for the client",
            variants=(planning.VariantInput(channel_id=channel.pk, media_ids=(media.pk,)),),
        ),
    )
    approvals.submit(owner, review.pk)
    approvals.approve(owner, review.pk)
    link = approvals.client_link_for(owner, post_id=review.pk)
    slot = slots.add_slot(owner, channel.pk, 0, dt.time(10, 0))
    key = accounts.create_api_key(owner, ws, "analyst")
    invitation, invitation_token = accounts.invite(owner, f"new@{name.lower()}.example", "editor")
    del invitation
    ids = {
        "post_id": post.pk,
        "channel_id": channel.pk,
        "rubric_id": Rubric.objects.filter(workspace=ws).first().pk,  # type: ignore[union-attr]  # a new workspace has its default rubrics
        "slot_id": slot.id,
        "link_id": ClientLink.objects.get(workspace=ws).pk,
        "key_id": ApiKey.objects.get(workspace=ws).pk,
        "membership_id": Membership.objects.get(workspace=ws, user=users[Role.EDITOR]).pk,
        "target_id": PublicationTarget.objects.filter(variant__post=post).get().pk,
        "media_id": media.pk,
        "path": media.file.name,
        "network": "telegram",
        "review_token": link.url.rsplit("/", 1)[1],
        "invitation_token": invitation_token,
        "ical_token": ical.feed_url(owner).rsplit("/", 1)[1].removesuffix(".ics"),
        "hook_token": hooks.hook_token(Channel.objects.get(pk=channel.pk)),
        "key": key,
        "endpoint_id": _webhook_endpoint(ws),
        "view_id": inbox.save_view(owner, f"{name} view", {"unanswered": "1"}, shared=True).id,
        "notification_id": Notification.objects.create(
            workspace=ws,
            user=users[Role.OWNER],
            kind="inbox_assigned",
            title=f"{name} notice",
            link="/inbox/",
        ).pk,
    }
    item = InboxItem.objects.create(
        workspace=ws, channel_id=channel.pk, kind="comment", remote_id="1", text=f"{name} comment"
    )
    ids["item_id"] = item.pk
    ids["test_id"] = ABTest.objects.create(
        workspace=ws, name=f"{name} headline", a_successes=1, a_trials=10
    ).pk
    ids["report_id"] = Report.objects.create(
        workspace=ws, start=dt.date(2026, 1, 1), end=dt.date(2026, 1, 7)
    ).pk
    ids["schedule_id"] = ReportSchedule.objects.create(
        workspace=ws, frequency="weekly", recipients=[f"boss@{name.lower()}.example"]
    ).pk
    # A draft giveaway on the channel: its actions refuse a draft's "close" and "draw" with a message.
    ids["giveaway_id"] = Giveaway.objects.create(
        workspace=ws,
        channel_id=channel.pk,
        title=f"{name} giveaway",
        starts_at=clock.now(),
        ends_at=clock.now(),
    ).pk
    ids["list_id"] = newsletters.create_list(owner, newsletters.ListInput(channel.id, f"{name} news", "news"))
    ids["newsletter_id"] = newsletters.create_newsletter(
        owner, newsletters.NewsletterInput(ids["list_id"], "June", "Hi")
    )
    ids["public_id"] = Giveaway.objects.get(pk=ids["giveaway_id"]).public_id
    ids["name"] = "rules.json"  # a giveaway's published file (public routes: test_odd_input)
    ids["ext"] = "png"  # a signed public media address (/public-media/<token>.<ext>)
    ids["code"] = "nosuchcode"  # a short link (/l/<code>)
    ids["action"] = "close"
    ids["kind"] = "xlsx"  # a client report's download (/reports/<id>/download/xlsx/)
    ids["table"], ids["fmt"] = "daily", "csv"  # an analytics export (/analytics/export/daily.csv)
    ids["source"] = "metrica"  # a web analytics source (/settings/web-analytics/metrica/test/)
    ids["saved_reply_id"] = answering.create_saved_reply(owner, f"{name} thanks", "Thanks, {first_name}!").id
    # Sent back: approving it answers 409 without calling Telegram (this channel has no test address).
    ids["draft_id"] = ReplyDraft.objects.create(
        workspace=ws,
        item=item,
        author=users[Role.MODERATOR],
        text=f"{name} draft",
        idempotency_key=f"{name}-d",
        state="rejected",
        reason="Too short",
    ).pk
    return World(ws, users, ids)


@pytest.fixture
def two(settings: Any, tmp_path: Any) -> tuple[World, World]:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return _world("Alpha", settings), _world("Beta", settings)


def _kwargs(route: Route, world: World) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for param in route.params:
        if param == "token":
            key = {
                "web:invitation": "invitation_token",
                "ical-feed": "ical_token",
                "network-hook": "hook_token",
            }.get(route.name, "review_token")
            out[param] = world.ids[key]
        else:
            assert param in world.ids, (
                f"{route.name}: no test object for the URL parameter {param!r}; add one to _world()"
            )
            out[param] = world.ids[param]
    return out


def _url(route: Route, world: World) -> str:
    from django.urls import reverse

    return reverse(route.name, kwargs=_kwargs(route, world))


def _client(world: World, role: Role) -> Client:
    client = Client()
    client.force_login(world.users[role])
    session = client.session
    session[SESSION_KEY] = world.ws.slug
    session.save()
    return client


def _perm(route: Route) -> Perm | None:
    return getattr(route.callback, "required_perm", None)


def test_every_page_declares_its_permission_or_is_listed_as_public() -> None:
    undeclared = [
        r.name
        for r in routes()
        if _perm(r) is None and r.name not in PUBLIC | SIGNED_IN | set(NOT_FOUND_WHEN_FORBIDDEN)
    ]
    assert not undeclared, f"pages without workspace_view(Perm...): {undeclared}"
    assert len(routes()) > 30


@pytest.mark.parametrize("role", list(Role))
def test_every_page_answers_each_role_as_the_permission_table_says(
    two: tuple[World, World], role: Role
) -> None:
    world, _other = two
    client = _client(world, role)
    problems = []
    for route in routes():
        if route.name in PUBLIC or route.name == "web:logout":
            continue
        url = _url(route, world)
        perm = _perm(route) or NOT_FOUND_WHEN_FORBIDDEN.get(route.name)
        allowed = perm is None or can(role, perm)
        # GET is enough: the permission is checked before the method (a POST-only page answers 405).
        status = client.get(url).status_code
        if allowed:
            ok = status in (200, 302, 405)
        else:
            ok = status == (404 if route.name in NOT_FOUND_WHEN_FORBIDDEN else 403)
        if not ok:
            problems.append((route.name, url, "allowed" if allowed else "forbidden", status))
        post_perm = POST_PERMS.get(route.name)
        if (not allowed and route.name not in NOT_FOUND_WHEN_FORBIDDEN) or (
            post_perm and not can(role, post_perm)
        ):
            # Nor may a POST get past the check (it would change something).
            posted = client.post(url, {}).status_code
            if posted != 403:
                problems.append((route.name, url, "forbidden POST", posted))
    assert not problems, problems


def test_signed_out_visitors_are_sent_to_sign_in(two: tuple[World, World]) -> None:
    world, _other = two
    problems = []
    for route in routes():
        if route.name in PUBLIC:
            continue
        url = _url(route, world)
        res = Client().get(url)
        expected = 404 if route.name in NOT_FOUND_WHEN_FORBIDDEN else 302
        if res.status_code != expected or (expected == 302 and "/login/" not in res["Location"]):
            problems.append((route.name, url, res.status_code))
    assert not problems, problems


def test_another_workspaces_ids_answer_404_on_every_page_and_verb(two: tuple[World, World]) -> None:
    mine, theirs = two
    owner = _client(mine, Role.OWNER)
    before = {
        "posts": Post.objects.filter(workspace=theirs.ws).count(),
        "slots": QueueSlot.objects.filter(channel__workspace=theirs.ws).count(),
        "rubrics": Rubric.objects.filter(workspace=theirs.ws).count(),
        "links": ClientLink.objects.filter(workspace=theirs.ws, revoked_at=None).count(),
        "members": Membership.objects.filter(workspace=theirs.ws).count(),
        "keys": ApiKey.objects.filter(workspace=theirs.ws, revoked_at=None).count(),
        "channels": Channel.objects.filter(workspace=theirs.ws).count(),
        "media": Media.objects.filter(workspace=theirs.ws).count(),
        "webhooks": WebhookEndpoint.objects.filter(workspace=theirs.ws).count(),
        "deliveries": Delivery.objects.filter(workspace=theirs.ws).count(),
        "inbox": list(InboxItem.objects.filter(workspace=theirs.ws).values_list("status", "assigned_to")),
        "views": list(SavedView.objects.filter(workspace=theirs.ws).values_list("name", flat=True)),
        "saved replies": list(SavedReply.objects.filter(workspace=theirs.ws).values_list("title", "body")),
        "drafts": list(ReplyDraft.objects.filter(workspace=theirs.ws).values_list("state", "text")),
        "notes": InternalNote.objects.filter(workspace=theirs.ws).count(),
        "held": list(
            Membership.objects.filter(workspace=theirs.ws).values_list("replies_need_approval", flat=True)
        ),
        "unread notices": Notification.objects.filter(workspace=theirs.ws, read_at=None).count(),
    }
    problems = []
    checked = 0
    for route in routes():
        ids = [p for p in route.params if p.endswith("_id") or p == "path"]
        if not ids or route.name in PUBLIC:
            continue
        checked += 1
        # My own page for everything else, their object for the id.
        mixed = World(mine.ws, mine.users, {**mine.ids, **{p: theirs.ids[p] for p in ids}})
        url = _url(route, mixed)
        # A body valid enough to reach the object lookup (the member role form is prefixed by its id).
        body = {
            "name": "pwned",
            "action": "published",
            "role": "client",
            "weekday": "0",
            "time": "11:00",
            "decision": "approve",
            "text": "pwned",
            "title": "pwned",
            "body": "pwned",
            "reason": "pwned",
            "required": "1",
            f"m{theirs.ids['membership_id']}-role": "client",
        }
        for method in ("get", "post"):
            status = getattr(owner, method)(url, body).status_code
            if status not in (404, 405):
                problems.append((route.name, method, url, status))
    assert checked >= 15
    assert not problems, problems
    after = {
        "posts": Post.objects.filter(workspace=theirs.ws).count(),
        "slots": QueueSlot.objects.filter(channel__workspace=theirs.ws).count(),
        "rubrics": Rubric.objects.filter(workspace=theirs.ws).count(),
        "links": ClientLink.objects.filter(workspace=theirs.ws, revoked_at=None).count(),
        "members": Membership.objects.filter(workspace=theirs.ws).count(),
        "keys": ApiKey.objects.filter(workspace=theirs.ws, revoked_at=None).count(),
        "channels": Channel.objects.filter(workspace=theirs.ws).count(),
        "media": Media.objects.filter(workspace=theirs.ws).count(),
        "webhooks": WebhookEndpoint.objects.filter(workspace=theirs.ws).count(),
        "deliveries": Delivery.objects.filter(workspace=theirs.ws).count(),
        "inbox": list(InboxItem.objects.filter(workspace=theirs.ws).values_list("status", "assigned_to")),
        "views": list(SavedView.objects.filter(workspace=theirs.ws).values_list("name", flat=True)),
        "saved replies": list(SavedReply.objects.filter(workspace=theirs.ws).values_list("title", "body")),
        "drafts": list(ReplyDraft.objects.filter(workspace=theirs.ws).values_list("state", "text")),
        "notes": InternalNote.objects.filter(workspace=theirs.ws).count(),
        "held": list(
            Membership.objects.filter(workspace=theirs.ws).values_list("replies_need_approval", flat=True)
        ),
        "unread notices": Notification.objects.filter(workspace=theirs.ws, read_at=None).count(),
    }
    assert after == before
