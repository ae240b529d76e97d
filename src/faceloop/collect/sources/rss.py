"""RSS / Atom: a blog's or a site's feed, the images of its entries (idols' blogs publish one, e.g.
Ameba's `https://rssblog.ameba.jp/<id>/rss20.xml`).

    faceloop source add rss https://rssblog.ameba.jp/aya-blog/rss20.xml

The feed is fetched here (so it goes through the fetcher's address guard, limits and rate
manners) with a conditional request: the cursor keeps the feed's `ETag` and `Last-Modified`, and
a feed that has not changed answers 304 and costs nothing. feedparser reads the document. A feed
shows a window of its newest entries and has no paging, so the cursor also keeps (hashes of) the
ids of the entries already seen: an entry is new when its id is not among them. The first run
takes the newest `backfill` entries. An entry's images are its image enclosures, its
`media:content` and the `<img>` of its content and summary; `media:thumbnail` only when it has
nothing else (a thumbnail is the same photo again, smaller).
"""

from __future__ import annotations

import calendar
import hashlib
import json
import xml.sax
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from faceloop.collect.base import FetchedPost, ImageLink, Page, SourceContext, SourceError
from faceloop.collect.fetch import Fetched
from faceloop.collect.text import plain_text

BACKFILL = 200
#: the most entry ids a cursor remembers (a feed's window is rarely more than a few dozen)
REMEMBERED = 2000
#: an <img> declared smaller than this is an emoji, an icon or a tracking pixel
SMALLEST = 64
_IMAGE_ENDINGS = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".heic", ".heif", ".avif", ".bmp")
_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml")
_ENDINGS = (b"</rss>", b"</feed>", b"</rdf:rdf>")


def _feed_url(target: str) -> str:
    url = (target or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceError(f"{target!r} is not a feed address (https://…/rss20.xml)")
    return url


def _id_hash(entry_id: str) -> str:
    return hashlib.sha256(entry_id.encode()).hexdigest()[:16]


def _looks_like_image(url: str) -> bool:
    return urlsplit(url).path.lower().endswith(_IMAGE_ENDINGS)


@dataclass(frozen=True)
class Feed:
    name: str = "rss"
    summary: str = "the images of an RSS or Atom feed's entries (a blog)"
    examples: tuple[str, ...] = (
        "faceloop source add rss https://rssblog.ameba.jp/aya-blog/rss20.xml",
        "faceloop source add rss https://example.com/feed.atom --backfill 50",
    )

    def settings(self, target: str, options: Mapping[str, Any]) -> dict[str, Any]:
        try:
            backfill = int(options.get("backfill") or BACKFILL)
        except (TypeError, ValueError):
            raise SourceError(f"backfill is a whole number, not {options['backfill']!r}") from None
        return {"url": _feed_url(target), "backfill": max(1, backfill)}

    def describe(self, settings: Mapping[str, Any]) -> str:
        return str(settings["url"])

    def secrets_needed(self, settings: Mapping[str, Any]) -> tuple[str, ...]:
        return ()

    def pages(
        self, settings: Mapping[str, Any], cursor: str | None, context: SourceContext
    ) -> Iterator[Page]:
        url = settings["url"]
        known = _cursor(cursor)
        headers = {"Accept": ", ".join((*_FEED_TYPES, "application/xml;q=0.9", "*/*;q=0.5"))}
        if known.get("etag"):
            headers["If-None-Match"] = known["etag"]
        if known.get("modified"):
            headers["If-Modified-Since"] = known["modified"]
        fetched = context.fetcher.get_text(url, headers)
        if fetched.status == 304:
            return
        parsed = _parse(fetched, url)
        entries = [e for e in parsed.entries if _entry_id(e)]
        seen = set(known.get("seen") or ())
        if cursor is None:
            entries.sort(key=lambda e: _moment(e) or datetime.min, reverse=True)
            entries = entries[: int(settings.get("backfill", BACKFILL))]
        else:
            entries = [e for e in entries if _id_hash(_entry_id(e)) not in seen]
        posts = tuple(
            post for post in (_post(e, parsed, fetched.url) for e in entries) if post is not None
        )
        current = [_id_hash(_entry_id(e)) for e in parsed.entries if _entry_id(e)]
        # the ids still in the feed, then the older ones this run did not see again
        remembered = list(dict.fromkeys([*current, *(known.get("seen") or ())]))[:REMEMBERED]
        dates = [d for d in (_moment(e) for e in parsed.entries) if d is not None]
        newest = max(dates).isoformat() if dates else known.get("newest")
        state = {
            "etag": fetched.headers.get("etag"),
            "modified": fetched.headers.get("last-modified"),
            "newest": newest,
            "seen": remembered,
        }
        yield Page(posts, json.dumps(state, separators=(",", ":")))


def _cursor(cursor: str | None) -> dict[str, Any]:
    """The stored state; an unreadable one is a fresh start rather than a broken source."""
    if not cursor:
        return {}
    try:
        found = json.loads(cursor)
    except json.JSONDecodeError:
        return {}
    return found if isinstance(found, dict) else {}


def _parse(fetched: Fetched, url: str) -> Any:
    if fetched.status in (401, 403):
        raise SourceError(f"{url} needs a login ({fetched.status}); faceloop reads public feeds")
    if fetched.status in (404, 410):
        raise SourceError(f"there is no feed at {url} ({fetched.status}): check the address")
    if fetched.status >= 400:
        raise SourceError(f"{url}: the server answered {fetched.status}")
    headers = {
        "content-type": fetched.headers.get("content-type", "application/xml"),
        "content-location": fetched.url,
    }
    parsed = feedparser.parse(fetched.body, response_headers=headers)
    if not parsed.get("version") and not parsed.entries:
        kind = headers["content-type"].split(";")[0].strip() or "no type"
        found = _FeedLinks.find(fetched.body, fetched.url)
        hint = f"; the page names its feed: {found[0]}" if found else ""
        raise SourceError(f"{url} is not an RSS or Atom feed (the server sent {kind}){hint}")
    problem = parsed.get("bozo_exception")
    if isinstance(problem, xml.sax.SAXParseException) and not any(
        ending in fetched.body[-512:].lower() for ending in _ENDINGS
    ):
        raise SourceError(
            f"{url}: the feed is cut off ({problem.getMessage()} at line "
            f"{problem.getLineNumber()}); the next run tries again"
        )
    return parsed


def _entry_id(entry: Any) -> str:
    for key in ("id", "link"):
        value = entry.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _moment(entry: Any) -> datetime | None:
    """When the entry was published (or, lacking that, updated), as naive UTC."""
    for key in ("published_parsed", "updated_parsed"):
        value = entry.get(key)
        if value:
            return datetime.fromtimestamp(calendar.timegm(value), UTC).replace(tzinfo=None)
    return None


def _post(entry: Any, parsed: Any, feed_url: str) -> FetchedPost | None:
    base = entry.get("link") or feed_url
    images = _images(entry, base)
    if not images:
        return None
    feed = parsed.get("feed") or {}
    title = plain_text(entry.get("title"))
    summary = plain_text(entry.get("summary"))
    text = "\n".join(part for part in (title, summary) if part)[:2000]
    return FetchedPost(
        external_id=_entry_id(entry),
        images=images,
        url=entry.get("link") or None,
        # the account is the blog: its site's address, or the feed's own
        author=feed.get("link") or feed_url,
        author_name=entry.get("author") or feed.get("title") or None,
        posted_at=_moment(entry),
        text=text,
    )


def _images(entry: Any, base: str) -> tuple[ImageLink, ...]:
    found: dict[str, str] = {}

    def add(url: Any, alt: str = "") -> None:
        if not isinstance(url, str) or not url.strip():
            return
        address = urljoin(base, url.strip())
        if urlsplit(address).scheme in ("http", "https"):
            found.setdefault(address, alt)

    for enclosure in entry.get("enclosures") or []:
        kind = str(enclosure.get("type") or "")
        href = enclosure.get("href") or enclosure.get("url")
        if kind.startswith("image/") or (not kind and _looks_like_image(str(href or ""))):
            add(href)
    for media in entry.get("media_content") or []:
        kind, medium = str(media.get("type") or ""), str(media.get("medium") or "")
        url = str(media.get("url") or "")
        if (
            medium == "image"
            or kind.startswith("image/")
            or (not kind and not medium and _looks_like_image(url))
        ):
            add(url)
    markup = [c.get("value") for c in entry.get("content") or []]
    markup.append(entry.get("summary"))
    for text in markup:
        if isinstance(text, str) and "<img" in text.lower():
            for src, alt in _Images.find(text):
                add(src, alt)
    if not found:
        for thumbnail in entry.get("media_thumbnail") or []:
            add(thumbnail.get("url"))
    return tuple(ImageLink(url, alt) for url, alt in found.items())


class _Images(HTMLParser):
    """The `<img src>` of an entry's HTML, without the emoji and tracking pixels."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str]] = []

    @classmethod
    def find(cls, markup: str) -> list[tuple[str, str]]:
        parser = cls()
        parser.feed(markup)
        parser.close()
        return parser.found

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "img":
            return
        values = {name: value or "" for name, value in attrs}
        for size in (values.get("width", ""), values.get("height", "")):
            if size.isdigit() and int(size) < SMALLEST:
                return
        if values.get("src"):
            self.found.append((values["src"], values.get("alt", "")))


class _FeedLinks(HTMLParser):
    """A web page's `<link rel="alternate" type="application/rss+xml">`: where its feed is."""

    def __init__(self, base: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base
        self.found: list[str] = []

    @classmethod
    def find(cls, body: bytes, base: str) -> list[str]:
        parser = cls(base)
        parser.feed(body[:200_000].decode("utf-8", "replace"))
        parser.close()
        return parser.found

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: (value or "") for name, value in attrs}
        if (
            tag == "link"
            and "alternate" in values.get("rel", "").lower().split()
            and values.get("type", "").lower() in _FEED_TYPES
            and values.get("href")
        ):
            self.found.append(urljoin(self.base, values["href"]))


KIND = Feed()
