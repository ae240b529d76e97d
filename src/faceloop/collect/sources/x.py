"""X (API v2): a recent search (a hashtag that selfie apps add) or one account's posts, photos only.

    faceloop source add x "#CHEERZ"
    faceloop source add x @aya_idol

A search source asks `GET /2/tweets/search/recent` (the last 7 days; `has:images -is:retweet`
is added to the query when it is missing, since every post read is paid for); an account source
resolves the handle with `GET /2/users/by/username/:username` and reads
`GET /2/users/:id/tweets` without retweets. X pages only from the newest back (`next_token` /
`pagination_token`), so the first run reads back `backfill` posts and later runs read everything
newer than the cursor (`since_id`); either way the newest id (`meta.newest_id`) is the cursor, at
the end. A cursor older than search's 7 days is refused by X; the run then starts over as a
first run. The bearer token is the secret `x:bearer`. X bills every post read, so each page
counts its posts in `reads`, and the source keeps a `monthly_reads` budget that the run holds
it to. API: https://docs.x.com/x-api/posts/search-recent-posts and /x-api/users/get-posts
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from faceloop.collect.base import FetchedPost, ImageLink, Page, SourceContext, SourceError
from faceloop.collect.fetch import Fetched, FetchError, utc_datetime

API = "https://api.x.com"
SECRET = "x:bearer"
BACKFILL = 100
MONTHLY_READS = 10_000
#: X's most posts a page; the least is 10 for search and 5 for a user's posts
PAGE = 100
QUERY_LIMIT = 512
_USERNAME = re.compile(r"^[A-Za-z0-9_]{1,15}$")
_FIELDS = {
    "expansions": "attachments.media_keys,author_id",
    "media.fields": "url,width,height,type,alt_text",
    "tweet.fields": "created_at,author_id",
    "user.fields": "username,name",
}


def _id_key(post_id: str) -> tuple[int, str]:
    return (int(post_id), "") if post_id.isdigit() else (0, post_id)


def _query(text: str) -> str:
    """The search as asked, with the operators that keep X from billing posts without photos
    or retweets of them."""
    query = " ".join(text.split())
    words = query.lower().split()
    if "has:images" not in words and "has:media" not in words:
        query += " has:images"
    if "-is:retweet" not in words:
        query += " -is:retweet"
    return query


@dataclass(frozen=True)
class X:
    name: str = "x"
    summary: str = "a recent search (#CHEERZ) or an account's posts on X (API v2, paid reads)"
    examples: tuple[str, ...] = (
        'faceloop source add x "#CHEERZ"',
        'faceloop source add x "#dmmyell OR #CHEERZ" --monthly-reads 5000',
        "faceloop source add x @aya_idol",
    )

    def settings(self, target: str, options: Mapping[str, Any]) -> dict[str, Any]:
        query, account = options.get("query"), options.get("account")
        target = (target or "").strip()
        if target and not (query or account):
            if target.startswith("@") and " " not in target:
                account = target
            else:
                query = target
        if bool(query) == bool(account):
            raise SourceError('an X source follows either a search ("#CHEERZ") or an @account')
        api = str(options.get("api") or API).rstrip("/")
        if not urlsplit(api).hostname or urlsplit(api).scheme not in ("http", "https"):
            raise SourceError(f"{api!r} is not an API address ({API})")
        found: dict[str, Any] = {
            "api": api,
            "backfill": _positive(options.get("backfill"), BACKFILL, "backfill"),
            "monthly_reads": _positive(
                options.get("monthly_reads"), MONTHLY_READS, "monthly_reads"
            ),
        }
        if query:
            found["query"] = _query(str(query))
            if len(found["query"]) > QUERY_LIMIT:
                raise SourceError(f"X takes at most {QUERY_LIMIT} characters in a search query")
        else:
            username = str(account).strip().lstrip("@")
            if not _USERNAME.match(username):
                raise SourceError(
                    f"{account!r} is not an X username (letters, digits and _, at most 15)"
                )
            found["account"] = username
        return found

    def describe(self, settings: Mapping[str, Any]) -> str:
        if "query" in settings:
            return str(settings["query"])
        return f"@{settings['account']}"

    def secrets_needed(self, settings: Mapping[str, Any]) -> tuple[str, ...]:
        return (SECRET,)

    def pages(
        self, settings: Mapping[str, Any], cursor: str | None, context: SourceContext
    ) -> Iterator[Page]:
        token = context.secrets.get(SECRET)
        if not token:
            raise SourceError(
                "X needs a bearer token: make an app at developer.x.com and store its token "
                f"with `faceloop source secret {SECRET}`"
            )
        headers = {"Authorization": f"Bearer {token}"}
        api = settings["api"]
        backfill = int(settings.get("backfill", BACKFILL))
        if "query" in settings:
            url = f"{api}/2/tweets/search/recent"
            params: dict[str, Any] = {"query": settings["query"], **_FIELDS}
            page_param, least = "next_token", 10
        else:
            user_id = yield from self._user_id(settings, context, headers)
            url = f"{api}/2/users/{quote(user_id)}/tweets"
            params = {"exclude": "retweets", **_FIELDS}
            page_param, least = "pagination_token", 5

        def read(since: str | None, limit: int | None) -> Iterator[Page]:
            newest, token, read = None, None, 0
            while limit is None or read < limit:
                wanted = PAGE if limit is None else max(least, min(PAGE, limit - read))
                extra = {"max_results": wanted}
                if since:
                    extra["since_id"] = since
                if token:
                    extra[page_param] = token
                answer = _answer(context.fetcher.get_json(url, {**params, **extra}, headers))
                posts, meta, count = _page(answer, since)
                read += count
                if meta.get("newest_id") and newest is None:
                    newest = str(meta["newest_id"])
                if count:
                    yield Page(posts, None, reads=count)
                token = meta.get("next_token")
                if not count or not isinstance(token, str) or not token:
                    break
            if newest and (since is None or _id_key(newest) > _id_key(since)):
                yield Page((), newest)

        if cursor is not None:
            try:
                yield from read(cursor, None)
                return
            except _StaleCursor:
                pass  # older than search reaches back: begin again, as a first run does
        yield from read(None, backfill)

    def _user_id(
        self, settings: Mapping[str, Any], context: SourceContext, headers: dict[str, str]
    ) -> Iterator[Page]:
        """The account's user id; the lookup is a user read, billed like a post."""
        username = settings["account"]
        fetched = context.fetcher.get_json(
            f"{settings['api']}/2/users/by/username/{quote(username)}",
            {"user.fields": "username"},
            headers,
        )
        if fetched.status == 404:
            raise SourceError(f"X knows no account @{username}")
        answer = _answer(fetched)
        user = answer.get("data")
        yield Page((), None, reads=1)
        if not isinstance(user, dict) or not isinstance(user.get("id"), str):
            problem = _problem_words(answer)
            raise SourceError(
                f"X knows no account @{username}" + (f" ({problem})" if problem else "")
            )
        return user["id"]


class _StaleCursor(SourceError):
    """X refuses a `since_id` older than search reaches back (7 days)."""


def _positive(value: Any, default: int, name: str) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise SourceError(f"{name} is a whole number, not {value!r}") from None
    if number < 1:
        raise SourceError(f"{name} is at least 1")
    return number


def _problem_words(answer: Any) -> str:
    """X's own words for what went wrong: the `detail` of a problem or its `errors[]`."""
    if not isinstance(answer, dict):
        return ""
    words = []
    for error in answer.get("errors") or []:
        if isinstance(error, dict):
            text = error.get("detail") or error.get("message") or error.get("title")
            if isinstance(text, str):
                words.append(text)
    if not words:
        for key in ("detail", "title", "reason"):
            if isinstance(answer.get(key), str):
                words.append(answer[key])
                break
    return "; ".join(dict.fromkeys(words))[:500]


def _json(fetched: Fetched) -> Any:
    try:
        return fetched.json()
    except FetchError as exc:
        raise SourceError(str(exc)) from None


def _answer(fetched: Fetched) -> dict[str, Any]:
    """The answer's JSON object, or a SourceError that says in words what X refused."""
    status = fetched.status
    if status >= 400:
        try:
            body = fetched.json()
        except FetchError:
            body = None
        problem = _problem_words(body)
        said = f": X says {problem!r}" if problem else ""
        if status == 401:
            raise SourceError(
                f"X refused the bearer token (401){said}; store a valid one with "
                f"`faceloop source secret {SECRET}`"
            )
        if status == 402:
            raise SourceError(f"X wants payment (402): the app has no credits left{said}")
        if status == 403:
            raise SourceError(f"X does not let this app read that (403){said}")
        if status == 400 and "since_id" in problem:
            raise _StaleCursor(problem)
        raise SourceError(f"{fetched.url}: X answered {status}{said}")
    found = _json(fetched)
    if not isinstance(found, dict):
        raise SourceError(f"{fetched.url}: X's answer is not a JSON object")
    return found


def _page(
    answer: dict[str, Any], since: str | None
) -> tuple[tuple[FetchedPost, ...], dict[str, Any], int]:
    """The posts with photos of one answer, its `meta`, and how many posts it read."""
    data = answer.get("data", [])
    meta = answer.get("meta") if isinstance(answer.get("meta"), dict) else {}
    if not isinstance(data, list):
        raise SourceError("X's answer has no list of posts (`data`)")
    includes = answer.get("includes") if isinstance(answer.get("includes"), dict) else {}
    media = {
        m["media_key"]: m
        for m in includes.get("media") or []
        if isinstance(m, dict) and isinstance(m.get("media_key"), str)
    }
    users = {u["id"]: u for u in includes.get("users") or [] if isinstance(u, dict) and "id" in u}
    posts = []
    for tweet in data:
        if not isinstance(tweet, dict) or not isinstance(tweet.get("id"), str):
            raise SourceError("X's answer has a post without an id")
        if since and _id_key(tweet["id"]) <= _id_key(since):
            continue
        attachments = tweet.get("attachments") if isinstance(tweet.get("attachments"), dict) else {}
        images = tuple(
            ImageLink(_original(m["url"]), m.get("alt_text") or "")
            for key in attachments.get("media_keys") or []
            if isinstance(m := media.get(key), dict)
            and m.get("type") == "photo"
            and isinstance(m.get("url"), str)
        )
        if not images:
            continue
        user = users.get(tweet.get("author_id")) or {}
        username = user.get("username") if isinstance(user.get("username"), str) else None
        where = f"https://x.com/{username}" if username else "https://x.com/i/web"
        posts.append(
            FetchedPost(
                external_id=tweet["id"],
                images=images,
                url=f"{where}/status/{tweet['id']}",
                author=f"@{username}" if username else None,
                author_name=user.get("name") or None,
                posted_at=utc_datetime(tweet.get("created_at")),
                text=html.unescape(str(tweet.get("text") or ""))[:2000],
            )
        )
    return tuple(posts), meta, len(data)


def _original(url: str) -> str:
    """X's photo address at its original size (the bare address serves a smaller copy)."""
    parts = urlsplit(url)
    if parts.hostname == "pbs.twimg.com" and not parts.query:
        return f"{url}?name=orig"
    return url


KIND = X()
