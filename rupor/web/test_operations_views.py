"""The operations page and its API route: owners and admins only, the workspace's own figures
plus the instance's workers and RUPOR_HOME, in each language."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from rupor.accounts import service as accounts
from rupor.accounts.models import Membership
from rupor.operations import testing as ot
from rupor.web.operations_views import duration

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-passphrase-42"


@pytest.fixture
def world(settings: Any, tmp_path: Any) -> Any:
    with ot.built(settings, tmp_path) as w:
        for email, ws, role in (
            ("owner@example.com", w.a, "owner"),
            ("admin@example.com", w.a, "admin"),
            ("manager@example.com", w.a, "manager"),
            ("other@example.com", w.b, "owner"),
        ):
            Membership.objects.create(user=accounts.create_user(email, PASSWORD), workspace=ws, role=role)
        yield w


def _client(email: str, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    assert client.login(username=email, password=PASSWORD)
    return client


def test_the_owner_sees_the_workspace_figures_and_the_instance_workers(world):
    res = _client("owner@example.com").get(reverse("web:operations"))
    assert res.status_code == 200
    html = res.content.decode()
    # Workers of the whole instance, each with its state.
    for worker in ("host:1:alive", "host:2:stale", "host:3:stopped"):
        assert worker in html
    assert ">stale<" in html and ">alive<" in html and ">stopped<" in html
    # This workspace's queues, lag and errors; nothing of the other's.
    assert "The text is too long." in html and "Reconnect it." in html
    assert "Polling failed: timeout" in html
    assert "B on VK" not in html
    assert "2 min 0 s" in html  # the most overdue of a's due targets (b's is 5 min)
    assert "1 h 30 min" in html  # the oldest item waiting for an answer
    assert "3 h 0 min" in html  # collection lag (b's 5 h is not a's)
    assert "350\xa0bytes" in html  # a's library
    assert 'id="metrics-off"' in html  # RUPOR_METRICS_TOKEN unset
    # The sidebar leads here.
    assert f'href="{reverse("web:operations")}"' in html


def test_admins_may_look_and_managers_may_not(world):
    assert _client("admin@example.com").get(reverse("web:operations")).status_code == 200
    manager = _client("manager@example.com")
    assert manager.get(reverse("web:operations")).status_code == 403
    assert (
        f'href="{reverse("web:operations")}"' not in manager.get(reverse("web:publishing")).content.decode()
    )


def test_the_other_workspace_sees_only_its_own(world):
    html = _client("other@example.com").get(reverse("web:operations")).content.decode()
    assert "The text is too long." not in html
    assert "A on VK" not in html
    assert "5 min 0 s" in html  # its own overdue target
    assert "host:1:alive" in html  # the workers are the instance's


@pytest.mark.parametrize(
    ("language", "title", "lateness"),
    [("ru", "Эксплуатация", "Опоздание публикаций"), ("ko", "운영", "게시 지각")],
)
def test_the_page_speaks_russian_and_korean(world, language, title, lateness):
    res = _client("owner@example.com", language).get(reverse("web:operations"))
    assert res.status_code == 200
    html = res.content.decode()
    assert f"<h1>{title}</h1>" in html
    assert lateness in html
    for english in ("Workers alive", "Lateness of publications", "Intake latency", "Last errors per channel"):
        assert english not in html


def test_the_page_names_the_metrics_address_once_a_token_is_set(world, settings):
    settings.RUPOR_METRICS_TOKEN = "x" * 40
    html = _client("owner@example.com").get(reverse("web:operations")).content.decode()
    assert 'id="metrics-on"' in html and "/metrics" in html
    assert "x" * 40 not in html


def test_the_api_route(world):
    owner = Membership.objects.get(user__email="owner@example.com")
    key = accounts.create_api_key(None, world.a, "owner").key
    res = Client().get("/api/v1/operations", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert res.status_code == 200, res.content
    data = res.json()
    assert data["workspace_id"] == owner.workspace_id
    assert data["engine"]["backlog"] == 2
    assert data["intake"]["waiting"] == 2
    assert data["collection"]["overdue"] == 2
    assert data["outbox"]["pending"] == {"email": 1, "webhook": 1}
    assert data["media"] == {"files": 2, "bytes": 350}
    assert "path" not in data["home"]
    assert data["engine"]["lateness_recent"]["vk"]["count"] == 1
    manager_key = accounts.create_api_key(None, world.a, "manager").key
    refused = Client().get("/api/v1/operations", HTTP_AUTHORIZATION=f"Bearer {manager_key}")
    assert refused.status_code == 403
    assert refused.json()["detail"]


def test_durations_read_as_people_say_them():
    assert duration(None) == "—"
    assert duration(0.4) == "0 s"
    assert duration(59) == "59 s"
    assert duration(61) == "1 min 1 s"
    assert duration(3 * 3600 + 59) == "3 h 0 min"
    assert duration(2 * 86400 + 5 * 3600) == "2 d 5 h"
    assert duration(float("inf")) == "over 4 h"
