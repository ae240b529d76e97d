"""Mastodon (any instance): a hashtag's timeline or one account's statuses, images only.

    faceloop source add mastodon https://mstdn.jp --tag CHEERZ
    faceloop source add mastodon https://mstdn.jp --account aya_idol@mstdn.jp

The cursor is the newest status id stored. The first run reads back `backfill` statuses
(newest first, `max_id`); later runs step forward from the cursor with `min_id`, a page at a
time, so a run stopped halfway goes on from its last whole page. An instance that has turned off
public timelines answers 401: it needs an app token, kept as the secret `mastodon:<host>`.
API: https://docs.joinmastodon.org/methods/timelines/#tag and /methods/accounts/#statuses
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from faceloop.collect.base import FetchedPost, ImageLink, Page, SourceContext, SourceError
from faceloop.collect.fetch import Fetched, utc_datetime
from faceloop.collect.sources import fediverse
from faceloop.collect.text import plain_text

PAGE = 40
BACKFILL = 200


def _id_key(status_id: str) -> tuple[int, str]:
    return (int(status_id), "") if status_id.isdigit() else (0, status_id)


@dataclass(frozen=True)
class Mastodon:
    name: str = "mastodon"
    summary: str = "a hashtag or an account on any Mastodon instance"
    examples: tuple[str, ...] = (
        "faceloop source add mastodon https://mstdn.jp --tag CHEERZ",
        "faceloop source add mastodon https://mstdn.jp --account aya_idol@mstdn.jp",
    )

    def settings(self, target: str, options: Mapping[str, Any]) -> dict[str, Any]:
        tag, account, backfill = fediverse.tag_or_account("Mastodon", options, BACKFILL)
        instance = fediverse.instance_address(target, "https://mstdn.jp")
        found: dict[str, Any] = {"instance": instance, "backfill": backfill}
        if tag:
            found["tag"] = tag
        else:
            found["account"] = str(account).lstrip("@")
        return found

    def describe(self, settings: Mapping[str, Any]) -> str:
        return fediverse.describe(settings)

    def secrets_needed(self, settings: Mapping[str, Any]) -> tuple[str, ...]:
        return (f"mastodon:{urlsplit(settings['instance']).netloc}",)

    def pages(
        self, settings: Mapping[str, Any], cursor: str | None, context: SourceContext
    ) -> Iterator[Page]:
        instance = settings["instance"]
        token = context.secrets.get(self.secrets_needed(settings)[0])
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        url, params = self._timeline(settings, context, headers)

        def get(extra: dict[str, str]) -> list[dict]:
            answer = context.fetcher.get_json(url, {**params, **extra}, headers)
            return _statuses(answer, instance, bool(token))

        yield from fediverse.timeline_pages(
            cursor=cursor,
            backfill=int(settings.get("backfill", BACKFILL)),
            older=lambda before: get({"max_id": before} if before else {}),
            newer=lambda after: get({"min_id": after}),
            posts=lambda statuses: _posts(statuses, instance),
            key=_id_key,
        )

    def _timeline(
        self, settings: Mapping[str, Any], context: SourceContext, headers: dict[str, str]
    ) -> tuple[str, dict[str, Any]]:
        instance = settings["instance"]
        params: dict[str, Any] = {"only_media": "true", "limit": PAGE}
        if "tag" in settings:
            return f"{instance}/api/v1/timelines/tag/{quote(settings['tag'])}", params
        found = context.fetcher.get_json(
            f"{instance}/api/v1/accounts/lookup", {"acct": settings["account"]}, headers
        )
        if found.status == 404:
            raise SourceError(f"{instance} knows no account @{settings['account']}")
        account = _checked(found, instance, bool(headers))
        if not isinstance(account, dict) or not isinstance(account.get("id"), str):
            raise SourceError(f"{instance}: the account lookup answered without an id")
        params["exclude_reblogs"] = "true"
        return f"{instance}/api/v1/accounts/{quote(account['id'])}/statuses", params


def _checked(answer: Fetched, instance: str, with_token: bool) -> Any:
    if answer.status == 401:
        if with_token:
            raise SourceError(f"{instance} refused the app token (401): make a new one")
        host = urlsplit(instance).netloc
        raise SourceError(
            f"{instance} needs a login for this timeline (401): create an app token there and "
            f"store it with `faceloop source secret mastodon:{host}`"
        )
    if answer.status >= 400:
        raise SourceError(f"{answer.url}: the instance answered {answer.status}")
    return answer.json()


def _statuses(answer: Fetched, instance: str, with_token: bool) -> list[dict]:
    found = _checked(answer, instance, with_token)
    if not isinstance(found, list):
        raise SourceError(f"{answer.url}: expected a list of statuses")
    return [s for s in found if isinstance(s, dict) and isinstance(s.get("id"), str)]


def _posts(statuses: list[dict], instance: str) -> tuple[FetchedPost, ...]:
    posts = []
    host = urlsplit(instance).netloc
    for status in statuses:
        if status.get("reblog"):
            continue
        images = tuple(
            ImageLink(m["url"], m.get("description") or "")
            for m in status.get("media_attachments") or []
            if isinstance(m, dict) and m.get("type") == "image" and isinstance(m.get("url"), str)
        )
        if not images:
            continue
        account = status.get("account") if isinstance(status.get("account"), dict) else {}
        acct = account.get("acct")
        handle = None
        if isinstance(acct, str) and acct:
            handle = "@" + (acct if "@" in acct else f"{acct}@{host}")
        posts.append(
            FetchedPost(
                external_id=status["id"],
                images=images,
                url=status.get("url") or status.get("uri"),
                author=handle,
                author_name=account.get("display_name") or None,
                posted_at=utc_datetime(status.get("created_at")),
                text=plain_text(status.get("content")),
            )
        )
    return tuple(posts)


KIND = Mastodon()
