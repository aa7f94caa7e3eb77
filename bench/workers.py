"""Many workers against one PostgreSQL: posts falling due, workers killed, connections refused.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/x python bench/workers.py --quick   # < 1 minute
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/x python bench/workers.py           # the full run

N ``rupor worker`` processes (``--workers``, 8) with ``--concurrency`` threads (4) and a pool of
``--pool-max`` connections each (2) publish M posts (``--posts``, 6,000) on three emulated
networks (VK, Mastodon, Bluesky: each honours an idempotency key, so every post must be
published, exactly once), falling due evenly over ``--spread`` seconds (60). The networks'
declared rate limits are off (``--rate-limits configured`` keeps them, and then one emulated
account's limits are what is measured: Mastodon's 300 requests in 5 minutes, Bluesky's 5,000
write points an hour), so the workers run ``python -m rupor.publishing --rate-limits off``, the
same loop as ``rupor worker`` without its periodic jobs. Every
``--kill-every`` seconds (3) while posts fall due one worker is killed with SIGKILL and a new one
started. The workers log in as a role PostgreSQL lets open only ``--role-limit`` connections
(default: one worker's pool fewer than they would all open), so some are always refused, and at
half the spread every connection of that role is terminated at once (the server going away).
With Redis (``RUPOR_REDIS_URL``, default ``redis://127.0.0.1:6379/7``) the workers share rate
limits and the journal of database troubles the health page reads.

Figures (each as it comes, then one JSON object as the last line): ``published_per_s`` (posts
published / seconds from the first due moment to the last publication), ``arrival_per_s`` (the
rate they fell due at), lateness p50/p95/p99/max (published_at - due_at), ``duplicates`` (posts
the emulators hold more than once: must be 0), ``stranded`` (targets not published once the
run settles: must be 0), ``kills``, ``terminated`` (connections the server dropped), the
troubles the journal holds (``refused``, ``lost``, ``exhausted``: connections refused, lost, or
not free in the pool in time) and ``reconnects`` (the workers' heartbeats: troubles each met and
got over), the peak number of connections the workers' role held, the load average and the
CPU count: the machine is shared, so say what else was running.

Uses a fresh database of its own (``bench_workers``, or ``RUPOR_BENCH_DB``) and a throwaway
RUPOR_HOME; the emulators run inside this process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import benchenv  # noqa: E402 - bench/ is on the path when a benchmark runs as a script

if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
    sys.exit("bench/workers.py measures many workers on one PostgreSQL: set DATABASE_URL=postgresql://...")
VENDOR = benchenv.setup("bench_workers")
os.environ.setdefault("RUPOR_REDIS_URL", "redis://127.0.0.1:6379/7")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rupor.settings")
import django  # noqa: E402 - the environment (database, home) is set up first

django.setup()
from django.core.management import call_command  # noqa: E402 - the environment (database, home) is set up first
from django.db import connection  # noqa: E402 - the environment (database, home) is set up first

from rupor.core import clock, dbwatch  # noqa: E402 - the environment (database, home) is set up first
from rupor.networks.bluesky import testing as bsky_testing  # noqa: E402 - the environment (database, home) is set up first
from rupor.networks.mastodon import testing as mastodon_testing  # noqa: E402 - the environment (database, home) is set up first
from rupor.networks.vk import testing as vk_testing  # noqa: E402 - the environment (database, home) is set up first
from rupor.planning.models import PostVariant  # noqa: E402 - the environment (database, home) is set up first
from rupor.publishing import testing as pt  # noqa: E402 - the environment (database, home) is set up first
from rupor.publishing.models import PublicationTarget, TargetState, WorkerHeartbeat  # noqa: E402 - the environment (database, home) is set up first

MODULES: dict[str, Any] = {"vk": vk_testing, "mastodon": mastodon_testing, "bluesky": bsky_testing}
TERMINAL = [TargetState.PUBLISHED, TargetState.FAILED, TargetState.UNCONFIRMED, TargetState.MISSED]
#: The first post falls due this long after the workers have checked in.
LEAD_S = 3.0
FAR = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


def say(text: str) -> None:
    print(text, flush=True)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def db_url(user: str, password: str) -> str:
    s = connection.settings_dict
    auth = f"{user}:{password}" if password else user
    return f"postgresql://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def sql(statement: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])
        return list(cursor.fetchall()) if cursor.description else []


def limited_role(limit: int) -> tuple[str, str]:
    role, password = f"rupor_workers_bench_{uuid.uuid4().hex[:6]}", uuid.uuid4().hex
    sql(f"CREATE ROLE {role} LOGIN PASSWORD %s CONNECTION LIMIT {limit}", [password])
    sql(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
    sql(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}")
    return role, password


def drop_role(role: str) -> None:
    sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", [role])
    sql(f"DROP OWNED BY {role}")
    sql(f"DROP ROLE IF EXISTS {role}")


def schedule(posts: int, emulators: dict[str, Any]) -> dict[int, tuple[str, str]]:
    """``posts`` targets spread over the networks, due far in the future until :func:`fall_due`."""
    run = uuid.uuid4().hex[:6]
    texts: dict[int, tuple[str, str]] = {}
    per = posts // len(MODULES)
    for network, mod in MODULES.items():
        access = mod.channel_for(emulators[network])
        access = type(access)(
            access.network,
            access.remote_id,
            access.credentials,
            access.base_url,
            {**access.settings, "timeout": 5, "pace": False},
        )
        ch = pt.channel(pt.workspace(f"bench {network}", late_window_minutes=120), access)
        for i, target_id in enumerate(pt.bulk_schedule([ch], per, FAR, f"bw{run}{network}")):
            texts[target_id] = (network, f"bw{run}{network} #{i}~")  # ended: #1 is no prefix of #10
    variants = list(PostVariant.objects.filter(target__pk__in=list(texts)).values_list("pk", "target__pk"))
    PostVariant.objects.bulk_update(
        [PostVariant(pk=v, text=texts[t][1]) for v, t in variants], ["text"], batch_size=1000
    )
    return texts


def fall_due(ids: list[int], spread: float) -> dt.datetime:
    """Make the targets fall due one after another over ``spread`` seconds from LEAD_S on,
    networks interleaved; returns the first due moment."""
    first = clock.now() + dt.timedelta(seconds=LEAD_S)
    step = spread / max(1, len(ids))
    order = {pk: i for i, pk in enumerate(random.Random(1).sample(ids, len(ids)))}
    rows = list(PublicationTarget.objects.filter(pk__in=ids).only("pk"))
    for row in rows:
        row.due_at = row.next_attempt_at = first + dt.timedelta(seconds=order[row.pk] * step)
    PublicationTarget.objects.bulk_update(rows, ["due_at", "next_attempt_at"], batch_size=1000)
    return first


def wait_for_workers(count: int, limit_s: float = 90.0) -> float:
    """Seconds until ``count`` workers have checked in (or ``limit_s``)."""
    began = time.monotonic()
    while time.monotonic() - began < limit_s:
        if WorkerHeartbeat.objects.filter(stopped_at__isnull=True).count() >= count:
            break
        time.sleep(0.5)
    return time.monotonic() - began


def spawn(env: dict[str, str], concurrency: int, log: Path, rate_limits: str) -> subprocess.Popen[bytes]:
    if rate_limits == "off":  # the same worker loop, without the networks' declared limits
        command = ["-m", "rupor.publishing", "--rate-limits", "off"]
    else:  # the product's command, periodic jobs and all
        command = ["-c", "from rupor.cli.main import cli; cli()", "worker"]
    return subprocess.Popen(
        [sys.executable, *command, "--concurrency", str(concurrency)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
        start_new_session=True,
    )


def main() -> None:  # noqa: C901 - one benchmark run, step by step, as the docstring lists it
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="3 workers, 300 posts over 10 s")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--pool-max", type=int, default=2)
    parser.add_argument("--posts", type=int, default=6000)
    parser.add_argument("--spread", type=float, default=60.0)
    parser.add_argument("--kill-every", type=float, default=3.0)
    parser.add_argument("--role-limit", type=int, default=None, help="0: the workers log in as the superuser")
    parser.add_argument("--no-terminate", action="store_true", help="never drop the workers' connections")
    parser.add_argument(
        "--rate-limits",
        choices=["off", "configured"],
        default="off",
        help="off (default): workers as `python -m rupor.publishing --rate-limits off`, so the figures are the "
        "engine's and not one emulated account's limits; configured: `rupor worker` as shipped",
    )
    parser.add_argument(
        "--settle", type=float, default=120.0, help="seconds allowed after the last post falls due"
    )
    args = parser.parse_args()
    if args.quick:
        args.workers, args.posts, args.spread = 3, 300, 10.0
    limit = args.role_limit if args.role_limit is not None else max(1, (args.workers - 1) * args.pool_max)

    call_command("migrate", verbosity=0)
    dbwatch.forget()
    emulators = {n: m.start(rate_limits=False, seed=11) for n, m in MODULES.items()}
    role, password = limited_role(limit) if limit else ("", "")
    home = Path(os.environ["RUPOR_HOME"])
    log = home / "workers.log"
    env = dict(os.environ)
    env.update(
        DATABASE_URL=db_url(role, password) if role else os.environ["DATABASE_URL"],
        RUPOR_DB_POOL_MAX=str(args.pool_max),
        RUPOR_DB_POOL_TIMEOUT="3",
        RUPOR_LEASE_S="5",
        RUPOR_WORKER_POLL_S="0.2",
        RUPOR_LOG_LEVEL="WARNING",
    )
    say(
        f"workers ({args.rate_limits} rate limits): {args.workers} x {args.concurrency} threads, pool {args.pool_max} each, role limit "
        f"{limit or 'none'}; {args.posts} posts over {args.spread:.0f} s, a kill every {args.kill_every} s; "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f} at start"
    )
    procs: list[subprocess.Popen[bytes]] = []
    rng = random.Random(7)
    try:
        texts = schedule(args.posts, emulators)
        ids = list(texts)
        workers = [spawn(env, args.concurrency, log, args.rate_limits) for _ in range(args.workers)]
        procs += workers
        # Each worker needs one connection to check in (a role limited below that leaves some
        # refused until another is killed). Start the clock when those that can are up.
        up_s = wait_for_workers(min(args.workers, limit) if limit else args.workers)
        say(f"workers up in {up_s:.1f} s")
        first_due = fall_due(ids, args.spread)
        lead = max(0.0, (first_due - clock.now()).total_seconds())
        kills = terminated = peak_connections = 0
        last_due_m = time.monotonic() + lead + args.spread
        terminate_at = time.monotonic() + lead + args.spread / 2
        next_kill = time.monotonic() + lead + args.kill_every
        loads = []
        while time.monotonic() < last_due_m + args.settle:
            time.sleep(0.5)
            now_m = time.monotonic()
            loads.append(os.getloadavg()[0])
            if role:
                peak_connections = max(
                    peak_connections,
                    sql("SELECT count(*) FROM pg_stat_activity WHERE usename = %s", [role])[0][0],
                )
            if args.kill_every and now_m >= next_kill and now_m < last_due_m:
                victim = rng.randrange(len(workers))
                os.killpg(workers[victim].pid, signal.SIGKILL)
                workers[victim].wait()
                kills += 1
                workers[victim] = spawn(env, args.concurrency, log, args.rate_limits)
                procs.append(workers[victim])
                next_kill = now_m + args.kill_every
            if role and not args.no_terminate and not terminated and now_m >= terminate_at:
                terminated = sql(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = %s", [role]
                )[0][0]
                say(
                    f"terminated {terminated} connections of the workers at {now_m - terminate_at + args.spread / 2:.0f} s"
                )
            if (
                now_m > last_due_m
                and not PublicationTarget.objects.filter(pk__in=ids).exclude(state__in=TERMINAL).exists()
            ):
                break
        settled_s = time.monotonic() - last_due_m
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)

        rows = list(
            PublicationTarget.objects.filter(pk__in=ids).values_list("pk", "state", "due_at", "published_at")
        )
        published = [
            (due, at) for _pk, state, due, at in rows if state == TargetState.PUBLISHED and at and due
        ]
        stranded = [pk for pk, state, _due, _at in rows if state != TargetState.PUBLISHED]
        lateness = [max(0.0, (at - due).total_seconds()) for due, at in published]
        last_at = max((at for _due, at in published), default=first_due)
        span = max(0.001, (last_at - first_due).total_seconds())
        duplicates = sum(
            1 for pk, (n, text) in texts.items() if MODULES[n].posts_with(emulators[n], text) > 1
        )
        troubles = {t.kind: t.last_15_minutes for t in dbwatch.recent()}
        beats = list(WorkerHeartbeat.objects.values_list("db_errors", flat=True))
        figures = {
            "workers": args.workers,
            "concurrency": args.concurrency,
            "pool_max": args.pool_max,
            "role_limit": limit,
            "rate_limits": args.rate_limits,
            "posts": len(ids),
            "published": len(published),
            "published_per_s": round(len(published) / span, 1),
            "arrival_per_s": round(len(ids) / args.spread, 1),
            "lateness_p50_s": round(percentile(lateness, 0.5) or 0, 3),
            "lateness_p95_s": round(percentile(lateness, 0.95) or 0, 3),
            "lateness_p99_s": round(percentile(lateness, 0.99) or 0, 3),
            "lateness_max_s": round(max(lateness, default=0), 3),
            "duplicates": duplicates,
            "stranded": len(stranded),
            "settled_after_last_due_s": round(settled_s, 1),
            "kills": kills,
            "workers_started": len(procs),
            "terminated": terminated,
            "refused": troubles.get(dbwatch.REFUSED, 0),
            "lost": troubles.get(dbwatch.LOST, 0),
            "exhausted": troubles.get(dbwatch.EXHAUSTED, 0),
            "reconnects": sum(beats),
            "workers_that_met_trouble": sum(1 for b in beats if b),
            "peak_role_connections": peak_connections,
            "load_avg_mean": round(sum(loads) / max(1, len(loads)), 2),
            "cpus": os.cpu_count(),
        }
        for key, value in figures.items():
            say(f"  {key}: {value}")
        if stranded:
            say(f"  not published: {sorted(stranded)[:20]} (log: {log})")
        print(json.dumps(figures), flush=True)
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
        for emulator in emulators.values():
            emulator.stop()
        if role:
            drop_role(role)


if __name__ == "__main__":
    main()
