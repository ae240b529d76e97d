"""Bluesky: one account's posts with images, or a hashtag's posts (the search needs a login).

    faceloop source add bluesky aya-idol.bsky.social
    faceloop source add bluesky '#CHEERZ' --login me.bsky.social

An account's feed is public (`app.bsky.feed.getAuthorFeed` with `filter=posts_with_media`, read
from the public AppView). A hashtag search (`app.bsky.feed.searchPosts` with `tag`) needs a
login: `com.atproto.server.createSession` with the login's handle and an app password, kept as
the secret `bluesky:<login>`; a run logs in once and reads through the login's service.

Bluesky pages only backwards (`cursor` goes to older posts), so the cursor stored is the newest
post read, `<time> <at-uri>`: a first run reads back `backfill` posts; later runs read newest
first until they meet that post (or anything older) and give the new cursor once, at the end.
A run stopped halfway therefore reads its posts again next time; the run stores each once.
API: https://docs.bsky.app/docs/api/app-bsky-feed-get-author-feed and
https://docs.bsky.app/docs/api/app-bsky-feed-search-posts
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from faceloop.collect.base import (
    FetchedPost,
    ImageLink,
    Page,
    SourceContext,
    SourceError,
    site_address,
)
from faceloop.collect.fetch import Fetched, FetchError, utc_datetime

PAGE = 100
BACKFILL = 200
TEXT_LIMIT = 2000
APPVIEW = "https://public.api.bsky.app"
SERVICE = "https://bsky.social"
IMAGES = "app.bsky.embed.images#view"
WITH_MEDIA = "app.bsky.embed.recordWithMedia#view"
_HANDLE = re.compile(r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
_DID = re.compile(r"^did:[a-z]+:[a-zA-Z0-9._:%-]+$")


def _actor(value: str, what: str) -> str:
    """A handle (`aya.bsky.social`, `@` optional) or a DID, spelled as the API takes it."""
    actor = value.strip().lstrip("@")
    if _DID.match(actor):
        return actor
    actor = actor.lower()
    if not _HANDLE.match(actor):
        raise SourceError(f"{value!r} is not a Bluesky {what} (a handle like aya.bsky.social)")
    return actor


def _elsewhere(address: str, usual: str) -> str:
    return "" if address == usual else f" on {urlsplit(address).netloc}"


def _sort_time(post: dict) -> datetime | None:
    """When Bluesky files a post in a feed: the earlier of its claimed and indexed times."""
    record = post.get("record") if isinstance(post.get("record"), dict) else {}
    times = (record.get("createdAt"), post.get("indexedAt"))
    known = [t for t in (utc_datetime(_text(v)) for v in times) if t is not None]
    return min(known) if known else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Marker:
    """The newest post a run read: where the next run stops."""

    time: datetime | None
    uri: str

    def text(self) -> str:
        return f"{self.time.isoformat() if self.time else '-'} {self.uri}"

    @classmethod
    def parse(cls, cursor: str) -> Marker:
        moment, _, uri = cursor.partition(" ")
        if not uri:
            return cls(None, cursor)
        try:
            return cls(None if moment == "-" else datetime.fromisoformat(moment), uri)
        except ValueError:
            return cls(None, uri)

    def reached(self, post: dict) -> bool:
        if post.get("uri") == self.uri:
            return True
        moment = _sort_time(post)
        return self.time is not None and moment is not None and moment < self.time


@dataclass(frozen=True)
class Bluesky:
    name: str = "bluesky"
    summary: str = "an account's posts with images, or a hashtag (with a login) on Bluesky"
    examples: tuple[str, ...] = (
        "faceloop source add bluesky aya-idol.bsky.social",
        "faceloop source add bluesky '#CHEERZ' --login me.bsky.social",
    )

    def settings(self, target: str, options: Mapping[str, Any]) -> dict[str, Any]:
        """Check what `source add` was given: an account, or a hashtag with a login."""
        target = (target or "").strip()
        tag, account = options.get("tag"), options.get("account")
        if target.startswith("#"):
            tag = tag or target
        elif target:
            account = account or target
        if bool(tag) == bool(account):
            raise SourceError("a Bluesky source follows either an account or a #hashtag")
        backfill = int(options.get("backfill") or BACKFILL)
        if backfill < 1:
            raise SourceError("--backfill is the number of posts a first run reads (1 or more)")
        found: dict[str, Any] = {
            "appview": site_address(
                str(options.get("appview") or APPVIEW), "a Bluesky AppView", SERVICE
            ),
            "service": site_address(
                str(options.get("service") or SERVICE), "a Bluesky service", SERVICE
            ),
            "backfill": backfill,
        }
        login = options.get("login")
        if login:
            found["login"] = _actor(str(login), "login")
        if tag:
            found["tag"] = str(tag).strip().lstrip("#")
            if not found["tag"] or any(c.isspace() for c in found["tag"]):
                raise SourceError(f"{tag!r} is not a hashtag (CHEERZ)")
            if not login:
                raise SourceError(
                    "a Bluesky hashtag search needs a login: add --login your.handle and store "
                    "an app password for it with `faceloop source secret bluesky:your.handle`"
                )
        else:
            found["account"] = _actor(str(account), "account")
        return found

    def describe(self, settings: Mapping[str, Any]) -> str:
        if "tag" in settings:
            return f"#{settings['tag']}{_elsewhere(settings['service'], SERVICE)}"
        return f"@{settings['account']}{_elsewhere(settings['appview'], APPVIEW)}"

    def secrets_needed(self, settings: Mapping[str, Any]) -> tuple[str, ...]:
        """The login's app password, when the source logs in (a hashtag search must)."""
        return (f"bluesky:{settings['login']}",) if settings.get("login") else ()

    def pages(
        self, settings: Mapping[str, Any], cursor: str | None, context: SourceContext
    ) -> Iterator[Page]:
        """Pages of posts with images newer than `cursor`, newest first, then the new cursor
        (see the module's docstring)."""
        base, headers = settings["appview"], {}
        if settings.get("login"):
            base = settings["service"]
            headers = {"Authorization": f"Bearer {self._login(settings, context)}"}
        if "tag" in settings:
            url = f"{base}/xrpc/app.bsky.feed.searchPosts"
            tag = settings["tag"]
            params: dict[str, Any] = {"q": f"#{tag}", "tag": tag, "sort": "latest", "limit": PAGE}
        else:
            url = f"{base}/xrpc/app.bsky.feed.getAuthorFeed"
            params = {"actor": settings["account"], "filter": "posts_with_media", "limit": PAGE}

        stop = Marker.parse(cursor) if cursor else None
        newest: Marker | None = None
        read, seen, page_cursor = 0, set(), None
        backfill = int(settings.get("backfill", BACKFILL))
        while True:
            answer = context.fetcher.get_json(
                url, {**params, "cursor": page_cursor} if page_cursor else params, headers
            )
            found, page_cursor = _feed(answer, settings)
            fresh, met = [], False
            for post in found:
                if stop and stop.reached(post):
                    met = True
                    break
                fresh.append(post)
            for post in fresh:
                moment = _sort_time(post)
                if newest is None or (moment and (newest.time is None or moment > newest.time)):
                    newest = Marker(moment, post["uri"])
            read += len(fresh)
            if fresh:
                yield Page(_posts(fresh), None, reads=1)
            if met or not page_cursor or page_cursor in seen or not found:
                break
            if stop is None and read >= backfill:
                break
            seen.add(page_cursor)
        if newest is not None:
            yield Page((), newest.text())

    def _login(self, settings: Mapping[str, Any], context: SourceContext) -> str:
        login, service = settings["login"], settings["service"]
        secret = self.secrets_needed(settings)[0]
        password = context.secrets.get(secret)
        if not password:
            raise SourceError(
                f"logging in to Bluesky as @{login} needs its app password: create one "
                f"(Settings > Privacy and security > App passwords) and store it with "
                f"`faceloop source secret {secret}`"
            )
        answer = context.fetcher.post_json(
            f"{service}/xrpc/com.atproto.server.createSession",
            {"identifier": login, "password": password},
        )
        error, message = _error(answer)
        if answer.status == 401 and error == "AuthFactorTokenRequired":
            raise SourceError(
                f"Bluesky asks @{login} for a sign-in code: use an app password, not the "
                f"account's password (store it with `faceloop source secret {secret}`)"
            )
        if answer.status in (400, 401):
            raise SourceError(
                f"Bluesky refused the login as @{login} ({answer.status}"
                f"{': ' + message if message else ''}): check the app password stored with "
                f"`faceloop source secret {secret}`"
            )
        session = _checked(answer)
        token = session.get("accessJwt") if isinstance(session, dict) else None
        if not isinstance(token, str) or not token:
            raise SourceError(f"{answer.url}: the login answered without an access token")
        return token


def _json(answer: Fetched) -> Any:
    try:
        return answer.json()
    except FetchError as exc:
        raise SourceError(f"{exc} — is this a Bluesky service?") from None


def _error(answer: Fetched) -> tuple[str | None, str | None]:
    """An XRPC error body, `{"error": name, "message": text}`, as (name, text)."""
    if answer.status < 400:
        return None, None
    try:
        found = answer.json()
    except FetchError:
        return None, None
    if not isinstance(found, dict):
        return None, None
    return _text(found.get("error")), _text(found.get("message"))


def _checked(answer: Fetched, settings: Mapping[str, Any] | None = None) -> Any:
    if answer.status < 400:
        return _json(answer)
    error, message = _error(answer)
    said = f": {message or error}" if message or error else ""
    if settings is not None and "account" in settings and answer.status == 400:
        if error in ("BlockedActor", "BlockedByActor"):
            raise SourceError(f"@{settings['account']} blocks or is blocked by the login{said}")
        if message and "not found" in message.lower():
            raise SourceError(f"Bluesky knows no account @{settings['account']}")
    if answer.status in (401, 403):
        if settings is not None and settings.get("login"):
            raise SourceError(
                f"{answer.url}: Bluesky refused the login as @{settings['login']} "
                f"({answer.status}{said}); check its app password"
            )
        raise SourceError(
            f"{answer.url}: Bluesky reads this only for a logged-in user ({answer.status}{said}): "
            "add --login your.handle and store its app password with "
            "`faceloop source secret bluesky:your.handle`"
        )
    if answer.status == 404:
        raise SourceError(f"{answer.url}: no such API (404) — is this a Bluesky service?")
    raise SourceError(f"{answer.url}: Bluesky answered {answer.status}{said}")


def _feed(answer: Fetched, settings: Mapping[str, Any]) -> tuple[list[dict], str | None]:
    """The posts of one answer (reposts left out) and the cursor to older ones."""
    found = _checked(answer, settings)
    key = "posts" if "tag" in settings else "feed"
    if not isinstance(found, dict) or not isinstance(found.get(key), list):
        raise SourceError(f"{answer.url}: expected an object with a list of {key}")
    if key == "feed":
        items = [i for i in found["feed"] if isinstance(i, dict) and not _repost(i)]
        posts = [i.get("post") for i in items]
    else:
        posts = found["posts"]
    posts = [p for p in posts if isinstance(p, dict) and isinstance(p.get("uri"), str)]
    cursor = found.get("cursor")
    return posts, cursor if isinstance(cursor, str) and cursor else None


def _repost(item: dict) -> bool:
    reason = item.get("reason")
    return isinstance(reason, dict) and reason.get("$type") == "app.bsky.feed.defs#reasonRepost"


def _images(embed: Any) -> tuple[ImageLink, ...]:
    """The images a post itself carries: an images view, or the media beside a quoted post
    (a quoted post's own images are someone else's, and stay out)."""
    if not isinstance(embed, dict):
        return ()
    if embed.get("$type") == WITH_MEDIA:
        return _images(embed.get("media"))
    if embed.get("$type") != IMAGES:
        return ()
    links = []
    for image in embed.get("images") or []:
        if not isinstance(image, dict):
            continue
        url = _text(image.get("fullsize")) or _text(image.get("thumb"))
        if url:
            links.append(ImageLink(url, _text(image.get("alt")) or ""))
    return tuple(links)


def _posts(posts: list[dict]) -> tuple[FetchedPost, ...]:
    found = []
    for post in posts:
        images = _images(post.get("embed"))
        if not images:
            continue
        uri = post["uri"]
        author = post.get("author") if isinstance(post.get("author"), dict) else {}
        record = post.get("record") if isinstance(post.get("record"), dict) else {}
        handle = _text(author.get("handle"))
        did = _text(author.get("did")) or uri.removeprefix("at://").split("/")[0]
        if not handle or handle == "handle.invalid":
            handle = did
        rkey = uri.rstrip("/").rsplit("/", 1)[-1]
        found.append(
            FetchedPost(
                external_id=uri,
                images=images,
                url=f"https://bsky.app/profile/{did}/post/{rkey}",
                author=f"@{handle}" if handle else None,
                author_name=_text(author.get("displayName")) or None,
                posted_at=utc_datetime(_text(record.get("createdAt")))
                or utc_datetime(_text(post.get("indexedAt"))),
                text=(_text(record.get("text")) or "").strip()[:TEXT_LIMIT],
            )
        )
    return tuple(found)


KIND = Bluesky()
