"""`rupor smo check|share|widgets`: text and JSON, refusals as a sentence and a non-zero status."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from rupor.accounts import service as accounts
from rupor.cli.main import cli
from rupor.smo.testing import Answer, SiteServer, page

pytestmark = pytest.mark.django_db


@pytest.fixture
def site(settings: Any) -> Iterator[SiteServer]:
    server = SiteServer().start()
    settings.RUPOR_ALLOW_PRIVATE_URLS = (server.origin,)
    yield server
    server.stop()


def test_check_prints_text_or_json_and_fails_with_a_sentence(site: SiteServer) -> None:
    runner = CliRunner()
    url = site.good_page()
    text = runner.invoke(cli, ["smo", "check", url])
    assert text.exit_code == 0, text.output
    assert text.output.startswith(f"{url}  (ok)") and "Facebook: ok; “Spring menu" in text.output
    as_json = runner.invoke(cli, ["smo", "check", url, "--json"])
    assert json.loads(as_json.output)["final_url"] == url
    bare = site.add(
        "/bare", Answer(body=page('<title>T</title><meta property="og:image" content="/nope.png">'))
    )
    strict = runner.invoke(cli, ["smo", "check", bare, "--strict"])
    assert strict.exit_code == 3 and "[error]" in strict.output
    refused = runner.invoke(cli, ["smo", "check", "http://192.168.1.1/"])
    assert refused.exit_code == 1 and "private or local address" in refused.output


def test_share_and_widgets_commands() -> None:
    ws = accounts.create_workspace(
        "Bakery", accounts.create_user("o@example.com", "a-long-enough-passphrase-42")
    )
    runner = CliRunner()
    out = runner.invoke(
        cli,
        [
            "smo",
            "share",
            "--workspace",
            ws.slug,
            "--networks",
            "vk,x",
            "--url",
            "https://b.example/",
            "--title",
            "B",
        ],
    )
    assert out.exit_code == 0, out.output
    assert (
        out.output.startswith("<!-- Share buttons made with Rupor: VK, X.") and "utm_source%3Dx" in out.output
    )
    bad = runner.invoke(cli, ["smo", "share", "--workspace", ws.slug, "--networks", "myspace"])
    assert bad.exit_code == 1 and "Error (networks)" in bad.output
    assert "No channel with a widget" in runner.invoke(cli, ["smo", "widgets", "--workspace", ws.slug]).output
