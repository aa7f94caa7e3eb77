"""``rupor backup``: the database, the files under RUPOR_HOME and the keys, in one archive."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django.conf import settings
from django.db.migrations.loader import MigrationLoader

from rupor import __version__
from rupor.core import clock, config
from rupor.ops import archive, database
from rupor.ops.archive import ArchiveError
from rupor.ops.models import BackupRecord

#: Top-level entries of RUPOR_HOME a backup leaves out: the database (copied on its own, its
#: journal and lock files with it), the keys (in keys.json), what Rupor rebuilds or throws away
#: (collected static files, upload spool, temporary files) and archives kept beside it.
SKIPPED = frozenset({"static", "uploads", "tmp", "backups", "secret_key", "old_secret_keys"})
NAME_PATTERN = re.compile(r"^rupor-backup-\d{8}T\d{6}Z\.tar(\.enc)?$")


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    sha256: str
    encrypted: bool
    vendor: str
    files: int
    missing: tuple[str, ...]
    created_at: dt.datetime
    removed: tuple[str, ...] = ()


def _skipped(entry: Path, home: Path, output: Path) -> bool:
    name = entry.name
    if name.startswith(".") or name in SKIPPED:
        return True
    if database.vendor() == "sqlite":
        db = database.sqlite_path()
        if db.parent == home and name.startswith(db.name):
            return True  # the database, its -wal / -shm and its write lock
    return name.startswith("test.sqlite3") or entry == output


def home_files(output: Path) -> Iterator[tuple[str, Path]]:
    """``(name in the archive, path)`` of every regular file kept under RUPOR_HOME."""
    home = config.home()
    if not home.is_dir():
        return
    for entry in sorted(home.iterdir()):
        if _skipped(entry, home, output):
            continue
        if entry.is_file() and not entry.is_symlink():
            yield f"home/{entry.name}", entry
        elif entry.is_dir() and not entry.is_symlink():
            for root, dirs, files in os.walk(entry):
                dirs.sort()
                for name in sorted(files):
                    path = Path(root) / name
                    if path.is_file() and not path.is_symlink() and path != output:
                        yield f"home/{path.relative_to(home).as_posix()}", path


def _destination(output: Path, encrypted: bool, now: dt.datetime) -> Path:
    output = output.expanduser()
    if output.is_dir():
        suffix = ".tar.enc" if encrypted else ".tar"
        return (output / f"rupor-backup-{now:%Y%m%dT%H%M%SZ}{suffix}").absolute()
    if not output.parent.is_dir():
        raise ArchiveError(f"The folder {output.parent} does not exist: create it first, or name another.")
    return output.absolute()


def _leaves() -> list[list[str]]:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return sorted([app, name] for app, name in loader.graph.leaf_nodes())


def _keys() -> bytes:
    return json.dumps(
        {"secret_key": settings.SECRET_KEY, "old_secret_keys": list(config.old_secret_keys())}, indent=1
    ).encode()


def _prune(folder: Path, keep: int, just_written: Path) -> tuple[str, ...]:
    """Keep the newest ``keep`` archives named like ours in ``folder``; delete the older ones."""
    ours = sorted(
        (p for p in folder.iterdir() if NAME_PATTERN.match(p.name) and p.is_file()),
        key=lambda p: p.name,
        reverse=True,
    )
    removed = []
    for old in ours[keep:]:
        if old != just_written:
            old.unlink(missing_ok=True)
            removed.append(old.name)
    return tuple(removed)


def create(
    output: Path, *, passphrase: str | None = None, pg_bin: str | None = None, keep: int | None = None
) -> BackupResult:
    """Write the archive to ``output`` (a file, or a folder to put a dated one in) atomically,
    mode 0600, and record it. The database is copied first, as of one moment; the files after."""
    started = clock.now()
    encrypted = bool(passphrase)
    path = _destination(output, encrypted, started)
    database.check_tools(pg_bin)
    applied = database.applied_migrations()
    missing: list[str] = []
    count = 0
    with tempfile.TemporaryDirectory(prefix=".rupor-backup-", dir=path.parent) as scratch:
        dumped = database.dump(Path(scratch), pg_bin=pg_bin)
        manifest = {
            "format": archive.FORMAT,
            "format_version": archive.FORMAT_VERSION,
            "rupor_version": __version__,
            "created_at": started.isoformat(),
            "host": socket.gethostname(),
            "database": {
                "vendor": dumped.vendor,
                "file": dumped.file_name,
                "server_version": dumped.server_version,
                "tool_version": dumped.tool_version,
            },
            "migrations": {"applied": applied, "leaves": _leaves()},
            "keys": {"secret_key": True, "old_secret_keys": len(config.old_secret_keys())},
        }

        def fill(out: IO[bytes]) -> None:
            nonlocal count
            sealer = archive.Sealer(out, passphrase) if passphrase else None
            tar = archive.open_writer(sealer or out)
            writer = archive.Writer(tar)
            writer.add_file(dumped.file_name, Path(scratch) / dumped.file_name)
            writer.add_bytes("keys.json", _keys())
            for name, file in home_files(path):
                if writer.add_file(name, file):
                    count += 1
                else:
                    missing.append(name)
            writer.finish({**manifest, "home": {"files": count, "missing": missing}})
            tar.close()
            if sealer is not None:
                sealer.finish()

        archive.write_atomically(path, fill)
    size = path.stat().st_size
    digest = archive.sha256_of(path)
    BackupRecord.objects.create(
        kind=BackupRecord.Kind.BACKUP,
        started_at=started,
        finished_at=clock.now(),
        archive_name=path.name[:255],
        size=size,
        sha256=digest,
        encrypted=encrypted,
        database_vendor=dumped.vendor,
        host=socket.gethostname()[:200],
    )
    removed = _prune(path.parent, keep, path) if keep else ()
    return BackupResult(path, size, digest, encrypted, dumped.vendor, count, tuple(missing), started, removed)
