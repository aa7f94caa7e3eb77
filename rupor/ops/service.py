"""Public actions of operations: back up, restore, and when the last backup was made.

The commands are the operator's (``rupor backup``, ``rupor restore``, ``rupor release check``);
the web shows owners :func:`last_backup`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from rupor.ops.archive import ArchiveError
from rupor.ops.backup import BackupResult, create
from rupor.ops.models import BackupRecord
from rupor.ops.restore import RestoreResult, restore

__all__ = ["ArchiveError", "BackupResult", "LastBackup", "RestoreResult", "create", "last_backup", "restore"]


@dataclass(frozen=True)
class LastBackup:
    finished_at: dt.datetime
    archive_name: str
    size: int
    encrypted: bool
    host: str


def last_backup() -> LastBackup | None:
    """The newest backup ``rupor backup`` recorded in this database, if any."""
    row = BackupRecord.objects.filter(kind=BackupRecord.Kind.BACKUP).order_by("-finished_at", "-id").first()
    if row is None:
        return None
    return LastBackup(row.finished_at, row.archive_name, row.size, row.encrypted, row.host)
