"""Publishing engine benchmark.

    python bench/publish.py --quick          # < 1 minute; last line is one JSON object
    python bench/publish.py                  # the full run: engine ceiling, rate limits, lateness
    python bench/publish.py --targets 5000 --only ceiling
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test python bench/publish.py --quick

Figures (every run prints each figure as it comes, then one JSON object as its last line):

1. ``ceiling``: N targets (20,000; ``--targets``) due at once, emulator limits off, 1, 2 and 4
   worker processes; targets/s, p50/p99 lateness, CPU seconds per 1,000 targets, SQL statements
   per target, peak RSS per worker. The emulator's own capacity is measured in the same run
   with a trivial client (other processes, keep-alive connections, no engine, no database), and
   each row gives the ratio engine/ceiling.
2. ``ratelimit``: the emulators' real limits on (VK 3 calls/s per user token; Telegram 1
   message/s per chat and 20 per minute per group, 30/s per bot; X 100 posts per 15 minutes per
   user, spaced evenly, about one every 9 s; Bluesky 5,000 write points an hour; LinkedIn 10
   calls/s per token, the pace Rupor keeps under LinkedIn's unpublished daily caps; Mastodon 300
   requests per 5 minutes per account): the rate achieved as a share of the allowed rate, and the
   number of rate-limit errors the networks answered, per run
   (``--saturation-runs N`` repeats it: an error is a rare event, one run proves little).
3. ``lateness``: 200 targets/s falling due continuously for a minute, 4 workers
   (``--load-rate``, ``--load-seconds``, ``--load-workers``); p50/p99 lateness.

``--concurrency N`` passes threads per worker (default: the worker's own default).
Statements are counted in the workers (every SQL statement, claims and heartbeats included; on
SQLite Django's ``BEGIN`` too); CPU of a local PostgreSQL server and of this process (the
emulators) is reported beside the workers' own.

Workers are started exactly as a person would start them (``python -m rupor.publishing`` with
its default concurrency and rate-limit backend; only the ceiling turns limits off) and are
ready before the targets fall due, so start-up is not measured. CPU is read from ``/proc`` for
the measured interval. Uses a throwaway RUPOR_HOME (SQLite) or a fresh ``bench_publish``
database (PostgreSQL). The emulators run inside this process; on a small machine they compete
with the workers for the same cores (the figures say how many there are).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import benchenv  # noqa: E402 - bench/ is on the path when a benchmark runs as a script

VENDOR = benchenv.setup("bench_publish")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rupor.settings")
import django  # noqa: E402 - the environment (database, home) is set up first

django.setup()
from django.core.management import call_command  # noqa: E402 - the environment (database, home) is set up first
from django.db.models import F  # noqa: E402 - the environment (database, home) is set up first

from rupor.core import clock  # noqa: E402 - the environment (database, home) is set up first
from rupor.networks.bluesky import testing as bsky_testing  # noqa: E402 - the environment (database, home) is set up first
from rupor.networks.linkedin import testing as li_testing  # noqa: E402 - the environment (database, home) is set up first
from rupor.networks.linkedin.adapter import ASSUMED_REQUESTS_PER_SECOND as LI_PER_S  # noqa: E402 - as above
from rupor.networks.mastodon import testing as mastodon_testing  # noqa: E402 - the environment (database, home) is set up first
from rupor.networks.telegram import testing as tg_testing  # noqa: E402 - the environment (database, home) is set up first
from rupor.networks.vk import testing as vk_testing  # noqa: E402 - the environment (database, home) is set up first
from rupor.networks.x import testing as x_testing  # noqa: E402 - the environment (database, home) is set up first
from rupor.publishing import testing as pt  # noqa: E402 - the environment (database, home) is set up first
from rupor.publishing.models import Attempt, PublicationTarget, TargetState, WorkerHeartbeat  # noqa: E402 - the environment (database, home) is set up first

call_command("migrate", verbosity=0)
TICK = os.sysconf("SC_CLK_TCK")
FAR = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
UNFINISHED = [TargetState.SCHEDULED, TargetState.PUBLISHING, TargetState.WAITING]
#: Targets are made due this far ahead of "now" (more than the workers' 1 s poll interval).
LEAD_S = 1.5
#: X's window for creating posts: 100 per 15 minutes per user (docs.x.com "Rate limits").
X_WINDOW_POSTS = 100


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, round(q * (len(values) - 1)))], 3)


# -- the emulator's own capacity -------------------------------------------------------------

_PROBE = r"""
import ssl, sys, threading, time
sys.path.insert(0, sys.argv[1])
import httpx
ctx = ssl.create_default_context()  # once: building one per client would dominate
url, token, group, seconds, threads = sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]), int(sys.argv[6])
keep = sys.argv[7] == "1"
count = [0]; lock = threading.Lock(); start = time.monotonic(); stop = start + seconds
def hammer():
    n = 0
    data = {"owner_id": f"-{group}", "from_group": 1, "message": "capacity probe", "v": "5.199"}
    headers = {"Authorization": f"Bearer {token}"}
    client = httpx.Client(base_url=url, timeout=10, verify=ctx) if keep else None
    while time.monotonic() < stop:
        if keep:
            client.post("/method/wall.post", data=data, headers=headers)
        else:
            with httpx.Client(base_url=url, timeout=10, verify=ctx) as c:
                c.post("/method/wall.post", data=data, headers=headers)
        n += 1
    with lock:
        count[0] += n
ts = [threading.Thread(target=hammer) for _ in range(threads)]
[t.start() for t in ts]; [t.join() for t in ts]
print(count[0] / (time.monotonic() - start))
"""


def emulator_capacity(
    emulator: Any, seconds: float, *, keep_alive: bool = True, processes: int = 2, threads: int = 4
) -> float:
    """Posts per second the emulator takes from a trivial client: plain HTTP from other
    processes (no engine, no database), like the workers' calls."""
    creds = vk_testing.demo_credentials()
    args = [
        sys.executable,
        "-c",
        _PROBE,
        str(ROOT),
        emulator.url,
        creds["user_token"],
        vk_testing.DEMO_REMOTE_ID,
        str(seconds),
        str(threads),
        "1" if keep_alive else "0",
    ]
    procs = [
        subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) for _ in range(processes)
    ]
    return sum(float(p.communicate(timeout=seconds + 60)[0].decode().strip() or 0) for p in procs)


# -- workers ---------------------------------------------------------------------------------

# A worker exactly as ``python -m rupor.publishing`` runs it, plus a count of the SQL statements
# it sends (every connection it opens) and its resource use, printed when it stops.
_WORKER = (
    "import json,resource,sys\n"
    "from django.db.backends.signals import connection_created\n"
    "count=[0]\n"
    "def _count(execute, sql, params, many, context):\n"
    "    count[0]+=1\n"
    "    return execute(sql, params, many, context)\n"
    "def _on(sender, connection, **kw):\n"
    "    if _count not in connection.execute_wrappers: connection.execute_wrappers.append(_count)\n"
    "connection_created.connect(_on)\n"
    "from rupor.publishing.__main__ import main\n"
    "main(sys.argv[1:])\n"
    "ru=resource.getrusage(resource.RUSAGE_SELF)\n"
    "print(json.dumps({'cpu':ru.ru_utime+ru.ru_stime,'rss_kb':ru.ru_maxrss,'statements':count[0]}))\n"
)


def _cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def _server_cpu() -> float:
    """CPU seconds of the local PostgreSQL server's processes (0 on SQLite or a remote server)."""
    if VENDOR != "postgresql":
        return 0.0
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                    total += _cpu(int(entry.name))
            except OSError:
                continue
    return total


def _own_cpu() -> float:
    """CPU seconds of this process: the emulators (and the benchmark's light polling)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Workers:
    """``n`` worker processes started as a person would start them."""

    #: ``--concurrency`` for every worker; None: the worker's default, as a person runs it.
    concurrency: int | None = None

    def __init__(self, n: int, *, rate_limits: str = "configured", tag: str = "w") -> None:
        WorkerHeartbeat.objects.all().delete()
        self.ids = [f"bench-{tag}-{i}" for i in range(n)]
        self.procs = []
        for worker_id in self.ids:
            cmd = [sys.executable, "-c", _WORKER, "--worker-id", worker_id, "--retry-base", "0.5"]
            if rate_limits != "configured":
                cmd += ["--rate-limits", rate_limits]
            if self.concurrency is not None:
                cmd += ["--concurrency", str(self.concurrency)]
            self.procs.append(
                subprocess.Popen(
                    cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=os.environ
                )
            )
        deadline = time.monotonic() + 120
        while WorkerHeartbeat.objects.filter(worker_id__in=self.ids).count() < n:
            if time.monotonic() > deadline:
                raise RuntimeError("workers did not start")
            time.sleep(0.1)
        self.cpu0 = [_cpu(p.pid) for p in self.procs]
        self.server0, self.own0 = _server_cpu(), _own_cpu()

    def stop(self) -> dict[str, float]:
        cpu = sum(_cpu(p.pid) - c0 for p, c0 in zip(self.procs, self.cpu0, strict=True))
        server, own = _server_cpu() - self.server0, _own_cpu() - self.own0
        for p in self.procs:
            p.terminate()
        stats = []
        for p in self.procs:
            out, _ = p.communicate(timeout=60)
            try:
                stats.append(json.loads(out.decode().strip().splitlines()[-1]))
            except (ValueError, IndexError):
                stats.append({"cpu": 0.0, "rss_kb": 0, "statements": 0})
        return {
            "cpu": cpu,
            "server_cpu": server,
            "emulator_cpu": own,
            "rss_mb": max(s["rss_kb"] for s in stats) / 1024,
            "statements": sum(s["statements"] for s in stats),
        }


def _fresh_table() -> None:
    """Every phase starts from an empty targets table; on PostgreSQL also without the dead rows
    the previous phase left (autovacuum would get to them later; a phase must not inherit them)."""
    PublicationTarget.objects.all().delete()
    if VENDOR == "postgresql":
        from django.db import connection

        with connection.cursor() as cursor:
            for model in (PublicationTarget, Attempt):
                cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")


def _schedule_far(chans: list[Any], count: int, marker: str) -> list[int]:
    """Targets far in the future (no worker touches them); :func:`_make_due` brings them forward."""
    return pt.bulk_schedule(chans, count, FAR, marker)


def _make_due(ids: list[int], at: dt.datetime, *, per_s: float | None = None) -> None:
    """All of ``ids`` due at ``at`` (one statement), or ``per_s`` of them each second from ``at``."""
    if per_s is None:
        PublicationTarget.objects.filter(pk__in=ids).update(due_at=at, next_attempt_at=at)
        return
    shift = FAR - at
    # bulk_schedule made them in id order: spread them evenly, ``per_s`` a second, far away...
    rows = [
        PublicationTarget(pk=target_id, due_at=FAR + dt.timedelta(seconds=i / per_s))
        for i, target_id in enumerate(ids)
    ]
    PublicationTarget.objects.bulk_update(rows, ["due_at"], batch_size=500)
    # ...then bring them all forward in one statement.
    PublicationTarget.objects.filter(pk__in=ids).update(
        due_at=F("due_at") - shift, next_attempt_at=F("due_at") - shift
    )


def _wait_final(timeout: float) -> None:
    """Until no target is left to publish (each run starts from an empty table; the check is
    one cheap query, not one listing thousands of ids, so the poll costs the emulators nothing)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not PublicationTarget.objects.filter(state__in=UNFINISHED).exists():
            return
        time.sleep(0.2)


def _published(ids: list[int]) -> list[tuple[dt.datetime, dt.datetime]]:
    rows = PublicationTarget.objects.filter(pk__in=ids, state=TargetState.PUBLISHED).values_list(
        "due_at", "published_at"
    )
    return [(d, p) for d, p in rows if d and p]


def _lateness(rows: list[tuple[dt.datetime, dt.datetime]]) -> list[float]:
    return [max(0.0, (p - d).total_seconds()) for d, p in rows]


def vk_channels(emulator: Any, count: int, *, pace: bool = False) -> list[Any]:
    access = vk_testing.channel_for(emulator, settings={"pace": pace})
    return [pt.channel(pt.workspace(f"bench {i}", late_window_minutes=600), access) for i in range(count)]


# -- 1. engine ceiling -----------------------------------------------------------------------


def ceiling(emulator: Any, targets: int, workers: int, capacity: float) -> dict[str, Any]:
    _fresh_table()
    marker = f"ceil{workers}-{time.monotonic_ns()}"
    ids = _schedule_far(vk_channels(emulator, 4), targets, marker)
    pool = Workers(workers, rate_limits="off", tag=f"c{workers}")
    # Scheduled a moment ahead, as posts are: idle workers wake at that time, not a poll later.
    due = clock.now() + dt.timedelta(seconds=LEAD_S)
    _make_due(ids, due)
    _wait_final(timeout=60 + targets / 10)
    run = pool.stop()
    rows = _published(ids)
    late = _lateness(rows)
    published = len(rows)
    elapsed = max((p - due).total_seconds() for _, p in rows) if rows else 0.0
    dupes = max(0, vk_testing.posts_with(emulator, marker) - published)
    settled = PublicationTarget.objects.filter(
        pk__in=ids, state__in=[TargetState.FAILED, TargetState.UNCONFIRMED]
    ).count()
    rate = published / elapsed if elapsed else 0.0
    return {
        "workers": workers,
        "targets": targets,
        "published": published,
        "duplicates": dupes,
        "lost": targets - published - settled,
        "failed_or_unconfirmed": settled,
        "throughput_per_s": round(rate, 1),
        "p50_lateness_s": percentile(late, 0.5),
        "p99_lateness_s": percentile(late, 0.99),
        "cpu_s_per_1000": round(run["cpu"] / max(1, published) * 1000, 2),
        "db_server_cpu_s_per_1000": round(run["server_cpu"] / max(1, published) * 1000, 2),
        "emulator_cpu_s_per_1000": round(run["emulator_cpu"] / max(1, published) * 1000, 2),
        "statements_per_target": round(run["statements"] / max(1, published), 2),
        "peak_rss_mb_per_worker": round(run["rss_mb"], 1),
        "ceiling_per_s": round(capacity, 1),
        "ratio": round(rate / capacity, 3) if capacity else None,
    }


# -- 2. rate-limit saturation ----------------------------------------------------------------


def _share(ids: list[int], allowed: float, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    """Call rate over the measured window against ``allowed``: calls are the attempts (each
    stored right after its rate-limit charge, just before its call), timed from the first to
    the last (n calls spaced by the limit take n - 1 intervals)."""
    times = sorted(
        Attempt.objects.filter(target_id__in=ids, started_at__gte=start, started_at__lte=end).values_list(
            "started_at", flat=True
        )
    )
    published = PublicationTarget.objects.filter(
        pk__in=ids, state=TargetState.PUBLISHED, published_at__lte=end
    ).count()
    if len(times) < 2:
        return {
            "calls": len(times),
            "published": published,
            "achieved_per_s": None,
            "allowed_per_s": allowed,
            "share_of_allowed": None,
        }
    achieved = (len(times) - 1) / (times[-1] - times[0]).total_seconds()
    return {
        "calls": len(times),
        "published": published,
        "achieved_per_s": round(achieved, 3),
        "allowed_per_s": round(allowed, 3),
        "share_of_allowed": round(achieved / allowed, 3),
    }


def saturation(seconds: float) -> dict[str, Any]:
    """Every network with its limits on, at the same time, as a person runs the worker
    (configured rate-limit backend: the database, or Redis with RUPOR_REDIS_URL)."""
    vk = vk_testing.start(rate_limits=True)
    tg = tg_testing.start(rate_limits=True)
    x = x_testing.start(rate_limits=True)
    bsky = bsky_testing.start(rate_limits=True)
    li = li_testing.start(rate_limits=True)
    masto = mastodon_testing.start(rate_limits=True)
    try:
        _fresh_table()
        vk_chan = vk_channels(vk, 1, pace=True)  # the pacer is on in production too
        ws = pt.workspace("bench telegram", late_window_minutes=600)
        tg_chan = pt.channel(
            ws, tg_testing.channel_for(tg, settings={"forward_wait_s": 0.0}), name="tg channel"
        )
        tg_group_access = tg_testing.channel_for(
            tg,
            remote_id=tg_testing.DISCUSSION_GROUP_ID,
            settings={"chat_type": "supergroup", "forward_wait_s": 0.0},
        )
        tg_group = pt.channel(ws, tg_group_access, name="tg group")
        x_chan = pt.channel(pt.workspace("bench x", late_window_minutes=600), x_testing.channel_for(x))
        bsky_chan = pt.channel(
            pt.workspace("bench bluesky", late_window_minutes=600),
            bsky_testing.channel_for(bsky),
            name="bluesky account",
        )
        # Bluesky: 5000 write points an hour, a post is a create of 3 points.
        bsky_rate = 5000 / 3 / 3600
        li_chan = pt.channel(
            pt.workspace("bench linkedin", late_window_minutes=600), li_testing.channel_for(li)
        )
        masto_chan = pt.channel(
            pt.workspace("bench mastodon", late_window_minutes=600),
            mastodon_testing.channel_for(masto),
            name="mastodon account",
        )
        # More than can go out in the window at the allowed rates.
        plan = {
            "x_user": ([x_chan], X_WINDOW_POSTS / 900, 1 + int(seconds * X_WINDOW_POSTS / 900 * 1.2)),
            "vk_user_token": (vk_chan, 3.0, 1 + int(seconds * 3 * 1.2)),
            "telegram_channel": ([tg_chan], 1.0, 1 + int(seconds * 1.2)),
            "telegram_group": ([tg_group], 20 / 60, 1 + int(seconds / 3 * 1.2)),
            "bluesky_account": ([bsky_chan], bsky_rate, 1 + int(seconds * bsky_rate * 1.2)),
            "linkedin_token": ([li_chan], float(LI_PER_S), 1 + int(seconds * LI_PER_S * 1.2)),
            # 300 requests per 5 minutes per account; a text status is one request.
            "mastodon_account": ([masto_chan], 300 / 300, 1 + int(seconds * 1.2)),
        }
        ids = {
            name: _schedule_far(chans, n, f"sat-{name}-{time.monotonic_ns()}")
            for name, (chans, _, n) in plan.items()
        }

        pool = Workers(2, tag="sat")
        start = clock.now() + dt.timedelta(seconds=LEAD_S)
        for chunk in ids.values():
            _make_due(chunk, start)
        time.sleep(LEAD_S + seconds)
        end = clock.now()
        run = pool.stop()
        out: dict[str, Any] = {"seconds": seconds, "workers": 2}
        for name, (_, allowed, _) in plan.items():
            row = _share(ids[name], allowed, start, end)
            row["rate_limit_errors"] = Attempt.objects.filter(
                target_id__in=ids[name], outcome="rate_limited"
            ).count()
            out[name] = row
        out["rate_limit_errors"] = sum(out[name]["rate_limit_errors"] for name in plan)
        shares = [out[name]["share_of_allowed"] for name in plan if out[name]["share_of_allowed"] is not None]
        out["min_share_of_allowed"] = min(shares) if shares else None
        out["cpu_s"] = round(run["cpu"], 2)
        return out
    finally:
        vk.stop()
        tg.stop()
        x.stop()
        bsky.stop()
        li.stop()
        masto.stop()


# -- 3. lateness under load ------------------------------------------------------------------


def lateness_under_load(emulator: Any, per_s: int, seconds: int, workers: int = 4) -> dict[str, Any]:
    _fresh_table()
    ids = _schedule_far(vk_channels(emulator, 4), per_s * seconds, f"load-{time.monotonic_ns()}")
    pool = Workers(workers, rate_limits="off", tag="load")
    start = clock.now() + dt.timedelta(seconds=LEAD_S + 1)
    _make_due(ids, start, per_s=per_s)
    time.sleep(max(0.0, (start - clock.now()).total_seconds()) + seconds)
    _wait_final(timeout=30)
    run = pool.stop()
    rows = _published(ids)
    late = _lateness(rows)
    return {
        "rate_per_s": per_s,
        "seconds": seconds,
        "workers": workers,
        "targets": len(ids),
        "published": len(rows),
        "p50_lateness_s": percentile(late, 0.5),
        "p99_lateness_s": percentile(late, 0.99),
        "max_lateness_s": percentile(late, 1.0),
        "cpu_s_per_1000": round(run["cpu"] / max(1, len(rows)) * 1000, 2),
    }


# -- main ------------------------------------------------------------------------------------


def _say(label: str, row: dict[str, Any]) -> None:
    print(f"{label}: {json.dumps(row)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="400 targets, 2 workers, the ceiling only (< 1 minute)"
    )
    parser.add_argument("--targets", type=int, default=None, help="targets per ceiling run (default 20,000)")
    parser.add_argument("--workers", default="1,2,4", help="worker counts for the ceiling (default 1,2,4)")
    parser.add_argument("--only", choices=["ceiling", "ratelimit", "lateness"], default=None)
    parser.add_argument("--saturation-seconds", type=float, default=60.0)
    parser.add_argument(
        "--saturation-runs",
        type=int,
        default=1,
        help="repeat the rate-limit saturation (errors are rare events)",
    )
    parser.add_argument("--load-seconds", type=int, default=60)
    parser.add_argument("--load-rate", type=int, default=200)
    parser.add_argument("--load-workers", type=int, default=4)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="threads per worker (default: the worker's own default, as a person runs it)",
    )
    args = parser.parse_args()
    Workers.concurrency = args.concurrency
    results: dict[str, Any] = {
        "database": VENDOR,
        "cpus": os.cpu_count(),
        "quick": args.quick,
        "concurrency": args.concurrency or "default",
    }
    print(f"[{VENDOR}] {os.cpu_count()} CPUs; emulators run in this process", flush=True)
    emulator = vk_testing.start(rate_limits=False)
    try:
        if args.quick or args.only in (None, "ceiling"):
            capacity = emulator_capacity(emulator, 2.0 if args.quick else 5.0)
            fresh = emulator_capacity(emulator, 2.0 if args.quick else 5.0, keep_alive=False)
            results.update(
                emulator_capacity_per_s=round(capacity, 1),
                emulator_capacity_new_connection_per_s=round(fresh, 1),
            )
            print(
                f"emulator capacity with a trivial client: {capacity:.0f} posts/s with keep-alive, "
                f"{fresh:.0f} posts/s with a connection per post",
                flush=True,
            )
            counts = [2] if args.quick else [int(w) for w in args.workers.split(",")]
            results["ceiling"] = []
            for workers in counts:
                row = ceiling(emulator, args.targets or (400 if args.quick else 20_000), workers, capacity)
                _say(f"ceiling, {workers} worker(s)", row)
                results["ceiling"].append(row)
            best = max(results["ceiling"], key=lambda r: r["throughput_per_s"])
            results.update(
                {
                    k: best[k]
                    for k in (
                        "targets",
                        "published",
                        "duplicates",
                        "lost",
                        "throughput_per_s",
                        "ceiling_per_s",
                        "ratio",
                        "p99_lateness_s",
                        "cpu_s_per_1000",
                        "statements_per_target",
                    )
                }
            )
            results["best_workers"] = best["workers"]
        if not args.quick and args.only in (None, "ratelimit"):
            runs = []
            for n in range(max(1, args.saturation_runs)):
                runs.append(saturation(args.saturation_seconds))
                _say(f"rate-limit saturation, run {n + 1}", runs[-1])
            results["saturation"] = runs[0]
            if len(runs) > 1:
                results["saturation_runs"] = runs
            results["rate_limit_errors_per_run"] = [r["rate_limit_errors"] for r in runs]
            results["min_share_of_allowed_per_run"] = [r["min_share_of_allowed"] for r in runs]
            print(
                f"rate-limit errors per run: {results['rate_limit_errors_per_run']}; lowest share of "
                f"the allowed rate per run: {results['min_share_of_allowed_per_run']}",
                flush=True,
            )
        if not args.quick and args.only in (None, "lateness"):
            results["lateness_under_load"] = lateness_under_load(
                emulator, args.load_rate, args.load_seconds, args.load_workers
            )
            _say("lateness under load", results["lateness_under_load"])
            if "ceiling" not in results:
                load = results["lateness_under_load"]
                results.update(targets=load["targets"], published=load["published"])
            results["p99_lateness_under_load_s"] = results["lateness_under_load"]["p99_lateness_s"]
    finally:
        emulator.stop()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
