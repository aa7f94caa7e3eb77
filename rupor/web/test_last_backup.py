"""Owners see on the publishing page when the last backup was made (the CLI records each one),
and are reminded when there is none or it is old; no one else sees it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from rupor.accounts import service as accounts
from rupor.core import clock
from rupor.ops.models import BackupRecord

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-enough-passphrase-42"


def _page(email: str, language: str = "en") -> str:
    client = Client(headers={"accept-language": language})
    assert client.login(username=email, password=PASSWORD)
    response = client.get(reverse("web:publishing"))
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def team():
    owner = accounts.create_user("owner@example.com", PASSWORD)
    ws = accounts.create_workspace("Coffee House", owner, timezone="Europe/Moscow")
    actor = accounts.actor_for_user(owner, ws)
    assert actor is not None
    for role in ("admin", "manager"):
        accounts.create_user(f"{role}@example.com", PASSWORD)
        accounts.add_member(actor, f"{role}@example.com", role)
    return ws


def test_owners_see_the_last_backup_and_a_reminder_when_it_is_missing_or_old(team):
    page = _page("owner@example.com")
    assert 'id="last-backup"' in page and "none yet" in page
    assert 'id="backup-stale"' in page and "No backup has been made" in page

    BackupRecord.objects.create(
        archive_name="rupor-backup-old.tar", finished_at=clock.now() - dt.timedelta(days=5)
    )
    page = _page("owner@example.com")
    assert 'id="backup-stale"' in page and "The last backup was made 5" in page

    made = clock.now() - dt.timedelta(hours=3)
    BackupRecord.objects.create(archive_name="rupor-backup-new.tar", finished_at=made)
    BackupRecord.objects.create(kind="restore", archive_name="restored.tar", finished_at=clock.now())
    page = _page("owner@example.com")
    assert 'title="rupor-backup-new.tar"' in page and 'id="backup-stale"' not in page
    local = made.astimezone(dt.timezone(dt.timedelta(hours=3)))  # Moscow
    assert local.strftime("%H:%M") in page.split('id="last-backup"')[1][:400]


@pytest.mark.parametrize("email", ["admin@example.com", "manager@example.com"])
def test_other_roles_do_not_see_it(team, email):
    page = _page(email)
    assert "last-backup" not in page and "backup-stale" not in page


@pytest.mark.parametrize(("language", "words"), [("ru", "Последняя резервная копия"), ("ko", "마지막 백업")])
def test_in_russian_and_korean(team, language, words):
    assert words in _page("owner@example.com", language)
