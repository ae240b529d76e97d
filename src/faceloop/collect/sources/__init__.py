"""The kinds of source, one module each; `KINDS` finds a kind by its name."""

from __future__ import annotations

import importlib

from faceloop.collect.base import SourceError, SourceKind

#: module names under this package; adding a kind is adding its module here
MODULES = ("folder", "urls", "rss", "mastodon", "misskey", "bluesky", "x")


def kinds() -> dict[str, SourceKind]:
    found = {}
    for name in MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            continue
        found[module.KIND.name] = module.KIND
    return found


def kind(name: str) -> SourceKind:
    known = kinds()
    if name not in known:
        raise SourceError(f"no kind of source called {name!r}; known: {', '.join(sorted(known))}")
    return known[name]
