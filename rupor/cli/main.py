"""The ``rupor`` console script. Commands parse, call a domain action, print. Every flag has an
environment variable (shown in ``--help``)."""

from __future__ import annotations

import errno
import os
import signal
import socket
import sys
import threading
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.markup import escape

console = Console(stderr=True)


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rupor.settings")
    import django

    from rupor.core.config import ConfigError

    try:
        django.setup()
    except ConfigError as exc:
        console.print(f"[red]Configuration error:[/red] {exc}")
        sys.exit(2)


def _fail(message: str, code: int = 1) -> NoReturn:
    console.print(f"[red]Error:[/red] {escape(message)}")
    sys.exit(code)


def _migrate(verbosity: int = 0) -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=verbosity)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "RUPOR"})
@click.version_option(package_name="rupor")
def cli() -> None:
    """Rupor: plan, publish exactly once, engage and measure across social networks."""


@cli.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    _django()
    _migrate(verbosity=1)


def served_base_url(host: str, port: int) -> str:
    """The address a browser on this machine reaches ``rupor serve --host HOST --port PORT`` at.

    A wildcard host (0.0.0.0, ::) has no single address; 127.0.0.1 is right for this machine, and
    RUPOR_BASE_URL names the public one.
    """
    if host in ("", "0.0.0.0", "::", "[::]"):  # the wildcard: no single address to show
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _port_is_free(host: str, port: int) -> bool:
    """Whether this process could listen on ``host:port`` now (a bad host or a privileged port ends
    the command with a plain sentence)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        _fail(
            f"Cannot listen on {host!r}: {exc.strerror or exc}. Give an address of this machine with --host."
        )
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        # waitress and uvicorn set SO_REUSEADDR too, so a port in TIME_WAIT is not "taken".
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            if exc.errno == errno.EACCES:
                _fail(f"Port {port} on {host} needs administrator rights; choose one above 1023 with --port.")
            _fail(f"Cannot listen on {host}:{port}: {exc.strerror or exc}.")
    return True


def _free_ports_after(host: str, start: int, size: int, *, avoid: int | None = None) -> int:
    """The first of ``size`` consecutive free ports from ``start`` on, to suggest in a message."""
    base = start
    while base + size <= 65535:
        block = range(base, base + size)
        if avoid not in block and all(_port_is_free(host, p) for p in block):
            return base
        base += 1
    return start


@cli.command()
@click.option(
    "--host", default="127.0.0.1", show_default=True, envvar="RUPOR_HOST", help="Address to listen on."
)
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(1, 65535),
    envvar="RUPOR_PORT",
    help="Port to listen on.",
)
@click.option(
    "--threads",
    default=None,
    type=click.IntRange(1, 256),
    envvar="RUPOR_THREADS",
    help="Web server threads in each web process [default: 8; 16 with --processes above 1, "
    "where webhook deliveries waiting on a commit share it].",
)
@click.option(
    "--processes",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    envvar="RUPOR_PROCESSES",
    help="Web server processes. Above 1, that many processes share the port and this one runs the "
    "worker and the webhook drainer: use the number of cores for heavy webhook traffic.",
)
@click.option(
    "--worker/--no-worker",
    default=True,
    show_default=True,
    envvar="RUPOR_IN_PROCESS_WORKER",
    help="Run the background worker inside this process (the embedded default).",
)
@click.option(
    "--demo/--no-demo",
    default=False,
    envvar="RUPOR_DEMO",
    help="Start the emulated networks and the demo workspace (offline demo).",
)
@click.option(
    "--demo-port-base",
    default=8901,
    show_default=True,
    type=click.IntRange(1, 65533),
    envvar="RUPOR_DEMO_PORT_BASE",
    help="With --demo: the first of the emulator ports (VK, Telegram, OK, X use it and the next ones).",
)
def serve(
    host: str, port: int, threads: int | None, processes: int, worker: bool, demo: bool, demo_port_base: int
) -> None:
    """Migrate, then serve the web app and API (and the in-process worker)."""
    # Check the ports before anything else, so a taken one is a plain sentence, not a traceback.
    if not _port_is_free(host, port):
        free = _free_ports_after(host, port, 1)
        _fail(
            f"Port {port} is already in use on {host}, so Rupor cannot listen there. Stop the program that uses it, "
            f"or choose another port: 'make run PORT={free}' or 'rupor serve --port {free}'."
        )
    if demo:
        os.environ["RUPOR_DEMO_PORT_BASE"] = str(demo_port_base)
        from rupor.networks import registry, webanalytics

        # One emulator port per network, then drand's, then the web analytics' (Metrica, GA4).
        count = len(registry.NETWORKS) + 1 + len(webanalytics.SOURCES)
        taken = [
            p for p in range(demo_port_base, demo_port_base + count) if not _port_is_free("127.0.0.1", p)
        ]
        if taken:
            free = _free_ports_after("127.0.0.1", demo_port_base + count, count, avoid=port)
            _fail(
                f"Port {taken[0]} is already in use, so the demo's network emulators (ports {demo_port_base}\u2013"
                f"{demo_port_base + count - 1}) cannot start. Stop the program that uses it, or choose other ports: "
                f"'make run DEMO_PORT_BASE={free}' or 'rupor serve --demo --demo-port-base {free}'."
            )
        if not os.environ.get("RUPOR_DRAND_URL"):
            # Giveaways take their randomness from the demo's drand emulator, after the networks'.
            os.environ["RUPOR_DRAND_URL"] = f"http://127.0.0.1:{demo_port_base + len(registry.NETWORKS)}"
    if not os.environ.get("RUPOR_BASE_URL"):
        # Links Rupor shows (iCal feed, invitations, webhooks, review links) point where it really serves.
        os.environ["RUPOR_BASE_URL"] = served_base_url(host, port)
    _django()
    _migrate()
    if threads is None:
        # Several web processes: 16 threads each. Webhook deliveries spend much of their time
        # waiting on a commit, and more threads waiting share one commit (the group commit of
        # inbox/staging.py; one WAL flush on PostgreSQL). bench/inbox.py, two processes, 32
        # senders, webhooks a second: SQLite 2,712 with 8 threads, 3,067 with 16; PostgreSQL
        # 1,791 with 8, 2,795 with 16, 2,597 with 32. Threads beyond the connection pool
        # (RUPOR_DB_POOL_MAX) borrow and give back, so they need no more connections.
        threads = 8 if processes == 1 else 16
    stop = threading.Event()
    emulators: list[Any] = []
    if demo:
        from rupor.cli import demo as demo_mod

        try:
            emulators = demo_mod.start_emulators()
        except OSError as exc:  # taken between the check and now
            _fail(
                f"The demo's network emulators cannot start: {exc.strerror or exc}. "
                "Choose other ports with 'rupor serve --demo --demo-port-base 8921'."
            )
        from rupor.cli import demo_history

        info = demo_history.start_demo(demo_mod.running_by_network(emulators), say=console.print)
        sites = demo_mod.web_analytics_running(emulators)
        demo_mod.ensure_demo_sources({kind: e.url for kind, e in sites.items()})
        # The site's visitors of the links published so far, counted before the first page is shown.
        visitors = demo_mod.DemoVisitors(sites)
        from rupor.core import clock

        visitors(clock.now())
        console.print(
            f"[green]Demo ready.[/green] Log in as [bold]{info['email']}[/bold] with password [bold]{info['password']}[/bold]"
        )
    worker_thread = None
    if worker:
        from rupor.cli.jobs import periodic_jobs
        from rupor.publishing.worker import run_worker

        jobs = list(periodic_jobs())
        if demo:  # the emulated audience comments on the demo's posts (cli/demo.py)
            jobs.append(demo_mod.DemoAudience(demo_mod.running_by_network(emulators)))
            jobs.append(visitors)
        worker_thread = threading.Thread(
            target=run_worker,
            kwargs={"stop": stop, "jobs": jobs},
            name="rupor-worker",
            daemon=True,
        )
        worker_thread.start()
    from rupor.inbox import staging

    staging.drainer.ensure_started()  # stores what webhooks staged, leftovers of a crash first
    try:
        if processes > 1:
            _serve_processes(host, port, threads, processes, stop, emulators)
        else:
            _serve_one(host, port, threads, stop, emulators)
    finally:
        stop.set()
        staging.drainer.stop()
        if worker_thread is not None:
            worker_thread.join(timeout=30)


def _serve_one(host: str, port: int, threads: int, stop: threading.Event, emulators: list[Any]) -> None:
    """The web app in this process (waitress, ``threads`` threads) until SIGTERM or Ctrl+C."""
    from waitress.server import create_server

    from rupor.wsgi import application

    try:
        server = create_server(application, host=host, port=port, threads=threads, ident="Rupor")
    except OSError as exc:  # taken between the check and now
        for emulator in emulators:
            emulator.stop()
        _fail(
            f"Rupor cannot listen on {host}:{port}: {exc.strerror or exc}. "
            "Choose another port: 'make run PORT=8011' or 'rupor serve --port 8011'."
        )

    def shutdown(*_args: object) -> None:
        stop.set()
        server.close()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    console.print(f"Rupor is running at [bold]http://{host}:{port}/[/bold] (Ctrl+C to stop)")
    try:
        server.run()
    except (OSError, ValueError):
        pass  # closed by the signal handler
    finally:
        _stop_emulators(emulators)


def _serve_processes(
    host: str, port: int, threads: int, processes: int, stop: threading.Event, emulators: list[Any]
) -> None:
    """``serve --processes N``: N web processes on one socket (``cli/webprocs.py``); this one
    supervises them until SIGTERM or Ctrl+C, and keeps the drainer and the worker."""
    from rupor.cli import webprocs
    from rupor.inbox import staging

    if not _port_is_free(host, port):
        _stop_emulators(emulators)
        _fail(
            f"Rupor cannot listen on {host}:{port}: the port is in use. "
            "Choose another port: 'make run PORT=8011' or 'rupor serve --port 8011'."
        )
    procs = webprocs.WebProcesses(host, port, processes, threads, staging.drainer.wake_address)
    procs.start()

    def shutdown(*_args: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    console.print(
        f"Rupor is running at [bold]http://{host}:{port}/[/bold] with {processes} web processes (Ctrl+C to stop)"
    )
    try:
        procs.supervise(stop)
    finally:
        stop.set()
        procs.stop()
        _stop_emulators(emulators)
    if procs.failure:
        _fail(f"Rupor stopped: {procs.failure} (its message is above).")


@cli.command()
@click.option("--once", is_flag=True, help="Do all work that is due now, then exit.")
@click.option(
    "--concurrency",
    default=4,
    show_default=True,
    type=click.IntRange(1, 256),
    envvar="RUPOR_WORKER_CONCURRENCY",
    help="Targets published at the same time by this process.",
)
def worker(once: bool, concurrency: int) -> None:
    """Run the background worker (publishing, retries, sweeps). Run as many as you like."""
    _django()
    from rupor.cli.jobs import periodic_jobs
    from rupor.publishing.worker import run_worker

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    run_worker(once=once, stop=stop, concurrency=concurrency, jobs=periodic_jobs())


@cli.command()
@click.argument("email")
@click.option("--password", envvar="RUPOR_CREATEUSER_PASSWORD", help="Password (asked for when omitted).")
@click.option("--name", default="", help="Display name.")
@click.option("--superuser", is_flag=True, help="Operator rights (Django admin).")
def createuser(email: str, password: str | None, name: str, superuser: bool) -> None:
    """Create a user who can log in."""
    _django()
    from rupor.accounts import service

    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = service.create_user(email, password, name=name)
    except service.AccountsError as exc:
        _fail(exc.message)
    if superuser:
        user.is_staff = user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
    click.echo(user.email)


@cli.group()
def workspace() -> None:
    """Manage workspaces."""


@workspace.command("create")
@click.argument("name")
@click.option("--owner", required=True, help="Email of an existing user who will own it.")
@click.option(
    "--timezone", "tz", default="UTC", show_default=True, help="IANA time zone, e.g. Europe/Moscow."
)
def workspace_create(name: str, owner: str, tz: str) -> None:
    """Create a workspace and print its slug."""
    _django()
    from rupor.accounts import service
    from rupor.accounts.models import User

    user = User.objects.filter(email=owner.strip().lower()).first()
    if user is None:
        _fail(f"No user with the email {owner}; create one with 'rupor createuser {owner}'.")
    try:
        ws = service.create_workspace(name, user, timezone=tz)
    except service.AccountsError as exc:
        _fail(exc.message)
    click.echo(ws.slug)


@workspace.command("list")
def workspace_list() -> None:
    """List workspaces."""
    _django()
    from rupor.accounts.models import Workspace

    for ws in Workspace.objects.order_by("slug"):
        click.echo(f"{ws.slug}\t{ws.name}\t{ws.timezone}")


@cli.group()
def apikey() -> None:
    """Manage API keys."""


@apikey.command("create")
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
@click.option("--role", required=True, help="owner, admin, manager, editor, moderator, analyst or client.")
@click.option("--name", default="", help="A label to recognise the key by.")
def apikey_create(slug: str, role: str, name: str) -> None:
    """Create an API key; the key is printed once, alone on the last line."""
    _django()
    from rupor.accounts import service
    from rupor.accounts.models import Workspace
    from rupor.accounts.roles import Role

    ws = Workspace.objects.filter(slug=slug).first()
    if ws is None:
        _fail(f"No workspace with the slug {slug!r} (see 'rupor workspace list').")
    try:
        # The operator acts as owner; the audit trail names them as the other commands do.
        operator = service.Actor(ws.pk, Role.OWNER, label="operator (CLI)")
        key = service.create_api_key(operator, ws, role, name=name)
    except service.AccountsError as exc:
        _fail(exc.message)
    console.print(f"Created a {key.role.value} key for {ws.slug}. Store it now; it is not shown again.")
    click.echo(key.key)


def _stop_emulators(emulators: list[Any]) -> None:
    """Keep the demo emulators' worlds for the next start (cli/demo_history.py), then stop them."""
    if emulators:
        from rupor.cli import demo as demo_mod
        from rupor.cli import demo_history

        demo_history.save_worlds(demo_mod.running_by_network(emulators))
    for emulator in emulators:
        emulator.stop()


@cli.command()
@click.option(
    "--no-history",
    is_flag=True,
    help="Skip the weeks of emulated history (a later 'rupor demo' can still make it).",
)
def demo(no_history: bool) -> None:
    """Create (or show) the offline demo workspace and user, with weeks of emulated history
    (posts published and measured by Rupor against the emulators). Safe to run again."""
    _django()
    _migrate()
    from rupor.cli import demo as demo_mod
    from rupor.cli import demo_history

    info = demo_mod.ensure_demo()
    if not no_history:
        demo_history.build_offline(say=console.print)
    click.echo(f"workspace: {info['workspace']}")
    click.echo(f"email: {info['email']}")
    click.echo(f"password: {info['password']}")
    console.print("Start it with 'rupor serve --demo' so the emulated networks run beside it.")


@cli.command()
@click.argument("network")
@click.option("--host", default="127.0.0.1", show_default=True, envvar="RUPOR_EMULATOR_HOST")
@click.option(
    "--port", default=8901, show_default=True, type=click.IntRange(1, 65535), envvar="RUPOR_EMULATOR_PORT"
)
@click.option(
    "--seed",
    default=0,
    show_default=True,
    type=int,
    envvar="RUPOR_EMULATOR_SEED",
    help="Seed for simulated engagement.",
)
@click.option("--no-rate-limits", is_flag=True, help="Turn the network's rate limits off (benchmarks).")
def emulate(network: str, host: str, port: int, seed: int, no_rate_limits: bool) -> None:
    """Run the emulator of a network (vk, telegram, ok, x, bluesky, linkedin, mastodon, facebook, instagram, youtube) or of a web analytics service (metrica, ga4) as a standalone HTTP server."""
    _django()
    from rupor.networks import emulation, registry, webanalytics

    known = [*registry.NETWORKS, *webanalytics.SOURCES]
    if network not in known:
        _fail(f"No emulator for {network!r}; choose one of: {', '.join(known)}.")
    if not _port_is_free(host, port):
        _fail(
            f"Port {port} is already in use on {host}, so the emulator cannot listen there. "
            f"Choose another port: 'rupor emulate {network} --port {_free_ports_after(host, port + 1, 1)}'."
        )
    if network in webanalytics.SOURCES:
        factory: Any = webanalytics.emulator_factory(network)
        name = webanalytics.DISPLAY_NAMES[network]
    else:
        factory, name = registry.emulator_factory(network), registry.DISPLAY_NAMES[network]
    app = factory(seed=seed, rate_limits=not no_rate_limits)
    console.print(f"{name} emulator on http://{host}:{port}/ (control API under /_emulator/)")
    emulation.serve_forever(app, host, port)


from rupor.cli.analytics import analytics  # noqa: E402 - the command groups register on `main`, defined above
from rupor.cli.backup import backup, release, restore  # noqa: E402 - the command groups register on `main`, defined above
from rupor.cli.channel import channel  # noqa: E402 - the command groups register on `main`, defined above
from rupor.cli.competitors import competitors  # noqa: E402 - the command groups register on `main`, defined above
from rupor.cli.giveaway import giveaway  # noqa: E402 - the command groups register on `main`, defined above
from rupor.cli.inbox import inbox  # noqa: E402 - the command groups register on `main`, defined above
from rupor.cli.links import links  # noqa: E402 - the command groups register on `main`, defined above
from rupor.cli.metrics import metrics  # noqa: E402 - the command groups register on `main`, defined above
from rupor.cli.newsletter import newsletter  # noqa: E402 - the command groups register on `main`, defined above
from rupor.cli.operations import operations  # noqa: E402 - the command groups register on `main`, defined above
from rupor.cli.plan import plan  # noqa: E402 - the command groups register on `main`, defined above
from rupor.cli.report import report  # noqa: E402 - the command groups register on `main`, defined above
from rupor.cli.smo import smo  # noqa: E402 - the command groups register on `main`, defined above
from rupor.cli.twofactor import two_factor  # noqa: E402 - the command groups register on `main`, defined above
from rupor.cli.webhook import webhook  # noqa: E402 - the command groups register on `main`, defined above

cli.add_command(plan)
cli.add_command(channel)
cli.add_command(webhook)
cli.add_command(inbox)
cli.add_command(metrics)
cli.add_command(competitors)
cli.add_command(analytics)
cli.add_command(report)
cli.add_command(giveaway)
cli.add_command(links)
cli.add_command(newsletter)
cli.add_command(backup)
cli.add_command(restore)
cli.add_command(release)
cli.add_command(two_factor)
cli.add_command(smo)
cli.add_command(operations)


def _show_envvars(command: click.Command, prefix: str) -> None:
    """Name each flag's environment variable in ``--help``: its own, or the one ``auto_envvar_prefix``
    gives it (RUPOR_<COMMAND>_<FLAG>), which click reads but does not show by itself."""
    for param in command.params:
        if isinstance(param, click.Option) and param.expose_value and not param.hidden:
            if param.envvar is None:
                param.envvar = f"{prefix}_{(param.name or '').upper()}"
            param.show_envvar = True
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            _show_envvars(sub, f"{prefix}_{name.replace('-', '_').upper()}")


_show_envvars(cli, "RUPOR")


def main() -> None:
    cli(prog_name="rupor")


if __name__ == "__main__":
    main()
