"""Acceptance: `rupor serve --demo` as a real process — migrate, serve, emulators, clean shutdown."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _free_block(size: int) -> int:
    for _ in range(50):
        base = _free_port()
        ok = True
        for port in range(base, base + size):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free port block")


def _wait(url: str, proc: subprocess.Popen[bytes], seconds: float = 60) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"rupor serve exited early with {proc.returncode}: {proc.stdout.read() if proc.stdout else ''!r}")
        try:
            return httpx.get(url, timeout=2)  # noqa: TID251 - the test is an outside client
        except httpx.TransportError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {seconds} s")


def test_serve_demo_end_to_end(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "RUPOR_SECRET_KEY")}
    env.update({"RUPOR_HOME": str(tmp_path / "home"), "RUPOR_DEMO_PORT_BASE": str(_free_block(3))})
    cmd = [sys.executable, "-m", "rupor.cli.main"]
    proc = subprocess.Popen([*cmd, "serve", "--port", str(port), "--demo"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        login = _wait(f"http://127.0.0.1:{port}/login/", proc)
        assert login.status_code == 200
        assert (tmp_path / "home" / "rupor.sqlite3").exists()
        secret = tmp_path / "home" / "secret_key"
        assert oct(secret.stat().st_mode & 0o777) == "0o600"
        out = subprocess.run([*cmd, "apikey", "create", "--workspace", "rupor-demo", "--role", "analyst"],
                             env=env, capture_output=True, text=True, check=True)
        key = out.stdout.strip().splitlines()[-1]
        headers = {"Authorization": f"Bearer {key}"}
        me = httpx.get(f"http://127.0.0.1:{port}/api/v1/me", headers=headers, timeout=5)  # noqa: TID251
        assert me.status_code == 200 and me.json()["role"] == "analyst"
        channels = httpx.get(f"http://127.0.0.1:{port}/api/v1/channels", headers=headers, timeout=5).json()  # noqa: TID251
        assert {c["network"] for c in channels} >= {"vk", "ok"}
        posts = httpx.get(f"http://127.0.0.1:{port}/api/v1/posts", headers=headers, timeout=5).json()  # noqa: TID251
        assert any(p["status"] == "scheduled" for p in posts)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, proc.stdout.read() if proc.stdout else b""
