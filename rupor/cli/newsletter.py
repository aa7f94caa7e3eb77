"""``rupor newsletter``: subscriber lists, imports with proof of consent, newsletters, their
schedule and delivery figures (the operator acts as owner)."""

from __future__ import annotations

import datetime as dt
import sys
from typing import IO

import click

from rupor.cli.channel import _fail, _operator


@click.group()
def newsletter() -> None:
    """Newsletters to people who subscribed to a VK community or a Telegram bot themselves."""


@newsletter.command("lists")
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
def lists(slug: str) -> None:
    """Lists with their channel, key, keyword and subscriber counts."""
    actor = _operator(slug)
    from rupor.newsletters import service

    for row in service.list_rows(actor.workspace_id):
        default = " (default)" if row.is_default else ""
        click.echo(
            f"{row.id}\t{row.name}{default}\t{row.network}:{row.channel_name}\tkey={row.key}\t"
            f"keyword={row.keyword or '-'}\t{row.subscribed} subscribed\t{row.unsubscribed} unsubscribed"
        )


@newsletter.command("create-list")
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
@click.option("--channel", "channel_id", required=True, type=click.IntRange(1, 2**62), help="Channel id.")
@click.option("--name", required=True, help="The list's name.")
@click.option("--key", required=True, help="Key for VK's subscription widget and Telegram's /start KEY.")
@click.option("--keyword", default="", help="A message that is exactly this word subscribes its author.")
@click.option("--default/--no-default", "is_default", default=False, help="The channel's default list.")
@click.option("--quiet", default="22-9", show_default=True, help="Quiet hours START-END, workspace time.")
def create_list(
    slug: str, channel_id: int, name: str, key: str, keyword: str, is_default: bool, quiet: str
) -> None:
    """Create a list on a channel that can send direct messages; prints its id."""
    actor = _operator(slug)
    from rupor.newsletters import service

    start, _sep, end = quiet.partition("-")
    if not (start.isdigit() and end.isdigit()):
        click.echo("Error: --quiet takes START-END hours, e.g. 22-9.", err=True)
        sys.exit(2)
    try:
        list_id = service.create_list(
            actor,
            service.ListInput(channel_id, name, key, keyword, is_default, int(start), int(end)),
        )
    except service.NewsletterError as exc:
        _fail(exc)
    click.echo(list_id)


@newsletter.command("import")
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
@click.option("--list", "list_id", required=True, type=click.IntRange(1, 2**62), help="List id.")
@click.argument("csv_file", type=click.File("r", encoding="utf-8"))
def import_csv(slug: str, list_id: int, csv_file: IO[str]) -> None:
    """Import subscribers from CSV_FILE (address,consented_at,proof[,tags;…]); every row needs
    when and how the person agreed. Prints what was added and each refused line."""
    actor = _operator(slug)
    from rupor.newsletters import service

    try:
        result = service.import_subscribers(actor, list_id, csv_file.read())
    except service.NewsletterError as exc:
        _fail(exc)
    click.echo(f"added {result.added}")
    for line, why in result.refused:
        click.echo(f"line {line}: {why}", err=True)


@newsletter.command("create")
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
@click.option("--list", "list_id", required=True, type=click.IntRange(1, 2**62), help="List id.")
@click.option("--title", required=True, help="A title for the team.")
@click.option("--text", required=True, help="The message (the unsubscribe line is added).")
@click.option("--selling/--useful", default=False, help="Selling or useful (the 80/20 check).")
@click.option("--segment", "segment_id", type=click.IntRange(1, 2**62), default=None, help="Segment id.")
def create(slug: str, list_id: int, title: str, text: str, selling: bool, segment_id: int | None) -> None:
    """Save a newsletter draft; prints its id."""
    actor = _operator(slug)
    from rupor.newsletters import service

    try:
        nid = service.create_newsletter(
            actor,
            service.NewsletterInput(list_id, title, text, "selling" if selling else "useful", segment_id),
        )
    except service.NewsletterError as exc:
        _fail(exc)
    click.echo(nid)


@newsletter.command("send")
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
@click.option("--at", "at", default="", help="When, ISO 8601 with a zone (default: now).")
@click.argument("newsletter_id", type=click.IntRange(1, 2**62))
def send(slug: str, at: str, newsletter_id: int) -> None:
    """Schedule a newsletter (the worker sends it, outside the list's quiet hours)."""
    actor = _operator(slug)
    from rupor.core import clock
    from rupor.newsletters import service

    try:
        when = dt.datetime.fromisoformat(at) if at else clock.now()
    except ValueError:
        click.echo(
            "Error: --at takes an ISO 8601 time with a zone, e.g. 2026-06-01T10:00:00+03:00.", err=True
        )
        sys.exit(2)
    try:
        service.schedule(actor, newsletter_id, when)
    except service.NewsletterError as exc:
        _fail(exc)
    click.echo(f"scheduled {newsletter_id} at {when.isoformat()}")


@newsletter.command("stats")
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
@click.argument("newsletter_id", type=click.IntRange(1, 2**62))
def stats(slug: str, newsletter_id: int) -> None:
    """What became of each message: delivered, waiting, unreachable, failed, unconfirmed, skipped."""
    actor = _operator(slug)
    from rupor.newsletters import service

    try:
        n = service.get_newsletter(actor.workspace_id, newsletter_id)
        s = service.stats(actor.workspace_id, newsletter_id)
    except service.NewsletterError as exc:
        _fail(exc)
    click.echo(f"{n.title}\t{n.status}\t{n.purpose}")
    for name in ("recipients", "sent", "pending", "unreachable", "failed", "unconfirmed", "skipped"):
        click.echo(f"{name}\t{getattr(s, name)}")
