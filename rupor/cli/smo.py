"""``rupor smo``: the SMO kit for the company's site from the command line: check how the networks
will show a link, print share-button snippets and the channels' community widgets (the operator
acts as owner)."""

from __future__ import annotations

import json
import sys

import click

from rupor.cli.channel import _fail, _operator


@click.group()
def smo() -> None:
    """The SMO kit: link-preview checks, share buttons, community widgets."""


def _django() -> None:
    from rupor.cli.main import _django as setup

    setup()


def _text(data: dict) -> str:  # type: ignore[type-arg]  # the check's plain data, as check_data gives it
    lines = [f"{data['final_url']}  ({data['level']})"]
    for hop in data["hops"]:
        lines.append(f"  redirect {hop['status']}: {hop['url']}")
    for problem in data["problems"]:
        lines.append(f"  [{problem['level']}] {problem['message']} -> {problem['fix']}")
    for card in data["cards"]:
        picture = card["layout"] if card["image_url"] else "no picture"
        lines.append(f"{card['name']}: {card['level']}; “{card['shown_title']}”; {picture}")
        for problem in card["problems"]:
            lines.append(f"  [{problem['level']}] {problem['message']} -> {problem['fix']}")
    return "\n".join(lines)


@smo.command("check")
@click.argument("url")
@click.option("--json", "as_json", is_flag=True, help="Print the whole result as JSON.")
@click.option("--strict", is_flag=True, help="Exit with status 3 when any network's card has an error.")
def check(url: str, as_json: bool, strict: bool) -> None:
    """Fetch URL as the networks' crawlers do and say how each will show it, and what to fix.

    Exit status: 0 checked; 1 the page could not be checked (the reason is printed); 3 with
    --strict, a card has an error."""
    _django()
    from rupor.smo import service

    try:
        data = service.check_data(service.check_address(url))
    except service.SmoError as exc:
        _fail(exc)
    click.echo(json.dumps(data, ensure_ascii=False, indent=2) if as_json else _text(data))
    if strict and data["level"] == "error":
        sys.exit(3)


@smo.command("share")
@click.option("--workspace", "slug", required=True, help="Workspace slug (its UTM conventions apply).")
@click.option(
    "--networks",
    default="vk,telegram,ok,web_share",
    show_default=True,
    help="Buttons: vk, telegram, ok, facebook, x, linkedin, bluesky, mastodon, web_share.",
)
@click.option("--style", default="icons_labels", show_default=True, help="icons, icons_labels or labels.")
@click.option("--size", default="md", show_default=True, help="sm, md or lg.")
@click.option("--colour", default="brand", show_default=True, help="brand or mono.")
@click.option("--mono-colour", default="#1f2937", show_default=True, help="#rrggbb for --colour mono.")
@click.option("--url", default="", help="The page shared (then the buttons work without the script).")
@click.option("--title", default="", help="Its title (with --url).")
@click.option("--utm/--no-utm", default=True, show_default=True, help="Tag the shared address per network.")
@click.option("--campaign", default="share_buttons", show_default=True, help="utm_campaign.")
@click.option("--language", default="en", show_default=True, help="The buttons' language: en, ru or ko.")
@click.option(
    "--instance", default="mastodon.social", show_default=True, help="Mastodon server offered first."
)
def share(
    slug: str,
    networks: str,
    style: str,
    size: str,
    colour: str,
    mono_colour: str,
    url: str,
    title: str,
    utm: bool,
    campaign: str,
    language: str,
    instance: str,
) -> None:
    """Print a share-button snippet (HTML, CSS and a small script, no third-party code)."""
    actor = _operator(slug)
    from rupor.smo import service

    data = {
        "networks": networks,
        "style": style,
        "size": size,
        "colour": colour,
        "mono_colour": mono_colour,
        "page": "fixed" if url else "current",
        "url": url,
        "title": title,
        "utm": utm,
        "campaign": campaign,
        "language": language,
        "instance": instance,
    }
    try:
        kit = service.share_kit(actor, service.parse_share_options(data, language=language))
    except service.SmoError as exc:
        _fail(exc)
    click.echo(kit.snippet, nl=False)


@smo.command("widgets")
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
@click.option("--language", default="en", show_default=True, help="en, ru or ko.")
def widgets(slug: str, language: str) -> None:
    """Print the networks' community widgets for the workspace's channels."""
    actor = _operator(slug)
    from rupor.smo import service

    found = service.community_widgets(actor, {}, language=language)
    if not found:
        click.echo(
            "No channel with a widget: connect VK, Telegram, OK, Facebook, X, LinkedIn, Bluesky or Mastodon."
        )
        return
    for widget in found:
        click.echo(f"== {widget.channel_name} ({widget.network}, {widget.kind}): {widget.title}")
        if widget.snippet:
            click.echo(widget.snippet)
        else:
            missing = ", ".join(f.label for f in widget.fields if not f.value or f.error)
            click.echo(f"(needs: {missing or widget.note})\n")
