"""Tokens and app passwords of a workspace's sources, kept apart from its settings.

They live in `secrets.toml`, readable by the owner alone (0600, rewritten whole through a file
of the same mode, never wider for a moment), or in the environment as
`FACELOOP_SECRET_<NAME>` (a name's letters upper-cased, everything else `_`), which wins. They are
never logged, shown, exported or written to a report: only their names are.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

SECRETS_FILE = "secrets.toml"


def env_name(name: str) -> str:
    return "FACELOOP_SECRET_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


def _path(root: Path) -> Path:
    return root / SECRETS_FILE


def _stored(root: Path) -> dict[str, str]:
    path = _path(root)
    if not path.exists():
        return {}
    try:
        found = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: cannot read the secrets file ({type(exc).__name__})") from None
    return {str(k): str(v) for k, v in found.items() if isinstance(v, str)}


def get_secret(root: Path, name: str) -> str | None:
    return os.environ.get(env_name(name)) or _stored(root).get(name)


def secrets_for(root: Path, names: tuple[str, ...]) -> dict[str, str]:
    found = {}
    for name in names:
        value = get_secret(root, name)
        if value:
            found[name] = value
    return found


def set_secret(root: Path, name: str, value: str | None) -> None:
    """Store (or with None, remove) a secret."""
    stored = _stored(root)
    if value is None:
        stored.pop(name, None)
    else:
        stored[name] = value
    text = "".join(f"{_quoted(k)} = {_quoted(v)}\n" for k, v in sorted(stored.items()))
    path = _path(root)
    tmp = path.with_name(f".{SECRETS_FILE}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(
            "# faceloop source secrets: tokens and app passwords. Keep this file private.\n"
        )
        handle.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def secret_names(root: Path) -> list[str]:
    return sorted(_stored(root))


def _quoted(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
