"""The short-link redirect (``GET /l/<code>``) timed through Django's whole stack in process:
lookup, classification, the burst and unique checks and the click's insert, over a table that
already holds ``--clicks`` clicks. Prints p50/p95 per redirect and one JSON object last.

    python bench/links_redirect.py [--clicks 200000] [--requests 2000]
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/x python bench/links_redirect.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import benchenv  # noqa: E402 - bench/ is on the path when a benchmark runs as a script

VENDOR = benchenv.setup("rupor_bench_links", "rupor-bench-links-")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rupor.settings")
import django  # noqa: E402 - the environment (database, home) is set up first

django.setup()
from django.core.management import call_command  # noqa: E402 - the environment is set up first
from django.test import Client  # noqa: E402 - the environment is set up first

from rupor.accounts import service as accounts  # noqa: E402 - the environment is set up first
from rupor.core import clock  # noqa: E402 - the environment is set up first
from rupor.links import service as links  # noqa: E402 - the environment is set up first
from rupor.links.models import LinkClick, LinkSettings, ShortLink  # noqa: E402 - the environment is set up first

AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1",
    "TelegramBot (like TwitterBot)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clicks", type=int, default=200_000, help="Clicks stored before timing")
    parser.add_argument("--links", type=int, default=2_000)
    parser.add_argument("--requests", type=int, default=2_000)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    owner = accounts.create_user(f"bench{time.time_ns()}@example.com", "bench-password-long-enough")
    ws = accounts.create_workspace("Bench links", owner)
    LinkSettings.objects.create(workspace=ws, utm_enabled=True, short_links=True)
    codes = []
    for i in range(args.links):
        ref = links.VariantRef(ws.pk, i + 1, i + 1, 1, ("vk", "telegram", "ok")[i % 3])
        text = links.track(ref, text=f"https://shop.example/p/{i}", link=None, first_comment=None).text
        codes.append(text.rsplit("/l/", 1)[1])
    ids = list(ShortLink.objects.filter(workspace=ws).values_list("pk", flat=True))
    start = clock.now() - dt.timedelta(days=30)
    batch = [
        LinkClick(
            link_id=ids[n % len(ids)],
            at=start + dt.timedelta(seconds=n * 10),
            day=(start + dt.timedelta(seconds=n * 10)).date(),
            visitor=f"{n:032x}",
            address=f"{n % 5000:032x}",
            bot=n % 3 == 1,
            unique=n % 3 == 0,
        )
        for n in range(args.clicks)
    ]
    LinkClick.objects.bulk_create(batch, batch_size=5000)
    client = Client(HTTP_HOST="127.0.0.1")
    times = []
    for n in range(args.requests):
        code = codes[n % len(codes)]
        began = time.perf_counter()
        answer = client.get(
            f"/l/{code}",
            HTTP_USER_AGENT=AGENTS[n % len(AGENTS)],
            REMOTE_ADDR=f"198.51.{n // 250 % 250}.{n % 250}",
        )
        times.append((time.perf_counter() - began) * 1000)
        assert answer.status_code == 302
    began = time.perf_counter()
    for _ in range(200):
        assert client.get("/l/NoSuchCd").status_code == 404
    unknown_ms = (time.perf_counter() - began) * 1000 / 200
    p50 = statistics.median(times)
    p95 = statistics.quantiles(times, n=20)[-1]
    print(
        f"{VENDOR}: redirect with click p50 {p50:.2f} ms, p95 {p95:.2f} ms; unknown code {unknown_ms:.2f} ms"
    )
    print(
        json.dumps(
            {
                "vendor": VENDOR,
                "stored_clicks": args.clicks,
                "requests": args.requests,
                "p50_ms": round(p50, 2),
                "p95_ms": round(p95, 2),
                "unknown_ms": round(unknown_ms, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
