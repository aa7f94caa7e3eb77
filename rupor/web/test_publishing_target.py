"""A target's history page names the post and the channel, shows times in the workspace's zone,
speaks the person's language and links to the post on the network only where that page exists."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from rupor.accounts import service as accounts
from rupor.core import clock, http
from rupor.networks.ok import testing as ok_testing
from rupor.networks.telegram import testing as telegram_testing
from rupor.networks.vk import testing as vk_testing
from rupor.publishing import testing as pt
from rupor.publishing.models import PublicationTarget, TargetState
from rupor.publishing.worker import run_worker
from rupor.web.publishing_views import network_address

PASSWORD = "a-long-enough-passphrase-42"
T0 = dt.datetime(2030, 1, 15, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def world(db: Any) -> dict[str, Any]:
    owner = accounts.create_user("owner@example.com", PASSWORD)
    ws = accounts.create_workspace("Coffee House", owner, timezone="Asia/Seoul")
    access = telegram_testing.channel_for(type("E", (), {"url": ""})())
    channel = pt.channel(ws, access, name="Coffee TG")
    target = pt.schedule(channel, "Fresh croissants at nine", T0)
    PublicationTarget.objects.filter(pk=target.pk).update(state=TargetState.FAILED, error_message="why")
    return {"target": target.pk}


def _client(language: str = "en") -> Client:
    client = Client()
    assert client.login(username="owner@example.com", password=PASSWORD)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def test_it_names_the_post_and_channel_in_the_workspace_zone(world: dict[str, Any]) -> None:
    html = _client().get(reverse("web:publishing_target", args=[world["target"]])).content.decode()
    assert "Fresh croissants at nine" in html and "Coffee TG" in html
    assert "2030-01-15 18:00" in html  # 09:00 UTC is 18:00 in Seoul
    assert "Scheduled for 2030-01-15 18:00" in html  # the recorded cause, in the zone and in words
    assert "Asia/Seoul" in html
    assert "Open on the network" not in html  # the network gave no address


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("ru", ("Ошибка", "Запланировано", "Запланировано на 2030-01-15 18:00")),
        ("ko", ("실패", "예약됨", "2030-01-15 18:00에 예약됨")),
    ],
)
def test_states_are_translated(world: dict[str, Any], language: str, words: tuple[str, ...]) -> None:
    html = _client(language).get(reverse("web:publishing_target", args=[world["target"]])).content.decode()
    for word in words:
        assert f">{word}<" in html
    assert ">failed<" not in html and ">scheduled<" not in html


def test_the_address_is_the_networks_or_the_stand_ins() -> None:
    assert network_address("", "http://127.0.0.1:8101") == ""
    assert network_address("javascript:alert(1)", "") == ""
    assert network_address("https://vk.com/wall-1_5", "") == "https://vk.com/wall-1_5"
    assert (
        network_address("https://vk.com/wall-1_5", "http://127.0.0.1:8101/")
        == "http://127.0.0.1:8101/wall-1_5"
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mod", [vk_testing, telegram_testing, ok_testing], ids=["vk", "telegram", "ok"])
def test_each_emulator_serves_the_page_the_adapter_links_to(mod: Any) -> None:
    emulator = mod.start(rate_limits=False)
    try:
        ws = pt.workspace()
        channel = pt.channel(ws, mod.channel_for(emulator))
        target = pt.schedule(channel, "Seen on its own page <b>")
        run_worker(once=True, concurrency=1, worker_id="w-page")
        target.refresh_from_db()
        assert target.state == TargetState.PUBLISHED and target.remote_url
        address = network_address(target.remote_url, channel.base_url)
        with http.client(timeout=5) as client:
            page = client.get(address)
            missing = client.get(address.rsplit("/", 1)[0] + "/987654")
        assert page.status_code == 200, address
        assert "Seen on its own page &lt;b&gt;" in page.text
        assert missing.status_code == 404
    finally:
        emulator.stop()
        clock.reset()
