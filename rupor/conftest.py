"""Fixtures shared by every domain's tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from rupor.accounts import service as accounts
from rupor.accounts.models import User, Workspace
from rupor.core import clock
from rupor.networks import registry

#: A network Rupor knows by name only, with no adapter, for the tests of what Rupor does without
#: one (every real network gets an adapter in time). Named here, before the API builds its schema.
NO_ADAPTER = "examplenet"
registry.DISPLAY_NAMES.setdefault(NO_ADAPTER, "Example network")
registry.ABBREVIATIONS.setdefault(NO_ADAPTER, "EX")


@pytest.fixture(autouse=True)
def _reset_clock():
    yield
    clock.reset()


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: a view that activates a person's language (the
    profile page) leaves it active in the thread, which would leak into the next test."""
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Each test starts with empty rate-limit buckets of its own (in memory: network calls pace
    through them without a database); tests of the shared backends pick one explicitly."""
    from rupor.publishing import ratelimit

    previous = ratelimit.use("memory")
    yield
    ratelimit.use(previous)


@dataclass
class Api:
    """A JSON client for /api/v1 authenticated by an API key."""

    client: Client
    key: str
    workspace: Workspace

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"/api/v1{path}", params, headers=self._headers())

    def post(self, path: str, data: Any) -> Any:
        return self.client.post(
            f"/api/v1{path}", json.dumps(data), content_type="application/json", headers=self._headers()
        )

    def patch(self, path: str, data: Any) -> Any:
        return self.client.patch(
            f"/api/v1{path}", json.dumps(data), content_type="application/json", headers=self._headers()
        )

    def delete(self, path: str) -> Any:
        return self.client.delete(f"/api/v1{path}", headers=self._headers())


@pytest.fixture
def make_user(db) -> Callable[..., User]:
    counter = {"n": 0}

    def make(email: str | None = None, password: str = "correct horse battery") -> User:
        counter["n"] += 1
        return accounts.create_user(email or f"user{counter['n']}@example.com", password)

    return make


@pytest.fixture
def make_workspace(db, make_user) -> Callable[..., Workspace]:
    def make(name: str = "Acme", owner: User | None = None, timezone: str = "Europe/Moscow") -> Workspace:
        return accounts.create_workspace(name, owner or make_user(), timezone=timezone)

    return make


@pytest.fixture
def api_for(db) -> Callable[[Workspace, str], Api]:
    def make(workspace: Workspace, role: str = "owner") -> Api:
        key = accounts.create_api_key(None, workspace, role)
        return Api(Client(), key.key, workspace)

    return make
