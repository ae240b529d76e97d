"""Uploads (staged files, then an import job) and background jobs with their progress."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile

from faceloop.ingest.job import IMPORT
from faceloop.ingest.uploads import (
    NotAPhoto,
    StagedFile,
    discard_upload,
    new_upload,
    stage_file,
    staged_files,
    upload_folder,
)
from faceloop.jobs.queue import JobInfo, get_job, list_jobs, submit
from faceloop.web.deps import WS, User
from faceloop.web.schemas import IdPath, ImportBody

router = APIRouter(tags=["jobs"])

MAX_FILES_PER_REQUEST = 200


@dataclass(frozen=True)
class Upload:
    upload_id: str


@dataclass(frozen=True)
class RejectedFile:
    name: str
    reason: str


@dataclass(frozen=True)
class StagedFiles:
    accepted: list[StagedFile] = field(default_factory=list)
    rejected: list[RejectedFile] = field(default_factory=list)


@router.post("/uploads", response_model=Upload, status_code=201)
def start_upload(ws: WS) -> Upload:
    """Open an upload: send its files (in as many requests as suit), then start its import."""
    return Upload(new_upload(ws))


@router.post("/uploads/{upload_id}/files", response_model=StagedFiles)
def add_files(
    ws: WS,
    upload_id: str,
    files: Annotated[list[UploadFile], File(description="photos")],
    paths: Annotated[list[str] | None, Form(description="each file's relative path")] = None,
) -> StagedFiles:
    """Stage photos. Files that are not photos are refused with a reason (415 when none of
    the files is a photo); a dropped folder's structure is kept from `paths`."""
    upload_folder(ws, upload_id)
    if len(files) > MAX_FILES_PER_REQUEST:
        raise ValueError(f"at most {MAX_FILES_PER_REQUEST} files in one request")
    names = list(paths or [])
    result = StagedFiles()
    for index, upload in enumerate(files):
        name = names[index] if index < len(names) and names[index] else upload.filename
        try:
            result.accepted.append(stage_file(ws, upload_id, name or "photo", upload.file))
        except NotAPhoto as exc:
            result.rejected.append(RejectedFile(name or "(no name)", str(exc)))
    if result.rejected and not result.accepted:
        reasons = "; ".join(r.reason for r in result.rejected[:5])
        raise NotAPhoto(reasons)
    return result


@router.post("/uploads/{upload_id}/import", response_model=JobInfo, status_code=202)
def import_upload(ws: WS, user: User, upload_id: str, body: ImportBody) -> JobInfo:
    """Import the staged photos in the background; follow the job at /jobs/{id}."""
    if not staged_files(ws, upload_id):
        raise ValueError("this upload has no photos yet: send files first")
    job_id = submit(ws, IMPORT, {"upload_id": upload_id, "by_folder": body.by_folder}, user)
    return get_job(ws, job_id)


@router.post("/uploads/{upload_id}/discard", status_code=204)
def discard(ws: WS, upload_id: str) -> None:
    """Forget an upload that will not be imported."""
    discard_upload(ws, upload_id)


@router.get("/jobs", response_model=list[JobInfo])
def jobs(
    ws: WS,
    active: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> list[JobInfo]:
    return list_jobs(ws, active=active, limit=limit)


@router.get("/jobs/{job_id}", response_model=JobInfo)
def job(ws: WS, job_id: IdPath) -> JobInfo:
    return get_job(ws, job_id)
