"""What became of a newsletter, against the VK and Telegram emulators: its links go out as one
tracked short link per address (UTM-tagged with the workspace's newsletter medium), a click on it
counts for the newsletter, VK tells which messages were read (``out_read``) and Telegram does
not, and the read check is claimed by one worker at a time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from rupor.accounts import service as accounts
from rupor.accounts.models import Workspace
from rupor.accounts.roles import Role
from rupor.core import clock
from rupor.inbox.testing import connect, ledger
from rupor.links import service as links
from rupor.links.models import ShortLink
from rupor.networks.emulation import RunningEmulator
from rupor.networks.telegram import testing as tg_testing
from rupor.networks.vk import testing as vk_testing
from rupor.newsletters import service
from rupor.newsletters.models import Delivery, Newsletter

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
TEXT = "Autumn menu: https://cafe.example/menu?lang=ru and the terrace https://cafe.example/terrace."


@pytest.fixture
def vk_emu() -> Iterator[RunningEmulator]:
    emulator = vk_testing.start(rate_limits=False)
    yield emulator
    emulator.stop()


def _actor(ws: Workspace) -> accounts.Actor:
    return accounts.Actor(ws.pk, Role.MANAGER, label="manager@example.com")


def _vk_list(ws: Workspace, emulator: RunningEmulator, people: tuple[int, ...]) -> int:
    channel = connect(ws, vk_testing.channel_for(emulator))
    list_id = service.create_list(_actor(ws), service.ListInput(channel.pk, "News", "news"))
    rows = "\n".join(f"{uid},2026-05-01T10:00:00Z,signed up at the cafe counter" for uid in people)
    assert service.import_subscribers(_actor(ws), list_id, rows).added == len(people)
    world = vk_testing.state(emulator)
    for uid in people:
        world.message_permission(uid, allow=True)
    return list_id


def _send(ws: Workspace, list_id: int, text: str = TEXT) -> int:
    nid = service.create_newsletter(_actor(ws), service.NewsletterInput(list_id, "Autumn menu", text))
    service.schedule(_actor(ws), nid, clock.now())
    service.run_due(clock.now())
    return nid


def _sent_texts(emulator: RunningEmulator) -> list[str]:
    return [e["text"] for e in ledger(emulator) if e["kind"] == "message_sent"]


def test_links_go_out_tracked_once_per_newsletter_and_their_clicks_count(make_workspace, vk_emu) -> None:
    clock.freeze(NOON)
    ws = make_workspace()
    list_id = _vk_list(ws, vk_emu, (10011, 10012, 10013))
    nid = _send(ws, list_id)
    texts = _sent_texts(vk_emu)
    assert len(texts) == 3 and all("/u/" in t for t in texts)
    links_made = list(ShortLink.objects.filter(newsletter_id=nid).order_by("pk"))
    assert len(links_made) == 2  # one per address, for the three people alike
    for link in links_made:
        assert all(f"/l/{link.code}" in t for t in texts)
        tags = parse_qs(urlsplit(link.url).query)
        assert tags["utm_source"] == ["vk"] and tags["utm_medium"] == ["email"]
        assert tags["utm_campaign"] == ["autumn_menu"] and tags["utm_content"] == [f"newsletter-{nid}"]
    assert parse_qs(urlsplit(links_made[0].url).query)["lang"] == ["ru"]  # the address's own query kept
    assert "https://cafe.example" not in texts[0]
    assert Newsletter.objects.get(pk=nid).sent_text.endswith(".")  # the sentence's full stop stays outside

    stats = service.stats(ws.pk, nid)
    assert (stats.sent, stats.clicks, stats.unique_clicks, stats.tracked_links) == (3, 0, 0, 2)
    client = Client(
        HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0", REMOTE_ADDR="203.0.113.7"
    )
    answer = client.get(f"/l/{links_made[0].code}")
    assert answer.status_code == 302 and answer["Location"] == links_made[0].url
    client.get(f"/l/{links_made[0].code}")  # the same person again: a click, not a new person
    Client(HTTP_USER_AGENT="TelegramBot (like TwitterBot)").get(f"/l/{links_made[1].code}")  # a preview
    stats = service.stats(ws.pk, nid)
    assert (stats.clicks, stats.unique_clicks) == (2, 1)
    assert [r.stats.human for r in links.newsletter_links(ws.pk, nid)] == [2, 0]
    # A post's figures never count a newsletter's clicks.
    assert links.post_stats(ws.pk, [nid]) == {}


def test_the_workspace_chooses_the_medium_or_sends_links_as_written(make_workspace, vk_emu) -> None:
    clock.freeze(NOON)
    ws = make_workspace()
    list_id = _vk_list(ws, vk_emu, (10011,))
    owner = accounts.Actor(ws.pk, Role.OWNER, label="owner@example.com")
    links.save_conventions(owner, links.Conventions(newsletter_medium="newsletter"))
    nid = _send(ws, list_id)
    (link, _second) = ShortLink.objects.filter(newsletter_id=nid).order_by("pk")
    assert parse_qs(urlsplit(link.url).query)["utm_medium"] == ["newsletter"]
    links.save_conventions(owner, links.Conventions(newsletter_links=False))
    later = _send(ws, list_id, "Plain: https://cafe.example/plain")
    assert "https://cafe.example/plain" in _sent_texts(vk_emu)[-1]
    assert not ShortLink.objects.filter(newsletter_id=later).exists()
    assert service.stats(ws.pk, later).clicks is None
    with pytest.raises(links.LinksError) as refused:
        links.save_conventions(owner, links.Conventions(newsletter_medium="sms"))
    assert refused.value.field == "newsletter_medium"


def test_vk_reads_are_collected_from_out_read(make_workspace, vk_emu) -> None:
    clock.freeze(NOON)
    ws = make_workspace()
    list_id = _vk_list(ws, vk_emu, (10011, 10012, 10013))
    nid = _send(ws, list_id, "Short news")  # the worker's pass asks at once: nobody has read yet
    assert service.stats(ws.pk, nid).read == 0  # VK tells; nobody has read yet
    world = vk_testing.state(vk_emu)
    world.read_message(10011)  # reads everything
    vk_testing._post(
        vk_emu, "/_emulator/vk/audience_message", {"text": "thanks!", "user_id": 10012}
    )  # answers
    assert service.collect_reads(clock.now()) == 0  # asked just now: not again before READ_EVERY
    clock.freeze(NOON + service.READ_EVERY)
    assert service.collect_reads(clock.now()) == 2
    read = set(
        Delivery.objects.filter(newsletter_id=nid, read_at__isnull=False).values_list(
            "subscription__address", flat=True
        )
    )
    assert read == {"10011", "10012"}
    assert service.stats(ws.pk, nid).read == 2
    world.read_message(10013)
    assert service.collect_reads(clock.now()) == 0  # a second worker in the same pass finds it taken
    clock.freeze(NOON + 2 * service.READ_EVERY)
    assert service.collect_reads(clock.now()) == 1
    assert service.stats(ws.pk, nid).read == 3
    assert world.calls["messages.getConversationsById"] == 3  # one call a check for all (100 a call)
    # After the read window, nothing more is asked.
    clock.freeze(NOON + service.READ_WINDOW + service.READ_EVERY)
    assert service.collect_reads(clock.now()) == 0
    assert world.calls["messages.getConversationsById"] == 3


def test_a_network_error_leaves_reads_for_the_next_check(make_workspace, vk_emu) -> None:
    clock.freeze(NOON)
    ws = make_workspace()
    list_id = _vk_list(ws, vk_emu, (10011,))
    nid = _send(ws, list_id, "Short news")
    vk_testing.state(vk_emu).read_message(10011)
    vk_testing._post(
        vk_emu, "/_emulator/vk/errors", {"method": "messages.getConversationsById", "code": 10, "count": 1}
    )
    clock.freeze(NOON + service.READ_EVERY)
    assert service.collect_reads(clock.now()) == 0
    clock.freeze(NOON + 2 * service.READ_EVERY)
    assert service.collect_reads(clock.now()) == 1
    assert service.stats(ws.pk, nid).read == 1


def test_telegram_does_not_tell_a_bot_who_read(make_workspace) -> None:
    clock.freeze(NOON)
    emulator = tg_testing.start(rate_limits=False)
    try:
        ws = make_workspace()
        channel = connect(ws, tg_testing.channel_for(emulator))
        list_id = service.create_list(_actor(ws), service.ListInput(channel.pk, "News", "news"))
        nid = service.create_newsletter(
            _actor(ws), service.NewsletterInput(list_id, "Issue", "Hi https://cafe.example")
        )
        stats = service.stats(ws.pk, nid)
        assert stats.read is None and not service.reports_reads("telegram") and service.reports_reads("vk")
        assert service.collect_reads(clock.now()) == 0
    finally:
        emulator.stop()


def test_the_newsletter_page_shows_delivered_read_and_clicked(make_workspace, make_user, vk_emu) -> None:
    clock.freeze(NOON)
    owner = make_user("owner@example.com")
    ws = make_workspace(owner=owner)
    list_id = _vk_list(ws, vk_emu, (10011, 10012))
    nid = _send(ws, list_id)
    vk_testing.state(vk_emu).read_message(10011)
    clock.freeze(NOON + service.READ_EVERY)
    service.collect_reads(clock.now())
    code = ShortLink.objects.filter(newsletter_id=nid).order_by("pk").first().code  # type: ignore[union-attr]  # made above
    Client(HTTP_USER_AGENT="Mozilla/5.0 Firefox/128.0").get(f"/l/{code}")
    client = Client()
    client.force_login(owner)
    html = client.get(f"/newsletters/{nid}/").content.decode()
    assert 'id="stat-read">1 <span class="faint">(50%)</span>' in html
    assert "1 person a day" in html and "(50%)" in html and "1 click" in html
    assert 'id="newsletter-links"' in html and f"/l/{code}" in html
    assert "As it was sent" in html
