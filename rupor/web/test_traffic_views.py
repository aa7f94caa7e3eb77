"""The web analytics pages against the emulators: connect (a refusal re-renders the form without
echoing the secret), test, read now, disconnect; the Links page's site traffic beside the link
clicks, a post's results by network, and the CSV export."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from rupor.accounts import service as accounts
from rupor.accounts.middleware import SESSION_KEY
from rupor.channels import service as channels
from rupor.links.models import TrafficSource
from rupor.networks.ga4 import client as ga4_client
from rupor.networks.ga4 import testing as ga4_testing
from rupor.networks.metrica import emulator as metrica_emu
from rupor.networks.metrica import testing as metrica_testing
from rupor.planning import service as planning

pytestmark = pytest.mark.django_db

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def world(settings: Any) -> dict[str, Any]:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    owner = accounts.create_user("owner@cafe.example", "a-long-enough-passphrase-42")
    ws = accounts.create_workspace("Cafe", owner, timezone="Europe/Moscow")
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None
    channel = channels.connect(
        actor,
        channels.ChannelInput(
            network="telegram", name="Cafe TG", remote_id="@cafe", credentials={"bot_token": "1:x"}
        ),
        verify=False,
    )
    post = planning.create_post(
        actor,
        planning.PostInput(
            title="Beans", text="New beans", variants=(planning.VariantInput(channel_id=channel.pk),)
        ),
    )
    analyst = accounts.create_user("analyst@cafe.example", "a-long-enough-passphrase-42")
    accounts.add_member(actor, analyst.email, "analyst")
    return {"ws": ws, "owner": owner, "analyst": analyst, "post": post}


def _client(world: dict[str, Any], who: str = "owner") -> Client:
    client = Client()
    client.force_login(world[who])
    session = client.session
    session[SESSION_KEY] = world["ws"].slug
    session.save()
    return client


@pytest.fixture
def metrica(world):
    emulator = metrica_testing.start()
    url = f"https://cafe.example/beans?utm_source=telegram&utm_medium=social&utm_campaign=useful&utm_content={world['post'].pk}"
    metrica_testing.add_landings(emulator, [(url, NOW - dt.timedelta(days=4))])
    yield emulator
    emulator.stop()


def test_connect_test_read_and_see_the_traffic(world, metrica) -> None:
    owner = _client(world)
    page = owner.get("/settings/web-analytics/")
    assert (
        page.status_code == 200
        and b'id="connect-metrica"' in page.content
        and b'id="connect-ga4"' in page.content
    )
    refused = owner.post(
        "/settings/web-analytics/metrica/connect/",
        {
            "metrica-account_id": metrica_testing.DEMO_COUNTER_ID,
            "metrica-secret": "y0_revoked-token",
            "metrica-base_url": metrica.url,
        },
    )
    assert refused.status_code == 400
    assert b"Yandex Metrica refused the token" in refused.content
    assert b"y0_revoked-token" not in refused.content  # the secret is not echoed
    assert metrica_testing.DEMO_COUNTER_ID.encode() in refused.content  # what else was typed is kept
    done = owner.post(
        "/settings/web-analytics/metrica/connect/",
        {
            "metrica-account_id": metrica_testing.DEMO_COUNTER_ID,
            "metrica-secret": metrica_emu.DEMO_TOKEN,
            "metrica-base_url": metrica.url,
        },
    )
    assert done.status_code == 302
    page = owner.get("/settings/web-analytics/")
    assert (
        metrica_emu.DEMO_COUNTER_NAME.encode() in page.content
        and metrica_emu.DEMO_TOKEN.encode() not in page.content
    )
    assert b"Order placed" in page.content  # the goals became a choice
    tested = owner.post("/settings/web-analytics/metrica/test/", follow=True)
    assert b"The connection works" in tested.content
    read = owner.post("/settings/web-analytics/metrica/collect/", follow=True)
    assert b"rows of" in read.content

    analyst = _client(world, "analyst")
    links_page = analyst.get("/analytics/links/?days=30")
    assert links_page.status_code == 200
    body = links_page.content.decode()
    assert 'id="traffic-by-post"' in body and f"#{world['post'].pk}</a> Beans" in body
    assert 'id="traffic-by-campaign"' in body and "<code>useful</code>" in body
    post_page = owner.get(f"/posts/{world['post'].pk}/edit/")
    assert b'id="post-results"' in post_page.content and b"Sessions" in post_page.content
    csv = analyst.get("/analytics/links/traffic.csv?by=campaign&days=30")
    assert csv.status_code == 200 and csv.content.decode().splitlines()[1].startswith(",,useful,")
    # An analyst sees the connection, but neither its form nor its buttons.
    settings_page = analyst.get("/settings/web-analytics/")
    assert settings_page.status_code == 200 and b'id="connect-metrica"' not in settings_page.content
    assert analyst.post("/settings/web-analytics/metrica/collect/").status_code == 403
    gone = owner.post("/settings/web-analytics/metrica/disconnect/", follow=True)
    assert gone.status_code == 200 and not TrafficSource.objects.filter(workspace=world["ws"]).exists()
    assert b'id="traffic-empty"' in analyst.get("/analytics/links/").content


def test_a_ga4_key_file_can_be_uploaded(world) -> None:
    ga4_client.forget_tokens()
    emulator = ga4_testing.start()
    try:
        owner = _client(world)
        upload = SimpleUploadedFile("key.json", ga4_testing.demo_key_text().encode(), "application/json")
        done = owner.post(
            "/settings/web-analytics/ga4/connect/",
            {
                "ga4-account_id": ga4_testing.DEMO_PROPERTY_ID,
                "ga4-key_file": upload,
                "ga4-base_url": emulator.url,
            },
        )
        assert done.status_code == 302, done.content[:500]
        page = owner.get("/settings/web-analytics/").content.decode()
        assert "rupor-demo@rupor-demo.iam.gserviceaccount.com" in page and "PRIVATE KEY" not in page
        bad = owner.post(
            "/settings/web-analytics/ga4/connect/",
            {"ga4-account_id": ga4_testing.DEMO_PROPERTY_ID, "ga4-secret": '{"type": "authorized_user"}'},
        )
        assert bad.status_code == 400 and b"authorized_user" not in bad.content
    finally:
        emulator.stop()
        ga4_client.forget_tokens()


def test_an_unknown_source_is_not_found(world) -> None:
    owner = _client(world)
    assert owner.post("/settings/web-analytics/matomo/connect/", {}).status_code == 404
    assert owner.post("/settings/web-analytics/matomo/test/").status_code == 404
