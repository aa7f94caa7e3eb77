"""The statistics of an A/B test of two proportions (successes out of trials per variant).

Pure functions, no database: Wilson score intervals (Wilson 1927), the pooled two-proportion
z-test, the exact Bayesian probability that B's rate beats A's under uniform Beta(1, 1) priors
(Evan Miller's closed form), and the sample size per variant for a minimum detectable effect.
docs/analytics.md ("A/B tests") explains each in words, with sources.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

_N = NormalDist()
#: Two-sided 95%: z = 1.959963984540054.
Z95 = _N.inv_cdf(0.975)
ALPHA = 0.05
POWER = 0.8
#: Above this many terms the exact sum for P(B > A) is replaced by the normal approximation.
EXACT_TERMS = 100_000


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for a proportion; (0, 1) when there are no trials."""
    if trials <= 0:
        return 0.0, 1.0
    p = successes / trials
    denom = 1 + z * z / trials
    centre = p + z * z / (2 * trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    return max(0.0, (centre - half) / denom), min(1.0, (centre + half) / denom)


@dataclass(frozen=True)
class ZTest:
    z: float
    p_value: float  # two-sided


def two_proportion_z(x_a: int, n_a: int, x_b: int, n_b: int) -> ZTest | None:
    """Pooled two-proportion z-test of B against A; ``None`` when it is undefined (no trials,
    or every trial a success / a failure in both variants)."""
    if n_a <= 0 or n_b <= 0:
        return None
    pooled = (x_a + x_b) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if se == 0:
        return None
    z = (x_b / n_b - x_a / n_a) / se
    return ZTest(z, 2 * (1 - _N.cdf(abs(z))))


def _log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def _exact_b_beats_a(a_a: int, b_a: int, a_b: int, b_b: int) -> float:
    """Evan Miller's sum for P(p_B > p_A), p_A ~ Beta(a_a, b_a), p_B ~ Beta(a_b, b_b), integer a_b."""
    total = 0.0
    base = _log_beta(a_a, b_a)
    for i in range(a_b):
        total += math.exp(_log_beta(a_a + i, b_a + b_b) - math.log(b_b + i) - _log_beta(1 + i, b_b) - base)
    return min(1.0, max(0.0, total))


@dataclass(frozen=True)
class Bayes:
    probability: float  # P(rate B > rate A)
    method: str  # "exact" or "normal"


def prob_b_beats_a(x_a: int, n_a: int, x_b: int, n_b: int) -> Bayes:
    """P(p_B > p_A) with Beta(1, 1) priors, so p ~ Beta(1 + successes, 1 + failures).

    Exact (a finite sum over the smaller of the two alpha parameters, using
    P(B > A) = 1 - P(A > B) for continuous posteriors); beyond :data:`EXACT_TERMS` terms, the
    normal approximation of the difference of the two Beta posteriors.
    """
    a_a, b_a = 1 + x_a, 1 + n_a - x_a
    a_b, b_b = 1 + x_b, 1 + n_b - x_b
    if min(a_a, a_b) <= EXACT_TERMS:
        if a_b <= a_a:
            return Bayes(_exact_b_beats_a(a_a, b_a, a_b, b_b), "exact")
        return Bayes(1.0 - _exact_b_beats_a(a_b, b_b, a_a, b_a), "exact")

    def moments(a: int, b: int) -> tuple[float, float]:
        return a / (a + b), a * b / ((a + b) ** 2 * (a + b + 1))

    m_a, v_a = moments(a_a, b_a)
    m_b, v_b = moments(a_b, b_b)
    return Bayes(_N.cdf((m_b - m_a) / math.sqrt(v_a + v_b)), "normal")


def sample_size(
    baseline: float, relative_mde: float, alpha: float = ALPHA, power: float = POWER
) -> int | None:
    """Trials per variant to detect a change of ``relative_mde`` (0.2 = +20%) from ``baseline``
    with a two-sided test at ``alpha`` and the given ``power``; ``None`` when it cannot be
    planned (a baseline of 0 or 1, or a target rate outside 0..1)."""
    p1 = baseline
    p2 = baseline * (1 + relative_mde)
    if not 0 < p1 < 1 or not 0 < p2 < 1 or p1 == p2:
        return None
    z_a = _N.inv_cdf(1 - alpha / 2)
    z_b = _N.inv_cdf(power)
    p_bar = (p1 + p2) / 2
    n = (z_a * math.sqrt(2 * p_bar * (1 - p_bar)) + z_b * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2 / (
        p1 - p2
    ) ** 2
    return math.ceil(n)
