"""Misskey (any instance, popular in Japan): a hashtag's notes or one account's notes, files only.

    faceloop source add misskey https://misskey.io --tag CHEERZ
    faceloop source add misskey https://misskey.io --account aya_idol@misskey.io

Misskey's API is all POST with a JSON body. The cursor is the newest note id stored (Misskey ids
sort as text, oldest first). The first run reads back `backfill` notes newest first (`untilId`);
later runs step forward from the cursor with `sinceId`, which Misskey answers with the oldest
notes after it, a page at a time, so a run stopped halfway goes on from its last whole page. An
instance that shows nothing to visitors answers 401: it needs an access token, kept as the
secret `misskey:<host>` and sent as the body's `i`.
API: https://misskey-hub.net/en/docs/for-developers/api/ (notes/search-by-tag, users/notes,
users/show)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from faceloop.collect.base import FetchedPost, ImageLink, Page, SourceContext, SourceError
from faceloop.collect.fetch import Fetched, FetchError, utc_datetime
from faceloop.collect.sources import fediverse

PAGE = 100
BACKFILL = 200
TEXT_LIMIT = 2000


def _account(value: str, host: str) -> tuple[str, str | None]:
    """(username, host or None for a user of this instance) from `aya`, `@aya@host`."""
    username, _, user_host = value.lstrip("@").partition("@")
    if not username or "@" in user_host:
        raise SourceError(f"{value!r} is not an account (aya_idol or aya_idol@misskey.io)")
    user_host = user_host.lower() or None
    return username, None if user_host in (None, host.lower()) else user_host


@dataclass(frozen=True)
class Misskey:
    name: str = "misskey"
    summary: str = "a hashtag or an account on any Misskey instance"
    examples: tuple[str, ...] = (
        "faceloop source add misskey https://misskey.io --tag CHEERZ",
        "faceloop source add misskey https://misskey.io --account aya_idol@misskey.io",
    )

    def settings(self, target: str, options: Mapping[str, Any]) -> dict[str, Any]:
        """Check what `source add` was given: an instance, and a tag or an account on it."""
        tag, account, backfill = fediverse.tag_or_account("Misskey", options, BACKFILL)
        instance = fediverse.instance_address(target, "https://misskey.io")
        found: dict[str, Any] = {"instance": instance, "backfill": backfill}
        if tag:
            found["tag"] = tag
        else:
            username, host = _account(str(account), urlsplit(instance).netloc)
            found["account"] = f"{username}@{host}" if host else username
        return found

    def describe(self, settings: Mapping[str, Any]) -> str:
        return fediverse.describe(settings)

    def secrets_needed(self, settings: Mapping[str, Any]) -> tuple[str, ...]:
        """The instance's access token, if the user stored one (most instances need none)."""
        return (f"misskey:{urlsplit(settings['instance']).netloc}",)

    def pages(
        self, settings: Mapping[str, Any], cursor: str | None, context: SourceContext
    ) -> Iterator[Page]:
        """Pages of notes with images newer than `cursor` (see the module's docstring)."""
        instance = settings["instance"]
        token = context.secrets.get(self.secrets_needed(settings)[0])
        auth = {"i": token} if token else {}
        endpoint, body = self._timeline(settings, context, auth)

        def post(extra: dict[str, Any]) -> list[dict]:
            answer = context.fetcher.post_json(endpoint, {**body, **auth, **extra})
            return _notes(answer, instance, bool(token))

        def older(before: str | None) -> list[dict]:
            if before is None:
                return post({})
            return [n for n in post({"untilId": before}) if n["id"] < before]

        yield from fediverse.timeline_pages(
            cursor=cursor,
            backfill=int(settings.get("backfill", BACKFILL)),
            older=older,
            # Misskey answers sinceId alone with the oldest notes after it
            newer=lambda after: [n for n in post({"sinceId": after}) if n["id"] > after],
            posts=lambda notes: _posts(notes, instance),
        )

    def _timeline(
        self, settings: Mapping[str, Any], context: SourceContext, auth: dict[str, str]
    ) -> tuple[str, dict[str, Any]]:
        instance = settings["instance"]
        if "tag" in settings:
            body = {"tag": settings["tag"], "withFiles": True, "limit": PAGE}
            return f"{instance}/api/notes/search-by-tag", body
        username, host = _account(settings["account"], urlsplit(instance).netloc)
        found = context.fetcher.post_json(
            f"{instance}/api/users/show", {"username": username, "host": host, **auth}
        )
        if found.status in (400, 404) and _error_code(found) == "NO_SUCH_USER":
            raise SourceError(f"{instance} knows no account @{settings['account']}")
        user = _checked(found, instance, bool(auth))
        if not isinstance(user, dict) or not isinstance(user.get("id"), str):
            raise SourceError(f"{instance}: the account lookup answered without a user id")
        body = {"userId": user["id"], "withFiles": True, "withRenotes": False, "limit": PAGE}
        return f"{instance}/api/users/notes", body


def _json(answer: Fetched) -> Any:
    try:
        return answer.json()
    except FetchError as exc:
        raise SourceError(f"{exc} — is this a Misskey instance?") from None


def _error(answer: Fetched) -> dict[str, Any]:
    """Misskey's error body, `{"error": {"message", "code", "id"}}`, or {} if it is not one."""
    try:
        found = answer.json()
    except FetchError:
        return {}
    error = found.get("error") if isinstance(found, dict) else None
    return error if isinstance(error, dict) else {}


def _error_code(answer: Fetched) -> str | None:
    code = _error(answer).get("code")
    return code if isinstance(code, str) else None


def _checked(answer: Fetched, instance: str, with_token: bool) -> Any:
    host = urlsplit(instance).netloc
    if answer.status in (401, 403):
        if with_token:
            raise SourceError(
                f"{instance} refused the access token ({answer.status}): make a new one with "
                "the read permission and store it with "
                f"`faceloop source secret misskey:{host}`"
            )
        raise SourceError(
            f"{instance} shows these notes only to logged-in users ({answer.status}): create an "
            f"access token there (Settings > API) and store it with "
            f"`faceloop source secret misskey:{host}`"
        )
    if answer.status == 404:
        raise SourceError(f"{answer.url}: no such API (404) — is {host} a Misskey instance?")
    if answer.status >= 400:
        message = _error(answer).get("message")
        said = f": {message}" if isinstance(message, str) and message else ""
        raise SourceError(f"{answer.url}: the instance answered {answer.status}{said}")
    return _json(answer)


def _notes(answer: Fetched, instance: str, with_token: bool) -> list[dict]:
    found = _checked(answer, instance, with_token)
    if not isinstance(found, list):
        raise SourceError(f"{answer.url}: expected a list of notes")
    return [n for n in found if isinstance(n, dict) and isinstance(n.get("id"), str)]


def _posts(notes: list[dict], instance: str) -> tuple[FetchedPost, ...]:
    posts = []
    host = urlsplit(instance).netloc
    for note in notes:
        images = tuple(
            ImageLink(f["url"], f.get("comment") or "")
            for f in note.get("files") or []
            if isinstance(f, dict)
            and str(f.get("type") or "").startswith("image/")
            and isinstance(f.get("url"), str)
        )
        if not images:
            continue
        user = note.get("user") if isinstance(note.get("user"), dict) else {}
        username = user.get("username")
        handle = None
        if isinstance(username, str) and username:
            handle = f"@{username}@{user.get('host') or host}"
        text = note.get("text") if isinstance(note.get("text"), str) else ""
        posts.append(
            FetchedPost(
                external_id=note["id"],
                images=images,
                url=note.get("url") or note.get("uri") or f"{instance}/notes/{note['id']}",
                author=handle,
                author_name=user.get("name") or None,
                posted_at=utc_datetime(note.get("createdAt")),
                text=text.strip()[:TEXT_LIMIT],
            )
        )
    return tuple(posts)


KIND = Misskey()
