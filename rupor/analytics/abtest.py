"""A/B tests of texts and creatives: create, edit, import figures, and read the result.

Each variant is a post Rupor published (its :class:`PostStat`: engagements out of reach or
views) or figures entered or imported from CSV. The result (:func:`result`) gives each rate with
its 95% Wilson interval, the two-proportion z-test, P(B beats A) and how many more trials the
planned sample needs — with the warning not to stop before it is reached.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rupor.accounts.roles import Perm
from rupor.accounts.service import Actor, record
from rupor.analytics import abstats
from rupor.analytics.models import ABTest, PostStat
from rupor.core import clock
from rupor.core.errors import DomainError

METRIC_LABELS = {
    ABTest.Metric.ER_REACH: gettext_lazy("Engagements per reach"),
    ABTest.Metric.ER_VIEWS: gettext_lazy("Engagements per view"),
    ABTest.Metric.CLICKS_VIEWS: gettext_lazy("Link clicks per view"),
}
#: Metrics a published post can supply (PostStat has no click counts).
POST_METRICS = {ABTest.Metric.ER_REACH, ABTest.Metric.ER_VIEWS}
MAX_COUNT = 2_000_000_000
MAX_CSV_BYTES = 64 * 1024


class ABTestError(DomainError):
    """An A/B test request refused, with the field at fault."""


@dataclass(frozen=True)
class ArmInput:
    label: str = ""
    post_stat_id: int | None = None
    successes: int | None = None
    trials: int | None = None


@dataclass(frozen=True)
class ABTestInput:
    name: str
    metric: str = ABTest.Metric.ER_REACH
    hypothesis: str = ""
    mde: float = 0.2
    a: ArmInput = field(default_factory=ArmInput)
    b: ArmInput = field(default_factory=ArmInput)
    #: A's expected rate (0 < rate < 1) to plan the sample from; ``None``: A's first rate, kept.
    baseline: float | None = None


@dataclass(frozen=True)
class ArmResult:
    key: str  # "a" or "b"
    label: str
    source: str  # "post", "figures" or "none"
    post_stat_id: int | None
    post_excerpt: str
    post_url: str
    read_at: Any  # datetime of the post's reading, or None
    successes: int | None
    trials: int | None
    rate: float | None
    low: float | None
    high: float | None
    note: str


@dataclass(frozen=True)
class Result:
    id: int
    name: str
    hypothesis: str
    metric: str
    metric_label: str
    mde: float
    baseline: float | None  # the rate the plan is computed from
    baseline_given: bool  # set by a person (else kept from A's first rate)
    a: ArmResult
    b: ArmResult
    ready: bool  # both variants have trials
    z: float | None
    p_value: float | None
    prob_b_beats_a: float | None
    bayes_method: str
    lift: float | None  # relative change of B against A
    planned: int | None  # trials per variant the plan needs
    still_needed: int | None  # more trials (the larger shortfall of the two variants)
    reached: bool
    verdict: str
    created_at: Any
    updated_at: Any


def _require(actor: Actor, perm: Perm) -> None:
    if not actor.can(perm):
        if perm == Perm.ANALYTICS_MANAGE:
            raise ABTestError(_("Your role does not allow changing A/B tests."), status=403)
        raise ABTestError(_("Your role does not allow seeing analytics."), status=403)


def _post_engagements(stat: PostStat) -> int | None:
    parts = [v for v in (stat.likes, stat.reposts, stat.comments) if v is not None]
    return sum(parts) if parts else None


def _arm(test: ABTest, key: str) -> ArmResult:
    label = getattr(test, f"{key}_label") or key.upper()
    stat: PostStat | None = getattr(test, f"{key}_post")
    if stat is not None:
        successes = _post_engagements(stat)
        trials = stat.reach if test.metric == ABTest.Metric.ER_REACH else stat.views
        note = ""
        if successes is None:
            note = _("The post has no engagements read yet.")
        elif trials is None:
            note = (
                _("The network does not report this post's reach.")
                if test.metric == ABTest.Metric.ER_REACH
                else _("The network does not report this post's views.")
            )
        elif successes > trials:
            note = _("More engagements than the denominator: the rate is capped at 100%.")
        if successes is None or trials is None:
            successes = trials = None
        elif successes > trials:
            successes = trials
        source = "post"
        excerpt, url, read_at = stat.text_excerpt, stat.url, stat.read_at
    else:
        successes = getattr(test, f"{key}_successes")
        trials = getattr(test, f"{key}_trials")
        source = "figures" if trials is not None else "none"
        note = "" if trials is not None else _("No figures yet.")
        excerpt, url, read_at = "", "", None
    rate = low = high = None
    if successes is not None and trials:
        rate = successes / trials
        low, high = abstats.wilson(successes, trials)
    return ArmResult(
        key,
        label,
        source,
        stat.pk if stat else None,
        excerpt,
        url,
        read_at,
        successes,
        trials,
        rate,
        low,
        high,
        note,
    )


def result(test: ABTest) -> Result:
    """The test's figures and statistics as they stand now."""
    a, b = _arm(test, "a"), _arm(test, "b")
    ready = bool(a.trials) and bool(b.trials) and a.successes is not None and b.successes is not None
    z = p_value = prob = lift = None
    method = ""
    if ready:
        xa, na, xb, nb = int(a.successes or 0), int(a.trials or 0), int(b.successes or 0), int(b.trials or 0)
        ztest = abstats.two_proportion_z(xa, na, xb, nb)
        if ztest is not None:
            z, p_value = ztest.z, ztest.p_value
        bayes = abstats.prob_b_beats_a(xa, na, xb, nb)
        prob, method = bayes.probability, bayes.method
        if a.rate:
            lift = (b.rate or 0.0) / a.rate - 1
    given = test.baseline is not None and test.baseline_given
    if test.baseline is None and a.rate is not None and 0 < a.rate < 1:
        # The plan is made once: from A's first rate, kept, so it does not move as A's rate does.
        test.baseline = a.rate
        if test.pk is not None:
            ABTest.objects.filter(pk=test.pk, baseline__isnull=True).update(baseline=a.rate)
    planned = abstats.sample_size(test.baseline, test.mde) if test.baseline is not None else None
    still = None
    if planned is not None:
        still = max(0, planned - (a.trials or 0), planned - (b.trials or 0))
    reached = planned is not None and still == 0
    if not ready:
        verdict = _("Waiting for figures of both variants.")
    elif planned is None:
        verdict = _(
            "No sample can be planned from a baseline rate of 0% or 100%: collect more before judging."
        )
    elif not reached:
        verdict = _(
            "Keep going: the planned sample is not reached, so the difference so far is not evidence either way."
        )
    elif p_value is not None and p_value < abstats.ALPHA:
        verdict = (
            _("B is better than A (significant at 5%).")
            if (b.rate or 0) > (a.rate or 0)
            else _("B is worse than A (significant at 5%).")
        )
    else:
        verdict = _("No significant difference at the planned sample: the variants perform alike.")
    return Result(
        test.pk,
        test.name,
        test.hypothesis,
        test.metric,
        str(METRIC_LABELS[ABTest.Metric(test.metric)]),
        test.mde,
        test.baseline,
        given,
        a,
        b,
        ready,
        z,
        p_value,
        prob,
        method,
        lift,
        planned,
        still,
        reached,
        verdict,
        test.created_at,
        test.updated_at,
    )


def _count(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ABTestError(_("%(field)s must be a whole number.") % {"field": name}, name)
    try:
        number = int(value)
    except ValueError:
        raise ABTestError(_("%(field)s must be a whole number.") % {"field": name}, name) from None
    if number < 0:
        raise ABTestError(_("%(field)s cannot be negative.") % {"field": name}, name)
    if number > MAX_COUNT:
        raise ABTestError(_("%(field)s is too large.") % {"field": name}, name)
    return number


def _check_arm(
    actor: Actor, metric: str, key: str, arm: ArmInput
) -> tuple[PostStat | None, int | None, int | None]:
    successes = _count(arm.successes, f"{key}.successes")
    trials = _count(arm.trials, f"{key}.trials")
    if arm.post_stat_id is not None:
        if successes is not None or trials is not None:
            raise ABTestError(
                _("Variant %(v)s: choose a published post or enter figures, not both.") % {"v": key.upper()},
                f"{key}.post_stat_id",
            )
        if metric not in POST_METRICS:
            raise ABTestError(
                _("Link clicks are not read from posts: enter the figures of both variants."),
                f"{key}.post_stat_id",
            )
        stat = PostStat.objects.filter(pk=arm.post_stat_id, workspace_id=actor.workspace_id).first()
        if stat is None:
            raise ABTestError(_("No such published post in this workspace."), f"{key}.post_stat_id", 404)
        return stat, None, None
    if (successes is None) != (trials is None):
        raise ABTestError(
            _("Variant %(v)s: give both successes and trials, or neither.") % {"v": key.upper()},
            f"{key}.trials",
        )
    if successes is not None and trials is not None and successes > trials:
        raise ABTestError(
            _("Variant %(v)s: successes (%(s)d) cannot exceed trials (%(t)d).")
            % {"v": key.upper(), "s": successes, "t": trials},
            f"{key}.successes",
        )
    return None, successes, trials


def _check(actor: Actor, data: ABTestInput) -> dict[str, Any]:
    name = (data.name or "").strip()
    if not name:
        raise ABTestError(_("Give the test a name."), "name")
    if len(name) > 200:
        raise ABTestError(_("The name is at most 200 characters."), "name")
    if data.metric not in ABTest.Metric.values:
        raise ABTestError(
            _("Unknown metric; choose one of: %(list)s.") % {"list": ", ".join(ABTest.Metric.values)},
            "metric",
        )
    if isinstance(data.mde, bool) or not isinstance(data.mde, int | float) or not math.isfinite(data.mde):
        raise ABTestError(_("The minimum detectable effect must be a number."), "mde")
    if not 0.01 <= data.mde <= 10:
        raise ABTestError(
            _("The minimum detectable effect is a relative change from 1% to 1000% (0.01 to 10)."), "mde"
        )
    if len(data.hypothesis or "") > 2000:
        raise ABTestError(_("The hypothesis is at most 2000 characters."), "hypothesis")
    baseline = data.baseline
    if baseline is not None and (
        isinstance(baseline, bool)
        or not isinstance(baseline, int | float)
        or not math.isfinite(baseline)
        or not 0 < baseline < 1
    ):
        raise ABTestError(
            _("The baseline rate is a share between 0 and 1 (0.05 = 5%), or empty to use A's first rate."),
            "baseline",
        )
    out: dict[str, Any] = {
        "name": name,
        "metric": data.metric,
        "hypothesis": (data.hypothesis or "").strip(),
        "mde": float(data.mde),
        "baseline": None if baseline is None else float(baseline),
        "baseline_given": baseline is not None,
    }
    for key, arm in (("a", data.a), ("b", data.b)):
        label = (arm.label or "").strip() or key.upper()
        if len(label) > 100:
            raise ABTestError(_("A variant's label is at most 100 characters."), f"{key}.label")
        stat, successes, trials = _check_arm(actor, data.metric, key, arm)
        out.update(
            {
                f"{key}_label": label,
                f"{key}_post": stat,
                f"{key}_successes": successes,
                f"{key}_trials": trials,
            }
        )
    return out


def list_tests(actor: Actor) -> list[Result]:
    _require(actor, Perm.ANALYTICS_VIEW)
    tests = ABTest.objects.filter(workspace_id=actor.workspace_id).select_related("a_post", "b_post")
    return [result(t) for t in tests]


def _get(actor: Actor, test_id: int) -> ABTest:
    test = (
        ABTest.objects.filter(pk=test_id, workspace_id=actor.workspace_id)
        .select_related("a_post", "b_post")
        .first()
    )
    if test is None:
        raise ABTestError(_("No such A/B test."), status=404)
    return test


def get_test(actor: Actor, test_id: int) -> Result:
    _require(actor, Perm.ANALYTICS_VIEW)
    return result(_get(actor, test_id))


def input_of(actor: Actor, test_id: int) -> ABTestInput:
    """The stored test as an input (the edit form starts from it)."""
    _require(actor, Perm.ANALYTICS_VIEW)
    t = _get(actor, test_id)
    return ABTestInput(
        t.name,
        t.metric,
        t.hypothesis,
        t.mde,
        ArmInput(t.a_label, t.a_post_id, t.a_successes, t.a_trials),
        ArmInput(t.b_label, t.b_post_id, t.b_successes, t.b_trials),
        t.baseline if t.baseline_given else None,
    )


def create_test(actor: Actor, data: ABTestInput) -> Result:
    _require(actor, Perm.ANALYTICS_MANAGE)
    values = _check(actor, data)
    test = ABTest.objects.create(workspace_id=actor.workspace_id, created_by_id=actor.user_id, **values)
    record(actor.workspace_id, actor, "abtest.create", "abtest", test.pk, test.name)
    return result(test)


def update_test(actor: Actor, test_id: int, data: ABTestInput) -> Result:
    _require(actor, Perm.ANALYTICS_MANAGE)
    test = _get(actor, test_id)
    values = _check(actor, data)
    if values["baseline"] is None and not test.baseline_given and values["a_post"] == test.a_post:
        # Same variant A (only its figures or other fields edited): the plan made from its first
        # rate stays; a different post for A starts a new plan.
        values["baseline"] = test.baseline
    for key, value in values.items():
        setattr(test, key, value)
    test.updated_at = clock.now()
    test.save()
    record(actor.workspace_id, actor, "abtest.update", "abtest", test.pk, test.name)
    return result(test)


def delete_test(actor: Actor, test_id: int) -> None:
    _require(actor, Perm.ANALYTICS_MANAGE)
    test = _get(actor, test_id)
    record(actor.workspace_id, actor, "abtest.delete", "abtest", test.pk, test.name)
    test.delete()


def import_figures(actor: Actor, test_id: int, text: str) -> Result:
    """Set both variants' figures from CSV: a header ``variant,successes,trials`` and one row per
    variant (``A`` / ``B``, or the variants' labels). A variant tied to a post is refused."""
    _require(actor, Perm.ANALYTICS_MANAGE)
    test = _get(actor, test_id)
    if len(text.encode()) > MAX_CSV_BYTES:
        raise ABTestError(_("The file is too large for two rows of figures."), "file", 413)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows or [c.strip().lower() for c in rows[0][:3]] != ["variant", "successes", "trials"]:
        raise ABTestError(_("The first row must be the header: variant,successes,trials"), "file")
    seen: dict[str, ArmInput] = {}
    labels = {"a": "a", "b": "b", test.a_label.strip().lower(): "a", test.b_label.strip().lower(): "b"}
    for number, row in enumerate(rows[1:], start=2):
        if len(row) < 3:
            raise ABTestError(_("Row %(n)d: give variant, successes and trials.") % {"n": number}, "file")
        key = labels.get(row[0].strip().lower())
        if key is None:
            raise ABTestError(
                _("Row %(n)d: the variant is A or B (or a variant's label), not %(v)s.")
                % {"n": number, "v": row[0][:40]},
                "file",
            )
        if key in seen:
            raise ABTestError(
                _("Row %(n)d: variant %(v)s appears twice.") % {"n": number, "v": key.upper()}, "file"
            )
        if getattr(test, f"{key}_post_id") is not None:
            raise ABTestError(
                _("Variant %(v)s takes its figures from a published post.") % {"v": key.upper()}, "file"
            )
        seen[key] = ArmInput(
            getattr(test, f"{key}_label"),
            None,
            _count(row[1].strip(), f"{key}.successes"),
            _count(row[2].strip(), f"{key}.trials"),
        )
    if not seen:
        raise ABTestError(_("The file has no rows of figures."), "file")
    current = input_of(actor, test_id)
    merged = ABTestInput(
        current.name,
        current.metric,
        current.hypothesis,
        current.mde,
        seen.get("a", current.a),
        seen.get("b", current.b),
    )
    return update_test(actor, test_id, merged)


@dataclass(frozen=True)
class PostChoice:
    id: int
    channel_id: int
    published_at: Any
    excerpt: str
    reach: int | None
    views: int | None


def post_choices(actor: Actor, limit: int = 200) -> list[PostChoice]:
    """Recent published posts a variant can be tied to (newest first)."""
    _require(actor, Perm.ANALYTICS_VIEW)
    rows = (
        PostStat.objects.filter(workspace_id=actor.workspace_id, deleted_at__isnull=True)
        .order_by("-published_at", "-id")
        .values_list("pk", "channel_id", "published_at", "text_excerpt", "reach", "views")[:limit]
    )
    return [PostChoice(*r) for r in rows]
