"""The demo's web analytics: its links are tagged and shortened, its workspace is connected to the
emulated Metrica counter and GA4 property, and the visitors of its tracked links are counted."""

from __future__ import annotations

import datetime as dt

import pytest

from rupor.cli import demo
from rupor.cli.test_demo import _free_block
from rupor.core import clock
from rupor.links import service as links
from rupor.links import traffic
from rupor.links.models import ShortLink, TrafficDay, TrafficSource
from rupor.networks.ga4 import client as ga4_client

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def emulators(monkeypatch):
    ga4_client.forget_tokens()
    monkeypatch.setenv("RUPOR_DEMO_PORT_BASE", str(_free_block(demo.demo_port_count())))
    running = demo.start_emulators()
    yield running
    for emulator in running:
        emulator.stop()
    ga4_client.forget_tokens()


def test_the_demo_counts_the_visitors_of_its_tracked_links(emulators):
    info = demo.ensure_demo(verify=True)
    ws = demo._demo_workspace()
    assert ws is not None and ws.slug == info["workspace"]
    conv = links.conventions(ws.pk)
    assert conv.utm_enabled and conv.short_links
    sites = demo.web_analytics_running(emulators)
    assert set(sites) == {"metrica", "ga4"}
    assert {e.port for e in sites.values()} == {
        int(url.rsplit(":", 1)[1]) for url in demo.web_analytics_urls().values()
    }
    assert demo.ensure_demo_sources({k: e.url for k, e in sites.items()}) == ["metrica", "ga4"]
    assert TrafficSource.objects.filter(workspace=ws, verified_at__isnull=False).count() == 2
    # A link post of the demo, published three days ago on VK (as its history does).
    post_id = ws.posts.first().pk
    ref = links.VariantRef(ws.pk, post_id, 9001, None, "vk", rubric="Useful")
    tagged = links.track(
        ref, text="Read https://example.com/rupor-demo/coffee", link=None, first_comment=None
    )
    assert "/l/" in tagged.text
    ShortLink.objects.filter(workspace=ws).update(created_at=clock.now() - dt.timedelta(days=3))
    visitors = demo.DemoVisitors(sites)
    assert visitors(clock.now()) == 1
    assert visitors(clock.now()) == 0  # told once
    for kind in ("metrica", "ga4"):
        rows = TrafficDay.objects.filter(workspace=ws, source__kind=kind)
        assert rows.exists() and set(rows.values_list("post_id", "utm_source", "utm_campaign")) == {
            (post_id, "vk", "useful")
        }
    # Started again (new ports): the sources follow the emulators.
    moved = dict.fromkeys(sites, "http://127.0.0.1:9")
    assert demo.ensure_demo_sources(moved, verify=False) == ["metrica", "ga4"]
    assert set(TrafficSource.objects.filter(workspace=ws).values_list("base_url", flat=True)) == {
        "http://127.0.0.1:9"
    }
    assert traffic.default_kind(ws.pk) == "metrica"
