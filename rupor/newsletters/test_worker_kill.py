"""A newsletter run interrupted by a worker kill: nobody gets a message twice.

A worker process sends a newsletter to 40 VK subscribers and is killed (SIGKILL) the moment VK
has accepted its 15th message, before it could record that: that delivery is left "sending".
A second worker, started after the lease ran out, finishes the run. VK (the emulator dedupes on
``random_id`` as VK does) must have each person's message exactly once.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections import Counter

import pytest
from django.db import connection

from rupor.accounts import service as accounts
from rupor.accounts.roles import Role
from rupor.core import clock
from rupor.inbox.testing import connect, ledger
from rupor.networks.vk import testing as vk_testing
from rupor.newsletters import service
from rupor.newsletters.models import Delivery, Newsletter

pytestmark = pytest.mark.django_db(transaction=True)

_WORKER = r"""
import datetime as dt, os, signal, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rupor.settings")
import django
django.setup()
from django.db import connections
connections["default"].settings_dict["NAME"] = sys.argv[1]
from rupor.core import clock
from rupor.networks import registry
from rupor.newsletters import service
clock.freeze(dt.datetime.fromisoformat(sys.argv[2]))
die_after = int(sys.argv[3])
adapter = type(registry.adapter("vk"))
real = adapter.send_message
calls = 0
def send_then_die(self, *args, **kwargs):
    global calls
    sent = real(self, *args, **kwargs)
    calls += 1
    if calls == die_after:
        os.kill(os.getpid(), signal.SIGKILL)  # VK has it; our database does not know yet
    return sent
adapter.send_message = send_then_die
print(service.run_due(clock.now(), lease_s=60))
"""


def _worker(at: dt.datetime, die_after: int = 0) -> subprocess.CompletedProcess[str]:
    name = str(connection.settings_dict["NAME"])
    return subprocess.run(
        [sys.executable, "-c", _WORKER, name, at.isoformat(), str(die_after)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "RUPOR_ALLOW_PRIVATE_URLS": "127.0.0.1"},
    )


def test_a_worker_killed_mid_run_sends_nobody_anything_twice(make_workspace):
    emulator = vk_testing.start(rate_limits=False)
    try:
        start = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
        clock.freeze(start)
        ws = make_workspace()
        channel = connect(ws, vk_testing.channel_for(emulator))
        manager = accounts.Actor(ws.pk, Role.MANAGER, label="manager@example.com")
        list_id = service.create_list(
            manager, service.ListInput(channel.pk, "News", "news", quiet_start=0, quiet_end=0)
        )
        world = vk_testing.state(emulator)
        people = list(range(20001, 20041))
        rows = []
        for uid in people:
            world.message_permission(uid, allow=True)
            rows.append(f"{uid},2026-05-01T10:00:00Z,newsletter form on the site")
        assert service.import_subscribers(manager, list_id, "\n".join(rows)).added == 40
        nid = service.create_newsletter(manager, service.NewsletterInput(list_id, "June", "June news"))
        service.schedule(manager, nid, start)

        killed = _worker(start, die_after=15)
        assert killed.returncode == -9, killed.stderr
        after_kill = Counter(e["peer_id"] for e in ledger(emulator) if e["kind"] == "message_sent")
        assert len(after_kill) == 15
        # Its batch is still claimed; one of them was on its way to VK when it died.
        left = Delivery.objects.filter(newsletter_id=nid, state=Delivery.State.SENDING)
        assert (left.count(), left.filter(in_flight=True).count()) == (26, 1)

        finished = _worker(start + dt.timedelta(minutes=5))
        assert finished.returncode == 0, finished.stderr
        sent = Counter(e["peer_id"] for e in ledger(emulator) if e["kind"] == "message_sent")
        assert sorted(sent) == people
        assert set(sent.values()) == {1}
        assert Delivery.objects.filter(newsletter_id=nid, state=Delivery.State.SENT).count() == 40
        assert Newsletter.objects.get(pk=nid).status == Newsletter.Status.SENT
    finally:
        emulator.stop()
