"""The Bluesky kind against a local XRPC server that answers as the AppView and a PDS do:
`getAuthorFeed` (public, `filter=posts_with_media`) and `searchPosts` (only with a session from
`createSession`), both newest first with an opaque `cursor` to older posts; errors are
`{"error": name, "message": text}`."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from faceloop.collect.base import SourceContext, SourceError
from faceloop.collect.sources import kind
from faceloop.collect.sources.bluesky import KIND
from tests.collect.servers import NOW, JsonServer, Reply, Request, local_fetcher

START = datetime(2024, 5, 1)
AYA = {"did": "did:plc:aya4idol", "handle": "aya-idol.bsky.social", "displayName": "Aya ☆"}
FAN = {"did": "did:plc:fan7", "handle": "fan.example.com", "displayName": ""}
PASSWORD = "abcd-efgh-ijkl-mnop"


def stamp(n: int) -> str:
    return (START + timedelta(minutes=n)).isoformat(timespec="milliseconds") + "Z"


def images_view(n: int, count: int = 1) -> dict:
    cdn = "https://cdn.bsky.app/img"
    return {
        "$type": "app.bsky.embed.images#view",
        "images": [
            {
                "thumb": f"{cdn}/feed_thumbnail/plain/{n}/{k}@jpeg",
                "fullsize": f"{cdn}/feed_fullsize/plain/{n}/{k}@jpeg",
                "alt": f"photo {k}" if k else "",
                "aspectRatio": {"width": 3, "height": 4},
            }
            for k in range(count)
        ],
    }


def make_post(n: int, author: dict = AYA, embed: dict | None = None, text: str | None = None):
    return {
        "uri": f"at://{author['did']}/app.bsky.feed.post/3kr{n:010d}",
        "cid": f"bafyreib{n:010d}",
        "author": {**author, "avatar": "https://cdn.bsky.app/img/avatar/x@jpeg", "labels": []},
        "record": {
            "$type": "app.bsky.feed.post",
            "text": f"#CHEERZ selfie {n}" if text is None else text,
            "createdAt": stamp(n),
            "langs": ["ja"],
        },
        "embed": images_view(n) if embed is None else embed,
        "replyCount": 0,
        "repostCount": 0,
        "likeCount": 3,
        "quoteCount": 0,
        "indexedAt": stamp(n),
        "labels": [],
    }


class Bluesky:
    """An AppView's posts (newest first, a cursor to older ones) and a PDS's logins."""

    def __init__(self, server: JsonServer) -> None:
        self.posts: list[dict] = []
        self.tokens: set[str] = set()
        server.route("GET", "/xrpc/app.bsky.feed.getAuthorFeed", self.author_feed)
        server.route("GET", "/xrpc/app.bsky.feed.searchPosts", self.search_posts)
        server.route("POST", "/xrpc/com.atproto.server.createSession", self.create_session)

    def add(self, first: int, count: int, author: dict = AYA) -> None:
        self.posts += [make_post(n, author) for n in range(first, first + count)]

    def page(self, query: dict, posts: list[dict]) -> tuple[list[dict], str | None]:
        posts = sorted(posts, key=lambda p: p["indexedAt"], reverse=True)
        if "cursor" in query:
            posts = [p for p in posts if p["indexedAt"] < query["cursor"]]
        limit = min(int(query.get("limit", 50)), 100)
        found = posts[:limit]
        more = len(posts) > limit
        return found, found[-1]["indexedAt"] if more else None

    def author_feed(self, request: Request) -> dict | Reply:
        actor = request.query["actor"]
        did = next((a["did"] for a in (AYA, FAN) if actor in (a["handle"], a["did"])), None)
        if did is None:
            return Reply({"error": "InvalidRequest", "message": "Profile not found"}, 400)
        theirs = [p for p in self.posts if p["author"]["did"] == did]
        if request.query.get("filter") == "posts_with_media":
            theirs = [p for p in theirs if p.get("embed")]
        found, cursor = self.page(request.query, theirs)
        answer: dict = {"feed": [{"post": p} for p in found]}
        if cursor:
            answer["cursor"] = cursor
        return answer

    def search_posts(self, request: Request) -> dict | Reply:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.tokens:
            return Reply({"error": "AuthMissing", "message": "Authentication Required"}, 401)
        tag = request.query["tag"].lower()
        tagged = [p for p in self.posts if f"#{tag}" in p["record"]["text"].lower()]
        found, cursor = self.page(request.query, tagged)
        answer: dict = {"posts": found, "hitsTotal": len(tagged)}
        if cursor:
            answer["cursor"] = cursor
        return answer

    def create_session(self, request: Request) -> dict | Reply:
        body = request.json()
        if body != {"identifier": "me.bsky.social", "password": PASSWORD}:
            return Reply(
                {"error": "AuthenticationRequired", "message": "Invalid identifier or password"},
                401,
            )
        token = f"jwt-{len(self.tokens)}"
        self.tokens.add(token)
        return {
            "accessJwt": token,
            "refreshJwt": "refresh",
            "handle": "me.bsky.social",
            "did": "did:plc:me",
            "active": True,
        }


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
    yield SourceContext(fetcher, {"bluesky:me.bsky.social": PASSWORD})
    fetcher.close()


def account(server: JsonServer, **options) -> dict:
    return KIND.settings("@aya-idol.bsky.social", {"appview": server.url, **options})


def hashtag(server: JsonServer, **options) -> dict:
    return KIND.settings("#CHEERZ", {"service": server.url, "login": "me.bsky.social", **options})


def run(settings: dict, cursor: str | None, context: SourceContext):
    pages = list(KIND.pages(settings, cursor, context))
    return pages, [post for page in pages for post in page.posts]


def numbers(posts) -> list[int]:
    return [int(post.external_id.rsplit("/3kr", 1)[1]) for post in posts]


def test_the_kind_is_found_by_name_and_checks_its_settings():
    assert kind("bluesky") is KIND
    settings = KIND.settings("@Aya-Idol.bsky.social", {})
    assert settings == {
        "appview": "https://public.api.bsky.app",
        "service": "https://bsky.social",
        "backfill": 200,
        "account": "aya-idol.bsky.social",
    }
    assert KIND.describe(settings) == "@aya-idol.bsky.social"
    assert KIND.secrets_needed(settings) == ()
    tag = KIND.settings("", {"tag": "#CHEERZ", "login": "@me.bsky.social"})
    assert KIND.describe(tag) == "#CHEERZ"
    assert KIND.secrets_needed(tag) == ("bluesky:me.bsky.social",)
    assert KIND.settings("did:plc:aya4idol", {})["account"] == "did:plc:aya4idol"
    with pytest.raises(SourceError, match="needs a login"):
        KIND.settings("#CHEERZ", {})
    with pytest.raises(SourceError, match="either an account or a #hashtag"):
        KIND.settings("", {})
    with pytest.raises(SourceError, match="is not a Bluesky account"):
        KIND.settings("aya idol", {})


def test_a_first_run_backfills_and_a_second_run_reads_until_the_cursor(server, context):
    bluesky = Bluesky(server)
    bluesky.add(0, 250)
    bluesky.posts.append(make_post(500, FAN))
    settings = account(server, backfill=120)

    pages, posts = run(settings, None, context)

    # two whole pages (120 asked for), newest first, then the newest post as the cursor
    assert numbers(posts) == list(range(249, 49, -1))
    assert [p.cursor for p in pages[:-1]] == [None, None] and pages[-1].posts == ()
    cursor = pages[-1].cursor
    assert cursor.endswith(" at://did:plc:aya4idol/app.bsky.feed.post/3kr0000000249")
    first, second = (r.query for r in server.requests)
    assert first == {"actor": "aya-idol.bsky.social", "filter": "posts_with_media", "limit": "100"}
    assert second["cursor"] == stamp(150)

    bluesky.add(250, 130)
    server.requests.clear()
    pages, posts = run(settings, cursor, context)

    assert numbers(posts) == list(range(379, 249, -1))
    assert [p.cursor for p in pages[:-1]] == [None, None]
    assert pages[-1].cursor.endswith("/3kr0000000379")
    assert len(server.requests) == 2

    server.requests.clear()
    assert run(settings, pages[-1].cursor, context) == ([], [])
    assert len(server.requests) == 1


def test_a_deleted_cursor_post_still_stops_the_run_at_older_posts(server, context):
    bluesky = Bluesky(server)
    bluesky.add(0, 10)
    pages, _ = run(account(server), None, context)
    bluesky.posts = [p for p in bluesky.posts if not p["uri"].endswith("/3kr0000000009")]
    bluesky.add(10, 3)

    pages, posts = run(account(server), pages[-1].cursor, context)

    assert numbers(posts) == [12, 11, 10]
    assert pages[-1].cursor.endswith("/3kr0000000012")


def test_a_hashtag_search_logs_in_and_reads_with_the_session(server, context):
    bluesky = Bluesky(server)
    bluesky.add(0, 3)
    bluesky.posts.append(make_post(3, FAN, embed={}, text="no photo today #CHEERZ"))
    bluesky.posts[3].pop("embed")
    bluesky.posts.append(make_post(4, FAN, text="#cheerz 遠征 ✈"))
    bluesky.posts.append(make_post(5, FAN, text="no tag here"))

    pages, posts = run(hashtag(server), None, context)

    login, search = server.requests[0], server.requests[1]
    assert login.path == "/xrpc/com.atproto.server.createSession"
    assert login.json() == {"identifier": "me.bsky.social", "password": PASSWORD}
    assert search.path == "/xrpc/app.bsky.feed.searchPosts"
    assert search.headers["authorization"] == "Bearer jwt-0"
    assert search.query == {"q": "#CHEERZ", "tag": "CHEERZ", "sort": "latest", "limit": "100"}
    # the post without images is left out, yet it is the newest read: the cursor is it
    assert numbers(posts) == [4, 2, 1, 0]
    assert pages[-1].cursor.endswith("at://did:plc:fan7/app.bsky.feed.post/3kr0000000004")

    fan, aya = posts[0], posts[1]
    assert fan.author == "@fan.example.com" and fan.author_name is None
    assert fan.text == "#cheerz 遠征 ✈"
    assert aya.author == "@aya-idol.bsky.social" and aya.author_name == "Aya ☆"
    assert aya.url == "https://bsky.app/profile/did:plc:aya4idol/post/3kr0000000002"
    assert aya.posted_at == datetime(2024, 5, 1, 0, 2)
    assert [(i.url, i.alt) for i in aya.images] == [
        ("https://cdn.bsky.app/img/feed_fullsize/plain/2/0@jpeg", "")
    ]


def test_only_a_posts_own_images_are_taken(server, context):
    bluesky = Bluesky(server)
    quoted = {"$type": "app.bsky.embed.record#viewRecord", "uri": "at://x/y/z", "embeds": []}
    with_media = {
        "$type": "app.bsky.embed.recordWithMedia#view",
        "record": {"record": quoted},
        "media": images_view(1, count=2),
    }
    quote_only = {
        "$type": "app.bsky.embed.record#view",
        "record": {**quoted, "embeds": [images_view(2)]},
    }
    video = {
        "$type": "app.bsky.embed.video#view",
        "cid": "bafy",
        "playlist": "https://video.bsky.app/watch/x/playlist.m3u8",
        "thumbnail": "https://video.bsky.app/watch/x/thumbnail.jpg",
    }
    external = {
        "$type": "app.bsky.embed.external#view",
        "external": {"uri": "https://x", "title": "t", "description": "", "thumb": "https://t"},
    }
    invalid = {**AYA, "handle": "handle.invalid"}
    bluesky.posts += [
        make_post(1, AYA, with_media),
        make_post(2, AYA, quote_only),
        make_post(3, AYA, video),
        make_post(4, AYA, external),
        make_post(5, invalid),
    ]

    _, posts = run(account(server), None, context)

    assert numbers(posts) == [5, 1]
    assert posts[0].author == "@did:plc:aya4idol"
    assert [(i.url, i.alt) for i in posts[1].images] == [
        ("https://cdn.bsky.app/img/feed_fullsize/plain/1/0@jpeg", ""),
        ("https://cdn.bsky.app/img/feed_fullsize/plain/1/1@jpeg", "photo 1"),
    ]


def test_a_login_refused_or_missing_is_said_in_words(server, waits):
    Bluesky(server)
    fetcher = local_fetcher(waits)
    with pytest.raises(SourceError, match=r"needs its app password.*source secret bluesky:me"):
        list(KIND.pages(hashtag(server), None, SourceContext(fetcher)))
    assert server.requests == []

    wrong = SourceContext(fetcher, {"bluesky:me.bsky.social": "not-it"})
    with pytest.raises(SourceError, match=r"refused the login as @me.bsky.social \(401"):
        list(KIND.pages(hashtag(server), None, wrong))
    fetcher.close()


def test_a_session_the_search_does_not_accept_is_a_clear_error(server, context):
    bluesky = Bluesky(server)
    server.route(
        "POST",
        "/xrpc/com.atproto.server.createSession",
        lambda request: {"accessJwt": "expired", "handle": "me.bsky.social", "did": "did:x"},
    )
    bluesky.add(0, 2)
    with pytest.raises(SourceError, match=r"refused the login as @me.bsky.social \(401"):
        list(KIND.pages(hashtag(server), None, context))


def test_an_unknown_account_is_said_in_words(server, context):
    Bluesky(server)
    settings = KIND.settings("nobody.bsky.social", {"appview": server.url})
    with pytest.raises(SourceError, match=r"knows no account @nobody\.bsky\.social"):
        list(KIND.pages(settings, None, context))


@pytest.mark.parametrize(
    ("reply", "words"),
    [
        (Reply(raw=b"<!doctype html><title>Bluesky</title>", content_type="text/html"), "JSON"),
        (Reply(raw=b'{"feed": [{"post": {"uri": "at://did:plc:aya4idol/app.bsky.fe'), "JSON"),
        (Reply([{"post": {}}]), "expected an object with a list of feed"),
        (Reply({"feed": {"post": {}}}), "expected an object with a list of feed"),
        (Reply({"error": "InternalServerError"}, status=418), "418: InternalServerError"),
        (Reply({"error": "NotFound"}, status=404), r"no such API \(404\)"),
    ],
    ids=["html", "truncated", "a-list", "feed-not-a-list", "error-status", "not-bluesky"],
)
def test_an_answer_that_is_not_a_feed_is_a_clear_error(server, context, reply, words):
    server.route("GET", "/xrpc/app.bsky.feed.getAuthorFeed", lambda request: reply)
    with pytest.raises(SourceError, match=words):
        list(KIND.pages(account(server), None, context))


def test_a_429_and_an_exhausted_rate_limit_are_waited_out(server, context, waits):
    bluesky = Bluesky(server)
    bluesky.add(0, 150)
    limited = iter(
        [
            Reply(
                {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
                429,
                {"Retry-After": "5", "RateLimit-Remaining": "0"},
            )
        ]
    )
    exhausted = {
        "RateLimit-Limit": "3000",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": str(int(NOW) + 42),
        "RateLimit-Policy": "3000;w=300",
    }

    def feed(request: Request) -> Reply:
        refused = next(limited, None)
        return refused or Reply(bluesky.author_feed(request), headers=exhausted)

    server.route("GET", "/xrpc/app.bsky.feed.getAuthorFeed", feed)
    _, posts = run(account(server), None, context)

    # the 429 said 5 s; the first page then said none are left until NOW + 42
    assert waits == [5.0, 42.0]
    assert len(posts) == 150
    assert len(server.requests) == 3
