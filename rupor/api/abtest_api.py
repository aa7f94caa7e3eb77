"""A/B tests: create, read, edit and delete tests of two variants, and read their statistics
(Wilson intervals, two-proportion z-test, P(B beats A), planned sample; analytics/abtest.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.responses import Status
from pydantic import Field

from rupor.accounts.roles import Perm
from rupor.analytics import abtest
from rupor.analytics.models import ABTest
from rupor.api.auth import need as _need
from rupor.api.errors import ERRORS

router = Router(tags=["analytics"])


class ArmIn(Schema):
    label: str = Field(default="", max_length=100)
    post_stat_id: int | None = Field(
        default=None,
        ge=1,
        le=2**62,
        description="A published post's stats row (GET /ab-tests/posts); or give figures",
    )
    successes: int | None = Field(
        default=None, ge=0, le=abtest.MAX_COUNT, description="e.g. clicks or engagements; with trials"
    )
    trials: int | None = Field(
        default=None, ge=0, le=abtest.MAX_COUNT, description="e.g. views or reach; successes <= trials"
    )


class ABTestIn(Schema):
    name: str = Field(max_length=200)
    metric: ABTest.Metric = ABTest.Metric.ER_REACH
    hypothesis: str = Field(default="", max_length=2000)
    mde: float = Field(
        default=0.2,
        allow_inf_nan=False,
        description="Smallest relative change worth detecting (0.2 = 20%); sets the planned sample",
    )
    baseline: float | None = Field(
        default=None,
        gt=0,
        lt=1,
        allow_inf_nan=False,
        description="A's expected rate (0.05 = 5%) the planned sample is computed from; "
        "empty: A's first rate, kept from then on",
    )
    a: ArmIn = Field(default_factory=lambda: ArmIn())
    b: ArmIn = Field(default_factory=lambda: ArmIn())


class ArmOut(Schema):
    label: str
    source: str = Field(description="post, figures or none")
    post_stat_id: int | None
    successes: int | None
    trials: int | None
    rate: float | None
    wilson_low: float | None = Field(description="95% Wilson score interval, lower end")
    wilson_high: float | None
    note: str


class ABTestOut(Schema):
    id: int
    name: str
    hypothesis: str
    metric: str
    metric_label: str
    mde: float
    baseline: float | None = Field(description="The rate the planned sample is computed from")
    baseline_given: bool = Field(description="true: set by a person; false: kept from A's first rate")
    a: ArmOut
    b: ArmOut
    z: float | None = Field(description="Pooled two-proportion z statistic of B against A")
    p_value: float | None = Field(description="Two-sided p-value of the z-test")
    prob_b_beats_a: float | None = Field(description="P(rate B > rate A) with Beta(1,1) priors")
    bayes_method: str = Field(
        description="exact (Evan Miller's sum) or normal (approximation for very large counts)"
    )
    lift: float | None = Field(description="rate B / rate A - 1")
    planned_per_variant: int | None = Field(
        description="Trials per variant for the MDE at 80% power, 5% alpha"
    )
    still_needed: int | None
    planned_reached: bool
    verdict: str
    warning: str
    created_at: dt.datetime
    updated_at: dt.datetime


class PostChoiceOut(Schema):
    id: int
    channel_id: int
    published_at: dt.datetime
    excerpt: str
    reach: int | None
    views: int | None


WARNING = (
    "Do not stop the test early: looking repeatedly and stopping at the first significant result "
    "inflates false winners (about 1 in 5 with 10 looks instead of 1 in 20). Read the verdict once "
    "the planned sample is reached."
)


def _arm(a: abtest.ArmResult) -> dict[str, Any]:
    return {
        "label": a.label,
        "source": a.source,
        "post_stat_id": a.post_stat_id,
        "successes": a.successes,
        "trials": a.trials,
        "rate": a.rate,
        "wilson_low": a.low,
        "wilson_high": a.high,
        "note": a.note,
    }


def _out(r: abtest.Result) -> dict[str, Any]:
    return {
        "id": r.id,
        "name": r.name,
        "hypothesis": r.hypothesis,
        "metric": r.metric,
        "metric_label": r.metric_label,
        "mde": r.mde,
        "baseline": r.baseline,
        "baseline_given": r.baseline_given,
        "a": _arm(r.a),
        "b": _arm(r.b),
        "z": r.z,
        "p_value": r.p_value,
        "prob_b_beats_a": r.prob_b_beats_a,
        "bayes_method": r.bayes_method,
        "lift": r.lift,
        "planned_per_variant": r.planned,
        "still_needed": r.still_needed,
        "planned_reached": r.reached,
        "verdict": r.verdict,
        "warning": "" if r.reached else WARNING,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
    }


def _input(payload: ABTestIn) -> abtest.ABTestInput:
    def arm(a: ArmIn) -> abtest.ArmInput:
        return abtest.ArmInput(a.label, a.post_stat_id, a.successes, a.trials)

    return abtest.ABTestInput(
        payload.name,
        payload.metric,
        payload.hypothesis,
        payload.mde,
        arm(payload.a),
        arm(payload.b),
        payload.baseline,
    )


@router.get("/ab-tests", response={200: list[ABTestOut], **ERRORS}, summary="A/B tests of the workspace")
def list_tests(request: HttpRequest) -> Any:
    who = _need(request, Perm.ANALYTICS_VIEW)
    return [_out(r) for r in abtest.list_tests(who)]


@router.get(
    "/ab-tests/posts",
    response={200: list[PostChoiceOut], **ERRORS},
    summary="Published posts a variant can take its figures from (newest first)",
)
def post_choices(request: HttpRequest) -> Any:
    who = _need(request, Perm.ANALYTICS_VIEW)
    return [p.__dict__ for p in abtest.post_choices(who)]


@router.post("/ab-tests", response={201: ABTestOut, **ERRORS}, summary="Create an A/B test")
def create_test(request: HttpRequest, payload: ABTestIn) -> Any:
    who = _need(request, Perm.ANALYTICS_MANAGE)
    return Status(201, _out(abtest.create_test(who, _input(payload))))


@router.get(
    "/ab-tests/{test_id}", response={200: ABTestOut, **ERRORS}, summary="One A/B test with its statistics"
)
def get_test(request: HttpRequest, test_id: int) -> Any:
    who = _need(request, Perm.ANALYTICS_VIEW)
    return _out(abtest.get_test(who, test_id))


@router.put(
    "/ab-tests/{test_id}",
    response={200: ABTestOut, **ERRORS},
    summary="Replace an A/B test's settings and figures",
)
def update_test(request: HttpRequest, test_id: int, payload: ABTestIn) -> Any:
    who = _need(request, Perm.ANALYTICS_MANAGE)
    return _out(abtest.update_test(who, test_id, _input(payload)))


@router.delete("/ab-tests/{test_id}", response={204: None, **ERRORS}, summary="Delete an A/B test")
def delete_test(request: HttpRequest, test_id: int) -> Any:
    who = _need(request, Perm.ANALYTICS_MANAGE)
    abtest.delete_test(who, test_id)
    return Status(204, None)
