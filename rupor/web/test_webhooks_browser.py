"""Registering a notification webhook in the browser: the form on the settings page, the secret
shown once, a test event delivered to a local receiver, and its result in the list."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from rupor.accounts import service as accounts
from rupor.notifications.models import WebhookEndpoint
from rupor.web.browser_testing import MARKS, expect, sign_in

PASSWORD = "a-long-enough-passphrase-42"

pytestmark = MARKS


@pytest.fixture
def receiver(settings: Any) -> Iterator[tuple[str, list[tuple[bytes, str]]]]:
    received: list[tuple[bytes, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.append((body, self.headers.get("X-Rupor-Signature", "")))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    settings.RUPOR_ALLOW_PRIVATE_URLS = [f"127.0.0.1:{port}"]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{port}/hook", received
    finally:
        server.shutdown()
        server.server_close()


def test_an_admin_registers_a_webhook_and_sends_a_test_event(page: Any, receiver: Any) -> None:
    url, received = receiver
    owner = accounts.create_user("owner@example.com", PASSWORD)
    ws = accounts.create_workspace("Coffee House", owner)
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None
    accounts.add_member(actor, accounts.create_user("admin@example.com", PASSWORD).email, "admin")

    sign_in(page, "admin@example.com", PASSWORD)
    page.goto("/settings/")
    page.get_by_label("Endpoint URL").fill(url)
    page.get_by_label("Description").fill("Our CRM")
    page.get_by_label("A post failed to publish").check()
    page.get_by_role("button", name="Add endpoint").click()

    secret_box = page.locator("#new-webhook-secret")
    expect(secret_box).to_have_text(WebhookEndpoint.objects.get().get_secret())
    secret = secret_box.inner_text()
    expect(page.locator("#webhook-endpoints")).to_contain_text(url)
    expect(page.locator("#webhook-endpoints")).to_contain_text("Our CRM")

    page.get_by_role("button", name="Send test event").click()
    expect(page.get_by_text("The test event was delivered.")).to_be_visible()
    expect(page.locator("#webhook-endpoints")).to_contain_text("Delivered")
    expect(page.locator("#new-webhook-secret")).to_have_count(0)  # shown once
    body, signature = received[0]
    assert signature == "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
