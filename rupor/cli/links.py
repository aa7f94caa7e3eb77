"""``rupor links``: the workspace's short links with their clicks (as a table or CSV), clicks by
network, and the UTM and short-link conventions (the operator acts as owner)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import click

from rupor.cli.channel import _fail, _operator


@click.group()
def links() -> None:
    """Tracked links: UTM conventions, Rupor's short links and their clicks (people and bots apart)."""


def _since(days: int) -> dt.datetime | None:
    from rupor.core import clock

    return clock.now() - dt.timedelta(days=days) if days else None


@links.command("list")
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
@click.option(
    "--post", "post_id", type=click.IntRange(1, 2**62), default=None, help="Only this post's links."
)
@click.option("--network", default="", help="Only links published on this network.")
@click.option("--days", type=click.IntRange(0, 366), default=0, help="Clicks of the last N days; 0: all.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (the same columns as the web export).")
def list_links(slug: str, post_id: int | None, network: str, days: int, as_csv: bool) -> None:
    """Each short link: code, network, post, clicks, people, bots, unique a day, where it leads."""
    actor = _operator(slug)
    from rupor.links import service

    rows = service.links_table(actor, post_id=post_id, network=network, since=_since(days))
    if as_csv:
        click.echo(service.links_csv(rows), nl=False)
        return
    for r in rows:
        s = r.stats
        click.echo(
            f"{r.code}\t{r.network}\t{r.post_id or '-'}\t{s.clicks}\t{s.human}\t{s.bot}\t{s.unique}\t{r.url}"
        )


@links.command("networks")
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
@click.option("--days", type=click.IntRange(0, 366), default=30, help="Clicks of the last N days; 0: all.")
def by_network(slug: str, days: int) -> None:
    """Clicks by network: clicks, people, bots, unique a day."""
    actor = _operator(slug)
    from rupor.links import service

    for network, s in sorted(service.network_stats(actor.workspace_id, since=_since(days)).items()):
        click.echo(f"{network}\t{s.clicks}\t{s.human}\t{s.bot}\t{s.unique}")


@links.command("settings")
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
@click.option("--utm/--no-utm", default=None, help="Tag links of published variants with UTM parameters.")
@click.option("--medium", default=None, help="utm_medium: social or paid_social.")
@click.option("--campaign-source", default=None, help="utm_campaign from: rubric, title or fixed.")
@click.option("--campaign", default=None, help="The fixed campaign name (and the fallback).")
@click.option(
    "--short/--no-short", default=None, help="Replace links by Rupor's short links that count clicks."
)
@click.option(
    "--short-domain", default=None, help="https://go.example.com; an empty value: Rupor's own address."
)
@click.option(
    "--newsletter-links",
    type=click.Choice(["on", "off"]),
    default=None,
    help="Tag and shorten newsletters' links (on, the default) or send them as written (off).",
)
@click.option("--newsletter-medium", default=None, help="Newsletters' utm_medium: email or newsletter.")
def settings(
    slug: str,
    utm: bool | None,
    medium: str | None,
    campaign_source: str | None,
    campaign: str | None,
    short: bool | None,
    short_domain: str | None,
    newsletter_links: str | None,
    newsletter_medium: str | None,
) -> None:
    """Show the conventions; with options, change those named first."""
    actor = _operator(slug)
    from rupor.links import service

    now = service.conventions(actor.workspace_id)
    wanted = service.Conventions(
        utm_enabled=now.utm_enabled if utm is None else utm,
        medium=now.medium if medium is None else medium,
        campaign_source=now.campaign_source if campaign_source is None else campaign_source,
        campaign=now.campaign if campaign is None else campaign,
        short_links=now.short_links if short is None else short,
        short_domain=now.short_domain if short_domain is None else short_domain,
        newsletter_links=now.newsletter_links if newsletter_links is None else newsletter_links == "on",
        newsletter_medium=now.newsletter_medium if newsletter_medium is None else newsletter_medium,
    )
    if wanted != now:
        try:
            now = service.save_conventions(actor, wanted)
        except service.LinksError as exc:
            _fail(exc)
    for key, value in dataclasses.asdict(now).items():
        click.echo(f"{key}\t{value}")
