"""``GET /healthz``: 200 while the database answers, 503 with the kind of trouble when it does
not; answered before Django (no host check, no session), everything else passed on."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.db import OperationalError
from psycopg_pool import PoolTimeout

from rupor.core import dbwatch
from rupor.web import probe


def _call(path: str = "/healthz", method: str = "GET") -> tuple[str, dict[str, str], bytes]:
    seen: dict[str, Any] = {}

    def django(environ, start_response):
        start_response("418 I'm a teapot", [("Content-Type", "text/plain")])
        return [b"django"]

    def start_response(status, headers):
        seen["status"], seen["headers"] = status, dict(headers)

    environ = {
        "PATH_INFO": path,
        "REQUEST_METHOD": method,
        "HTTP_HOST": "not-an-allowed-host.example",
        "wsgi.input": io.BytesIO(),
    }
    body = b"".join(probe.wsgi_route(django)(environ, start_response))
    return seen["status"], seen["headers"], body


@pytest.fixture
def journal(settings, tmp_path):
    settings.RUPOR_HOME = str(tmp_path)
    settings.RUPOR_REDIS_URL = None
    dbwatch.forget()
    yield
    dbwatch.forget()


@pytest.mark.django_db
def test_the_probe_says_ok_whatever_the_host_name():
    status, headers, body = _call()
    assert status == "200 OK"
    assert json.loads(body) == {"status": "ok", "database": "ok"}
    assert headers["Cache-Control"] == "no-store" and headers["Content-Type"] == "application/json"
    status, headers, body = _call(method="HEAD")
    assert status == "200 OK" and body == b"" and int(headers["Content-Length"]) > 0


class _NoFreeConnection:
    """The database connection of a process whose pool had none free in time."""

    connection = None

    def cursor(self):
        exc = OperationalError("couldn't get a connection after 10.00 sec")
        exc.__cause__ = PoolTimeout("couldn't get a connection after 10.00 sec")
        raise exc

    def close(self):
        pass


@pytest.mark.django_db
def test_a_database_out_of_reach_is_a_503_that_names_the_trouble_and_notes_it(monkeypatch, journal):
    monkeypatch.setattr(probe, "connection", _NoFreeConnection())
    status, _headers, body = _call()
    assert status == "503 Service Unavailable"
    assert json.loads(body) == {"status": "unavailable", "database": "exhausted"}
    assert [t.kind for t in dbwatch.recent()] == [dbwatch.EXHAUSTED]


def test_other_paths_and_methods_are_djangos():
    assert _call("/healthz/")[2] == b"django"
    assert _call("/healthz", "POST")[2] == b"django"
    assert _call("/")[2] == b"django"
