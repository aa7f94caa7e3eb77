"""The inbox's audience features at scale: the priority sort, the opinion-leaders ranking and the
authors' lookup against the VK emulator.

    python bench/audience.py                 # 20,000 items by 3,000 people; last line is JSON
    python bench/audience.py --items 100000 --people 10000

Figures: the urgent (priority) list's first page, in ms; ``leaders()`` over everything, in ms
(rows read, people, reply edges); looking up ``--lookup`` people through ``Adapter.people``
against the VK emulator over real HTTP (calls made, ms). A throwaway RUPOR_HOME (SQLite);
``DATABASE_URL`` for PostgreSQL (a fresh ``bench_audience`` database there).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import benchenv  # noqa: E402 - bench/ is on the path when a benchmark runs as a script

VENDOR = benchenv.setup("bench_audience")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rupor.settings")
import django  # noqa: E402 - the environment (database, home) is set up first

django.setup()
from django.core.management import call_command  # noqa: E402 - the environment is set up first

from rupor.accounts import service as accounts  # noqa: E402 - the environment is set up first
from rupor.core import clock  # noqa: E402 - the environment is set up first
from rupor.inbox import audience  # noqa: E402 - the environment is set up first
from rupor.inbox import service as inbox  # noqa: E402 - the environment is set up first
from rupor.inbox.models import InboxItem  # noqa: E402 - the environment is set up first
from rupor.inbox.testing import connect  # noqa: E402 - the environment is set up first
from rupor.networks import registry  # noqa: E402 - the environment is set up first
from rupor.networks.vk import testing as vk_testing  # noqa: E402 - the environment is set up first


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--people", type=int, default=3_000)
    parser.add_argument("--lookup", type=int, default=2_500)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    emulator = vk_testing.start(rate_limits=False)
    try:
        ws = accounts.create_workspace(
            "Bench", accounts.create_user("bench@example.com", "a-long-passphrase-42")
        )
        access = vk_testing.channel_for(emulator, settings={"pace": False})
        channel = connect(ws, access)
        rng = random.Random(7)
        now = clock.now()
        labels = ["complaint", "negative", "question", "praise", "neutral", "spam", ""]
        # A heavy-tailed audience: a few people write and are answered far more than the rest.
        weights = [1 / (k + 1) for k in range(args.people)]
        authors = rng.choices(range(args.people), weights=weights, k=args.items)
        rows = []
        for n, who in enumerate(authors):
            parent = f"c{rng.randrange(n)}" if n and rng.random() < 0.4 else ""
            rows.append(
                InboxItem(
                    workspace_id=ws.pk,
                    channel_id=channel.pk,
                    kind="comment",
                    remote_id=f"c{n}",
                    conversation_remote_id=f"-1_{n // 50}",
                    parent_remote_id=parent,
                    author_remote_id=str(50_000 + who),
                    author_name=f"Person {who}",
                    author_followers=int(10 ** rng.uniform(0, 5)) if rng.random() < 0.8 else None,
                    label=rng.choice(labels),
                    occurred_at=now - dt.timedelta(minutes=rng.randrange(60 * 24 * 30)),
                )
            )
        InboxItem.objects.bulk_create(rows, batch_size=2000)
        figures: dict[str, object] = {"vendor": VENDOR, "items": args.items, "people": args.people}

        start = time.perf_counter()
        page = list(inbox.list_items(ws.pk, inbox.Filters(urgent_first=True, include_outgoing=False))[:200])
        figures["urgent_page_ms"] = _ms(start)
        assert len(page) == 200

        start = time.perf_counter()
        ranked = audience.leaders(ws.pk, limit=100)
        figures["leaders_ms"] = _ms(start)
        figures["leaders_people_ranked"] = len(ranked)
        figures["top_score"] = ranked[0].score if ranked else None

        state = vk_testing.state(emulator)
        before = state.calls["users.get"]
        start = time.perf_counter()
        found = registry.adapter("vk").people(access, [str(50_000 + i) for i in range(args.lookup)])
        figures["lookup_people"] = len(found)
        figures["lookup_ms"] = _ms(start)
        figures["lookup_calls"] = state.calls["users.get"] - before
        for key, value in figures.items():
            print(f"{key}: {value}")
        print(json.dumps(figures))
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
