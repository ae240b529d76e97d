"""Autocomplete over people's names and aliases in any script.

Fans type whatever is under their fingers: the kanji of a name, its kana, or its romaji. Every
name and alias is indexed by its own text and by its readings (hiragana and Hepburn romaji from
pykakasi's dictionary, kana from romaji), all in `search_key` form, so "aya", "あや" and "アヤ"
find 綾瀬はるか and "ayase" finds アヤセ. Ranking: a prefix of a name or reading, then a prefix of
one of its words, then a substring; within each, the people labelled most recently first.
The index lives in memory, rebuilt when people change (readings are cached, so a rebuild over a
thousand people takes milliseconds), and a query scans it in about a millisecond.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from dataclasses import dataclass

from faceloop.labels.people import search_key, strict_key
from faceloop.readmodel import snapshot
from faceloop.readmodel.state import Snapshot
from faceloop.workspace import Workspace

MAX_RESULTS = 10
PREFIX, WORD_PREFIX, SUBSTRING = 0, 1, 2

_readings: dict[str, tuple[str, ...]] = {}
_kakasi_lock = threading.Lock()
_kakasi = None


@dataclass(frozen=True)
class NameMatch:
    person_id: int
    name: str
    #: the name or alias that matched, when it is not the person's own name
    matched: str | None
    hidden: bool
    faces: int
    rank: int
    #: what was typed IS this name or alias (or one of its readings) in another spelling:
    #: creating a new person of that name asks first
    same_name: bool = False


@dataclass(frozen=True)
class _Entry:
    person_id: int
    text: str
    keys: tuple[str, ...]
    compact: tuple[str, ...]


def readings(text: str) -> tuple[str, ...]:
    """The text's search keys: itself, its hiragana and romaji readings, kana of romaji."""
    cached = _readings.get(text)
    if cached is not None:
        return cached
    key = search_key(text)
    keys = [key]
    if not key.isascii():
        parts = _convert(key)
        keys.append(search_key("".join(p["hira"] for p in parts)))
        keys.append(search_key(" ".join(p["hepburn"] for p in parts if p["hepburn"])))
        keys.append(search_key(" ".join(p["kunrei"] for p in parts if p["kunrei"])))
    elif any(ch.isalpha() for ch in key):
        import jaconv

        keys.append(search_key(jaconv.alphabet2kana(key)))
    result = tuple(dict.fromkeys(k for k in keys if k))
    _readings[text] = result
    return result


def _convert(key: str) -> list[dict]:
    global _kakasi
    with _kakasi_lock:
        if _kakasi is None:
            import pykakasi

            _kakasi = pykakasi.kakasi()
        return _kakasi.convert(key)


class NameIndex:
    """All search keys in one string, separated by NUL, so that finding a query is one scan in
    C (`str.find`) rather than a Python loop over every key of every person."""

    def __init__(self, state: Snapshot) -> None:
        entries: list[_Entry] = []
        for record in state.people.values():
            root = state.root(record.id)
            for text in (record.name, *record.aliases):
                keys = readings(text)
                entries.append(_Entry(root, text, keys, tuple(k.replace(" ", "") for k in keys)))
        self.entries = entries
        parts: list[str] = []
        owners: list[int] = []
        starts: list[int] = []
        position = 1
        for index, entry in enumerate(entries):
            for key in dict.fromkeys((*entry.keys, *entry.compact)):
                parts.append(key)
                owners.append(index)
                starts.append(position)
                position += len(key) + 1
        self.haystack = "\0" + "\0".join(parts) + "\0"
        self.starts = starts
        self.owners = owners

    def search(self, state: Snapshot, query: str, limit: int = MAX_RESULTS) -> list[NameMatch]:
        q = search_key(query).replace("\0", "")
        best: dict[int, tuple[int, str]] = {}
        same: set[int] = set()
        if not q:
            for person_id, _ in sorted(state.last_used.items(), key=lambda kv: -kv[1]):
                root = state.root(person_id)
                if root not in best and root in state.people:
                    best[root] = (PREFIX, state.people[root].name)
                if len(best) >= limit:
                    break
        else:
            self._scan(q, best, same)
        counts = state.root_counts()
        recency: dict[int, int] = {}
        for pid, used in state.last_used.items():
            root = state.root(pid)
            if root in best:
                recency[root] = max(recency.get(root, 0), used)
        matches = []
        for person_id, (rank, text) in best.items():
            record = state.people.get(person_id)
            if record is None:
                continue
            matches.append(
                NameMatch(
                    person_id,
                    record.name,
                    None if text == record.name else text,
                    record.hidden,
                    counts.get(person_id, 0),
                    rank,
                    person_id in same,
                )
            )
        matches.sort(
            key=lambda m: (
                m.rank,
                not m.same_name,
                m.hidden,
                -recency.get(m.person_id, 0),
                m.name,
            )
        )
        return matches[:limit]

    def _scan(self, q: str, best: dict[int, tuple[int, str]], same: set[int]) -> None:
        haystack, starts, owners, entries = self.haystack, self.starts, self.owners, self.entries
        find = haystack.find
        at = find(q)
        while at != -1:
            key = bisect_right(starts, at) - 1
            if at == starts[key]:
                rank = PREFIX
            elif haystack[at - 1] == " ":
                rank = WORD_PREFIX
            else:
                rank = SUBSTRING
            entry = entries[owners[key]]
            if rank == PREFIX and haystack[at + len(q)] == "\0":
                same.add(entry.person_id)
            held = best.get(entry.person_id)
            if held is None or rank < held[0]:
                best[entry.person_id] = (rank, entry.text)
            at = find(q, at + 1)


def name_index(state: Snapshot) -> NameIndex:
    cached = state.cache.get("names")
    if cached is None or cached[0] != state.people_version:
        cached = (state.people_version, NameIndex(state))
        state.cache["names"] = cached
    return cached[1]


def suggest_names(ws: Workspace, query: str, limit: int = MAX_RESULTS) -> list[NameMatch]:
    """People whose name or alias matches what was typed, best first; with nothing typed,
    the people labelled most recently."""
    state = snapshot(ws)
    return name_index(state).search(state, query, max(1, min(limit, 50)))


def exact_person(ws: Workspace, name: str) -> int | None:
    """The one person whose name or an alias is `name` as typed (compared by `strict_key`:
    case and width aside). Another spelling of it ("Hugo Chavez" for "Hugo_Chávez") is not
    taken silently: creating that person asks first (NameTaken)."""
    key, strict = search_key(name), strict_key(name)
    state = snapshot(ws)
    found = {
        e.person_id
        for e in name_index(state).entries
        if e.keys[0] == key and strict_key(e.text) == strict
    }
    return found.pop() if len(found) == 1 else None
