"""Staging and draining from several processes, as ``rupor serve --processes N`` runs them: web
processes stage at once and wake the one drainer through a pipe; drainers that run at the same
time store each item once; a drainer killed in the middle of a drain loses nothing."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from rupor.inbox import hooks, staging
from rupor.inbox.models import HookDelivery, InboxItem
from rupor.inbox.test_staging import _call, _comment, _Fallback, _remote_ids, channel, no_drainer, vk_emu

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["channel", "no_drainer", "vk_emu"]  # fixtures, shared with test_staging.py

#: A process of its own on the test database: ``stage`` posts deliveries through the WSGI route
#: from 8 threads and wakes the drainer through its socket (as a web process does), ``drain``
#: drains until nothing waits, ``die`` is killed (SIGKILL) in the middle of a drain.
_PROCESS = r"""
import json, os, signal, sys, threading
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rupor.settings")
import django
django.setup()
from django.db import connection, connections
connections["default"].settings_dict["NAME"] = sys.argv[1]
from rupor.inbox import hooks, service, staging
mode = sys.argv[2]
if mode == "stage":
    staging.drainer.wake_only(sys.argv[4])
    path, bodies = json.loads(open(sys.argv[3]).read())
    app = hooks.wsgi_route(None)
    statuses = []
    def post(chunk):
        for body in chunk:
            seen = {}
            def start_response(status, headers):
                seen["status"] = int(status.split()[0])
            import io
            environ = {"REQUEST_METHOD": "POST", "PATH_INFO": path, "CONTENT_TYPE": "application/json",
                       "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body.encode())}
            b"".join(app(environ, start_response))
            statuses.append(seen["status"])
        connection.close()
    threads = [threading.Thread(target=post, args=(bodies[i::8],)) for i in range(8)]
    for t in threads: t.start()
    for t in threads: t.join()
    print(json.dumps(statuses))
elif mode == "drain":
    print(staging.drain_all(60))
elif mode == "die":
    real = service.ingest_for
    def dies_after_storing(channel, events):
        real(channel, events)
        os.kill(os.getpid(), signal.SIGKILL)
    service.ingest_for = dies_after_storing
    staging.drain()
"""


def _process(*args: str) -> subprocess.Popen[str]:
    name = str(connection.settings_dict["NAME"])
    return subprocess.Popen([sys.executable, "-c", _PROCESS, name, *args], stdout=subprocess.PIPE, text=True)


def test_two_processes_stage_at_once_while_another_drains(channel, no_drainer, tmp_path: Path):
    path = hooks.hook_path(channel)
    # 150 deliveries each, 30 of them sent by both processes (a network retrying elsewhere).
    first = [_comment(n).decode() for n in range(1, 151)]
    second = [_comment(n).decode() for n in range(121, 271)]
    (tmp_path / "a.json").write_text(json.dumps([path, first]))
    (tmp_path / "b.json").write_text(json.dumps([path, second]))
    # A drainer's socket, as the serve process gives it to its web processes (its thread is not
    # started: the test reads the wakes itself).
    woken = staging._Drainer()
    address = woken.wake_address
    stagers = [_process("stage", str(tmp_path / f), address) for f in ("a.json", "b.json")]
    drainer = _process("drain")  # a drainer running at the same time as the staging
    statuses = [json.loads(p.communicate(timeout=120)[0]) for p in stagers]
    drainer.communicate(timeout=120)
    assert drainer.returncode == 0
    assert woken._woken(0), "the staging processes woke the drainer through its socket"
    assert [sorted(set(s)) for s in statuses] == [[200], [200]]
    assert [len(s) for s in statuses] == [150, 150]
    staging.drain_all()  # what the concurrent drainer had not seen yet
    assert not HookDelivery.objects.exists()
    assert _remote_ids(channel) == sorted(f"-1_{n}" for n in range(1, 271))  # each once


def test_concurrent_drainers_store_each_item_once(channel, no_drainer):
    app, path = hooks.wsgi_route(_Fallback()), hooks.hook_path(channel)
    for n in range(1, 1201):
        assert _call(app, path, _comment(n))[0] == 200
    drainers = [_process("drain") for _ in range(3)]
    handled = [int(p.communicate(timeout=120)[0]) for p in drainers]
    assert all(p.returncode == 0 for p in drainers)
    assert sum(handled) >= 1200  # rows two drainers both read are stored by the first only
    assert not HookDelivery.objects.exists()
    assert _remote_ids(channel) == sorted(f"-1_{n}" for n in range(1, 1201))


def test_a_drainer_killed_in_the_middle_of_a_drain_loses_nothing(channel, no_drainer):
    app, path = hooks.wsgi_route(_Fallback()), hooks.hook_path(channel)
    for n in range(1, 21):
        assert _call(app, path, _comment(n))[0] == 200
    dying = _process("die")
    dying.communicate(timeout=120)
    assert dying.returncode == -signal.SIGKILL
    # Its transaction never committed: no items, every row still staged, the lock released.
    assert not InboxItem.objects.filter(channel=channel).exists()
    assert HookDelivery.objects.count() == 20
    assert staging.drain() == 20
    assert _remote_ids(channel) == sorted(f"-1_{n}" for n in range(1, 21))
    assert not HookDelivery.objects.exists()
