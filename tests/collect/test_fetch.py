"""The fetcher's manners and protections against a local server that misbehaves on purpose:
rate-limit headers, 429 with Retry-After, a 2 GB body, a page where an image should be, a
slow answer, redirects into the network."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from faceloop.collect.fetch import Fetcher, FetchError, FetchPolicy, retry_after
from faceloop.collect.guard import AddressGuard, RefusedAddress

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 100

#: path -> list of (status, headers, body), answered in turn (the last one again and again)
Script = dict[str, list[tuple[int, dict[str, str], bytes]]]


@contextmanager
def server(script: Script, delay: dict[str, float] | None = None) -> Iterator[str]:
    seen: dict[str, int] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            answers = script[self.path]
            n = seen.get(self.path, 0)
            seen[self.path] = n + 1
            status, headers, body = answers[min(n, len(answers) - 1)]
            if delay and self.path in delay:
                time.sleep(delay[self.path])
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            if "Content-Length" not in headers:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with suppress(OSError):
                self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def fetcher(waits: list[float], **policy) -> Fetcher:
    return Fetcher(
        AddressGuard(["127.0.0.1/32"]),
        FetchPolicy(backoff=0.01, **policy),
        sleep=waits.append,
        clock=lambda: 1_800_000_000.0,
    )


def test_a_429_waits_as_retry_after_says_then_succeeds() -> None:
    waits: list[float] = []
    script = {"/a": [(429, {"Retry-After": "7"}, b""), (200, {}, b"[]")]}
    with server(script) as url, fetcher(waits) as f:
        assert f.get_json(url + "/a").json() == []
    assert waits == [7.0]


def test_no_requests_left_waits_for_the_reset_before_the_next_one() -> None:
    waits: list[float] = []
    reset = "2027-01-15T08:00:30.000Z"  # 30 s after the fixed clock, as Mastodon writes it
    script = {
        "/a": [(200, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}, b"1")],
        "/b": [(200, {}, b"2")],
    }
    with server(script) as url, fetcher(waits) as f:
        f.get_json(url + "/a")
        assert waits == []
        f.get_json(url + "/b")
    assert waits == [pytest.approx(30.0)]


def test_a_reset_too_far_away_ends_the_run_in_words() -> None:
    waits: list[float] = []
    script = {"/a": [(429, {"x-rate-limit-reset": str(1_800_000_000 + 7200)}, b"")]}
    with server(script) as url, fetcher(waits) as f, pytest.raises(FetchError, match="wait 120"):
        f.get_json(url + "/a")


def test_server_errors_are_retried_with_growing_waits_then_given_up() -> None:
    waits: list[float] = []
    with (
        server({"/a": [(503, {}, b"")]}) as url,
        fetcher(waits, retries=3) as f,
        pytest.raises(FetchError, match="server error"),
    ):
        f.get_json(url + "/a")
    assert len(waits) == 3 and waits[0] < waits[2]


def test_a_2_gb_image_is_refused_before_its_body_is_read() -> None:
    waits: list[float] = []
    big = {"Content-Type": "image/jpeg", "Content-Length": str(2 * 2**30)}
    with (
        server({"/big.jpg": [(200, big, JPEG)]}) as url,
        fetcher(waits) as f,
        pytest.raises(FetchError, match="2048 MB is over the 50 MB limit"),
    ):
        f.image(url + "/big.jpg")


def test_a_page_where_an_image_should_be_is_refused() -> None:
    waits: list[float] = []
    page = {
        "/p.jpg": [(200, {"Content-Type": "text/html"}, b"<html>hi</html>")],
        "/q.jpg": [(200, {"Content-Type": "image/jpeg"}, b"<html>lies</html>")],
        "/ok.jpg": [(200, {"Content-Type": "image/jpeg"}, JPEG)],
    }
    with server(page) as url, fetcher(waits) as f:
        with pytest.raises(FetchError, match=r"not an image \(the server says text/html"):
            f.image(url + "/p.jpg")
        with pytest.raises(FetchError, match="its bytes are no image format"):
            f.image(url + "/q.jpg")
        assert f.image(url + "/ok.jpg") == JPEG


def test_a_slow_answer_times_out_in_words() -> None:
    waits: list[float] = []
    with (
        server({"/slow": [(200, {}, b"[]")]}, delay={"/slow": 2.0}) as url,
        fetcher(waits, timeout=0.3, retries=1) as f,
        pytest.raises(FetchError, match="no answer in time"),
    ):
        f.get_json(url + "/slow")
    assert len(waits) == 1


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.2:9/admin",
        "http://0.0.0.0:9/admin",
        "http://10.1.2.3/",
        "http://[::1]:9/",
        "file:///etc/passwd",
    ],
)
def test_redirects_into_the_network_are_refused(target: str) -> None:
    waits: list[float] = []
    script = {"/r": [(302, {"Location": target}, b"")]}
    with (
        server(script) as url,
        fetcher(waits) as f,
        pytest.raises(FetchError, match=r"does not fetch from inside|only http"),
    ):
        f.get_json(url + "/r")


def test_the_guard_refuses_internal_addresses_unless_allowed() -> None:
    with pytest.raises(RefusedAddress, match="loopback"):
        AddressGuard().check("http://127.0.0.1:8000/")
    with pytest.raises(RefusedAddress, match="private"):
        AddressGuard(["127.0.0.1/32"]).check("http://192.168.1.1/")
    AddressGuard(["127.0.0.1/32"]).check("http://127.0.0.1:8000/")


def test_retry_after_reads_seconds_and_dates() -> None:
    import httpx

    now = 1_800_000_000.0
    assert retry_after(httpx.Headers({"Retry-After": "12"}), now) == 12.0
    date = httpx.Headers({"Retry-After": "Fri, 15 Jan 2027 08:01:00 GMT"})
    assert retry_after(date, now) == pytest.approx(60.0)
    assert retry_after(httpx.Headers({"RateLimit-Reset": "5"}), now) == pytest.approx(5.0)
