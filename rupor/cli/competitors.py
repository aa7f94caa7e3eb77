"""``rupor competitors``: watch other brands' public pages, list them with their figures, read
one now, stop watching (the operator acts as owner)."""

from __future__ import annotations

import datetime as dt

import click

from rupor.cli.channel import _fail, _operator


@click.group()
def competitors() -> None:
    """Competitors: public pages of other brands (VK communities, OK groups) read daily and compared."""


@competitors.command("add")
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
@click.option("--channel", "channel_id", type=click.IntRange(1, 2**62), help="The channel that reads it.")
@click.option("--network", default="", help="With no --channel: the network to read it on (vk, ok).")
@click.argument("handle")
def add(slug: str, channel_id: int | None, network: str, handle: str) -> None:
    """Watch a page by its address or short name; it is read at once. Prints id, name, members."""
    actor = _operator(slug)
    from rupor.analytics import competitors as service
    from rupor.core.errors import DomainError

    try:
        page = service.add_page(actor, handle, channel_id=channel_id, network=network)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"{page.id}\t{page.network}\t{page.name}\t{page.members if page.members is not None else '-'}")


@competitors.command("list")
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
@click.option(
    "--days", type=click.IntRange(1, 366), default=30, show_default=True, help="The period compared."
)
def list_pages(slug: str, days: int) -> None:
    """Watched pages with the period's figures (tab-separated: id, network, name, members, posts a
    week, Avg ERpost %, last error)."""
    actor = _operator(slug)
    from rupor.analytics import competitors as service
    from rupor.core import clock

    end = clock.now()
    table = service.compare(actor.workspace_id, end - dt.timedelta(days=days), end)
    click.echo("id\tnetwork\tname\tmembers\tposts_per_week\ter_post\tlast_error")
    for f in table.pages:
        er = "-" if f.er_post is None else f"{f.er_post:.2f}"
        members = "-" if f.members is None else str(f.members)
        click.echo(
            f"{f.page.id}\t{f.page.network}\t{f.page.name}\t{members}\t{f.posts_per_week:.1f}\t{er}\t{f.page.last_error}"
        )


@competitors.command("remove")
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
@click.argument("page_id", type=click.IntRange(1, 2**62))
def remove(slug: str, page_id: int) -> None:
    """Stop watching a page; what was collected goes with it."""
    actor = _operator(slug)
    from rupor.analytics import competitors as service
    from rupor.core.errors import DomainError

    try:
        service.remove_page(actor, page_id)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"Removed watched page {page_id}.")
