"""Room the media library takes, for the operations page and /metrics (``rupor.operations``):
the sizes stored at upload, added up (no file is opened)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Sum

from rupor.planning.models import Media


@dataclass(frozen=True)
class MediaUsage:
    files: int
    bytes: int


def media_usage(workspace_id: int | None = None) -> MediaUsage:
    """The library of one workspace, or (``None``) of every workspace."""
    rows = Media.objects.all() if workspace_id is None else Media.objects.filter(workspace_id=workspace_id)
    totals = rows.aggregate(n=Count("id"), size=Sum("size"))
    return MediaUsage(files=totals["n"] or 0, bytes=int(totals["size"] or 0))


__all__ = ["MediaUsage", "media_usage"]
