"""The dataset card (README.md) and a contact sheet per person.

The card says what is in the dataset and how it was made, in the Hugging Face dataset-card shape
(YAML front matter, then Markdown) so hubs and people read it the same way. Contact sheets let a
person check a label at a glance.

Sheets are picked while the faces stream past without holding their images: for each label the
faces with the smallest hash of their id are kept (so the sample is spread over the whole stream
and the same faces show up export after export), and only the crops of faces that enter that
sample are appended to a spill file on disk. Memory is a few numbers per sampled face.
"""

from __future__ import annotations

import hashlib
import heapq
import io
import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from faceloop.export.labels import LabelBook
from faceloop.export.manifest import iso_utc
from faceloop.export.records import OTHER_LABEL, SPLITS, DatasetCard

CARD_FILE = "README.md"
SHEETS_DIR = "contact_sheets"
# 56 px is half a 112 px crop: JPEG decodes straight to it (draft), with no resize
TILE = 56


class ContactSheets:
    def __init__(self, spill_path: Path, faces_per_sheet: int) -> None:
        self._path = spill_path
        self._spill = spill_path.open("w+b")
        self._size = max(1, faces_per_sheet)
        # label -> max-heap (by negated key) of (-key, face_id, offset, length)
        self._chosen: dict[int, list[tuple[int, int, int, int]]] = {}

    def add(self, label: int, face_id: int, crop_jpeg: bytes) -> None:
        digest = hashlib.blake2b(face_id.to_bytes(8, "little", signed=True), digest_size=8)
        key = int.from_bytes(digest.digest())
        heap = self._chosen.setdefault(label, [])
        if len(heap) >= self._size and -heap[0][0] <= key:
            return
        offset = self._spill.seek(0, io.SEEK_END)
        self._spill.write(crop_jpeg)
        entry = (-key, face_id, offset, len(crop_jpeg))
        if len(heap) < self._size:
            heapq.heappush(heap, entry)
        else:
            heapq.heapreplace(heap, entry)

    def write(self, folder: Path, book: LabelBook) -> dict[int, str]:
        """Render one PNG per label into `folder`; returns label -> path relative to OUT."""
        written = {}
        for info in book.labels():
            entries = sorted(self._chosen.get(info.label, ()), key=lambda e: e[1])
            if not entries:
                continue
            name = f"{info.label:04d}-{info.folder}.png"
            # photographic tiles barely compress: zlib level 1 is a third of the time of 6
            self._render(entries).save(folder / name, "PNG", compress_level=1)
            written[info.label] = f"{folder.name}/{name}"
        return written

    def _render(self, entries: list[tuple[int, int, int, int]]) -> Image.Image:
        columns = math.ceil(math.sqrt(len(entries)))
        rows = math.ceil(len(entries) / columns)
        sheet = Image.new("RGB", (columns * TILE, rows * TILE), (40, 40, 40))
        for i, (_, _, offset, length) in enumerate(entries):
            self._spill.seek(offset)
            try:
                with Image.open(io.BytesIO(self._spill.read(length))) as tile:
                    tile.draft("RGB", (TILE, TILE))
                    tile = tile.convert("RGB")
                    if tile.size != (TILE, TILE):
                        tile = tile.resize((TILE, TILE), Image.Resampling.BILINEAR)
            except (UnidentifiedImageError, OSError):
                continue
            sheet.paste(tile, ((i % columns) * TILE, (i // columns) * TILE))
        return sheet

    def close(self) -> None:
        self._spill.close()
        self._path.unlink(missing_ok=True)


def _cell(text: object) -> str:
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def write_card(
    path: Path,
    card: DatasetCard,
    book: LabelBook,
    *,
    format_description: str,
    image_description: str,
    sheets: Mapping[int, str],
    data_files: Mapping[str, str] | None = None,
) -> None:
    """README.md for the dataset; `data_files` (split -> file) lets hub tools find the splits."""
    created = card.created or datetime.now(UTC).replace(microsecond=0)
    per_split = book.per_split()
    lines = ["---", f"pretty_name: {json.dumps(card.title, ensure_ascii=False)}"]
    lines += ["task_categories:", "- image-classification", "tags:", "- faces", "- faceloop"]
    if data_files:
        lines += ["configs:", "- config_name: default", "  data_files:"]
        for split, file in data_files.items():
            lines += [f"  - split: {split}", f"    path: {json.dumps(file)}"]
    lines += ["---", "", f"# {card.title}", ""]
    if card.description:
        lines += [card.description, ""]
    facts = [
        ("Created", iso_utc(created)),
        ("faceloop version", card.faceloop_version),
        ("Model", card.model),
        ("Minimum faces per person", card.min_per_class),
        ("Other ratio", card.other_ratio),
        ("Format", format_description),
        ("Images", image_description),
        ("People", sum(1 for i in book.labels() if i.label != OTHER_LABEL)),
        ("Faces", sum(per_split.values())),
    ]
    lines += ["| | |", "|---|---|"]
    lines += [f"| {k} | {_cell('not recorded' if v is None else v)} |" for k, v in facts]
    lines += ["", "## Splits", "", "| split | faces |", "|---|---:|"]
    lines += [f"| {split} | {per_split[split]} |" for split in SPLITS]
    lines += ["", "## People", ""]
    lines += ["Label 0 is *other*: faces of people who are not targets of this dataset.", ""]
    lines += ["| label | name | aliases | train | validation | test | total | contact sheet |"]
    lines += ["|---:|---|---|---:|---:|---:|---:|---|"]
    for info in book.labels():
        counts = book.counts[info.label]
        name = "other (not a target)" if info.label == OTHER_LABEL else info.name or ""
        sheet = f"[sheet](<{sheets[info.label]}>)" if info.label in sheets else ""
        row = [info.label, _cell(name), _cell(", ".join(info.aliases))]
        row += [counts[s] for s in SPLITS] + [sum(counts.values()), sheet]
        lines.append("| " + " | ".join(str(c) for c in row) + " |")
    lines += ["", "The files `manifest.csv` and `manifest.jsonl` list every face with its source"]
    lines += ["photo, where the photo came from, and who labelled it, when and how."]
    path.write_text("\n".join(lines) + "\n", "utf-8")
