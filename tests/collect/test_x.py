"""The X kind against a local server that answers as X API v2 documents
(https://docs.x.com/x-api/posts/search-recent-posts, /x-api/users/get-posts)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from faceloop.collect.base import Page, SourceContext, SourceError
from faceloop.collect.fetch import Fetcher, FetchPolicy
from faceloop.collect.guard import AddressGuard
from faceloop.collect.sources import kind
from faceloop.collect.sources.x import KIND

from .local_http import Asked, Reply, local_fetcher, serve

BASE = 1_800_000_000_000_000_000
USERS = {"11": {"id": "11", "username": "aya_idol", "name": "Aya ☆"}}


def tweet(n: int, *, photos: int = 1, video: bool = False, author: str = "11") -> dict:
    """A post as X keeps it, with its media objects beside it (as `includes.media` has them)."""
    post_id = str(BASE + n)
    keys = [f"3_{n}_{i}" for i in range(photos)] + ([f"7_{n}"] if video else [])
    media = [
        {
            "media_key": f"3_{n}_{i}",
            "type": "photo",
            "url": f"https://pbs.twimg.com/media/P{n}x{i}.jpg",
            "width": 1200,
            "height": 1600,
            **({"alt_text": "selfie"} if i == 0 else {}),
        }
        for i in range(photos)
    ]
    if video:
        media.append({"media_key": f"7_{n}", "type": "video", "width": 720, "height": 1280})
    found = {
        "id": post_id,
        "text": f"post {n} &amp; more #CHEERZ https://t.co/x{n}",
        "created_at": f"2026-03-0{1 + n % 9}T10:00:0{n % 10}.000Z",
        "author_id": author,
        "edit_history_tweet_ids": [post_id],
    }
    if keys:
        found["attachments"] = {"media_keys": keys}
    return {"tweet": found, "media": media}


class FakeX:
    """Posts newest first, `max_results` a page, `next_token` back, `since_id` the floor."""

    def __init__(self, posts: list[dict]) -> None:
        self.posts = posts
        self.refuse_since_before: int | None = None

    def add(self, post: dict) -> None:
        self.posts.append(post)

    def timeline(self, asked: Asked) -> Reply:
        if asked.headers.get("authorization") != "Bearer s3cret":
            return Reply(401, json.dumps(UNAUTHORIZED))
        since = asked.query.get("since_id")
        if since and self.refuse_since_before and int(since) < self.refuse_since_before:
            return Reply(400, json.dumps(stale_since(since)))
        newest_first = sorted(self.posts, key=lambda p: -int(p["tweet"]["id"]))
        if since:
            newest_first = [p for p in newest_first if int(p["tweet"]["id"]) > int(since)]
        token = asked.query.get("next_token") or asked.query.get("pagination_token")
        start = int(token) if token else 0
        size = int(asked.query["max_results"])
        chunk = newest_first[start : start + size]
        if not chunk:
            return Reply(200, json.dumps({"meta": {"result_count": 0}}))
        meta = {
            "newest_id": chunk[0]["tweet"]["id"],
            "oldest_id": chunk[-1]["tweet"]["id"],
            "result_count": len(chunk),
        }
        if start + size < len(newest_first):
            meta["next_token"] = str(start + size)
        media = [m for p in chunk for m in p["media"]]
        authors = {p["tweet"]["author_id"] for p in chunk}
        answer = {
            "data": [p["tweet"] for p in chunk],
            "includes": {"users": [USERS[a] for a in sorted(authors) if a in USERS]},
            "meta": meta,
        }
        if media:
            answer["includes"]["media"] = media
        return Reply(200, json.dumps(answer))


UNAUTHORIZED = {
    "title": "Unauthorized",
    "type": "about:blank",
    "status": 401,
    "detail": "Unauthorized",
}


def stale_since(since: str) -> dict:
    return {
        "errors": [
            {
                "parameters": {"since_id": [since]},
                "message": f"Invalid 'since_id':'{since}'. 'since_id' must be a tweet id "
                "created after 2026-02-24T00:00Z.",
            }
        ],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    }


def run(settings: dict, cursor: str | None, fetcher: Fetcher, token: str = "s3cret") -> list[Page]:
    context = SourceContext(fetcher, {"x:bearer": token} if token else {})
    return list(KIND.pages(settings, cursor, context))


def search_settings(api: str, **options: object) -> dict:
    return KIND.settings("#CHEERZ", {"api": api, **options})


def posts_of(pages: list[Page]) -> list:
    return [post for page in pages for post in page.posts]


def test_settings_make_a_search_of_photos_without_retweets_and_keep_a_read_budget() -> None:
    found = KIND.settings("#CHEERZ", {})
    assert found == {
        "api": "https://api.x.com",
        "backfill": 100,
        "monthly_reads": 10_000,
        "query": "#CHEERZ has:images -is:retweet",
    }
    assert kind("x") is KIND
    assert KIND.describe(found) == "#CHEERZ has:images -is:retweet"
    assert KIND.settings("#a has:images -is:retweet", {})["query"] == "#a has:images -is:retweet"
    account = KIND.settings("@aya_idol", {"monthly_reads": "2500"})
    assert (account["account"], account["monthly_reads"]) == ("aya_idol", 2500)
    assert KIND.describe(account) == "@aya_idol"
    assert KIND.secrets_needed(account) == ("x:bearer",)
    assert KIND.settings("@aya with friends", {})["query"].startswith("@aya with friends ")
    for bad in ("not a name", "@far_too_long_a_username", "@aya.bsky.social"):
        with pytest.raises(SourceError, match="not an X username"):
            KIND.settings("", {"account": bad})
    with pytest.raises(SourceError, match="monthly_reads"):
        KIND.settings("#CHEERZ", {"monthly_reads": "lots"})
    with pytest.raises(SourceError, match="either"):
        KIND.settings("", {})


def test_a_search_backfills_newest_first_then_a_second_run_reads_only_the_new_posts() -> None:
    fake = FakeX(
        [tweet(n) for n in range(1, 8)] + [tweet(8, photos=0), tweet(9, photos=0, video=True)]
    )
    waits: list[float] = []
    with serve({"/2/tweets/search/recent": fake.timeline}) as server:
        settings = search_settings(server.url, backfill=25)
        pages = run(settings, None, local_fetcher(waits))
        # pages of 10 (X's least for search), the last of them short, then the cursor alone
        assert [p.cursor for p in pages] == [None, str(BASE + 9)]
        assert [p.reads for p in pages] == [9, 0]
        posts = posts_of(pages)
        assert [p.external_id for p in posts] == [str(BASE + n) for n in range(7, 0, -1)]
        first = server.asked[0]
        assert first.query["query"] == "#CHEERZ has:images -is:retweet"
        assert first.query["expansions"] == "attachments.media_keys,author_id"
        assert set(first.query["media.fields"].split(",")) >= {"url", "width", "height", "type"}
        assert first.query["tweet.fields"] == "created_at,author_id"
        assert "username" in first.query["user.fields"]
        assert first.headers["authorization"] == "Bearer s3cret"
        assert "since_id" not in first.query

        fake.add(tweet(10, photos=2))
        fake.add(tweet(11, photos=0))
        again = run(settings, pages[-1].cursor, local_fetcher(waits))
        assert server.asked[-1].query["since_id"] == str(BASE + 9)
        assert [p.external_id for p in posts_of(again)] == [str(BASE + 10)]
        assert again[-1].cursor == str(BASE + 11)
        assert sum(p.reads for p in again) == 2

        nothing = run(settings, again[-1].cursor, local_fetcher(waits))
        assert nothing == []
    assert waits == []


def test_a_post_is_mapped_with_its_author_time_text_address_and_photos_at_full_size() -> None:
    fake = FakeX([tweet(3, photos=2)])
    with serve({"/2/tweets/search/recent": fake.timeline}) as server:
        (post,) = posts_of(run(search_settings(server.url), None, local_fetcher([])))
    assert post.author == "@aya_idol"
    assert post.author_name == "Aya ☆"
    assert post.url == f"https://x.com/aya_idol/status/{BASE + 3}"
    assert post.posted_at == datetime(2026, 3, 4, 10, 0, 3)
    assert post.text == "post 3 & more #CHEERZ https://t.co/x3"
    assert [(i.url, i.alt) for i in post.images] == [
        ("https://pbs.twimg.com/media/P3x0.jpg?name=orig", "selfie"),
        ("https://pbs.twimg.com/media/P3x1.jpg?name=orig", ""),
    ]


def test_backfill_bounds_the_paid_reads_of_a_first_run() -> None:
    fake = FakeX([tweet(n) for n in range(1, 60)])
    with serve({"/2/tweets/search/recent": fake.timeline}) as server:
        pages = run(search_settings(server.url, backfill=20), None, local_fetcher([]))
        assert [a.query["max_results"] for a in server.asked] == ["20"]
        assert sum(p.reads for p in pages) == 20
        assert pages[-1] == Page((), str(BASE + 59))


def test_a_long_backfill_follows_next_token_a_hundred_posts_a_page() -> None:
    fake = FakeX([tweet(n) for n in range(1, 131)])
    with serve({"/2/tweets/search/recent": fake.timeline}) as server:
        pages = run(search_settings(server.url, backfill=150), None, local_fetcher([]))
        assert [(a.query["max_results"], a.query.get("next_token")) for a in server.asked] == [
            ("100", None),
            ("50", "100"),
        ]
    assert [p.reads for p in pages] == [100, 30, 0]
    ids = [p.external_id for p in posts_of(pages)]
    assert ids == [str(BASE + n) for n in range(130, 0, -1)]
    assert pages[-1].cursor == str(BASE + 130)


def test_an_account_is_looked_up_and_its_posts_read_without_retweets() -> None:
    fake = FakeX([tweet(n) for n in range(1, 121)])

    def lookup(asked: Asked) -> Reply:
        name = asked.path.rsplit("/", 1)[1]
        if name == "aya_idol":
            return Reply(200, json.dumps({"data": USERS["11"]}))
        return Reply(
            200,
            json.dumps(
                {
                    "errors": [
                        {
                            "value": name,
                            "detail": f"Could not find user with username: [{name}].",
                            "title": "Not Found Error",
                            "resource_type": "user",
                            "parameter": "username",
                            "type": "https://api.twitter.com/2/problems/resource-not-found",
                        }
                    ]
                }
            ),
        )

    routes = {
        "/2/users/by/username/aya_idol": lookup,
        "/2/users/by/username/nobody_here": lookup,
        "/2/users/11/tweets": fake.timeline,
    }
    with serve(routes) as server:
        settings = KIND.settings("@aya_idol", {"api": server.url, "backfill": 103})
        pages = run(settings, None, local_fetcher([]))
        ids = [p.external_id for p in posts_of(pages)]
        assert ids == [str(BASE + n) for n in range(120, 120 - 105, -1)]
        assert [p.reads for p in pages] == [1, 100, 5, 0]  # the user read, then the posts
        timeline = [a for a in server.asked if a.path == "/2/users/11/tweets"]
        assert timeline[0].query["exclude"] == "retweets"
        # a user's posts come at least 5 a page
        assert [(a.query["max_results"], a.query.get("pagination_token")) for a in timeline] == [
            ("100", None),
            ("5", "100"),
        ]
        assert pages[-1].cursor == str(BASE + 120)

        fake.add(tweet(121))
        again = run(settings, pages[-1].cursor, local_fetcher([]))
        assert [p.external_id for p in posts_of(again)] == [str(BASE + 121)]

        missing = KIND.settings("@nobody_here", {"api": server.url})
        with pytest.raises(SourceError, match=r"no account @nobody_here.*Could not find user"):
            run(missing, None, local_fetcher([]))


def test_a_refused_or_missing_bearer_token_is_said_in_words() -> None:
    fake = FakeX([tweet(1)])
    with serve({"/2/tweets/search/recent": fake.timeline}) as server:
        settings = search_settings(server.url)
        with pytest.raises(SourceError, match=r"refused the bearer token \(401\).*x:bearer"):
            run(settings, None, local_fetcher([]), token="wrong")
        with pytest.raises(SourceError, match="needs a bearer token"):
            run(settings, None, local_fetcher([]), token="")
        assert len(server.asked) == 1  # without a token nothing is asked


def test_a_forbidden_app_and_an_empty_wallet_are_said_in_x_s_own_words() -> None:
    forbidden = {
        "client_id": "123",
        "detail": "When authenticating requests to the Twitter API v2 endpoints, you must use "
        "keys and tokens from a Twitter developer App that is attached to a Project.",
        "reason": "client-not-enrolled",
        "title": "Client Forbidden",
        "type": "https://api.twitter.com/2/problems/client-forbidden",
    }
    replies = iter([Reply(403, json.dumps(forbidden)), Reply(402, "{}")])
    with serve({"/2/tweets/search/recent": lambda asked: next(replies)}) as server:
        with pytest.raises(SourceError, match=r"\(403\).*attached to a Project"):
            run(search_settings(server.url), None, local_fetcher([]))
        with pytest.raises(SourceError, match=r"payment \(402\)"):
            run(search_settings(server.url), None, local_fetcher([]))


def test_a_429_waits_as_retry_after_says_and_a_spent_rate_limit_waits_for_its_reset() -> None:
    fake = FakeX([tweet(n) for n in range(1, 131)])
    replies = [Reply(429, '{"title": "Too Many Requests"}', {"Retry-After": "7"})]
    now = 1_770_000_000.0

    def limited(asked: Asked) -> Reply:
        if replies:
            return replies.pop()
        reply = fake.timeline(asked)
        if "next_token" not in asked.query:
            # the first page leaves no requests in this 15-minute window until `reset`
            reply.headers.update(
                {
                    "x-rate-limit-limit": "450",
                    "x-rate-limit-remaining": "0",
                    "x-rate-limit-reset": str(int(now) + 30),
                }
            )
        return reply

    waits: list[float] = []
    fetcher = Fetcher(
        AddressGuard(allow=["127.0.0.0/8"]),
        FetchPolicy(backoff=0.0),
        sleep=waits.append,
        clock=lambda: now,
    )
    with serve({"/2/tweets/search/recent": limited}) as server:
        pages = run(search_settings(server.url, backfill=130), None, fetcher)
    assert waits == [7.0, 30.0]
    assert len(posts_of(pages)) == 130


@pytest.mark.parametrize(
    "body",
    [
        b'{"data": [{"id": "1", "text": "cut',
        b"<html><body>Over capacity</body></html>",
        b'{"data": {"id": "1"}, "meta": {}}',
        b'[{"id": "1"}]',
        b'{"data": [{"text": "no id"}]}',
    ],
    ids=["truncated", "not-json", "data-not-a-list", "not-an-object", "post-without-id"],
)
def test_a_malformed_or_misshapen_answer_is_a_source_error(body: bytes) -> None:
    route = {"/2/tweets/search/recent": lambda asked: Reply(200, body)}
    with serve(route) as server, pytest.raises(SourceError, match=r"JSON|list of posts|an id"):
        run(search_settings(server.url), None, local_fetcher([]))


def test_a_cursor_older_than_search_reaches_back_starts_over_as_a_first_run() -> None:
    fake = FakeX([tweet(n) for n in range(1, 4)])
    fake.refuse_since_before = BASE
    with serve({"/2/tweets/search/recent": fake.timeline}) as server:
        pages = run(search_settings(server.url), "1234", local_fetcher([]))
        assert [a.query.get("since_id") for a in server.asked] == ["1234", None]
    assert [p.external_id for p in posts_of(pages)] == [str(BASE + n) for n in (3, 2, 1)]
    assert pages[-1].cursor == str(BASE + 3)
