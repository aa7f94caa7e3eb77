"""Failed sign-ins and API-key attempts are throttled per account and per address."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from rupor.accounts.models import User
from rupor.core import clock

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _sign_in(client: Client, email: str, password: str, address: str = "203.0.113.7") -> Any:
    return client.post("/login/", {"username": email, "password": password}, REMOTE_ADDR=address)


def test_the_21st_wrong_password_in_a_minute_is_refused_even_when_right(make_user: Any) -> None:
    clock.freeze(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC))
    user: User = make_user("ann@example.com")
    client = Client()
    for _ in range(20):
        response = _sign_in(client, user.email, "wrong password")
        assert response.status_code == 200
        clock.advance(dt.timedelta(seconds=1))
    response = _sign_in(client, user.email, PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert "Too many failed sign-ins" in response.content.decode()
    assert "Wait 40 seconds" in response.content.decode()
    # Another address does not help: the account itself is throttled.
    assert _sign_in(Client(), user.email, PASSWORD, address="198.51.100.9").status_code == 429

    clock.advance(dt.timedelta(seconds=41))  # the first failure leaves the one-minute window
    response = _sign_in(client, user.email, PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_one_address_trying_many_accounts_is_throttled(make_user: Any) -> None:
    clock.freeze(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC))
    user: User = make_user("bob@example.com")
    client = Client()
    for n in range(60):
        assert _sign_in(client, f"someone{n}@example.com", "guess").status_code == 200
    assert _sign_in(client, user.email, PASSWORD).status_code == 429
    # The same account from another address still signs in.
    assert _sign_in(Client(), user.email, PASSWORD, address="198.51.100.9").status_code == 302


def test_a_right_password_clears_the_account_count(make_user: Any) -> None:
    clock.freeze(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC))
    user: User = make_user("cat@example.com")
    for _ in range(19):
        _sign_in(Client(), user.email, "wrong")
    assert _sign_in(Client(), user.email, PASSWORD).status_code == 302
    for _ in range(19):
        _sign_in(Client(), user.email, "wrong", address="198.51.100.9")
    assert _sign_in(Client(), user.email, PASSWORD, address="198.51.100.10").status_code == 302


def test_unknown_api_keys_from_one_address_are_throttled(make_workspace: Any, api_for: Any) -> None:
    clock.freeze(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC))
    api = api_for(make_workspace())
    client = Client()
    for n in range(30):
        response = client.get(
            "/api/v1/channels", headers={"Authorization": f"Bearer rpr_guess{n}"}, REMOTE_ADDR="203.0.113.7"
        )
        assert response.status_code == 401
    response = client.get(
        "/api/v1/channels", headers={"Authorization": f"Bearer {api.key}"}, REMOTE_ADDR="203.0.113.7"
    )
    assert response.status_code == 429
    assert "try again in 60 seconds" in response.json()["detail"]
    # Other addresses are not affected, and the lock lifts when the window passes.
    ok = client.get(
        "/api/v1/channels", headers={"Authorization": f"Bearer {api.key}"}, REMOTE_ADDR="198.51.100.9"
    )
    assert ok.status_code == 200
    clock.advance(dt.timedelta(seconds=61))
    again = client.get(
        "/api/v1/channels", headers={"Authorization": f"Bearer {api.key}"}, REMOTE_ADDR="203.0.113.7"
    )
    assert again.status_code == 200
