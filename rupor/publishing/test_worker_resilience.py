"""The worker's periodic duties fail alone: a failing sweep or periodic job is logged and the
worker carries on (one channel's failure inside a job is recorded on it: channels/test_job_errors).
A database that refuses or drops connections is waited out with backoff, noted for the health
page and, once it answers, in the worker's heartbeat (the real thing, on PostgreSQL with worker
processes: test_workers_postgres.py)."""

from __future__ import annotations

import psycopg
import pytest
from django.db import OperationalError, connection

from rupor.core import backoff, dbwatch
from rupor.publishing import engine, worker
from rupor.publishing.models import WorkerHeartbeat


@pytest.mark.django_db(transaction=True)
def test_a_failing_sweep_does_not_stop_the_worker(monkeypatch, caplog):
    calls = []

    def broken_sweep() -> None:
        calls.append(1)
        raise RuntimeError("the database said no")

    monkeypatch.setattr(engine, "sweep", broken_sweep)
    assert worker.run_worker(once=True, concurrency=1) == 0
    assert calls
    assert "sweeping failed" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_the_jobs_it_is_given_and_a_failing_one_alone(caplog):
    ran = []

    def broken(now) -> None:
        raise RuntimeError("the network said no")

    def fine(now) -> None:
        ran.append(now)

    assert worker.run_worker(once=True, concurrency=1, jobs=(broken, fine)) == 0
    assert len(ran) == 1
    assert "periodic job" in caplog.text


def _lost() -> OperationalError:
    """The error of a connection that broke in use (as Django raises it, on the open connection)."""
    connection.ensure_connection()
    exc = OperationalError("server closed the connection unexpectedly")
    exc.__cause__ = psycopg.OperationalError("server closed the connection unexpectedly")
    return exc


@pytest.fixture
def journal(settings, tmp_path):
    settings.RUPOR_HOME = str(tmp_path)
    settings.RUPOR_REDIS_URL = None
    dbwatch.forget()
    yield
    dbwatch.forget()


@pytest.mark.django_db(transaction=True)
def test_a_database_that_drops_connections_is_waited_out_with_backoff_and_reported(monkeypatch, journal):
    failures = {"left": 3}
    real_claim = engine.claim_batch
    waits = []

    def flaky_claim(worker_id, limit, now=None):
        if failures["left"]:
            failures["left"] -= 1
            raise _lost()
        return real_claim(worker_id, limit, now)

    def no_wait(attempt, *, base, cap, **kwargs):
        waits.append((attempt, base, cap))
        return 0.0

    monkeypatch.setattr(engine, "claim_batch", flaky_claim)
    monkeypatch.setattr(backoff, "delay", no_wait)
    assert worker.run_worker(once=True, concurrency=1, worker_id="flaky-db") == 0
    # Three failed tries, each followed by a backed-off wait that grows with the tries.
    assert waits == [(1, worker.OUTAGE_BASE_S, worker.OUTAGE_CAP_S), (2, 0.5, 15.0), (3, 0.5, 15.0)]
    (trouble,) = dbwatch.recent()
    assert (trouble.kind, trouble.last_minute) == (dbwatch.LOST, 3)
    beat = WorkerHeartbeat.objects.get(worker_id="flaky-db")
    assert beat.db_errors == 3 and "server closed" in beat.db_error and beat.db_error_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_statement_that_fails_on_its_own_is_not_waited_for(monkeypatch, journal):
    def deadlock(worker_id, limit, now=None):
        exc = OperationalError("deadlock detected")
        exc.__cause__ = psycopg.errors.DeadlockDetected("deadlock detected")
        raise exc

    monkeypatch.setattr(engine, "claim_batch", deadlock)
    with pytest.raises(OperationalError, match="deadlock"):
        worker.run_worker(once=True, concurrency=1)
    assert dbwatch.recent() == ()


@pytest.mark.django_db(transaction=True)
def test_a_target_whose_write_loses_the_connection_keeps_its_lease(monkeypatch, journal, caplog):
    def lost(claim, worker_id):
        raise _lost()

    monkeypatch.setattr(engine, "publish_claimed", lost)
    claim = type("Claim", (), {"id": 42, "workspace_id": 1, "channel_id": 7, "channel_network": "vk"})()
    assert worker._publish_in_thread(claim, "w") == engine.Outcome.ERROR
    assert "database connection lost" in caplog.text and "Traceback" not in caplog.text
    assert dbwatch.recent()[0].kind == dbwatch.LOST


@pytest.mark.django_db(transaction=True)
def test_the_worker_touches_its_alive_file(settings, tmp_path):
    settings.RUPOR_WORKER_ALIVE_FILE = str(tmp_path / "alive")
    worker.run_worker(once=True, concurrency=1)
    assert (tmp_path / "alive").exists()
