"""The worker's periodic duties fail alone: a failing sweep or periodic job is logged and the
worker carries on (one channel's failure inside a job is recorded on it: channels/test_job_errors)."""

from __future__ import annotations

import pytest

from rupor.publishing import engine, worker


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
