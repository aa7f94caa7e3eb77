"""PostgreSQL connections: Django's psycopg pool, bounded per process (docs/decisions/0040).

With ``DATABASE_URL`` on PostgreSQL every Rupor process (a web process, ``rupor worker``, ``rupor
serve``) keeps one pool of at most ``RUPOR_DB_POOL_MAX`` connections (Django's ``OPTIONS["pool"]``,
psycopg_pool underneath); its threads borrow a connection for a unit of work and give it back,
so the connections a deployment opens are at most processes x ``RUPOR_DB_POOL_MAX`` whatever the
thread counts. A thread that finds none free waits up to ``RUPOR_DB_POOL_TIMEOUT`` seconds, then
gets an ``OperationalError`` (PoolTimeout), as it would for a refused connection.

:func:`give_back` returns the calling thread's connection to the pool when no transaction holds
it: ``core/http.py`` calls it before every outbound request, so a thread never sits on a
connection while a network answers, and the worker calls it after each target and before it
sleeps. Without a pool (SQLite, or ``RUPOR_DB_POOL_MAX=0``) it does nothing.

Connections the server refuses are noted in :mod:`rupor.core.dbwatch` as they happen (the pool's
connection class notes each failed connect), so the health page can say what went wrong even
though the database was what failed.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rupor.core.config import Config

#: The pool gives up one series of attempts to open a connection after this many seconds (its
#: delays double from one second); the next thread that asks starts a new series. Short, so a
#: database back after a long outage is found within seconds, not minutes.
RECONNECT_S = 20.0


def database(config: Config) -> dict[str, Any]:
    """Django's ``DATABASES["default"]`` for ``config.database_url``: pooled on PostgreSQL unless
    ``RUPOR_DB_POOL_MAX`` is 0 (then one connection per thread, kept for a minute)."""
    import dj_database_url

    url = config.database_url or ""
    pooled = config.db_pool_max > 0 and url.startswith(("postgres://", "postgresql://"))
    # Django refuses persistent connections (CONN_MAX_AGE) together with a pool: the pool keeps them.
    db: dict[str, Any] = dict(
        dj_database_url.parse(url, conn_max_age=0 if pooled else 60, conn_health_checks=True)
    )
    if db.get("NAME"):
        # The test suite's database is named after this one (``rupor`` -> ``rupor_test``), so it
        # sorts beside it and falls under the same naming rules of a shared server.
        db["TEST"] = {**db.get("TEST", {}), "NAME": f"{db['NAME']}_test"}
    if pooled:
        db["OPTIONS"] = {
            **db.get("OPTIONS", {}),
            "pool": {
                "min_size": config.db_pool_min,
                "max_size": config.db_pool_max,
                "timeout": config.db_pool_timeout,
                "reconnect_timeout": RECONNECT_S,
                "connection_class": watched_connection_class(),
            },
        }
    return db


@functools.cache
def watched_connection_class() -> type:
    """psycopg's connection class, noting every refused connect in :mod:`rupor.core.dbwatch`
    (the pool opens connections on threads of its own, where no caller sees the error)."""
    import psycopg

    from rupor.core import dbwatch

    class WatchedConnection(psycopg.Connection[Any]):
        @classmethod
        def connect(cls, *args: Any, **kwargs: Any) -> Any:
            try:
                return super().connect(*args, **kwargs)
            except psycopg.OperationalError as exc:
                dbwatch.note(dbwatch.REFUSED, str(exc))
                raise

    return WatchedConnection


def pooled() -> bool:
    """Whether this process's default database is pooled."""
    from django.db import connection

    return bool(connection.settings_dict.get("OPTIONS", {}).get("pool"))


def give_back() -> None:
    """Return the calling thread's pooled connections that no transaction holds to their pool
    (a no-op without a pool, or inside ``atomic``: the transaction keeps its connection)."""
    from django.conf import settings

    if not settings.configured:
        return
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        if (
            conn.connection is None
            or conn.in_atomic_block
            or not conn.settings_dict.get("OPTIONS", {}).get("pool")
        ):
            continue
        if not conn.get_autocommit():
            continue  # a transaction opened by hand: not ours to end
        conn.close()


__all__ = ["RECONNECT_S", "database", "give_back", "pooled", "watched_connection_class"]
