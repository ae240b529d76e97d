"""Labels, the people behind them, and the folder names they get on disk.

Every format writes ``labels.json`` (label -> name, aliases, person id, folder), because TFRecord
and image folders store only a number or a folder per face and a dataset without its names is
useless. The same book counts faces per label and split for the summary and the dataset card.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from faceloop.export.records import OTHER_LABEL, SPLITS, ExportError, ExportFace

LABELS_FILE = "labels.json"
OTHER_NAME = "other"
MAX_NAME_BYTES = 120

_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|\u200e\u200f\u202a-\u202e\u2066-\u2069]')
_RESERVED = re.compile(r"(?i)^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$")


def safe_name(name: str, max_bytes: int = MAX_NAME_BYTES) -> str:
    """A folder name that is the same person on Linux, macOS and Windows and cannot escape OUT.

    Letters of every script are kept (a Japanese name stays readable); separators, characters
    Windows forbids, control and bidirectional-override characters become "_"; names that are
    only dots, that start with "-" (an option to most tools) or that Windows reserves are
    changed; the UTF-8 length is capped well under the 255-byte limit of common file systems.
    """
    clean = " ".join(_UNSAFE.sub("_", unicodedata.normalize("NFC", name)).split())
    clean = clean.strip(" .")
    encoded = clean.encode()
    if len(encoded) > max_bytes:
        clean = encoded[:max_bytes].decode(errors="ignore").rstrip(" .")
    if clean.startswith("-"):
        clean = "_" + clean[1:]
    if _RESERVED.match(clean):
        clean += "_"
    return clean or "_"


@dataclass(frozen=True, slots=True)
class LabelInfo:
    label: int
    name: str | None
    aliases: tuple[str, ...]
    person_id: int | None
    folder: str


class LabelBook:
    """What each label means, learnt from the faces as they stream past."""

    def __init__(self) -> None:
        self._info: dict[int, LabelInfo] = {}
        self._taken: set[str] = set()
        self.counts: dict[int, dict[str, int]] = {}

    def observe(self, face: ExportFace) -> LabelInfo:
        info = self._info.get(face.label)
        if info is None:
            info = self._new(face)
            self._info[face.label] = info
            self.counts[face.label] = dict.fromkeys(SPLITS, 0)
        elif (
            face.label != OTHER_LABEL
            and face.person_id is not None
            and info.person_id is not None
            and face.person_id != info.person_id
        ):
            raise ExportError(
                f"label {face.label} is person {info.person_id} and person {face.person_id} "
                f"(face {face.face_id}); one label must be one person"
            )
        self.counts[face.label][face.split] += 1
        return info

    def _new(self, face: ExportFace) -> LabelInfo:
        if face.label == OTHER_LABEL:
            name, aliases, person_id = None, (), None
            wanted = OTHER_NAME
        else:
            name, aliases, person_id = face.person_name, face.aliases, face.person_id
            wanted = safe_name(name) if name else f"label-{face.label}"
            if wanted.casefold() == OTHER_NAME:
                wanted = f"{wanted}-{face.label}"
        folder, attempt = wanted, 0
        # case-insensitive, because "Mei" and "mei" are one folder on macOS and Windows
        while folder.casefold() in self._taken:
            attempt += 1
            folder = f"{wanted}-{face.label}" + (f"-{attempt}" if attempt > 1 else "")
        self._taken.add(folder.casefold())
        return LabelInfo(face.label, name, tuple(aliases), person_id, folder)

    def labels(self) -> list[LabelInfo]:
        return [self._info[label] for label in sorted(self._info)]

    def per_split(self) -> dict[str, int]:
        return {split: sum(c[split] for c in self.counts.values()) for split in SPLITS}

    def write_json(self, path: Path) -> None:
        document = {
            str(info.label): {
                "name": OTHER_NAME if info.label == OTHER_LABEL else info.name,
                "aliases": list(info.aliases),
                "person_id": info.person_id,
                "folder": info.folder,
                "other": info.label == OTHER_LABEL,
            }
            for info in self.labels()
        }
        path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", "utf-8")


def read_labels_json(path: Path) -> dict[int, LabelInfo]:
    """labels.json as written; label 0 comes back with no name: it is nobody in particular."""
    document = json.loads(path.read_text("utf-8"))
    result = {}
    for key, entry in document.items():
        label = int(key)
        other = entry.get("other", label == OTHER_LABEL)
        result[label] = LabelInfo(
            label=label,
            name=None if other else entry.get("name"),
            aliases=tuple(entry.get("aliases") or ()),
            person_id=entry.get("person_id"),
            folder=entry.get("folder") or str(label),
        )
    return result
