"""The status a person's request gets when a network error ends it."""

from __future__ import annotations

import pytest

from rupor.networks import errors


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.RateLimited("wait"), 429),
        (errors.Transient("down"), 502),
        (errors.UnknownOutcome("silent"), 502),
        (errors.Rejected("no"), 422),
        (errors.AuthExpired("reconnect"), 422),
        (errors.MalformedAnswer("garbage"), 422),  # the exact class counts, as before
    ],
)
def test_http_status(error, status):
    assert errors.http_status(error) == status
