"""``GET /healthz``: is this web process up, and does the database answer?

For load balancers, container health checks and uptime monitors. It is answered before Django's
middleware and routing (``rupor/wsgi.py``), so it needs no session, no host name from
``RUPOR_ALLOWED_HOSTS`` and no sign-in, and says nothing about any workspace: ``200`` with
``{"status": "ok", "database": "ok"}`` when a ``SELECT 1`` succeeds, ``503`` with
``{"status": "unavailable", "database": KIND}`` when the database refused the connection, lost
it, or no pooled connection was free in time (KIND: ``refused``, ``lost``, ``exhausted``; noted
in :mod:`rupor.core.dbwatch` like any other process's trouble). Only GET and HEAD; anything else
at that path is Django's (a 405 from no route there, a 404).

Use it as a readiness check (take the process out of rotation while the database is away), not
to restart the process: restarting does not bring a database back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from django.db import DatabaseError, InterfaceError, OperationalError, connection

from rupor.core import dbpool, dbwatch

PATH = "/healthz"

StartResponse = Callable[..., Any]
WSGIApplication = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def check() -> tuple[int, dict[str, str]]:
    """The probe's status and body."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except (OperationalError, InterfaceError) as exc:
        kind = dbwatch.note_exception(exc) or "error"
        with_closed()
        return 503, {"status": "unavailable", "database": kind}
    except DatabaseError:
        with_closed()
        return 503, {"status": "unavailable", "database": "error"}
    dbpool.give_back()
    return 200, {"status": "ok", "database": "ok"}


def with_closed() -> None:
    """Drop this thread's connection after a failure (a pool discards a broken one)."""
    try:
        connection.close()
    except DatabaseError:
        connection.connection = None


def wsgi_route(application: WSGIApplication) -> WSGIApplication:
    """``application`` with ``GET|HEAD /healthz`` answered before Django."""

    def route(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        if environ.get("PATH_INFO") != PATH or method not in ("GET", "HEAD"):
            return application(environ, start_response)
        status, body = check()
        payload = json.dumps(body).encode()
        start_response(
            f"{status} {'OK' if status == 200 else 'Service Unavailable'}",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(payload))),
                ("Cache-Control", "no-store"),
                ("X-Content-Type-Options", "nosniff"),
            ],
        )
        return [b""] if method == "HEAD" else [payload]

    return route


__all__ = ["PATH", "check", "wsgi_route"]
