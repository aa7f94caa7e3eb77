"""The PostgreSQL connection pool: its settings, its bound, and threads giving connections back
before they wait on the network."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.db import connection, transaction

from rupor.core import config, dbpool, http
from rupor.core.config import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def _load(monkeypatch, **env: str) -> config.Config:
    for name in ("RUPOR_DB_POOL_MAX", "RUPOR_DB_POOL_MIN", "RUPOR_DB_POOL_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return config.load()


def test_postgresql_is_pooled_with_the_configured_bounds(monkeypatch):
    cfg = _load(
        monkeypatch,
        DATABASE_URL="postgresql://rupor:pw@db:5432/rupor",
        RUPOR_DB_POOL_MAX="5",
        RUPOR_DB_POOL_MIN="1",
        RUPOR_DB_POOL_TIMEOUT="3",
    )
    db = dbpool.database(cfg)
    pool = db["OPTIONS"]["pool"]
    assert (pool["min_size"], pool["max_size"], pool["timeout"]) == (1, 5, 3.0)
    assert pool["reconnect_timeout"] == dbpool.RECONNECT_S
    assert db["CONN_MAX_AGE"] == 0  # Django refuses persistent connections beside a pool
    assert db["CONN_HEALTH_CHECKS"] is True  # the pool checks a connection before lending it
    assert db["TEST"]["NAME"] == "rupor_test"


def test_the_defaults_and_no_pool_at_zero(monkeypatch):
    cfg = _load(monkeypatch, DATABASE_URL="postgresql://rupor@db/rupor")
    assert (cfg.db_pool_max, cfg.db_pool_min, cfg.db_pool_timeout) == (8, 0, 10.0)
    off = dbpool.database(
        _load(monkeypatch, DATABASE_URL="postgresql://rupor@db/rupor", RUPOR_DB_POOL_MAX="0")
    )
    assert "pool" not in off.get("OPTIONS", {}) and off["CONN_MAX_AGE"] == 60


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RUPOR_DB_POOL_MAX": "eight"}, "RUPOR_DB_POOL_MAX must be a whole number"),
        ({"RUPOR_DB_POOL_MAX": "-1"}, "RUPOR_DB_POOL_MAX must be between 0 and 1000"),
        ({"RUPOR_DB_POOL_MAX": "2", "RUPOR_DB_POOL_MIN": "3"}, "must not exceed RUPOR_DB_POOL_MAX"),
        ({"RUPOR_DB_POOL_TIMEOUT": "0"}, "RUPOR_DB_POOL_TIMEOUT must be at least 0.5"),
    ],
)
def test_bad_pool_settings_are_refused_with_a_sentence(monkeypatch, env, message):
    with pytest.raises(ConfigError, match=message):
        _load(monkeypatch, **env)


def _pooled_or_skip() -> None:
    if not dbpool.pooled():
        pytest.skip("the database is not a pooled PostgreSQL (DATABASE_URL=postgresql://...)")


class _NoContent(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def other_side():
    """A server that answers 204 to anything, on a thread."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NoContent)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    http.allow_origin(url)
    yield url
    server.shutdown()
    server.server_close()


@pytest.mark.django_db(transaction=True)
def test_a_thread_gives_its_connection_back_before_it_waits_on_the_network(other_side):
    _pooled_or_skip()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert connection.connection is not None
    http.request("GET", f"{other_side}/")
    assert connection.connection is None, "back in the pool while the other side answered"
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        http.request("GET", f"{other_side}/")
        assert connection.connection is not None, "a transaction keeps its connection"


@pytest.mark.django_db(transaction=True)
def test_many_threads_share_at_most_the_pools_connections():
    _pooled_or_skip()
    s = connection.settings_dict
    url = f"postgresql://{s['USER']}{':' + s['PASSWORD'] if s['PASSWORD'] else ''}@{s['HOST']}:{s['PORT']}/{s['NAME']}"
    script = textwrap.dedent(
        """
        import threading, time, django
        django.setup()
        from django.db import connection
        from rupor.core import dbpool
        seen, lock = set(), threading.Lock()
        def work():
            for _ in range(15):
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    pid = cursor.fetchone()[0]
                with lock:
                    seen.add(pid)
                dbpool.give_back()
                time.sleep(0.01)  # waiting on something else, without a connection
        threads = [threading.Thread(target=work) for _ in range(8)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        print(len(seen))
        """
    )
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "RUPOR_DB_POOL_MAX": "2",
        "RUPOR_DB_POOL_TIMEOUT": "20",
        "DJANGO_SETTINGS_MODULE": "rupor.settings",
    }
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert 1 <= int(out.stdout.strip().splitlines()[-1]) <= 2, out.stderr
