"""The archive format: what goes in comes out checked, and a damaged, cut, altered or foreign
archive is refused with a sentence, before anything is restored."""

from __future__ import annotations

import io
import json
import os
import stat
import tarfile
from pathlib import Path

import pytest

from rupor.ops import archive
from rupor.ops.archive import ArchiveError

MANIFEST = {"format": archive.FORMAT, "format_version": archive.FORMAT_VERSION, "rupor_version": "0.1.0"}


@pytest.fixture(autouse=True)
def _cheap_scrypt(monkeypatch):
    monkeypatch.setattr(archive, "SCRYPT_LOG2_N", 10)  # the cost travels in the header


def write(path: Path, files: dict[str, bytes], *, passphrase: str | None = None, manifest=None) -> None:
    def fill(out):
        sealer = archive.Sealer(out, passphrase) if passphrase else None
        tar = archive.open_writer(sealer or out)
        writer = archive.Writer(tar)
        for name, data in files.items():
            writer.add_bytes(name, data)
        writer.finish(manifest or MANIFEST)
        tar.close()
        if sealer:
            sealer.finish()

    archive.write_atomically(path, fill)


def test_round_trip_plain_and_encrypted(tmp_path):
    big = os.urandom(3 * archive.CHUNK + 17)  # several chunks, the last a short one
    files = {"database.sqlite3": big, "home/media/a/b.jpg": b"jpeg", "keys.json": b"{}"}
    for passphrase in (None, "correct horse battery staple"):
        path = tmp_path / f"a-{bool(passphrase)}.tar"
        write(path, files, passphrase=passphrase)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert archive.is_encrypted(path) is bool(passphrase)
        if passphrase:
            assert big[:64] not in path.read_bytes()
        folder = tmp_path / f"out-{bool(passphrase)}"
        folder.mkdir()
        got = archive.read(path, folder, passphrase=passphrase)
        assert got.manifest["files"]["home/media/a/b.jpg"]["size"] == 4
        for name, data in files.items():
            assert (folder / name).read_bytes() == data
    assert not list(tmp_path.glob(".*partial")), "no temporary file is left behind"


def test_a_chunk_sized_archive_still_ends_with_its_last_chunk(tmp_path):
    path = tmp_path / "a.tar"
    # A tar is a multiple of 10 KiB records: find sizes where the plain stream ends on a chunk.
    write(path, {"x": b"\0" * (archive.CHUNK * 2)}, passphrase="correct horse battery staple")
    cut = tmp_path / "cut.tar"
    body = path.read_bytes()
    cut.write_bytes(body[: len(body) - (archive.TAG)])  # the (empty or short) last chunk is gone
    with pytest.raises(ArchiveError, match=r"cut short|damaged"):
        archive.read(cut, tmp_path / "o", passphrase="correct horse battery staple")


def test_wrong_or_missing_passphrase(tmp_path):
    path = tmp_path / "a.tar"
    write(path, {"x": b"1"}, passphrase="correct horse battery staple")
    (tmp_path / "o").mkdir()
    with pytest.raises(ArchiveError, match="encrypted"):
        archive.read(path, tmp_path / "o")
    with pytest.raises(ArchiveError, match="passphrase does not open"):
        archive.read(path, tmp_path / "o", passphrase="another passphrase entirely")


@pytest.mark.parametrize("encrypted", [False, True])
def test_a_flipped_byte_is_refused(tmp_path, encrypted):
    passphrase = "correct horse battery staple" if encrypted else None
    path = tmp_path / "a.tar"
    write(path, {"database.sqlite3": b"A" * 5000}, passphrase=passphrase)
    body = bytearray(path.read_bytes())
    at = body.index(b"A" * 100) + 10 if not encrypted else len(body) // 2
    body[at] ^= 0x01
    path.write_bytes(bytes(body))
    (tmp_path / "o").mkdir()
    with pytest.raises(ArchiveError, match="damaged"):
        archive.read(path, tmp_path / "o", passphrase=passphrase)


def test_a_cut_archive_is_refused(tmp_path):
    path = tmp_path / "a.tar"
    write(path, {"database.sqlite3": os.urandom(50_000)})
    path.write_bytes(path.read_bytes()[:30_000])
    (tmp_path / "o").mkdir()
    with pytest.raises(ArchiveError, match=r"damaged|incomplete|no manifest"):
        archive.read(path, tmp_path / "o")


def _raw_tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> None:
    with tarfile.open(path, "w") as tar:
        for info, data in members:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def _manifest(files: dict[str, bytes], **more) -> bytes:
    import hashlib

    listed = {n: {"size": len(d), "sha256": hashlib.sha256(d).hexdigest()} for n, d in files.items()}
    return json.dumps({**MANIFEST, "files": listed, **more}).encode()


def test_a_file_the_manifest_does_not_list_or_misses(tmp_path):
    path = tmp_path / "a.tar"
    _raw_tar(
        path,
        [
            (tarfile.TarInfo("rupor-backup/x"), b"1"),
            (tarfile.TarInfo("rupor-backup/extra"), b"2"),
            (tarfile.TarInfo("rupor-backup/manifest.json"), _manifest({"x": b"1"})),
        ],
    )
    (tmp_path / "o").mkdir()
    with pytest.raises(ArchiveError, match="does not list"):
        archive.read(path, tmp_path / "o")
    _raw_tar(
        path,
        [
            (tarfile.TarInfo("rupor-backup/x"), b"1"),
            (tarfile.TarInfo("rupor-backup/manifest.json"), _manifest({"x": b"1", "y": b"2"})),
        ],
    )
    (tmp_path / "o2").mkdir()
    with pytest.raises(ArchiveError, match="incomplete"):
        archive.read(path, tmp_path / "o2")


@pytest.mark.parametrize(
    "name", ["rupor-backup/../escape", "/etc/passwd", "other/x", "rupor-backup/a\\..\\b"]
)
def test_names_outside_the_archive_folder_are_refused(tmp_path, name):
    path = tmp_path / "a.tar"
    _raw_tar(path, [(tarfile.TarInfo(name), b"1")])
    (tmp_path / "o").mkdir()
    with pytest.raises(ArchiveError, match="unexpected entry"):
        archive.read(path, tmp_path / "o")
    assert not (tmp_path / "escape").exists()


def test_links_are_refused(tmp_path):
    path = tmp_path / "a.tar"
    link = tarfile.TarInfo("rupor-backup/home/media/x")
    link.type = tarfile.SYMTYPE
    link.linkname = "/etc/passwd"
    _raw_tar(path, [(link, b"")])
    (tmp_path / "o").mkdir()
    with pytest.raises(ArchiveError, match="link"):
        archive.read(path, tmp_path / "o")


def test_a_newer_format_or_a_foreign_file_is_refused(tmp_path):
    path = tmp_path / "a.tar"
    _raw_tar(
        path,
        [
            (
                tarfile.TarInfo("rupor-backup/manifest.json"),
                _manifest({}, format_version=99, rupor_version="9.0"),
            )
        ],
    )
    (tmp_path / "o").mkdir()
    with pytest.raises(ArchiveError, match=r"format 99.*Rupor 9\.0"):
        archive.read(path, tmp_path / "o")
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"this is not a tar file at all" * 100)
    with pytest.raises(ArchiveError, match=r"not a Rupor backup|damaged"):
        archive.read(junk, tmp_path / "o")


def test_a_failed_write_leaves_no_file(tmp_path):
    path = tmp_path / "a.tar"

    def fill(out):
        out.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        archive.write_atomically(path, fill)
    assert list(tmp_path.iterdir()) == []
