"""Evidence photos on incidents (CONTRACT section 9): the post's upload and read, what is refused
(413, 415, 404, 403) and that a refused upload leaves nothing behind."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page

from schemas.photos import (
    CHUNK_BYTES,
    BlobChunk,
    UnreadableChunk,
    chunk_message,
    image_type,
    read_chunk,
)
from tests.browser import (
    PHONE,
    csrf_on,
    log_in,
    serious_axe_violations,
    shot,
    signed_in,
    small_targets,
    too_wide,
)
from tests.helpers import GUARD, EdgeServer, error_fields, init_post, running

# a real 1x1 PNG and a JPEG header with filler: the post tells the type from the first bytes
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a5f3d6a40000000049454e44ae426082"
)
JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"


def jpeg(size: int, seed: int = 0) -> bytes:
    """`size` bytes that start like a JPEG (the post checks the first bytes only)."""
    body = hashlib.sha256(str(seed).encode()).digest() * (size // 32 + 1)
    return (JPEG_HEAD + body)[:size]


def png(width: int, height: int) -> bytes:
    """A real PNG of one colour, as a camera's large photo stands in for (it compresses well)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    rows = b"".join(b"\x00" + b"\x30\x60\x90" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def jpeg_size(content: bytes) -> tuple[int, int]:
    """(width, height) from a JPEG's start-of-frame marker."""
    at = 2
    while at < len(content):
        marker, length = content[at + 1], struct.unpack(">H", content[at + 2 : at + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            height, width = struct.unpack(">HH", content[at + 5 : at + 9])
            return width, height
        at += 2 + length
    raise AssertionError("no frame in the JPEG")


def photo_rows(data: Path, incident_id: str) -> list[tuple[str, str, str]]:
    conn = sqlite3.connect(data / "guardpost.db")
    try:
        sql = "SELECT id, sha256, content_type FROM photos WHERE incident_id = ? ORDER BY rowid"
        return [(r[0], r[1], r[2]) for r in conn.execute(sql, (incident_id,))]
    finally:
        conn.close()


def photo_files(data: Path) -> list[str]:
    folder = data / "photos"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def open_incident(client: httpx.Client, title: str = "Water leak in the lobby") -> str:
    body = {"category": "facilities", "severity": "minor", "title": title}
    answer = client.post("/incidents", json=body)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def upload(
    client: httpx.Client, incident_id: str, content: bytes, name: str = "evidence.jpg"
) -> httpx.Response:
    return client.post(
        f"/incidents/{incident_id}/photos", files={"file": (name, content, "image/jpeg")}
    )


@pytest.fixture(scope="module")
def post(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data = tmp_path_factory.mktemp("photos") / "post"
    keys = init_post(data)
    # what a crash may leave: a file renamed to its hash before its event, and an old temp file
    (data / "photos").mkdir()
    (data / "photos" / hashlib.sha256(b"orphan").hexdigest()).write_bytes(b"orphan")
    stale = data / "photos" / ".incoming-crashed"
    stale.write_bytes(b"half a photo")
    os.utime(stale, (0, 0))
    with running(EdgeServer(data)) as server, server.client(server.login()) as guard:
        yield {
            "server": server,
            "data": data,
            "keys": keys,
            "guard": guard,
            "incident": open_incident(guard),
        }


def test_a_photo_is_stored_by_its_hash_and_read_back(post: dict[str, Any]) -> None:
    guard, data = post["guard"], post["data"]
    assert photo_files(data) == []  # the crash's leftovers were removed when serve started
    answer = upload(guard, post["incident"], PNG, name="not-really.jpg")
    assert answer.status_code == 201, answer.text
    photo = answer.json()
    sha = hashlib.sha256(PNG).hexdigest()
    assert photo == {"id": photo["id"], "sha256": sha, "content_type": "image/png", "size": 71}
    assert sha in photo_files(data)
    read = guard.get(f"/photos/{photo['id']}")
    assert read.status_code == 200
    assert read.content == PNG
    assert read.headers["content-type"] == "image/png"
    assert read.headers["x-content-type-options"] == "nosniff"
    [listed] = guard.get(f"/incidents/{post['incident']}").json()["photos"]
    assert listed == {**photo, "attached_at": listed["attached_at"], "purged_at": None}
    logbook = guard.get("/logbook").json()["entries"]
    assert [e["record_id"] for e in logbook if e["type"] == "photo.attached"][-1] == photo["id"]


def test_too_large_and_not_an_image_are_refused_and_nothing_is_kept(post: dict[str, Any]) -> None:
    guard, data = post["guard"], post["data"]
    before = photo_files(data)
    events = guard.get("/sync").json()["last_seq"]
    big = upload(guard, post["incident"], jpeg(10 * 1024 * 1024 + 1))
    assert big.status_code == 413, big.text
    text = upload(guard, post["incident"], b"this is not a photo, only text\n" * 20)
    assert text.status_code == 415, text.text
    assert error_fields(text) == ["file"]
    unknown = upload(guard, "no-such-incident", jpeg(2000))
    # without a Content-Length (chunked), refused as it streams in, before it is all read
    boundary = "photo-boundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode(),
        *(jpeg(1024 * 1024, seed=n) for n in range(40)),
        f"\r\n--{boundary}--\r\n".encode(),
    ]
    streamed = guard.post(
        f"/incidents/{post['incident']}/photos",
        content=iter(parts),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert streamed.status_code == 413, streamed.text
    assert unknown.status_code == 404
    assert photo_files(data) == before  # no file, no temporary file
    assert guard.get("/sync").json()["last_seq"] == events  # no event


def test_exactly_ten_megabytes_is_taken(post: dict[str, Any]) -> None:
    answer = upload(post["guard"], post["incident"], jpeg(10 * 1024 * 1024, seed=7))
    assert answer.status_code == 201, answer.text
    assert answer.json()["size"] == 10 * 1024 * 1024


def test_keys_may_not_attach_or_read_photos(post: dict[str, Any]) -> None:
    server, guard = post["server"], post["guard"]
    photo = upload(guard, post["incident"], jpeg(3000, seed=1)).json()
    for scope in ("door", "intercom"):
        with server.client(post["keys"][scope]) as key:
            assert upload(key, post["incident"], jpeg(3000, seed=2)).status_code == 403
            assert key.get(f"/photos/{photo['id']}").status_code == 403
    with server.client() as nobody:
        assert nobody.get(f"/photos/{photo['id']}").status_code == 401
    assert guard.get("/photos/no-such-photo").status_code == 404


def test_the_tablet_resizes_a_photo_before_it_uploads_it_and_shows_it(
    post: dict[str, Any], page: Page
) -> None:
    server, data = post["server"], post["data"]
    incident = open_incident(post["guard"], "Bicycle blocking the fire exit")
    log_in(page, server, "zh-Hant")
    page.goto(f"{server.url}/incidents/{incident}")
    assert page.locator("#photos-title").inner_text() == "相片"
    page.set_input_files(
        "input[name=file]",
        files=[{"name": "IMG_0001.png", "mimeType": "image/png", "buffer": png(2400, 1200)}],
    )
    page.click("button[name=add_photo]")
    page.locator(".photos img.thumb").wait_for()  # the page again, with the photo
    [(photo_id, sha, content_type)] = photo_rows(data, incident)
    assert content_type == "image/jpeg"  # made smaller in the browser: 1600 px at most
    assert jpeg_size((data / "photos" / sha).read_bytes()) == (1600, 800)
    thumb = page.locator(f".photos li[data-id='{photo_id}'] img.thumb")
    assert thumb.evaluate("(img) => img.complete && img.naturalWidth") == 1600
    shot(page, "incident-photo-zh-Hant")
    assert serious_axe_violations(page) == []
    assert too_wide(page) is None and small_targets(page) == []
    page.set_viewport_size(PHONE)
    assert too_wide(page) is None


def test_without_script_the_form_uploads_the_photo_with_its_csrf_token(
    post: dict[str, Any],
) -> None:
    server, data = post["server"], post["data"]
    incident = open_incident(post["guard"], "Broken lobby light")
    login = {"badge": GUARD["badge"], "pin": GUARD["pin"]}
    with signed_in(server.url, login) as browser:
        csrf = csrf_on(browser, f"/incidents/{incident}")
        photo = {"file": ("IMG_0002.jpg", jpeg(5000, seed=3), "image/jpeg")}
        refused = browser.post(f"/incidents/{incident}/photos", files=photo)
        assert refused.status_code == 403
        assert photo_rows(data, incident) == []
        text = {"file": ("note.jpg", b"just some words, not a photo", "image/jpeg")}
        wrong = browser.post(f"/incidents/{incident}/photos", data={"csrf": csrf}, files=text)
        assert wrong.status_code == 415
        said = '<p class="error photo-error" id="photo-error" role="alert">'
        assert f"{said}請選擇相片：JPEG、PNG 或 WebP 圖片。</p>" in wrong.text
        sent = browser.post(f"/incidents/{incident}/photos", data={"csrf": csrf}, files=photo)
        assert sent.status_code == 303
        assert sent.headers["location"] == f"/incidents/{incident}#photos"
        [(photo_id, _, _)] = photo_rows(data, incident)
        shown = browser.get(f"/incidents/{incident}").text
        assert f'<img class="thumb" src="/photos/{photo_id}"' in shown
        assert browser.get(f"/photos/{photo_id}").content == jpeg(5000, seed=3)


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\xff\xd8\xff\xdb" + bytes(8), "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n" + bytes(4), "image/png"),
        (b"RIFF\x10\x00\x00\x00WEBP", "image/webp"),
        (b"RIFF\x10\x00\x00\x00WAVE", None),  # a sound file is RIFF too
        (b"GIF89a" + bytes(6), None),
        (b"<svg xmlns=", None),  # an SVG can carry a script: never a photo here
    ],
)
def test_the_type_is_told_by_the_first_bytes(head: bytes, kind: str | None) -> None:
    assert image_type(head) == kind


def test_a_chunk_must_be_as_long_as_its_place_in_the_photo_says() -> None:
    sha = "a" * 64
    whole = BlobChunk(sha256=sha, size=CHUNK_BYTES + 10, index=1, count=2)
    assert read_chunk(chunk_message(whole, bytes(10))) == (whole, bytes(10))
    for header, body in (
        (whole, bytes(11)),  # longer than the photo's last 10 bytes
        (BlobChunk(sha256=sha, size=CHUNK_BYTES + 10, index=1, count=3), bytes(10)),
        (BlobChunk(sha256=sha, size=10, index=1, count=1), bytes(10)),  # past the last
    ):
        with pytest.raises(UnreadableChunk):
            read_chunk(chunk_message(header, body))
    with pytest.raises(UnreadableChunk):
        read_chunk(b'{"sha256": "../../etc/passwd"}\n' + bytes(10))
