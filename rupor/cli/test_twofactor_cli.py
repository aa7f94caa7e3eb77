"""`rupor two-factor status|reset|require`: the operator's view of two-factor sign-in."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from rupor.accounts import service as accounts
from rupor.accounts.models import AuditEntry
from rupor.accounts.test_twofactor import turn_on
from rupor.cli.main import cli
from rupor.notifications.models import Notification

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_status_reset_and_require() -> None:
    ann = accounts.create_user("ann@example.com", "a-long-enough-passphrase-42")
    ws = accounts.create_workspace("Bakery", ann)
    runner = CliRunner()
    assert runner.invoke(cli, ["two-factor", "status", "ann@example.com"]).output == "off\n"
    turn_on(ann)
    status = runner.invoke(cli, ["two-factor", "status", "ann@example.com"])
    assert status.exit_code == 0 and status.output.startswith("on since ")
    assert "10 recovery code(s) left" in status.output

    required = runner.invoke(cli, ["two-factor", "require", "--workspace", ws.slug])
    assert required.exit_code == 0 and required.output == "required\n"
    assert accounts.two_factor_required(ws.pk)

    reset = runner.invoke(cli, ["two-factor", "reset", "ann@example.com"])
    assert reset.exit_code == 0 and reset.output == "turned off\n"
    assert not accounts.has_two_factor(ann.pk)
    assert AuditEntry.objects.filter(workspace=ws, action="two_factor.reset").exists()
    assert Notification.objects.filter(user=ann, kind="two_factor_disabled").exists()
    again = runner.invoke(cli, ["two-factor", "reset", "ann@example.com"])
    assert "was not on" in again.output

    optional = runner.invoke(cli, ["two-factor", "require", "--workspace", ws.slug, "--off"])
    assert optional.output == "optional\n" and not accounts.two_factor_required(ws.pk)

    unknown = runner.invoke(cli, ["two-factor", "reset", "nobody@example.com"])
    assert unknown.exit_code == 1 and "No user with the email nobody@example.com" in unknown.output
    assert runner.invoke(cli, ["two-factor", "status", "nobody@example.com"]).exit_code == 1
    assert runner.invoke(cli, ["two-factor", "require", "--workspace", "nope"]).exit_code == 2
