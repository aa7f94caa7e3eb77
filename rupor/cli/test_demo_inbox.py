"""The demo's inbox: the emulated audience speaks through the emulators' own paths and the inbox
takes it in by polling, once."""

from __future__ import annotations

import datetime as dt

import pytest

from rupor.cli import demo
from rupor.cli.test_demo import _free_block
from rupor.core import clock
from rupor.networks import registry

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def emulators(monkeypatch):
    monkeypatch.setenv(
        "RUPOR_DEMO_PORT_BASE", str(_free_block(len(registry.NETWORKS) + 3))
    )  # networks, drand, Metrica, GA4
    running = demo.start_emulators()
    yield running
    for emulator in running:
        emulator.stop()


def test_the_demo_audience_fills_the_inbox_once(emulators):
    from rupor.inbox.models import InboxItem
    from rupor.publishing.worker import run_worker

    demo.ensure_demo(verify=True)
    audience = demo.DemoAudience(demo.running_by_network(emulators))

    # At once: the direct message (it needs no post); no post is out yet, so no comment.
    assert audience(clock.now()) == 1
    message = InboxItem.objects.get(outgoing=False)
    assert message.kind == "message" and message.channel.network == "vk"

    # The welcome post goes out two minutes after the demo is made; then its readers comment.
    # Instagram fetches the post's picture from RUPOR_BASE_URL, which nothing serves in this test:
    # its post stops there, saying so, and no one comments on it.
    by_url = {"instagram"}
    said = sum(len(texts) for network, texts in demo.DEMO_COMMENTS.items() if network not in by_url)
    clock.freeze(clock.now() + dt.timedelta(minutes=3))
    try:
        run_worker(once=True)
        assert audience(clock.now()) == said
    finally:
        clock.freeze(None)
    from rupor.publishing.models import PublicationTarget

    unserved = PublicationTarget.objects.filter(channel__network="instagram").exclude(error_message="")
    assert unserved.exists()
    assert all("RUPOR_BASE_URL" in t.error_message for t in unserved)
    comments = InboxItem.objects.filter(kind="comment", outgoing=False)
    assert {c.channel.network for c in comments} == set(registry.available()) - by_url
    texts = {c.text for c in comments}
    assert "Спасибо за капучино, лучший в городе!" in texts
    assert "원두 정말 맛있어요! 매일 아침 마시고 있어요 ☕" in texts
    assert "사진 너무 예뻐요! 🥐" in texts  # a reply on Bluesky, taken in from its notifications
    assert all(c.post_id is not None for c in comments)  # placed on the demo's own posts

    # Said once: the job and a fresh serve process (a new job) leave the inbox as it is.
    assert audience(clock.now()) == 0
    assert demo.DemoAudience(demo.running_by_network(emulators))(clock.now()) == 0
    assert InboxItem.objects.filter(outgoing=False).count() == 1 + said
