"""What Mastodon and Misskey sources share: an instance address, a tag or an account on it, and
timelines read the same way — back `backfill` items from the newest on the first run, then
forward from the cursor a page at a time, so a run stopped halfway goes on from its last whole
page. Each kind keeps its own endpoints and answer shapes."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from faceloop.collect.base import FetchedPost, Page, SourceError, site_address

Items = list[dict[str, Any]]


def instance_address(target: str, example: str) -> str:
    return site_address(target, "an instance", example)


def tag_or_account(
    kind: str, options: Mapping[str, Any], default_backfill: int
) -> tuple[str | None, str | None, int]:
    """(tag without '#', account as given, backfill) from `source add`'s options; exactly one of
    the tag and the account is set."""
    tag, account = options.get("tag"), options.get("account")
    if bool(tag) == bool(account):
        raise SourceError(f"a {kind} source follows either --tag or --account")
    backfill = int(options.get("backfill") or default_backfill)
    if backfill < 1:
        raise SourceError("--backfill is the number of posts a first run reads (1 or more)")
    if tag:
        tag = str(tag).strip().lstrip("#")
        if not tag:
            raise SourceError("--tag needs a hashtag (CHEERZ)")
        return tag, None, backfill
    return None, str(account).strip(), backfill


def describe(settings: Mapping[str, Any]) -> str:
    host = urlsplit(settings["instance"]).netloc
    if "tag" in settings:
        return f"{host} #{settings['tag']}"
    return f"{host} @{settings['account']}"


def timeline_pages(
    *,
    cursor: str | None,
    backfill: int,
    older: Callable[[str | None], Items],
    newer: Callable[[str], Items],
    posts: Callable[[Items], Sequence[FetchedPost]],
    key: Callable[[str], Any] = str,
) -> Iterator[Page]:
    """Pages of a timeline newer than `cursor`. `older(id)` answers the items before `id` (the
    newest when None), `newer(id)` those after it, both only items strictly on that side; `key`
    orders ids. The first run's cursor is committed once its backfill is read, so a first run
    stopped halfway starts again from the newest (its posts are already stored: no duplicates)."""
    if cursor is None:
        newest, before, read = None, None, 0
        while read < backfill:
            items = older(before)
            if not items:
                break
            read += len(items)
            ids = sorted((item["id"] for item in items), key=key)
            newest = newest or ids[-1]
            before = ids[0]
            yield Page(posts(items), None, reads=1)
        if newest:
            yield Page((), newest)
        return
    while True:
        items = newer(cursor)
        if not items:
            return
        cursor = max((item["id"] for item in items), key=key)
        yield Page(posts(items), cursor, reads=1)
