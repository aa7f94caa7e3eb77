"""The emulator against LinkedIn's documentation, over raw HTTP (no adapter)."""

from __future__ import annotations

import time

import pytest

from rupor.core import http
from rupor.networks.linkedin import emulator as emu
from rupor.networks.linkedin import testing, wire

ORG = f"urn:li:organization:{emu.DEMO_ORG}"


@pytest.fixture(scope="module")
def em():
    running = testing.start(rate_limits=False)
    yield running
    running.stop()


def _client(em):
    return http.client(base_url=em.url, timeout=5)


def test_a_post_is_201_with_an_empty_body_and_the_urn_in_x_restli_id(em):
    with _client(em) as c:
        created = c.post(
            "/rest/posts", headers=wire.headers(emu.DEMO_TOKEN), json=wire.post_body(ORG, "Hello")
        )
        assert created.status_code == 201
        assert created.content == b""
        urn = created.headers["x-restli-id"]
        assert urn.startswith("urn:li:share:")
        read = c.get(f"/rest/posts/{wire.path_urn(urn)}", headers=wire.headers(emu.DEMO_TOKEN))
        assert read.json()["commentary"] == "Hello" and read.json()["author"] == ORG
        assert (
            c.delete(f"/rest/posts/{wire.path_urn(urn)}", headers=wire.headers(emu.DEMO_TOKEN)).status_code
            == 204
        )
        assert (
            c.get(f"/rest/posts/{wire.path_urn(urn)}", headers=wire.headers(emu.DEMO_TOKEN)).status_code
            == 404
        )


def test_the_restli_protocol_header_is_required(em):
    headers = {k: v for k, v in wire.headers(emu.DEMO_TOKEN).items() if k != "X-Restli-Protocol-Version"}
    with _client(em) as c:
        answer = c.post("/rest/posts", headers=headers, json=wire.post_body(ORG, "x"))
    assert answer.status_code == 400


def test_token_errors_have_linkedins_shape(em):
    with _client(em) as c:
        expired = c.get(f"/rest/organizations/{emu.DEMO_ORG}", headers=wire.headers(emu.EXPIRED_TOKEN)).json()
        revoked = c.get(f"/rest/organizations/{emu.DEMO_ORG}", headers=wire.headers(emu.REVOKED_TOKEN)).json()
    assert expired == {
        "status": 401,
        "serviceErrorCode": 65602,
        "code": "EXPIRED_ACCESS_TOKEN",
        "message": "The token used in the request has expired",
    }
    assert revoked["serviceErrorCode"] == 65601 and revoked["code"] == "REVOKED_ACCESS_TOKEN"


def test_an_image_is_usable_only_once_available(em):
    with _client(em) as c:
        started = c.post(
            "/rest/images",
            params={"action": "initializeUpload"},
            headers=wire.headers(emu.DEMO_TOKEN),
            json={"initializeUploadRequest": {"owner": ORG}},
        ).json()["value"]
        image = started["image"]
        status = c.get(f"/rest/images/{wire.path_urn(image)}", headers=wire.headers(emu.DEMO_TOKEN)).json()
        assert status["status"] == "WAITING_UPLOAD"
        body = wire.post_body(ORG, "pic", media={"id": image})
        assert c.post("/rest/posts", headers=wire.headers(emu.DEMO_TOKEN), json=body).status_code == 422
        assert (
            c.put(started["uploadUrl"], content=b"\xff\xd8\xff" + b"0" * 100).status_code == 201
        )  # no auth header
        time.sleep(emu.PROCESSING_S + 0.05)
        status = c.get(f"/rest/images/{wire.path_urn(image)}", headers=wire.headers(emu.DEMO_TOKEN)).json()
        assert status["status"] == "AVAILABLE"
        assert c.post("/rest/posts", headers=wire.headers(emu.DEMO_TOKEN), json=body).status_code == 201


def test_a_refresh_keeps_the_refresh_tokens_end(em):
    with _client(em) as c:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": emu.DEMO_REFRESH,
            "client_id": emu.DEMO_CLIENT_ID,
            "client_secret": emu.DEMO_CLIENT_SECRET,
        }
        first = c.post(wire.TOKEN_PATH, data=form).json()
        testing.advance_clock(em, 86400)
        second = c.post(wire.TOKEN_PATH, data=form).json()
        assert first["expires_in"] == second["expires_in"] == 60 * 86400
        assert first["refresh_token_expires_in"] - second["refresh_token_expires_in"] == pytest.approx(
            86400, abs=5
        )
        bad = c.post(wire.TOKEN_PATH, data={**form, "client_secret": "wrong"})
        assert bad.status_code == 401
        gone = c.post(wire.TOKEN_PATH, data={**form, "refresh_token": "nope"})
        assert gone.status_code == 400 and gone.json()["error"] == "invalid_grant"
