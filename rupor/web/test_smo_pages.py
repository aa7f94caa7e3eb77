"""The SMO kit's pages: the share kit with its live preview (the snippet itself, in a sandboxed
frame under a policy of its own), the widgets page, the link-preview check; who may use them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from rupor.accounts.models import Membership
from rupor.channels.models import Channel
from rupor.smo.testing import SiteServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(make_workspace: Any, make_user: Any) -> tuple[Client, Any]:
    ws = make_workspace()
    person = make_user()
    Membership.objects.create(workspace=ws, user=person, role="editor")
    client = Client()
    client.force_login(person)
    client.post("/workspaces/switch/", {"workspace": ws.slug})
    return client, ws


@pytest.fixture
def site(settings: Any) -> Iterator[SiteServer]:
    server = SiteServer().start()
    settings.RUPOR_ALLOW_PRIVATE_URLS = (server.origin,)
    yield server
    server.stop()


def test_the_kit_renders_a_snippet_and_its_preview_is_that_snippet(editor: tuple[Client, Any]) -> None:
    client, _ws = editor
    page = client.get("/smo/")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'id="share-snippet"' in body and 'id="share-preview"' in body
    assert 'sandbox="allow-scripts allow-popups allow-popups-to-escape-sandbox allow-forms"' in body
    query = "form=1&networks=vk&networks=x&page=fixed&url=https%3A%2F%2Fshop.example%2Fp&title=Spring&utm=1&campaign=spring"
    chosen = client.get(f"/smo/?{query}")
    snippet = chosen.context["kit"].snippet
    assert "utm_source%3Dvk" in snippet and "rs-x" in snippet and "rs-telegram" not in snippet
    assert f"/smo/preview/?{query}" in chosen.content.decode().replace("&amp;", "&")
    preview = client.get(f"/smo/preview/?{query}")
    assert preview.status_code == 200
    assert snippet in preview.content.decode()
    policy = preview["Content-Security-Policy"]
    assert "script-src 'unsafe-inline'" in policy and "default-src 'none'" in policy
    assert "frame-ancestors 'self'" in policy and "sandbox allow-scripts" in policy
    assert preview["X-Frame-Options"] == "SAMEORIGIN"
    # The kit page itself keeps Rupor's strict policy.
    assert "script-src 'self'" in chosen["Content-Security-Policy"]


def test_a_refused_option_is_shown_with_what_was_typed(editor: tuple[Client, Any]) -> None:
    client, _ws = editor
    page = client.get("/smo/?form=1&networks=vk&page=fixed&url=ftp%3A%2F%2Fx&title=Keep+me")
    body = page.content.decode()
    assert page.status_code == 200 and 'id="kit-error"' in body
    assert 'value="Keep me"' in body and 'value="ftp://x"' in body
    assert client.get("/smo/preview/?form=1&networks=").status_code == 400


def test_widgets_page_lists_the_channels_widgets(editor: tuple[Client, Any]) -> None:
    client, ws = editor
    assert "widgets-empty" in client.get("/smo/widgets/").content.decode()
    channel = Channel.objects.create(workspace=ws, network="telegram", name="Bakery TG", remote_id="-1001")
    page = client.get("/smo/widgets/")
    body = page.content.decode()
    assert "widgets-offline" in body and f'name="{channel.pk}-username"' in body
    typed = client.get(
        f"/smo/widgets/?{channel.pk}-username=bakery_news&{channel.pk}-post=5"
    ).content.decode()
    assert 'data-telegram-post="bakery_news/5"' in typed and "telegram.org" in typed


def test_the_check_page_shows_each_network_and_explains_a_refusal(
    editor: tuple[Client, Any], site: SiteServer
) -> None:
    client, _ws = editor
    page = client.get("/smo/check/", {"url": site.good_page()})
    body = page.content.decode()
    assert page.status_code == 200 and 'id="check-cards"' in body
    for network in ("vk", "telegram", "ok", "facebook", "x", "linkedin", "bluesky", "mastodon"):
        assert f'id="card-{network}"' in body
    assert "data:image/jpeg;base64," in body
    refused = client.get("/smo/check/", {"url": "http://10.0.0.1/"}).content.decode()
    assert 'id="check-error"' in refused and "private or local address" in refused
    assert 'id="check-error"' in client.get("/smo/check/", {"url": "not an address"}).content.decode()


def test_roles_that_do_not_write_content_are_refused(make_workspace: Any, make_user: Any) -> None:
    ws = make_workspace()
    person = make_user()
    Membership.objects.create(workspace=ws, user=person, role="analyst")
    client = Client()
    client.force_login(person)
    client.post("/workspaces/switch/", {"workspace": ws.slug})
    for path in ("/smo/", "/smo/preview/", "/smo/widgets/", "/smo/check/"):
        assert client.get(path).status_code == 403, path
    assert "/smo/" not in client.get("/analytics/").content.decode()
