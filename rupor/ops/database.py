"""The database half of a backup: a consistent copy while Rupor runs, and its restore.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies every page in one step under
one read transaction, so the copy is the database as of one moment even while the worker writes
(WAL lets the writer go on). PostgreSQL: ``pg_dump --format=custom`` (one snapshot of the whole
database) and ``pg_restore``; the client tools must be installed, and ``pg_dump`` at least as new
as the server.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.apps import apps
from django.db import connection, connections, transaction
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from rupor.ops.archive import ArchiveError

SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"


class DatabaseError(ArchiveError):
    """The database cannot be copied or restored; the message says why and what to do."""


@dataclass(frozen=True)
class Dumped:
    vendor: str
    file_name: str
    server_version: str
    tool_version: str = ""


def vendor() -> str:
    return str(connection.vendor)


def sqlite_path() -> Path:
    return Path(str(connection.settings_dict["NAME"]))


def applied_migrations() -> list[list[str]]:
    """``[app, name]`` of every migration recorded as applied, sorted."""
    recorder = MigrationRecorder(connection)
    if not recorder.has_table():
        return []
    return sorted([app, name] for app, name in recorder.applied_migrations())


def known_migrations() -> set[tuple[str, str]]:
    """Every migration this code has (replaced ones included, as a squash keeps their names)."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    known = set(loader.disk_migrations)
    for migration in loader.disk_migrations.values():
        known.update((str(app), str(name)) for app, name in migration.replaces)
    return known


# -- SQLite ---------------------------------------------------------------------------------------


def _sqlite_dump(dest: Path) -> Dumped:
    source = sqlite_path()
    if not source.exists():
        raise DatabaseError(f"The database {source} does not exist: there is nothing to back up.")
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(dest)
        try:
            # pages=-1: every page in one step, under one read transaction: one consistent moment.
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            status = dst.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            dst.close()
        version = str(src.execute("select sqlite_version()").fetchone()[0])
    finally:
        src.close()
    if status != "ok":
        raise DatabaseError(
            f"The copy of the database fails SQLite's check ({status}); the original may be damaged."
        )
    return Dumped("sqlite", SQLITE_FILE, version)


def _sqlite_restore(src: Path) -> None:
    check = sqlite3.connect(src)
    try:
        status = check.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(f"The archive's database is not a readable SQLite database ({exc}).") from exc
    finally:
        check.close()
    if status != "ok":
        raise DatabaseError(f"The archive's database fails SQLite's check ({status}).")
    target = sqlite_path()
    connections.close_all()
    target.parent.mkdir(parents=True, exist_ok=True)
    # The old database's write-ahead log must not be replayed onto the restored file.
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    os.chmod(src, 0o600)
    os.replace(src, target)


# -- PostgreSQL -----------------------------------------------------------------------------------


def _pg_env() -> dict[str, str]:
    """The connection as libpq environment variables: no password on a command line."""
    s: dict[str, Any] = connection.settings_dict
    env = dict(os.environ)
    for key, name in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD")):
        if s.get(key):
            env[name] = str(s[key])
    options = s.get("OPTIONS") or {}
    for key in ("sslmode", "sslrootcert", "sslcert", "sslkey", "passfile", "service"):
        if options.get(key):
            env[f"PG{key.upper()}" if key != "passfile" else "PGPASSFILE"] = str(options[key])
    return env


def _tool(name: str, pg_bin: str | None) -> str:
    found = shutil.which(name, path=pg_bin) if pg_bin else shutil.which(name)
    if found is None:
        where = f"in {pg_bin}" if pg_bin else "on the PATH"
        major = server_major() if vendor() == "postgresql" else 0
        package = f"postgresql-client-{major}" if major else "postgresql-client"
        raise DatabaseError(
            f"{name} was not found {where}. Backing up and restoring PostgreSQL needs the PostgreSQL client "
            f"tools of the server's major version (Debian/Ubuntu: apt install {package}); "
            "point --pg-bin (RUPOR_PG_BIN) at their folder if they are installed elsewhere."
        )
    return found


def _tool_version(path: str) -> tuple[int, str]:
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False).stdout.strip()  # noqa: S603 - a resolved path of an installed tool, no shell
    match = re.search(r"(\d+)(?:\.(\d+))?", out)
    if match is None:
        raise DatabaseError(f"Cannot tell the version of {path} (it said {out!r}).")
    return int(match.group(1)), out


def server_major() -> int:
    connection.ensure_connection()
    return int(getattr(connection, "pg_version", 0)) // 10000


def _server_version() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return str(cursor.fetchone()[0])


def _run(args: list[str], what: str) -> None:
    done = subprocess.run(args, env=_pg_env(), capture_output=True, text=True, check=False)  # noqa: S603 - a resolved path of an installed tool, no shell
    if done.returncode != 0:
        detail = " ".join(done.stderr.strip().splitlines()[-3:]) or f"exit status {done.returncode}"
        raise DatabaseError(f"{what} failed: {detail}")


def _pg_dump(dest: Path, pg_bin: str | None) -> Dumped:
    tool = _tool("pg_dump", pg_bin)
    major, version = _tool_version(tool)
    server = server_major()
    if major < server:
        raise DatabaseError(
            f"pg_dump {major} cannot dump this PostgreSQL {server} server: install the PostgreSQL {server} "
            f"client tools (Debian/Ubuntu: apt install postgresql-client-{server}) and point --pg-bin at them."
        )
    name = str(connection.settings_dict["NAME"])
    _run([tool, "--format=custom", "--no-password", f"--file={dest}", f"--dbname={name}"], "pg_dump")
    os.chmod(dest, 0o600)
    return Dumped("postgresql", PG_FILE, _server_version(), version)


def restore_tool(dumped_with: str, pg_bin: str | None) -> str:
    """pg_restore, checked to read what ``dumped_with`` (pg_dump's ``--version``) wrote."""
    tool = _tool("pg_restore", pg_bin)
    major, _version = _tool_version(tool)
    match = re.search(r"(\d+)", dumped_with)  # "pg_dump (PostgreSQL) 15.20 ...": the major first
    if match and int(match.group(1)) > major:
        raise DatabaseError(
            f"The archive was written by {dumped_with}; pg_restore {major} cannot read it. Install the "
            f"PostgreSQL {match.group(1)} client tools and point --pg-bin at them."
        )
    return tool


def _pg_restore(src: Path, tool: str) -> None:
    name = str(connection.settings_dict["NAME"])
    connections.close_all()
    _run(
        [
            tool,
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            "--no-password",
            f"--dbname={name}",
            str(src),
        ],
        "pg_restore",
    )


def _pg_wipe() -> None:
    """Drop every table, view and sequence of the connection's schema (restore --force)."""
    quote = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT viewname FROM pg_views WHERE schemaname = current_schema()")
        views = [quote(r[0]) for r in cursor.fetchall()]
        if views:
            cursor.execute(f"DROP VIEW IF EXISTS {', '.join(views)} CASCADE")
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        tables = [quote(r[0]) for r in cursor.fetchall()]
        if tables:
            cursor.execute(f"DROP TABLE IF EXISTS {', '.join(tables)} CASCADE")
        cursor.execute(
            "SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = current_schema()"
        )
        sequences = [quote(r[0]) for r in cursor.fetchall()]
        if sequences:
            cursor.execute(f"DROP SEQUENCE IF EXISTS {', '.join(sequences)} CASCADE")


# -- either ---------------------------------------------------------------------------------------


def check_tools(pg_bin: str | None, *, restoring: bool = False) -> None:
    """Refuse early (before a long copy) when PostgreSQL's client tools are missing."""
    if vendor() == "postgresql":
        _tool("pg_restore" if restoring else "pg_dump", pg_bin)


def dump(dest_folder: Path, *, pg_bin: str | None = None) -> Dumped:
    """A consistent copy of the whole database in ``dest_folder`` (its file named by the result)."""
    if vendor() == "sqlite":
        return _sqlite_dump(dest_folder / SQLITE_FILE)
    if vendor() == "postgresql":
        return _pg_dump(dest_folder / PG_FILE, pg_bin)
    raise DatabaseError(f"Rupor cannot back up a {vendor()} database (SQLite and PostgreSQL only).")


def tables() -> list[str]:
    with connection.cursor() as cursor:
        return list(connection.introspection.table_names(cursor))


def holds_data() -> bool:
    """Whether any of Rupor's own tables has a row (a freshly migrated database has none)."""
    present = set(tables())
    for model in apps.get_models():
        if not model.__module__.startswith("rupor.") or model._meta.db_table not in present:
            continue
        if model._default_manager.using(connection.alias).exists():
            return True
    return False


def restore(src: Path, dumped: dict[str, Any], *, pg_bin: str | None = None) -> None:
    """Replace the database with the archive's copy (the caller has checked it may)."""
    if vendor() == "sqlite":
        _sqlite_restore(src)
    else:
        tool = restore_tool(str(dumped.get("tool_version", "")), pg_bin)
        _pg_wipe()
        _pg_restore(src, tool)
    connections.close_all()
