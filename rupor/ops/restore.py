"""``rupor restore``: an archive of ``rupor backup`` back into the configured database and
RUPOR_HOME, checked before anything is touched, then migrated and reconciled (decision 0035)."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.db import connections

from rupor.channels import service as channels
from rupor.core import clock, config
from rupor.newsletters import service as newsletters
from rupor.ops import archive, database
from rupor.ops.archive import ArchiveError
from rupor.ops.models import BackupRecord
from rupor.publishing import service as publishing


@dataclass(frozen=True)
class RestoreResult:
    created_at: dt.datetime
    rupor_version: str
    vendor: str
    files: int
    migrated: tuple[str, ...]  # migrations run after the restore (the archive was older)
    targets_checking: int  # publications checked with the network before any send
    targets_later: int  # scheduled after the restore: sent at their time
    deliveries_in_doubt: int  # newsletter messages judged like an interrupted send
    unreadable_channels: tuple[str, ...]  # channels whose credentials the keys do not open


def _preflight(force: bool, pg_bin: str | None) -> None:
    """What can be refused before the archive is even read."""
    database.check_tools(pg_bin, restoring=True)
    present = set(database.tables())
    if "publishing_workerheartbeat" in present:
        alive = publishing.live_workers()
        if alive:
            raise ArchiveError(
                f"Rupor is running on this database (worker {alive[0]} checked in within the last minute). "
                "Stop 'rupor serve' and every 'rupor worker' first, then restore."
            )
    if force:
        return
    if database.holds_data():
        raise ArchiveError(
            "The database already holds data. Restore into an empty database (a new one, or a new RUPOR_HOME "
            "for SQLite), or add --force to replace everything in it with the archive."
        )
    media = config.home() / "media"
    if media.is_dir() and any(p.is_file() for p in media.rglob("*")):
        raise ArchiveError(
            f"{media} already holds files. Restore into an empty RUPOR_HOME, or add --force to replace them."
        )


def _check(manifest: dict[str, Any], keys: dict[str, Any]) -> None:
    """The archive fits this installation: same database vendor, no migration unknown here, and
    the keys in force after the restore can decrypt what it holds."""
    held = str(manifest.get("database", {}).get("vendor", ""))
    here = database.vendor()
    if held != here:
        names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
        raise ArchiveError(
            f"The archive holds a {names.get(held, held)} database, but this Rupor is configured for "
            f"{names.get(here, here)}. Restore it with the same kind of database "
            f"({'unset DATABASE_URL' if held == 'sqlite' else 'set DATABASE_URL to an empty PostgreSQL database'})."
        )
    applied = {tuple(m) for m in manifest.get("migrations", {}).get("applied", [])}
    unknown = sorted(f"{a}.{n}" for a, n in applied - database.known_migrations())
    if unknown:
        raise ArchiveError(
            f"The archive comes from a newer Rupor ({manifest.get('rupor_version', '?')}): this one does not "
            f"know its migrations {', '.join(unknown[:3])}. Install that version or a newer one, then restore."
        )
    secret = str(keys.get("secret_key", ""))
    if not secret:
        raise ArchiveError("The archive holds no secret key: channel credentials could not be decrypted.")
    configured = os.environ.get("RUPOR_SECRET_KEY", "").strip()
    if configured and configured != secret and secret not in config.old_secret_keys():
        raise ArchiveError(
            "RUPOR_SECRET_KEY is set to another key than the one the backed-up Rupor used, so the restored "
            "credentials could not be decrypted. Unset RUPOR_SECRET_KEY (Rupor then uses the key the restore "
            "writes to RUPOR_HOME/secret_key), set it to the old key, or add the old key to RUPOR_OLD_SECRET_KEYS."
        )


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def _install_keys(home: Path, keys: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    """Write the archive's keys under RUPOR_HOME; return the keys in force from now on."""
    secret = str(keys["secret_key"])
    old = tuple(str(k) for k in keys.get("old_secret_keys", []) if str(k).strip())
    _write_private(home / "secret_key", secret + "\n")
    if old:
        _write_private(home / "old_secret_keys", "\n".join(old) + "\n")
    else:
        (home / "old_secret_keys").unlink(missing_ok=True)
    current = os.environ.get("RUPOR_SECRET_KEY", "").strip() or secret
    others = (*config.old_secret_keys(), *old, secret)
    return current, tuple(dict.fromkeys(k for k in others if k != current))


def _install_files(staged_home: Path, home: Path) -> int:
    """Put each top-level folder and file of the archive's home in place of the one here (moved
    aside first, removed once the new one is in place). The media folder is always replaced."""
    staged_home.mkdir(exist_ok=True, mode=0o700)
    (staged_home / "media").mkdir(exist_ok=True, mode=0o700)
    count = sum(1 for p in staged_home.rglob("*") if p.is_file())
    for entry in sorted(staged_home.iterdir()):
        dest = home / entry.name
        aside = home / f".replaced-{entry.name}-{secrets.token_hex(4)}"
        if dest.exists() or dest.is_symlink():
            os.replace(dest, aside)
        os.replace(entry, dest)
        if aside.is_dir() and not aside.is_symlink():
            shutil.rmtree(aside, ignore_errors=True)
        elif aside.exists() or aside.is_symlink():
            aside.unlink()
    return count


def restore(
    source: Path,
    *,
    force: bool = False,
    passphrase: str | None = None,
    pg_bin: str | None = None,
    say: Callable[[str], None] = lambda _text: None,
) -> RestoreResult:
    """Restore ``source`` into the configured database and RUPOR_HOME.

    Refused, with nothing changed, when the archive is damaged, altered, of another database
    vendor or of a newer Rupor, when Rupor is running, or (without ``force``) when the database or
    the media folder already holds data. Afterwards pending migrations run, and what was due or
    in flight at the backup is reconciled instead of sent again.
    """
    source = source.expanduser()
    if not source.is_file():
        raise ArchiveError(f"There is no archive at {source}.")
    _preflight(force, pg_bin)
    home = config.home()
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    staging = home / f".restore-{secrets.token_hex(6)}"
    staging.mkdir(mode=0o700)
    try:
        say("Reading and checking the archive…")
        extracted = archive.read(source, staging, passphrase=passphrase)
        manifest = extracted.manifest
        try:
            keys = json.loads(extracted.path("keys.json").read_text())
        except (OSError, ValueError) as exc:
            raise ArchiveError(
                "The archive's keys.json is missing or unreadable: the archive is damaged."
            ) from exc
        _check(manifest, keys)
        created_at = dt.datetime.fromisoformat(str(manifest["created_at"]))
        db_file = str(manifest["database"]["file"])
        say(f"Restoring the {database.vendor()} database…")
        database.restore(extracted.path(db_file), manifest["database"], pg_bin=pg_bin)
        files = _install_files(staging / "home", home)
        current, old = _install_keys(home, keys)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    # From here on this process uses the keys the next start will use.
    settings.SECRET_KEY = current
    settings.RUPOR_OLD_SECRET_KEYS = old
    connections.close_all()
    before = set(map(tuple, database.applied_migrations()))
    say("Running pending migrations…")
    call_command("migrate", interactive=False, verbosity=0)
    migrated = tuple(sorted(f"{a}.{n}" for a, n in set(map(tuple, database.applied_migrations())) - before))
    targets = publishing.reconcile_after_restore(created_at)
    deliveries = newsletters.reconcile_after_restore()
    unreadable = tuple(channels.unreadable_credentials())
    BackupRecord.objects.create(
        kind=BackupRecord.Kind.RESTORE,
        started_at=clock.now(),
        finished_at=clock.now(),
        archive_name=source.name[:255],
        size=source.stat().st_size,
        encrypted=archive.is_encrypted(source),
        database_vendor=database.vendor(),
        archive_created_at=created_at,
        host=socket.gethostname()[:200],
    )
    return RestoreResult(
        created_at=created_at,
        rupor_version=str(manifest.get("rupor_version", "")),
        vendor=database.vendor(),
        files=files,
        migrated=migrated,
        targets_checking=targets.checking,
        targets_later=targets.scheduled_later,
        deliveries_in_doubt=deliveries,
        unreadable_channels=unreadable,
    )
