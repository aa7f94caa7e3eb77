"""The outbound guard: one resolution, every answer checked, the connection made to that answer."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from rupor.core import http


class _Recorder(BaseHTTPRequestHandler):
    seen: list[tuple[str, str]] = []
    redirect_to: str | None = None

    def do_GET(self) -> None:
        type(self).seen.append((self.path, self.headers.get("Host", "")))
        if type(self).redirect_to and self.path == "/go":
            self.send_response(302)
            self.send_header("Location", type(self).redirect_to or "")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b"local secret"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def local_server() -> Iterator[tuple[int, type[_Recorder]]]:
    handler = type("Handler", (_Recorder,), {"seen": [], "redirect_to": None})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # The port may have been a stopped emulator's, trusted then: this server is not.
    http.forget_origin(f"http://127.0.0.1:{server.server_address[1]}")
    yield server.server_address[1], handler
    server.shutdown()
    server.server_close()


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[list[str]]]:
    """Names ending in .test answer from a script, one answer per lookup; the rest resolve as usual."""
    answers: dict[str, list[list[str]]] = {}
    lookups: dict[str, int] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if not name.endswith(".test"):
            return real(host, port, *args, **kwargs)
        script = answers[name]
        index = min(lookups.get(name, 0), len(script) - 1)
        lookups[name] = lookups.get(name, 0) + 1
        out = []
        for address in script[index]:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sockaddr = (
                (address, int(port or 0), 0, 0) if family == socket.AF_INET6 else (address, int(port or 0))
            )
            out.append((family, socket.SOCK_STREAM, 6, "", sockaddr))
        return out

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    answers["__lookups__"] = lookups  # type: ignore[assignment]  # the fake resolver also reports its lookups under this key
    return answers


QUICK = httpx.Timeout(0.5)


def test_a_rebinding_name_is_connected_to_the_address_that_was_checked(local_server, fake_dns, monkeypatch):
    port, handler = local_server
    # First lookup: a public address (passes the check); every later lookup: loopback.
    fake_dns["rebind.test"] = [["8.8.8.8"], ["127.0.0.1"]]
    dialled: list[tuple[str, int]] = []
    real_connect = socket.create_connection

    def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        dialled.append(address)
        if address[0] != "127.0.0.1":  # no test reaches the internet
            raise ConnectionRefusedError(f"test: refusing to dial {address[0]}")
        return real_connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", create_connection)
    with http.client(timeout=QUICK) as c, pytest.raises(httpx.ConnectError):
        c.get(f"http://rebind.test:{port}/")
    # The socket went to the address that was checked, not to a second, rebound lookup.
    assert dialled == [("8.8.8.8", port)]
    assert handler.seen == []
    assert fake_dns["__lookups__"]["rebind.test"] == 1


def test_a_name_with_one_private_answer_among_public_ones_is_refused(local_server, fake_dns):
    port, handler = local_server
    fake_dns["mixed.test"] = [["8.8.8.8", "127.0.0.1"]]
    with http.client(timeout=QUICK) as c, pytest.raises(http.BlockedAddress):
        c.get(f"http://mixed.test:{port}/")
    assert handler.seen == []


def test_an_allowed_name_is_connected_to_its_resolved_address_with_its_own_host_header(
    local_server, fake_dns
):
    port, handler = local_server
    fake_dns["emulator.test"] = [["127.0.0.1"]]
    http.allow_origin(f"http://emulator.test:{port}")
    with http.client(timeout=QUICK) as c:
        response = c.get(f"http://emulator.test:{port}/hello")
    assert response.text == "local secret"
    assert handler.seen == [("/hello", f"emulator.test:{port}")]


def test_the_operator_allow_list_still_lets_rupor_call_local_services(local_server, settings):
    port, _handler = local_server
    settings.RUPOR_ALLOW_PRIVATE_URLS = (f"127.0.0.1:{port}",)
    with http.client(timeout=QUICK) as c:
        assert c.get(f"http://127.0.0.1:{port}/ok").status_code == 200
    settings.RUPOR_ALLOW_PRIVATE_URLS = ()
    with http.client(timeout=QUICK) as c, pytest.raises(http.BlockedAddress):
        c.get(f"http://127.0.0.1:{port}/ok")


def test_a_forgotten_origin_is_refused_again(local_server):
    port, _handler = local_server
    url = f"http://127.0.0.1:{port}"
    http.allow_origin(url)
    with http.client(timeout=QUICK) as c:
        assert c.get(f"{url}/ok").status_code == 200
    http.forget_origin(url)
    with http.client(timeout=QUICK) as c, pytest.raises(http.BlockedAddress):
        c.get(f"{url}/ok")


def test_redirects_are_checked_again(local_server, fake_dns, settings):
    port, handler = local_server
    settings.RUPOR_ALLOW_PRIVATE_URLS = (f"127.0.0.1:{port}",)
    handler.redirect_to = "http://169.254.169.254/latest/meta-data/"
    with http.client(timeout=QUICK, follow_redirects=True) as c, pytest.raises(http.BlockedAddress):
        c.get(f"http://127.0.0.1:{port}/go")
    fake_dns["sneaky.test"] = [["127.0.0.1"]]
    handler.redirect_to = f"http://sneaky.test:{port}/inside"
    with http.client(timeout=QUICK, follow_redirects=True) as c, pytest.raises(http.BlockedAddress):
        c.get(f"http://127.0.0.1:{port}/go")
    assert [path for path, _ in handler.seen] == ["/go", "/go"]


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "0.0.0.0",
        "255.255.255.255",
        "100.64.0.1",
        "100.127.255.254",  # carrier-grade NAT
        "169.254.169.254",
        "fd00:ec2::254",  # cloud metadata (AWS, GCP, Azure; AWS IPv6)
        "224.0.0.1",
        "240.0.0.1",
        "192.0.2.1",
        "198.18.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "2001:db8::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "::ffff:100.64.0.1",  # IPv4-mapped
        "2002:7f00:1::",
        "2002:a9fe:a9fe::1",  # 6to4 wrapping loopback and metadata
        "64:ff9b::7f00:1",
        "64:ff9b::a9fe:a9fe",
        "64:ff9b::a40:1",  # NAT64 wrapping local ones
    ],
)
def test_special_addresses_are_refused(address):
    assert not http.is_public_address(ipaddress.ip_address(address))
    url = f"http://[{address}]/" if ":" in address else f"http://{address}/"
    with http.client(timeout=QUICK) as c, pytest.raises(http.BlockedAddress):
        c.get(url)


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "93.184.215.14", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"],
)
def test_public_addresses_are_allowed(address):
    assert http.is_public_address(ipaddress.ip_address(address))


# -- the shared keep-alive pools ------------------------------------------------------------------


class _KeepAlive(BaseHTTPRequestHandler):
    """An HTTP/1.1 server that keeps connections alive and closes one idle for ``timeout`` seconds
    (``StreamRequestHandler`` sets it on the socket; a timed-out read ends the connection)."""

    protocol_version = "HTTP/1.1"
    timeout = 0.5
    connections: list[int] = []
    posts: list[str] = []
    cookies: list[str] = []

    def setup(self) -> None:
        super().setup()
        type(self).connections.append(self.client_address[1])

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        type(self).posts.append(body)
        type(self).cookies.append(self.headers.get("Cookie", ""))
        if self.path == "/drop":  # read the request, then go away without an answer
            self.close_connection = True
            return
        if self.path == "/slow":
            threading.Event().wait(0.4)
        answer = f"echo:{body}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.send_header("Set-Cookie", "session=from-the-server; Path=/")
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def keepalive_server() -> Iterator[tuple[str, type[_KeepAlive]]]:
    handler = type("Handler", (_KeepAlive,), {"connections": [], "posts": [], "cookies": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    http.allow_origin(url)
    yield url, handler
    http.close_pools(url)
    server.shutdown()
    server.server_close()


def test_calls_in_a_row_share_one_kept_alive_connection(keepalive_server):
    url, handler = keepalive_server
    for n in range(3):
        assert http.request("POST", f"{url}/api", data={"n": n}, timeout=QUICK).text == f"echo:n={n}"
    assert len(handler.connections) == 1
    assert handler.posts == ["n=0", "n=1", "n=2"]


def test_a_connection_the_server_closed_while_idle_is_not_used_for_the_next_create(
    keepalive_server, monkeypatch
):
    url, handler = keepalive_server
    # Rupor would keep the connection longer than this server does: the server's close is
    # noticed before reuse, and the create goes out once, on a new connection, and succeeds.
    monkeypatch.setattr(http, "KEEPALIVE_EXPIRY", 30.0)
    http.close_pools(url)
    assert http.request("POST", f"{url}/create", data={"post": "one"}, timeout=QUICK).status_code == 200
    threading.Event().wait(handler.timeout + 0.3)  # the server closes the idle connection
    answer = http.request("POST", f"{url}/create", data={"post": "two"}, timeout=QUICK)
    assert answer.text == "echo:post=two"
    assert handler.posts == ["post=one", "post=two"]
    assert len(handler.connections) == 2


def test_an_idle_connection_is_dropped_before_the_server_would_drop_it(keepalive_server, monkeypatch):
    url, handler = keepalive_server
    monkeypatch.setattr(http, "KEEPALIVE_EXPIRY", 0.1)  # below the server's 0.5 s
    http.close_pools(url)
    http.request("POST", f"{url}/a", data={"n": 1}, timeout=QUICK)
    threading.Event().wait(0.25)
    http.request("POST", f"{url}/a", data={"n": 2}, timeout=QUICK)
    assert len(handler.connections) == 2
    assert handler.posts == ["n=1", "n=2"]


def test_a_request_that_left_is_never_sent_again(keepalive_server):
    url, handler = keepalive_server
    with pytest.raises(httpx.RemoteProtocolError):
        http.request("POST", f"{url}/drop", data={"post": "once"}, timeout=QUICK)
    assert handler.posts == ["post=once"]
    # The pool is still good for the next call.
    assert http.request("POST", f"{url}/next", data={"n": 1}, timeout=QUICK).text == "echo:n=1"


def test_a_late_answer_never_reaches_the_next_call(keepalive_server):
    url, _handler = keepalive_server
    with pytest.raises(httpx.ReadTimeout):
        http.request("POST", f"{url}/slow", data={"n": "late"}, timeout=0.1)
    assert http.request("POST", f"{url}/fast", data={"n": "next"}, timeout=QUICK).text == "echo:n=next"


def test_threads_share_the_pool_and_each_gets_its_own_answer(keepalive_server):
    url, handler = keepalive_server
    # This test is about sharing, not idle expiry: on a loaded machine a thread can wait past the
    # server's short idle timeout, and a connection closed in the instant it is taken again is the
    # race KEEPALIVE_EXPIRY exists to avoid (it stays below real servers' timeouts, not this 0.5 s).
    handler.timeout = 30.0
    answers: dict[str, str] = {}
    failures: list[BaseException] = []

    def work(thread: int) -> None:
        try:
            for n in range(15):
                key = f"{thread}-{n}"
                answers[key] = http.request("POST", f"{url}/x", data={"k": key}, timeout=2.0).text
        except BaseException as exc:  # noqa: BLE001 - a failure in a thread is reported by the test
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert answers == {key: f"echo:k={key}" for key in answers} and len(answers) == 90
    assert len(handler.connections) <= 6  # connections were reused, not opened per call


def test_the_pool_keeps_no_cookies(keepalive_server):
    url, handler = keepalive_server
    http.request("POST", f"{url}/a", data={"n": 1}, timeout=QUICK)
    http.request("POST", f"{url}/a", data={"n": 2}, timeout=QUICK)
    assert handler.cookies == ["", ""]


def test_the_guard_holds_for_pooled_connections(local_server, fake_dns, settings, monkeypatch):
    port, handler = local_server
    with pytest.raises(http.BlockedAddress):
        http.request("GET", f"http://127.0.0.1:{port}/pooled", timeout=QUICK)
    fake_dns["pooled-mixed.test"] = [["8.8.8.8", "127.0.0.1"]]
    with pytest.raises(http.BlockedAddress):
        http.request("GET", f"http://pooled-mixed.test:{port}/", timeout=QUICK)
    fake_dns["pooled-rebind.test"] = [["8.8.8.8"], ["127.0.0.1"]]
    dialled: list[tuple[str, int]] = []

    def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        dialled.append(address)
        raise ConnectionRefusedError(f"test: refusing to dial {address[0]}")

    monkeypatch.setattr(socket, "create_connection", create_connection)
    with pytest.raises(httpx.ConnectError):
        http.request("GET", f"http://pooled-rebind.test:{port}/", timeout=QUICK)
    assert dialled == [("8.8.8.8", port)]
    assert handler.seen == []
    http.close_pools()
