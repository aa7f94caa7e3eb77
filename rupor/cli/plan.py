"""``rupor plan import|export``: the content plan as CSV or XLSX (format: docs/plan-import-format.md).

Exit codes: 0 done; 1 the file has bad rows (each named with its row number and reason, nothing
created), cannot be read, or is beyond the limits (size, rows, columns; see the format document);
2 usage errors (unknown workspace, bad option).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from rupor.accounts.models import Workspace
    from rupor.accounts.service import Actor

out = Console()
err = Console(stderr=True)


def _workspace_actor(slug: str) -> tuple[Workspace, Actor]:
    from rupor.cli.main import _django

    _django()
    from rupor.accounts.models import Workspace
    from rupor.accounts.roles import Role
    from rupor.accounts.service import Actor

    workspace = Workspace.objects.filter(slug=slug).first()
    if workspace is None:
        err.print(f"[red]Error:[/red] no workspace with the slug {slug!r} (see `rupor workspace list`).")
        sys.exit(2)
    # The operator at the console acts with the owner's rights, as for `rupor apikey create`.
    return workspace, Actor(workspace.pk, Role.OWNER, label="operator (CLI)")


@click.group()
def plan() -> None:
    """Import and export the content plan (CSV or XLSX)."""


@plan.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--workspace", "slug", required=True, envvar="RUPOR_WORKSPACE", help="Workspace slug.")
@click.option(
    "--dry-run", is_flag=True, help="Check the file and show what would be created; create nothing."
)
def import_command(file: Path, slug: str, dry_run: bool) -> None:
    """Import posts from FILE (.csv or .xlsx). Nothing is created when any row is bad."""
    workspace, actor = _workspace_actor(slug)
    from rupor.planning import plan_io
    from rupor.planning.service import PlanningError

    if file.stat().st_size > plan_io.MAX_FILE_BYTES:  # refused before it is read
        err.print(
            f"[red]Error:[/red] {file.name}: the file is larger than {plan_io.MAX_FILE_BYTES // (1024 * 1024)} MB."
        )
        sys.exit(1)
    try:
        report = plan_io.import_plan(actor, file.name, file.read_bytes(), dry_run=dry_run)
    except PlanningError as exc:
        err.print(f"[red]Error:[/red] {file.name}: {exc.message}")
        sys.exit(1)
    if not report.ok:
        for problem in report.problems:
            err.print(f"[red]{problem}[/red]", markup=True, highlight=False)
        rows = report.bad_rows
        err.print(f"{len(rows)} bad row(s) ({', '.join(map(str, rows))}); nothing was created.")
        sys.exit(1)
    table = Table(
        title=f"{'Would create' if dry_run else 'Created'} {len(report.posts)} post(s) in {workspace.name} ({workspace.timezone})"
    )
    for column in ("row", "when (local)", "status", "channels", "rubric", "text"):
        table.add_column(column)
    for post in report.posts:
        table.add_row(
            str(post.row),
            post.local_time.strftime("%Y-%m-%d %H:%M") if post.local_time else "idea (no date)",
            post.status,
            ", ".join(c.name for c in post.channels),
            post.rubric,
            (post.title or post.text)[:60],
        )
    out.print(table)
    if not dry_run:
        out.print(f"Created post ids: {', '.join(map(str, report.created_ids))}")


@plan.command("export")
@click.option("--workspace", "slug", required=True, envvar="RUPOR_WORKSPACE", help="Workspace slug.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "xlsx"]),
    default="csv",
    show_default=True,
    envvar="RUPOR_EXPORT_FORMAT",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    envvar="RUPOR_EXPORT_OUTPUT",
    help="File to write (default: standard output).",
)
def export_command(slug: str, fmt: str, output: Path | None) -> None:
    """Export the plan in the import format."""
    workspace, _actor = _workspace_actor(slug)
    from rupor.planning import plan_io

    data = plan_io.export_plan(workspace.pk, fmt)
    if output is None:
        if fmt == "xlsx" and sys.stdout.isatty():
            err.print("[red]Error:[/red] an XLSX file is binary; pass --output FILE.")
            sys.exit(2)
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    output.write_bytes(data)
    err.print(f"Wrote {output} ({len(data)} bytes).")
