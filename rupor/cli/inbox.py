"""``rupor inbox``: the inbox from the command line (offline triage of texts)."""

from __future__ import annotations

import json
import sys

import click


@click.group()
def inbox() -> None:
    """The inbox: triage comments, mentions and messages."""


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
