"""The URL-list kind against a local server of images and pages (with Open Graph and Twitter card
tags, as sites put them in their heads)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from faceloop.collect.base import Page, SourceContext, SourceError
from faceloop.collect.sources import kind
from faceloop.collect.sources.urls import KIND, addresses

from .local_http import Asked, Reply, local_fetcher, serve

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def html(head: str, charset: str = "utf-8") -> Reply:
    body = f"<!doctype html><html><head>{head}</head><body><p>hello</p></body></html>"
    return Reply(200, body.encode(charset), {"Content-Type": f"text/html; charset={charset}"})


def page(head: str, charset: str = "utf-8"):
    return lambda asked: html(head, charset)


OG_PAGE = """
<meta charset="utf-8"><title>ignored when og:title is there</title>
<meta property="og:title" content="Aya &amp; Mei after the show">
<meta property="og:site_name" content="Idol News">
<meta property="og:image" content="/photos/1.jpg">
<meta property="og:image:alt" content="two smiling">
<meta property="og:image" content="https://cdn.example/2.jpg">
<meta name="twitter:image" content="https://cdn.example/2-small.jpg">
<meta property="article:published_time" content="2026-03-01T20:00:00+09:00">
"""


def write(tmp_path: Path, *lines: str) -> str:
    path = tmp_path / "urls.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def run(list_path: str, cursor: str | None = None, waits: list[float] | None = None) -> list[Page]:
    settings = KIND.settings(list_path, {})
    context = SourceContext(local_fetcher([] if waits is None else waits))
    return list(KIND.pages(settings, cursor, context))


def posts_of(pages: list[Page]) -> list:
    return [post for p in pages for post in p.posts]


def test_settings_take_an_existing_file(tmp_path: Path) -> None:
    path = write(tmp_path, "https://a.example/1.jpg")
    assert KIND.settings(path, {}) == {"path": str(Path(path).resolve())}
    assert KIND.describe(KIND.settings(path, {})) == str(Path(path).resolve())
    assert kind("urls") is KIND
    with pytest.raises(SourceError, match="is not a file"):
        KIND.settings(str(tmp_path / "missing.txt"), {})
    with pytest.raises(SourceError, match="needs the path"):
        KIND.settings("", {})


def test_the_file_is_read_as_addresses_with_comments_and_blanks_left_out() -> None:
    text = (
        "# idols\n\n  https://a.example/1.jpg  \n"
        "https://a.example/page#top   # a comment after the address\n"
        "https://a.example/1.jpg\n   # indented comment\nhttps://b.example/x\n"
    )
    assert addresses(text) == [
        "https://a.example/1.jpg",
        "https://a.example/page#top",
        "https://b.example/x",
    ]


def test_images_and_pages_become_posts_and_a_second_run_reads_only_new_lines(
    tmp_path: Path,
) -> None:
    routes = {
        "/news/1": page(OG_PAGE),
        "/card": page('<meta name="twitter:image" content="https://cdn.example/card.png">'),
        "/nothing": page("<title>no picture</title>"),
        # the charset named only in the page's own <meta>, as older Japanese sites do
        "/sjis": lambda asked: Reply(
            200,
            (
                '<html><head><meta http-equiv="Content-Type" content="text/html; '
                'charset=Shift_JIS"><title>あやのブログ</title><meta property="og:image" '
                'content="https://cdn.example/sjis.jpg"></head></html>'
            ).encode("shift_jis"),
            {"Content-Type": "text/html"},
        ),
        "/photo": lambda asked: Reply(200, JPEG, {"Content-Type": "image/jpeg"}),
    }
    with serve(routes) as server:
        u = server.url
        # the .jpg is not fetched here at all: the run fetches (and checks) every image itself
        lines = [f"{u}/img/direct.jpg", f"{u}/news/1", f"{u}/card", f"{u}/nothing", f"{u}/photo"]
        path = write(tmp_path, *lines)
        pages = run(path)
        assert "/img/direct.jpg" not in server.paths()
        posts = {p.external_id: p for p in posts_of(pages)}
        assert list(posts) == [f"{u}/img/direct.jpg", f"{u}/news/1", f"{u}/card", f"{u}/photo"]
        assert [i.url for i in posts[f"{u}/img/direct.jpg"].images] == [f"{u}/img/direct.jpg"]
        news = posts[f"{u}/news/1"]
        # every og:image, the relative one read against the page; twitter:image only without
        assert [(i.url, i.alt) for i in news.images] == [
            (f"{u}/photos/1.jpg", "two smiling"),
            ("https://cdn.example/2.jpg", "two smiling"),
        ]
        assert (news.url, news.text, news.author_name) == (
            f"{u}/news/1",
            "Aya & Mei after the show",
            "Idol News",
        )
        assert news.posted_at == datetime(2026, 3, 1, 11, 0, 0)
        assert [i.url for i in posts[f"{u}/card"].images] == ["https://cdn.example/card.png"]
        assert [i.url for i in posts[f"{u}/photo"].images] == [f"{u}/photo"]

        cursor = pages[-1].cursor
        assert len(json.loads(cursor)["done"]) == 5  # the page without a picture is done too
        asked = len(server.asked)
        assert run(path, cursor) == []
        assert len(server.asked) == asked

        Path(path).write_text(f"{u}/sjis\n" + "\n".join(lines) + "\n", encoding="utf-8")
        (again,) = run(path, cursor)
        (post,) = again.posts
        assert (post.external_id, post.text) == (f"{u}/sjis", "あやのブログ")
        assert [i.url for i in post.images] == ["https://cdn.example/sjis.jpg"]


def test_a_long_list_is_stored_a_page_at_a_time_so_a_stopped_run_goes_on(tmp_path: Path) -> None:
    path = write(tmp_path, *(f"https://cdn.example/{n}.jpg" for n in range(45)))
    pages = run(path)
    assert [len(p.posts) for p in pages] == [20, 20, 5]
    # stopped after the first page was stored: the next run does the other 25
    rest = run(path, pages[0].cursor)
    assert [p.external_id for p in posts_of(rest)] == [
        f"https://cdn.example/{n}.jpg" for n in range(20, 45)
    ]


def test_unreadable_addresses_are_named_in_the_error_and_tried_again(tmp_path: Path) -> None:
    def to_metadata(asked: Asked) -> Reply:
        return Reply(302, b"", {"Location": "http://169.254.169.254/latest/meta-data/"})

    routes = {
        "/ok": page('<meta property="og:image" content="https://cdn.example/ok.jpg">'),
        "/gone": lambda asked: Reply(404, "gone", {"Content-Type": "text/html"}),
        "/doc": lambda asked: Reply(200, b"%PDF-1.7", {"Content-Type": "application/pdf"}),
        "/sneaky": to_metadata,
    }
    with serve(routes) as server:
        u = server.url
        path = write(tmp_path, f"{u}/gone", "ftp://files.example/a.jpg", f"{u}/ok", f"{u}/doc")
        Path(path).write_text(Path(path).read_text() + f"{u}/sneaky\n")
        pages = []
        with pytest.raises(SourceError) as raised:
            for got in KIND.pages(KIND.settings(path, {}), None, SourceContext(local_fetcher([]))):
                pages.append(got)
        words = str(raised.value)
        assert words.startswith("4 of 5 addresses in urls.txt could not be read")
        assert f"{u}/gone answered 404" in words
        assert "'ftp://files.example/a.jpg' is not an http(s) address" in words
        assert "neither a page nor an image (application/pdf)" in words
        assert "169.254.169.254" in words and "link-local" in words
        assert [p.external_id for p in posts_of(pages)] == [f"{u}/ok"]
        assert len(json.loads(pages[-1].cursor)["done"]) == 1

        before = len(server.asked)
        with pytest.raises(SourceError, match="4 of 4"):
            list(
                KIND.pages(
                    KIND.settings(path, {}), pages[-1].cursor, SourceContext(local_fetcher([]))
                )
            )
        assert sorted(server.paths()[before:]) == ["/doc", "/gone", "/sneaky"]


def test_a_429_on_a_page_waits_as_retry_after_says(tmp_path: Path) -> None:
    replies = [Reply(429, "slow", {"Retry-After": "3", "Content-Type": "text/plain"})]
    og = html('<meta property="og:image" content="https://cdn.example/p.jpg">')
    waits: list[float] = []
    with serve({"/p": lambda asked: replies.pop() if replies else og}) as server:
        pages = run(write(tmp_path, f"{server.url}/p"), waits=waits)
    assert waits == [3.0]
    assert [i.url for i in posts_of(pages)[0].images] == ["https://cdn.example/p.jpg"]


def test_a_missing_file_at_read_time_is_said_in_words(tmp_path: Path) -> None:
    path = write(tmp_path, "https://cdn.example/1.jpg")
    settings = KIND.settings(path, {})
    Path(path).unlink()
    with pytest.raises(SourceError, match="cannot read the URL list"):
        list(KIND.pages(settings, None, SourceContext(local_fetcher([]))))
