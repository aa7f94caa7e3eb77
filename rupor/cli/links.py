"""``rupor links``: the workspace's short links with their clicks (as a table or CSV), clicks by
network, the UTM and short-link conventions, the site traffic web analytics counted for them
(``traffic``) and its sources (``source``; the operator acts as owner)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from typing import Any

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


# -- site traffic from web analytics ----------------------------------------------------------

KINDS = ("metrica", "ga4")


@links.command("traffic")
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
@click.option(
    "--source",
    type=click.Choice(KINDS),
    default=None,
    help="metrica or ga4 (default: Metrica when connected).",
)
@click.option(
    "--by",
    type=click.Choice(("post", "campaign", "network", "day")),
    default="post",
    show_default=True,
    metavar="BY",
    help="Group by post (and network), campaign, network or day.",
)
@click.option("--days", type=click.IntRange(0, 3650), default=30, show_default=True, help="0: all time.")
@click.option("--post", "post_id", type=click.IntRange(1, 2**31), default=None, help="Only this post.")
@click.option("--network", default="", help="Only this utm_source.")
@click.option("--campaign", default="", help="Only this utm_campaign.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV.")
def traffic_table(
    slug: str,
    source: str | None,
    by: str,
    days: int,
    post_id: int | None,
    network: str,
    campaign: str,
    as_csv: bool,
) -> None:
    """Sessions, users and conversions the site's analytics counted for tracked links:
    post, network, campaign, day, sessions, users, conversions (tab-separated)."""
    actor = _operator(slug)
    from rupor.links import traffic

    kind = source or traffic.default_kind(actor.workspace_id)
    if not kind:
        click.echo(
            "Error: no web analytics source is connected (see 'rupor links source connect --help').", err=True
        )
        sys.exit(1)
    first, last = traffic.period(actor.workspace_id, days)
    try:
        lines = traffic.table(
            actor,
            kind=kind,
            by=by,
            first=first,
            last=last,
            post_id=post_id,
            network=network[:100],
            campaign=campaign[:100],
        )
    except traffic.TrafficError as exc:
        _fail(exc)
    if as_csv:
        click.echo(traffic.traffic_csv(lines), nl=False)
        return
    for line in lines:
        t = line.traffic
        day = line.day.isoformat() if line.day else "-"
        click.echo(
            f"{line.post_id or '-'}\t{line.network or '-'}\t{line.campaign or '-'}\t{day}"
            f"\t{t.sessions}\t{t.users}\t{t.conversions}"
        )


@links.group("source")
def source_group() -> None:
    """The workspace's web analytics: Yandex Metrica (a counter and an OAuth token) and Google
    Analytics 4 (a property and a service account key)."""


def _show(row: Any) -> None:
    for key, value in dataclasses.asdict(row).items():
        click.echo(f"{key}\t{value if value not in (None, '') else '-'}")


@source_group.command("list")
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
def source_list(slug: str) -> None:
    """Each connected source: kind, account, status, last collection, last error."""
    actor = _operator(slug)
    from rupor.links import traffic

    for row in traffic.sources(actor):
        collected = row.collected_at.isoformat() if row.collected_at else "never"
        click.echo(
            f"{row.kind}\t{row.account_id}\t{row.status}\t{row.name or '-'}\t{collected}\t{row.last_error or '-'}"
        )


@source_group.command("connect")
@click.argument("kind", type=click.Choice(KINDS))
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
@click.option(
    "--account", "account_id", required=True, help="The Metrica counter number or the GA4 property id."
)
@click.option(
    "--secret-file",
    type=click.File("r"),
    default=None,
    help="A file with the Metrica OAuth token or the GA4 service account key (JSON); '-' reads it from "
    "standard input. Left out: the stored one is kept.",
)
@click.option("--goal", default="", help="Count this Metrica goal id or GA4 key event (default: every goal).")
@click.option("--base-url", default="", help="The service's address when not its own (a proxy, an emulator).")
@click.option("--verify/--no-verify", default=True, show_default=True, help="Ask the service first.")
def source_connect(
    kind: str, slug: str, account_id: str, secret_file: Any, goal: str, base_url: str, verify: bool
) -> None:
    """Connect (or change) Yandex Metrica or GA4; the secret is read from a file, never the command line."""
    actor = _operator(slug)
    from rupor.links import traffic

    secret = secret_file.read(traffic.MAX_SECRET + 1) if secret_file is not None else ""
    try:
        row = traffic.connect(
            actor, traffic.SourceInput(kind, account_id, secret, goal, base_url), verify=verify
        )
    except traffic.TrafficError as exc:
        _fail(exc)
    _show(row)


@source_group.command("test")
@click.argument("kind", type=click.Choice(KINDS))
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
def source_test(kind: str, slug: str) -> None:
    """Ask the service now with the stored credentials."""
    actor = _operator(slug)
    from rupor.links import traffic

    try:
        _show(traffic.check_connection(actor, kind))
    except traffic.TrafficError as exc:
        _fail(exc)


@source_group.command("collect")
@click.argument("kind", type=click.Choice(KINDS))
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
def source_collect(kind: str, slug: str) -> None:
    """Read the source now (what the worker does every six hours)."""
    actor = _operator(slug)
    from rupor.links import traffic

    try:
        done = traffic.collect_now(actor, kind)
    except traffic.TrafficError as exc:
        _fail(exc)
    click.echo(f"{done.rows} rows for {done.first} to {done.last}")


@source_group.command("disconnect")
@click.argument("kind", type=click.Choice(KINDS))
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
def source_disconnect(kind: str, slug: str) -> None:
    """Forget the source, its credentials and the traffic read from it."""
    actor = _operator(slug)
    from rupor.links import traffic

    try:
        traffic.disconnect(actor, kind)
    except traffic.TrafficError as exc:
        _fail(exc)
    click.echo(f"{kind} disconnected")
