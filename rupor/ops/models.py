"""What the operator's commands record: each backup written and each restore made."""

from __future__ import annotations

from django.db import models

from rupor.core import clock


class BackupRecord(models.Model):
    """One ``rupor backup`` that finished (or ``rupor restore`` that did). Written by the CLI
    after the archive is in place; owners see the newest backup on the publishing page."""

    class Kind(models.TextChoices):
        BACKUP = "backup"
        RESTORE = "restore"

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.BACKUP)
    started_at = models.DateTimeField(default=clock.now)
    finished_at = models.DateTimeField(default=clock.now, db_index=True)
    #: The archive's file name (never its directory: that is the server's business).
    archive_name = models.CharField(max_length=255, blank=True, default="")
    size = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True, default="")
    encrypted = models.BooleanField(default=False)
    database_vendor = models.CharField(max_length=20, blank=True, default="")
    #: For a restore: when the restored archive was made.
    archive_created_at = models.DateTimeField(null=True, blank=True)
    host = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["-finished_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.archive_name} at {self.finished_at:%Y-%m-%d %H:%M}"
