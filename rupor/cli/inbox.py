"""``rupor inbox``: the inbox from the command line (offline triage of texts)."""

from __future__ import annotations

import json
import sys

import click


@click.group()
def inbox() -> None:
    """The inbox: triage comments, mentions and messages; watch keywords (monitor)."""


@inbox.command("classify")
@click.option(
    "--batch", default=256, show_default=True, help="Lines read before they are triaged and printed."
)
def classify(batch: int) -> None:
    """Triage text read from stdin, one text a line, offline.

    Prints one JSON object a line, in the input's order: {"label": complaint | negative | question
    | praise | spam | neutral, "negativity": 0.0-1.0, "language": "en" | "ru" | "ko" | ... | "und"}.
    An empty line gets a neutral answer of its own, so the output lines match the input lines.
    """
    from rupor.inbox.triage import classify as triage

    def flush(lines: list[str]) -> None:
        for result in triage(lines):
            click.echo(
                json.dumps(
                    {"label": result.label, "negativity": result.negativity, "language": result.language},
                    ensure_ascii=False,
                )
            )

    pending: list[str] = []
    for line in sys.stdin:
        pending.append(line.rstrip("\r\n"))
        if len(pending) >= max(1, batch):
            flush(pending)
            pending = []
    if pending:
        flush(pending)


@inbox.group("monitor")
def monitor() -> None:
    """Monitored keywords: searched in public posts where the network allows (VK, with a user
    token) and looked for in group chats; what they find arrives in the inbox as mentions."""


@monitor.command("add")
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
@click.option("--minus", "minus_words", default="", help="Leave out posts with any of these words.")
@click.option("--language", default="", help="Only posts in this language (en, ru, ko, …).")
@click.option(
    "--channel", "channel_id", type=click.IntRange(1, 2**62), default=None, help="The channel that searches."
)
@click.argument("phrase")
def monitor_add(slug: str, phrase: str, minus_words: str, language: str, channel_id: int | None) -> None:
    """Watch PHRASE; prints the keyword's id."""
    from rupor.cli.channel import _fail, _operator

    actor = _operator(slug)
    from rupor.inbox import monitoring

    try:
        keyword = monitoring.add_keyword(
            actor, phrase, minus_words=minus_words, language=language, channel_id=channel_id
        )
    except monitoring.MonitoringError as exc:
        _fail(exc)
    click.echo(f"{keyword.pk}\t{keyword.phrase}")
    for channel in monitoring.search_channels(actor.workspace_id):
        if channel.problem:
            click.echo(f"Note: {channel.name}: {channel.problem}", err=True)
    if not monitoring.search_channels(actor.workspace_id):
        click.echo(
            "Note: no channel of this workspace can search public posts; only group chats are watched.",
            err=True,
        )


@monitor.command("list")
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
def monitor_list(slug: str) -> None:
    """Keywords, one a line: id, phrase, minus-words, language, posts found, last error."""
    from rupor.cli.channel import _operator

    actor = _operator(slug)
    from rupor.inbox import monitoring

    for k in monitoring.list_keywords(actor.workspace_id):
        click.echo(
            f"{k.pk}\t{k.phrase}\t{k.minus_words or '-'}\t{k.language or 'any'}\t{k.found}\t{k.last_error or 'ok'}"
        )


@monitor.command("remove")
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
@click.argument("keyword_id", type=click.IntRange(1, 2**62))
def monitor_remove(slug: str, keyword_id: int) -> None:
    """Stop watching a keyword (what it found stays in the inbox)."""
    from rupor.cli.channel import _fail, _operator

    actor = _operator(slug)
    from rupor.inbox import monitoring

    try:
        monitoring.remove_keyword(actor, keyword_id)
    except monitoring.MonitoringError as exc:
        _fail(exc)
    click.echo(f"Removed keyword {keyword_id}.")


@monitor.command("run")
@click.option("--workspace", "slug", required=True, help="Workspace slug.")
@click.argument("keyword_id", type=click.IntRange(1, 2**62))
def monitor_run(slug: str, keyword_id: int) -> None:
    """Search one keyword now; prints how many new mentions arrived."""
    from rupor.cli.channel import _fail, _operator

    actor = _operator(slug)
    from rupor.inbox import monitoring

    try:
        monitoring.get_keyword(actor.workspace_id, keyword_id)
    except monitoring.MonitoringError as exc:
        _fail(exc)
    result = monitoring.run_keyword(keyword_id)
    if result.error:
        click.echo(f"Error: {result.error}", err=True)
        sys.exit(1)
    click.echo(f"{result.new_items} new")
