"""Analytics dashboards benchmark: how fast each dashboard view answers over a big workspace.

    python bench/analytics.py --quick        # < 1 minute on SQLite; last line is one JSON object
    python bench/analytics.py                # the full run: 500 channels, 1,000,000 posts,
                                             # 20,000,000 readings (a tenth of that on SQLite)
    python bench/analytics.py --channels 100 --posts 200000 --readings 2000000
    DATABASE_URL=... python bench/analytics.py --reuse   # time again over the last run's data
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/x python bench/analytics.py
    DATABASE_URL=... python bench/analytics.py --reuse --compare   # each view over the posts
                                             # directly, then over the daily rollup (PostDay)
                                             # and with the content slices in SQL
    ... --views content_90d,overview_90d     # only these views
    RUPOR_BENCH_DB=name                      # a database name of one's own on a shared server

One workspace gets ``--channels`` channels (VK, Telegram and OK in turn), ``--posts`` posts spread
over ``--days`` days (``PostStat``: the one row per post the dashboards read), 20 readings per post
(``PostMetricReading``, the raw series collection appends; the dashboards never read it, but it
sits in the same database as it would in production) and one ``ChannelDay`` per channel and day.
The data is a benchmark fixture, so it is written straight into the tables (PostgreSQL ``COPY``,
SQLite ``executemany``), deterministically (``--seed``).

Then each dashboard view is requested ``--repeat`` times through Django's test client as a signed-in
owner (the whole stack: middleware, the view, its queries, pygal charts, the template), and the
API's and the exports' answers the same way. Each view is timed twice: first with every chart
drawn afresh on each request (the memo of drawn charts in ``web/charts.py`` emptied before each,
as on a first visit or after the figures changed: ``views_charts_drawn``, worst p95
``p95_charts_drawn_ms``), then as a page seen again (``views``). Figures: p50/p95 per view in ms,
the worst p95 (the ``p95_ms`` of the summary), the time of one monthly client report (``rupor.analytics.reports``
where that module exists, else the overview plus its XLSX export, said in ``report_basis``),
generation time, and peak RSS of this process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import random
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import benchenv  # noqa: E402 - bench/ is on the path when a benchmark runs as a script

#: ``--reuse``: time the views again over the data a previous run left (PostgreSQL only).
REUSE = "--reuse" in sys.argv
if REUSE:
    base_url, _, _ = os.environ["DATABASE_URL"].rpartition("/")
    os.environ["DATABASE_URL"] = f"{base_url}/{os.environ.get('RUPOR_BENCH_DB', 'rupor_bench_analytics')}"
    os.environ.setdefault("RUPOR_SECRET_KEY", "bench-secret-key-that-is-long-enough-0123456789abcdef")
    os.environ.setdefault("RUPOR_LOG_LEVEL", "ERROR")
    VENDOR = "postgresql"
else:
    VENDOR = benchenv.setup("rupor_bench_analytics", "rupor-bench-analytics-")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rupor.settings")
import django  # noqa: E402 - the environment (database, home) is set up first

django.setup()
from django.core.management import call_command  # noqa: E402 - the environment (database, home) is set up first
from django.db import connection, models, transaction  # noqa: E402 - the environment (database, home) is set up first
from django.test import Client  # noqa: E402 - the environment (database, home) is set up first

from rupor.accounts import service as accounts  # noqa: E402 - the environment (database, home) is set up first
from rupor.analytics.models import ChannelDay, PostMetricReading, PostStat  # noqa: E402 - the environment (database, home) is set up first
from rupor.channels.models import Channel  # noqa: E402 - the environment (database, home) is set up first
from rupor.core import clock  # noqa: E402 - the environment (database, home) is set up first
from rupor.planning import service as planning  # noqa: E402 - the environment (database, home) is set up first

call_command("migrate", verbosity=0)

NOW = dt.datetime(2026, 6, 30, 12, 0, tzinfo=dt.UTC)
NETWORKS = ("vk", "telegram", "ok")
FORMATS = ("text", "photo", "photo", "video", "poll", "link")
EXCERPTS = (
    "Autumn collection is in",
    "Poll: which colour next?",
    "Behind the scenes",
    "Weekend sale",
    "Customer story",
)


def _columns(model: type[models.Model]) -> list[str]:
    return [f.column for f in model._meta.concrete_fields if not f.primary_key]


def _write(model: type[models.Model], rows: Iterator[tuple[Any, ...]]) -> int:
    """Stream rows (in :func:`_columns` order) into the model's table; returns how many."""
    table, columns = model._meta.db_table, _columns(model)
    count = 0
    if VENDOR == "postgresql":
        with connection.cursor() as cursor:
            raw = cursor.cursor  # psycopg 3
            with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(tuple(json.dumps(v) if isinstance(v, dict) else v for v in row))
                    count += 1
        return count
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    raw_conn = connection.connection
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(tuple(json.dumps(v) if isinstance(v, dict) else v for v in row))
        if len(batch) >= 20_000:
            raw_conn.executemany(sql, batch)
            count += len(batch)
            batch = []
    if batch:
        raw_conn.executemany(sql, batch)
        count += len(batch)
    return count


def _readings_in_sql(
    ws_id: int, first_channel: int, channels: int, readings: int, per_post: int, span: int
) -> int:
    """The raw readings generated by PostgreSQL itself (the same rows :func:`generate`'s Python
    generator would write, without sending 20 million rows over the socket)."""
    table, columns = PostMetricReading._meta.db_table, _columns(PostMetricReading)
    values = {
        "workspace_id": str(ws_id),
        "channel_id": f"{first_channel} + ((g / {per_post}) %% {channels})",
        "target_id": "NULL",
        "remote_post_id": f"(g / {per_post})::text",
        "read_at": f"%s::timestamptz - ((g::bigint * 7919) %% {span}) * interval '1 second'",
        "likes": "g %% 500",
        "reposts": "g %% 50",
        "comments": "g %% 70",
        "views": "g %% 20000",
        "reach": "NULL",
        "reactions": "'{}'::jsonb",
        "extra": "'{}'::jsonb",
        "source": "'poll'",
    }
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) "
            f"SELECT {', '.join(values[c] for c in columns)} FROM generate_series(0, {readings - 1}) AS g",
            [NOW],
        )
        return int(cursor.rowcount)


def _ordered(model: type[models.Model], values: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(values[c] for c in _columns(model))


def generate(channels: int, posts: int, readings: int, days: int, seed: int) -> dict[str, Any]:
    rnd = random.Random(seed)
    clock.freeze(NOW)
    owner = accounts.create_user("bench@example.com", "bench-password-1234")
    ws = accounts.create_workspace("Bench", owner, timezone="Europe/Moscow")
    rubrics = [r.id for r in planning.rubric_facts(ws.pk)]
    chans = Channel.objects.bulk_create(
        [
            Channel(workspace=ws, network=NETWORKS[i % 3], name=f"Channel {i}", remote_id=f"bench-{i}")
            for i in range(channels)
        ]
    )
    first_day = NOW.date() - dt.timedelta(days=days - 1)
    members = {c.pk: rnd.randint(1_000, 200_000) for c in chans}
    t0 = time.perf_counter()

    def channel_days() -> Iterator[tuple[Any, ...]]:
        for c in chans:
            m = members[c.pk]
            known = c.network != "ok"
            for d in range(days):
                joins, leaves = rnd.randint(0, 80), rnd.randint(0, 40)
                m += joins - leaves
                yield _ordered(
                    ChannelDay,
                    {
                        "workspace_id": ws.pk,
                        "channel_id": c.pk,
                        "day": first_day + dt.timedelta(days=d),
                        "members": m,
                        "joins": joins if known else None,
                        "leaves": leaves if known else None,
                        "reach": None,
                        "views": None,
                        "source": "stats" if known else "",
                        "updated_at": NOW,
                    },
                )

    per_post = max(1, readings // max(1, posts))
    span = days * 86_400

    def post_rows() -> Iterator[tuple[Any, ...]]:
        # In publishing order, as collection creates them (a post's row appears when it goes out),
        # so the table's physical order follows publishing time as it does in production.
        step = span / max(1, posts)
        for n in range(posts):
            c = chans[n % channels]
            when = NOW - dt.timedelta(seconds=span - n * step - rnd.random() * step)
            reac = c.network == "telegram"
            views = rnd.randint(100, 50_000)
            likes = views // rnd.randint(15, 80)
            yield _ordered(
                PostStat,
                {
                    "workspace_id": ws.pk,
                    "channel_id": c.pk,
                    "remote_post_id": str(n),
                    "target_id": None,
                    "post_id": None,
                    "rubric_id": rnd.choice(rubrics) if rnd.random() < 0.8 else None,
                    "content_format": rnd.choice(FORMATS),
                    "text_length": rnd.randint(0, 2_000),
                    "text_excerpt": rnd.choice(EXCERPTS),
                    "url": "",
                    "published_at": when,
                    "read_at": when + dt.timedelta(days=1),
                    "likes": likes,
                    "reposts": None if reac else likes // 8,
                    "comments": None if reac else likes // 5,
                    "views": views,
                    "reach": None if reac else views * 2 // 3,
                    "complaints": rnd.randint(0, 2) if c.network == "vk" else None,
                    "reactions_only": reac,
                    "followers": members[c.pk],
                    "engagements_24h": likes,
                    "age_24h_hours": 24.0,
                    "readings": per_post,
                    "next_read_at": None,
                    "deleted_at": when + dt.timedelta(days=2) if rnd.random() < 0.01 else None,
                },
            )

    def reading_rows() -> Iterator[tuple[Any, ...]]:
        for n in range(readings):
            post = n // per_post
            c = chans[post % channels]
            yield _ordered(
                PostMetricReading,
                {
                    "workspace_id": ws.pk,
                    "channel_id": c.pk,
                    "target_id": None,
                    "remote_post_id": str(post),
                    "read_at": NOW - dt.timedelta(seconds=(n * 7919) % span),
                    "likes": n % 500,
                    "reposts": n % 50,
                    "comments": n % 70,
                    "views": n % 20_000,
                    "reach": None,
                    "reactions": {},
                    "extra": {},
                    "source": "poll",
                },
            )

    with transaction.atomic():
        if VENDOR == "postgresql":
            # A fixture: the rows reference rows this run created, so the deferred foreign-key
            # checks (tens of millions at commit) are skipped for this session only.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
        written = {
            "channel_days": _write(ChannelDay, channel_days()),
            "posts": _write(PostStat, post_rows()),
        }
        ids = [c.pk for c in chans]
        if VENDOR == "postgresql" and ids == list(range(ids[0], ids[0] + len(ids))):
            written["readings"] = _readings_in_sql(ws.pk, ids[0], channels, readings, per_post, span)
        else:
            written["readings"] = _write(PostMetricReading, reading_rows())
    with connection.cursor() as cursor:  # fresh statistics, as autovacuum would have by now
        cursor.execute("ANALYZE")
    return {
        "workspace": ws,
        "owner": owner,
        "channel": chans[0].pk,
        "generate_s": time.perf_counter() - t0,
        **written,
    }


def _forget_charts() -> None:
    """Empty the memo of drawn charts (``web/charts.py``): the next request draws every chart."""
    from rupor.web import charts

    charts._line_svg.cache_clear()
    charts._bars_svg.cache_clear()


def _time(fn: Callable[[], Any], repeat: int, before: Callable[[], None] | None = None) -> dict[str, float]:
    fn()  # warm: the first request compiles templates and fills caches
    samples, cpu = [], []
    for _ in range(repeat):
        if before is not None:
            before()  # untimed
        t, c = time.perf_counter(), time.process_time()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, max(0, round(0.95 * len(samples)) - 1))]
    return {
        "p50_ms": round(statistics.median(samples), 1),
        "p95_ms": round(p95, 1),
        # CPU time of this process (Django, templates, charts; not the database server's)
        "cpu_ms": round(statistics.median(cpu), 1),
    }


def _get(client: Client, url: str) -> Callable[[], Any]:
    def run() -> Any:
        res = client.get(url)
        if res.status_code != 200:
            raise SystemExit(f"{url}: {res.status_code} {res.content[:300]!r}")
        return res

    return run


def _report(ws_id: int) -> tuple[float, str]:
    """One monthly client report, rendered as the PDF a client downloads (charts, KPIs, top posts)."""
    from rupor.accounts.roles import Role
    from rupor.accounts.service import Actor
    from rupor.analytics import reports

    start, end = dt.date(2026, 6, 1), dt.date(2026, 6, 30)
    t = time.perf_counter()
    reports.render_period(Actor(ws_id, Role.OWNER, label="bench"), start, end, "pdf")
    return time.perf_counter() - t, "monthly PDF report (rupor.analytics.reports.render_period)"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small and fast: 20 channels, 10,000 posts")
    full = 1 if VENDOR == "postgresql" else 10
    parser.add_argument("--channels", type=int, default=500 // full)
    parser.add_argument("--posts", type=int, default=1_000_000 // full)
    parser.add_argument("--readings", type=int, default=20_000_000 // full)
    parser.add_argument("--days", type=int, default=730, help="history the posts are spread over")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument(
        "--reuse", action="store_true", help="PostgreSQL: time again over the last run's data"
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="time each view twice, over the posts directly (before the rollup, slices in Python) "
        "and the fast way (the rollup, slices in SQL)",
    )
    parser.add_argument("--views", default="", help="only these views (names, comma-separated)")
    args = parser.parse_args()
    if args.quick:
        args.channels, args.posts, args.readings, args.days, args.repeat = 20, 10_000, 100_000, 365, 7
    if args.reuse:
        from django.contrib.auth import get_user_model

        clock.freeze(NOW)
        owner = get_user_model().objects.get(email="bench@example.com")
        ws = accounts.workspaces_for(owner)[0]
        data = {
            "workspace": ws,
            "owner": owner,
            "channel": Channel.objects.filter(workspace=ws).order_by("pk").values_list("pk", flat=True)[0],
            "generate_s": 0.0,
            "posts": PostStat.objects.filter(workspace=ws).count(),
            "readings": PostMetricReading.objects.filter(workspace=ws).count(),
            "channel_days": ChannelDay.objects.filter(workspace=ws).count(),
        }
        args.channels = Channel.objects.filter(workspace=ws).count()
    else:
        data = generate(args.channels, args.posts, args.readings, args.days, args.seed)
    print(
        f"generated {data['posts']} posts, {data['readings']} readings, {data['channel_days']} channel days "
        f"on {VENDOR} in {data['generate_s']:.1f} s",
        flush=True,
    )
    from rupor.analytics import dashboard, rollup

    t = time.perf_counter()
    rollup.ensure(data["workspace"].pk, data["workspace"].timezone)
    rollup_s = time.perf_counter() - t
    if VENDOR == "postgresql" and rollup_s > 1:
        with connection.cursor() as cursor:  # fresh statistics for the rebuilt rollup
            cursor.execute("ANALYZE analytics_postday")
    print(f"rollup ready in {rollup_s:.1f} s", flush=True)
    client = Client(HTTP_HOST="localhost")
    client.force_login(data["owner"])
    client.get("/analytics/?days=7")  # everything a web process loads at its start, loaded
    # As rupor/wsgi.py does in every web process once the application is loaded: what lives as
    # long as the process is kept out of the collector's full collections.
    gc.collect()
    gc.freeze()
    ch = data["channel"]
    views = {
        "overview_7d": "/analytics/?days=7",
        "overview_30d": "/analytics/?days=30",
        "overview_90d": "/analytics/?days=90",
        "overview_30d_channel": f"/analytics/?days=30&channel={ch}",
        "content_30d": "/analytics/content/?days=30",
        "content_90d": "/analytics/content/?days=90",
        "api_overview_30d": "/api/v1/analytics/overview?days=30",
        "api_content_30d": "/api/v1/analytics/content?days=30",
        "export_daily_csv_30d": "/analytics/export/daily.csv?days=30",
        "export_overview_xlsx_30d": "/analytics/export/overview.xlsx?days=30",
    }
    if args.views:
        views = {k: v for k, v in views.items() if k in args.views.split(",")}
    results: dict[str, dict[str, float]] = {}
    direct: dict[str, dict[str, float]] = {}
    cold: dict[str, dict[str, float]] = {}
    for name, url in views.items():
        if args.compare:
            dashboard.USE_ROLLUP = dashboard.SLICES_IN_SQL = False
            direct[name] = _time(_get(client, url), args.repeat)
            dashboard.USE_ROLLUP = dashboard.SLICES_IN_SQL = True
            print(
                f"{name:28} direct  p50 {direct[name]['p50_ms']:8.1f} ms   p95 {direct[name]['p95_ms']:8.1f} ms"
                f"   cpu {direct[name]['cpu_ms']:7.1f} ms   load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
        # Every chart drawn afresh (a first visit, or figures that changed), then as a page seen
        # again shows them (charts with the same figures come from the memo of drawn charts).
        cold[name] = _time(_get(client, url), args.repeat, before=_forget_charts)
        results[name] = _time(_get(client, url), args.repeat)
        print(
            f"{name:28} rollup  p50 {results[name]['p50_ms']:8.1f} ms   p95 {results[name]['p95_ms']:8.1f} ms"
            f"   cpu {results[name]['cpu_ms']:7.1f} ms   charts drawn afresh: p50 {cold[name]['p50_ms']:8.1f} ms"
            f"   p95 {cold[name]['p95_ms']:8.1f} ms   load {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    report_s, basis = _report(data["workspace"].pk)
    worst = max(results.values(), key=lambda r: r["p95_ms"])
    summary = {
        "database": VENDOR,
        "readings": data["readings"],
        "posts": data["posts"],
        "channels": args.channels,
        "channel_days": data["channel_days"],
        "days": args.days,
        "repeat": args.repeat,
        "generate_s": round(data["generate_s"], 1),
        "p50_ms": worst["p50_ms"],
        "p95_ms": worst["p95_ms"],
        "worst_view": max(results, key=lambda k: results[k]["p95_ms"]),
        # The same with every chart drawn afresh on each request (the memo of charts emptied).
        "p95_charts_drawn_ms": max(c["p95_ms"] for c in cold.values()),
        "views": results,
        "views_charts_drawn": cold,
        **({"views_direct": direct} if direct else {}),
        "rollup_s": round(rollup_s, 1),
        "load_avg": round(os.getloadavg()[0], 1),
        "report_s": round(report_s, 3),
        "report_basis": basis,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
