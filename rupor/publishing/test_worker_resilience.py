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
