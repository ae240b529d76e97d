"""What every writer does around its own format, so that each format module is only its format.

An `ExportRun` owns the staging folder, the label book, the manifest, the contact-sheet sample
and the progress count; a writer asks it for the faces (with the chosen image bytes), writes them
its way, tells it where each went, and lets it finish: labels.json, sheets, card, then the move
into OUT.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import suppress
from pathlib import Path
from types import TracebackType

from faceloop.export.card import CARD_FILE, SHEETS_DIR, ContactSheets, write_card
from faceloop.export.labels import LABELS_FILE, LabelBook, LabelInfo
from faceloop.export.manifest import ManifestWriter
from faceloop.export.records import (
    ExportFace,
    ExportOptions,
    ExportSummary,
    Progress,
    SkippedFace,
)
from faceloop.export.staging import Staging

IMAGE_DESCRIPTIONS = {
    "crop": "112x112 face crops (JPEG)",
    "chip": "150x150 aligned face chips (JPEG)",
    "photo": "whole source photos, as stored",
}


class ExportRun:
    def __init__(
        self,
        format_name: str,
        out_dir: Path | str,
        options: ExportOptions,
        progress: Progress | None,
    ) -> None:
        self.format_name = format_name
        self.options = options
        self.staging = Staging(out_dir)
        self.root = self.staging.root
        self.book = LabelBook()
        self._progress = progress
        self._every = max(1, options.progress_every)
        self.done = 0
        self.image_bytes = 0
        self.skipped: list[SkippedFace] = []
        self._sheets: ContactSheets | None = None
        try:
            self._manifest = ManifestWriter(self.root)
            if options.contact_sheets:
                spill = self.root / ".contact-sheet-tiles"
                self._sheets = ContactSheets(spill, options.sheet_faces)
        except BaseException:
            self.staging.abort()
            raise

    def faces(self, records: Iterable[ExportFace]) -> Iterator[tuple[ExportFace, LabelInfo, bytes]]:
        """The faces with the bytes of the chosen image; faces that have none are skipped."""
        for face in records:
            self.done += 1
            image = self._image(face)
            if image is not None:
                info = self.book.observe(face)
                if self._sheets is not None:
                    self._sheets.add(face.label, face.face_id, face.crop_jpeg)
                yield face, info, image
            if self._progress is not None and self.done % self._every == 0:
                self._progress(self.done)

    def _image(self, face: ExportFace) -> bytes | None:
        choice = self.options.image
        if choice == "crop":
            data = face.crop_jpeg
        elif choice == "chip":
            data = face.chip_jpeg
        else:
            try:
                data = face.photo() if callable(face.photo) else face.photo
            except Exception as error:
                self.skipped.append(
                    SkippedFace(face.face_id, f"photo could not be loaded: {error!r}")
                )
                return None
        if not data:
            self.skipped.append(SkippedFace(face.face_id, f"no {choice} image"))
            return None
        return bytes(data)

    def written(self, face: ExportFace, image: bytes, file: str | None) -> None:
        self.image_bytes += len(image)
        self._manifest.write(face, file)

    def finish(
        self,
        *,
        format_description: str,
        data_files: Mapping[str, str] | None = None,
    ) -> ExportSummary:
        if self._progress is not None and self.done % self._every != 0:
            self._progress(self.done)
        self._manifest.close()
        self.book.write_json(self.root / LABELS_FILE)
        sheets: dict[int, str] = {}
        if self._sheets is not None:
            folder = self.root / SHEETS_DIR
            folder.mkdir()
            sheets = self._sheets.write(folder, self.book)
            self._sheets.close()
        write_card(
            self.root / CARD_FILE,
            self.options.card,
            self.book,
            format_description=format_description,
            image_description=IMAGE_DESCRIPTIONS[self.options.image],
            sheets=sheets,
            data_files=data_files,
        )
        files = self.staging.commit()
        return ExportSummary(
            format=self.format_name,
            out_dir=self.staging.out_dir,
            files=files,
            faces=sum(self.book.per_split().values()),
            per_split=self.book.per_split(),
            per_label={label: dict(c) for label, c in self.book.counts.items()},
            image_bytes=self.image_bytes,
            skipped=tuple(self.skipped),
        )

    def __enter__(self) -> ExportRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            # the partial folder goes whatever closing its files says: on a full disk closing
            # the manifest flushes into the same full disk and fails too, and that second
            # error must not leave the half export behind, nor hide the first
            with suppress(OSError):
                self._manifest.close()
            if self._sheets is not None:
                with suppress(OSError):
                    self._sheets.close()
            self.staging.abort()
