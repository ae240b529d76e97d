"""Small readings every kind needs: a post's HTML as plain text, a handle spelled one way."""

from __future__ import annotations

import html
import re

_TAGS = re.compile(r"<[^>]+>")
_BREAKS = re.compile(r"<br\s*/?>|</p>", re.I)


def plain_text(markup: str | None, limit: int = 2000) -> str:
    if not markup:
        return ""
    text = html.unescape(_TAGS.sub("", _BREAKS.sub("\n", markup)))
    return text.strip()[:limit]


def require(settings: dict, key: str, what: str) -> str:
    from faceloop.collect.base import SourceError

    value = settings.get(key)
    if not isinstance(value, str) or not value.strip():
        raise SourceError(f"missing {what}")
    return value.strip()
