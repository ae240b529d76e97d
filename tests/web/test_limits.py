"""Request bodies have a limit per route, enforced before the body is read (issue 14, item 6),
and request bodies are strictly typed (item 7).

The ASGI tests drive the real app with a `receive` of their own, so they can see how much of
a body the app pulled before it answered; one test sends a chunked body to a real `faceloop
serve` over a socket, as an attacker would, and reads the 413 while still sending.
"""

from __future__ import annotations

import asyncio
import io
import json
import random
import select
import shutil
import socket
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from faceloop.web.app import WebSettings, create_app
from faceloop.web.limits import UPLOAD_ROUTES
from faceloop.workspace import open_workspace
from tests.web.browsing import serving

JSON_KB = 16
UPLOAD_MB = 1


@pytest.fixture
def small_limits(tmp_path: Path, template: Path) -> Path:
    """The test workspace with [web] max_json_kb = 16 and max_upload_mb = 1."""
    root = tmp_path / "ws"
    shutil.copytree(template, root)
    settings = root / "faceloop.toml"
    text = settings.read_text(encoding="utf-8")
    assert "max_json_kb = 1024" in text and "max_upload_mb = 2048" in text
    text = text.replace("max_json_kb = 1024", f"max_json_kb = {JSON_KB}")
    text = text.replace("max_upload_mb = 2048", f"max_upload_mb = {UPLOAD_MB}")
    settings.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def limited(small_limits: Path) -> TestClient:
    with open_workspace(small_limits) as ws:
        app = create_app(ws, WebSettings(allowed_hosts={"testserver"}))
        with TestClient(app) as client:
            yield client


def call(app, path: str, chunks: list[bytes], headers: list[tuple[bytes, bytes]]):
    """One POST straight into the ASGI app; the body handed over one chunk per `receive`.
    Returns (status, JSON answer, bytes the app pulled)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    pending = list(chunks)
    pulled = 0
    sent: list[dict] = []

    async def receive() -> dict:
        nonlocal pulled
        if not pending:
            return {"type": "http.request", "body": b"", "more_body": False}
        chunk = pending.pop(0)
        pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, json.loads(body), pulled


def test_a_declared_length_over_the_limit_is_refused_before_reading(ws) -> None:
    app = create_app(ws, WebSettings(allowed_hosts={"testserver"}))
    megabytes = 200
    chunks = [b"x" * 2**20] * megabytes
    status, answer, pulled = call(
        app, "/api/v1/people", chunks, [(b"content-length", str(megabytes * 2**20).encode())]
    )
    assert status == 413
    assert answer["error"] == "too_large"
    assert "limit is 1024 KB" in answer["message"] and "max_json_kb" in answer["message"]
    assert pulled == 0


def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit(ws) -> None:
    app = create_app(ws, WebSettings(allowed_hosts={"testserver"}))
    chunk = b" " * 64 * 1024
    chunks = [b'{"name": "Ann"', *([chunk] * 3200), b"}"]  # 200 MB, no length declared
    status, answer, pulled = call(app, "/api/v1/people", chunks, [])
    assert status == 413
    assert answer["error"] == "too_large" and "limit is 1024 KB" in answer["message"]
    # it stopped reading at the chunk that passed 1 MB, not at the end
    assert pulled <= 1024 * 1024 + len(chunk) + 20


def test_a_body_just_under_the_limit_is_accepted_and_one_byte_more_refused(limited) -> None:
    limit = JSON_KB * 1024
    body = b'{"name": "Ann"}'
    padded = body[:-1] + b" " * (limit - len(body)) + b"}"
    assert len(padded) == limit
    answer = limited.post(
        "/api/v1/people", content=padded, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 201 and answer.json()["name"] == "Ann"
    over = limited.post(
        "/api/v1/people", content=padded + b" ", headers={"Content-Type": "application/json"}
    )
    assert over.status_code == 413
    assert over.json()["error"] == "too_large"
    assert f"limit is {JSON_KB} KB" in over.json()["message"]


def noise_jpeg(side: int) -> bytes:
    """A photo that does not compress: its size in bytes grows with its side."""
    rng = random.Random(side)
    image = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    return out.getvalue()


def test_the_upload_route_takes_files_over_the_json_limit_but_not_over_its_own(
    limited,
) -> None:
    upload = limited.post("/api/v1/uploads").json()["upload_id"]
    photo = noise_jpeg(200)
    assert JSON_KB * 1024 < len(photo) < UPLOAD_MB * 2**20 / 2
    taken = limited.post(
        f"/api/v1/uploads/{upload}/files", files=[("files", ("a.jpg", photo, "image/jpeg"))]
    )
    assert taken.status_code == 200, taken.text
    assert [f["size"] for f in taken.json()["accepted"]] == [len(photo)]

    big = noise_jpeg(1100)
    assert len(big) > UPLOAD_MB * 2**20
    refused = limited.post(
        f"/api/v1/uploads/{upload}/files", files=[("files", ("b.jpg", big, "image/jpeg"))]
    )
    assert refused.status_code == 413
    assert refused.json()["error"] == "too_large"
    assert f"limit is {UPLOAD_MB} MB" in refused.json()["message"]
    assert "max_upload_mb" in refused.json()["message"]


def test_every_route_taking_files_gets_the_upload_limit(shared_client) -> None:
    """A new route taking files must be listed, or its uploads would meet the JSON limit."""
    schema = shared_client.get("/api/v1/openapi.json").json()
    multipart = [
        path
        for path, operations in schema["paths"].items()
        for operation in operations.values()
        if "multipart/form-data" in operation.get("requestBody", {}).get("content", {})
    ]
    assert "/api/v1/uploads/{upload_id}/files" in multipart
    for path in multipart:
        concrete = path.replace("{upload_id}", "abc123")
        assert any(route.fullmatch(concrete) for route in UPLOAD_ROUTES), path
    # and a JSON route is not taken for an upload one
    assert not any(route.fullmatch("/api/v1/people") for route in UPLOAD_ROUTES)


def read_answer(conn: socket.socket) -> bytes:
    """An HTTP answer with a Content-Length, read whole (its head and body may come apart)."""
    answer = b""
    while b"\r\n\r\n" not in answer or len(answer.partition(b"\r\n\r\n")[2]) < length(answer):
        piece = conn.recv(65536)
        if not piece:
            break
        answer += piece
    return answer


def length(answer: bytes) -> int:
    for line in answer.partition(b"\r\n\r\n")[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def test_a_real_server_answers_413_while_the_client_is_still_sending(small_limits) -> None:
    """uvicorn (h11) must hand the answer over before the body ends: the client reads it
    between two chunks, as bench/fault_injection.py's probe does."""
    with serving(small_limits) as server:
        port = int(server.base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
            conn.sendall(
                b"POST /api/v1/people HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            chunk = b"a" * 64 * 1024
            answer = b""
            sent = 0
            for _ in range(1000):  # 64 MB at most
                conn.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                sent += len(chunk)
                if select.select([conn], [], [], 0.05)[0]:
                    answer = read_answer(conn)
                    break
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 413"), answer[:200]
        assert sent < 8 * 2**20
        assert b'"too_large"' in body and f"limit is {JSON_KB} KB".encode() in body
        # and the server goes on answering
        assert server.api("GET", "/health") is not None


@pytest.mark.parametrize(
    ("body", "field"),
    [({"threshold": True}, "threshold"), ({"threshold": "0.5"}, "threshold")],
)
def test_a_number_field_refuses_a_bool_or_a_string(client, body: dict, field: str) -> None:
    answer = client.post("/api/v1/cluster", json=body)
    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid"
    message = answer.json()["message"]
    assert message.startswith(f"{field}: Input should be a valid number")
    assert f"not {json.dumps(body[field])}" in message


def test_strict_bodies_still_take_whole_numbers_for_floats_and_dates_as_text(client) -> None:
    assert client.post("/api/v1/cluster", json={"threshold": 1}).status_code == 202
    hidden = client.post("/api/v1/people", json={"name": "Ann"}).json()["id"]
    refused = client.post(f"/api/v1/people/{hidden}/hide", json={"hidden": "false"})
    assert refused.status_code == 422 and 'not "false"' in refused.json()["message"]
    job = client.post("/api/v1/photos/redetect", json={"since": "2026-01-01"})
    assert job.status_code == 202 and job.json()["params"]["since"] == "2026-01-01"
    # and the job's moments say their zone
    assert job.json()["created_at"].endswith("Z")
