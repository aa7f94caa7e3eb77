"""``rupor backup`` and ``rupor restore`` as an operator meets them: every refusal is a sentence
and a non-zero exit, and a refused restore changes nothing."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import stat
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUPOR = str(Path(sys.executable).parent / "rupor")
KEY = os.environ["RUPOR_SECRET_KEY"]


def rupor(home: Path, *args: str, **env: str | None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "RUPOR_SECRET_KEY")}
    environment.update(RUPOR_HOME=str(home), COLUMNS="400")
    for key, value in env.items():
        if value is None:
            environment.pop(key, None)
        else:
            environment[key] = value
    return subprocess.run(
        [RUPOR, *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300
    )


def ok(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert done.returncode == 0, done.stderr
    return done


def tables(home: Path) -> set[str]:
    path = home / "rupor.sqlite3"
    if not path.exists():
        return set()
    with sqlite3.connect(path) as db:
        return {r[0] for r in db.execute("select name from sqlite_master where type = 'table'")}


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    """A small instance (a user, a workspace, a media file) backed up once for the module."""
    home = tmp_path_factory.mktemp("source")
    ok(rupor(home, "migrate", RUPOR_SECRET_KEY=KEY))
    ok(
        rupor(
            home,
            "createuser",
            "owner@example.com",
            "--password",
            "correct horse battery",
            RUPOR_SECRET_KEY=KEY,
        )
    )
    ok(rupor(home, "workspace", "create", "Acme", "--owner", "owner@example.com", RUPOR_SECRET_KEY=KEY))
    (home / "media" / "media").mkdir(parents=True)
    (home / "media" / "media" / "a.jpg").write_bytes(b"\xff\xd8 picture")
    out = tmp_path_factory.mktemp("archives")
    done = ok(rupor(home, "backup", "--output", str(out), RUPOR_SECRET_KEY=KEY))
    assert "holds the secret key" in done.stderr
    path = Path(done.stdout.strip())
    assert path.parent == out and stat.S_IMODE(path.stat().st_mode) == 0o600
    return path


def rewritten(source: Path, dest: Path, change) -> Path:
    """A copy of the archive whose manifest ``change`` edited (its file checksums still hold)."""
    with tarfile.open(source) as src, tarfile.open(dest, "w") as out:
        for member in src.getmembers():
            handle = src.extractfile(member)
            assert handle is not None
            data = handle.read()
            if member.name.endswith("/manifest.json"):
                manifest = json.loads(data)
                change(manifest)
                data = json.dumps(manifest).encode()
            member.size = len(data)
            out.addfile(member, io.BytesIO(data))
    return dest


def test_a_restore_brings_back_data_media_and_key_and_refuses_to_overwrite(archive, tmp_path):
    home = tmp_path / "restored"
    done = ok(rupor(home, "restore", str(archive)))
    assert "Restored the backup of" in done.stderr
    assert (home / "secret_key").read_text().strip() == KEY
    assert stat.S_IMODE((home / "secret_key").stat().st_mode) == 0o600
    assert (home / "media" / "media" / "a.jpg").read_bytes() == b"\xff\xd8 picture"
    assert ok(rupor(home, "workspace", "list")).stdout.startswith("acme\tAcme")

    ok(rupor(home, "workspace", "create", "Other", "--owner", "owner@example.com"))
    again = rupor(home, "restore", str(archive))
    assert again.returncode == 1
    assert "already holds data" in again.stderr and "--force" in again.stderr
    assert "other" in ok(rupor(home, "workspace", "list")).stdout, "a refused restore changes nothing"

    ok(rupor(home, "restore", str(archive), "--force"))
    assert ok(rupor(home, "workspace", "list")).stdout.split("\t")[0] == "acme"
    assert "other" not in ok(rupor(home, "workspace", "list")).stdout


def test_a_running_rupor_is_not_restored_over(archive, tmp_path):
    home = tmp_path / "busy"
    ok(rupor(home, "restore", str(archive)))
    with sqlite3.connect(home / "rupor.sqlite3") as db:
        db.execute(
            "insert into publishing_workerheartbeat (worker_id, hostname, pid, started_at, seen_at, in_flight, done) "
            "values ('w', 'host', 42, datetime('now'), strftime('%Y-%m-%d %H:%M:%f', 'now'), 0, 0)"
        )
    done = rupor(home, "restore", str(archive), "--force")
    assert done.returncode == 1 and "Rupor is running" in done.stderr and "host:42" in done.stderr


def test_a_damaged_archive_is_refused_and_nothing_is_touched(archive, tmp_path):
    body = bytearray(archive.read_bytes())
    body[len(body) // 3] ^= 0xFF  # inside the database copy
    broken = tmp_path / "broken.tar"
    broken.write_bytes(bytes(body))
    home = tmp_path / "target"
    done = rupor(home, "restore", str(broken))
    assert done.returncode == 1 and "damaged" in done.stderr
    assert "publishing_publicationtarget" not in tables(home)
    assert not [p for p in home.iterdir() if p.name.startswith(".restore-")], "the staging folder is removed"
    missing = rupor(home, "restore", str(tmp_path / "nope.tar"))
    assert missing.returncode == 1 and "There is no archive" in missing.stderr


def test_another_vendor_a_newer_rupor_or_another_key_is_refused(archive, tmp_path):
    home = tmp_path / "target"
    pg = rewritten(archive, tmp_path / "pg.tar", lambda m: m["database"].update(vendor="postgresql"))
    done = rupor(home, "restore", str(pg))
    assert done.returncode == 1 and "holds a PostgreSQL database" in done.stderr and "SQLite" in done.stderr

    def future(manifest):
        manifest["migrations"]["applied"].append(["accounts", "9999_future"])
        manifest["rupor_version"] = "9.0.0"

    newer = rewritten(archive, tmp_path / "newer.tar", future)
    done = rupor(home, "restore", str(newer))
    assert (
        done.returncode == 1
        and "newer Rupor (9.0.0)" in done.stderr
        and "accounts.9999_future" in done.stderr
    )

    other_key = rupor(home, "restore", str(archive), RUPOR_SECRET_KEY="another-key-" + "x" * 40)
    assert other_key.returncode == 1 and "RUPOR_SECRET_KEY is set to another key" in other_key.stderr
    assert "publishing_publicationtarget" not in tables(home)
    # The old key listed as an old one is enough: the data stays readable.
    ok(
        rupor(
            home,
            "restore",
            str(archive),
            RUPOR_SECRET_KEY="another-key-" + "x" * 40,
            RUPOR_OLD_SECRET_KEYS=KEY,
        )
    )


def test_an_encrypted_archive_and_the_operators_mistakes(archive, tmp_path):
    source = archive.parent.parent / "source"
    if not source.exists():  # tmp_path_factory numbers its folders
        source = next(p for p in archive.parent.parent.iterdir() if p.name.startswith("source"))
    short = rupor(
        source, "backup", "--output", str(tmp_path), RUPOR_SECRET_KEY=KEY, RUPOR_BACKUP_PASSPHRASE="short"
    )
    assert short.returncode == 1 and "too short" in short.stderr
    keep = rupor(source, "backup", "--output", str(tmp_path / "x.tar"), "--keep", "2", RUPOR_SECRET_KEY=KEY)
    assert keep.returncode == 1 and "--keep needs a folder" in keep.stderr
    nowhere = rupor(source, "backup", "--output", str(tmp_path / "no" / "x.tar"), RUPOR_SECRET_KEY=KEY)
    assert nowhere.returncode == 1 and "does not exist" in nowhere.stderr

    passphrase = tmp_path / "passphrase"
    passphrase.write_text("a passphrase long enough\n")
    written = []
    for _ in range(3):
        done = ok(
            rupor(
                source,
                "backup",
                "-o",
                str(tmp_path),
                "--keep",
                "2",
                "--passphrase-file",
                str(passphrase),
                RUPOR_SECRET_KEY=KEY,
            )
        )
        written.append(Path(done.stdout.strip()))
        assert "encrypted" in done.stderr
    kept = sorted(p.name for p in tmp_path.glob("rupor-backup-*"))
    assert len(kept) <= 2 and written[-1].name in kept
    home = tmp_path / "target"
    refused = rupor(home, "restore", str(written[-1]))
    assert refused.returncode == 1 and "encrypted" in refused.stderr
    wrong = rupor(home, "restore", str(written[-1]), RUPOR_BACKUP_PASSPHRASE="not the passphrase at all")
    assert wrong.returncode == 1 and "passphrase does not open" in wrong.stderr
    ok(rupor(home, "restore", str(written[-1]), "--passphrase-file", str(passphrase)))
    assert ok(rupor(home, "workspace", "list")).stdout.startswith("acme")


@pytest.mark.skipif(not os.environ.get("DATABASE_URL"), reason="PostgreSQL's client tools: with DATABASE_URL")
def test_postgresql_client_tools_missing_or_too_old(tmp_path):
    url = os.environ["DATABASE_URL"]
    empty = tmp_path / "bin"
    empty.mkdir()
    done = rupor(
        tmp_path,
        "backup",
        "-o",
        str(tmp_path),
        "--pg-bin",
        str(empty),
        DATABASE_URL=url,
        RUPOR_SECRET_KEY=KEY,
    )
    assert done.returncode == 1 and f"pg_dump was not found in {empty}" in done.stderr
    assert "postgresql-client-" in done.stderr
    old = empty / "pg_dump"
    old.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n")
    old.chmod(0o755)
    done = rupor(
        tmp_path,
        "backup",
        "-o",
        str(tmp_path),
        "--pg-bin",
        str(empty),
        DATABASE_URL=url,
        RUPOR_SECRET_KEY=KEY,
    )
    assert done.returncode == 1 and "pg_dump 9 cannot dump this PostgreSQL" in done.stderr
    assert not list(tmp_path.glob("rupor-backup-*")), "no archive is left behind"
