"""The media library: uploads checked by their content (never by name), stored under MEDIA_ROOT,
with size, dimensions, SHA-256 and a thumbnail for pictures.

The same file uploaded twice to a workspace is stored once (matched by SHA-256).

Files are handled by reference: an upload is hashed in chunks and streamed (or moved) to storage,
never read whole into memory, and a picture's pixel count is checked from its header before
anything is decoded (``MAX_PIXELS``). A file that a post uses cannot be deleted (``delete_media``).
Its first bytes are stored with its size, type and dimensions (``Media.head``), so that checking
or listing a post never opens the file (``service.media_reference``).
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePath
from typing import IO, TypeAlias

import httpx
from django.conf import settings
from django.core.files.base import ContentFile, File
from django.db import transaction
from django.db.models import ProtectedError, Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from PIL import Image, UnidentifiedImageError

from rupor.accounts.roles import Perm
from rupor.accounts.service import Actor, record
from rupor.core import config, http
from rupor.core.urls import url_problem
from rupor.networks.base import HEAD_BYTES
from rupor.planning import public_media
from rupor.planning.models import Media, Post, VariantMedia
from rupor.planning.service import PlanningError

MAX_PHOTO_BYTES = 30 * 1024 * 1024
MAX_VIDEO_BYTES = 1024 * 1024 * 1024
MAX_SIDE_PX = 12_000
#: Pictures are refused above this many pixels, judged from the header before decoding: a 40 MP
#: picture decodes to at most 160 MB (RGBA), while a 10 KB PNG may declare 9,400 x 9,400 px.
MAX_PIXELS = 40_000_000
# Pillow's own guard, for every decode in the process: warn above MAX_PIXELS, refuse above twice it.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
CHUNK_BYTES = 1024 * 1024
MIN_SIDE_PX = 10
#: The EXIF tag saying how a picture is turned for display (5-8: a quarter turn, width and height swap).
EXIF_ORIENTATION = 0x0112
THUMBNAIL_PX = 320
PHOTO_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/webm": "webm",
}


@dataclass(frozen=True)
class MediaInfo:
    kind: str  # photo | video
    content_type: str
    size: int
    width: int | None
    height: int | None
    sha256: str
    head: bytes = b""  # the first HEAD_BYTES bytes, for adapters to recognise the container


def _video_type(data: bytes) -> str | None:
    if len(data) >= 12 and data[4:8] == b"ftyp":
        brand = data[8:12]
        return "video/quicktime" if brand == b"qt  " else "video/mp4"
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "video/webm"
    return None


#: What the library takes: the bytes themselves (small files, downloads) or a file by reference
#: (an upload Django spooled to disk, a file on disk); a reference is never read whole.
Source: TypeAlias = "bytes | File[bytes]"


@contextmanager
def _opened(source: Source) -> Iterator[IO[bytes]]:
    if isinstance(source, bytes):
        yield io.BytesIO(source)
        return
    was_closed = source.closed
    if was_closed:
        source.open("rb")
    try:
        source.seek(0)
        yield source  # a django File proxies read/seek/tell
    finally:
        if was_closed:
            source.close()


def _size(handle: IO[bytes]) -> int:
    handle.seek(0, io.SEEK_END)
    size = handle.tell()
    handle.seek(0)
    return size


def _sha256(handle: IO[bytes]) -> str:
    handle.seek(0)
    digest = hashlib.sha256()
    while chunk := handle.read(CHUNK_BYTES):
        digest.update(chunk)
    handle.seek(0)
    return digest.hexdigest()


def _too_many_pixels(name: str, width: int | None = None, height: int | None = None) -> PlanningError:
    limit = MAX_PIXELS // 1_000_000
    if width and height:
        return PlanningError(
            _(
                "%(name)s is %(width)sx%(height)s px (%(mp)s megapixels); pictures may have at most %(max)s megapixels."
            )
            % {
                "name": name,
                "width": width,
                "height": height,
                "mp": width * height // 1_000_000,
                "max": limit,
            },
            "file",
        )
    return PlanningError(
        _("%(name)s has more pixels than Rupor opens; pictures may have at most %(max)s megapixels.")
        % {"name": name, "max": limit},
        "file",
    )


def inspect(source: Source, filename: str = "") -> MediaInfo:  # noqa: C901 - one refusal per rule, in the order a person should hear them
    """What a file really is, judged by its bytes; raises :class:`PlanningError` for files the
    library does not take (unknown type, broken picture, too large, too small, too many pixels).

    Reads the file in chunks and decodes no pixels: a picture's size comes from its header."""
    name = filename or _("The file")
    with _opened(source) as handle:
        size = _size(handle)
        if size == 0:
            raise PlanningError(_("%(name)s is empty.") % {"name": name}, "file")
        head = handle.read(HEAD_BYTES)
        video = _video_type(head)
        if video is not None:
            if size > MAX_VIDEO_BYTES:
                raise PlanningError(
                    _("%(name)s is %(mb)s MB; videos may be at most %(max)s MB.")
                    % {"name": name, "mb": size // (1024 * 1024), "max": MAX_VIDEO_BYTES // (1024 * 1024)},
                    "file",
                )
            return MediaInfo("video", video, size, None, None, _sha256(handle), head)
        if size > MAX_PHOTO_BYTES:
            handle.seek(0)
            try:
                with Image.open(handle) as probe:
                    fmt = probe.format or ""
            except (
                OSError,
                ValueError,
                SyntaxError,
                Image.DecompressionBombError,
            ):  # not a picture at all: the message below names the types
                fmt = ""
            if fmt:
                raise PlanningError(
                    _("%(name)s is %(mb)s MB; pictures may be at most %(max)s MB.")
                    % {"name": name, "mb": size // (1024 * 1024), "max": MAX_PHOTO_BYTES // (1024 * 1024)},
                    "file",
                )
        handle.seek(0)
        try:
            with warnings.catch_warnings():
                # Between MAX_PIXELS and twice it Pillow only warns: the check below names the size.
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(handle) as image:  # lazy: reads the header, decodes nothing
                    fmt = image.format or ""
                    width, height = image.size
                    if width * height > MAX_PIXELS:
                        raise _too_many_pixels(name, width, height)
                    # A JPEG's EXIF is in its header; other formats' would need decoding to find.
                    turned = fmt == "JPEG" and image.getexif().get(EXIF_ORIENTATION, 1) in (5, 6, 7, 8)
                    image.verify()  # checks the file's structure without decoding pixels
                if turned:  # shown a quarter-turn round: the size people (and networks) see
                    width, height = height, width
        except Image.DecompressionBombError as exc:  # over twice MAX_PIXELS: Pillow refuses to open it
            raise _too_many_pixels(name) from exc
        except PlanningError:
            raise
        except UnidentifiedImageError as exc:
            raise PlanningError(
                _(
                    "%(name)s is not a picture or video Rupor can publish (JPEG, PNG, GIF, WebP, MP4, MOV, WebM)."
                )
                % {"name": name},
                "file",
            ) from exc
        except Exception as exc:  # Pillow raises many kinds of errors for damaged files
            raise PlanningError(
                _("%(name)s looks like a picture but is damaged.") % {"name": name}, "file"
            ) from exc
        if fmt not in PHOTO_FORMATS:
            raise PlanningError(
                _("%(name)s is a %(format)s file; use JPEG, PNG, GIF or WebP.")
                % {"name": name, "format": fmt or _("picture")},
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
        return MediaInfo("photo", PHOTO_FORMATS[fmt], size, width, height, _sha256(handle), head)


def _thumbnail(source: Source) -> bytes:
    """A small JPEG, decoded at reduced size where the format allows (JPEG's draft mode)."""
    with _opened(source) as handle, Image.open(handle) as opened:
        opened.seek(0)
        opened.draft("RGB", (THUMBNAIL_PX * 2, THUMBNAIL_PX * 2))  # JPEG decodes at 1/2..1/8 scale
        image: Image.Image = opened
        if image.mode in ("1", "P"):
            # Palette pictures resize only by nearest neighbour: shrink roughly first, then properly.
            image.thumbnail((THUMBNAIL_PX * 4, THUMBNAIL_PX * 4), Image.Resampling.NEAREST)
            image = image.convert("RGBA")
        image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
        thumb = image.convert("RGB")
        out = io.BytesIO()
        thumb.save(out, "JPEG", quality=80)
    return out.getvalue()


def _safe_name(filename: str, content_type: str) -> str:
    stem = (
        "".join(c if c.isalnum() or c in "-_" else "-" for c in PurePath(filename or "upload").stem)[:60]
        or "upload"
    )
    return f"{stem}.{EXTENSIONS.get(content_type, 'bin')}"


def store_media(actor: Actor, filename: str, source: Source) -> tuple[Media, bool]:
    """Check and store an upload in the workspace's library (deduplicated by SHA-256); returns the
    library's item and whether it is new. ``source`` is streamed to storage, never read whole."""
    if not actor.can(Perm.POSTS_EDIT):
        raise PlanningError(_("Your role does not allow uploading media."), status=403)
    info = inspect(source, filename)
    existing = Media.objects.filter(workspace_id=actor.workspace_id, sha256=info.sha256).first()
    if existing is not None:
        return existing, False
    media = Media(
        workspace_id=actor.workspace_id,
        kind=info.kind,
        content_type=info.content_type,
        size=info.size,
        width=info.width,
        height=info.height,
        sha256=info.sha256,
        head=info.head,
        original_name=(PurePath(filename).name or "upload")[:255],
        uploaded_by_id=actor.user_id,
    )
    name = _safe_name(filename, info.content_type)
    # The thumbnail first: storing an upload Django spooled to disk may move that file away.
    try:
        thumbnail = _thumbnail(source) if info.kind == "photo" else None
    except (
        OSError,
        ValueError,
        SyntaxError,
        Image.DecompressionBombError,
    ) as exc:  # a header that lied about the rest
        raise PlanningError(
            _("%(name)s looks like a picture but is damaged.") % {"name": filename or _("The file")}, "file"
        ) from exc
    media.file.save(name, ContentFile(source) if isinstance(source, bytes) else source, save=False)
    if thumbnail is not None:
        media.thumbnail.save(f"{PurePath(name).stem}-thumb.jpg", ContentFile(thumbnail), save=False)
    media.save()
    record(
        actor.workspace_id,
        actor,
        "media.upload",
        "media",
        media.pk,
        f"{media.original_name} ({info.content_type}, {info.size} bytes)",
    )
    return media, True


def save_media(actor: Actor, filename: str, source: Source) -> Media:
    """Check and store an upload in the workspace's library (deduplicated by SHA-256)."""
    return store_media(actor, filename, source)[0]


def _post_label(post: Post) -> str:
    return _("“%(post)s” (%(status)s)") % {"post": str(post)[:60], "status": post.get_status_display()}


def delete_media(actor: Actor, media_id: int) -> None:
    """Delete an unused file of the library: its file, thumbnail and record.

    Refused while any post uses it, whatever the post's state: a draft or a scheduled post would
    lose a picture its author chose, and a published post keeps its media as the record of what
    went out. The refusal names the posts, so that a person can take the file out of them first.
    """
    if not actor.can(Perm.POSTS_EDIT):
        raise PlanningError(_("Your role does not allow deleting media."), status=403)
    media = Media.objects.filter(pk=media_id, workspace_id=actor.workspace_id).first()
    if media is None:
        raise PlanningError(_("No such file in the media library."), status=404)
    try:
        with transaction.atomic():
            _refuse_if_used(media)
            files = [f.name for f in (media.file, media.thumbnail) if f]
            storage = media.file.storage
            summary = f"{media.original_name} ({media.content_type}, {media.size} bytes)"
            media.delete()
            record(actor.workspace_id, actor, "media.delete", "media", media_id, summary)
            transaction.on_commit(lambda: [storage.delete(name) for name in files])
            if not Media.objects.filter(sha256=media.sha256).exists():  # no workspace has these bytes now
                sha256 = media.sha256
                transaction.on_commit(lambda: public_media.delete_conversions(storage, sha256))
    except ProtectedError:  # a post took the file up between the check and the delete
        _refuse_if_used(media)
        raise


def _refuse_if_used(media: Media) -> None:
    posts = list(Post.objects.filter(variants__variantmedia__media=media).distinct().order_by("-id")[:6])
    if not posts:
        return
    count = Post.objects.filter(variants__variantmedia__media=media).distinct().count()
    named = ", ".join(_post_label(p) for p in posts[:5])
    if count > 5:
        named = ngettext("%(posts)s and %(n)s more post", "%(posts)s and %(n)s more posts", count - 5) % {
            "posts": named,
            "n": count - 5,
        }
    raise PlanningError(
        ngettext(
            "%(name)s is used by a post: %(posts)s. Take it out of the post first; a published post keeps its media.",
            "%(name)s is used by %(n)s posts: %(posts)s. Take it out of those posts first; published posts keep their media.",
            count,
        )
        % {"name": media.original_name, "n": count, "posts": named},
        "media",
        409,
    )


def list_media(workspace_id: int, kind: str | None = None) -> QuerySet[Media]:
    qs = Media.objects.filter(workspace_id=workspace_id)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("-created_at", "-id")


def use_counts(media_ids: list[int]) -> dict[int, int]:
    """How many posts use each of these files (files no post uses are left out)."""
    rows = (
        VariantMedia.objects.filter(media_id__in=media_ids)
        .values_list("media_id", "variant__post_id")
        .distinct()
    )
    counts: dict[int, int] = {}
    for media_id, _post_id in rows:
        counts[media_id] = counts.get(media_id, 0) + 1
    return counts


def media_url(media: Media, *, thumbnail: bool = False) -> str | None:
    field = media.thumbnail if thumbnail else media.file
    if not field:
        return None
    return f"{config.base_url()}{field.url}"


def check_remote_url(url: str) -> str | None:
    """Why ``url`` cannot be a media address (syntax only), or ``None`` when it can."""
    return url_problem(url)


def fetch_remote(url: str, *, max_bytes: int = MAX_PHOTO_BYTES) -> tuple[str, File[bytes]]:
    """Download a media file through the guarded HTTP client; returns ``(filename, file)``, the file
    spooled to disk in chunks beyond a few MB (the caller closes it).

    Raises :class:`PlanningError` with a plain reason when the address cannot be used.
    """
    problem = check_remote_url(url)
    if problem:
        raise PlanningError(problem, "media_urls")
    try:
        with (
            http.client(follow_redirects=True, max_bytes=max_bytes) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code >= 400:
                raise PlanningError(
                    _("%(url)s answered HTTP %(status)s.") % {"url": url, "status": response.status_code},
                    "media_urls",
                )
            spool = tempfile.SpooledTemporaryFile(  # noqa: SIM115  # handed to the caller, who closes it
                max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE,
                dir=settings.FILE_UPLOAD_TEMP_DIR,
            )
            received = 0
            try:
                for chunk in response.iter_bytes():
                    received += len(chunk)
                    if received > max_bytes:
                        raise http.ResponseTooLarge(f"response exceeds the cap of {max_bytes} bytes")
                    spool.write(chunk)
            except BaseException:
                spool.close()
                raise
    except http.BlockedAddress as exc:
        raise PlanningError(
            _("%(url)s points to a private or local address, which Rupor does not fetch.") % {"url": url},
            "media_urls",
        ) from exc
    except http.ResponseTooLarge as exc:
        raise PlanningError(
            _("%(url)s is larger than %(max)s MB.") % {"url": url, "max": max_bytes // (1024 * 1024)},
            "media_urls",
        ) from exc
    except httpx.HTTPError as exc:
        raise PlanningError(
            _("%(url)s could not be downloaded (%(error)s).") % {"url": url, "error": type(exc).__name__},
            "media_urls",
        ) from exc
    name = PurePath(httpx.URL(url).path).name or "media"
    spool.seek(0)
    return name, File(spool, name=name)


def serve_media(request: HttpRequest, path: str) -> HttpResponseBase:
    """Serve an uploaded file to members of the workspace that owns it (404 for everyone else).

    Media are private to their workspace until published, so they are not a public static tree.
    """
    from rupor.accounts import service as accounts
    from rupor.accounts.roles import can

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        raise Http404
    media = Media.objects.filter(Q(file=path) | Q(thumbnail=path)).first()
    if media is None:
        raise Http404
    role = accounts.role_of(user, media.workspace_id)
    if (
        role is None
        or not can(role, Perm.POSTS_VIEW)
        or accounts.two_factor_missing(user.pk, media.workspace_id)
    ):
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


#: Longer alt text is refused (Mastodon's limit; the shortest of the networks that take it is X's 1,000).
ALT_TEXT_MAX = 1500


def set_alt_text(actor: Actor, media_id: int, alt_text: str) -> Media:
    """Describe a picture for people who cannot see it; networks that take alt text send it with
    the picture. An empty text removes the description."""
    if not actor.can(Perm.POSTS_EDIT):
        raise PlanningError(_("Your role does not allow editing media."), status=403)
    media = Media.objects.filter(pk=media_id, workspace_id=actor.workspace_id).first()
    if media is None:
        raise PlanningError(_("No such file in the media library."), status=404)
    alt_text = " ".join(alt_text.split())
    if len(alt_text) > ALT_TEXT_MAX:
        raise PlanningError(_("Alt text is at most %(max)s characters.") % {"max": ALT_TEXT_MAX}, "alt_text")
    if alt_text != media.alt_text:
        media.alt_text = alt_text
        media.save(update_fields=["alt_text"])
        record(actor.workspace_id, actor, "media.alt_text", "media", media.pk, media.original_name)
    return media
