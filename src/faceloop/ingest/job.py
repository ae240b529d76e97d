"""The import of an upload as a background job: the photos staged by the upload page are
imported like `faceloop import`, then removed from staging (the blob store holds them).

What should follow an import (grouping the new faces) belongs to a stage above this one, so it
registers itself here with `after_import` rather than being called from here.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from faceloop.ingest.run import ImportProgress, ImportSummary, import_photos
from faceloop.ingest.uploads import staged_files, upload_folder
from faceloop.jobs.queue import Progress, register
from faceloop.workspace import Workspace

IMPORT = "import"
#: an upload of at most this many photos is imported in the job's own process
SMALL_IMPORT = 8

AfterImport = Callable[[Workspace, ImportSummary], dict]
_after_import: list[AfterImport] = []


def after_import(step: AfterImport) -> AfterImport:
    """Run `step` after every upload's import; what it returns joins the job's result."""
    if step not in _after_import:
        _after_import.append(step)
    return step


@register(IMPORT)
def import_upload(ws: Workspace, params: dict, progress: Progress) -> dict:
    """Import an upload's staged files, then remove them (the photos are in the blob store)."""
    upload_id = params["upload_id"]
    folder = upload_folder(ws, upload_id)
    count = len(staged_files(ws, upload_id))

    def tell(p: ImportProgress) -> None:
        progress(
            p.done,
            p.total or count,
            f"{p.imported} imported, {p.faces} faces found, {p.failed} could not be read",
        )

    summary = import_photos(
        ws,
        [folder],
        recursive=True,
        by_folder=bool(params.get("by_folder")),
        workers=1 if count <= SMALL_IMPORT else None,
        progress=tell,
        source=("upload", "web uploads"),
    )
    failures = import_failures(summary.report, folder)
    shutil.rmtree(folder, ignore_errors=True)
    result = {
        "imported": summary.imported,
        "faces": summary.faces,
        "without_faces": summary.without_faces,
        "exact_duplicates": summary.exact_duplicates,
        "near_copies": summary.near_copies,
        "failed": summary.failed,
        "labelled": summary.labelled,
        "failures": failures,
        "image_ids": summary.image_ids[:500],
        "seconds": round(summary.seconds, 1),
    }
    for step in _after_import:
        result.update(step(ws, summary))
    progress(count, count, summary_text(summary))
    return result


def summary_text(summary: ImportSummary) -> str:
    """The job's last message: what the page's progress line ends on."""
    parts = [f"{summary.imported} photos imported with {summary.faces} faces"]
    if summary.exact_duplicates or summary.near_copies:
        parts.append(f"{summary.exact_duplicates + summary.near_copies} already here")
    if summary.failed:
        parts.append(f"{summary.failed} could not be read")
    return ", ".join(parts)


def import_failures(report: Path | None, folder: Path, limit: int = 100) -> list[dict]:
    """The files an import could not read and why, named as they were dropped."""
    if report is None or not report.exists():
        return []
    found = []
    prefix = str(folder) + "/"
    for line in report.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[0] == "FAILED":
            found.append({"file": parts[1].removeprefix(prefix), "reason": parts[2]})
            if len(found) >= limit:
                break
    return found


REDETECT = "redetect"


@register(REDETECT)
def redetect_job(ws: Workspace, params: dict, progress: Progress) -> dict:
    """Params (all optional): since (YYYY-MM-DD), person_id. Finds the faces of stored photos
    again with the current settings (`faceloop.ingest.redetect`); the new faces then go where
    an import's go (grouping), through the same `after_import` steps."""
    from datetime import date

    from faceloop.ingest.redetect import RedetectBusy, RedetectProgress, redetect, select_photos
    from faceloop.jobs.queue import JobError

    try:
        since = date.fromisoformat(params["since"]) if params.get("since") else None
        person_id = int(params["person_id"]) if params.get("person_id") else None
    except (TypeError, ValueError) as exc:
        raise JobError(f"not started: {exc}") from None
    photos = select_photos(ws, since=since, person_id=person_id)

    def tell(p: RedetectProgress) -> None:
        progress(p.done, p.total, f"{p.added} faces added, {p.removed} removed, {p.failed} failed")

    try:
        summary = redetect(ws, photos, progress=tell)
    except RedetectBusy as exc:
        raise JobError(str(exc)) from None
    result = {
        "photos": summary.photos,
        "changed": summary.changed,
        "added": summary.added,
        "removed": summary.removed,
        "matched": summary.matched,
        "kept_unmatched": summary.kept_unmatched,
        "skipped": summary.skipped,
        "failed": summary.failed,
        "problems": summary.problems[:100],
        "image_ids": summary.image_ids[:500],
        "seconds": round(summary.seconds, 1),
    }
    if summary.added:
        found = ImportSummary(faces=summary.added, image_ids=summary.image_ids)
        for step in _after_import:
            result.update(step(ws, found))
    progress(
        len(photos),
        len(photos),
        f"{summary.photos} photos analysed again: {summary.added} faces added, "
        f"{summary.removed} removed",
    )
    return result
