"""A post's status follows its targets: the derivation for every mix of target states, and the
same answer read back through the database whichever engine path moved the targets."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from rupor.core import clock
from rupor.publishing import engine, ratelimit, service
from rupor.publishing import testing as pt
from rupor.publishing.models import TargetState
from rupor.publishing.service import PostPublication as P
from rupor.publishing.service import derive_status

S = TargetState

CASES = [
    ([], None),
    ([S.DRAFT], None),
    ([S.SCHEDULED, S.SCHEDULED], None),
    ([S.CANCELLED], None),
    ([S.PUBLISHED], P.PUBLISHED),
    ([S.PUBLISHED, S.PUBLISHED, S.PUBLISHED], P.PUBLISHED),
    ([S.PUBLISHED, S.CANCELLED], P.PUBLISHED),
    ([S.PUBLISHED, S.EDITING], P.PUBLISHED),
    ([S.PUBLISHED, S.SCHEDULED], P.PUBLISHING),
    ([S.PUBLISHING, S.SCHEDULED], P.PUBLISHING),
    ([S.WAITING, S.PUBLISHED], P.PUBLISHING),
    ([S.PUBLISHED, S.DRAFT], P.PARTIALLY_PUBLISHED),
    ([S.PUBLISHED, S.FAILED], P.PARTIALLY_PUBLISHED),
    ([S.PUBLISHED, S.MISSED, S.PUBLISHED], P.PARTIALLY_PUBLISHED),
    ([S.FAILED], P.FAILED),
    ([S.FAILED, S.MISSED], P.FAILED),
    ([S.FAILED, S.SCHEDULED], P.FAILED),
    ([S.FAILED, S.PUBLISHING], P.FAILED),
    ([S.UNCONFIRMED], P.NEEDS_ATTENTION),
    ([S.HELD, S.SCHEDULED], P.NEEDS_ATTENTION),
    ([S.PUBLISHED, S.UNCONFIRMED], P.NEEDS_ATTENTION),
    ([S.FAILED, S.HELD, S.PUBLISHED], P.NEEDS_ATTENTION),
]


@pytest.mark.parametrize(("states", "expected"), CASES, ids=[",".join(c[0]) or "none" for c in CASES])
def test_status_of_a_mix(states, expected):
    assert derive_status(states) == expected


@pytest.mark.parametrize("size", [1, 2, 3])
def test_every_mix_keeps_the_rules(size):
    out = {S.PUBLISHED, S.EDITING}
    for mix in itertools.combinations_with_replacement(list(TargetState.values), size):
        status = derive_status(mix)
        counted = [s for s in mix if s != S.CANCELLED]
        assert status in (None, *P.values), mix
        # Published exactly when every target that counts is on its network.
        assert (status == P.PUBLISHED) == (bool(counted) and all(s in out for s in counted)), mix
        # A target that needs a person is never hidden behind a calmer word.
        if any(s in (S.UNCONFIRMED, S.HELD) for s in counted):
            assert status == P.NEEDS_ATTENTION, mix
        # Nothing started: the plan's own status speaks.
        if all(s in (S.DRAFT, S.SCHEDULED) for s in counted):
            assert status is None, mix
        if status == P.PARTIALLY_PUBLISHED:
            assert any(s in out for s in counted), mix
        if status == P.FAILED:
            assert not any(s in out for s in counted), mix


@pytest.mark.django_db(transaction=True)
def test_the_status_follows_the_engine_fast_path():
    for cls in pt.SCRIPTED.values():
        cls.reset()
    t0 = dt.datetime(2030, 1, 15, 9, 0, tzinfo=dt.UTC)
    clock.freeze(t0)
    previous = ratelimit.use("memory")
    with pt.scripted_networks():
        try:
            ws = pt.workspace()
            ch = pt.channel(ws, pt.scripted_access("scripted", "t"))
            target = pt.schedule(ch, "status follows", t0)
            groups = {1: [target.variant_id]}
            assert service.publication_statuses(groups) == {1: None}
            claims = engine.claim_batch("w", 5)
            assert [c.id for c in claims] == [target.pk]
            assert engine.publish_claimed(claims[0], "w") == TargetState.PUBLISHED
            assert service.publication_statuses(groups) == {1: P.PUBLISHED}
        finally:
            clock.reset()
            ratelimit.use(previous)
