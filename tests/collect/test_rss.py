"""The RSS / Atom kind against a local server that serves feeds as blogs do (RSS 2.0 with Media
RSS, as Ameba's rss20.xml; Atom), with ETag / Last-Modified and 304."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from faceloop.collect.base import Page, SourceContext, SourceError
from faceloop.collect.fetch import FetchError
from faceloop.collect.sources import kind
from faceloop.collect.sources.rss import KIND

from .local_http import Asked, Reply, local_fetcher, serve

MODIFIED = "Sun, 01 Mar 2026 03:00:00 GMT"


def item(n: int, body: str, extra: str = "", day: int = 1) -> str:
    return f"""<item>
  <title>Entry {n} &amp; more</title>
  <link>https://ameblo.jp/aya-blog/entry-{n}.html</link>
  <guid isPermaLink="true">https://ameblo.jp/aya-blog/entry-{n}.html</guid>
  <pubDate>Sun, 0{day} Mar 2026 1{n % 10}:00:00 +0900</pubDate>
  <description><![CDATA[{body}]]></description>
  {extra}
</item>"""


def rss(*items: str) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"
     xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel>
  <title>Aya's blog</title>
  <link>https://ameblo.jp/aya-blog/</link>
  <description>selfies</description>
  {"".join(items)}
</channel>
</rss>"""


ENTRIES = [
    item(
        1,
        'Today <img src="/img/1.jpg" alt="me"> and '
        '<img src="https://stat.ameba.jp/emoji/heart.gif" width="16" height="16">',
        '<media:thumbnail url="https://ameblo.jp/img/1-small.jpg"/>',
    ),
    item(2, "no photos today"),
    item(3, "thumbnail only", '<media:thumbnail url="https://ameblo.jp/img/3-small.jpg"/>'),
    item(
        4,
        "with an enclosure",
        '<enclosure url="https://ameblo.jp/img/4.jpg" type="image/jpeg" length="1234"/>'
        '<enclosure url="https://ameblo.jp/a/4.mp3" type="audio/mpeg" length="1"/>'
        '<media:content url="https://ameblo.jp/img/4b.png" medium="image"/>'
        '<media:content url="https://ameblo.jp/v/4.mp4" medium="video"/>'
        '<content:encoded><![CDATA[<p>long text <img src="img/4c.jpg"></p>]]></content:encoded>',
    ),
]


class Blog:
    """A feed that answers 304 to a request naming its current ETag or Last-Modified."""

    def __init__(self, body: str, etag: str = '"v1"') -> None:
        self.body, self.etag = body, etag

    def __call__(self, asked: Asked) -> Reply:
        if asked.headers.get("if-none-match") == self.etag:
            return Reply(304, b"", {"ETag": self.etag})
        headers = {
            "Content-Type": "application/rss+xml; charset=utf-8",
            "ETag": self.etag,
            "Last-Modified": MODIFIED,
        }
        return Reply(200, self.body, headers)


def run(url: str, cursor: str | None = None, waits: list[float] | None = None, **options):
    settings = KIND.settings(url, options)
    return list(
        KIND.pages(settings, cursor, SourceContext(local_fetcher([] if waits is None else waits)))
    )


def test_settings_take_a_feed_address() -> None:
    assert KIND.settings("https://rssblog.ameba.jp/aya/rss20.xml", {}) == {
        "url": "https://rssblog.ameba.jp/aya/rss20.xml",
        "backfill": 200,
    }
    assert kind("rss") is KIND
    assert KIND.secrets_needed({"url": "https://a.example/feed"}) == ()
    for bad in ("rssblog.ameba.jp/aya", "file:///etc/passwd", ""):
        with pytest.raises(SourceError, match="not a feed address"):
            KIND.settings(bad, {})


def test_an_rss_feed_gives_its_entries_images_with_provenance() -> None:
    with serve({"/aya/rss20.xml": Blog(rss(*ENTRIES))}) as server:
        (page,) = run(f"{server.url}/aya/rss20.xml")
    by_id = {post.external_id: post for post in page.posts}
    base = "https://ameblo.jp/aya-blog/entry-"
    assert set(by_id) == {f"{base}1.html", f"{base}3.html", f"{base}4.html"}  # 2 has no photo
    first = by_id[f"{base}1.html"]
    # the relative <img> read against the feed's address; no emoji; no thumbnail of it again
    assert [(i.url, i.alt) for i in first.images] == [(f"{server.url}/img/1.jpg", "me")]
    assert first.url == f"{base}1.html"
    assert first.author == "https://ameblo.jp/aya-blog/"
    assert first.author_name == "Aya's blog"
    assert first.posted_at == datetime(2026, 3, 1, 2, 0, 0)  # 11:00 +0900
    assert first.text == "Entry 1 & more\nToday  and"
    assert [i.url for i in by_id[f"{base}3.html"].images] == ["https://ameblo.jp/img/3-small.jpg"]
    assert [i.url for i in by_id[f"{base}4.html"].images] == [
        "https://ameblo.jp/img/4.jpg",
        "https://ameblo.jp/img/4b.png",
        f"{server.url}/aya/img/4c.jpg",
    ]
    state = json.loads(page.cursor)
    assert (state["etag"], state["modified"]) == ('"v1"', MODIFIED)
    assert len(state["seen"]) == 4


def test_an_unchanged_feed_answers_304_and_a_changed_one_gives_only_its_new_entries() -> None:
    blog = Blog(rss(*ENTRIES))
    with serve({"/rss": blog}) as server:
        (first,) = run(f"{server.url}/rss")
        assert run(f"{server.url}/rss", first.cursor) == []
        asked = server.asked[-1]
        assert asked.headers["if-none-match"] == '"v1"'
        assert asked.headers["if-modified-since"] == MODIFIED

        blog.body = rss(item(5, '<img src="https://ameblo.jp/img/5.jpg">', day=2), *ENTRIES)
        blog.etag = '"v2"'
        (second,) = run(f"{server.url}/rss", first.cursor)
        assert [p.external_id for p in second.posts] == ["https://ameblo.jp/aya-blog/entry-5.html"]
        assert json.loads(second.cursor)["etag"] == '"v2"'

        # a server without validators: the same document again gives nothing new
        blog.etag = '"v3"'
        (third,) = run(f"{server.url}/rss", second.cursor)
        assert third.posts == ()


def test_the_first_run_takes_the_newest_backfill_entries() -> None:
    entries = [item(n, f'<img src="https://ameblo.jp/img/{n}.jpg">', day=n) for n in range(1, 8)]
    blog = Blog(rss(*entries))
    with serve({"/rss": blog}) as server:
        (page,) = run(f"{server.url}/rss", backfill=3)
        assert [p.external_id[-7:] for p in page.posts] == ["-7.html", "-6.html", "-5.html"]
        # the older ones count as seen: a later run does not bring them back
        blog.etag = '"v2"'
        assert run(f"{server.url}/rss", page.cursor)[0].posts == ()


def test_an_atom_feed_gives_enclosure_links_and_images_in_its_content() -> None:
    atom = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Mei</title>
  <link href="https://mei.example/"/>
  <id>urn:uuid:feed</id>
  <updated>2026-03-02T09:00:00Z</updated>
  <entry>
    <title>Live</title>
    <id>tag:mei.example,2026:1</id>
    <link rel="alternate" href="https://mei.example/posts/1"/>
    <link rel="enclosure" type="image/jpeg" href="https://mei.example/1.jpg"/>
    <updated>2026-03-02T09:00:00Z</updated>
    <author><name>Mei</name></author>
    <content type="html">&lt;p&gt;after the show
      &lt;img src="/2.webp" alt="stage"&gt;&lt;/p&gt;</content>
  </entry>
</feed>"""
    route = {"/atom": lambda asked: Reply(200, atom, {"Content-Type": "application/atom+xml"})}
    with serve(route) as server:
        ((post,),) = [page.posts for page in run(f"{server.url}/atom")]
    assert post.external_id == "tag:mei.example,2026:1"
    assert post.url == "https://mei.example/posts/1"
    assert (post.author, post.author_name) == ("https://mei.example/", "Mei")
    assert post.posted_at == datetime(2026, 3, 2, 9, 0, 0)
    assert [(i.url, i.alt) for i in post.images] == [
        ("https://mei.example/1.jpg", ""),
        (f"{server.url}/2.webp", "stage"),
    ]


def test_a_web_page_is_no_feed_and_the_error_names_the_feed_it_links() -> None:
    page = (
        '<html><head><link rel="alternate" type="application/rss+xml" href="/rss20.xml">'
        "</head><body>Aya's blog</body></html>"
    )
    route = {"/blog": lambda asked: Reply(200, page, {"Content-Type": "text/html"})}
    with serve(route) as server, pytest.raises(SourceError) as raised:
        run(f"{server.url}/blog")
    assert "not an RSS or Atom feed (the server sent text/html)" in str(raised.value)
    assert f"{server.url}/rss20.xml" in str(raised.value)


def test_a_cut_off_feed_is_an_error_but_a_sloppy_complete_one_is_read() -> None:
    whole = rss(item(1, '<img src="https://ameblo.jp/img/1.jpg">'), item(2, "x"))
    cut = whole[: whole.index("<item>", 300) + 60]
    sloppy = whole.replace("selfies", "selfies &nbsp; & more")
    routes = {
        "/cut": lambda asked: Reply(200, cut, {"Content-Type": "application/rss+xml"}),
        "/sloppy": lambda asked: Reply(200, sloppy, {"Content-Type": "application/rss+xml"}),
    }
    with serve(routes) as server:
        with pytest.raises(SourceError, match="cut off"):
            run(f"{server.url}/cut")
        (page,) = run(f"{server.url}/sloppy")
    assert [p.external_id[-7:] for p in page.posts] == ["-1.html"]


@pytest.mark.parametrize(
    ("status", "words"),
    [(401, r"needs a login \(401\)"), (404, r"no feed at .* \(404\)"), (418, "answered 418")],
)
def test_refusals_are_said_in_words(status: int, words: str) -> None:
    route = {"/rss": lambda asked: Reply(status, "no", {"Content-Type": "text/plain"})}
    with serve(route) as server, pytest.raises(SourceError, match=words):
        run(f"{server.url}/rss")


def test_a_429_waits_as_retry_after_says() -> None:
    blog = Blog(rss(*ENTRIES))
    replies = [Reply(429, "slow down", {"Retry-After": "5", "Content-Type": "text/plain"})]
    waits: list[float] = []
    with serve({"/rss": lambda asked: replies.pop() if replies else blog(asked)}) as server:
        (page,) = run(f"{server.url}/rss", waits=waits)
    assert waits == [5.0]
    assert len(page.posts) == 3


def test_a_feed_inside_this_machine_is_refused_unless_allowed() -> None:
    with serve({"/rss": Blog(rss(*ENTRIES))}) as server:
        settings = KIND.settings(f"{server.url}/rss", {})
        context = SourceContext(local_fetcher([], allow=False))
        with pytest.raises(FetchError, match="loopback"):
            list(KIND.pages(settings, None, context))
        assert server.asked == []


def test_an_unreadable_cursor_is_a_fresh_start() -> None:
    with serve({"/rss": Blog(rss(*ENTRIES))}) as server:
        pages = run(f"{server.url}/rss", "not json")
    assert isinstance(pages[0], Page)
    assert len(pages[0].posts) == 3
