"""Every network request a collection makes goes through one `Fetcher`, so every source gets the
same manners and the same protections:

- timeouts on connecting and reading, and a maximum size read as the body streams in (a server
  announcing 2 GB is refused before a byte of the body is read);
- the address guard on the first URL and on every redirect (redirects are followed here, not by
  httpx, for that reason);
- per-host rate limits that follow the APIs' own headers (`X-RateLimit-*` on Mastodon,
  `RateLimit-*` on Bluesky, `x-rate-limit-*` on X), `429` with `Retry-After` honoured, and
  exponential backoff with jitter on timeouts and server errors;
- an image is an image: its content type says so and its first bytes agree.

httpx does the HTTP; what is here is the policy. Waiting goes through `sleep`, so a caller (a
test) can see the waits without spending them.
"""

from __future__ import annotations

import email.utils
import json
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from faceloop import __version__
from faceloop.collect.guard import AddressGuard, RefusedAddress

USER_AGENT = f"faceloop/{__version__} (+photo collection for a face dataset)"
REDIRECTS = 5
JSON_LIMIT = 20 * 2**20
#: what the first bytes of each accepted image format look like
_MAGIC: tuple[tuple[int, bytes], ...] = (
    (0, b"\xff\xd8\xff"),
    (0, b"\x89PNG\r\n\x1a\n"),
    (0, b"GIF87a"),
    (0, b"GIF89a"),
    (8, b"WEBP"),
    (4, b"ftyp"),
    (0, b"II*\x00"),
    (0, b"MM\x00*"),
    (0, b"BM"),
)


class FetchError(Exception):
    """A request failed for good (after its retries); the message says what and where."""


@dataclass(frozen=True)
class Fetched:
    url: str
    status: int
    headers: httpx.Headers
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FetchError(f"{self.url}: the answer is not valid JSON ({exc})") from None


@dataclass(frozen=True)
class FetchPolicy:
    timeout: float = 20.0
    retries: int = 3
    backoff: float = 1.0
    #: a wait longer than this (a rate limit reset an hour away) ends the run instead
    longest_wait: float = 900.0
    max_image_bytes: int = 50 * 2**20
    #: the least time between two requests to one host
    min_interval: float = 0.0


class Fetcher:
    def __init__(
        self,
        guard: AddressGuard | None = None,
        policy: FetchPolicy | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.guard = guard or AddressGuard()
        self.policy = policy or FetchPolicy()
        self.sleep = sleep
        self.clock = clock
        self.requests = 0
        self._not_before: dict[str, float] = {}
        self._lock = threading.Lock()
        self.client = httpx.Client(
            timeout=httpx.Timeout(self.policy.timeout, connect=min(10.0, self.policy.timeout)),
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
            transport=transport,
        )

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ the public calls

    def get_json(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Fetched:
        return self.request("GET", url, params=params, headers=headers, limit=JSON_LIMIT)

    def post_json(
        self, url: str, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> Fetched:
        return self.request("POST", url, json_body=body, headers=headers, limit=JSON_LIMIT)

    def get_text(self, url: str, headers: Mapping[str, str] | None = None) -> Fetched:
        return self.request("GET", url, headers=headers, limit=JSON_LIMIT)

    def image(self, url: str) -> bytes:
        """An image's bytes, refused unless its type and first bytes say it is one."""
        fetched = self.request("GET", url, limit=self.policy.max_image_bytes)
        kind = fetched.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind and not kind.startswith("image/") and kind != "application/octet-stream":
            raise FetchError(f"{url}: not an image (the server says {kind})")
        if not looks_like_image(fetched.body):
            raise FetchError(f"{url}: not an image (its bytes are no image format)")
        return fetched.body

    # ------------------------------------------------------------------ the machinery

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        limit: int = JSON_LIMIT,
    ) -> Fetched:
        """One request, retried on timeouts, server errors and 429, redirects followed by
        hand; a status >= 400 after that is returned for the caller to read (401, 404)."""
        attempt = 0
        while True:
            try:
                fetched = self._follow(method, url, params, json_body, headers, limit)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                if attempt >= self.policy.retries:
                    raise FetchError(f"{url}: {_words(exc)}") from None
                self._backoff(attempt)
                attempt += 1
                continue
            if fetched.status == 429 or fetched.status >= 500:
                if attempt >= self.policy.retries:
                    what = "rate limited" if fetched.status == 429 else "server error"
                    raise FetchError(f"{url}: {what} ({fetched.status}) after {attempt} retries")
                wait = retry_after(fetched.headers, self.clock())
                if wait is None:
                    self._backoff(attempt)
                else:
                    self._wait(urlsplit(fetched.url).netloc, wait)
                attempt += 1
                continue
            return fetched

    def _follow(self, method, url, params, json_body, headers, limit) -> Fetched:
        for _ in range(REDIRECTS + 1):
            try:
                self.guard.check(url)
            except RefusedAddress as exc:
                raise FetchError(str(exc)) from None
            host = urlsplit(url).netloc
            self._respect(host)
            request = self.client.build_request(
                method, url, params=params, json=json_body, headers=dict(headers or {})
            )
            self.requests += 1
            response = self.client.send(request, stream=True)
            try:
                self._learn_limits(host, response.headers)
                if response.is_redirect and "location" in response.headers:
                    url = urljoin(str(response.url), response.headers["location"])
                    if response.status_code in (301, 302, 303):
                        method, json_body = "GET", None
                    params = None
                    continue
                body = _read_limited(response, limit)
                return Fetched(str(response.url), response.status_code, response.headers, body)
            finally:
                response.close()
        raise FetchError(f"{url}: more than {REDIRECTS} redirects")

    def _respect(self, host: str) -> None:
        with self._lock:
            now = self.clock()
            wait = self._not_before.get(host, 0.0) - now
            self._not_before[host] = max(now, now + wait) + self.policy.min_interval
        if wait > 0:
            self._wait(host, wait)

    def _wait(self, host: str, seconds: float) -> None:
        if seconds > self.policy.longest_wait:
            raise FetchError(
                f"{host} asks to wait {seconds / 60:.0f} minutes (rate limit); the next run "
                "goes on from here"
            )
        self.sleep(max(0.0, seconds))

    def _backoff(self, attempt: int) -> None:
        base = self.policy.backoff * 2**attempt
        self.sleep(base * random.uniform(0.5, 1.5))

    def _learn_limits(self, host: str, headers: httpx.Headers) -> None:
        reset = rate_limit_reset(headers, self.clock())
        if reset is not None:
            with self._lock:
                self._not_before[host] = max(self._not_before.get(host, 0.0), reset)


def _read_limited(response: httpx.Response, limit: int) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise FetchError(
            f"{response.url}: {int(declared) / 2**20:.0f} MB is over the "
            f"{limit / 2**20:.0f} MB limit"
        )
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise FetchError(f"{response.url}: over the {limit / 2**20:.0f} MB limit")
        chunks.append(chunk)
    return b"".join(chunks)


def looks_like_image(data: bytes) -> bool:
    return any(data[at : at + len(magic)] == magic for at, magic in _MAGIC)


def retry_after(headers: httpx.Headers, now: float) -> float | None:
    """Seconds to wait before retrying, from `Retry-After` (seconds or an HTTP date) or, on
    a 429 without it, from the API's rate-limit reset."""
    value = headers.get("retry-after")
    if value:
        if value.strip().isdigit():
            return float(value)
        try:
            return email.utils.parsedate_to_datetime(value).timestamp() - now
        except (TypeError, ValueError):
            return None
    reset = _reset_time(headers, now)
    return None if reset is None else reset - now


def rate_limit_reset(headers: httpx.Headers, now: float) -> float | None:
    """When a host that says it has no requests left will take them again (a time)."""
    for prefix in ("x-ratelimit-", "ratelimit-", "x-rate-limit-"):
        remaining = headers.get(prefix + "remaining")
        if remaining is not None and remaining.strip() in ("0", "0.0"):
            return _reset_time(headers, now)
    return None


def _reset_time(headers: httpx.Headers, now: float) -> float | None:
    for name in ("x-ratelimit-reset", "ratelimit-reset", "x-rate-limit-reset"):
        value = headers.get(name)
        if not value:
            continue
        value = value.strip()
        try:
            number = float(value)
        except ValueError:
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                continue
        # an epoch time (X, Bluesky's spec) or seconds from now (IETF RateLimit drafts)
        return number if number > 1e9 else now + number
    return None


def _words(exc: Exception) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "no answer in time (timeout)"
    return f"cannot connect ({type(exc).__name__}: {exc})"


def utc_datetime(value: str | None) -> datetime | None:
    """A source's ISO 8601 moment as naive UTC, as the database keeps moments."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment
