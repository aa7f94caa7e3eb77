"""An invitation belongs to its email: only that address can accept it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from rupor.accounts import service as accounts
from rupor.accounts.models import Membership, User, Workspace
from rupor.accounts.roles import Role

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _invite(workspace: Workspace, owner: User, email: str) -> str:
    actor = accounts.actor_for_user(owner, workspace)
    assert actor is not None
    _invitation, token = accounts.invite(actor, email, "editor")
    return reverse("web:invitation", args=[token])


def test_another_signed_in_account_cannot_take_the_invitation(make_user: Any, make_workspace: Any) -> None:
    owner = make_user("owner@example.com")
    ws = make_workspace(owner=owner)
    path = _invite(ws, owner, "invited@example.com")
    intruder = make_user("intruder@example.com")
    client = Client()
    client.force_login(intruder)

    page = client.get(path)
    assert page.status_code == 403
    text = page.content.decode()
    assert "this invitation is for invited@example.com" in text
    assert "Sign out and continue" in text
    assert client.post(path).status_code == 403
    assert not Membership.objects.filter(workspace=ws, user=intruder).exists()
    # The domain refuses it too, whoever calls it.
    with pytest.raises(accounts.AccountsError) as refused:
        accounts.accept_invitation(path.split("/")[2], intruder)
    assert refused.value.status == 403

    # Signing out leads back to the invitation, where the invited address signs up and joins.
    out = client.post("/logout/", {"next": path})
    assert out.status_code == 302 and out["Location"] == path
    joined = client.post(path, {"name": "Invited", "password1": PASSWORD, "password2": PASSWORD})
    assert joined.status_code == 302
    invited = User.objects.get(email="invited@example.com")
    assert accounts.role_of(invited, ws) == Role.EDITOR


def test_the_invited_account_signed_in_accepts(make_user: Any, make_workspace: Any) -> None:
    owner = make_user("owner@example.com")
    ws = make_workspace(owner=owner)
    invited = make_user("Invited@Example.com")
    path = _invite(ws, owner, "invited@example.com")
    client = Client()
    client.force_login(invited)
    assert client.get(path).status_code == 200
    assert client.post(path).status_code == 302
    assert accounts.role_of(invited, ws) == Role.EDITOR
