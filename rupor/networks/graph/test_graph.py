"""The Graph API core: error mapping, usage headers and the pause before a limit, the call helper,
the SDK extract, and the emulators' shared parts (media by URL, usage metering)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rupor.networks import errors
from rupor.networks.emulation import RunningEmulator
from rupor.networks.graph import client, emulation, specs, wire
from rupor.networks.graph.testing import JPEG, PNG, MediaServer


def _error(code: int, **more: object) -> wire.GraphError:
    return wire.parse_error(
        {"error": {"message": "m", "type": "OAuthException", "code": code, **more}}
    ) or wire.GraphError(0)


@pytest.mark.parametrize("subcode", [None, 458, 460, 463, 467])
def test_190_means_reconnect(subcode: int | None) -> None:
    mapped = wire.to_network_error(_error(190, error_subcode=subcode), creates=True)
    assert isinstance(mapped, errors.AuthExpired)
    assert mapped.needs_person
    if subcode:
        assert wire.TOKEN_SUBCODES[subcode] in mapped.message


@pytest.mark.parametrize("code", [4, 17, 32, 613, 80001, 80014])
def test_rate_limit_codes_wait(code: int) -> None:
    mapped = wire.to_network_error(_error(code, is_transient=True), creates=True, retry_after=120)
    assert isinstance(mapped, errors.RateLimited)
    assert mapped.retry_after == 120
    assert wire.to_network_error(_error(code), creates=False).retry_after == wire.DEFAULT_THROTTLE_WAIT_S


def test_transient_flag_decides_unlisted_codes() -> None:
    transient = _error(9007, is_transient=True)
    assert isinstance(wire.to_network_error(transient, creates=False), errors.Transient)
    assert isinstance(wire.to_network_error(transient, creates=True), errors.UnknownOutcome)
    assert isinstance(wire.to_network_error(_error(9007, is_transient=False), creates=True), errors.Rejected)
    assert isinstance(wire.to_network_error(_error(1), creates=True), errors.UnknownOutcome)
    assert isinstance(wire.to_network_error(_error(2), creates=False), errors.Transient)


def test_permanent_codes() -> None:
    assert isinstance(wire.to_network_error(_error(100), creates=True), errors.Rejected)
    assert isinstance(wire.to_network_error(_error(10), creates=True), errors.Rejected)
    assert isinstance(wire.to_network_error(_error(230), creates=False), errors.Rejected)
    assert isinstance(wire.to_network_error(_error(506), creates=True), errors.Duplicate)
    user = wire.parse_error({"error": {"code": 100, "message": "raw", "error_user_msg": "Say it plainly"}})
    assert user is not None and "Say it plainly" in wire.to_network_error(user, creates=True).message


def test_usage_headers_pause_before_the_limit() -> None:
    buc = {
        "X-Business-Use-Case-Usage": json.dumps(
            {
                "42": [
                    {
                        "type": "pages",
                        "call_count": 95,
                        "total_cputime": 10,
                        "total_time": 10,
                        "estimated_time_to_regain_access": 5,
                    }
                ]
            }
        )
    }
    usages = wire.parse_usage(buc)
    assert usages[0].business_id == "42" and usages[0].percent == 95
    assert wire.pause_for(usages) == 300
    assert (
        wire.pause_for(
            wire.parse_usage({"x-app-usage": '{"call_count":50,"total_cputime":3,"total_time":7}'})
        )
        == 0
    )
    assert (
        wire.pause_for(
            wire.parse_usage({"X-App-Usage": '{"call_count":10,"total_cputime":92,"total_time":7}'})
        )
        == 180
    )
    assert wire.parse_usage({"X-App-Usage": "not json"}) == []


class _Graph:
    """A scripted Graph API: answers queued (status, body, headers) and counts what reached it."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, object, dict[str, str]]] = []
        self.seen: list[Request] = []
        self.auth: list[str] = []

        async def any_path(request: Request) -> Response:
            self.auth.append(request.headers.get("authorization", ""))
            self.seen.append(request)
            status, body, headers = self.answers.pop(0) if self.answers else (200, {"id": "1"}, {})
            if isinstance(body, str):
                return Response(body, status, headers=headers, media_type="text/html")
            return JSONResponse(body, status, headers=headers)

        self.app = Starlette(routes=[Route("/{path:path}", any_path, methods=["GET", "POST", "DELETE"])])


@pytest.fixture
def graph() -> Iterator[_Graph]:
    fake = _Graph()
    client.forget_pauses()
    with RunningEmulator(fake.app) as running:
        fake.url = running.url  # type: ignore[attr-defined]  # the scripted server's address
        yield fake
    client.forget_pauses()


def test_call_pauses_when_usage_nears_the_limit(graph: _Graph) -> None:
    url = graph.url  # type: ignore[attr-defined]  # set by the fixture
    usage = json.dumps(
        {
            "7": [
                {
                    "type": "pages",
                    "call_count": 96,
                    "total_cputime": 1,
                    "total_time": 1,
                    "estimated_time_to_regain_access": 2,
                }
            ]
        }
    )
    graph.answers.append((200, {"id": "7"}, {"X-Business-Use-Case-Usage": usage}))
    assert client.call("Facebook", "GET", url, "7", "tok", creates=False) == {"id": "7"}
    assert graph.auth == ["Bearer tok"]
    assert str(graph.seen[0].url.path) == f"/{wire.VERSION}/7"
    with pytest.raises(errors.RateLimited) as limited:
        client.call("Facebook", "GET", url, "7", "tok", creates=False)
    assert 100 < (limited.value.retry_after or 0) <= 120
    assert len(graph.seen) == 1  # the second call never left
    assert client.call("Facebook", "GET", url, "7", "other-token", creates=False) == {"id": "1"}


def test_call_maps_error_envelopes(graph: _Graph) -> None:
    url = graph.url  # type: ignore[attr-defined]  # set by the fixture
    graph.answers.append(
        (
            400,
            {
                "error": {
                    "message": "expired",
                    "type": "OAuthException",
                    "code": 190,
                    "error_subcode": 463,
                    "fbtrace_id": "x",
                }
            },
            {},
        )
    )
    with pytest.raises(errors.AuthExpired):
        client.call("Facebook", "GET", url, "me", "tok", creates=False)
    graph.answers.append(
        (
            403,
            {"error": {"message": "(#4) Application request limit reached", "code": 4}},
            {"X-App-Usage": '{"call_count":100,"total_cputime":1,"total_time":1}'},
        )
    )
    with pytest.raises(errors.RateLimited):
        client.call("Facebook", "POST", url, "1/feed", "tok", creates=True)
    with pytest.raises(errors.RateLimited):  # code 4 is the app's: every token waits
        client.call("Facebook", "GET", url, "me", "another", creates=False)
    client.forget_pauses()
    graph.answers.append((502, "<html>bad gateway</html>", {}))
    with pytest.raises(errors.UnknownOutcome):
        client.call("Facebook", "POST", url, "1/feed", "tok", creates=True)


def test_appsecret_proof_is_hmac_of_token() -> None:
    assert (
        client.appsecret_proof("token", "secret")
        == "e941110e3d2bfe82621f0e3e1434730d7305d106c5f68c87165d0b27a4611a4a"
    )
    assert client.appsecret_proof("token", "secret") != client.appsecret_proof("token", "other")


def _fake_sdk(tmp_path: Path) -> Path:
    adobjects = tmp_path / "facebook_business" / "adobjects"
    adobjects.mkdir(parents=True)
    (tmp_path / "facebook_business" / "apiconfig.py").write_text("ads = {\n  'API_VERSION': 'v99.0',\n}\n")
    (adobjects / "node.py").write_text(
        textwrap.dedent("""
        class Node(AbstractCrudObject):
            class Field(AbstractObject.Field):
                id = 'id'
                message = 'message'
            class Kind:
                a = 'A'
                b = 'B'
            def get_items(self, fields=None, params=None):
                param_types = {'limit': 'unsigned int', 'kind': 'kind_enum', 'flag': 'bool'}
                enums = {'kind_enum': Node.Kind.__dict__.values()}
                request = FacebookRequest(node_id=self['id'], method='GET', endpoint='/items', target_class=Node)
                return request
    """)
    )
    return tmp_path


def test_extract_reads_fields_edges_and_enums(tmp_path: Path) -> None:
    data = specs.extract(_fake_sdk(tmp_path), ["Node"])
    assert data["api_version"] == "v99.0"
    node = data["nodes"]["Node"]
    assert node["fields"] == ["id", "message"]
    assert node["edges"]["GET /items"]["enums"] == {"kind_enum": ["A", "B"]}
    spec = specs.Spec(data)
    assert spec.fields("Node") == {"id", "message", "items"}
    assert spec.unknown_field("Node", specs.parse_fields("id,items.limit(2){id},bogus")) == "bogus"
    assert spec.bad_param("Node", "GET", "/items", {"limit": "-1"}) is not None
    assert spec.bad_param("Node", "GET", "/items", {"kind": "C"}) is not None
    assert spec.bad_param("Node", "GET", "/items", {"kind": "A", "flag": "true", "other": "x"}) is None


def test_parse_fields_syntax() -> None:
    parsed = specs.parse_fields("id,comments.limit(0).summary(true){from{name}}")
    assert [p.name for p in parsed] == ["id", "comments"]
    assert parsed[1].modifiers == {"limit": "0", "summary": "true"}
    assert parsed[1].subfields[0].subfields[0].name == "name"
    with pytest.raises(ValueError, match="cannot parse"):
        specs.parse_fields("id,comments.limit(")


def _run(coro: Any) -> Any:
    """Run a coroutine to its end in a thread of its own (this thread may have an event loop
    running already: the browser tests' Playwright, in the same test process)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def test_fetch_url_as_meta_does() -> None:
    with MediaServer() as server:
        good = server.media(PNG, "a.png", "image/png")
        link = good.link
        assert link is not None
        fetched = _run(emulation.fetch_url(link(None)))
        assert fetched is not None and fetched.data == PNG
        assert emulation.looks_like_image(fetched.data) == "image/png"
        broken = server.broken_media().link
        assert broken is not None
        assert _run(emulation.fetch_url(broken(None))) is None
        assert _run(emulation.fetch_url(link(None), max_bytes=10)) is None
    assert emulation.looks_like_image(JPEG) == "image/jpeg"
    assert emulation.looks_like_image(b"hello") is None


def test_usage_meter_refuses_at_the_limit() -> None:
    meter = emulation.UsageMeter(limit=2, window_s=60)
    assert meter.count("p", 0.0) == (True, 50, 0.0)
    allowed, used, _regain = meter.count("p", 1.0)
    assert allowed and used == 100
    allowed, used, regain = meter.count("p", 2.0)
    assert not allowed and regain == 58.0
    assert meter.count("p", 61.0)[0]


def test_split_version() -> None:
    assert emulation.split_version("/v26.0/123/feed") == ((26, 0), "/123/feed")
    assert emulation.split_version("/123") == (None, "/123")
    with pytest.raises(emulation.GraphFault):
        emulation.check_version((2, 12))
