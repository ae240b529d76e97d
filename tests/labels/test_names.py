"""Autocomplete: any script, readings, ranking, merges."""

from __future__ import annotations

import pytest

from faceloop.labels.decisions import PERSON, decide
from faceloop.labels.labelling import label_faces
from faceloop.labels.names import exact_person, readings, suggest_names
from faceloop.labels.people import NameTaken, search_key, strict_key
from faceloop.labels.person_ops import add_alias, merge_people
from tests.builders import add_photo, make_person


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
    with empty.transaction() as s:
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
    with ws.transaction() as s:
        decide(s, face, PERSON, person_id=second)
    assert names(ws, "yui") == ["Yui B", "Yui A"]
    assert [m.person_id for m in suggest_names(ws, "")] == [second]
    assert first != second


def test_merged_people_are_found_under_their_new_name(empty) -> None:
    ws = empty
    old, new = make_person(ws, "Nanase"), make_person(ws, "七瀬")
    with ws.transaction() as s:
        merge_people(s, old, new, None)
    [match] = suggest_names(ws, "nanase")
    assert (match.person_id, match.name, match.matched) == (new, "七瀬", "Nanase")
    assert exact_person(ws, "NANASE") == new
    assert exact_person(ws, "nobody") is None


def test_a_new_person_is_found_at_once(empty) -> None:
    assert names(empty, "sak") == []
    make_person(empty, "Sakura")
    assert names(empty, "sak") == ["Sakura"]


def test_search_key_folds_separators_case_accents_and_width() -> None:
    for spelling in ("Serena_Williams", "serena williams", "SERENA  WILLIAMS", "Serena-Williams"):
        assert search_key(spelling) == "serena williams", spelling
    assert search_key("Hugo Chávez") == search_key("Hugo_Chavez") == "hugo chavez"
    assert search_key("Hugo Cha\u0301vez") == "hugo chavez"  # typed decomposed (macOS)
    assert search_key("Ｓｅｒｅｎａ") == "serena"  # full-width
    assert search_key("ｱﾔｾ") == search_key("アヤセ") == "あやせ"  # half-width katakana
    assert search_key("ガッキー") == "がっきー"  # the kana voicing marks are not accents
    assert search_key("J.R.R. Tolkien") == "j r r tolkien"
    assert strict_key("Hugo Chávez") != strict_key("Hugo_Chavez")


def test_other_spellings_find_the_person(empty) -> None:
    make_person(empty, "Serena_Williams")
    make_person(empty, "Hugo_Chavez")
    make_person(empty, "ガッキー")
    for query in ("Serena W", "serena_w", "serena williams", "SERENA-WILL", "Ｓｅｒｅｎａ"):
        assert names(empty, query) == ["Serena_Williams"], query
    assert names(empty, "Hugo Chávez") == ["Hugo_Chavez"]
    assert names(empty, "hugo chavez") == ["Hugo_Chavez"]
    assert names(empty, "がっき") == ["ガッキー"]
    [exact] = suggest_names(empty, "Hugo Chávez")
    assert exact.same_name
    [partial] = suggest_names(empty, "Hugo Ch")
    assert not partial.same_name


def test_creating_another_spelling_of_a_name_is_refused_unless_asked(empty) -> None:
    hugo = make_person(empty, "Hugo_Chavez")
    with empty.transaction() as s:
        add_alias(s, hugo, "El Comandante", None)
    _, faces = add_photo(empty, 3)
    # the name as it is (case and width aside) is the person, as before
    same = label_faces(empty, [faces[0]], PERSON, user_id=None, name="hugo_chavez")
    assert (same.person_id, same.created_person) == (hugo, False)
    for spelling in ("Hugo Chávez", "HUGO CHAVEZ", "el-comandante"):
        with pytest.raises(NameTaken) as refused:
            label_faces(empty, [faces[1]], PERSON, user_id=None, name=spelling)
        assert (refused.value.person_id, refused.value.person_name) == (hugo, "Hugo_Chavez")
        assert "Hugo_Chavez already exists" in str(refused.value)
    assert exact_person(empty, "Hugo Chávez") is None
    second = label_faces(
        empty, [faces[1]], PERSON, user_id=None, name="Hugo Chávez", new_person=True
    )
    assert second.created_person and second.person_id != hugo
    assert second.person_name == "Hugo Chávez"
