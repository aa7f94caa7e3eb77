"""The journal of database troubles: what kind each error is, notes kept where the failing
database is not needed (a file under RUPOR_HOME, or Redis), counted over the last minute and
15 minutes."""

from __future__ import annotations

import os
import time

import psycopg
import pytest
from django.db import DatabaseError, InterfaceError, OperationalError, ProgrammingError
from psycopg_pool import PoolTimeout

from rupor.core import dbwatch

REDIS_URL = os.environ.get("RUPOR_TEST_REDIS_URL", "redis://127.0.0.1:6379/7")


def _wrapped(cause: BaseException, outer: type[DatabaseError] = OperationalError) -> DatabaseError:
    """An error as Django raises it: its own class, the driver's as the cause."""
    exc = outer(str(cause))
    exc.__cause__ = cause
    return exc


@pytest.fixture(autouse=True)
def _journal(settings, tmp_path):
    settings.RUPOR_HOME = str(tmp_path)
    settings.RUPOR_REDIS_URL = None
    dbwatch.forget()
    yield
    dbwatch.forget()


@pytest.mark.parametrize(
    ("cause", "connected", "kind"),
    [
        (
            psycopg.OperationalError("connection failed: too many connections for role"),
            False,
            dbwatch.REFUSED,
        ),
        (psycopg.OperationalError("server closed the connection unexpectedly"), True, dbwatch.LOST),
        (
            psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
            True,
            dbwatch.LOST,
        ),
        (psycopg.errors.TooManyConnections("sorry, too many clients already"), True, dbwatch.REFUSED),
        (PoolTimeout("couldn't get a connection after 10.00 sec"), False, dbwatch.EXHAUSTED),
        (PoolTimeout("couldn't get a connection after 10.00 sec"), True, dbwatch.EXHAUSTED),
        # A statement's own failure is not the connection's: the caller must not wait it out.
        (psycopg.errors.DeadlockDetected("deadlock detected"), True, None),
        (psycopg.errors.QueryCanceled("canceling statement due to statement timeout"), True, None),
    ],
)
def test_an_error_is_classified_by_class_and_sqlstate_not_by_text(cause, connected, kind):
    assert dbwatch.classify(_wrapped(cause), connected=connected) == kind


def test_a_closed_connection_is_lost_and_other_errors_are_no_trouble():
    assert dbwatch.classify(InterfaceError("connection already closed"), connected=True) == dbwatch.LOST
    assert dbwatch.classify(ProgrammingError("relation does not exist"), connected=True) is None
    assert dbwatch.classify(ValueError("not a database error"), connected=True) is None


def test_notes_from_the_file_are_counted_per_kind_over_a_minute_and_15_minutes(monkeypatch):
    start = time.time()
    monkeypatch.setattr(time, "time", lambda: start - 300)  # five minutes ago
    dbwatch.note(dbwatch.REFUSED, 'connection failed: FATAL: too many connections for role "rupor"')
    monkeypatch.setattr(time, "time", lambda: start)
    dbwatch.note(dbwatch.REFUSED, 'connection failed: FATAL: too many connections for role "rupor"')
    dbwatch.note(dbwatch.LOST, "terminating connection due to administrator command")

    troubles = {t.kind: t for t in dbwatch.recent(now=start + 1)}
    assert set(troubles) == {dbwatch.REFUSED, dbwatch.LOST}
    refused = troubles[dbwatch.REFUSED]
    assert (refused.last_minute, refused.last_15_minutes, refused.processes) == (1, 2, 1)
    assert "too many connections" in refused.last_message
    assert abs(refused.last_at.timestamp() - start) < 0.01
    # A minute on, nothing is recent by the minute; past 15 minutes, nothing at all.
    later = {t.kind: t for t in dbwatch.recent(now=start + 120)}
    assert (later[dbwatch.REFUSED].last_minute, later[dbwatch.REFUSED].last_15_minutes) == (0, 2)
    assert dbwatch.recent(now=start + dbwatch.KEEP_S + 1) == ()
    assert dbwatch.totals().count == 3


def test_a_note_is_redacted_and_cut_and_the_file_is_the_operators_alone(tmp_path):
    dbwatch.note(dbwatch.REFUSED, "connection failed: password=hunter2-secret " + "x" * 1000)
    (trouble,) = dbwatch.recent()
    assert "hunter2" not in trouble.last_message
    assert len(trouble.last_message) <= 300
    assert oct((tmp_path / "db-trouble.log").stat().st_mode & 0o777) == "0o600"


def test_the_file_drops_old_notes_when_it_grows(monkeypatch, tmp_path):
    monkeypatch.setattr(dbwatch, "_FILE_TRIM_BYTES", 500)
    start = time.time()
    monkeypatch.setattr(time, "time", lambda: start - dbwatch.KEEP_S - 60)
    for _ in range(20):
        dbwatch.note(dbwatch.LOST, "old")
    monkeypatch.setattr(time, "time", lambda: start)
    dbwatch.note(dbwatch.LOST, "new")
    lines = (tmp_path / "db-trouble.log").read_text().splitlines()
    assert len(lines) == 1 and '"new"' in lines[0]


def test_a_journal_that_cannot_be_written_never_raises(monkeypatch):
    def broken(entry):
        raise OSError("read-only file system")

    monkeypatch.setattr(dbwatch, "_note_file", broken)
    dbwatch.note(dbwatch.REFUSED, "refused")  # no exception
    assert dbwatch.totals().count == 1 and dbwatch.totals().last_message == "refused"


def test_notes_of_several_processes_meet_in_redis(settings):
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {REDIS_URL} ({exc})")
    settings.RUPOR_REDIS_URL = REDIS_URL
    dbwatch.forget()
    try:
        dbwatch.note(dbwatch.REFUSED, "too many connections")
        dbwatch.note(dbwatch.EXHAUSTED, "couldn't get a connection after 10.00 sec")
        kinds = {t.kind: t.last_minute for t in dbwatch.recent()}
        assert kinds == {dbwatch.REFUSED: 1, dbwatch.EXHAUSTED: 1}
    finally:
        dbwatch.forget()
    assert dbwatch.recent() == ()


@pytest.mark.django_db
def test_a_pool_that_waited_because_the_server_refused_names_the_refusal():
    timeout = _wrapped(PoolTimeout("couldn't get a connection after 10.00 sec"))
    assert dbwatch.note_exception(timeout) == dbwatch.EXHAUSTED  # nothing refused: the pool was busy
    dbwatch.note(dbwatch.REFUSED, "connection failed: too many connections")  # the pool's connect
    assert dbwatch.note_exception(timeout) == dbwatch.REFUSED
    kinds = {t.kind: t.last_minute for t in dbwatch.recent()}
    assert kinds == {dbwatch.EXHAUSTED: 1, dbwatch.REFUSED: 1}, "the refusal is noted once, by the connect"
