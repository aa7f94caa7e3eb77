"""VK's answers parsed in wire.py: the envelope, the code table and the creates flag."""

from __future__ import annotations

import httpx
import pytest

from rupor.networks import errors
from rupor.networks.vk import wire


def _answer(body: object, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body)


def test_a_response_is_returned_as_it_is():
    assert wire.parse("wall.post", _answer({"response": {"post_id": 7}}), creates=True, token="t") == {
        "post_id": 7
    }


@pytest.mark.parametrize(("creates", "cls"), [(True, errors.UnknownOutcome), (False, errors.Transient)])
def test_an_internal_error_is_ambiguous_only_for_a_create(creates, cls):
    answer = _answer({"error": {"error_code": wire.Code.SERVER, "error_msg": "Internal server error"}})
    with pytest.raises(errors.NetworkError) as caught:
        wire.parse("wall.post", answer, creates=creates, token="t")
    assert type(caught.value) is cls and caught.value.code == wire.Code.SERVER


def test_codes_decide_by_the_table_and_name_the_token():
    answer = _answer({"error": {"error_code": 5, "error_msg": "User authorization failed"}})
    with pytest.raises(errors.AuthExpired) as caught:
        wire.parse("wall.get", answer, creates=False, token="community token")
    assert "community token" in caught.value.message and caught.value.needs_person
    flood = _answer({"error": {"error_code": 9, "error_msg": "Flood control"}})
    with pytest.raises(errors.RateLimited) as limited:
        wire.parse("wall.post", flood, creates=True, token="t")
    assert limited.value.retry_after == 600.0
    other = _answer({"error": {"error_code": 4242, "error_msg": "?"}})
    with pytest.raises(errors.Rejected) as refused:
        wire.parse("wall.post", other, creates=True, token="t")
    assert refused.value.message == "VK refused wall.post (error 4242)." and not refused.value.needs_person


def test_a_server_error_status_and_an_unreadable_body_are_ambiguous_for_a_create():
    with pytest.raises(errors.UnknownOutcome):
        wire.parse("wall.post", httpx.Response(502, text="bad gateway"), creates=True, token="t")
    with pytest.raises(errors.UnknownOutcome):
        wire.parse("wall.post", httpx.Response(200, text="<html>"), creates=True, token="t")
    with pytest.raises(errors.RateLimited):
        wire.parse("wall.get", httpx.Response(429, text=""), creates=False, token="t")
