"""``python -m rupor.publishing [--once] [--concurrency N] ...``: run one publishing worker.

The product's command is ``rupor worker``; this entry point exists for tests and benchmarks,
which start worker processes against a given database and tune retry timings.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rupor.publishing", description="Run one Rupor publishing worker."
    )
    parser.add_argument("--once", action="store_true", help="publish what is due, then exit")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--worker-id", default=None)
    parser.add_argument("--database-name", default=None, help="use this database (tests, benchmarks)")
    parser.add_argument(
        "--rate-limits", choices=["configured", "database", "memory", "off"], default="configured"
    )
    parser.add_argument("--retry-base", type=float, default=None, help="first backoff in seconds")
    parser.add_argument("--reconcile-delay", type=float, default=None)
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rupor.settings")
    import django
    from django.conf import settings

    if args.database_name:
        settings.DATABASES["default"]["NAME"] = args.database_name
    django.setup()
    from rupor.publishing import worker

    worker.configure(
        rate_limits=args.rate_limits, retry_base=args.retry_base, reconcile_delay=args.reconcile_delay
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    worker.run_worker(once=args.once, stop=stop, worker_id=args.worker_id, concurrency=args.concurrency)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
