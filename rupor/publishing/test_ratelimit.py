"""The shared limiter's call window: never more than ``limit`` calls in a network's window,
counting each call from before it is sent to after its answer, across threads and backends."""

from __future__ import annotations

import threading
import time

import pytest

from rupor.networks.base import RateLimit, call_window
from rupor.publishing import ratelimit

LIMIT = RateLimit("test:token:abc", 3, 0.3)


def _calls(n: int, *, threads: int, busy_s: float) -> list[tuple[float, float]]:
    """``n`` calls through the installed window from ``threads`` threads, each in flight for
    ``busy_s``; returns (sent, answered) of each, by real time."""
    spans: list[tuple[float, float]] = []
    lock = threading.Lock()
    left = iter(range(n))

    def run() -> None:
        while True:
            with lock:
                if next(left, None) is None:
                    return
            with call_window([LIMIT]):
                sent = time.time()
                time.sleep(busy_s)
                answered = time.time()
            with lock:
                spans.append((sent, answered))

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sorted(spans)


def _never_over(spans: list[tuple[float, float]], limit: RateLimit) -> None:
    # The network counts a call somewhere between sent and answered: the call `limit` places
    # later must be sent a whole window after the earlier one's answer came back.
    for earlier, later in zip(spans, spans[limit.limit :], strict=False):
        assert later[0] >= earlier[1] + limit.per_s


def test_window_counts_slow_calls_until_their_answer():
    spans = _calls(9, threads=4, busy_s=0.05)
    assert len(spans) == 9
    _never_over(spans, LIMIT)


def test_window_is_installed_for_the_networks():
    with call_window([LIMIT]):
        pass
    wait, _ = ratelimit.backend().take_slot(ratelimit._slots(LIMIT), time.time(), time.time())
    assert wait == 0  # two of three slots are still free


def test_window_gives_up_after_max_wait_holding_nothing():
    backend = ratelimit.backend()
    slots = ratelimit._slots(LIMIT)
    far = time.time() + 3600
    for slot in slots:
        backend.take_slot([slot], time.time(), far)
    with pytest.raises(TimeoutError), ratelimit.window([LIMIT], max_wait=0.01):
        pass


@pytest.mark.django_db(transaction=True)
def test_database_window_keeps_calls_under_the_limit():
    previous = ratelimit.use("database")
    try:
        spans = _calls(7, threads=1, busy_s=0.02)
        _never_over(spans, LIMIT)
        # A slot taken by someone else since is not freed by a late answer.
        backend = ratelimit.backend()
        wait, slot = backend.take_slot(ratelimit._slots(LIMIT), time.time() + 10, 1e12)
        assert wait == 0
        backend.put_slot(slot, 1.0, 0.0)
        wait, _ = backend.take_slot([slot], time.time() + 10, 1e12)
        assert wait > 0
    finally:
        ratelimit.use(previous)
