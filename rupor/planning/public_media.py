"""Media files at public, signed, expiring addresses, for networks that fetch media themselves.

The Graph API (Instagram, Facebook photos by URL) takes a picture's address, not its bytes, and
fetches it from Rupor. :func:`link` makes that address: ``RUPOR_BASE_URL/public-media/<token>.<ext>``,
where the token carries the workspace, the file, the format and the expiry, signed with an HMAC
of the secret key (its own salt, so no other signed value of Rupor's can stand in for it). The
view answers without a session, a login or CSRF (it only reads), and refuses:

- a token whose signature does not check, or whose file is gone: 404, the same as an address
  that never existed, so nothing can be probed or listed;
- a token past its expiry: 410 with a plain message.

Formats (``networks.base.MediaLinker``): ``None`` serves the file as stored; ``"jpeg"`` a JPEG of
it (EXIF orientation applied, transparency flattened onto white, colours in sRGB, quality 90);
``"jpeg:MIN-MAX"`` that JPEG centre-cropped into a range of width/height ratios. A picture that
is already a plain JPEG inside the range is served as it is; a conversion is made once, when the
link is made (in the worker, before the network is told the address), and kept beside the
media under ``public/<sha256>/`` so that every fetch only streams a file. Conversions go with
the last library item that has those bytes (:func:`delete_conversions`).

Lifetime: ``RUPOR_MEDIA_LINK_HOURS`` (24 by default; docs/decisions/0027-signed-media-links.md).
"""

from __future__ import annotations

import base64
import contextlib
import io
import logging
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django.core import signing
from django.core.files.base import ContentFile
from django.core.files.storage import Storage
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe
from PIL import Image, ImageCms, ImageOps

from rupor.core import clock, config
from rupor.core.imaging import LinkFormat, crop_box, crop_into, parse_link_format
from rupor.networks.base import MediaLinker
from rupor.planning.models import Media

log = logging.getLogger(__name__)

SALT = "rupor.planning.public_media"
JPEG_QUALITY = 90
CHUNK_BYTES = 256 * 1024
#: A fetch is cached by whoever fetches for at most this long (the link may expire sooner).
MAX_CACHE_S = 3600
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/webm": "webm",
}


class BadLink(Exception):
    """A token that does not check (forged, altered, or for a file that is gone): a 404."""


class ExpiredLink(Exception):
    """A genuine token past its expiry: a 410."""


@dataclass(frozen=True)
class LinkClaim:
    """What a checked token grants: one file of one workspace, in one format, until ``expires``."""

    workspace_id: int
    media_id: int
    fmt: LinkFormat
    expires: int  # Unix seconds


def _signer() -> signing.Signer:
    return signing.Signer(
        salt=SALT, sep=".", algorithm="sha256", fallback_keys=list(config.old_secret_keys())
    )


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _unb64(text: str) -> str:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()


def make_token(workspace_id: int, media_id: int, fmt: LinkFormat, expires: int) -> str:
    """The signed token of a link (URL-safe: base64url, a dot, base64url)."""
    return _signer().sign(_b64(f"{workspace_id}|{media_id}|{fmt.key}|{expires}"))


def read_token(token: str) -> LinkClaim:
    """Check a token's signature, then its expiry; raises :class:`BadLink` or :class:`ExpiredLink`."""
    try:
        payload = _unb64(_signer().unsign(token))
        ws, media, key, expires = payload.split("|")
        claim = LinkClaim(int(ws), int(media), parse_link_format(key or None), int(expires))
    except (signing.BadSignature, ValueError, UnicodeDecodeError) as exc:
        raise BadLink from exc
    if clock.now().timestamp() >= claim.expires:
        raise ExpiredLink
    return claim


def link_lifetime_s() -> int:
    return round(config.media_link_hours() * 3600)


def extension(content_type: str) -> str:
    return EXTENSIONS.get(content_type, "bin")


def link(media: Media, fmt: str | None) -> str:
    """A public address of ``media`` in ``fmt`` (see the module's docstring), valid for
    ``RUPOR_MEDIA_LINK_HOURS``. A conversion is made here, so that the network's fetch is quick;
    raises ``ValueError`` for an unknown format or a conversion asked of a file that is not a picture."""
    wanted = parse_link_format(fmt)
    content_type = media.content_type
    if wanted.convert:
        if media.kind != "photo":
            raise ValueError(f"media {media.pk} is a {media.kind}; only pictures convert to JPEG")
        try:
            content_type = prepare(media, wanted)[2]
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
            # The fetch will try again and answer 404; the network reports the failure to publish.
            log.warning("media %s could not be converted to %s", media.pk, wanted.key, exc_info=True)
            content_type = "image/jpeg"
    expires = int(clock.now().timestamp()) + link_lifetime_s()
    token = make_token(media.workspace_id, media.pk, wanted, expires)
    return f"{config.base_url()}/public-media/{token}.{extension(content_type)}"


def linker(media: Media) -> MediaLinker:
    """The :data:`~rupor.networks.base.MediaLinker` of one library item."""

    def make(fmt: str | None) -> str:
        return link(media, fmt)

    return make


# -- conversions ---------------------------------------------------------------------------------


def _cache_dir(sha256: str) -> str:
    return f"public/{sha256}"


def _cache_name(sha256: str, fmt: LinkFormat) -> str:
    slug = re.sub(r"[^0-9A-Za-z.-]", "_", fmt.key)
    return f"{_cache_dir(sha256)}/{slug}.jpg"


def _srgb(image: Image.Image) -> Image.Image:
    """The picture's colours in sRGB (its ICC profile applied, when it has another one)."""
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "RGBA", "CMYK", "L", "LA"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        mode = "RGBA" if image.mode in ("RGBA", "LA") else "RGB"
        if image.mode == "LA":
            image = image.convert("RGBA")
        converted = ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode=mode)
    except (ImageCms.PyCMSError, OSError, ValueError):  # a broken profile: keep the values as they are
        return image
    return converted if converted is not None else image


def _flatten(image: Image.Image) -> Image.Image:
    """RGB, with anything transparent laid on white (JPEG has no transparency)."""
    if image.mode == "P" or image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    return image.convert("RGB") if image.mode != "RGB" else image


def _served_as_is(image: Image.Image, fmt: LinkFormat) -> bool:
    if image.format != "JPEG" or image.mode not in ("RGB", "L"):
        return False
    if image.getexif().get(0x0112, 1) != 1:  # Orientation: only a converted copy stands upright everywhere
        return False
    if fmt.low is None or fmt.high is None:
        return True
    return not crop_into(image.width, image.height, fmt.low, fmt.high).cropped


def convert(handle: IO[bytes], fmt: LinkFormat) -> bytes | None:
    """The JPEG that ``fmt`` asks for, or ``None`` when the file may be served as it is."""
    with Image.open(handle) as opened:
        if _served_as_is(opened, fmt):
            return None
        opened.seek(0)  # an animation's first frame
        image = ImageOps.exif_transpose(opened)
        image = _flatten(_srgb(image))
        if fmt.low is not None and fmt.high is not None:
            crop = crop_into(image.width, image.height, fmt.low, fmt.high)
            if crop.cropped:
                image = image.crop(crop_box(image.width, image.height, crop))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def prepare(media: Media, fmt: LinkFormat) -> tuple[Storage, str, str]:
    """Where the file a link serves lies: ``(storage, name, content type)``, converting it first
    when ``fmt`` asks for a conversion that is not cached yet."""
    storage = media.file.storage
    if not fmt.convert:
        return storage, media.file.name, media.content_type
    name = _cache_name(media.sha256, fmt)
    if storage.exists(name):
        return storage, name, "image/jpeg"
    with storage.open(media.file.name, "rb") as handle:
        data = convert(handle, fmt)
    if data is None:
        return storage, media.file.name, media.content_type
    _keep(storage, name, data)
    return storage, name, "image/jpeg"


def _keep(storage: Storage, name: str, data: bytes) -> None:
    """Store a conversion so that no reader ever sees it half written."""
    try:
        target = Path(storage.path(name))
    except NotImplementedError:  # a storage without local paths: its own save, one copy kept
        saved = storage.save(name, ContentFile(data))
        if saved != name:  # another fetch converted it meanwhile
            storage.delete(saved)
        return
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".part-", delete=False) as part:
        part.write(data)
    os.chmod(part.name, 0o600)  # as every file under RUPOR_HOME
    os.replace(part.name, target)  # atomic: a concurrent conversion of the same bytes wins or loses whole


def delete_conversions(storage: Storage, sha256: str) -> None:
    """Remove the converted copies of these bytes (when no library item has them any more)."""
    folder = _cache_dir(sha256)
    try:
        _dirs, files = storage.listdir(folder)
    except (FileNotFoundError, NotImplementedError):
        return
    for name in files:
        storage.delete(f"{folder}/{name}")
    with contextlib.suppress(NotImplementedError, OSError):  # the empty folder too, where there is one
        Path(storage.path(folder)).rmdir()


# -- the view ------------------------------------------------------------------------------------

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """``(first, last)`` of a single ``Range: bytes=`` header; ``None`` for no range, or one this
    view does not take (several ranges, other units: the whole file is the right answer); raises
    ``ValueError`` for a range outside the file (416)."""
    match = _RANGE.fullmatch(header.strip())
    if match is None or (not match.group(1) and not match.group(2)):
        return None
    first_text, last_text = match.groups()
    if not first_text:  # the last N bytes
        suffix = int(last_text)
        if suffix == 0:
            raise ValueError("empty suffix range")
        return max(0, size - suffix), size - 1
    first = int(first_text)
    last = min(int(last_text), size - 1) if last_text else size - 1
    if first >= size or last < first:
        raise ValueError("range outside the file")
    return first, last


def _stream(handle: IO[bytes], first: int, length: int) -> Iterator[bytes]:
    try:
        handle.seek(first)
        left = length
        while left > 0:
            chunk = handle.read(min(CHUNK_BYTES, left))
            if not chunk:
                break
            left -= len(chunk)
            yield chunk
    finally:
        handle.close()


def _plain(status: int, text: str) -> HttpResponse:
    response = HttpResponse(text + "\n", status=status, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt  # it only reads; no cookie is read or set
@require_safe
def serve(request: HttpRequest, token: str, ext: str) -> HttpResponseBase:  # noqa: ARG001 - the extension is for the fetcher's eyes only
    """Serve the file a signed token names (GET and HEAD, single byte ranges)."""
    try:
        claim = read_token(token)
    except BadLink:
        return _plain(404, "Not found.")
    except ExpiredLink:
        return _plain(410, "This media link has expired; Rupor makes a new one for each publication.")
    media = Media.objects.filter(pk=claim.media_id, workspace_id=claim.workspace_id).first()
    if media is None or (claim.fmt.convert and media.kind != "photo"):
        return _plain(404, "Not found.")
    try:
        storage, name, content_type = prepare(media, claim.fmt)
        size = storage.size(name)
    except FileNotFoundError:
        return _plain(404, "Not found.")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        log.warning("media %s could not be converted to %s", media.pk, claim.fmt.key, exc_info=True)
        return _plain(404, "Not found.")
    status, first, last = 200, 0, size - 1
    header = request.headers.get("Range", "")
    if header and size:
        try:
            chosen = _byte_range(header, size)
        except ValueError:
            refusal = _plain(416, "Range not satisfiable.")
            refusal["Content-Range"] = f"bytes */{size}"
            return refusal
        if chosen is not None:
            status, (first, last) = 206, chosen
    length = max(0, last - first + 1)
    response: HttpResponseBase
    if request.method == "HEAD":
        response = HttpResponse(status=status, content_type=content_type)
    else:
        response = StreamingHttpResponse(
            _stream(storage.open(name, "rb"), first, length), status=status, content_type=content_type
        )
    response["Content-Length"] = str(length)
    if status == 206:
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
    response["Accept-Ranges"] = "bytes"
    response["X-Content-Type-Options"] = "nosniff"
    response["X-Robots-Tag"] = "noindex"
    remaining = max(0, claim.expires - int(clock.now().timestamp()))
    response["Cache-Control"] = f"private, max-age={min(remaining, MAX_CACHE_S)}"
    return response
