"""Acceptance: `rupor serve --demo` as a real process — migrate, serve, emulators, clean shutdown."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from rupor.cli import webprocs
from rupor.networks import registry

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
            raise AssertionError(
                f"rupor serve exited early with {proc.returncode}: {proc.stdout.read() if proc.stdout else ''!r}"
            )
        try:
            return httpx.get(url, timeout=2)  # noqa: TID251 - the test is an outside client
        except httpx.TransportError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {seconds} s")


def _readme_api_example() -> str:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("With the demo running (`make run`), paste this", 1)[1]
    return section.split("```sh\n", 1)[1].split("```", 1)[0]


def test_serve_demo_end_to_end(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "RUPOR_SECRET_KEY")}
    env.update(
        {
            "RUPOR_HOME": str(tmp_path / "home"),
            "RUPOR_DEMO_PORT_BASE": str(
                _free_block(len(registry.NETWORKS) + 3)
            ),  # networks, drand, Metrica, GA4
        }
    )
    cmd = [sys.executable, "-m", "rupor.cli.main"]
    proc = subprocess.Popen(
        [*cmd, "serve", "--port", str(port), "--demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        login = _wait(f"http://127.0.0.1:{port}/login/", proc)
        assert login.status_code == 200
        assert (tmp_path / "home" / "rupor.sqlite3").exists()
        secret = tmp_path / "home" / "secret_key"
        assert oct(secret.stat().st_mode & 0o777) == "0o600"
        out = subprocess.run(
            [*cmd, "apikey", "create", "--workspace", "rupor-demo", "--role", "analyst"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        key = out.stdout.strip().splitlines()[-1]
        headers = {"Authorization": f"Bearer {key}"}
        me = httpx.get(f"http://127.0.0.1:{port}/api/v1/me", headers=headers, timeout=5)  # noqa: TID251 - a real outside client of the served process, not Rupor's guarded one
        assert me.status_code == 200 and me.json()["role"] == "analyst"
        channels = httpx.get(f"http://127.0.0.1:{port}/api/v1/channels", headers=headers, timeout=5).json()  # noqa: TID251 - a real outside client of the served process, not Rupor's guarded one
        assert {c["network"] for c in channels} >= {"vk", "ok"}
        posts = httpx.get(f"http://127.0.0.1:{port}/api/v1/posts", headers=headers, timeout=5).json()  # noqa: TID251 - a real outside client of the served process, not Rupor's guarded one
        assert any(p["status"] == "scheduled" for p in posts)
        # RUPOR_BASE_URL is unset: every address Rupor shows points where it really serves.
        out = subprocess.run(
            [*cmd, "apikey", "create", "--workspace", "rupor-demo", "--role", "admin"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        admin = {"Authorization": f"Bearer {out.stdout.strip().splitlines()[-1]}"}
        served = f"http://127.0.0.1:{port}/"
        feed = httpx.get(f"{served}api/v1/plan/ical", headers=admin, timeout=5).json()  # noqa: TID251 - a real outside client of the served process, not Rupor's guarded one
        assert feed["url"].startswith(served), feed
        hook = httpx.get(f"{served}api/v1/channels/{channels[0]['id']}/hook", headers=admin, timeout=5).json()  # noqa: TID251 - a real outside client of the served process, not Rupor's guarded one
        assert hook["url"].startswith(served), hook
        # The README's API example, pasted as it is (but for the port), schedules a post on every channel.
        if shutil.which("curl"):
            script = (
                _readme_api_example()
                .replace("http://127.0.0.1:8000/", served)
                .replace(".venv/bin/rupor", f"{sys.executable} -m rupor.cli.main")
            )
            pasted = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", script],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert pasted.returncode == 0, pasted.stderr
            posts = httpx.get(f"{served}api/v1/posts", headers=headers, timeout=5).json()  # noqa: TID251 - a real outside client of the served process, not Rupor's guarded one
            hello = [p for p in posts if p["text"] == "Hello"]
            assert len(hello) == 1 and hello[0]["status"] == "scheduled", pasted.stdout
            assert {v["channel_id"] for v in hello[0]["variants"]} == {c["id"] for c in channels}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, proc.stdout.read() if proc.stdout else b""


def _serve_with_port_taken(tmp_path, args: list[str], taken: int) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "RUPOR_SECRET_KEY")}
    env["RUPOR_HOME"] = str(tmp_path / "home")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", taken))
        holder.listen()
        return subprocess.run(
            [sys.executable, "-m", "rupor.cli.main", "serve", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )


def test_taken_port_is_a_plain_sentence_with_the_way_out(tmp_path):
    port = _free_port()
    done = _serve_with_port_taken(tmp_path, ["--port", str(port), "--no-worker"], port)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "Traceback" not in output
    assert f"Port {port} is already in use" in output
    suggested = re.search(r"make run PORT=(\d+)' or 'rupor serve --port (\d+)'", " ".join(output.split()))
    assert suggested and suggested.group(1) == suggested.group(2) and int(suggested.group(1)) != port, output


def test_taken_emulator_port_is_a_plain_sentence_with_the_way_out(tmp_path):
    port, base = _free_port(), _free_block(len(registry.NETWORKS))
    done = _serve_with_port_taken(
        tmp_path, ["--port", str(port), "--demo", "--demo-port-base", str(base)], base + 1
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "Traceback" not in output
    assert f"Port {base + 1} is already in use" in output and "emulators" in output
    suggested = re.search(
        r"make run DEMO_PORT_BASE=(\d+)' or 'rupor serve --demo --demo-port-base (\d+)'",
        " ".join(output.split()),
    )
    assert suggested and suggested.group(1) == suggested.group(2), output
    assert int(suggested.group(1)) not in range(base - 2, base + 3)  # a block that leaves the taken port out


def test_served_base_url_is_an_address_a_browser_can_open():
    from rupor.cli.main import served_base_url

    assert served_base_url("127.0.0.1", 8011) == "http://127.0.0.1:8011"
    assert served_base_url("0.0.0.0", 8011) == "http://127.0.0.1:8011"
    assert served_base_url("::1", 8011) == "http://[::1]:8011"


def _children(pid: int) -> list[int]:
    """The process's children, whichever of its threads started them."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:  # a thread that ended meanwhile
            continue
    return sorted(found)


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads child processes from /proc")
def test_serve_with_several_web_processes_restarts_a_dead_one_and_stops_them_all(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "RUPOR_SECRET_KEY")}
    env["RUPOR_HOME"] = str(tmp_path / "home")
    cmd = [
        sys.executable,
        "-m",
        "rupor.cli.main",
        "serve",
        "--port",
        str(port),
        "--processes",
        "2",
        "--no-worker",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        # Migrating a fresh database comes first: slow on a loaded machine.
        assert _wait(f"http://127.0.0.1:{port}/login/", proc, seconds=240).status_code == 200
        [server] = _children(proc.pid)  # the web server (Granian), whose workers are its children
        web = _children(server)
        assert len(web) == 2
        # A dead worker: the web server starts another.
        os.kill(web[0], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (web[0] in _children(server) or len(_children(server)) < 2):
            time.sleep(0.2)
        again = _children(server)
        assert len(again) == 2 and web[0] not in again and web[1] in again
        for _ in range(6):  # whichever process takes it, the port answers
            assert _wait(f"http://127.0.0.1:{port}/login/", proc).status_code == 200
        # A dead web server, past its "died at start" window: serve starts it again.
        time.sleep(webprocs.FAILED_START_S + 1)
        os.kill(server, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _children(proc.pid) in ([server], []):
            time.sleep(0.2)
        [server_again] = _children(proc.pid)
        assert server_again != server
        assert _wait(f"http://127.0.0.1:{port}/login/", proc, seconds=120).status_code == 200
        again = [server_again, *_children(server_again)]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, proc.stdout.read() if proc.stdout else b""
    for pid in again:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
