"""NUL characters in queries and form fields: a clear 400, nothing stored (PostgreSQL cannot)."""

from __future__ import annotations

from typing import Any

from django.test import Client

from rupor.accounts import service as accounts
from rupor.planning.models import Post


def test_nul_in_a_form_field_or_query_is_refused_before_any_view(db: Any, settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = accounts.create_user("anna@example.com", "a-long-enough-passphrase-42")
    accounts.create_workspace("Coffee House", user)
    client = Client()
    assert client.login(username="anna@example.com", password="a-long-enough-passphrase-42")
    response = client.post("/posts/new/", {"text": "hello\x00", "action": "draft"})
    assert response.status_code == 400 and "NUL" in response.content.decode()
    assert not Post.objects.exists()
    response = client.get("/posts/", {"status": "draft\x00"})
    assert response.status_code == 400
    response = client.post("/review/some-token/", {"decision": "approve", "comment": "ok\x00"})
    assert response.status_code == 400
    response = client.get("/api/v1/posts", {"status": "draft\x00"})
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "status"
    assert client.post("/posts/new/", {"text": "hello", "action": "draft"}).status_code in (200, 302)
