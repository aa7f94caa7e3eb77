"""Schema-driven fuzzing: whatever the OpenAPI document allows a client to send, the API never
answers with a 5xx. Cases come from schemathesis; they are sent through Django's test client so
that they share the test's database transaction."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
import schemathesis
from django.test import Client
from hypothesis import HealthCheck, settings

from rupor.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


@pytest.fixture
def auth_headers(db, make_workspace, api_for):
    ws = make_workspace("Fuzz")
    api = api_for(ws, "owner")
    channel = api.post(
        "/channels", {"network": "examplenet", "remote_id": "fuzz", "name": "Fuzz", "verify": False}
    ).json()["id"]
    api.post("/posts", {"text": "seed", "variants": [{"channel_id": channel}]})
    return {"Authorization": f"Bearer {api.key}"}


def send(case, headers):
    kwargs = case.as_transport_kwargs(headers=headers)
    path = kwargs["path"]
    query = kwargs.get("query_string") or {}
    if query:
        path += "?" + urlencode(query, doseq=True)
    body = b""
    if "json" in kwargs:
        body = json.dumps(kwargs["json"]).encode()
    elif kwargs.get("data") is not None:
        data = kwargs["data"]
        body = data if isinstance(data, bytes) else str(data).encode()
    hdrs = dict(kwargs.get("headers") or {})
    content_type = hdrs.pop("Content-Type", "application/json")
    return Client().generic(kwargs["method"], path, body, content_type=content_type, headers=hdrs)


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case, auth_headers):
    response = send(case, auth_headers)
    assert response.status_code < 500, (case.method, case.formatted_path, case.body, response.content[:500])
    if response.status_code >= 400 and response.status_code != 405:
        assert response["Content-Type"].startswith("application/json"), (
            case.formatted_path,
            response.status_code,
            response.content[:300],
        )
        assert "detail" in response.json()
