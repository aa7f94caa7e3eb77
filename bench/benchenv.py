"""What every benchmark sets up before Django starts: a throwaway RUPOR_HOME, a secret key, the
emulators' loopback address allowed, quiet logs, and on PostgreSQL (``DATABASE_URL``) a fresh
database of the benchmark's own, so a run never touches another's data."""

from __future__ import annotations

import os
import tempfile


def setup(db_name: str, home_prefix: str = "rupor-bench-") -> str:
    """Set the environment for a run; returns the database vendor ("sqlite" or "postgresql")."""
    os.environ.setdefault("RUPOR_HOME", tempfile.mkdtemp(prefix=home_prefix))
    os.environ.setdefault("RUPOR_SECRET_KEY", "bench-secret-key-that-is-long-enough-0123456789abcdef")
    os.environ["RUPOR_ALLOW_PRIVATE_URLS"] = "127.0.0.1"
    os.environ.setdefault("RUPOR_LOG_LEVEL", "ERROR")
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        return "sqlite"
    import psycopg

    db_name = os.environ.get("RUPOR_BENCH_DB", db_name)  # a name of one's own on a shared server

    base, _, _ = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {db_name}")
    os.environ["DATABASE_URL"] = f"{base}/{db_name}"
    return "postgresql"
