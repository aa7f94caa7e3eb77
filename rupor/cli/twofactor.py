"""``rupor two-factor``: a person's two-factor sign-in (status, the operator's reset) and a
workspace's requirement of it (the operator acts as owner)."""

from __future__ import annotations

import click

from rupor.cli.channel import _fail, _operator


@click.group("two-factor")
def two_factor() -> None:
    """Two-factor sign-in: who uses it, turning it off for someone locked out, requiring it."""


@two_factor.command("status")
@click.argument("email")
def status(email: str) -> None:
    """Whether EMAIL signs in with a second factor, and how many recovery codes they have left."""
    from rupor.cli.main import _django

    _django()
    from rupor.accounts import twofactor
    from rupor.accounts.models import User

    user = User.objects.filter(email=email.strip().lower()).first()
    if user is None:
        click.echo(f"Error: no user with the email {email}.", err=True)
        raise SystemExit(1)
    state = twofactor.status(user)
    if state.enabled:
        since = f"{state.enabled_at:%Y-%m-%d %H:%M} UTC" if state.enabled_at else "?"
        click.echo(f"on since {since}\t{state.recovery_left} recovery code(s) left")
    else:
        click.echo("off")


@two_factor.command("reset")
@click.argument("email")
def reset(email: str) -> None:
    """Turn two-factor sign-in off for EMAIL, who lost both the app and the recovery codes. They sign
    in with the password alone and are told by email; the audit log of their workspaces records it."""
    from rupor.cli.main import _django

    _django()
    from rupor.accounts import service, twofactor

    try:
        was_on = twofactor.reset(email)
    except service.AccountsError as exc:
        _fail(exc)
    click.echo("turned off" if was_on else "it was not on; nothing changed")


@two_factor.command("require")
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
@click.option("--off", is_flag=True, help="Leave it to each member instead.")
def require(slug: str, off: bool) -> None:
    """Require two-factor sign-in of the workspace's members (API keys are not affected)."""
    actor = _operator(slug)
    from rupor.accounts import service

    try:
        service.set_two_factor_required(actor, not off)
    except service.AccountsError as exc:
        _fail(exc)
    click.echo("optional" if off else "required")
