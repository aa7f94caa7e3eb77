"""Outgoing webhooks end to end: registered through the API, the web settings page and the CLI,
delivered over real HTTP to a receiver in this test, signed so the receiver can verify them;
every role and another workspace's endpoints checked on each entry point."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from click.testing import CliRunner
from django.test import Client
from django.urls import reverse

from rupor.accounts import service as accounts
from rupor.accounts.middleware import SESSION_KEY
from rupor.accounts.models import User, Workspace
from rupor.accounts.roles import Perm, Role, can
from rupor.cli.main import cli
from rupor.conftest import Api
from rupor.core import backoff, clock
from rupor.notifications import service as notifications
from rupor.notifications.models import Delivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


@dataclass
class Receiver:
    """A local HTTP server that records every POST and answers ``status``."""

    url: str
    status: int = 204
    received: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state["r"].received.append({"headers": dict(self.headers), "body": body})
            self.send_response(state["r"].status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    state["r"] = Receiver(f"http://127.0.0.1:{port}/rupor-hook")
    # The outbound guard refuses local addresses unless the operator allows them.
    settings.RUPOR_ALLOW_PRIVATE_URLS = [f"127.0.0.1:{port}"]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state["r"]
    finally:
        server.shutdown()
        server.server_close()


def _verifies(secret: str, delivered: dict[str, Any]) -> bool:
    """What a receiver does: HMAC-SHA256 of the raw body, compared in constant time."""
    expected = "sha256=" + hmac.new(secret.encode(), delivered["body"], hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, delivered["headers"].get("X-Rupor-Signature", ""))


# -- API ---------------------------------------------------------------------------------


def test_registered_through_the_api_an_event_arrives_signed(
    make_workspace: Callable[..., Workspace], api_for: Callable[..., Api], receiver: Receiver
) -> None:
    ws = make_workspace()
    api = api_for(ws, "admin")
    res = api.post("/webhooks", {"url": receiver.url, "description": "CRM", "events": ["failed"]})
    assert res.status_code == 201, res.content
    created = res.json()
    secret = created["secret"]
    assert secret.startswith("whsec_") and created["events"] == ["failed"]
    # The secret is shown once: stored encrypted, never listed again.
    stored = WebhookEndpoint.objects.get(pk=created["id"])
    assert secret not in stored.secret_encrypted
    listed = api.get("/webhooks").json()
    assert [e["id"] for e in listed] == [created["id"]] and "secret" not in listed[0]
    assert secret not in json.dumps(listed)

    notifications.notify(ws.pk, "failed", "A post failed to publish", "VK said no", target_id=7, email=False)
    notifications.notify(ws.pk, "missed", "A post missed its time", "late", email=False)  # not subscribed
    assert notifications.deliver_pending() == 1
    assert len(receiver.received) == 1
    delivered = receiver.received[0]
    assert _verifies(secret, delivered)
    assert not _verifies(secret + "x", delivered)
    assert notifications.verify_signature(
        secret, delivered["body"], delivered["headers"]["X-Rupor-Signature"]
    )
    body = json.loads(delivered["body"])
    assert body["event"] == "failed" and body["workspace_id"] == ws.pk and body["target_id"] == 7
    assert body["message"] == "VK said no" and body["delivery"] == delivered["headers"]["X-Rupor-Delivery"]
    assert delivered["headers"]["X-Rupor-Event"] == "failed"

    one = api.get(f"/webhooks/{created['id']}").json()
    assert [(d["kind"], d["state"]) for d in one["recent_deliveries"]] == [("failed", "sent")]


def test_a_failed_delivery_is_retried_after_a_growing_jittered_delay(
    make_workspace: Callable[..., Workspace], api_for: Callable[..., Api], receiver: Receiver
) -> None:
    ws = make_workspace()
    api_for(ws, "owner").post("/webhooks", {"url": receiver.url})
    receiver.status = 500
    clock.freeze(dt.datetime(2030, 1, 15, 9, 0, tzinfo=dt.UTC))
    backoff.seed(3)
    try:
        notifications.notify(ws.pk, "failed", "A post failed to publish", "VK said no", email=False)
        for attempt in range(1, 5):
            assert notifications.deliver_pending() == 0
            pending = Delivery.objects.get()
            assert (pending.state, pending.attempts) == (Delivery.State.PENDING, attempt)
            wait = (pending.next_attempt_at - clock.now()).total_seconds()
            assert 0 <= wait <= notifications.DELIVERY_RETRY_BASE_S * 2 ** (attempt - 1)
            clock.advance(dt.timedelta(seconds=wait))
    finally:
        backoff.seed(None)
    receiver.status = 200
    assert notifications.deliver_pending() == 1
    assert Delivery.objects.get().state == Delivery.State.SENT


def test_a_test_event_reports_how_the_receiver_answered(
    make_workspace: Callable[..., Workspace], api_for: Callable[..., Api], receiver: Receiver
) -> None:
    ws = make_workspace()
    api = api_for(ws, "owner")
    created = api.post("/webhooks", {"url": receiver.url}).json()
    sent = api.post(f"/webhooks/{created['id']}/test", {}).json()
    assert sent["state"] == "sent" and sent["kind"] == "test"
    assert json.loads(receiver.received[0]["body"])["event"] == "test"
    assert _verifies(created["secret"], receiver.received[0])

    receiver.status = 500
    failed = api.post(f"/webhooks/{created['id']}/test", {}).json()
    assert failed["state"] == "failed" and "HTTP 500" in failed["last_error"]
    recent = api.get(f"/webhooks/{created['id']}").json()["recent_deliveries"]
    assert [d["state"] for d in recent] == ["failed", "sent"]
    # A failed test is not retried behind the person's back.
    assert notifications.deliver_pending() == 0 and len(receiver.received) == 2


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://127.0.0.1:8080/hook", "private or local"),
        ("http://10.1.2.3/hook", "private or local"),
        ("http://[::1]/hook", "private or local"),
        ("ftp://example.com/hook", "not an http(s) address"),
        ("javascript:alert(1)", "not an http(s) address"),
        ("https://exa mple.com/", "invisible characters"),
        ("", "Enter the address"),
    ],
)
def test_addresses_the_outbound_guard_refuses_are_refused_at_registration(
    make_workspace: Callable[..., Workspace], api_for: Callable[..., Api], url: str, words: str
) -> None:
    ws = make_workspace()
    res = api_for(ws, "owner").post("/webhooks", {"url": url})
    assert res.status_code == 400, res.content
    assert words in res.json()["detail"] and res.json()["errors"][0]["field"] == "url"
    assert not WebhookEndpoint.objects.exists()


def test_unknown_events_are_refused(
    make_workspace: Callable[..., Workspace], api_for: Callable[..., Api], receiver: Receiver
) -> None:
    res = api_for(make_workspace(), "owner").post("/webhooks", {"url": receiver.url, "events": ["posted"]})
    assert res.status_code == 400 and "'posted'" in res.json()["detail"]


@pytest.mark.parametrize("role", list(Role))
def test_api_roles(
    role: Role, make_workspace: Callable[..., Workspace], api_for: Callable[..., Api], receiver: Receiver
) -> None:
    ws = make_workspace()
    existing = notifications.create_endpoint(ws.pk, receiver.url)
    api = api_for(ws, role.value)
    allowed = can(role, Perm.WEBHOOKS_MANAGE)
    assert allowed == (role in (Role.OWNER, Role.ADMIN))
    expected = {True: (200, 201, 200, 204), False: (403, 403, 403, 403)}[allowed]
    got = (
        api.get("/webhooks").status_code,
        api.post("/webhooks", {"url": receiver.url}).status_code,
        api.post(f"/webhooks/{existing.id}/test", {}).status_code,
        api.delete(f"/webhooks/{existing.id}").status_code,
    )
    assert got == expected
    assert WebhookEndpoint.objects.filter(pk=existing.id).exists() is not allowed
    assert len(receiver.received) == (1 if allowed else 0)


def test_api_another_workspaces_endpoint_is_a_404(
    make_workspace: Callable[..., Workspace], api_for: Callable[..., Api], receiver: Receiver
) -> None:
    mine, theirs = make_workspace("Mine"), make_workspace("Theirs")
    their = notifications.create_endpoint(theirs.pk, receiver.url)
    api = api_for(mine, "owner")
    assert api.get(f"/webhooks/{their.id}").status_code == 404
    assert api.post(f"/webhooks/{their.id}/test", {}).status_code == 404
    assert api.delete(f"/webhooks/{their.id}").status_code == 404
    assert api.get("/webhooks").json() == []
    assert WebhookEndpoint.objects.filter(pk=their.id).exists()
    assert not receiver.received and not Delivery.objects.exists()


# -- web ---------------------------------------------------------------------------------


def _member(ws: Workspace, role: Role, make_user: Callable[..., User]) -> Client:
    user = make_user()
    owner = accounts.actor_for_user(ws.memberships.get(role=Role.OWNER).user, ws)
    assert owner is not None
    accounts.add_member(owner, user.email, role.value)
    client = Client()
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = ws.slug
    session.save()
    return client


def test_web_register_see_the_secret_once_test_and_delete(
    make_workspace: Callable[..., Workspace], make_user: Callable[..., User], receiver: Receiver
) -> None:
    ws = make_workspace()
    admin = _member(ws, Role.ADMIN, make_user)
    page = admin.post(
        reverse("web:webhook_create"), {"url": receiver.url, "description": "Ops", "events": ["held"]}
    )
    assert page.status_code == 200
    endpoint = WebhookEndpoint.objects.get(workspace=ws)
    secret = endpoint.get_secret()
    assert secret in page.content.decode() and receiver.url in page.content.decode()
    assert secret not in admin.get(reverse("web:workspace_settings")).content.decode()

    res = admin.post(reverse("web:webhook_test", args=[endpoint.pk]), follow=True)
    assert "The test event was delivered." in res.content.decode()
    assert _verifies(secret, receiver.received[0])
    receiver.status = 410
    res = admin.post(reverse("web:webhook_test", args=[endpoint.pk]), follow=True)
    html = res.content.decode()
    assert "The test event was not delivered" in html and "HTTP 410" in html
    assert "Delivered" in html and "Failed" in html  # the recent deliveries, with their result

    admin.post(reverse("web:webhook_delete", args=[endpoint.pk]))
    assert not WebhookEndpoint.objects.filter(workspace=ws).exists()


def test_web_refusals_are_shown_on_the_field(
    make_workspace: Callable[..., Workspace], make_user: Callable[..., User]
) -> None:
    ws = make_workspace()
    owner = _member(ws, Role.OWNER, make_user)
    res = owner.post(reverse("web:webhook_create"), {"url": "http://192.168.1.10/hook"})
    assert res.status_code == 400 and "private or local" in res.content.decode()
    res = owner.post(reverse("web:webhook_create"), {"url": "https://x.example", "events": ["nope"]})
    assert res.status_code == 400
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("role", list(Role))
def test_web_roles(
    role: Role,
    make_workspace: Callable[..., Workspace],
    make_user: Callable[..., User],
    receiver: Receiver,
) -> None:
    ws = make_workspace()
    existing = notifications.create_endpoint(ws.pk, receiver.url)
    client = _member(ws, role, make_user)
    allowed = role in (Role.OWNER, Role.ADMIN)
    settings_page = client.get(reverse("web:workspace_settings"))
    assert settings_page.status_code == (200 if allowed else 403)
    if allowed:
        assert "Notification webhooks" in settings_page.content.decode()
    created = client.post(reverse("web:webhook_create"), {"url": receiver.url}).status_code
    tested = client.post(reverse("web:webhook_test", args=[existing.id])).status_code
    deleted = client.post(reverse("web:webhook_delete", args=[existing.id])).status_code
    assert (created, tested, deleted) == ((200, 302, 302) if allowed else (403, 403, 403))
    assert WebhookEndpoint.objects.filter(workspace=ws).count() == 1  # one added, one deleted, or neither
    assert WebhookEndpoint.objects.filter(pk=existing.id).exists() is not allowed
    assert len(receiver.received) == (1 if allowed else 0)


def test_web_another_workspaces_endpoint_is_a_404(
    make_workspace: Callable[..., Workspace], make_user: Callable[..., User], receiver: Receiver
) -> None:
    mine, theirs = make_workspace("Mine"), make_workspace("Theirs")
    their = notifications.create_endpoint(theirs.pk, receiver.url)
    owner = _member(mine, Role.OWNER, make_user)
    assert owner.post(reverse("web:webhook_test", args=[their.id])).status_code == 404
    assert owner.post(reverse("web:webhook_delete", args=[their.id])).status_code == 404
    assert their.url not in owner.get(reverse("web:workspace_settings")).content.decode()
    assert WebhookEndpoint.objects.filter(pk=their.id).exists()
    assert not receiver.received


# -- CLI ---------------------------------------------------------------------------------


def test_cli_add_list_test_remove(make_workspace: Callable[..., Workspace], receiver: Receiver) -> None:
    ws = make_workspace()
    other = make_workspace("Other")
    runner = CliRunner()
    added = runner.invoke(
        cli, ["webhook", "add", "--workspace", ws.slug, "--url", receiver.url, "--event", "failed"]
    )
    assert added.exit_code == 0, added.output
    endpoint = WebhookEndpoint.objects.get(workspace=ws)
    assert endpoint.get_secret() in added.output
    listed = runner.invoke(cli, ["webhook", "list", "--workspace", ws.slug])
    assert receiver.url in listed.output and endpoint.get_secret() not in listed.output
    tested = runner.invoke(cli, ["webhook", "test", "--workspace", ws.slug, str(endpoint.pk)])
    assert tested.exit_code == 0 and "sent" in tested.output
    assert _verifies(endpoint.get_secret(), receiver.received[0])
    refused = runner.invoke(cli, ["webhook", "add", "--workspace", ws.slug, "--url", "http://10.0.0.1/"])
    assert refused.exit_code == 1 and "private or local" in refused.output
    elsewhere = runner.invoke(cli, ["webhook", "remove", "--workspace", other.slug, str(endpoint.pk)])
    assert elsewhere.exit_code == 1 and WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    removed = runner.invoke(cli, ["webhook", "remove", "--workspace", ws.slug, str(endpoint.pk)])
    assert removed.exit_code == 0 and not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("ru", ("Вебхуки уведомлений", "Пост не удалось опубликовать")),
        ("ko", ("알림 웹훅", "게시물을 게시하지 못했습니다")),
    ],
)
def test_the_webhooks_section_is_translated(
    language: str,
    words: tuple[str, ...],
    make_workspace: Callable[..., Workspace],
    make_user: Callable[..., User],
) -> None:
    ws = make_workspace()
    client = _member(ws, Role.ADMIN, make_user)
    html = client.get(
        reverse("web:workspace_settings"), headers={"Accept-Language": language}
    ).content.decode()
    for word in words:
        assert word in html
