"""`rupor links source …` and `rupor links traffic` against the GA4 emulator: the key comes from
standard input, never the command line; refusals are a sentence and a non-zero exit."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner

from rupor.accounts import service as accounts
from rupor.cli.main import cli
from rupor.networks.ga4 import client as ga4_client
from rupor.networks.ga4 import testing as ga4_testing

pytestmark = pytest.mark.django_db

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def ga4():
    ga4_client.forget_tokens()
    emulator = ga4_testing.start()
    ga4_testing.add_landings(
        emulator,
        [
            (
                "https://shop.example/?utm_source=telegram&utm_medium=social&utm_campaign=news&utm_content=12",
                NOW - dt.timedelta(days=4),
            )
        ],
    )
    yield emulator
    emulator.stop()


def test_connect_collect_and_print_traffic(ga4) -> None:
    ws = accounts.create_workspace(
        "Roastery", accounts.create_user("o@example.com", "a-long-enough-passphrase-42")
    )
    runner = CliRunner()
    none = runner.invoke(cli, ["links", "traffic", "--workspace", ws.slug])
    assert none.exit_code == 1 and "no web analytics source" in none.output
    base = [
        "links",
        "source",
        "connect",
        "ga4",
        "--workspace",
        ws.slug,
        "--account",
        ga4_testing.DEMO_PROPERTY_ID,
    ]
    bad = runner.invoke(cli, [*base, "--secret-file", "-", "--base-url", ga4.url], input="not a key")
    assert bad.exit_code == 1 and "Error (secret)" in bad.output
    out = runner.invoke(
        cli,
        [*base, "--secret-file", "-", "--base-url", ga4.url, "--goal", "purchase"],
        input=ga4_testing.demo_key_text(),
    )
    assert out.exit_code == 0, out.output
    assert "goal\tpurchase" in out.output and "PRIVATE KEY" not in out.output
    assert runner.invoke(cli, ["links", "source", "test", "ga4", "--workspace", ws.slug]).exit_code == 0
    read = runner.invoke(cli, ["links", "source", "collect", "ga4", "--workspace", ws.slug])
    assert read.exit_code == 0 and "rows for" in read.output
    listed = runner.invoke(cli, ["links", "source", "list", "--workspace", ws.slug])
    assert listed.output.startswith(f"ga4\t{ga4_testing.DEMO_PROPERTY_ID}\tactive")
    table = runner.invoke(cli, ["links", "traffic", "--workspace", ws.slug, "--by", "post"])
    assert table.exit_code == 0 and table.output.startswith("12\ttelegram\t-\t-\t")
    assert runner.invoke(cli, ["links", "traffic", "--workspace", ws.slug, "--csv"]).output.startswith(
        "post_id,"
    )
    gone = runner.invoke(cli, ["links", "source", "disconnect", "ga4", "--workspace", ws.slug])
    assert gone.exit_code == 0
    again = runner.invoke(cli, ["links", "source", "test", "ga4", "--workspace", ws.slug])
    assert again.exit_code == 1 and "not connected" in again.output


def test_emulate_names_the_web_analytics_emulators_too() -> None:
    out = CliRunner().invoke(cli, ["emulate", "matomo"])
    assert out.exit_code != 0 and "metrica" in out.output and "ga4" in out.output
