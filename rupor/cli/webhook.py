"""``rupor webhook``: register, list, test and remove notification webhooks (the operator acts as owner)."""

from __future__ import annotations

import click

from rupor.cli.channel import _fail, _operator


@click.group()
def webhook() -> None:
    """Outgoing notification webhooks: signed JSON POSTs when a post fails, is missed or needs checking."""


@webhook.command("add")
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
@click.option("--url", required=True, help="An http(s) address Rupor may call (no private addresses).")
@click.option("--description", default="", help="What the endpoint is for.")
@click.option(
    "--event",
    "events",
    multiple=True,
    help="An event to send (failed, unconfirmed, missed, held, edit_failed); repeat; none: every event.",
)
def add(slug: str, url: str, description: str, events: tuple[str, ...]) -> None:
    """Register an endpoint; prints its id and URL, then its signing secret alone on the last line (shown once)."""
    actor = _operator(slug)
    from rupor.notifications import service

    try:
        new = service.create_endpoint(
            actor.workspace_id, url, events=list(events), description=description, by=actor
        )
    except service.NotificationsError as exc:
        _fail(exc)
    click.echo(f"{new.id}\t{new.url}")
    click.echo("Signing secret (shown only now; keep it to verify the X-Rupor-Signature header):", err=True)
    click.echo(new.secret)


@webhook.command("list")
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
def list_endpoints(slug: str) -> None:
    """Endpoints with their events and the result of the latest delivery."""
    actor = _operator(slug)
    from rupor.notifications import service

    for e in service.endpoints(actor.workspace_id, recent=1):
        last = f"{e.recent[0].kind} {e.recent[0].state}" if e.recent else "nothing sent yet"
        click.echo(f"{e.id}\t{e.url}\t{','.join(e.events) or 'every event'}\t{last}")


@webhook.command("test")
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
@click.argument("endpoint_id", type=click.IntRange(1, 2**62))
def send_test(slug: str, endpoint_id: int) -> None:
    """Send a test event now and print how the endpoint answered."""
    actor = _operator(slug)
    from rupor.notifications import service

    try:
        result = service.send_test(actor.workspace_id, endpoint_id, by=actor)
    except service.NotificationsError as exc:
        _fail(exc)
    click.echo(f"{result.state}\t{result.last_error}".rstrip())
    if result.state != "sent":
        raise SystemExit(1)


@webhook.command("remove")
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
@click.argument("endpoint_id", type=click.IntRange(1, 2**62))
def remove(slug: str, endpoint_id: int) -> None:
    """Delete an endpoint; Rupor sends it nothing more."""
    actor = _operator(slug)
    from rupor.notifications import service

    try:
        service.remove_endpoint(actor.workspace_id, endpoint_id, by=actor)
    except service.NotificationsError as exc:
        _fail(exc)
    click.echo(f"Removed webhook endpoint {endpoint_id}.")
