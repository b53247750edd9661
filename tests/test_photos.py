"""Evidence photos on incidents (CONTRACT section 9): the post's upload and read, what is refused
(413, 415, 404, 403) and that a refused upload leaves nothing behind."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import EdgeServer, error_fields, init_post, running

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
