"""Inbox intake benchmark: how fast comments and messages are stored, exactly once.

    python bench/inbox.py --quick            # < 1 minute; last line is one JSON object
    python bench/inbox.py                    # 200,000 items (100,000 a path), this database
    python bench/inbox.py --full             # the full run: 200,000 a path, SQLite then PostgreSQL
    python bench/inbox.py --items 20000 --triage-items 2000
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/rupor_intake python bench/inbox.py --quick

Two paths, each measured on its own, as Rupor runs them:

1. ``webhook``: half of the items are posted over real HTTP to a running Rupor web server
   (``rupor serve --no-worker --processes P``, a subprocess: Granian with P worker processes,
   default one a core, of ``--server-threads`` threads each (default serve's own), and the
   serve process's drainer) at the channels' hook URLs, by ``--senders`` concurrent keep-alive clients: VK Callback API bodies
   (``wall_reply_new``, with the channel's secret) and Telegram updates (discussion-group
   comments, with the secret header), one item per request as the networks send them.
2. ``polling``: the other half are comments the VK emulator serves under posts Rupor published
   (up to 100 posts, the most one poll reads); the VK adapter reads them (``wall.getComments``,
   100 a page) in ``service.poll_channel``, as the worker does on a channel's first poll.

Duplicates are mixed in on purpose (``--dup-rate``, default 10%): that share of webhook bodies
is sent twice, shuffled among the rest (some at the same moment, by different senders), and
that share of the polled comments is also delivered by webhook before the poll. Afterwards the
database is counted: ``stored`` rows, ``duplicates`` (rows beyond one per channel, kind and
remote id) and ``missing`` (items sent that were not stored).

``triage``: the triage classifier (``service.triage_pending``, as the worker's job runs it)
over ``--triage-items`` of the stored items, timed on its own.

Figures: items/s stored per path and overall, triage items/s, peak RSS of this process (which
also runs the emulators) and of the web server. Uses a throwaway RUPOR_HOME (SQLite) or a fresh
``rupor_intake`` database (PostgreSQL, the server named by DATABASE_URL).
"""

from __future__ import annotations

import argparse
import http.client as http_client
import json
import os
import random
import resource
import selectors
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
#: Where ``--full`` runs the PostgreSQL half (a fresh ``rupor_intake`` database on that server).
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/rupor_intake"
FULL_PER_PATH = 200_000


def full_run(extra: list[str]) -> None:
    """``--full``: 200,000 items through the webhook endpoint and 200,000 through polling, on
    SQLite and then on PostgreSQL (``RUPOR_BENCH_POSTGRES_URL``, default :data:`POSTGRES_URL`),
    each run in a process of its own; the last line is one JSON object with both runs and the
    figures of the slower one at the top level."""
    runs: dict[str, Any] = {}
    for vendor in ("sqlite", "postgresql"):
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "RUPOR_HOME")}
        if vendor == "postgresql":
            env["DATABASE_URL"] = os.environ.get("RUPOR_BENCH_POSTGRES_URL", POSTGRES_URL)
        cmd = [
            sys.executable,
            __file__,
            "--items",
            str(2 * FULL_PER_PATH),
            "--webhook-items",
            str(FULL_PER_PATH),
            *extra,
        ]
        print(f"== {vendor}: {' '.join(cmd[1:])}", flush=True)
        lines: list[str] = []
        with subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:  # as it comes: a long run shows each path when it is done
                lines.append(line.rstrip("\n"))
                print(f"  {lines[-1]}", flush=True)
        if proc.returncode != 0 or not lines:
            raise SystemExit(f"the {vendor} run failed (exit {proc.returncode})")
        runs[vendor] = json.loads(lines[-1])
    keys = (
        "items",
        "stored",
        "duplicates",
        "missing",
        "items_per_s",
        "webhook_items_per_s",
        "polling_items_per_s",
        "triage_per_s",
        "peak_rss_mb",
        "server_peak_rss_mb",
    )
    summary = {
        k: (max if k in ("duplicates", "missing", "peak_rss_mb", "server_peak_rss_mb") else min)(
            r[k] for r in runs.values()
        )
        for k in keys
        if k not in ("items", "stored")
    }
    summary["items"] = sum(r["items"] for r in runs.values())
    summary["stored"] = sum(r["stored"] for r in runs.values())
    print(json.dumps({**summary, "runs": runs}))


if __name__ == "__main__" and "--full" in sys.argv:
    full_run([a for a in sys.argv[1:] if a != "--full"])
    raise SystemExit(0)

import benchenv  # noqa: E402 - bench/ is on the path when a benchmark runs as a script

VENDOR = benchenv.setup("rupor_intake", "rupor-bench-inbox-")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rupor.settings")
import django  # noqa: E402 - the environment (database, home) is set up first

django.setup()
from django.core.management import call_command  # noqa: E402 - the environment (database, home) is set up first

from rupor.accounts import service as accounts  # noqa: E402 - the environment (database, home) is set up first
from rupor.channels.models import Channel  # noqa: E402 - the environment (database, home) is set up first
from rupor.core import http  # noqa: E402 - the environment (database, home) is set up first
from rupor.inbox import hooks  # noqa: E402 - the environment (database, home) is set up first
from rupor.inbox import service as inbox  # noqa: E402 - the environment (database, home) is set up first
from rupor.inbox.models import HookDelivery, InboxItem, IntakeCursor  # noqa: E402 - the environment (database, home) is set up first
from rupor.inbox.testing import connect, publish  # noqa: E402 - the environment (database, home) is set up first
from rupor.networks.telegram import emulator as tg_emu  # noqa: E402 - the environment (database, home) is set up first
from rupor.networks.telegram import testing as tg_testing  # noqa: E402 - the environment (database, home) is set up first
from rupor.networks.vk import testing as vk_testing  # noqa: E402 - the environment (database, home) is set up first

call_command("migrate", verbosity=0)

VK_SECRET = vk_testing.demo_credentials()["callback_secret"]
TEXTS = (
    "Where do you deliver?",
    "Спасибо, всё пришло вовремя!",
    "배송은 언제 되나요?",
    "The order arrived broken, I want a refund",
    "Nice photo",
    "Когда будет новая коллекция?",
    "Worst service ever, nobody answers",
    "Great coffee, see you tomorrow",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_s(pid: int | None = None) -> float:
    """CPU seconds (user + system) a process has used so far (this one when ``pid`` is None)."""
    if pid is None:
        t = os.times()
        return t.user + t.system
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    """Peak resident memory of a running process (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _family(pid: int) -> list[int]:
    """``pid`` and its descendants (the web processes of ``serve --processes`` and theirs)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return [pid, *(p for c in children for p in _family(int(c)))]


class Server:
    """``rupor serve --no-worker`` in its own process, on the bench's database."""

    def __init__(self, threads: int | None, processes: int) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "RUPOR_BASE_URL": self.url}
        cmd = [
            str(Path(sys.executable).parent / "rupor"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            *(["--threads", str(threads)] if threads else []),
            "--processes",
            str(processes),
            "--no-worker",
        ]
        # Its log goes to a file: a pipe nobody reads would fill up and stop the server.
        self.log = Path(os.environ["RUPOR_HOME"]) / "server.log"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError as exc:
                if self.proc.poll() is not None:
                    raise SystemExit(f"rupor serve exited: {self.log.read_text()[-2000:]}") from exc
                time.sleep(0.2)
        else:
            raise SystemExit("rupor serve did not start within 60 s")
        # The socket is bound before the web processes have loaded Django: wait until they are
        # all up and idle, so their start is not counted as the CPU of the requests.
        expected = 1 + (processes if processes > 1 else 0)
        last = -1.0
        while time.monotonic() < deadline:
            time.sleep(0.3)
            now = self.cpu_s()
            if len(_family(self.proc.pid)) >= expected and now - last < 0.02:
                return
            last = now
        raise SystemExit("rupor serve's web processes did not settle within 60 s")

    def cpu_s(self) -> float:
        """CPU seconds the serve process and its web processes have used so far."""
        return sum(_cpu_s(p) for p in _family(self.proc.pid))

    def stop(self) -> float:
        rss = sum(_rss_mb(p) for p in _family(self.proc.pid))
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)
        return rss


def vk_body(comment_id: int, post_id: int, text: str, when: int) -> bytes:
    obj = {
        "id": comment_id,
        "from_id": 10_000 + comment_id % 997,
        "post_id": post_id,
        "owner_id": -1,
        "post_owner_id": -1,
        "date": when,
        "text": text,
        "parents_stack": [],
    }
    update = {
        "group_id": 1,
        "type": "wall_reply_new",
        "event_id": f"bench{comment_id}",
        "v": "5.199",
        "object": obj,
        "secret": VK_SECRET,
    }
    return json.dumps(update).encode()


def tg_body(n: int, text: str, when: int) -> bytes:
    group = {"id": tg_emu.DISCUSSION_GROUP_ID, "type": "supergroup", "title": "Discussion"}
    forward = {
        "message_id": 1 + n % 50,
        "date": when,
        "chat": group,
        "is_automatic_forward": True,
        "forward_origin": {"type": "channel", "message_id": 1 + n % 50},
    }
    message = {
        "message_id": 1_000 + n,
        "date": when,
        "chat": group,
        "from": {"id": 7_000_000 + n % 991, "is_bot": False, "first_name": "Reader"},
        "message_thread_id": forward["message_id"],
        "reply_to_message": forward,
        "text": text,
    }
    return json.dumps({"update_id": n, "message": message}).encode()


def _raw_sender(chunk: list[tuple[str, bytes, dict[str, str]]]) -> dict[int, int]:
    """POST each body over one keep-alive connection with the standard library's http.client
    (a tenth of httpx's time per request: the client shares the two cores with the server)."""
    seen: dict[int, int] = {}
    conn: http_client.HTTPConnection | None = None
    for url, body, headers in chunk:
        parts = urlsplit(url)
        if conn is None:
            conn = http_client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        conn.request("POST", parts.path, body=body, headers={"Content-Type": "application/json", **headers})
        answer = conn.getresponse()
        answer.read()
        seen[answer.status] = seen.get(answer.status, 0) + 1
    if conn is not None:
        conn.close()
    return seen


def _request_bytes(url: str, body: bytes, headers: dict[str, str]) -> tuple[tuple[str, int], bytes]:
    """A whole HTTP/1.1 POST (keep-alive) as the bytes sent on the wire, and where to send it."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    lines = [
        f"POST {parts.path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return (host, port), ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class _Connection:
    """One keep-alive connection of :func:`_socket_senders`: a request in flight at a time."""

    def __init__(self, address: tuple[str, int], requests: list[bytes]) -> None:
        self.sock = socket.create_connection(address, timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.requests = requests
        self.next = 0
        self.buffer = b""

    def send_next(self) -> bool:
        if self.next >= len(self.requests):
            return False
        self.sock.setblocking(True)
        self.sock.sendall(self.requests[self.next])
        self.sock.setblocking(False)
        self.next += 1
        return True

    def answered(self) -> int | None:
        """The status of the answer in the buffer once it is whole (taken off the buffer)."""
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return None
        head = self.buffer[:head_end].decode("latin-1").split("\r\n")
        length = 0
        for line in head[1:]:
            name, _sep, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        end = head_end + 4 + length
        if len(self.buffer) < end:
            return None
        self.buffer = self.buffer[end:]
        return int(head[0].split(" ", 2)[1])


def _socket_senders(bodies: list[tuple[str, bytes, dict[str, str]]], senders: int) -> dict[int, int]:
    """POST every body over ``senders`` keep-alive connections, one request in flight on each,
    from one thread with a selector: the requests are written as bytes beforehand and only the
    status line and ``Content-Length`` of each answer are read, so the client costs the shared
    cores as little as a load generator written in C would (a Python client per connection
    costs about a quarter of the server's time per request)."""
    wire = [_request_bytes(url, body, headers) for url, body, headers in bodies]
    chunks = [wire[i::senders] for i in range(senders)]
    selector = selectors.DefaultSelector()
    seen: dict[int, int] = {}
    for chunk in chunks:
        if chunk:
            conn = _Connection(chunk[0][0], [request for _address, request in chunk])
            conn.send_next()
            selector.register(conn.sock, selectors.EVENT_READ, conn)
    while selector.get_map():
        for key, _events in selector.select(timeout=60):
            conn = key.data
            data = conn.sock.recv(65536)
            if not data:
                raise SystemExit("the server closed a keep-alive connection")
            conn.buffer += data
            while (status := conn.answered()) is not None:
                seen[status] = seen.get(status, 0) + 1
                if not conn.send_next():
                    selector.unregister(conn.sock)
                    conn.sock.close()
                    break
    return seen


def send_all(
    bodies: list[tuple[str, bytes, dict[str, str]]], senders: int, kind: str = "socket"
) -> tuple[float, dict[int, int]]:
    """POST every body (keep-alive clients, ``senders`` at a time); returns (seconds, statuses)."""
    if kind == "socket":
        started = time.perf_counter()
        statuses = _socket_senders(bodies, senders)
        return time.perf_counter() - started, statuses
    chunks = [bodies[i::senders] for i in range(senders)]

    def run(chunk: list[tuple[str, bytes, dict[str, str]]]) -> dict[int, int]:
        if kind == "raw":
            return _raw_sender(chunk)
        seen: dict[int, int] = {}
        with http.client(timeout=60) as client:
            for url, body, headers in chunk:
                answer = client.post(
                    url, content=body, headers={"Content-Type": "application/json", **headers}
                )
                seen[answer.status_code] = seen.get(answer.status_code, 0) + 1
        return seen

    started = time.perf_counter()
    with ThreadPoolExecutor(senders) as pool:
        results = list(pool.map(run, chunks))
    elapsed = time.perf_counter() - started
    statuses: dict[int, int] = {}
    for r in results:
        for code, n in r.items():
            statuses[code] = statuses.get(code, 0) + n
    return elapsed, statuses


def wait_drained(limit_s: float = 600.0) -> int:
    """Wait until the server's drainer has stored every staged webhook delivery (the webhook
    answers once a delivery is staged; an item counts as stored when it is an inbox item).
    Returns how many were still staged when ``limit_s`` ran out (0: all stored)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        left = HookDelivery.objects.count()
        if left == 0:
            return 0
        time.sleep(0.02)
    return int(HookDelivery.objects.count())


def count(channel_ids: list[int]) -> dict[str, int]:
    rows = InboxItem.objects.filter(channel_id__in=channel_ids)
    stored = rows.count()
    distinct = rows.values("channel_id", "kind", "remote_id").distinct().count()
    return {"stored": stored, "duplicates": stored - distinct}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--full", action="store_true", help="see the top of this file (handled before setup)")
    parser.add_argument("--quick", action="store_true", help="4,000 items, 300 triaged: under a minute")
    parser.add_argument("--items", type=int, default=None, help="items in all (default 200,000)")
    parser.add_argument(
        "--webhook-items", type=int, default=None, help="of which through webhooks (default half)"
    )
    parser.add_argument("--triage-items", type=int, default=None, help="stored items triaged (default 5,000)")
    parser.add_argument("--dup-rate", type=float, default=0.1, help="share delivered twice (default 0.1)")
    parser.add_argument(
        "--senders",
        type=int,
        default=32,
        help="concurrent webhook clients (default 32; Telegram opens up to 40 to one webhook by default)",
    )
    parser.add_argument(
        "--client",
        choices=("socket", "raw", "httpx"),
        default="socket",
        help="webhook client: socket (requests written as bytes, one thread and a selector; "
        "default), raw (http.client, a thread a connection) or httpx (Rupor's own client, slowest)",
    )
    parser.add_argument(
        "--server-threads",
        type=int,
        default=None,
        help="threads per web server process (default: rupor serve's own)",
    )
    parser.add_argument(
        "--server-processes",
        type=int,
        default=os.cpu_count() or 1,
        help="web server processes, 'rupor serve --processes' (default: one a core, as README advises)",
    )
    args = parser.parse_args()
    items = args.items or (4_000 if args.quick else 200_000)
    triage_n = args.triage_items or (300 if args.quick else 5_000)
    rng = random.Random(11)
    hook_n = min(items, args.webhook_items) if args.webhook_items is not None else items // 2
    poll_n = items - hook_n
    print(f"database: {VENDOR}; cores: {os.cpu_count()}; items: {items} ({hook_n} webhook, {poll_n} polling)")

    vk = vk_testing.start(rate_limits=False)
    tg = tg_testing.start(rate_limits=False)
    user = accounts.create_user("bench@example.com", "correct horse battery")
    ws = accounts.create_workspace("Bench", user, timezone="UTC")
    ws_poll = accounts.create_workspace("Bench polling", user, timezone="UTC")
    vk_hook = connect(ws, vk_testing.channel_for(vk, settings={"pace": False}), name="VK hooks")
    tg_hook = connect(ws, tg_testing.channel_for(tg), name="Telegram hooks")
    poll_access = vk_testing.channel_for(vk, settings={"pace": False})
    vk_poll = connect(ws_poll, poll_access, name="VK polling")
    server = Server(args.server_threads, args.server_processes)
    results: dict[str, Any] = {"database": VENDOR, "cores": os.cpu_count(), "items": items}
    try:
        # -- 1. webhooks -------------------------------------------------------------------
        vk_url = server.url + hooks.hook_path(Channel.objects.get(pk=vk_hook.pk))
        tg_url = server.url + hooks.hook_path(Channel.objects.get(pk=tg_hook.pk))
        tg_header = {"X-Telegram-Bot-Api-Secret-Token": tg_testing.DEMO_WEBHOOK_SECRET}
        now = int(time.time())
        bodies: list[tuple[str, bytes, dict[str, str]]] = []
        for n in range(hook_n):
            text = TEXTS[n % len(TEXTS)]
            if n % 2:
                bodies.append((vk_url, vk_body(n, 1 + n % 50, text, now), {}))
            else:
                bodies.append((tg_url, tg_body(n, text, now), tg_header))
        dups = rng.sample(bodies, int(len(bodies) * args.dup_rate))
        sent = bodies + dups
        rng.shuffle(sent)
        load_before = os.getloadavg()
        cpu_server, cpu_bench = server.cpu_s(), _cpu_s()
        started = time.perf_counter()
        answered_s, statuses = send_all(sent, args.senders, args.client)
        drained = wait_drained()
        elapsed = time.perf_counter() - started
        cpu_server, cpu_bench = server.cpu_s() - cpu_server, _cpu_s() - cpu_bench
        figures = count([vk_hook.pk, tg_hook.pk])
        hook = {
            "items": hook_n,
            "requests": len(sent),
            "sent_twice": len(dups),
            "client": args.client,
            "answered_s": round(answered_s, 2),
            "staged_left": drained,
            "seconds": round(elapsed, 2),
            "items_per_s": round(figures["stored"] / max(elapsed, 1e-9), 1),
            "requests_per_s": round(len(sent) / max(elapsed, 1e-9), 1),
            "statuses": {str(k): v for k, v in sorted(statuses.items())},
            # What shared the two cores: the server, this process (the clients), and the rest.
            "server_processes": args.server_processes,
            "server_cpu_ms_per_request": round(1000 * cpu_server / max(1, len(sent)), 3),
            "server_cpu_ms_per_item": round(1000 * cpu_server / max(1, figures["stored"]), 3),
            "client_cpu_ms_per_request": round(1000 * cpu_bench / max(1, len(sent)), 3),
            "cores_used_by_bench": round((cpu_server + cpu_bench) / max(elapsed, 1e-9), 2),
            "load_average": [round(x, 2) for x in (*load_before, *os.getloadavg()[:1])],
            **figures,
            "missing": hook_n - (figures["stored"] - figures["duplicates"]),
        }
        print("webhook:", json.dumps(hook))

        # -- 2. polling --------------------------------------------------------------------
        posts_n = min(100, max(1, poll_n // 1000))
        inbox.poll_channel(vk_poll.pk)  # the worker's first poll before anything was written
        targets = [publish(vk_poll, poll_access, f"Bench post {i}") for i in range(posts_n)]
        state = vk_testing.state(vk)
        per_post = [poll_n // posts_n + (1 if i < poll_n % posts_n else 0) for i in range(posts_n)]
        created: list[tuple[int, int, str]] = []
        with state.lock:
            for target, n in zip(targets, per_post, strict=True):
                owner_id, post_id = (int(x) for x in target.remote_id.split("_"))
                post = state.posts[owner_id][post_id]
                for k in range(n):
                    text = TEXTS[(k + post_id) % len(TEXTS)]
                    comment = state._create_comment(post, 10_000 + k % 997, text, None, state.now())
                    created.append((comment.id, post_id, text))
        overlap = rng.sample(created, int(len(created) * args.dup_rate))
        poll_url = server.url + hooks.hook_path(Channel.objects.get(pk=vk_poll.pk))
        send_all([(poll_url, vk_body(c, p, t, now), {}) for c, p, t in overlap], args.senders, args.client)
        wait_drained()
        IntakeCursor.objects.filter(channel_id=vk_poll.pk).update(last_polled_at=None)  # reads every post
        started = time.perf_counter()
        result = inbox.poll_channel(vk_poll.pk)
        elapsed = time.perf_counter() - started
        figures = count([vk_poll.pk])
        poll = {
            "items": poll_n,
            "posts": posts_n,
            "also_by_webhook": len(overlap),
            "read": result.events,
            "new": result.new_items,
            "seconds": round(elapsed, 2),
            "items_per_s": round(result.events / elapsed, 1),
            **figures,
            "missing": poll_n - (figures["stored"] - figures["duplicates"]),
        }
        print("polling:", json.dumps(poll))
    finally:
        server_rss = server.stop()
        vk.stop()
        tg.stop()

    # -- 3. triage -----------------------------------------------------------------------------
    inbox.triage_pending(8)  # loads the classifier: not part of the rate
    started, done = time.perf_counter(), 0
    while done < triage_n:
        read = inbox.triage_pending(min(inbox.TRIAGE_BATCH, triage_n - done))
        if not read:
            break
        done += read
    triage_s = time.perf_counter() - started
    total = count([vk_hook.pk, tg_hook.pk, vk_poll.pk])
    results.update(
        {
            "stored": total["stored"],
            "duplicates": total["duplicates"],
            "missing": hook["missing"] + poll["missing"],
            "items_per_s": round(total["stored"] / (hook["seconds"] + poll["seconds"]), 1),
            "webhook_items_per_s": hook["items_per_s"],
            "polling_items_per_s": poll["items_per_s"],
            "triage_items": done,
            "triage_per_s": round(done / triage_s, 1) if triage_s else None,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "server_peak_rss_mb": round(server_rss, 1),
            "webhook": hook,
            "polling": poll,
        }
    )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
