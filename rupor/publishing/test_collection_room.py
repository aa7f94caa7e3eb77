"""What statistics collection may take: idle_for reads the shared buckets without charging them,
and collection_room keeps collection away from a channel publishing needs."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import time

import pytest

from rupor.core import clock
from rupor.networks.base import ChannelAccess, RateLimit
from rupor.publishing import ratelimit, service
from rupor.publishing import testing as publishing_testing
from rupor.publishing.models import RateBucket

pytestmark = pytest.mark.django_db

LIMITS = [RateLimit("test:collection-room", 3, 1.0)]


@pytest.mark.parametrize("backend", ["memory", "database"])
def test_idle_for_reads_without_charging(backend):
    ratelimit.use(backend)
    assert math.isinf(ratelimit.idle_for(LIMITS))  # never used
    assert ratelimit.try_acquire(LIMITS) == 0
    assert ratelimit.idle_for(LIMITS) == 0  # paced: the next call's moment is still ahead
    wait = ratelimit.try_acquire(LIMITS)
    assert wait > 0  # reading idle_for charged nothing: the bucket is where the acquire left it
    key = hashlib.sha256(LIMITS[0].key.encode()).hexdigest()
    past = time.time() - 30
    if backend == "memory":
        store = ratelimit.backend()
        assert isinstance(store, ratelimit.MemoryBackend)
        store._tat[key] = past
    else:
        RateBucket.objects.filter(key=key).update(tat=past)
    assert ratelimit.idle_for(LIMITS) == pytest.approx(30, abs=2)


def test_collection_room_waits_for_publishing(make_workspace):
    ws = make_workspace()
    access = ChannelAccess(
        network="vk",
        remote_id="1",
        credentials={"user_token": "u", "group_token": "g"},
        base_url="http://127.0.0.1:9",
    )
    ch = publishing_testing.channel(ws, access)
    assert service.collection_room(ch.pk).ok
    due = publishing_testing.schedule(ch, "Soon", clock.now() + dt.timedelta(minutes=10))
    room = service.collection_room(ch.pk)
    assert not room.ok and "due to publish" in room.reason
    due.delete()
    publishing_testing.schedule(ch, "Later", clock.now() + dt.timedelta(minutes=40))
    assert service.collection_room(ch.pk).ok  # further than 15 minutes away
    from rupor.networks import registry

    ratelimit.try_acquire(registry.adapter("vk").rate_limits(access, None))  # publishing just called
    room = service.collection_room(ch.pk)
    assert not room.ok and "rate limit" in room.reason
