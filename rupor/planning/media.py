"""The media library: uploads checked by their content (never by name), stored under MEDIA_ROOT,
with size, dimensions, SHA-256 and a thumbnail for pictures.

The same file uploaded twice to a workspace is stored once (matched by SHA-256).
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import PurePath

import httpx
from django.conf import settings
from django.core.files.base import ContentFile
from django.db.models import Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from rupor.accounts.roles import Perm
from rupor.accounts.service import Actor, record
from rupor.core import http
from rupor.planning.models import Media
from rupor.planning.service import PlanningError

MAX_PHOTO_BYTES = 30 * 1024 * 1024
MAX_VIDEO_BYTES = 1024 * 1024 * 1024
MAX_SIDE_PX = 12_000
MIN_SIDE_PX = 10
THUMBNAIL_PX = 320
PHOTO_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp",
              "video/mp4": "mp4", "video/quicktime": "mov", "video/webm": "webm"}


@dataclass(frozen=True)
class MediaInfo:
    kind: str  # photo | video
    content_type: str
    size: int
    width: int | None
    height: int | None
    sha256: str


def _video_type(data: bytes) -> str | None:
    if len(data) >= 12 and data[4:8] == b"ftyp":
        brand = data[8:12]
        return "video/quicktime" if brand == b"qt  " else "video/mp4"
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "video/webm"
    return None


def inspect(data: bytes, filename: str = "") -> MediaInfo:
    """What a file really is, judged by its bytes; raises :class:`PlanningError` for files the
    library does not take (unknown type, broken picture, too large, too small, too many pixels)."""
    size = len(data)
    name = filename or _("The file")
    if size == 0:
        raise PlanningError(_("%(name)s is empty.") % {"name": name}, "file")
    digest = hashlib.sha256(data).hexdigest()
    video = _video_type(data)
    if video is not None:
        if size > MAX_VIDEO_BYTES:
            raise PlanningError(
                _("%(name)s is %(mb)s MB; videos may be at most %(max)s MB.")
                % {"name": name, "mb": size // (1024 * 1024), "max": MAX_VIDEO_BYTES // (1024 * 1024)},
                "file",
            )
        return MediaInfo("video", video, size, None, None, digest)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                fmt = image.format or ""
                width, height = image.size
                image.verify()
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PlanningError(
            _("%(name)s is not a picture or video Rupor can publish (JPEG, PNG, GIF, WebP, MP4, MOV, WebM).")
            % {"name": name},
            "file",
        ) from exc
    except Exception as exc:  # Pillow raises many kinds of errors for damaged files
        raise PlanningError(_("%(name)s looks like a picture but is damaged.") % {"name": name}, "file") from exc
    if fmt not in PHOTO_FORMATS:
        raise PlanningError(
            _("%(name)s is a %(format)s file; use JPEG, PNG, GIF or WebP.") % {"name": name, "format": fmt or _("picture")},
            "file",
        )
    if size > MAX_PHOTO_BYTES:
        raise PlanningError(
            _("%(name)s is %(mb)s MB; pictures may be at most %(max)s MB.")
            % {"name": name, "mb": size // (1024 * 1024), "max": MAX_PHOTO_BYTES // (1024 * 1024)},
            "file",
        )
    if max(width, height) > MAX_SIDE_PX:
        raise PlanningError(
            _("%(name)s is %(width)sx%(height)s px; a side may be at most %(max)s px.")
            % {"name": name, "width": width, "height": height, "max": MAX_SIDE_PX},
            "file",
        )
    if min(width, height) < MIN_SIDE_PX:
        raise PlanningError(
            _("%(name)s is %(width)sx%(height)s px; a side must be at least %(min)s px.")
            % {"name": name, "width": width, "height": height, "min": MIN_SIDE_PX},
            "file",
        )
    return MediaInfo("photo", PHOTO_FORMATS[fmt], size, width, height, digest)


def _thumbnail(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        image.seek(0)
        thumb = image.convert("RGB")
        thumb.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
        out = io.BytesIO()
        thumb.save(out, "JPEG", quality=80)
    return out.getvalue()


def _safe_name(filename: str, content_type: str) -> str:
    stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in PurePath(filename or "upload").stem)[:60] or "upload"
    return f"{stem}.{EXTENSIONS.get(content_type, 'bin')}"


def save_media(actor: Actor, filename: str, data: bytes) -> Media:
    """Check and store an upload in the workspace's library (deduplicated by SHA-256)."""
    if not actor.can(Perm.POSTS_EDIT):
        raise PlanningError(_("Your role does not allow uploading media."), status=403)
    info = inspect(data, filename)
    existing = Media.objects.filter(workspace_id=actor.workspace_id, sha256=info.sha256).first()
    if existing is not None:
        return existing
    media = Media(
        workspace_id=actor.workspace_id, kind=info.kind, content_type=info.content_type, size=info.size,
        width=info.width, height=info.height, sha256=info.sha256,
        original_name=(PurePath(filename).name or "upload")[:255], uploaded_by_id=actor.user_id,
    )
    name = _safe_name(filename, info.content_type)
    media.file.save(name, ContentFile(data), save=False)
    if info.kind == "photo":
        media.thumbnail.save(f"{PurePath(name).stem}-thumb.jpg", ContentFile(_thumbnail(data)), save=False)
    media.save()
    record(actor.workspace_id, actor, "media.upload", "media", media.pk, f"{media.original_name} ({info.content_type}, {info.size} bytes)")
    return media


def list_media(workspace_id: int, kind: str | None = None) -> QuerySet[Media]:
    qs = Media.objects.filter(workspace_id=workspace_id)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("-created_at", "-id")


def media_url(media: Media, *, thumbnail: bool = False) -> str | None:
    field = media.thumbnail if thumbnail else media.file
    if not field:
        return None
    return f"{str(settings.RUPOR_BASE_URL).rstrip('/')}{field.url}"


def check_remote_url(url: str) -> str | None:
    """Why ``url`` cannot be a media address (syntax only), or ``None`` when it can."""
    parsed = httpx.URL(url) if url.lower().startswith(("http://", "https://")) else None
    if parsed is None:
        return _("%(url)s is not an http(s) address.") % {"url": repr(url)}
    if not parsed.host:
        return _("%(url)s has no host.") % {"url": repr(url)}
    return None


def fetch_remote(url: str, *, max_bytes: int = MAX_PHOTO_BYTES) -> tuple[str, bytes]:
    """Download a media file through the guarded HTTP client; returns ``(filename, data)``.

    Raises :class:`PlanningError` with a plain reason when the address cannot be used.
    """
    problem = check_remote_url(url)
    if problem:
        raise PlanningError(problem, "media_urls")
    try:
        with http.client(follow_redirects=True, max_bytes=max_bytes) as client, client.stream("GET", url) as response:
            if response.status_code >= 400:
                raise PlanningError(
                    _("%(url)s answered HTTP %(status)s.") % {"url": url, "status": response.status_code}, "media_urls",
                )
            data = http.read_capped(response, max_bytes)
    except http.BlockedAddress as exc:
        raise PlanningError(
            _("%(url)s points to a private or local address, which Rupor does not fetch.") % {"url": url}, "media_urls",
        ) from exc
    except http.ResponseTooLarge as exc:
        raise PlanningError(
            _("%(url)s is larger than %(max)s MB.") % {"url": url, "max": max_bytes // (1024 * 1024)}, "media_urls",
        ) from exc
    except httpx.HTTPError as exc:
        raise PlanningError(
            _("%(url)s could not be downloaded (%(error)s).") % {"url": url, "error": type(exc).__name__}, "media_urls",
        ) from exc
    name = PurePath(httpx.URL(url).path).name or "media"
    return name, data


def serve_media(request: HttpRequest, path: str) -> HttpResponseBase:
    """Serve an uploaded file to members of the workspace that owns it (404 for everyone else).

    Media are private to their workspace until published, so they are not a public static tree.
    """
    from rupor.accounts.models import Membership
    from rupor.accounts.roles import Role, can

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        raise Http404
    media = Media.objects.filter(Q(file=path) | Q(thumbnail=path)).first()
    if media is None:
        raise Http404
    membership = Membership.objects.filter(workspace_id=media.workspace_id, user=user).first()
    if membership is None or not can(Role(membership.role), Perm.POSTS_VIEW):
        raise Http404
    field = media.file if media.file.name == path else media.thumbnail
    try:
        handle = field.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    content_type = media.content_type if field is media.file else "image/jpeg"
    response = FileResponse(handle, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response
