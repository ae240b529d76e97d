"""The Misskey kind against a local server that pages as Misskey does: `untilId` gives the newest
notes before it (newest first), `sinceId` alone the oldest notes after it (oldest first),
`limit` at most 100; errors are `{"error": {"message", "code", "id"}}`."""

from __future__ import annotations

from datetime import datetime

import pytest

from faceloop.collect.base import SourceContext, SourceError
from faceloop.collect.sources import kind
from faceloop.collect.sources.misskey import KIND
from tests.collect.servers import NOW, JsonServer, Reply, Request, local_fetcher

ERRORS = {
    "NO_SUCH_USER": ("No such user.", "4362f8dc-731f-4ad8-a694-be5a88922a24"),
    "CREDENTIAL_REQUIRED": ("Credential required.", "1384574d-a912-4b81-8601-c7b1c4085df1"),
    "AUTHENTICATION_FAILED": ("Authentication failed.", "b0a7f5f8-dc2f-4171-b91f-de88ad238e14"),
}


def error(code: str, status: int) -> Reply:
    message, error_id = ERRORS[code]
    return Reply({"error": {"message": message, "code": code, "id": error_id}}, status=status)


def note_id(n: int) -> str:
    """An aid-like id: Misskey's ids sort as text in the order the notes were made."""
    return f"9k{n:08d}"


def make_note(n: int, user: dict, *, files: list[dict] | None = None, text: str | None = None):
    if files is None:
        image = {
            "id": f"f{n}",
            "type": "image/jpeg",
            "url": f"https://media.example/{n}.jpg",
            "thumbnailUrl": f"https://media.example/thumb/{n}.webp",
            "comment": None,
            "isSensitive": False,
        }
        files = [image]
    return {
        "id": note_id(n),
        "createdAt": f"2024-05-{1 + n // 1440:02d}T{n // 60 % 24:02d}:{n % 60:02d}:00.000Z",
        "userId": user["id"],
        "user": user,
        "text": text if text is not None else f"#CHEERZ selfie {n}",
        "cw": None,
        "visibility": "public",
        "renoteId": None,
        "replyId": None,
        "fileIds": [f["id"] for f in files],
        "files": files,
        "tags": ["cheerz"],
    }


AYA = {"id": "9a0000user", "name": "Aya ☆", "username": "aya_idol", "host": None}
BOB = {"id": "9b0000user", "name": "Bob", "username": "bob", "host": "other.example"}


class Instance:
    """A Misskey instance's notes and the endpoints that page through them."""

    def __init__(self, server: JsonServer) -> None:
        self.notes: list[dict] = []
        server.route("POST", "/api/notes/search-by-tag", self.search_by_tag)
        server.route("POST", "/api/users/notes", self.user_notes)
        server.route("POST", "/api/users/show", self.show)

    def add(self, first: int, count: int, user: dict = AYA) -> list[dict]:
        added = [make_note(n, user) for n in range(first, first + count)]
        self.notes.extend(added)
        return added

    def page(self, body: dict, notes: list[dict]) -> list[dict]:
        limit = min(int(body.get("limit", 10)), 100)
        since, until = body.get("sinceId"), body.get("untilId")
        if body.get("withFiles"):
            notes = [n for n in notes if n["fileIds"]]
        if since:
            notes = [n for n in notes if n["id"] > since]
        if until:
            notes = [n for n in notes if n["id"] < until]
        ascending = bool(since) and not until
        return sorted(notes, key=lambda n: n["id"], reverse=not ascending)[:limit]

    def search_by_tag(self, request: Request) -> list[dict]:
        body = request.json()
        tagged = [n for n in self.notes if body["tag"].lower() in n["tags"]]
        return self.page(body, tagged)

    def user_notes(self, request: Request) -> list[dict]:
        body = request.json()
        return self.page(body, [n for n in self.notes if n["userId"] == body["userId"]])

    def show(self, request: Request) -> dict | Reply:
        body = request.json()
        for user in (AYA, BOB):
            if user["username"] == body["username"] and user["host"] == body.get("host"):
                return user
        return error("NO_SUCH_USER", 400)


@pytest.fixture
def server():
    with JsonServer() as running:
        yield running


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def context(waits):
    fetcher = local_fetcher(waits)
    yield SourceContext(fetcher)
    fetcher.close()


def run(settings: dict, cursor: str | None, context: SourceContext):
    pages = list(KIND.pages(settings, cursor, context))
    return pages, [post for page in pages for post in page.posts]


def tag_settings(server: JsonServer, **options) -> dict:
    return KIND.settings(server.url, {"tag": "#CHEERZ", **options})


def test_the_kind_is_found_by_name_and_checks_its_settings(server):
    assert kind("misskey") is KIND
    settings = KIND.settings("misskey.io", {"account": "@aya_idol@misskey.io"})
    assert settings == {"instance": "https://misskey.io", "backfill": 200, "account": "aya_idol"}
    assert KIND.describe(settings) == "misskey.io @aya_idol"
    remote = KIND.settings("https://misskey.io", {"account": "bob@Other.Example"})
    assert KIND.describe(remote) == "misskey.io @bob@other.example"
    assert KIND.describe(tag_settings(server)).endswith(" #CHEERZ")
    assert KIND.secrets_needed(settings) == ("misskey:misskey.io",)
    with pytest.raises(SourceError, match="either --tag or --account"):
        KIND.settings("misskey.io", {"tag": "CHEERZ", "account": "aya"})
    with pytest.raises(SourceError, match="either --tag or --account"):
        KIND.settings("misskey.io", {})
    with pytest.raises(SourceError, match="not an account"):
        KIND.settings("misskey.io", {"account": "a@b@c"})
    with pytest.raises(SourceError, match="not an instance address"):
        KIND.settings("https://", {"tag": "CHEERZ"})


def test_a_first_run_backfills_newest_first_and_a_second_run_reads_only_what_is_new(
    server, context
):
    instance = Instance(server)
    instance.add(0, 150)
    settings = tag_settings(server, backfill=120)

    pages, posts = run(settings, None, context)

    # two pages of 100 and 50 (120 asked for: a whole second page is read), newest first
    assert [p.cursor for p in pages] == [None, None, note_id(149)]
    assert [post.external_id for post in posts] == [note_id(n) for n in range(149, -1, -1)]
    bodies = [r.json() for r in server.requests]
    assert bodies[0] == {"tag": "CHEERZ", "withFiles": True, "limit": 100}
    assert bodies[1]["untilId"] == note_id(50)

    instance.add(150, 130)
    server.requests.clear()
    pages, posts = run(settings, pages[-1].cursor, context)

    # forward from the cursor, oldest page first, each page with its own cursor
    assert [p.cursor for p in pages] == [note_id(249), note_id(279)]
    assert sorted(post.external_id for post in posts) == [note_id(n) for n in range(150, 280)]
    assert [r.json().get("sinceId") for r in server.requests] == [
        note_id(149),
        note_id(249),
        note_id(279),
    ]

    server.requests.clear()
    pages, posts = run(settings, note_id(279), context)
    assert pages == [] and posts == []
    assert len(server.requests) == 1


def test_a_cursor_is_never_moved_back_by_a_server_that_ignores_since_id(server, context):
    instance = Instance(server)
    instance.add(0, 5)
    # an instance that answers every request with its newest notes, whatever the cursor
    server.route(
        "POST",
        "/api/notes/search-by-tag",
        lambda request: sorted(instance.notes, key=lambda n: n["id"], reverse=True),
    )
    pages, posts = run(tag_settings(server), note_id(2), context)
    assert [post.external_id for post in posts] == [note_id(4), note_id(3)]
    assert [p.cursor for p in pages] == [note_id(4)]


def test_an_account_is_resolved_by_users_show_and_read_without_renotes(server, context):
    instance = Instance(server)
    instance.add(0, 3, AYA)
    instance.add(3, 2, BOB)
    settings = KIND.settings(server.url, {"account": "@aya_idol"})

    _, posts = run(settings, None, context)

    show, notes = server.requests[0].json(), server.requests[1].json()
    assert server.paths()[:2] == ["/api/users/show", "/api/users/notes"]
    assert show == {"username": "aya_idol", "host": None}
    assert notes == {"userId": AYA["id"], "withFiles": True, "withRenotes": False, "limit": 100}
    host = server.url.split("://")[1]
    assert [post.author for post in posts] == [f"@aya_idol@{host}"] * 3

    remote = KIND.settings(server.url, {"account": "bob@other.example"})
    _, posts = run(remote, None, context)
    shows = [r.json() for r in server.requests if r.path == "/api/users/show"]
    assert shows[-1] == {"username": "bob", "host": "other.example"}
    assert [post.author for post in posts] == ["@bob@other.example"] * 2
    assert posts[0].author_name == "Bob"


def test_a_note_is_mapped_and_notes_without_images_are_skipped(server, context):
    instance = Instance(server)
    video = {"id": "v1", "type": "video/mp4", "url": "https://media.example/v.mp4"}
    png = {
        "id": "p1",
        "type": "image/png",
        "url": "https://media.example/p.png",
        "comment": "on stage",
    }
    remote_note = make_note(3, BOB, files=[png, video], text="  遠征  ")
    remote_note["uri"] = "https://other.example/notes/abc"
    remote_note["url"] = "https://other.example/@bob/abc"
    instance.notes += [
        make_note(0, AYA, files=[]),
        make_note(1, AYA, files=[video]),
        make_note(2, AYA, text="今日の #CHEERZ"),
        remote_note,
    ]
    instance.notes[0]["fileIds"] = ["x"]  # a file the server no longer packs

    _, posts = run(tag_settings(server), None, context)

    assert [post.external_id for post in posts] == [note_id(3), note_id(2)]
    remote, local = posts
    assert remote.url == "https://other.example/@bob/abc"
    assert [(i.url, i.alt) for i in remote.images] == [("https://media.example/p.png", "on stage")]
    assert remote.text == "遠征"
    assert local.url == f"{server.url}/notes/{note_id(2)}"
    assert local.author_name == "Aya ☆"
    assert local.text == "今日の #CHEERZ"
    assert local.posted_at == datetime(2024, 5, 1, 0, 2)
    assert [i.url for i in local.images] == ["https://media.example/2.jpg"]


def test_a_timeline_for_members_only_asks_for_an_access_token(server, waits):
    server.route("POST", "/api/notes/search-by-tag", lambda r: error("CREDENTIAL_REQUIRED", 401))
    fetcher = local_fetcher(waits)
    with pytest.raises(SourceError, match=r"logged-in users \(401\).*source secret misskey:"):
        list(KIND.pages(tag_settings(server), None, SourceContext(fetcher)))

    server.route("POST", "/api/notes/search-by-tag", lambda r: error("AUTHENTICATION_FAILED", 401))
    secret = KIND.secrets_needed(tag_settings(server))[0]
    with pytest.raises(SourceError, match=r"refused the access token \(401\)"):
        list(KIND.pages(tag_settings(server), None, SourceContext(fetcher, {secret: "tok3n"})))
    assert server.requests[-1].json()["i"] == "tok3n"
    fetcher.close()


def test_an_unknown_account_is_said_in_words(server, context):
    Instance(server)
    settings = KIND.settings(server.url, {"account": "nobody"})
    with pytest.raises(SourceError, match="knows no account @nobody"):
        list(KIND.pages(settings, None, context))


@pytest.mark.parametrize(
    ("reply", "words"),
    [
        (Reply(raw=b"<html><body>Misskey</body></html>", content_type="text/html"), "JSON"),
        (Reply(raw=b'[{"id": "9k00000001", "files": [{"ty'), "JSON"),
        (Reply({"notes": []}), "expected a list of notes"),
        (Reply({"error": {"message": "Internal error occurred."}}, status=418), "418"),
        (Reply(raw=b"nope", status=404), r"no such API \(404\)"),
    ],
    ids=["html", "truncated", "wrong-shape", "error-status", "not-misskey"],
)
def test_an_answer_that_is_not_a_list_of_notes_is_a_clear_error(server, context, reply, words):
    server.route("POST", "/api/notes/search-by-tag", lambda request: reply)
    with pytest.raises(SourceError, match=words):
        list(KIND.pages(tag_settings(server), None, context))


def test_a_429_waits_as_long_as_retry_after_says(server, context, waits):
    instance = Instance(server)
    instance.add(0, 2)
    answers = iter([Reply({"error": {"code": "RATE_LIMIT_EXCEEDED"}}, 429, {"Retry-After": "7"})])
    server.route(
        "POST",
        "/api/notes/search-by-tag",
        lambda request: next(answers, None) or instance.search_by_tag(request),
    )
    _, posts = run(tag_settings(server), None, context)
    assert waits == [7.0]
    assert len(posts) == 2


def test_an_exhausted_rate_limit_waits_for_its_reset_before_the_next_request(
    server, context, waits
):
    instance = Instance(server)
    instance.add(0, 150)
    reset = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW) + 30)}

    def limited(request: Request) -> Reply:
        return Reply(instance.search_by_tag(request), headers=reset)

    server.route("POST", "/api/notes/search-by-tag", limited)
    pages, _ = run(tag_settings(server, backfill=120), None, context)
    # the second request waits for the reset the first answer announced
    assert waits == [30.0]
    assert len(server.requests) == 2
    assert pages[-1].cursor == note_id(149)
