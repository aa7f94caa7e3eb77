"""The one retry delay (core/backoff.py)."""

from __future__ import annotations

import random

import pytest

from rupor.core import backoff


def test_the_ceiling_doubles_from_the_base_up_to_the_cap():
    assert [backoff.ceiling(n, base=2, cap=20) for n in range(1, 7)] == [2, 4, 8, 16, 20, 20]
    assert backoff.ceiling(0, base=2, cap=20) == 2  # nothing before the first attempt
    assert backoff.ceiling(10**6, base=2, cap=900) == 900  # no overflow however many attempts


def test_full_jitter_draws_between_nothing_and_the_ceiling():
    rng = random.Random(1)
    draws = [backoff.delay(4, base=2, cap=900, rng=rng) for _ in range(2000)]
    assert all(0 <= d <= 16 for d in draws)
    # Spread over the whole range, not bunched at one end (full, not "equal", jitter).
    assert min(draws) < 1 and max(draws) > 15
    assert 7 < sum(draws) / len(draws) < 9


def test_a_retry_after_is_honoured_with_a_little_jitter_and_not_capped():
    rng = random.Random(2)
    assert all(30 <= backoff.delay(1, base=2, cap=10, retry_after=30, rng=rng) <= 31 for _ in range(200))
    assert all(0.5 <= backoff.delay(1, base=2, cap=10, retry_after=0.5, rng=rng) <= 0.55 for _ in range(200))
    # No (or a meaningless) retry-after: the exponential delay.
    assert backoff.delay(1, base=2, cap=10, retry_after=0, rng=rng) <= 2


def test_a_seed_makes_the_delays_repeatable():
    backoff.seed(7)
    first = [backoff.delay(n, base=2, cap=900) for n in range(1, 9)]
    backoff.seed(7)
    again = [backoff.delay(n, base=2, cap=900) for n in range(1, 9)]
    backoff.seed(None)
    assert first == again
    rng = random.Random(7)  # the same sequence as a generator of one's own seeded alike
    assert first == [backoff.delay(n, base=2, cap=900, rng=rng) for n in range(1, 9)]


@pytest.mark.parametrize("attempt", [1, 3, 12])
def test_a_delay_is_never_negative(attempt: int):
    assert backoff.delay(attempt, base=0.2, cap=5) >= 0
