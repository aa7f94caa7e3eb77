"""What one Prometheus scrape of /metrics costs over a big instance.

    python bench/operations.py --quick          # 5,000 targets on SQLite, seconds
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/x python bench/operations.py
    ... --targets 200000 --items 200000 --repeat 20
    RUPOR_BENCH_DB=name                         # a database name of one's own on a shared server

Builds ``--targets`` publication targets over 30 days on 50 channels (most published, some
failed, a few due now), one attempt each, ``--items`` inbox items (2 % waiting for an answer),
one ``PostStat`` per published target (1 % overdue), a few staged webhook deliveries, outbox rows
and library files, then renders /metrics ``--repeat`` times (the collector, the whole snapshot
and the exposition text, as the view does) and times each part of the snapshot alone. The last
line is one JSON object: p50/p95 of a scrape in ms (wall clock), this process's CPU per scrape,
each part's p50, the slowest queries of one scrape, the row counts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import benchenv  # noqa: E402 - bench/ is on the path when a benchmark runs as a script

VENDOR = benchenv.setup("rupor_bench_operations", "rupor-bench-operations-")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rupor.settings")
import django  # noqa: E402 - the environment (database, home) is set up first

django.setup()
from django.core.management import call_command  # noqa: E402 - the environment (database, home) is set up first
from django.db import connection  # noqa: E402 - the environment (database, home) is set up first

from rupor.analytics.health import collection_lag  # noqa: E402 - the environment (database, home) is set up first
from rupor.analytics.models import PostStat  # noqa: E402 - the environment (database, home) is set up first
from rupor.core import clock, config, disk  # noqa: E402 - the environment (database, home) is set up first
from rupor.inbox.health import intake_health  # noqa: E402 - the environment (database, home) is set up first
from rupor.inbox.models import HookDelivery, InboxItem  # noqa: E402 - the environment (database, home) is set up first
from rupor.networks.base import ChannelAccess  # noqa: E402 - the environment (database, home) is set up first
from rupor.notifications.health import outbox_backlog  # noqa: E402 - the environment (database, home) is set up first
from rupor.notifications.models import Delivery  # noqa: E402 - the environment (database, home) is set up first
from rupor.operations.metrics import render  # noqa: E402 - the environment (database, home) is set up first
from rupor.planning.health import media_usage  # noqa: E402 - the environment (database, home) is set up first
from rupor.planning.models import Media  # noqa: E402 - the environment (database, home) is set up first
from rupor.publishing import testing as pt  # noqa: E402 - the environment (database, home) is set up first
from rupor.publishing.health import health_snapshot  # noqa: E402 - the environment (database, home) is set up first
from rupor.publishing.models import (  # noqa: E402 - the environment (database, home) is set up first
    Attempt,
    PublicationTarget,
    TargetState,
    WorkerHeartbeat,
)

NOW = dt.datetime(2026, 6, 30, 12, 0, tzinfo=dt.UTC)
NETWORKS = ("vk", "telegram", "ok", "x", "bluesky")


def build(targets: int, items: int) -> dict[str, int]:
    clock.freeze(NOW)
    ws = pt.workspace("Bench")
    channels = [
        pt.channel(
            ws,
            ChannelAccess(
                network=NETWORKS[i % len(NETWORKS)], remote_id=str(i), credentials={"token": f"t{i}"}
            ),
        )
        for i in range(50)
    ]
    ids = pt.bulk_schedule(channels, targets, NOW - dt.timedelta(days=30), "bench", batch=5000)
    first = min(ids)
    span = 30 * 86400
    # Spread the targets over 30 days: 96 % published (lateness 0..59 s), 2 % failed, the rest
    # stays scheduled, of which the last 100 are due now.
    rows = list(PublicationTarget.objects.order_by("pk").values_list("pk", "channel_id"))
    published, failed = [], []
    for pk, _channel in rows:
        i = pk - first
        due = NOW - dt.timedelta(seconds=span * (1 - i / targets))
        if i % 50 == 0:
            failed.append(
                PublicationTarget(
                    pk=pk,
                    state=TargetState.FAILED,
                    due_at=due,
                    error_kind="rejected",
                    error_message="Refused.",
                    updated_at=due,
                    next_attempt_at=None,
                )
            )
        elif i < targets - 200:
            published.append(
                PublicationTarget(
                    pk=pk,
                    state=TargetState.PUBLISHED,
                    due_at=due,
                    published_at=due + dt.timedelta(seconds=i % 60),
                    updated_at=due,
                    next_attempt_at=None,
                )
            )
    PublicationTarget.objects.bulk_update(
        published, ["state", "due_at", "published_at", "updated_at", "next_attempt_at"], batch_size=5000
    )
    PublicationTarget.objects.bulk_update(
        failed,
        ["state", "due_at", "error_kind", "error_message", "updated_at", "next_attempt_at"],
        batch_size=5000,
    )
    PublicationTarget.objects.filter(state=TargetState.SCHEDULED).update(
        due_at=NOW - dt.timedelta(seconds=30), next_attempt_at=NOW - dt.timedelta(seconds=30)
    )
    Attempt.objects.bulk_create(
        [
            Attempt(
                target_id=t.pk,
                number=1,
                worker="bench",
                started_at=t.published_at,
                finished_at=t.published_at,
                outcome="published",
            )
            for t in published
        ]
        + [
            Attempt(
                target_id=t.pk,
                number=1,
                worker="bench",
                started_at=t.due_at,
                finished_at=t.due_at,
                outcome="rejected",
            )
            for t in failed
        ],
        batch_size=5000,
    )
    by_pk = dict(rows)
    PostStat.objects.bulk_create(
        [
            PostStat(
                workspace_id=ws.pk,
                channel_id=by_pk[t.pk],
                remote_post_id=str(t.pk),
                target_id=t.pk,
                published_at=t.published_at,
                next_read_at=(NOW - dt.timedelta(hours=2)) if t.pk % 100 == 0 else None,
            )
            for t in published
        ],
        batch_size=5000,
    )
    InboxItem.objects.bulk_create(
        [
            InboxItem(
                workspace_id=ws.pk,
                channel=channels[i % 50],
                kind="comment",
                remote_id=f"c{i}",
                status="new" if i % 50 == 0 else "done",
                occurred_at=NOW - dt.timedelta(seconds=span * (1 - i / items)) - dt.timedelta(seconds=30),
                received_at=NOW - dt.timedelta(seconds=span * (1 - i / items)),
                text="comment",
            )
            for i in range(items)
        ],
        batch_size=5000,
    )
    HookDelivery.objects.bulk_create(
        [HookDelivery(channel=channels[0], network="vk", body=b"{}", received_at=NOW) for _ in range(20)]
    )
    Delivery.objects.bulk_create(
        [
            Delivery(workspace_id=ws.pk, channel="email", kind="failed", state="sent", next_attempt_at=NOW)
            for _ in range(5000)
        ]
    )
    Media.objects.bulk_create(
        [
            Media(
                workspace_id=ws.pk,
                file=f"media/{i}.png",
                kind="photo",
                content_type="image/png",
                size=1000 + i,
                sha256="0" * 64,
                original_name=f"{i}.png",
            )
            for i in range(2000)
        ]
    )
    for i in range(4):
        WorkerHeartbeat.objects.create(
            worker_id=f"bench:{i}",
            hostname="bench",
            pid=i,
            seen_at=NOW,
            rate_waits={"vk": {"inline": 3, "inline_s": 1.0, "deferred": 1, "deferred_s": 2.0}},
        )
    if VENDOR == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {
        "targets": PublicationTarget.objects.count(),
        "attempts": Attempt.objects.count(),
        "inbox_items": InboxItem.objects.count(),
        "post_stats": PostStat.objects.count(),
    }


def _time(fn: Callable[[], Any], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--targets", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.targets, args.items, args.repeat = 5000, 5000, 5
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    counts = build(args.targets, args.items)
    built_s = time.perf_counter() - started
    disk.forget()
    render()  # warm: connections, the RUPOR_HOME walk
    cpu_started = time.process_time()
    scrapes = _time(render, args.repeat)
    # CPU of this process per scrape: Python's share (and on SQLite the queries too), the figure a
    # busy machine does not inflate the way it inflates wall-clock time.
    cpu_ms = (time.process_time() - cpu_started) / args.repeat * 1000
    parts = {
        "engine": _time(lambda: health_snapshot(None), args.repeat),
        "intake": _time(lambda: intake_health(None), args.repeat),
        "collection": _time(lambda: collection_lag(None), args.repeat),
        "outbox": _time(lambda: outbox_backlog(None), args.repeat),
        "media": _time(lambda: media_usage(None), args.repeat),
        "home_walk": _time(lambda: (disk.forget(), disk.home_usage(config.home())), args.repeat),
    }
    scrapes.sort()
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        render()
    slowest = sorted(captured.captured_queries, key=lambda q: -float(q["time"]))[:6]
    print(f"{len(captured.captured_queries)} queries in one scrape; the slowest:")
    for q in slowest:
        print(f"  {float(q['time']) * 1000:7.1f} ms  {q['sql'][:220]}")
    summary = {
        "vendor": VENDOR,
        **counts,
        "build_s": round(built_s, 1),
        "scrape_p50_ms": round(statistics.median(scrapes), 1),
        "scrape_p95_ms": round(scrapes[min(len(scrapes) - 1, int(0.95 * len(scrapes)))], 1),
        "scrape_cpu_ms": round(cpu_ms, 1),
        "parts_p50_ms": {k: round(statistics.median(v), 1) for k, v in parts.items()},
    }
    for key, value in summary.items():
        print(f"{key:>16}: {value}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
