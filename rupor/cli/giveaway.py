"""``rupor giveaway``: giveaways from the command line (the operator acts as owner), and
``rupor giveaway verify FILE...``, which recomputes a draw from its published files alone: no
database, no network, no configuration (docs/giveaways.md)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import click

from rupor.cli.channel import _fail, _operator


@click.group()
def giveaway() -> None:
    """Giveaways anyone can verify: create, announce, close, draw; verify published files."""


def _when(value: str, flag: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        click.echo(f"Error ({flag}): write a time with its offset, e.g. 2026-12-31T18:00+03:00.", err=True)
        sys.exit(2)
    return parsed.astimezone(dt.UTC)


def _show(g: Any) -> None:
    from rupor.giveaways import service

    click.echo(f"{g.pk}\t{g.state}\t{g.title}")
    if g.rules_json:
        click.echo(
            f"  rules sha256: {service.rules_hash(g)}  beacon round {g.beacon_round} at {service.round_time(g)}"
        )
        click.echo(f"  public page: {service.public_url(g)}")
    if g.entrants_json:
        click.echo(f"  list sha256: {service.list_hash(g)}")
    record = service.draw_record(g)
    if record:
        click.echo(f"  winners: {', '.join(record['winners'])}  reserve: {', '.join(record['reserve'])}")
        for row in record["rechecks"]:
            if not row["eligible"]:
                click.echo(
                    f"  passed over: {row['entrant']} ({service.REASONS.get(row['reason'], row['reason'])})"
                )


@giveaway.command("list")
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
def list_cmd(slug: str) -> None:
    """The workspace's giveaways, newest first."""
    actor = _operator(slug)  # sets Django up before the models are imported
    from rupor.giveaways import service

    for g in service.list_giveaways(actor):
        _show(g)


@giveaway.command("create")
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
@click.option(
    "--channel", "channel_id", type=int, required=True, help="Channel id (see 'rupor channel list')."
)
@click.option("--title", required=True, help="The giveaway's title.")
@click.option("--prize", default="", help="What the winners get.")
@click.option("--starts", required=True, help="When entries open, ISO 8601 with offset.")
@click.option("--ends", required=True, help="When entries close, ISO 8601 with offset.")
@click.option(
    "--post",
    "post_remote_id",
    default="",
    help="The contest post's id on the network (default: the rules post).",
)
@click.option(
    "--member/--no-member", default=True, show_default=True, help="Must be a member of the community."
)
@click.option("--like", is_flag=True, help="Must like the post.")
@click.option("--repost", is_flag=True, help="Must repost the post.")
@click.option("--keyword", default="", help="Must comment with this word within the period.")
@click.option("--staff-can-win", is_flag=True, help="Let the community's managers win (excluded by default).")
@click.option("--exclude", multiple=True, help="A network id who cannot win (repeat).")
@click.option("--winners", type=int, default=1, show_default=True, help="How many win.")
@click.option("--reserve", type=int, default=3, show_default=True, help="How many are drawn in reserve.")
@click.option(
    "--beacon-url", default="", help="drand relay (default: RUPOR_DRAND_URL, else https://api.drand.sh)."
)
def create_cmd(
    slug: str,
    channel_id: int,
    title: str,
    prize: str,
    starts: str,
    ends: str,
    post_remote_id: str,
    member: bool,
    like: bool,
    repost: bool,
    keyword: str,
    staff_can_win: bool,
    exclude: tuple[str, ...],
    winners: int,
    reserve: int,
    beacon_url: str,
) -> None:
    """Create a draft giveaway (nothing is published until 'announce')."""
    actor = _operator(slug)  # sets Django up before the models are imported
    from rupor.core import config
    from rupor.giveaways import service

    data = service.GiveawayInput(
        channel_id=channel_id,
        title=title,
        prize=prize,
        starts_at=_when(starts, "--starts"),
        ends_at=_when(ends, "--ends"),
        post_remote_id=post_remote_id,
        require_member=member,
        require_like=like,
        require_repost=repost,
        comment_keyword=keyword,
        exclude_staff=not staff_can_win,
        excluded_ids=exclude,
        winners=winners,
        reserve=reserve,
        beacon_url=beacon_url or config.drand_url(),
    )
    try:
        _show(service.create_giveaway(actor, data))
    except service.GiveawayError as exc:
        _fail(exc)


def _step(name: str) -> click.Command:
    @click.command(name)
    @click.option("--workspace", "slug", required=True, help="Workspace slug.")
    @click.argument("giveaway_id", type=int)
    def run(slug: str, giveaway_id: int) -> None:
        actor = _operator(slug)  # sets Django up before the models are imported
        from rupor.giveaways import service

        try:
            _show(getattr(service, name)(actor, giveaway_id))
        except service.GiveawayError as exc:
            _fail(exc)

    run.help = {
        "announce": "Freeze the rules, name the beacon round, draft the rules post.",
        "close": "Collect the entrants from the network, freeze and hash the list.",
        "draw": "Read the beacon round, draw, re-check the drawn, draft the results post.",
        "cancel": "Cancel the giveaway.",
    }[name]
    return run


for _name in ("announce", "close", "draw", "cancel"):
    giveaway.add_command(_step(_name))


@giveaway.command("files")
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
@click.argument("giveaway_id", type=int)
@click.option(
    "--output", required=True, type=click.Path(file_okay=False), help="Folder to write the files into."
)
def files_cmd(slug: str, giveaway_id: int, output: str) -> None:
    """Write the published files (rules.json, entrants.json, draw.json and bundle.json)."""
    actor = _operator(slug)  # sets Django up before the models are imported
    from rupor.giveaways import service

    try:
        found = service.get_giveaway(actor, giveaway_id)
    except service.GiveawayError as exc:
        _fail(exc)
    folder = Path(output)
    folder.mkdir(parents=True, exist_ok=True)
    written = dict(service.published_files(found))
    if written:
        written["bundle.json"] = service.bundle(found)
    for name, text in written.items():
        (folder / name).write_text(text, encoding="utf-8")
        click.echo(str(folder / name))


@giveaway.command("verify")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
def verify_cmd(files: tuple[str, ...]) -> None:
    """Recompute a draw from its published files (rules.json, entrants.json and draw.json, or
    bundle.json) alone, step by step; exit status 0 only when every step holds."""
    from rupor.giveaways import procedure

    try:
        documents = [json.loads(Path(f).read_text(encoding="utf-8")) for f in files]
        rules, entrants, draw = procedure.split_files(documents)
    except (ValueError, procedure.Unreadable) as exc:
        click.echo(f"Error: these are not a giveaway's files: {exc}", err=True)
        sys.exit(2)
    result = procedure.verify(rules, entrants, draw)
    for step in result.steps:
        click.echo(f"{'ok ' if step.ok else 'BAD'} {step.key}: {step.detail}")
    click.echo(f"winners: {', '.join(result.winners) or '-'}")
    click.echo(f"reserve: {', '.join(result.reserve) or '-'}")
    for row in result.replaced:
        click.echo(f"passed over: {row['entrant']} ({row['reason']})")
    click.echo("The draw checks out." if result.ok else "The draw does NOT check out.")
    sys.exit(0 if result.ok else 1)
