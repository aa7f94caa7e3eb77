"""``rupor analytics``: best time to post for a channel (and into its queue), and A/B test
results, from the command line (the operator acts as owner)."""

from __future__ import annotations

import click

from rupor.cli.channel import _fail, _operator

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@click.group()
def analytics() -> None:
    """Best time to post and A/B tests."""


@analytics.command("best-time")
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
@click.option("--channel", "channel_id", required=True, type=click.IntRange(1, 2**62), help="Channel id.")
@click.option(
    "--weeks", default=26, show_default=True, type=click.IntRange(1, 104), help="History to look at."
)
@click.option(
    "--apply",
    "apply_count",
    default=0,
    type=click.IntRange(0, 5),
    help="Add this many of the best hours to the channel's queue (0: only show them).",
)
@click.option("--heatmap/--no-heatmap", default=False, help="Also print the 7x24 scores.")
def best_time(slug: str, channel_id: int, weeks: int, apply_count: int, heatmap: bool) -> None:
    """The channel's best hours of the week (workspace time zone), with the posts behind each."""
    actor = _operator(slug)
    from rupor.analytics import besttime
    from rupor.core.errors import DomainError

    try:
        result = besttime.best_time(actor, channel_id, weeks)
    except DomainError as exc:
        _fail(exc)
    e = result.estimate
    click.echo(
        f"{result.channel_name}: {e.posts} posts with a 24-hour reading in {weeks} weeks "
        f"({result.skipped} left out); typical post {e.typical:g} engagements; times in {result.timezone}; "
        f"evidence: {e.signal}"
    )
    for rank, s in enumerate(e.top, start=1):
        click.echo(
            f"{rank}\t{DAYS[s.weekday]} {s.hour:02d}:00\t{s.score:.2f}x typical\t{s.posts} posts ({s.nearby} within an hour)"
        )
    if not e.top:
        click.echo(f"Too few posts to rank hours (at least {besttime.MIN_POSTS} needed).")
    if heatmap:
        click.echo("     " + " ".join(f"{h:>4d}" for h in range(24)))
        for d in range(7):
            cells = " ".join(
                f"{s.score:4.1f}" if s.posts else f"{s.score:3.1f}." for s in e.slots[d * 24 : d * 24 + 24]
            )
            click.echo(f"{DAYS[d]}  {cells}")
        click.echo("(a dot: no posts at that hour; the score leans on the same hour on other days)")
    if apply_count:
        try:
            done = besttime.apply_best_time(actor, channel_id, apply_count, weeks)
        except DomainError as exc:
            _fail(exc)
        added = ", ".join(f"{DAYS[d]} {t:%H:%M}" for d, t in done.added) or "none"
        existing = ", ".join(f"{DAYS[d]} {t:%H:%M}" for d, t in done.existing) or "none"
        click.echo(f"Queue: added {added}; already there {existing}")


@analytics.command("ab-tests")
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
def ab_tests(slug: str) -> None:
    """Each A/B test with both rates, the p-value, P(B beats A) and the sample still needed."""
    actor = _operator(slug)
    from rupor.analytics import abtest

    for t in abtest.list_tests(actor):

        def rate(arm: abtest.ArmResult) -> str:
            if arm.rate is None:
                return f"{arm.label} -"
            return (
                f"{arm.label} {arm.successes}/{arm.trials} = {arm.rate:.2%} [{arm.low:.2%}, {arm.high:.2%}]"
            )

        p = f"p={t.p_value:.4f}" if t.p_value is not None else "p=-"
        prob = f"P(B>A)={t.prob_b_beats_a:.1%}" if t.prob_b_beats_a is not None else "P(B>A)=-"
        still = (
            f"{t.still_needed} more per variant"
            if t.still_needed
            else ("planned sample reached" if t.reached else "no plan yet")
        )
        click.echo(f"{t.id}\t{t.name}\t{rate(t.a)}\t{rate(t.b)}\t{p}\t{prob}\t{still}\t{t.verdict}")


@analytics.command("polls")
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
@click.option(
    "--post", "post_id", type=click.IntRange(1, 2**62), default=None, help="Only this post's polls."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON, as the API answers.")
def polls(slug: str, post_id: int | None, as_json: bool) -> None:
    """Poll and quiz results: votes per option, voters, a quiz's right share, open or closed."""
    import json

    from rupor.analytics import service
    from rupor.core.errors import DomainError

    actor = _operator(slug)
    try:
        results = (
            service.post_poll_results(actor.workspace_id, post_id)
            if post_id is not None
            else service.poll_results(actor.workspace_id)
        )
    except DomainError as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps([r.as_json() for r in results], ensure_ascii=False, indent=2))
        return
    if not results:
        click.echo("No poll results yet.")
    for r in results:
        state = "closed" if r.closed else "open"
        voters = "voters unknown" if r.voters is None else f"{r.voters} voters"
        click.echo(
            f"post {r.post_id} on {r.network} channel {r.channel_id} ({r.kind}, {state}, {voters}): {r.question}"
        )
        for index, o in enumerate(r.options, start=1):
            mark = " (right answer)" if o.correct else ""
            click.echo(f"  {index}. {o.text}{mark}\t{o.votes}\t{'#' * round(o.bar / 5)}")
        if r.correct_share is not None:
            click.echo(f"  answered right: {100 * r.correct_share:.0f} %")
