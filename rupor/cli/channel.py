"""``rupor channel``: connect and list channels from the command line (the operator acts as owner)."""

from __future__ import annotations

import sys
from typing import Any

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


@click.group()
def channel() -> None:
    """Connect and list channels."""


@channel.command("connect")
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
@click.option("--network", required=True, help="vk, telegram, ok, …")
@click.option("--remote-id", default="", help="Community, chat or group id (learned from the network when possible).")
@click.option("--name", default="", help="Display name (learned from the network when omitted).")
@click.option("--credential", "credentials", multiple=True, metavar="FIELD=VALUE",
              help="A credential field, e.g. --credential bot_token=123:ABC (repeat for each field).")
@click.option("--base-url", default="", help="API base URL override (self-hosted endpoint, proxy, emulator).")
@click.option("--verify/--no-verify", default=True, show_default=True, help="Check the credentials with the network first.")
def connect(slug: str, network: str, remote_id: str, name: str, credentials: tuple[str, ...], base_url: str, verify: bool) -> None:
    """Connect a channel; the credentials are checked with the network and stored encrypted."""
    actor = _operator(slug)
    from rupor.channels import service

    values: dict[str, str] = {}
    for item in credentials:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            click.echo(f"Error: --credential takes FIELD=VALUE, not {item.split('=')[0]!r}…", err=True)
            sys.exit(2)
        values[key.strip()] = value
    try:
        created = service.connect(
            actor,
            service.ChannelInput(network=network, name=name, remote_id=remote_id, credentials=values, base_url=base_url),
            verify=verify,
        )
    except service.ChannelError as exc:
        where = f" ({exc.field})" if exc.field else ""
        click.echo(f"Error{where}: {exc.message}", err=True)
        sys.exit(1)
    click.echo(f"{created.pk}\t{created.network}\t{created.name}\t{'verified' if created.verified_at else 'not verified'}")


@channel.command("list")
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
def list_channels(slug: str) -> None:
    """List a workspace's channels (credentials are never shown)."""
    actor = _operator(slug)
    from rupor.channels import service

    for c in service.list_channels(actor.workspace_id):
        click.echo(f"{c.pk}\t{c.network}\t{c.name}\t{c.remote_id}\t{c.status}")
