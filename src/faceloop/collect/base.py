"""What every kind of source gives the collector, and what the collector asks of it.

A kind is a module in `faceloop.collect.sources` with a `KIND` object: it checks a source's
settings when the source is added, and it yields pages of posts newer than a cursor. The cursor is
the kind's own text (an id, a date, an ETag); the run stores it after each page is stored, so a
run killed halfway goes on from the last whole page. Kinds know nothing of the database: they
take plain settings and give plain posts.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from faceloop.collect.fetch import Fetcher


class SourceError(Exception):
    """A source cannot be added or read; the message says why in words, and what to do."""


def site_address(value: str, what: str, example: str) -> str:
    """`scheme://host[:port]` of a server given as a host or a URL (https when none is said);
    `what` and `example` name it in the error ("an instance", "https://mstdn.jp")."""
    url = value if "://" in value else f"https://{value}"
    parts = urlsplit(url)
    if not parts.hostname:
        raise SourceError(f"{value!r} is not {what} address ({example})")
    return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True)
class ImageLink:
    """An image of a post, by address (a folder source gives a local path instead)."""

    url: str
    alt: str = ""


@dataclass(frozen=True)
class FetchedPost:
    """A post as the source tells it: where it is, who posted it, when, and its images."""

    #: unique within its source, stable across runs (a status id, a file's path, a feed entry id)
    external_id: str
    images: tuple[ImageLink, ...]
    url: str | None = None
    #: the posting account's handle as the source spells it (`@aya@example.social`), if any
    author: str | None = None
    #: the author's display name, when the source gives one
    author_name: str | None = None
    posted_at: datetime | None = None
    text: str = ""


@dataclass(frozen=True)
class Page:
    """Posts fetched together, and the cursor to store once they are stored."""

    posts: tuple[FetchedPost, ...]
    cursor: str | None
    #: requests this page cost (X bills reads per post)
    reads: int = 0


@dataclass(frozen=True)
class SourceContext:
    """What a kind may use while it reads: the fetcher, the secrets it names, and where a
    folder source's relative paths start."""

    fetcher: Fetcher
    secrets: Mapping[str, str] = field(default_factory=dict)


class SourceKind(Protocol):
    #: the word `faceloop source add` takes
    name: str
    #: one line for `--help`
    summary: str
    #: examples for `faceloop source add --help`
    examples: tuple[str, ...]

    def settings(self, target: str, options: Mapping[str, Any]) -> dict[str, Any]:
        """The settings stored for a new source of this kind, checked (SourceError if not)."""
        ...

    def describe(self, settings: Mapping[str, Any]) -> str:
        """The source's name: unique among sources of this kind."""
        ...

    def secrets_needed(self, settings: Mapping[str, Any]) -> tuple[str, ...]:
        """Names of the secrets a read needs (read from the secrets file or the environment)."""
        ...

    def pages(
        self, settings: Mapping[str, Any], cursor: str | None, context: SourceContext
    ) -> Iterator[Page]:
        """Pages of posts newer than `cursor`, oldest page first where the source allows it."""
        ...
