"""Several ``rupor worker`` processes and a web process (``rupor serve --no-worker --processes 2``)
against one PostgreSQL and one Redis, the topology of ``compose.yaml``, while posts fall due on
two emulated networks (VK and Mastodon: each honours an idempotency key, so every target must
end published, exactly once). The workers keep the networks' declared rate limits (shared in
Redis), so the numbers stay within what one account may do: VK's 3 calls a second for a user
token, Mastodon's 300 requests in 5 minutes (one a second).

The workers log in as a role that PostgreSQL lets open only three connections, one pooled
connection each (``RUPOR_DB_POOL_MAX=1``), and there are four of them: one is always refused
until another dies. During the run workers are killed with SIGKILL and new ones started, and
every connection of the role is terminated once (the server "going away"). Afterwards,
according to the emulators' own records: every target published exactly once, none stranded;
the refusals are in the journal the health page reads (Redis), in the API's health answer from
the web process, and in the heartbeat of a worker that was refused and got in; ``/healthz``
answered throughout.

Skipped without PostgreSQL or Redis (CI has both). Sized for well under a minute.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.db import connection

from rupor.accounts import service as accounts
from rupor.core import clock, dbwatch, http
from rupor.planning.models import PostVariant
from rupor.publishing import testing as pt
from rupor.publishing.models import PublicationTarget, TargetState, WorkerHeartbeat

pytestmark = pytest.mark.django_db(transaction=True)

REDIS_URL = os.environ.get("RUPOR_TEST_REDIS_URL", "redis://127.0.0.1:6379/7")
#: Targets a network: within what its limits let one account publish while they fall due.
PER_NETWORK = {"vk": 30, "mastodon": 10}
NETWORKS = tuple(PER_NETWORK)
#: The targets fall due one after another over this many seconds, while workers come and go.
SPREAD_S = 10.0
CONNECTION_LIMIT = 3
WORKERS = 4
ROOT = Path(__file__).resolve().parents[2]
TERMINAL = (TargetState.PUBLISHED, TargetState.FAILED, TargetState.UNCONFIRMED, TargetState.MISSED)


def _redis_or_skip() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {REDIS_URL} ({exc}); set RUPOR_TEST_REDIS_URL")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _url(user: str, password: str) -> str:
    s = connection.settings_dict
    auth = f"{user}:{password}" if password else user
    return f"postgresql://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _limited_role() -> tuple[str, str]:
    """A role that may open only CONNECTION_LIMIT connections (not a superuser: superusers are
    not held to a role's limit), with rights on the test database's tables."""
    role, password = f"rupor_workers_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE ROLE {role} LOGIN PASSWORD %s CONNECTION LIMIT {CONNECTION_LIMIT}", [password]
        )
        cursor.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
        cursor.execute(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}")
    return role, password


def _drop_role(role: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", [role])
        cursor.execute(f"DROP OWNED BY {role}")
        cursor.execute(f"DROP ROLE IF EXISTS {role}")


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        RUPOR_REDIS_URL=REDIS_URL,
        RUPOR_ALLOW_PRIVATE_URLS="127.0.0.1",
        RUPOR_LOG_LEVEL="WARNING",
        RUPOR_LEASE_S="3",
        RUPOR_WORKER_POLL_S="0.1",
        **extra,
    )
    return env


def _rupor(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", "from rupor.cli.main import cli; cli()", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
        start_new_session=True,
    )


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, object]]:
    with http.client(
        timeout=30
    ) as client:  # a web process's first request loads the apps: slow on a busy machine
        response = client.get(url, headers=headers or {})
        return response.status_code, response.json()


def _schedule(emulators: dict[str, Any], modules: dict[str, Any]) -> dict[int, tuple[str, str]]:
    """PER_NETWORK targets, falling due one after another over SPREAD_S seconds."""
    run = uuid.uuid4().hex[:8]
    texts: dict[int, tuple[str, str]] = {}
    for network, mod in modules.items():
        access = mod.channel_for(emulators[network])
        access = type(access)(
            access.network,
            access.remote_id,
            access.credentials,
            access.base_url,
            {**access.settings, "timeout": 2, "pace": False},
        )
        ch = pt.channel(pt.workspace(f"workers {network}", late_window_minutes=60), access)
        for i, target_id in enumerate(
            pt.bulk_schedule([ch], PER_NETWORK[network], clock.now(), f"wk{run}{network}")
        ):
            texts[target_id] = (network, f"wk{run}{network} #{i}~")  # ended: #1 is no prefix of #10
    start = clock.now() + dt.timedelta(seconds=2)
    step = SPREAD_S / len(texts)
    rows = list(PublicationTarget.objects.filter(pk__in=list(texts)))
    random.Random(2).shuffle(rows)  # the networks' posts interleaved
    for i, row in enumerate(rows):
        row.due_at = row.next_attempt_at = start + dt.timedelta(seconds=i * step)
    PublicationTarget.objects.bulk_update(rows, ["due_at", "next_attempt_at"])
    for target_id, (_network, text) in texts.items():
        PostVariant.objects.filter(target__pk=target_id).update(text=text)
    return texts


def _active(ids: list[int]) -> int:
    return PublicationTarget.objects.filter(pk__in=ids).exclude(state__in=TERMINAL).count()


def _terminate(role: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = %s", [role]
        )
        return int(cursor.fetchone()[0])


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def test_workers_killed_and_refused_publish_every_target_exactly_once(settings, make_workspace):
    if connection.vendor != "postgresql":
        pytest.skip("several worker processes on one database: PostgreSQL (DATABASE_URL)")
    _redis_or_skip()
    settings.RUPOR_REDIS_URL = REDIS_URL  # this process reads the journal the workers write
    dbwatch.forget()
    modules = {n: importlib.import_module(f"rupor.networks.{n}.testing") for n in NETWORKS}
    emulators = {n: m.start(rate_limits=False, seed=3) for n, m in modules.items()}
    role, password = _limited_role()
    log = Path(os.environ.get("RUPOR_HOME", "/tmp")) / "workers-postgres.log"
    procs: list[subprocess.Popen[bytes]] = []
    rng = random.Random(5)
    try:
        texts = _schedule(emulators, modules)
        ids = list(texts)
        key = accounts.create_api_key(None, make_workspace("Operators"), "owner").key
        port = _free_port()
        http.allow_origin(f"http://127.0.0.1:{port}")  # the web process, which this test calls
        web = _rupor(
            [
                "serve",
                "--no-worker",
                "--processes",
                "2",
                "--threads",
                "2",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            _env(DATABASE_URL=_url("postgres", ""), RUPOR_DB_POOL_MAX="2"),
            log,
        )
        procs.append(web)
        worker_env = _env(DATABASE_URL=_url(role, password), RUPOR_DB_POOL_MAX="1", RUPOR_DB_POOL_TIMEOUT="2")
        workers = [_rupor(["worker", "--concurrency", "4"], worker_env, log) for _ in range(WORKERS)]
        procs += workers
        kills, terminated, probes = 0, 0, []
        api: tuple[int, dict[str, object]] | None = None
        began = time.monotonic()
        deadline = began + 50
        while time.monotonic() < deadline:
            time.sleep(rng.uniform(1.0, 2.0))
            elapsed = time.monotonic() - began
            if elapsed < SPREAD_S + 4:
                victim = rng.randrange(len(workers))
                os.killpg(workers[victim].pid, signal.SIGKILL)
                workers[victim].wait()
                kills += 1
                workers[victim] = _rupor(["worker", "--concurrency", "4"], worker_env, log)
                procs.append(workers[victim])
            if not terminated and elapsed > SPREAD_S / 2:
                terminated = _terminate(role)  # every connection of the workers dropped at once
            if web.poll() is None:
                with contextlib.suppress(httpx.TransportError):  # still starting
                    probes.append(_get(f"http://127.0.0.1:{port}/healthz")[0])
            if elapsed > SPREAD_S + 4 and api is None and probes and dbwatch.recent():
                # What people see, from the web process once it answers (its first request is
                # slow: ask while the workers finish).
                with contextlib.suppress(httpx.TransportError):
                    api = _get(f"http://127.0.0.1:{port}/api/v1/health", {"Authorization": f"Bearer {key}"})
            if elapsed > SPREAD_S + 4 and api is not None and _active(ids) == 0:
                break
        settled_s = time.monotonic() - began
        assert kills >= 4 and terminated >= 1

        targets = {t.pk: t for t in PublicationTarget.objects.filter(pk__in=ids)}
        stranded = {
            pk: (texts[pk][0], t.state, t.next_attempt_at, t.error_message[:60])
            for pk, t in targets.items()
            if t.state != TargetState.PUBLISHED
        }
        assert stranded == {}, f"not published: {list(stranded.items())[:10]} ({len(stranded)}); log: {log}"
        counts = {pk: modules[n].posts_with(emulators[n], text) for pk, (n, text) in texts.items()}
        assert {pk: c for pk, c in counts.items() if c != 1} == {}, (
            "every target is on its network exactly once"
        )

        # The refusals are on record where the failing database is not needed, and reach people.
        troubles = {t.kind: t for t in dbwatch.recent()}
        assert dbwatch.REFUSED in troubles, troubles
        assert troubles[dbwatch.REFUSED].last_15_minutes >= 1
        assert api is not None, "the web process answered the API's health"
        status, body = api
        assert status == 200, body
        assert "refused" in json.dumps(body["database"]), body["database"]
        assert WorkerHeartbeat.objects.filter(db_errors__gt=0).exists(), (
            "a refused worker said so once it got in"
        )
        assert probes and set(probes) == {200}, probes
        print(
            f"workers: {len(ids)} targets settled in {settled_s:.1f} s, {kills} kills, {terminated} terminated, troubles {troubles}"
        )
    finally:
        _stop(procs)
        for emulator in emulators.values():
            emulator.stop()
        _drop_role(role)
        dbwatch.forget()
