"""Autocomplete: any script, readings, ranking, merges."""

from __future__ import annotations

from faceloop.review.decisions import PERSON, decide
from faceloop.review.names import exact_person, readings, suggest_names
from faceloop.review.person_ops import add_alias, merge_people
from tests.review.conftest import add_photo, make_person


def names(ws, query):
    return [m.name for m in suggest_names(ws, query)]


def test_readings_cover_kana_and_romaji() -> None:
    keys = readings("綾瀬はるか")
    assert "あやせはるか" in keys
    assert "ayase haruka" in keys
    assert "あやせ" in readings("アヤセ")
    assert "あやせ" in readings("ayase")


def test_kanji_found_by_romaji_kana_and_katakana(empty) -> None:
    make_person(empty, "綾瀬はるか")
    make_person(empty, "Mio Aoi")
    for query in ("aya", "AYA", "ａｙａ", "あや", "アヤ", "綾瀬", "haruka", "ayaseharu"):
        assert names(empty, query) == ["綾瀬はるか"], query


def test_romaji_name_found_by_kana(empty) -> None:
    make_person(empty, "Mio Aoi")
    assert names(empty, "みお") == ["Mio Aoi"]


def test_aliases_match_and_say_which(empty) -> None:
    pid = make_person(empty, "橋本環奈")
    with empty.session() as s:
        add_alias(s, pid, "Kanna-chan", None)
    [match] = suggest_names(empty, "kanna-c")
    assert match.person_id == pid
    assert match.matched == "Kanna-chan"


def test_prefix_then_word_prefix_then_substring(empty) -> None:
    make_person(empty, "Rina Sato")
    make_person(empty, "Sato Mei")
    make_person(empty, "Risato")
    assert names(empty, "sato") == ["Sato Mei", "Rina Sato", "Risato"]


def test_recent_use_breaks_ties(empty) -> None:
    ws = empty
    first, second = make_person(ws, "Yui A"), make_person(ws, "Yui B")
    _, (face,) = add_photo(ws, 1)
    assert names(ws, "yui") == ["Yui A", "Yui B"]
    with ws.session() as s:
        decide(s, face, PERSON, person_id=second)
    assert names(ws, "yui") == ["Yui B", "Yui A"]
    assert [m.person_id for m in suggest_names(ws, "")] == [second]
    assert first != second


def test_merged_people_are_found_under_their_new_name(empty) -> None:
    ws = empty
    old, new = make_person(ws, "Nanase"), make_person(ws, "七瀬")
    with ws.session() as s:
        merge_people(s, old, new, None)
    [match] = suggest_names(ws, "nanase")
    assert (match.person_id, match.name, match.matched) == (new, "七瀬", "Nanase")
    assert exact_person(ws, "NANASE") == new
    assert exact_person(ws, "nobody") is None


def test_a_new_person_is_found_at_once(empty) -> None:
    assert names(empty, "sak") == []
    make_person(empty, "Sakura")
    assert names(empty, "sak") == ["Sakura"]
