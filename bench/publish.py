"""Publishing engine benchmark.

    python bench/publish.py --quick          # < 1 minute; last line is one JSON object
    python bench/publish.py                  # the full run (engine ceiling, rate limits, lateness)
    DATABASE_URL=postgresql://... python bench/publish.py --quick

Figures:
1. engine ceiling: N targets due at once, emulator limits off, 1/2/4 worker processes; targets/s,
   p50/p99 lateness, CPU s per 1000 targets, peak RSS per worker; the emulator's own capacity
   measured with a trivial client; ratio engine/ceiling.
2. rate-limit saturation: real limits on; achieved rate as a share of the declared rate, and the
   number of rate-limit errors the network returned.
3. lateness under load: targets due continuously at a fixed rate; p99 lateness.

Uses a throwaway RUPOR_HOME (SQLite) or a fresh ``bench_publish`` database (PostgreSQL).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _setup_env() -> str:
    os.environ.setdefault("RUPOR_HOME", tempfile.mkdtemp(prefix="rupor-bench-"))
    os.environ.setdefault("RUPOR_SECRET_KEY", "bench-secret-key-that-is-long-enough-0123456789abcdef")
    os.environ["RUPOR_ALLOW_PRIVATE_URLS"] = "127.0.0.1"
    os.environ.setdefault("RUPOR_LOG_LEVEL", "ERROR")
    os.environ.setdefault("RUPOR_WORKER_POLL_S", "0.05")
    os.environ.setdefault("RUPOR_LEASE_S", "30")
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        import psycopg

        base, _, _ = url.rpartition("/")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS bench_publish WITH (FORCE)")
            conn.execute("CREATE DATABASE bench_publish")
        os.environ["DATABASE_URL"] = f"{base}/bench_publish"
        return "postgresql"
    return "sqlite"


VENDOR = _setup_env()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rupor.settings")
import django  # noqa: E402

django.setup()
from django.core.management import call_command  # noqa: E402

from rupor.core import clock, http  # noqa: E402
from rupor.networks.vk import testing as vk_testing  # noqa: E402
from rupor.publishing import testing as pt  # noqa: E402
from rupor.publishing.models import PublicationTarget, TargetState  # noqa: E402

call_command("migrate", verbosity=0)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, round(q * (len(values) - 1)))], 3)


def emulator_capacity(emulator: Any, seconds: float = 3.0, threads: int = 8) -> float:
    """Posts per second the emulator takes from a trivial client (no engine, no database)."""
    creds = vk_testing.demo_credentials()
    count = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def hammer() -> None:
        with http.client(base_url=emulator.url, timeout=10) as c:
            n = 0
            while time.monotonic() < stop:
                c.post("/method/wall.post", data={"owner_id": f"-{vk_testing.DEMO_REMOTE_ID}", "from_group": 1,
                                                  "message": "capacity probe", "access_token": creds["user_token"], "v": "5.199"})
                n += 1
            with lock:
                count[0] += n

    ts = [threading.Thread(target=hammer) for _ in range(threads)]
    start = time.monotonic()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return count[0] / (time.monotonic() - start)


def run_workers(n: int, *, rate_limits: str, concurrency: int = 8, until_done: list[int] | None = None,
                duration: float | None = None) -> dict[str, Any]:
    """Start ``n`` worker processes; stop when ``until_done`` targets are final or after ``duration``."""
    procs = []
    for i in range(n):
        cmd = [sys.executable, "-c", (
            "import resource,sys,json;from rupor.publishing.__main__ import main;"
            "main(sys.argv[1:]);ru=resource.getrusage(resource.RUSAGE_SELF);"
            "print(json.dumps({'cpu':ru.ru_utime+ru.ru_stime,'rss_kb':ru.ru_maxrss}))"
        ), "--concurrency", str(concurrency), "--rate-limits", rate_limits, "--worker-id", f"bench-{i}",
            "--retry-base", "0.5"]
        procs.append(subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=os.environ))
    start = time.monotonic()
    while True:
        time.sleep(0.2)
        if until_done is not None:
            left = PublicationTarget.objects.filter(pk__in=until_done, state__in=[
                TargetState.SCHEDULED, TargetState.PUBLISHING, TargetState.WAITING]).count()
            if left == 0:
                break
        if duration is not None and time.monotonic() - start >= duration:
            break
        if time.monotonic() - start > 600:
            break
    elapsed = time.monotonic() - start
    stats = []
    for p in procs:
        p.terminate()
    for p in procs:
        out, _ = p.communicate(timeout=60)
        try:
            stats.append(json.loads(out.decode().strip().splitlines()[-1]))
        except (ValueError, IndexError):
            stats.append({"cpu": 0.0, "rss_kb": 0})
    return {"elapsed": elapsed, "cpu": sum(s["cpu"] for s in stats), "rss_mb": max(s["rss_kb"] for s in stats) / 1024}


def lateness(ids: list[int]) -> list[float]:
    rows = PublicationTarget.objects.filter(pk__in=ids, state=TargetState.PUBLISHED).values_list("due_at", "published_at")
    return [max(0.0, (p - d).total_seconds()) for d, p in rows if p and d]


def vk_channels(emulator: Any, count: int) -> list[Any]:
    access = vk_testing.channel_for(emulator, settings={"pace": False})  # the engine paces
    return [pt.channel(pt.workspace(f"bench {i}", late_window_minutes=600), access) for i in range(count)]


def ceiling(emulator: Any, targets: int, workers: int, capacity: float) -> dict[str, Any]:
    PublicationTarget.objects.all().delete()
    marker = f"ceil{workers}-{time.monotonic_ns()}"
    ids = pt.bulk_schedule(vk_channels(emulator, 4), targets, clock.now(), marker)
    run = run_workers(workers, rate_limits="off", until_done=ids)
    late = lateness(ids)
    published = len(late)
    dupes = max(0, vk_testing.posts_with(emulator, marker) - published)
    rate = published / run["elapsed"] if run["elapsed"] else 0.0
    return {
        "workers": workers, "targets": targets, "published": published, "duplicates": dupes,
        "lost": targets - published - PublicationTarget.objects.filter(pk__in=ids, state__in=[TargetState.FAILED, TargetState.UNCONFIRMED]).count(),
        "throughput_per_s": round(rate, 1), "p50_lateness_s": percentile(late, 0.5), "p99_lateness_s": percentile(late, 0.99),
        "cpu_s_per_1000": round(run["cpu"] / max(1, published) * 1000, 2), "peak_rss_mb_per_worker": round(run["rss_mb"], 1),
        "ceiling_per_s": round(capacity, 1), "ratio": round(rate / capacity, 3) if capacity else None,
    }


def saturation(seconds: float) -> dict[str, Any]:
    """VK with real limits: the engine's declared limits (if the adapter declares them) vs the
    emulator's 429/error-6 answers."""
    from rupor.networks import registry

    emulator = vk_testing.start(rate_limits=True)
    try:
        PublicationTarget.objects.all().delete()
        chans = vk_channels(emulator, 1)
        ids = pt.bulk_schedule(chans, 400, clock.now(), f"sat-{time.monotonic_ns()}")
        limits = list(registry.adapter("vk").rate_limits(vk_testing.channel_for(emulator)))
        run = run_workers(2, rate_limits="database", duration=seconds)
        done = PublicationTarget.objects.filter(pk__in=ids, state=TargetState.PUBLISHED).count()
        from rupor.publishing.models import Attempt

        errors = Attempt.objects.filter(target_id__in=ids, outcome="rate_limited").count()
        allowed = min((lim.limit / lim.per_s / max(1, lim.cost) for lim in limits), default=None)
        achieved = done / run["elapsed"]
        return {"declared_limits": [f"{lim.limit}/{lim.per_s}s x{lim.cost}" for lim in limits],
                "achieved_per_s": round(achieved, 2), "allowed_per_s": allowed,
                "share_of_allowed": round(achieved / allowed, 3) if allowed else None, "rate_limit_errors": errors}
    finally:
        emulator.stop()


def lateness_under_load(emulator: Any, per_s: int, seconds: int) -> dict[str, Any]:
    PublicationTarget.objects.all().delete()
    chans = vk_channels(emulator, 4)
    start = clock.now()
    ids: list[int] = []
    import datetime as dt

    for second in range(seconds):
        ids += pt.bulk_schedule(chans, per_s, start + dt.timedelta(seconds=second + 2), f"load{second}-{time.monotonic_ns()}")
    run_workers(4, rate_limits="off", duration=seconds + 5)
    late = lateness(ids)
    return {"rate_per_s": per_s, "seconds": seconds, "published": len(late), "p50_lateness_s": percentile(late, 0.5),
            "p99_lateness_s": percentile(late, 0.99)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--targets", type=int, default=None)
    args = parser.parse_args()
    emulator = vk_testing.start(rate_limits=False)
    capacity = emulator_capacity(emulator, 2.0 if args.quick else 5.0)
    print(f"[{VENDOR}] emulator capacity with a trivial client: {capacity:.0f} posts/s", flush=True)
    if args.quick:
        result = ceiling(emulator, args.targets or 400, 2, capacity)
        result["database"] = VENDOR
        print(json.dumps(result))
        return
    results: dict[str, Any] = {"database": VENDOR, "emulator_capacity_per_s": round(capacity, 1), "ceiling": []}
    for workers in (1, 2, 4):
        row = ceiling(emulator, args.targets or 20_000, workers, capacity)
        print(json.dumps(row), flush=True)
        results["ceiling"].append(row)
    results["saturation"] = saturation(20)
    print(json.dumps(results["saturation"]), flush=True)
    results["lateness_under_load"] = lateness_under_load(emulator, 200, 60)
    print(json.dumps(results["lateness_under_load"]), flush=True)
    best = max(results["ceiling"], key=lambda r: r["throughput_per_s"])
    results.update({k: best[k] for k in ("targets", "published", "duplicates", "lost", "throughput_per_s", "ceiling_per_s")})
    results["p99_lateness_s"] = results["lateness_under_load"]["p99_lateness_s"]
    print(json.dumps(results))


if __name__ == "__main__":
    del resource
    main()
