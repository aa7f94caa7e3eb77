"""``rupor channel``: connect and list channels from the command line (the operator acts as owner)."""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import click


def _operator(slug: str) -> Any:
    from rupor.cli.main import _django

    _django()
    from rupor.accounts.models import Workspace
    from rupor.accounts.roles import Role
    from rupor.accounts.service import Actor

    workspace = Workspace.objects.filter(slug=slug).first()
    if workspace is None:
        click.echo(f"Error: no workspace with the slug {slug!r} (see 'rupor workspace list').", err=True)
        sys.exit(2)
    return Actor(workspace.pk, Role.OWNER, label="command line")


def _pairs(items: tuple[str, ...], flag: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            click.echo(f"Error: {flag} takes NAME=VALUE, not {item.split('=')[0]!r}…", err=True)
            sys.exit(2)
        values[key.strip()] = value
    return values


def _settings(items: tuple[str, ...]) -> dict[str, object]:
    from rupor.channels import options

    return {key: options.parse_text(key, value) for key, value in _pairs(items, "--setting").items()}


def _fail(exc: Any) -> NoReturn:
    where = f" ({exc.field})" if exc.field else ""
    click.echo(f"Error{where}: {exc.message}", err=True)
    sys.exit(1)


SETTING_HELP = (
    "A channel setting, e.g. --setting timeout=10 (repeat for each; checked against its type and bounds: "
    "timeout, pace, longpoll_wait, callback_confirmation, chat_type, forward_attempts, forward_wait_s, processing_wait_s)."
)


@click.group()
def channel() -> None:
    """Connect, change and list channels."""


@channel.command("connect")
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
@click.option("--network", required=True, help="vk, telegram, ok, bluesky, …")
@click.option(
    "--remote-id", default="", help="Community, chat or group id (learned from the network when possible)."
)
@click.option("--name", default="", help="Display name (learned from the network when omitted).")
@click.option(
    "--credential",
    "credentials",
    multiple=True,
    metavar="FIELD=VALUE",
    help="A credential field, e.g. --credential bot_token=123:ABC (repeat for each field).",
)
@click.option("--base-url", default="", help="API base URL override (self-hosted endpoint, proxy, emulator).")
@click.option("--setting", "settings", multiple=True, metavar="NAME=VALUE", help=SETTING_HELP)
@click.option(
    "--verify/--no-verify",
    default=True,
    show_default=True,
    help="Check the credentials with the network first.",
)
def connect(
    slug: str,
    network: str,
    remote_id: str,
    name: str,
    credentials: tuple[str, ...],
    base_url: str,
    settings: tuple[str, ...],
    verify: bool,
) -> None:
    """Connect a channel; the credentials are checked with the network and stored encrypted."""
    actor = _operator(slug)
    from rupor.channels import service

    values = _pairs(credentials, "--credential")
    try:
        created = service.connect(
            actor,
            service.ChannelInput(
                network=network,
                name=name,
                remote_id=remote_id,
                credentials=values,
                base_url=base_url,
                settings=_settings(settings),
            ),
            verify=verify,
        )
    except service.ChannelError as exc:
        _fail(exc)
    click.echo(
        f"{created.pk}\t{created.network}\t{created.name}\t{'verified' if created.verified_at else 'not verified'}"
    )


@channel.command("update")
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
@click.argument("channel_id", type=click.IntRange(1, 2**62))
@click.option("--name", default=None, help="New display name.")
@click.option(
    "--credential",
    "credentials",
    multiple=True,
    metavar="FIELD=VALUE",
    help="A new credential value (repeat for each field); a new --base-url needs every secret field again.",
)
@click.option(
    "--base-url",
    default=None,
    help="New API base URL; the stored secrets are never sent to it, so give them again.",
)
@click.option("--setting", "settings", multiple=True, metavar="NAME=VALUE", help=SETTING_HELP)
@click.option(
    "--verify/--no-verify",
    default=True,
    show_default=True,
    help="Check new credentials or a new address with the network first.",
)
def update(
    slug: str,
    channel_id: int,
    name: str | None,
    credentials: tuple[str, ...],
    base_url: str | None,
    settings: tuple[str, ...],
    verify: bool,
) -> None:
    """Change a channel: its name, credentials, API base URL or settings."""
    actor = _operator(slug)
    from rupor.channels import service

    changes: dict[str, Any] = {"name": name, "base_url": base_url}
    if credentials:
        changes["credentials"] = _pairs(credentials, "--credential")
    if settings:
        changes["settings"] = _settings(settings)
    try:
        changed = service.update(actor, channel_id, changes, verify=verify)
    except service.ChannelError as exc:
        _fail(exc)
    click.echo(f"{changed.pk}\t{changed.network}\t{changed.name}\t{changed.status}")


@channel.command("list")
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
def list_channels(slug: str) -> None:
    """List a workspace's channels (credentials are never shown)."""
    actor = _operator(slug)
    from rupor.channels import service

    for c in service.list_channels(actor.workspace_id):
        click.echo(f"{c.pk}\t{c.network}\t{c.name}\t{c.remote_id}\t{c.status}")


@channel.command("connect-x")
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
@click.option(
    "--client-id", required=True, help="The OAuth 2.0 Client ID of your app in the X developer portal."
)
@click.option("--client-secret", default="", help="Only for a confidential client (a web app).")
@click.option(
    "--redirect-uri", required=True, help="A callback URL registered for the app (where X sends you back)."
)
@click.option("--authorize-url", default="", help="Authorization page override (emulator).")
@click.option("--base-url", default="", help="API base URL override (proxy, emulator).")
@click.option("--name", default="", help="Display name (learned from X when omitted).")
def connect_x(
    slug: str,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    authorize_url: str,
    base_url: str,
    name: str,
) -> None:
    """Connect an X account with OAuth 2.0 and PKCE: open the printed address, allow the app, then
    paste the address X sends you back to; the tokens are stored encrypted and renewed by Rupor."""
    import secrets
    from urllib.parse import parse_qs, urlsplit

    from rupor.channels import service
    from rupor.networks import errors
    from rupor.networks.x import adapter as x_adapter
    from rupor.networks.x import wire as x_wire

    actor = _operator(slug)
    pkce = x_wire.Pkce.new()
    state = secrets.token_urlsafe(16)
    address = x_wire.authorize_url(
        client_id, redirect_uri, state, pkce, base=authorize_url or x_wire.AUTHORIZE_URL
    )
    click.echo("Open this address, allow the app, and paste the address X sends you back to:")
    click.echo(address)
    back = click.prompt("Address", prompt_suffix=": ").strip()
    query = parse_qs(urlsplit(back).query)
    if query.get("state", [""])[0] != state or not query.get("code"):
        click.echo("That address is not X's answer to this authorization (state or code missing).", err=True)
        sys.exit(1)
    try:
        credentials = x_adapter.exchange_code(
            client_id=client_id,
            client_secret=client_secret,
            code=query["code"][0],
            pkce=pkce,
            redirect_uri=redirect_uri,
            base_url=base_url or None,
        )
        created = service.connect(
            actor,
            service.ChannelInput(network="x", name=name, credentials=credentials, base_url=base_url),
        )
    except service.ChannelError as exc:
        _fail(exc)
    except errors.NetworkError as exc:
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(1)
    click.echo(f"{created.pk}\t{created.network}\t{created.name}\tverified")


@channel.command("mastodon-login")
@click.option("--instance", required=True, help="The Mastodon instance, e.g. https://mastodon.social.")
@click.option(
    "--code", default="", help="The authorization code the instance showed (asked for when omitted)."
)
@click.option("--client-id", default="", help="Rupor's application on the instance, when registered before.")
@click.option("--client-secret", default="", help="The secret of that application.")
def mastodon_login(instance: str, code: str, client_id: str, client_secret: str) -> None:
    """Get a Mastodon access token: register Rupor on the instance, open the address it prints,
    approve, and paste the code; then connect with --credential access_token=... --base-url INSTANCE."""
    from rupor.cli.main import _django

    _django()
    from rupor.networks.errors import NetworkError
    from rupor.networks.mastodon import adapter as mastodon

    try:
        if not (client_id and client_secret):
            app = mastodon.register_app(instance)
            client_id, client_secret = app["client_id"], app["client_secret"]
            click.echo(
                f"Registered Rupor on {instance}; to finish later, pass --client-id {client_id} "
                f"--client-secret {client_secret} --code CODE.",
                err=True,
            )
        if not code:
            click.echo(
                f"Open this address, approve Rupor, and copy the code:\n{mastodon.authorize_url(instance, client_id)}",
                err=True,
            )
            code = click.prompt("Code", err=True).strip()
        token = mastodon.exchange_code(instance, client_id, client_secret, code)
    except NetworkError as exc:
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(1)
    click.echo(token)
    click.echo(
        f"Connect it: rupor channel connect --workspace SLUG --network mastodon --base-url {instance} "
        "--credential access_token=<the token above>",
        err=True,
    )
