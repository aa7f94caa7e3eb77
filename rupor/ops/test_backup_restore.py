"""Backup while the worker publishes, restore into a fresh database and RUPOR_HOME, run the
restored worker: nothing lost, nothing published twice (on SQLite, and on PostgreSQL when the
tests run with DATABASE_URL).

The timeline: worker processes publish the first posts against the emulators; the second posts
are moved to fall due a few seconds later, and the backup is taken (in this process, by the code
``rupor backup`` runs) before they do; the workers publish them after the backup, as the
backed-up instance would have before a disaster. ``rupor restore`` (a process of its own, with
no RUPOR_SECRET_KEY: the key comes from the archive) fills a new database and home, and the
restored worker must settle the second posts without a second copy on any network: VK by its
``guid``, OK by a lookup, Telegram (no key, no lookup) left unconfirmed for a person.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.db import connection

from rupor.channels.models import Channel
from rupor.core import clock
from rupor.inbox.models import InboxItem, ItemKind
from rupor.networks.ok import testing as ok
from rupor.networks.telegram import testing as telegram
from rupor.networks.vk import testing as vk
from rupor.ops import service as ops
from rupor.ops.models import BackupRecord
from rupor.planning.models import Media, Post, PostVariant, VariantMedia
from rupor.publishing import testing as pt
from rupor.publishing.models import PublicationTarget, TargetState

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
NETWORKS = {"vk": vk, "telegram": telegram, "ok": ok}
PER_NETWORK = 3


def _env(**changes: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(RUPOR_ALLOW_PRIVATE_URLS="127.0.0.1", RUPOR_LOG_LEVEL="ERROR", RUPOR_LEASE_S="5")
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def _worker(env: dict[str, str], *args: str, once: bool = False) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "rupor.publishing",
        "--rate-limits",
        "off",
        "--reconcile-delay",
        "0.2",
        *args,
    ]
    log = Path(env.get("RUPOR_HOME", "/tmp")) / "backup-test-worker.log"
    return subprocess.Popen(
        [*command, "--once"] if once else command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )


def _wait(condition, what: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.2)


#: Run in the restored environment (its own process, keys from the restored RUPOR_HOME): what
#: the restored database holds, as JSON.
PROBE = """
import hashlib, json, sys
import django
django.setup()
from rupor.channels import service as channels
from rupor.channels.models import Channel
from rupor.inbox.models import InboxItem
from rupor.planning.models import Media, Post, PostVariant
from rupor.publishing.models import PublicationTarget, TargetEvent
slug, media_id = sys.argv[1], int(sys.argv[2])
media = Media.objects.get(pk=media_id)
with media.file.open("rb") as handle:
    digest = hashlib.sha256(handle.read()).hexdigest()
print(json.dumps({
    "counts": {
        "posts": Post.objects.filter(workspace__slug=slug).count(),
        "variants": PostVariant.objects.filter(post__workspace__slug=slug).count(),
        "channels": Channel.objects.filter(workspace__slug=slug).count(),
        "inbox": InboxItem.objects.filter(workspace__slug=slug).count(),
        "media": Media.objects.filter(workspace__slug=slug).count(),
    },
    "media_sha256": digest,
    "unreadable": channels.unreadable_credentials(),
    "credentials": sorted(len(c.get_credentials()) > 0 for c in Channel.objects.filter(workspace__slug=slug)),
    "states": {str(t.pk): [t.state, t.error_kind] for t in PublicationTarget.objects.all()},
    "restore_events": TargetEvent.objects.filter(actor="restore").count(),
}))
"""


def _probe(env: dict[str, str], slug: str, media_id: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, slug, str(media_id)],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "rupor.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@contextmanager
def _restored_database(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of a fresh, empty database and RUPOR_HOME of the same vendor, without
    RUPOR_SECRET_KEY (the restored key file must do)."""
    home = tmp_path / "restored-home"
    if connection.vendor != "postgresql":
        yield _env(RUPOR_HOME=str(home), DATABASE_URL=None, RUPOR_SECRET_KEY=None)
        return
    import psycopg

    name = f"rupor_backup_rt_{uuid.uuid4().hex[:8]}"
    s = connection.settings_dict
    params = {
        "host": s["HOST"] or "127.0.0.1",
        "port": s["PORT"] or 5432,
        "user": s["USER"],
        "password": s["PASSWORD"],
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgres://{s['USER']}:{s['PASSWORD']}@{params['host']}:{params['port']}/{name}"
    try:
        yield _env(RUPOR_HOME=str(home), DATABASE_URL=url, RUPOR_SECRET_KEY=None)
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _picture(workspace_id: int) -> Media:
    data = hashlib.sha256(b"picture").digest() * 64
    media = Media(
        workspace_id=workspace_id,
        kind="photo",
        content_type="image/jpeg",
        size=len(data),
        width=10,
        height=10,
        sha256=hashlib.sha256(data).hexdigest(),
        head=data[:256],
        original_name="kept.jpg",
    )
    media.file.save("kept.jpg", ContentFile(data), save=False)
    media.save()
    return media


def test_backup_while_publishing_then_restore_publishes_nothing_twice(tmp_path, make_workspace):
    emulators = {n: m.start(rate_limits=False, seed=3) for n, m in NETWORKS.items()}
    workers: list[subprocess.Popen[bytes]] = []
    try:
        ws = make_workspace("Backed up", timezone="UTC")
        run = uuid.uuid4().hex[:6]
        first: dict[int, tuple[str, str]] = {}
        second: dict[int, tuple[str, str]] = {}
        later = clock.now() + dt.timedelta(hours=1)
        for network, mod in NETWORKS.items():
            access = mod.channel_for(emulators[network])
            access = type(access)(
                access.network,
                access.remote_id,
                access.credentials,
                access.base_url,
                {**access.settings, "pace": False},
            )
            ch = pt.channel(ws, access, name=f"{network} channel")
            for i in range(PER_NETWORK):
                text = f"bk{run}{network}a{i}~"
                first[pt.schedule(ch, text, clock.now()).pk] = (network, text)
                text = f"bk{run}{network}b{i}~"
                second[pt.schedule(ch, text, later).pk] = (network, text)
        draft = Post.objects.create(workspace=ws, text="a draft with a picture")
        variant = PostVariant.objects.create(
            post=draft, channel=Channel.objects.filter(workspace=ws)[0], text="d"
        )
        picture = _picture(ws.pk)
        VariantMedia.objects.create(variant=variant, media=picture, position=0)
        picture_bytes = Path(picture.file.path).read_bytes()
        for i in range(4):
            InboxItem.objects.create(
                workspace=ws,
                channel=variant.channel,
                kind=ItemKind.COMMENT,
                remote_id=f"c{run}{i}",
                text=f"comment {i}",
            )

        db_name = str(connection.settings_dict["NAME"])
        workers = [_worker(_env(), "--database-name", db_name, "--worker-id", f"src-{i}") for i in range(2)]
        _wait(
            lambda: (
                PublicationTarget.objects.filter(pk__in=list(first), state=TargetState.PUBLISHED).count()
                == len(first)
            ),
            "the first posts published",
        )
        # The second posts fall due a few seconds after the backup is taken.
        due = clock.now() + dt.timedelta(seconds=8)
        PublicationTarget.objects.filter(pk__in=list(second)).update(due_at=due, next_attempt_at=due)
        result = ops.create(tmp_path, keep=3)
        _wait(
            lambda: (
                PublicationTarget.objects.filter(pk__in=list(second), state=TargetState.PUBLISHED).count()
                == len(second)
            ),
            "the second posts published after the backup",
        )
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            w.wait(timeout=30)

        assert result.path.parent == tmp_path and result.path.stat().st_mode & 0o777 == 0o600
        assert BackupRecord.objects.filter(kind="backup", archive_name=result.path.name).exists()
        counts = {
            "posts": Post.objects.filter(workspace=ws).count(),
            "variants": PostVariant.objects.filter(post__workspace=ws).count(),
            "channels": Channel.objects.filter(workspace=ws).count(),
            "inbox": InboxItem.objects.filter(workspace=ws).count(),
            "media": Media.objects.filter(workspace=ws).count(),
        }
        with _restored_database(tmp_path) as env:
            restore = subprocess.run(
                [str(Path(sys.executable).parent / "rupor"), "restore", str(result.path)],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert restore.returncode == 0, restore.stderr
            home = Path(env["RUPOR_HOME"])
            assert (home / "secret_key").read_text().strip() == os.environ["RUPOR_SECRET_KEY"]
            before = _probe(env, ws.slug, picture.pk)
            assert before["counts"] == counts, "nothing lost"
            assert before["media_sha256"] == hashlib.sha256(picture_bytes).hexdigest()
            assert before["unreadable"] == [] and before["credentials"] == [True] * len(NETWORKS)
            checking = [pk for pk, (_state, kind) in before["states"].items() if kind == "restored"]
            assert checking, "some posts fell due after the backup: they are checked, not re-sent"
            assert {int(pk) for pk in checking} <= set(second)

            worker = _worker(env, "--worker-id", "restored", once=True)
            assert worker.wait(timeout=300) == 0
            after = _probe(env, ws.slug, picture.pk)
            for target_id, (network, text) in {**first, **second}.items():
                state = after["states"][str(target_id)][0]
                on_network = NETWORKS[network].posts_with(emulators[network], text)
                assert on_network == 1, f"{network} {text}: {on_network} posts on the network"
                if network != "telegram" or target_id in first:
                    assert state == TargetState.PUBLISHED, f"{network} {text}: {state}"
                else:  # no key, no lookup: a person says whether it is there
                    assert state in (TargetState.UNCONFIRMED, TargetState.PUBLISHED), (
                        f"{network} {text}: {state}"
                    )
            assert after["restore_events"] > 0
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
        for emulator in emulators.values():
            emulator.stop()
