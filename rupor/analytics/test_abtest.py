"""A/B test statistics against hand-computed values, and the test's rules (validation, figures
from posts, CSV import, roles, workspaces)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from rupor.accounts import service as accounts
from rupor.accounts.roles import Role
from rupor.analytics import abstats, abtest
from rupor.analytics.abtest import ABTestError, ABTestInput, ArmInput
from rupor.analytics.models import ABTest, PostStat
from rupor.channels.models import Channel
from rupor.core import clock

# -- statistics -----------------------------------------------------------------------------------


def test_wilson_interval_of_10_out_of_100() -> None:
    # p = 0.1, z = 1.96: centre (0.1 + 0.019208) / 1.038415 = 0.114800; half-width
    # 1.96·sqrt(0.0009 + 0.0000096) / 1.038415 = 0.059571 → [0.0552, 0.1744] (Newcombe 1998, table I).
    low, high = abstats.wilson(10, 100)
    assert low == pytest.approx(0.0552, abs=5e-5)
    assert high == pytest.approx(0.1744, abs=5e-5)
    # 0 of 10: the lower end is 0 and the upper end z²/(n + z²) = 3.8415 / 13.8415 = 0.2775
    assert abstats.wilson(0, 10) == pytest.approx((0.0, 3.8415 / 13.8415), abs=5e-5)
    assert abstats.wilson(0, 0) == (0.0, 1.0)


def test_two_proportion_z_test_textbook_example() -> None:
    # 10/100 against 20/100: pooled p = 0.15, se = sqrt(0.15·0.85·(1/100 + 1/100)) = 0.0504975,
    # z = 0.1 / 0.0504975 = 1.98030, two-sided p = 0.04767.
    t = abstats.two_proportion_z(10, 100, 20, 100)
    assert t is not None
    assert t.z == pytest.approx(1.98030, abs=1e-4)
    assert t.p_value == pytest.approx(0.04767, abs=1e-4)
    assert abstats.two_proportion_z(0, 100, 0, 100) is None  # no variance: undefined, not a crash
    assert abstats.two_proportion_z(0, 0, 1, 10) is None


def test_probability_b_beats_a_exact_for_small_counts() -> None:
    # A: 1 of 2 → Beta(2, 2); B: 0 of 2 → Beta(1, 3). P(B > A) = ∫ 6a(1-a)·(1-a)³ da = 6·B(2, 5) = 0.2
    assert abstats.prob_b_beats_a(1, 2, 0, 2).probability == pytest.approx(0.2, abs=1e-12)
    assert abstats.prob_b_beats_a(0, 2, 1, 2).probability == pytest.approx(0.8, abs=1e-12)
    # A: 0 of 1 → Beta(1, 2); B: 1 of 1 → Beta(2, 1). P = ∫ 2b·(1-(1-b)²) db = 4/3 - 1/2 = 5/6
    exact = abstats.prob_b_beats_a(0, 1, 1, 1)
    assert exact.probability == pytest.approx(5 / 6, abs=1e-12)
    assert exact.method == "exact"
    assert abstats.prob_b_beats_a(0, 0, 0, 0).probability == pytest.approx(0.5)
    # 10/100 against 20/100: a Monte Carlo of 2 million draws (numpy, seed 1) gives 0.97529.
    assert abstats.prob_b_beats_a(10, 100, 20, 100).probability == pytest.approx(0.9752, abs=1e-3)


def test_very_large_counts_use_the_normal_approximation_consistently() -> None:
    exact = abstats.prob_b_beats_a(20_000, 100_000, 20_100, 100_000)
    approx = abstats.prob_b_beats_a(200_000, 1_000_000, 201_000, 1_000_000)
    assert exact.method == "exact" and approx.method == "normal"
    # the same rates at 10x the counts: z grows by sqrt(10); check the approximation against it
    d = 0.201 - 0.2
    sd = math.sqrt(0.2 * 0.8 / 1_000_002 + 0.201 * 0.799 / 1_000_002)
    assert approx.probability == pytest.approx(0.5 * (1 + math.erf(d / sd / math.sqrt(2))), abs=1e-3)
    assert 0.5 < exact.probability < approx.probability < 1


def test_sample_size_per_variant() -> None:
    # 1% → 1.2% (+20%), alpha 5% two-sided, power 80%: p̄ = 0.011,
    # [1.959964·sqrt(2·0.011·0.989) + 0.841621·sqrt(0.0099 + 0.011856)]² / 0.002² = 42 692.7 → 42 693
    assert abstats.sample_size(0.01, 0.2) == 42_693
    # 10% → 15%: [1.959964·sqrt(2·0.125·0.875) + 0.841621·sqrt(0.09 + 0.1275)]² / 0.05² = 685.4 → 686
    assert abstats.sample_size(0.10, 0.5) == 686
    assert abstats.sample_size(0.0, 0.2) is None
    assert abstats.sample_size(0.9, 0.2) is None  # 108% is no rate


# -- the test's rules -------------------------------------------------------------------------------


@pytest.fixture
def world(db: Any) -> dict[str, Any]:
    owner = accounts.create_user("owner@example.com", "a-long-enough-passphrase-42")
    ws = accounts.create_workspace("Bakery", owner, timezone="Europe/Moscow")
    channel = Channel.objects.create(workspace=ws, network="vk", name="Bakery VK", remote_id="-1")
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None
    stat = PostStat.objects.create(
        workspace=ws,
        channel=channel,
        remote_post_id="1",
        published_at=clock.now(),
        likes=5,
        reposts=2,
        comments=3,
        reach=100,
        views=None,
        text_excerpt="Fresh bread",
    )
    return {"ws": ws, "owner": actor, "stat": stat, "channel": channel}


def figures(sa: int | None, ta: int | None, sb: int | None, tb: int | None, **kw: Any) -> ABTestInput:
    return ABTestInput(
        kw.pop("name", "Headline"),
        kw.pop("metric", ABTest.Metric.CLICKS_VIEWS),
        a=ArmInput("A", None, sa, ta),
        b=ArmInput("B", None, sb, tb),
        **kw,
    )


def test_result_of_entered_figures(world: dict[str, Any]) -> None:
    r = abtest.create_test(world["owner"], figures(10, 100, 20, 100))
    assert r.a.rate == pytest.approx(0.1) and r.b.rate == pytest.approx(0.2)
    assert r.a.low == pytest.approx(0.0552, abs=5e-5)
    assert r.p_value == pytest.approx(0.04767, abs=1e-4)
    assert r.lift == pytest.approx(1.0)
    assert r.planned == abstats.sample_size(0.1, 0.2)
    assert r.planned is not None and r.still_needed == r.planned - 100
    assert not r.reached
    assert "Keep going" in r.verdict  # significant so far, but the planned sample is not reached


def test_verdict_once_the_planned_sample_is_reached(world: dict[str, Any]) -> None:
    planned = abstats.sample_size(0.1, 0.2)
    assert planned is not None
    n = planned + 10
    better = abtest.create_test(world["owner"], figures(n // 10, n, n // 10 * 13 // 10, n))
    assert better.reached and better.still_needed == 0
    assert better.verdict.startswith("B is better")
    alike = abtest.create_test(world["owner"], figures(n // 10, n, n // 10 + 3, n))
    assert alike.verdict.startswith("No significant difference")


def test_the_plan_is_made_once_and_does_not_move_with_as_rate(world: dict[str, Any]) -> None:
    r = abtest.create_test(world["owner"], figures(10, 100, 20, 100))
    assert r.baseline == pytest.approx(0.1) and not r.baseline_given
    # A's rate doubles as figures come in: the plan stays the one made from A's first rate.
    later = abtest.update_test(world["owner"], r.id, figures(40, 200, 30, 200, name="Renamed"))
    assert later.a.rate == pytest.approx(0.2)
    assert later.baseline == pytest.approx(0.1) and later.planned == abstats.sample_size(0.1, 0.2)
    assert abtest.get_test(world["owner"], r.id).planned == later.planned

    # A rate a person sets is used instead, and kept through edits of the figures.
    given = abtest.update_test(world["owner"], r.id, figures(40, 200, 30, 200, baseline=0.05))
    assert given.baseline_given and given.planned == abstats.sample_size(0.05, 0.2)
    assert abtest.input_of(world["owner"], r.id).baseline == pytest.approx(0.05)

    # No figures for A yet: nothing to plan from until they come, then the first rate is kept.
    empty = abtest.create_test(world["owner"], figures(None, None, 1, 10))
    assert empty.baseline is None and empty.planned is None
    first = abtest.update_test(world["owner"], empty.id, figures(3, 100, 1, 10))
    assert first.baseline == pytest.approx(0.03)
    assert ABTest.objects.get(pk=empty.id).baseline == pytest.approx(0.03)


def test_a_variant_from_a_published_post(world: dict[str, Any]) -> None:
    data = ABTestInput(
        "Post vs figures",
        ABTest.Metric.ER_REACH,
        a=ArmInput("Bread", world["stat"].pk),
        b=ArmInput("Buns", None, 12, 100),
    )
    r = abtest.create_test(world["owner"], data)
    assert (r.a.source, r.a.successes, r.a.trials) == ("post", 10, 100)  # 5 + 2 + 3 out of reach 100
    assert r.a.post_excerpt == "Fresh bread"
    views = abtest.update_test(
        world["owner"], r.id, ABTestInput("Views", ABTest.Metric.ER_VIEWS, a=data.a, b=data.b)
    )
    assert views.a.trials is None and "views" in views.a.note  # VK did not report views here: no guess
    assert not views.ready


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        (figures(11, 10, 1, 10), "a.successes", "cannot exceed"),
        (figures(1, 10, -1, 10), "b.successes", "negative"),
        (figures(1, None, 1, 10), "a.trials", "both"),
        (figures(1, 10, 1, 10, name="  "), "name", "name"),
        (figures(1, 10, 1, 10, metric="likes"), "metric", "Unknown metric"),
        (figures(1, 10, 1, 10, mde=0), "mde", "1%"),
        (figures(1, 10, 1, 10, mde=float("nan")), "mde", "number"),
        (figures(1, 10, 1, 10, baseline=1.5), "baseline", "between 0 and 1"),
        (figures(1, 10, 1, 10, baseline=0), "baseline", "between 0 and 1"),
    ],
)
def test_bad_input_is_refused_with_the_field(
    world: dict[str, Any], data: ABTestInput, field: str, words: str
) -> None:
    with pytest.raises(ABTestError) as exc:
        abtest.create_test(world["owner"], data)
    assert exc.value.field == field
    assert words in exc.value.message
    assert not ABTest.objects.exists()


def test_post_variants_are_checked(world: dict[str, Any]) -> None:
    both = ABTestInput("x", ABTest.Metric.ER_REACH, a=ArmInput("A", world["stat"].pk, 1, 2))
    with pytest.raises(ABTestError, match="not both"):
        abtest.create_test(world["owner"], both)
    clicks = ABTestInput("x", ABTest.Metric.CLICKS_VIEWS, a=ArmInput("A", world["stat"].pk))
    with pytest.raises(ABTestError, match="Link clicks"):
        abtest.create_test(world["owner"], clicks)
    other_ws = accounts.create_workspace(
        "Other", accounts.create_user("o@example.com", "a-long-enough-passphrase-42")
    )
    stranger = accounts.Actor(other_ws.pk, Role.OWNER)
    with pytest.raises(ABTestError) as exc:
        abtest.create_test(
            stranger, ABTestInput("x", ABTest.Metric.ER_REACH, a=ArmInput("A", world["stat"].pk))
        )
    assert exc.value.status == 404  # another workspace's post is not there


def test_roles_and_workspaces(world: dict[str, Any]) -> None:
    made = abtest.create_test(world["owner"], figures(1, 10, 2, 10))
    analyst = accounts.Actor(world["ws"].pk, Role.ANALYST)
    assert abtest.get_test(analyst, made.id).id == made.id
    with pytest.raises(ABTestError) as exc:
        abtest.create_test(analyst, figures(1, 10, 2, 10))
    assert exc.value.status == 403
    with pytest.raises(ABTestError) as exc:
        abtest.delete_test(analyst, made.id)
    assert exc.value.status == 403
    with pytest.raises(ABTestError) as exc:
        abtest.list_tests(accounts.Actor(world["ws"].pk, Role.CLIENT))
    assert exc.value.status == 403
    manager = accounts.Actor(world["ws"].pk, Role.MANAGER)
    abtest.update_test(manager, made.id, figures(2, 10, 3, 10, name="Renamed"))
    other_ws = accounts.create_workspace(
        "Other", accounts.create_user("o@example.com", "a-long-enough-passphrase-42")
    )
    stranger = accounts.Actor(other_ws.pk, Role.OWNER)
    with pytest.raises(ABTestError) as exc:
        abtest.get_test(stranger, made.id)
    assert exc.value.status == 404
    assert abtest.list_tests(stranger) == []
    abtest.delete_test(manager, made.id)
    assert not ABTest.objects.exists()


def test_csv_import(world: dict[str, Any]) -> None:
    made = abtest.create_test(world["owner"], figures(None, None, None, None))
    assert made.a.source == "none" and "Waiting" in made.verdict
    r = abtest.import_figures(world["owner"], made.id, "\ufeffvariant,successes,trials\nA,10,100\nb,20,100\n")
    assert (r.a.successes, r.a.trials, r.b.successes, r.b.trials) == (10, 100, 20, 100)
    for text, words in [
        ("a,b,c\nA,1,2\n", "header"),
        ("variant,successes,trials\nA,20,10\n", "cannot exceed"),
        ("variant,successes,trials\nA,1,10\nA,1,10\n", "twice"),
        ("variant,successes,trials\nC,1,10\n", "A or B"),
        ("variant,successes,trials\nA,x,10\n", "whole number"),
        ("variant,successes,trials\n", "no rows"),
    ]:
        with pytest.raises(ABTestError, match=words):
            abtest.import_figures(world["owner"], made.id, text)
    unchanged = abtest.get_test(world["owner"], made.id)
    assert (unchanged.a.successes, unchanged.b.successes) == (10, 20)
    tied = abtest.create_test(
        world["owner"], ABTestInput("t", ABTest.Metric.ER_REACH, a=ArmInput("A", world["stat"].pk))
    )
    with pytest.raises(ABTestError, match="published post"):
        abtest.import_figures(world["owner"], tied.id, "variant,successes,trials\nA,1,10\n")
