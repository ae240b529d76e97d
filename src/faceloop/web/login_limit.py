"""How many password guesses a login accepts, from where: pure bookkeeping, no I/O.

A guess is counted *before* its password is checked, under a lock, so a hundred guesses sent at
once are counted one by one instead of all slipping through while the first is still being
checked. Two limits apply:

- per source address (the main defence): a few free failures, then each further failure
  doubles a lock-out that starts at one second and stops at fifteen minutes; a success from
  the address forgets its failures, and so does a day without one. An IPv6 source counts by
  its /64, which one machine usually owns whole.
- per account (a ceiling against guesses spread over many addresses): at most a few dozen
  checked guesses a minute. The window is short on purpose, so that one abusive address behind
  the same proxy as the rightful user (already slowed by its own back-off) cannot keep the
  account closed for minutes.

An attempt the limits refuse is not checked and does not lengthen any lock-out: the answer
(429) says how long to wait.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

FREE_FAILURES = 5
FIRST_LOCKOUT = 1.0
MAX_LOCKOUT = 15 * 60.0
ACCOUNT_ATTEMPTS = 30
ACCOUNT_WINDOW = 60.0
#: a source's failures are forgotten this long after its last one
FORGET_AFTER = 24 * 3600.0
#: beyond this many sources remembered, the ones quiet longest are forgotten first
MAX_SOURCES = 50_000


@dataclass(frozen=True)
class Attempt:
    """A guess allowed through: report how it went with `LoginLimiter.finish`."""

    source: str
    account: str


@dataclass(frozen=True)
class Refusal:
    """A guess not allowed now: `retry_after` seconds to wait, `reason` what was exceeded."""

    retry_after: float
    reason: str

    @property
    def retry_after_header(self) -> str:
        """The whole seconds for a Retry-After header (at least one)."""
        return str(max(1, math.ceil(self.retry_after)))

    @property
    def message(self) -> str:
        wait = self.retry_after_header
        if self.reason == "account":
            return f"too many login attempts for this account; try again in {wait} s"
        return f"too many failed logins from your address; try again in {wait} s"


@dataclass
class _Source:
    failures: int = 0
    locked_until: float = 0.0
    last_failure: float = 0.0


@dataclass
class LoginLimiter:
    """The login limits of one server process; thread-safe, `clock` injectable for tests."""

    free_failures: int = FREE_FAILURES
    first_lockout: float = FIRST_LOCKOUT
    max_lockout: float = MAX_LOCKOUT
    account_attempts: int = ACCOUNT_ATTEMPTS
    account_window: float = ACCOUNT_WINDOW
    clock: Callable[[], float] = time.monotonic
    _sources: dict[str, _Source] = field(default_factory=dict, repr=False)
    _accounts: dict[str, deque[float]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def begin(self, address: str, account: str) -> Attempt | Refusal:
        """Count a guess from `address` at `account` as a failure until `finish` says
        otherwise, or refuse it without counting when a limit is reached."""
        source_key = source_of(address)
        with self._lock:
            now = self.clock()
            source = self._sources.get(source_key)
            if source is not None and now - source.last_failure > FORGET_AFTER:
                source.failures = 0
            if source is not None and now < source.locked_until:
                return Refusal(source.locked_until - now, "address")
            recent = self._accounts.setdefault(account, deque())
            while recent and now - recent[0] >= self.account_window:
                recent.popleft()
            if len(recent) >= self.account_attempts:
                return Refusal(recent[0] + self.account_window - now, "account")
            recent.append(now)
            if source is None:
                self._forget_old(now)
                source = self._sources[source_key] = _Source()
            source.failures += 1
            source.last_failure = now
            beyond = source.failures - self.free_failures
            if beyond >= 0:
                source.locked_until = now + min(
                    self.max_lockout, self.first_lockout * 2 ** min(beyond, 64)
                )
            return Attempt(source_key, account)

    def finish(self, attempt: Attempt, ok: bool) -> None:
        """A right password forgets the source's failures; a wrong one stays counted."""
        if not ok:
            return
        with self._lock:
            self._sources.pop(attempt.source, None)

    def _forget_old(self, now: float) -> None:
        if len(self._sources) < MAX_SOURCES:
            return
        for key, source in list(self._sources.items()):
            if now >= source.locked_until and now - source.last_failure > FORGET_AFTER:
                del self._sources[key]
        if len(self._sources) >= MAX_SOURCES:
            quiet_first = sorted(self._sources, key=lambda k: self._sources[k].last_failure)
            for key in quiet_first[: len(self._sources) - MAX_SOURCES + 1]:
                del self._sources[key]


def source_of(address: str) -> str:
    """The key an address counts under: itself, or for IPv6 its /64 network."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
