"""The one retry delay: exponential backoff with full jitter, capped, honouring retry-after.

Every retry Rupor schedules (a publish or an edit after an error known to have had no effect, a
lookup after an unknown outcome, an email or webhook delivery) waits :func:`delay` seconds.
Full jitter (a uniform draw between nothing and the exponential ceiling) spreads out the many
clients a shared failure stopped at the same moment, so they do not all come back together.
Delays draw from one module-level generator; :func:`seed` makes them repeatable, or a caller
passes its own ``rng``.
"""

from __future__ import annotations

import random

_rng = random.Random()

#: Past this many doublings the ceiling is the cap anyway (and ``2 ** n`` stays a small float).
_MAX_DOUBLINGS = 62


def seed(value: int | None) -> None:
    """Make the delays drawn from now on repeatable (``None``: unpredictable again)."""
    _rng.seed(value)


def ceiling(attempt: int, *, base: float, cap: float) -> float:
    """The longest delay before retry ``attempt`` (1: after the first failure): ``base`` doubled
    for each earlier attempt, at most ``cap``."""
    return min(cap, base * 2.0 ** min(max(0, attempt - 1), _MAX_DOUBLINGS))


def delay(
    attempt: int,
    *,
    base: float,
    cap: float,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before retry ``attempt`` (1: after the first failure).

    When the other side said when to come back (``retry_after``, seconds), that is honoured:
    that long plus up to a tenth of it (at most one second) so that those told the same moment
    do not arrive together; the cap does not shorten it. Otherwise full jitter: uniform between
    0 and :func:`ceiling`.
    """
    draw = (rng or _rng).uniform
    if retry_after is not None and retry_after > 0:
        return retry_after + draw(0.0, min(1.0, retry_after * 0.1))
    return draw(0.0, ceiling(attempt, base=base, cap=cap))
