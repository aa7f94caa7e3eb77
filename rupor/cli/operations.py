"""``rupor operations``: how the whole instance runs, as the Operations page and /metrics say."""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from rupor.operations.snapshot import OperationsSnapshot


def _age(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.0f} s"


def _summary(snap: OperationsSnapshot) -> list[str]:
    from rupor.publishing.health import merged

    e, i = snap.engine, snap.intake
    late = e.lateness_recent_all
    lines = [f"Workers alive: {e.workers_alive}"]
    for w in e.workers:
        state = "alive" if w.alive else ("stopped" if w.stopped else "STALE")
        lines.append(
            f"  {w.worker_id} on {w.hostname}: {state}, last heartbeat {_age(w.age_s)} ago, in flight {w.in_flight}"
        )
    lines += [
        f"Publishing: {e.backlog} due now (most overdue {_age(e.oldest_due_s)}), "
        f"{e.counts.get('publishing', 0)} publishing, {e.counts.get('waiting', 0)} waiting on the network",
        f"Published in the last hour: {late.count} (median lateness at most {_age(late.quantile(0.5))})",
        f"Inbox: {i.waiting} waiting for an answer; {i.staged} webhook deliveries staged "
        f"({i.staged_stuck} given up on, oldest {_age(i.oldest_staged_s)}); {i.polls_failing} channels failing to poll",
        f"Intake in the last hour: {merged(i.latency_recent.values()).count} items",
        f"Metric readings overdue: {snap.collection.overdue} (oldest {_age(snap.collection.oldest_overdue_s)})",
        f"Notifications: {sum(snap.outbox.pending.values())} pending, {snap.outbox.due} due "
        f"(oldest {_age(snap.outbox.oldest_due_s)}), {snap.outbox.failed_24h} given up on in 24 h",
        f"Channels with errors: {len(e.channel_errors)} jobs, {len(e.publish_errors)} publications",
        f"Disk: RUPOR_HOME {snap.home.total_bytes} bytes (media {snap.home.media_bytes}), "
        f"{snap.home.disk_free_bytes} bytes free",
    ]
    return lines


@click.command()
@click.option(
    "--prometheus",
    is_flag=True,
    help="Print what /metrics serves (for node_exporter's textfile collector, or to look).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the whole snapshot as JSON.")
def operations(prometheus: bool, as_json: bool) -> None:
    """How this Rupor runs, for the whole instance: workers, queues, lag, errors and disk."""
    from rupor.cli.main import _django, _fail

    if prometheus and as_json:
        _fail("Choose one of --prometheus and --json.", 2)
    _django()
    if prometheus:
        from rupor.operations.metrics import render

        click.echo(render().decode(), nl=False)
        return
    from rupor.operations.snapshot import operations_snapshot

    snap = operations_snapshot(None)
    if as_json:
        data = dataclasses.asdict(snap)
        data["home"].pop("path", None)
        click.echo(json.dumps(data, default=str, indent=2))
        return
    for line in _summary(snap):
        click.echo(line)
