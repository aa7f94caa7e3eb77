"""`rupor links settings|list|networks` print and change what the links domain keeps."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from django.test import Client

from rupor.accounts import service as accounts
from rupor.cli.main import cli
from rupor.links import service as links

pytestmark = pytest.mark.django_db


def test_settings_then_a_click_listed_by_link_and_network() -> None:
    ws = accounts.create_workspace(
        "Bakery", accounts.create_user("o@example.com", "a-long-enough-passphrase-42")
    )
    runner = CliRunner()
    out = runner.invoke(
        cli, ["links", "settings", "--workspace", ws.slug, "--utm", "--short", "--medium", "paid_social"]
    )
    assert out.exit_code == 0, out.output
    assert "utm_enabled\tTrue" in out.output and "medium\tpaid_social" in out.output
    bad = runner.invoke(cli, ["links", "settings", "--workspace", ws.slug, "--short-domain", "ftp://x"])
    assert bad.exit_code != 0
    code = links.track(
        links.VariantRef(ws.pk, 3, 30, 1, "ok"), text="https://bakery.example/", link=None, first_comment=None
    ).text.rsplit("/l/", 1)[1]
    Client().get(
        f"/l/{code}",
        HTTP_USER_AGENT="Mozilla/5.0 (compatible; OdklBot/1.0 like Linux; klass@odnoklassniki.ru)",
    )
    listed = runner.invoke(cli, ["links", "list", "--workspace", ws.slug])
    assert listed.output.startswith(f"{code}\tok\t3\t1\t0\t1\t0\thttps://bakery.example/?utm_source=ok")
    assert runner.invoke(cli, ["links", "networks", "--workspace", ws.slug]).output == "ok\t1\t0\t1\t0\n"
    assert runner.invoke(cli, ["links", "list", "--workspace", ws.slug, "--csv"]).output.startswith(
        "code,short_url"
    )


def test_newsletter_link_settings_from_the_command_line() -> None:
    ws = accounts.create_workspace(
        "Deli", accounts.create_user("d@example.com", "a-long-enough-passphrase-42")
    )
    runner = CliRunner()
    out = runner.invoke(
        cli,
        [
            "links",
            "settings",
            "--workspace",
            ws.slug,
            "--newsletter-links",
            "off",
            "--newsletter-medium",
            "newsletter",
        ],
    )
    assert out.exit_code == 0, out.output
    assert "newsletter_links\tFalse" in out.output and "newsletter_medium\tnewsletter" in out.output
    bad = runner.invoke(cli, ["links", "settings", "--workspace", ws.slug, "--newsletter-medium", "sms"])
    assert bad.exit_code != 0 and "email or newsletter" in bad.output
    assert links.conventions(ws.pk).newsletter_medium == "newsletter"
