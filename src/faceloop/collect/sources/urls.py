"""A URL list: a text file of image or page addresses, one a line, `#` starting a comment.

    faceloop source add urls ~/idols/urls.txt

An image address is the image. A page's images are what it names for sharing, its
`og:image` (every one of them; the Open Graph protocol allows several) or, lacking one, its
`twitter:image`: the picture a link preview would show. Each address is one post, its
`external_id` the address itself. The file grows as the user adds lines, anywhere, so the cursor
is the set of (hashes of) the addresses already done, stored after every page of them; a run
killed halfway redoes at most one page. An address that cannot be read (gone, refused, neither
page nor image) is not marked done: it is tried again next run, and the run ends with an error
that names it, so the user can fix or drop the line.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from faceloop.collect.base import FetchedPost, ImageLink, Page, SourceContext, SourceError
from faceloop.collect.fetch import Fetched, FetchError, utc_datetime
from faceloop.collect.text import plain_text

#: addresses a page (and a stored cursor)
PAGE = 20
#: failures named in the run's error; the rest are counted
NAMED = 5
_IMAGE_ENDINGS = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".heic", ".heif", ".avif", ".bmp")
_PAGE_TYPES = ("text/html", "application/xhtml+xml")
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)


def _url_hash(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def addresses(text: str) -> list[str]:
    """The file's addresses in order, once each: blank lines and `#` comments left out, and a
    comment after an address (` # …`) too."""
    found: dict[str, None] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        line = re.split(r"\s+#", line, maxsplit=1)[0].strip()
        found.setdefault(line, None)
    return list(found)


@dataclass(frozen=True)
class UrlList:
    name: str = "urls"
    summary: str = "a text file of image or page URLs (a page gives its og:image)"
    examples: tuple[str, ...] = ("faceloop source add urls ~/idols/urls.txt",)

    def settings(self, target: str, options: Mapping[str, Any]) -> dict[str, Any]:
        if not (target or "").strip():
            raise SourceError("a URL list source needs the path of its text file")
        path = Path(target).expanduser().resolve()
        if not path.is_file():
            raise SourceError(f"{path} is not a file (one URL a line, # for comments)")
        return {"path": str(path)}

    def describe(self, settings: Mapping[str, Any]) -> str:
        return str(settings["path"])

    def secrets_needed(self, settings: Mapping[str, Any]) -> tuple[str, ...]:
        return ()

    def pages(
        self, settings: Mapping[str, Any], cursor: str | None, context: SourceContext
    ) -> Iterator[Page]:
        path = Path(settings["path"])
        try:
            text = path.read_text(encoding="utf-8-sig", errors="replace")
        except OSError as exc:
            raise SourceError(f"cannot read the URL list {path}: {exc.strerror}") from None
        done = _cursor(cursor)
        todo = [url for url in addresses(text) if _url_hash(url) not in done]
        failed: list[str] = []
        for start in range(0, len(todo), PAGE):
            posts = []
            for url in todo[start : start + PAGE]:
                try:
                    post = _post(url, context)
                except SourceError as exc:
                    failed.append(str(exc))
                    continue
                done.add(_url_hash(url))
                if post is not None:
                    posts.append(post)
            yield Page(tuple(posts), json.dumps({"done": sorted(done)}, separators=(",", ":")))
        if failed:
            named = "; ".join(failed[:NAMED])
            more = f" (and {len(failed) - NAMED} more)" if len(failed) > NAMED else ""
            raise SourceError(
                f"{len(failed)} of {len(todo)} addresses in {path.name} could not be read, and are "
                f"tried again next run: {named}{more}"
            )


def _cursor(cursor: str | None) -> set[str]:
    """The hashes of the addresses done; an unreadable cursor starts the list over."""
    if not cursor:
        return set()
    try:
        found = json.loads(cursor)
    except json.JSONDecodeError:
        return set()
    done = found.get("done") if isinstance(found, dict) else None
    return {h for h in done if isinstance(h, str)} if isinstance(done, list) else set()


def _post(url: str, context: SourceContext) -> FetchedPost | None:
    """The address as a post (None: a page without a picture), or a SourceError saying why it
    cannot be read."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceError(f"{url!r} is not an http(s) address")
    if parts.path.lower().endswith(_IMAGE_ENDINGS):
        return FetchedPost(external_id=url, images=(ImageLink(url),), url=url)
    headers = {"Accept": "text/html,application/xhtml+xml;q=0.9,image/*;q=0.8,*/*;q=0.5"}
    try:
        fetched = context.fetcher.get_text(url, headers)
    except FetchError as exc:
        raise SourceError(str(exc)) from None
    if fetched.status >= 400:
        raise SourceError(f"{url} answered {fetched.status}")
    kind = fetched.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind.startswith("image/"):
        return FetchedPost(external_id=url, images=(ImageLink(fetched.url),), url=url)
    if kind not in _PAGE_TYPES:
        raise SourceError(f"{url} is neither a page nor an image ({kind or 'no type'})")
    meta = _PageMeta.read(_decoded(fetched))
    shared = meta.values("og:image", "og:image:url") or meta.values(
        "twitter:image", "twitter:image:src"
    )
    images = tuple(
        dict.fromkeys(
            address
            for address in (urljoin(fetched.url, value) for value in shared)
            if urlsplit(address).scheme in ("http", "https")
        )
    )
    if not images:
        return None
    alt = (meta.values("og:image:alt") or [""])[0]
    title = (meta.values("og:title", "twitter:title") or [meta.title])[0]
    return FetchedPost(
        external_id=url,
        images=tuple(ImageLink(address, alt) for address in images),
        url=url,
        author_name=(meta.values("og:site_name") or [None])[0],
        posted_at=utc_datetime((meta.values("article:published_time") or [None])[0]),
        text=plain_text(title),
    )


def _decoded(fetched: Fetched) -> str:
    """The page as text, in the charset its header or its <meta> names (Japanese pages often
    are Shift_JIS or EUC-JP)."""
    declared = re.search(r"charset=([^;\s]+)", fetched.headers.get("content-type", ""), re.I)
    sniffed = _CHARSET.search(fetched.body[:4096])
    for name in (
        declared.group(1).strip("\"'") if declared else None,
        sniffed.group(1).decode("ascii", "replace") if sniffed else None,
    ):
        if not name:
            continue
        try:
            return fetched.body.decode(codecs.lookup(name).name, "replace")
        except LookupError:
            continue
    return fetched.body.decode("utf-8", "replace")


class _PageMeta(HTMLParser):
    """A page's `<meta property|name=… content=…>` tags, in order, and its `<title>`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: list[tuple[str, str]] = []
        self.title = ""
        self._in_title = False

    @classmethod
    def read(cls, page: str) -> _PageMeta:
        parser = cls()
        # the tags that matter are in the head; a huge body need not be read through
        parser.feed(page[:500_000])
        parser.close()
        return parser

    def values(self, *names: str) -> list[str]:
        return [value for key, value in self.meta if key in names and value.strip()]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        if tag != "meta":
            return
        values = {name: (value or "") for name, value in attrs}
        key = (values.get("property") or values.get("name") or "").strip().lower()
        if key and "content" in values:
            self.meta.append((key, values["content"].strip()))

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title and len(self.title) < 500:
            self.title += data


KIND = UrlList()
