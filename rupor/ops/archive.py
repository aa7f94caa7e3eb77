"""The backup archive: one tar file holding the database dump, the files kept under
``RUPOR_HOME``, the keys and a manifest (docs/decisions/0035).

Layout (every name under ``rupor-backup/``)::

    database.sqlite3 | database.pgdump   the database (SQLite backup API copy / pg_dump custom format)
    keys.json                            the secret key and the old keys still listed for decryption
    home/media/...                       the media library and its public copies
    home/...                             the other state files of RUPOR_HOME (quota counters, ...)
    manifest.json                        last: versions, migrations, vendor, every member's SHA-256

The tar is written as a stream, so it may go through :class:`Sealer` (a passphrase, AES-256-GCM
in 64 KiB chunks, the STREAM construction: a chunk's nonce carries its number and whether it is
the last, so a reordered, cut or altered archive fails to open) and read back the same way:
:func:`read` extracts into a staging folder while hashing and checks everything against the
manifest before the caller touches anything.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from rupor.core.errors import DomainError

FORMAT = "rupor-backup"
FORMAT_VERSION = 1
ROOT = "rupor-backup"
MANIFEST = "manifest.json"
#: A manifest is a few kilobytes per thousand files; anything far bigger is not one of ours.
MANIFEST_MAX = 64 * 1024 * 1024

#: Encrypted archives start with this (a plain tar starts with a member's name).
MAGIC = b"RUPORBAK"
CHUNK = 64 * 1024
TAG = 16
#: scrypt cost: 2**17 x 8 x 128 bytes = 128 MiB and about half a second per passphrase check.
SCRYPT_LOG2_N = 17
SCRYPT_R = 8
SCRYPT_P = 1
_CHECK_PLAINTEXT = b"rupor-backup-key-check"


class ArchiveError(DomainError):
    """The archive cannot be written or read; the message says what and what to do."""


# -- encryption -----------------------------------------------------------------------------------


def _key(passphrase: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    if not 10 <= log2_n <= 22 or not 1 <= r <= 32 or not 1 <= p <= 16:
        raise ArchiveError("The archive's encryption header is damaged (impossible key parameters).")
    return Scrypt(salt=salt, length=32, n=2**log2_n, r=r, p=p).derive(passphrase.encode())


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + counter.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


class Sealer:
    """A write-only stream that encrypts what is written to ``out``; :meth:`finish` writes the
    last chunk (always present, possibly empty), without which the archive does not open."""

    def __init__(self, out: IO[bytes], passphrase: str) -> None:
        salt, self._prefix = secrets.token_bytes(16), secrets.token_bytes(7)
        head = MAGIC + bytes([1, SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P]) + salt + self._prefix
        self._aead = AESGCM(_key(passphrase, salt, SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P))
        # A key check after the header: a wrong passphrase is told apart from a damaged archive.
        check = self._aead.encrypt(self._prefix + b"\xff\xff\xff\xff\x02", _CHECK_PLAINTEXT, head)
        self._head = head + check
        self._out = out
        self._counter = 0
        self._buffer = bytearray()
        out.write(self._head)

    def write(self, data: bytes) -> int:
        self._buffer += data
        while len(self._buffer) > CHUNK:  # strictly more: the last chunk is written by finish()
            self._emit(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]
        return len(data)

    def flush(self) -> None:
        self._out.flush()

    def finish(self) -> None:
        self._emit(bytes(self._buffer), last=True)
        self._buffer.clear()

    def _emit(self, chunk: bytes, *, last: bool) -> None:
        self._out.write(self._aead.encrypt(_nonce(self._prefix, self._counter, last), chunk, self._head))
        self._counter += 1


_HEAD_SIZE = len(MAGIC) + 4 + 16 + 7
_CHECK_SIZE = len(_CHECK_PLAINTEXT) + TAG


def is_encrypted(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(MAGIC)) == MAGIC


class Opener(io.RawIOBase):
    """The read side of :class:`Sealer`: a readable stream of the plain tar."""

    def __init__(self, src: IO[bytes], passphrase: str) -> None:
        super().__init__()
        head = src.read(_HEAD_SIZE)
        if len(head) < _HEAD_SIZE or not head.startswith(MAGIC):
            raise ArchiveError("This is not an encrypted Rupor backup (its header is missing or damaged).")
        version, log2_n, r, p = head[8:12]
        if version != 1:
            raise ArchiveError(
                f"This archive uses encryption format {version}, which this Rupor cannot read: "
                "restore it with the Rupor version that wrote it, or a newer one."
            )
        salt, self._prefix = head[12:28], head[28:35]
        self._aead = AESGCM(_key(passphrase, salt, log2_n, r, p))
        check = src.read(_CHECK_SIZE)
        try:
            self._aead.decrypt(self._prefix + b"\xff\xff\xff\xff\x02", check, head)
        except InvalidTag:
            raise ArchiveError(
                "The passphrase does not open this archive: check RUPOR_BACKUP_PASSPHRASE or --passphrase-file."
            ) from None
        self._head = head + check
        self._src = src
        self._counter = 0
        self._next = src.read(CHUNK + TAG)
        self._plain = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def _advance(self) -> None:
        block, self._next = self._next, self._src.read(CHUNK + TAG)
        last = not self._next
        if len(block) < TAG:
            raise ArchiveError("The archive is cut short: its last part is missing. Use a complete copy.")
        try:
            self._plain = self._aead.decrypt(_nonce(self._prefix, self._counter, last), block, self._head)
        except InvalidTag:
            raise ArchiveError(
                "The archive is damaged or cut short (a part fails its authentication check). Use a complete copy."
            ) from None
        self._counter += 1
        self._done = last

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while not self._plain and not self._done:
            self._advance()
        n = min(len(view), len(self._plain))
        view[:n] = self._plain[:n]
        self._plain = self._plain[n:]
        return n


# -- writing --------------------------------------------------------------------------------------


class _Hashing:
    """A file read through while its SHA-256 is taken (tarfile reads exactly ``size`` bytes)."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self.digest = hashlib.sha256()
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self.digest.update(data)
        self.count += len(data)
        return data


@dataclass
class Writer:
    """Adds members to a tar stream and keeps their checksums for the manifest."""

    tar: tarfile.TarFile
    files: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add_file(self, name: str, path: Path) -> bool:
        """Add ``path`` as ``name``; False when the file went away meanwhile (a media file
        deleted after the database was copied)."""
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            return False
        with handle:
            facts = os.fstat(handle.fileno())
            size = facts.st_size
            info = self._info(name, size, facts.st_mtime)
            reader = _Hashing(handle)
            self.tar.addfile(info, reader)  # tarfile only reads it
        self.files[name] = {"size": size, "sha256": reader.digest.hexdigest()}
        return True

    def add_bytes(self, name: str, data: bytes) -> None:
        self.tar.addfile(self._info(name, len(data)), io.BytesIO(data))
        self.files[name] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}

    def finish(self, manifest: dict[str, Any]) -> None:
        body = json.dumps({**manifest, "files": self.files}, indent=1, sort_keys=True).encode()
        self.tar.addfile(self._info(MANIFEST, len(body)), io.BytesIO(body))

    @staticmethod
    def _info(name: str, size: int, mtime: float | None = None) -> tarfile.TarInfo:
        info = tarfile.TarInfo(f"{ROOT}/{name}")
        info.size = size
        info.mode = 0o600
        info.mtime = int(time.time() if mtime is None else mtime)
        return info


def open_writer(sink: Any) -> tarfile.TarFile:
    return tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT)


# -- reading --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Extracted:
    """An archive checked against its manifest, its members under ``folder``."""

    folder: Path
    manifest: dict[str, Any]

    def path(self, name: str) -> Path:
        return self.folder / name


def _member_name(member: tarfile.TarInfo) -> str:
    """The member's name under ``rupor-backup/``, refused when it could land anywhere else."""
    name = member.name
    pure = PurePosixPath(name)
    if (
        not name.startswith(f"{ROOT}/")
        or pure.is_absolute()
        or ".." in pure.parts
        or "\\" in name
        or "\x00" in name
    ):
        raise ArchiveError(f"The archive holds an unexpected entry {name!r}: it is not a Rupor backup.")
    return name[len(ROOT) + 1 :]


def _copy(src: IO[bytes], dest: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    try:
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        out = os.fdopen(fd, "wb")
    except OSError as exc:
        raise ArchiveError(f"Cannot unpack the archive into {dest.parent}: {exc.strerror or exc}.") from exc
    with out:
        while chunk := src.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
            try:
                out.write(chunk)
            except OSError as exc:
                raise ArchiveError(
                    f"Cannot unpack the archive into {dest.parent}: {exc.strerror or exc} (is the disk full?)."
                ) from exc
    return size, digest.hexdigest()


def read(source: Path, folder: Path, *, passphrase: str | None = None) -> Extracted:
    """Extract ``source`` into ``folder`` (which must be empty) and check every member against
    the manifest. Nothing outside ``folder`` is written."""
    try:
        raw = source.open("rb")
    except OSError as exc:
        raise ArchiveError(f"Cannot read {source}: {exc.strerror or exc}.") from exc
    with raw:
        if raw.read(len(MAGIC)) == MAGIC:
            if not passphrase:
                raise ArchiveError(
                    "This archive is encrypted: give its passphrase in RUPOR_BACKUP_PASSPHRASE or with --passphrase-file."
                )
            raw.seek(0)
            stream: IO[bytes] = io.BufferedReader(Opener(raw, passphrase), buffer_size=CHUNK)
        else:
            raw.seek(0)
            stream = raw
        try:
            tar = tarfile.open(fileobj=stream, mode="r|")  # noqa: SIM115 - a stream over ``raw``, closed with it
        except (tarfile.TarError, EOFError) as exc:
            raise ArchiveError(
                f"{source.name} is not a Rupor backup archive (or it is damaged): {exc}."
            ) from exc
        try:
            return _extract(tar, folder)
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise ArchiveError(f"The archive is damaged or incomplete ({exc}). Use a complete copy.") from exc


def _extract(tar: tarfile.TarFile, folder: Path) -> Extracted:
    seen: dict[str, dict[str, Any]] = {}
    manifest: dict[str, Any] | None = None
    for member in tar:
        if member.isdir():
            _member_name(member)
            continue
        if not member.isreg():
            raise ArchiveError(
                f"The archive holds a link or device {member.name!r}: it is not a Rupor backup."
            )
        name = _member_name(member)
        if name in seen or name == "":
            raise ArchiveError(f"The archive holds {member.name!r} twice: it is damaged.")
        src = tar.extractfile(member)
        if src is None:  # pragma: no cover - isreg() members always have data
            continue
        if name == MANIFEST:
            if member.size > MANIFEST_MAX:
                raise ArchiveError("The archive's manifest is far too big: it is not a Rupor backup.")
            manifest = _parse_manifest(src.read())
            continue
        dest = folder / name
        dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        size, digest = _copy(src, dest)
        seen[name] = {"size": size, "sha256": digest}
    if manifest is None:
        raise ArchiveError("The archive has no manifest: it is incomplete or not a Rupor backup.")
    _check_members(manifest, seen)
    return Extracted(folder, manifest)


def _parse_manifest(body: bytes) -> dict[str, Any]:
    try:
        manifest = json.loads(body)
    except ValueError as exc:
        raise ArchiveError("The archive's manifest is not readable JSON: the archive is damaged.") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArchiveError("This archive's manifest is not a Rupor backup's.")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ArchiveError(
            f"This archive is in backup format {version!r}; this Rupor reads format {FORMAT_VERSION} and older. "
            f"Restore it with Rupor {manifest.get('rupor_version', 'of that version')} or newer."
        )
    if not isinstance(manifest.get("files"), dict):
        raise ArchiveError("The archive's manifest lists no files: the archive is damaged.")
    return manifest


def _check_members(manifest: dict[str, Any], seen: dict[str, dict[str, Any]]) -> None:
    listed: dict[str, Any] = manifest["files"]
    missing = sorted(set(listed) - set(seen))
    extra = sorted(set(seen) - set(listed))
    if missing:
        raise ArchiveError(
            f"The archive is incomplete: {len(missing)} file(s) its manifest lists are missing ({', '.join(missing[:3])})."
        )
    if extra:
        raise ArchiveError(
            f"The archive holds file(s) its manifest does not list ({', '.join(extra[:3])}): it was altered."
        )
    for name, facts in seen.items():
        want = listed[name]
        if (
            not isinstance(want, dict)
            or want.get("sha256") != facts["sha256"]
            or want.get("size") != facts["size"]
        ):
            raise ArchiveError(f"The archive is damaged: {name} does not match its checksum.")


def write_atomically(path: Path, fill: Callable[[IO[bytes]], None]) -> None:
    """Write ``path`` through a temporary file beside it (mode 0600), flushed to disk, then renamed
    over it: a reader (or a copy job) never sees half an archive, and a failure leaves none."""
    path = path.absolute()
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise ArchiveError(f"Cannot write in {path.parent}: {exc.strerror or exc}.") from exc
    try:
        with os.fdopen(fd, "wb") as out:
            fill(out)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
