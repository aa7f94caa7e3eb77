"""``rupor metrics``: collect statistics now, and rebuild the analytics summary tables."""

from __future__ import annotations

import click

from rupor.cli.channel import _operator


@click.group()
def metrics() -> None:
    """Statistics collection: run it once now, or rebuild the summary tables from stored readings."""


@metrics.command("collect")
def collect() -> None:
    """Read what is due now (posts on their 1 h / 6 h / 24 h / 3 d / 7 d / 30 d schedule, channels
    every 6 hours), as the worker does each hour; prints how many channels were read."""
    from rupor.cli.main import _django

    _django()
    from rupor.analytics import jobs
    from rupor.core import clock

    click.echo(f"{jobs.run_due(clock.now())} channels read")


@metrics.command("backfill")
@click.option(
    "--workspace", "slug", default="", help="Workspace slug (default: every workspace's active channels)."
)
def backfill(slug: str) -> None:
    """Rebuild PostStat and ChannelDay from the readings already stored (after an upgrade, or to
    repair them); safe to run again."""
    from rupor.cli.main import _django

    _django()
    workspace_id = _operator(slug).workspace_id if slug else None
    from rupor.analytics import service

    count, posts, days = service.backfill_summaries(workspace_id)
    click.echo(f"{count} channels, {posts} post rows, {days} channel days rebuilt")
