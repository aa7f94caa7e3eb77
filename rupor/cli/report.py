"""``rupor report``: a workspace's client report for a period as a PDF or XLSX file (the
operator acts as owner). The same report the web page and the API give."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

import click

from rupor.cli.channel import _fail, _operator


def _day(value: str, flag: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        click.echo(
            f"Error ({flag}): {value!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-03-31.", err=True
        )
        sys.exit(2)


@click.command("report")
@click.option("--workspace", "slug", required=True, help="Workspace slug (see 'rupor workspace list').")
@click.option(
    "--from", "start", required=True, help="First day of the period, YYYY-MM-DD (the workspace's zone)."
)
@click.option("--to", "end", required=True, help="Last day of the period, included, YYYY-MM-DD.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["pdf", "xlsx"]),
    default=None,
    help="pdf or xlsx; default: taken from the output file's extension.",
)
@click.option("--output", required=True, type=click.Path(dir_okay=False), help="The file to write.")
@click.option(
    "--language",
    type=click.Choice(["en", "ru", "ko"]),
    default="en",
    show_default=True,
    help="The report's language.",
)
@click.option(
    "--commentary", default="", help="The manager's commentary (default: the saved report's, if any)."
)
def report(
    slug: str, start: str, end: str, fmt: str | None, output: str, language: str, commentary: str
) -> None:
    """Write the workspace's report for a period: figures with their change against the period
    before, charts, top posts, commentary and logo."""
    first, last = _day(start, "--from"), _day(end, "--to")
    target = Path(output)
    suffix = target.suffix.lower().lstrip(".")
    if fmt is None:
        if suffix not in ("pdf", "xlsx"):
            click.echo(
                "Error (--format): give --format pdf or xlsx, or an --output ending in .pdf or .xlsx.",
                err=True,
            )
            sys.exit(2)
        fmt = suffix
    elif suffix in ("pdf", "xlsx") and suffix != fmt:
        click.echo(f"Error (--output): the file ends in .{suffix} but --format is {fmt}.", err=True)
        sys.exit(2)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        click.echo(f"Error (--output): the folder {str(parent)!r} does not exist.", err=True)
        sys.exit(2)
    if not os.access(parent, os.W_OK):
        click.echo(f"Error (--output): cannot write into {str(parent)!r}.", err=True)
        sys.exit(2)
    actor = _operator(slug)
    from django.utils import translation

    from rupor.analytics import reports

    with translation.override(language):
        try:
            rendered = reports.render_period(actor, first, last, fmt, commentary=commentary)
        except reports.ReportError as exc:
            _fail(exc)
    target.write_bytes(rendered.content)
    click.echo(f"Wrote {target} ({len(rendered.content):,} bytes, {fmt}, {first} \u2013 {last}).")
