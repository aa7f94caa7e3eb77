"""The one mapping of transport failures, HTTP statuses and network codes, against real sockets."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from rupor.core import http
from rupor.networks import errors, transport
from rupor.networks.errors import CodeRule


@pytest.fixture
def closing_server() -> Iterator[tuple[str, list[bytes]]]:
    """A server that reads one request, then closes the connection without a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    received: list[bytes] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                received.append(conn.recv(65536))

    threading.Thread(target=serve, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    http.allow_origin(url)
    yield url, received
    http.close_pools(url)
    listener.close()


@pytest.mark.parametrize(("creates", "cls"), [(True, errors.UnknownOutcome), (False, errors.Transient)])
def test_a_request_that_left_without_an_answer_is_ambiguous_only_for_a_create(closing_server, creates, cls):
    url, received = closing_server
    with pytest.raises(errors.NetworkError) as caught:
        transport.send("VK", "POST", f"{url}/method/wall.post", creates=creates, what="wall.post", timeout=2)
    assert type(caught.value) is cls
    assert len(received) == 1  # sent once, never again


def test_a_refused_connection_is_transient_even_for_a_create():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    http.allow_origin(f"http://127.0.0.1:{port}")
    with pytest.raises(errors.Transient) as caught:
        transport.send("OK", "POST", f"http://127.0.0.1:{port}/fb.do", creates=True, timeout=2)
    assert "nothing was sent" in caught.value.message


def test_a_blocked_address_is_refused_for_a_person_on_every_network():
    for network in ("VK", "Telegram", "OK"):
        with pytest.raises(errors.Rejected) as caught:
            transport.send(network, "POST", "http://169.254.169.254/latest", creates=True, timeout=2)
        assert caught.value.code == "blocked_address" and caught.value.needs_person


@pytest.mark.parametrize(
    ("status", "creates", "cls"),
    [
        (429, True, errors.RateLimited),
        (500, True, errors.UnknownOutcome),
        (503, False, errors.Transient),
        (403, True, errors.Rejected),
    ],
)
def test_statuses_map_by_class_and_the_creates_flag(status, creates, cls):
    response = httpx.Response(status, headers={"Retry-After": "7"} if status == 429 else {})
    error = transport.status_error(response, network="OK", creates=creates, excerpt="")
    assert type(error) is cls
    if status == 429:
        assert error is not None and error.retry_after == 7.0
    assert transport.status_error(httpx.Response(200), network="OK", creates=creates, excerpt="") is None


def test_an_unreadable_body_is_ambiguous_only_for_a_create():
    response = httpx.Response(200, text="<html>")
    with pytest.raises(errors.UnknownOutcome):
        transport.json_body(response, network="VK", creates=True, excerpt="")
    with pytest.raises(errors.Transient):
        transport.json_body(response, network="VK", creates=False, excerpt="")


def test_a_code_table_decides_the_class_and_an_ambiguous_row_follows_the_creates_flag():
    rules = {
        1: CodeRule(errors.UnknownOutcome, "Internal error {code} in {method}."),
        9: CodeRule(errors.RateLimited, "Slow down.", retry_after=60.0),
    }
    default = CodeRule(errors.Rejected, "Refused ({code}).", needs_person=True)
    create = errors.from_code(rules, 1, default=default, creates=True, method="wall.post")
    read = errors.from_code(rules, 1, default=default, creates=False, method="wall.get")
    assert type(create) is errors.UnknownOutcome and create.message.startswith(
        "Internal error 1 in wall.post."
    )
    assert type(read) is errors.Transient
    limited = errors.from_code(rules, 9, default=default, creates=True)
    assert type(limited) is errors.RateLimited and limited.retry_after == 60.0
    other = errors.from_code(rules, 77, default=default, creates=True)
    assert type(other) is errors.Rejected and other.needs_person and other.code == 77
