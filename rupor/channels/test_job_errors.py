"""One channel's bad settings or a network answering garbage cannot stop anyone else: every
periodic job records the failure on that channel (shown on the channel list, the publishing
page and in the API), goes on with the other channels, and forgets it after a success."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from rupor.accounts.middleware import SESSION_KEY
from rupor.analytics import jobs as analytics_jobs
from rupor.analytics.models import ChannelMetricReading
from rupor.channels.models import Channel
from rupor.channels.testing import Recorder
from rupor.core import clock
from rupor.inbox import hooks
from rupor.inbox import jobs as inbox_jobs
from rupor.inbox.models import IntakeCursor
from rupor.inbox.testing import connect
from rupor.networks.vk import testing as vk_testing

pytestmark = pytest.mark.django_db

#: Settings an older version (or a hand edit) might have left in the database.
HOSTILE = [
    {"timeout": "abc"},
    {"longpoll_wait": 10**9},
    {"timeout": 1e308},
    "garbage",
    [1, 2],
    {"pace": "later"},
]


@pytest.fixture(scope="module")
def vk_emu():
    emulator = vk_testing.start(rate_limits=False)
    yield emulator
    emulator.stop()


@pytest.fixture
def garbage():
    recorder = Recorder(answer=b'{"response": "this is not what VK sends"').start()
    yield recorder
    recorder.stop()


@pytest.fixture
def world(vk_emu, make_user, make_workspace, api_for):
    """Workspace A: a channel that will be broken (made first, so it is met first); workspace B:
    a healthy channel on the same emulated network."""
    owner = make_user()
    ws_a = make_workspace("Broken", owner=owner)
    ws_b = make_workspace("Healthy")
    broken = connect(ws_a, vk_testing.channel_for(vk_emu, settings={"pace": False}), name="Broken VK")
    healthy = connect(ws_b, vk_testing.channel_for(vk_emu, settings={"pace": False}), name="Healthy VK")
    assert broken.pk < healthy.pk
    return {
        "owner": owner,
        "ws_a": ws_a,
        "broken": broken,
        "healthy": healthy,
        "api_a": api_for(ws_a, "analyst"),
    }


def _break(channel: Channel, settings: object) -> None:
    Channel.objects.filter(pk=channel.pk).update(settings=settings)  # bypasses validation, as old data would


@pytest.mark.parametrize("hostile", HOSTILE)
def test_inbox_polling_records_bad_settings_and_polls_the_other_workspace(world, hostile):
    _break(world["broken"], hostile)
    inbox_jobs.run_due(clock.now())
    broken = Channel.objects.get(pk=world["broken"].pk)
    assert broken.last_error_job == "inbox"
    assert "settings" in broken.last_error and broken.last_error_at is not None
    assert IntakeCursor.objects.get(channel_id=world["healthy"].pk).last_polled_at is not None
    assert Channel.objects.get(pk=world["healthy"].pk).last_error == ""

    # Fixed (as a person would, through the API or the form), the next pass polls it and forgets the error.
    _break(world["broken"], {"pace": False})
    inbox_jobs.run_due(clock.now() + inbox_jobs.INTERVAL + dt.timedelta(seconds=1))
    broken.refresh_from_db()
    assert (broken.last_error, broken.last_error_job) == ("", "")
    assert broken.last_error_at is None


@pytest.mark.parametrize("hostile", HOSTILE)
def test_metric_collection_records_bad_settings_and_measures_the_other_workspace(world, hostile):
    _break(world["broken"], hostile)
    analytics_jobs.run_due(clock.now())
    broken = Channel.objects.get(pk=world["broken"].pk)
    assert broken.last_error_job == "metrics" and "settings" in broken.last_error
    assert ChannelMetricReading.objects.filter(channel_id=world["healthy"].pk).exists()
    assert not ChannelMetricReading.objects.filter(channel_id=broken.pk).exists()
    # Not retried before the interval has passed; retried and cleared once it has and works.
    _break(world["broken"], {"pace": False})
    analytics_jobs.run_due(clock.now())
    assert not ChannelMetricReading.objects.filter(channel_id=broken.pk).exists()
    analytics_jobs.run_due(clock.now() + analytics_jobs.INTERVAL + dt.timedelta(seconds=1))
    assert ChannelMetricReading.objects.filter(channel_id=broken.pk).exists()
    broken.refresh_from_db()
    assert broken.last_error == ""


def test_a_network_answering_garbage_is_a_recorded_error_not_a_stopped_loop(world, garbage):
    Channel.objects.filter(pk=world["broken"].pk).update(base_url=garbage.url)
    inbox_jobs.run_due(clock.now())
    analytics_jobs.run_due(clock.now())
    broken = Channel.objects.get(pk=world["broken"].pk)
    assert garbage.requests  # it was asked, and answered nonsense
    assert broken.last_error and broken.last_error_job == "metrics"
    assert IntakeCursor.objects.get(channel_id=world["healthy"].pk).last_polled_at is not None
    assert ChannelMetricReading.objects.filter(channel_id=world["healthy"].pk).exists()


def test_the_error_is_shown_in_the_api_the_channel_list_and_the_publishing_page(world):
    _break(world["broken"], {"timeout": "abc"})
    inbox_jobs.run_due(clock.now())
    res = world["api_a"].get(f"/channels/{world['broken'].pk}")
    assert res.status_code == 200
    body = res.json()
    assert body["last_error_job"] == "inbox" and "timeout" in body["last_error"] and body["last_error_at"]

    client = Client()
    client.force_login(world["owner"])
    session = client.session
    session[SESSION_KEY] = world["ws_a"].slug
    session.save()
    page = client.get("/channels/").content.decode()
    assert "Inbox polling" in page and "timeout" in page
    page = client.get("/publishing/").content.decode()
    assert "Channels with errors" in page and "Broken VK" in page and "Healthy VK" not in page
    page = client.get(f"/channels/{world['broken'].pk}/edit/").content.decode()
    assert "Inbox polling failed" in page

    # Saving the channel (here from the web form) resets what is wrong and lets the jobs try again.
    res = client.post(
        f"/channels/{world['broken'].pk}/edit/",
        {"name": "Broken VK", "base_url": world["broken"].base_url, "status": "active"},
    )
    assert res.status_code == 302
    broken = Channel.objects.get(pk=world["broken"].pk)
    assert broken.settings == {}  # the broken timeout is gone; the default applies
    assert broken.last_error == ""
    inbox_jobs.run_due(clock.now())
    assert Channel.objects.get(pk=world["broken"].pk).last_error == ""


@pytest.mark.urls("rupor.inbox.testing_urls")
def test_a_webhook_for_a_channel_with_bad_settings_is_refused_and_recorded(world):
    path = hooks.hook_path(world["broken"])
    Channel.objects.filter(pk=world["broken"].pk).update(
        settings={"hook_token": path.split("/")[-2], "timeout": "abc"}
    )
    res = Client().post(path, b'{"type": "confirmation", "group_id": 1}', content_type="application/json")
    assert res.status_code == 503
    broken = Channel.objects.get(pk=world["broken"].pk)
    assert broken.last_error_job == "webhook" and "timeout" in broken.last_error
