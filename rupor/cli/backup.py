"""``rupor backup`` and ``rupor restore`` (rupor/ops, docs/decisions/0035)."""

from __future__ import annotations

import os
from pathlib import Path

import click
from rich.markup import escape

PASSPHRASE_ENV = "RUPOR_BACKUP_PASSPHRASE"
MIN_PASSPHRASE = 12


def _passphrase(path: Path | None) -> str | None:
    """The passphrase from --passphrase-file, else RUPOR_BACKUP_PASSPHRASE, else none."""
    from rupor.cli.main import _fail

    if path is not None:
        try:
            value = path.read_text().strip()
        except OSError as exc:
            _fail(f"Cannot read the passphrase file {path}: {exc.strerror or exc}.")
        if not value:
            _fail(f"The passphrase file {path} is empty.")
        return value
    value = os.environ.get(PASSPHRASE_ENV, "").strip()
    return value or None


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover - the loop always returns


PG_BIN = click.option(
    "--pg-bin",
    type=click.Path(file_okay=False, exists=True),
    envvar="RUPOR_PG_BIN",
    help="Folder of pg_dump / pg_restore when they are not on the PATH (PostgreSQL only).",
)
PASSPHRASE_FILE = click.option(
    "--passphrase-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    envvar="RUPOR_BACKUP_PASSPHRASE_FILE",
    help=f"A file holding the archive's passphrase (or set {PASSPHRASE_ENV}).",
)


@click.command()
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    envvar="RUPOR_BACKUP_OUTPUT",
    help="The archive to write, or a folder to write a dated one in (rupor-backup-<UTC time>.tar).",
)
@PASSPHRASE_FILE
@click.option(
    "--keep",
    type=click.IntRange(1, 10_000),
    default=None,
    envvar="RUPOR_BACKUP_KEEP",
    help="With a folder as --output: keep this many of its newest archives, delete older ones.",
)
@PG_BIN
def backup(output: Path, passphrase_file: Path | None, keep: int | None, pg_bin: str | None) -> None:
    """Back up the database, media, state files and secret key into one archive (safe while
    Rupor runs). With a passphrase the archive is encrypted (AES-256-GCM)."""
    from rupor.cli.main import _django, _fail, console

    _django()
    from rupor.ops import service as ops

    passphrase = _passphrase(passphrase_file)
    if passphrase is not None and len(passphrase) < MIN_PASSPHRASE:
        _fail(f"The passphrase is too short: use at least {MIN_PASSPHRASE} characters.")
    if keep is not None and not output.is_dir():
        _fail("--keep needs a folder as --output (it keeps that folder's newest archives).")
    try:
        result = ops.create(output, passphrase=passphrase, pg_bin=pg_bin, keep=keep)
    except ops.ArchiveError as exc:
        _fail(exc.message)
    console.print(
        f"[green]Backed up[/green] the {result.vendor} database and {result.files} file(s) to "
        f"[bold]{escape(str(result.path))}[/bold] ({_size(result.size)}, sha256 {result.sha256[:16]}…)."
    )
    for name in result.missing:
        console.print(f"[yellow]Left out[/yellow] {escape(name)}: deleted while the backup ran.")
    for name in result.removed:
        console.print(f"Deleted the older archive {escape(name)} (--keep {keep}).")
    if result.encrypted:
        console.print(
            "The archive is encrypted: keep its passphrase apart from it; without it nothing can be restored."
        )
    else:
        console.print(
            "[bold yellow]This archive holds the secret key that decrypts every channel's credentials.[/bold yellow] "
            "Only this user can read it (mode 0600): keep every copy as safe as the server itself, or encrypt it "
            f"(--passphrase-file or {PASSPHRASE_ENV})."
        )
    click.echo(str(result.path))


@click.command()
@click.argument("archive", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database (and media) that already hold data.")
@PASSPHRASE_FILE
@PG_BIN
def restore(archive: Path, force: bool, passphrase_file: Path | None, pg_bin: str | None) -> None:
    """Restore an archive of 'rupor backup' into the configured database and RUPOR_HOME, then
    migrate. Stop Rupor first. What was due or publishing at the backup is checked with the
    networks before anything is sent again."""
    from rupor.cli.main import _django, _fail, console

    _django()
    from rupor.ops import service as ops

    try:
        result = ops.restore(
            archive, force=force, passphrase=_passphrase(passphrase_file), pg_bin=pg_bin, say=console.print
        )
    except ops.ArchiveError as exc:
        _fail(exc.message)
    console.print(
        f"[green]Restored[/green] the backup of {result.created_at:%Y-%m-%d %H:%M} UTC (Rupor {escape(result.rupor_version)}): "
        f"the {result.vendor} database and {result.files} file(s)."
    )
    if result.migrated:
        console.print(f"Migrated: {escape(', '.join(result.migrated))}.")
    if result.targets_checking:
        console.print(
            f"{result.targets_checking} publication(s) were due or publishing at the backup: the worker checks each "
            "with its network before sending it (some may end unconfirmed, for a person to decide)."
        )
    if result.targets_later:
        console.print(
            f"{result.targets_later} publication(s) are scheduled later and go out at their time. If someone "
            f"published or rescheduled any of them by hand after {result.created_at:%Y-%m-%d %H:%M} UTC, take it "
            "off the schedule before it falls due: the backup cannot know."
        )
    if result.deliveries_in_doubt:
        console.print(
            f"{result.deliveries_in_doubt} newsletter message(s) may have been sent after the backup: they are sent "
            "again only where the network drops repeats, else marked unconfirmed."
        )
    if result.unreadable_channels:
        _fail(
            f"The credentials of {len(result.unreadable_channels)} channel(s) cannot be decrypted with the configured "
            f"keys ({', '.join(result.unreadable_channels[:3])}): check RUPOR_SECRET_KEY and RUPOR_OLD_SECRET_KEYS.",
            code=3,
        )
    console.print("Start Rupor again ('rupor serve' or 'rupor worker').")


@click.group()
def release() -> None:
    """Checks before a release: the previous release's code must run on the new schema."""


@release.command("check")
@click.option(
    "--static-only", is_flag=True, help="Only read the migrations; do not migrate a scratch database."
)
def release_check(static_only: bool) -> None:
    """Check that every migration since the recorded release (rupor/migrations_release.txt) is
    expand-only: the previous release's code keeps working during a rolling upgrade."""
    from rupor.cli.main import _django, _fail, console

    _django()
    from django.db.migrations.loader import MigrationLoader

    from rupor.ops import releases

    try:
        recorded = releases.read_release()
        problems = releases.static_problems(recorded)
    except releases.ReleaseFileError as exc:
        _fail(f"The recorded release is unusable: {exc}.")
    newer = releases.new_migrations(MigrationLoader(None, ignore_no_migrations=True), recorded)
    console.print(f"Previous release {recorded.version}; {len(newer)} migration(s) since.")
    if not static_only and not problems:
        with releases.scratch_sqlite() as alias:
            problems = releases.upgrade_problems(alias, recorded)
    for problem in problems:
        console.print(f"[red]✗[/red] {escape(str(problem))}")
    if problems:
        _fail(f"{len(problems)} problem(s): the previous release's code would break on the new schema.")
    console.print(
        "[green]OK[/green]: "
        + (
            "no migration since then breaks its code."
            if static_only
            else "no migration since then breaks its code, and its models read and write the migrated schema."
        )
    )


@release.command("record")
@click.argument("version")
def release_record(version: str) -> None:
    """Print the current leaf migrations as release VERSION, for rupor/migrations_release.txt."""
    from rupor.cli.main import _django, _fail

    _django()
    from rupor.ops import releases

    try:
        click.echo(releases.format_release(version, releases.head_leaves()), nl=False)
    except releases.ReleaseFileError as exc:
        _fail(str(exc))
