"""How much an inbox item needs a person now: one number from what it is (triage's label), who
wrote it (their reach) and how long it has waited (docs/inbox-triage.md, "Priority").

The same formula twice: :func:`priority_of` for one item in Python, :func:`priority_expression`
for the database to sort the list by; a test keeps them equal.
"""

from __future__ import annotations

import datetime as dt
import math

from django.db.models import Case, F, FloatField, Q, Value, When
from django.db.models.expressions import Combinable
from django.db.models.functions import Cast, Coalesce, Least, Ln

from rupor.inbox.models import InboxItem, ItemStatus, Label

#: What the label adds: what asks for an answer weighs; praise, neutral and items triage has not
#: read yet add nothing (they still come by reach, then newest first). Spam is 0 whoever sent it.
LABEL_WEIGHT: dict[str, float] = {Label.COMPLAINT: 40.0, Label.NEGATIVE: 30.0, Label.QUESTION: 25.0}
#: Reach: REACH_PER_DECADE for every tenfold of followers, at most REACH_CAP (100 000 followers).
REACH_PER_DECADE = 5.0
REACH_CAP = 25.0
#: Waiting: what asks for an answer rises the longer it waits (hours waited, points added).
AGE_STEPS: tuple[tuple[int, float], ...] = ((72, 20.0), (24, 16.0), (12, 12.0), (4, 8.0), (1, 4.0))
#: Answered, done, hidden or deleted items keep this share of their label and reach (no age).
SETTLED_SHARE = 0.1
#: Statuses that still wait for someone (the same as the service's WAITING).
WAITING = (ItemStatus.NEW, ItemStatus.IN_PROGRESS)


def reach_weight(followers: int | None) -> float:
    """0 when unknown; 5 points per tenfold of followers, at most 25."""
    if not followers or followers < 0:
        return 0.0
    return min(REACH_CAP, REACH_PER_DECADE * math.log10(followers + 1))


def age_weight(label: str, occurred_at: dt.datetime, now: dt.datetime) -> float:
    if label not in LABEL_WEIGHT:
        return 0.0
    hours = (now - occurred_at).total_seconds() / 3600
    return next((points for at_least, points in AGE_STEPS if hours >= at_least), 0.0)


def priority_of(item: InboxItem, now: dt.datetime) -> float:
    """The item's priority, 0 (nothing to do: our own, spam) to 85 (a complaint waiting three
    days, by someone 100 000 people follow)."""
    if item.outgoing or item.label == Label.SPAM:
        return 0.0
    base = LABEL_WEIGHT.get(item.label, 0.0) + reach_weight(item.author_followers)
    if item.status in WAITING:
        return round(base + age_weight(item.label, item.occurred_at, now), 2)
    return round(base * SETTLED_SHARE, 2)


def priority_expression(now: dt.datetime) -> Case:
    """:func:`priority_of` for the database (SQLite and PostgreSQL both have LN and LEAST).
    The rounding to two places is left to the reader; sorting needs none."""
    label = Case(
        *(When(label=name, then=Value(points)) for name, points in LABEL_WEIGHT.items()),
        default=Value(0.0),
        output_field=FloatField(),
    )
    followers: Combinable = Cast(Coalesce(F("author_followers"), Value(0)), FloatField()) + Value(1.0)
    reach = Least(
        Value(REACH_CAP),
        Value(REACH_PER_DECADE / math.log(10)) * Ln(followers, output_field=FloatField()),
        output_field=FloatField(),
    )
    answerable = Q(label__in=list(LABEL_WEIGHT))
    age = Case(
        *(
            When(answerable & Q(occurred_at__lte=now - dt.timedelta(hours=hours)), then=Value(points))
            for hours, points in AGE_STEPS
        ),
        default=Value(0.0),
        output_field=FloatField(),
    )
    base = label + reach
    return Case(
        When(Q(outgoing=True) | Q(label=Label.SPAM), then=Value(0.0)),
        When(status__in=WAITING, then=base + age),
        default=base * Value(SETTLED_SHARE),
        output_field=FloatField(),
    )
