"""The dataset over HTTP: what an export would hold, and the export itself as a ZIP download.

The export is written into a temporary folder in the workspace (the same writers, staging and
checks as `faceloop export`), then streamed as a ZIP of that folder and deleted when the
response ends, whether it was read to the end or the client went away.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from faceloop.datasets.export import DatasetOptions, ExportPlan, export_workspace, plan_export
from faceloop.export import SPLITS
from faceloop.export.archive import zip_stream
from faceloop.options import ExportCrop, ExportFormat, SplitRule
from faceloop.web.deps import WS
from faceloop.workspace import Workspace

router = APIRouter(tags=["export"])

MAX_PEOPLE = 1000
MAX_NAME = 200
#: temporary export folders older than this are left-overs of a server that was stopped
STALE_SECONDS = 24 * 3600
ZIP = {"content": {"application/zip": {}}, "description": "a ZIP of the dataset folder"}

SplitText = Annotated[
    str, Query(max_length=100, description="train, validation, test fractions: 0.8,0.1,0.1")
]
Seed = Annotated[int, Query(ge=0, le=2**31 - 1)]
MinPerClass = Annotated[int | None, Query(ge=1, le=1_000_000)]
OtherRatio = Annotated[float | None, Query(ge=0.0, lt=1.0)]
DownloadToken = Annotated[
    str | None,
    Query(
        pattern="^[0-9a-f]{8,64}$",
        description="the page's token: the response sets the cookie faceloop_download_<token> "
        "to the file's name, so the page can tell the download started",
    ),
]
DOWNLOAD_COOKIE = "faceloop_download_"
People = Annotated[
    list[str] | None,
    Query(description="a person's name, alias or #id; repeat for several (or one per line)"),
]


@dataclass(frozen=True)
class PreviewLabel:
    label: int
    person_id: int | None
    name: str | None
    train: int
    validation: int
    test: int


@dataclass(frozen=True)
class ExportPreview:
    """What an export with these options holds (label 0 is "other")."""

    faces: int
    people: int
    #: labelled faces in the workspace, before choosing
    labelled: int
    per_split: dict[str, int]
    labels: list[PreviewLabel]
    notes: list[str]


def _options(
    format: str,
    split: str,
    seed: int,
    split_rule: str,
    min_per_class: int | None,
    other_ratio: float | None,
    crop: str,
    people: list[str] | None,
    since: date | None,
    common_keys: bool,
) -> DatasetOptions:
    """The query's options, checked by the library as the CLI's are; a request may also name
    people one per line, within limits that keep a URL's work bounded."""
    names = [line.strip() for item in people or () for line in item.splitlines() if line.strip()]
    if len(names) > MAX_PEOPLE:
        raise ValueError(f"at most {MAX_PEOPLE} people can be named")
    if any(len(name) > MAX_NAME for name in names):
        raise ValueError(f"a name has at most {MAX_NAME} characters")
    return DatasetOptions.from_text(
        format=format,
        split=split,
        seed=seed,
        split_rule=split_rule,
        min_per_class=min_per_class,
        other_ratio=other_ratio,
        crop=crop,
        people=tuple(names),
        since=since,
        common_keys=common_keys,
    )


def preview_of(plan: ExportPlan) -> ExportPreview:
    labels = [
        PreviewLabel(
            info.label, info.person_id, info.name, *(info.per_split.get(s, 0) for s in SPLITS)
        )
        for info in plan.labels_info.values()
    ]
    return ExportPreview(
        plan.faces, plan.people, plan.labelled, plan.per_split(), labels, list(plan.notes)
    )


@router.get("/export/preview", response_model=ExportPreview)
def preview(
    ws: WS,
    format: ExportFormat = ExportFormat.TFRECORD,
    split: SplitText = "0.8,0.1,0.1",
    seed: Seed = 0,
    split_rule: SplitRule = SplitRule.EXACT,
    min_per_class: MinPerClass = None,
    other_ratio: OtherRatio = None,
    crop: ExportCrop = ExportCrop.CROP_112,
    people: People = None,
    since: date | None = None,
    common_keys: bool = False,
) -> ExportPreview:
    """The people, labels and split sizes an export with these options would have."""
    options = _options(
        format,
        split,
        seed,
        split_rule,
        min_per_class,
        other_ratio,
        crop,
        people,
        since,
        common_keys,
    )
    return preview_of(plan_export(ws, options))


@router.get("/export", response_class=StreamingResponse, responses={200: ZIP})
def export(
    ws: WS,
    format: ExportFormat = ExportFormat.TFRECORD,
    split: SplitText = "0.8,0.1,0.1",
    seed: Seed = 0,
    split_rule: SplitRule = SplitRule.EXACT,
    min_per_class: MinPerClass = None,
    other_ratio: OtherRatio = None,
    crop: ExportCrop = ExportCrop.CROP_112,
    people: People = None,
    since: date | None = None,
    common_keys: bool = False,
    download: DownloadToken = None,
) -> StreamingResponse:
    """The dataset, exactly as `faceloop export` writes it, as a ZIP download whose single
    top-level folder is named like the file. Options as in the preview."""
    options = _options(
        format,
        split,
        seed,
        split_rule,
        min_per_class,
        other_ratio,
        crop,
        people,
        since,
        common_keys,
    )
    plan = plan_export(ws, options)
    scratch = _scratch(ws)
    try:
        export_workspace(ws, scratch / "out", options, plan=plan)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    name = f"faceloop-{format}-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"

    def stream():
        try:
            yield from zip_stream(scratch / "out", name)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    response = StreamingResponse(
        stream(),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}.zip"'},
        background=BackgroundTask(shutil.rmtree, scratch, ignore_errors=True),
    )
    if download:
        # a page cannot see a download start; it can see this cookie, named by its token
        response.set_cookie(
            DOWNLOAD_COOKIE + download, f"{name}.zip", max_age=300, samesite="strict"
        )
    return response


def _scratch(ws: Workspace) -> Path:
    """A new temporary folder beside the blobs (same disk), clearing old ones left behind."""
    parent = ws.root / "cache" / "exports"
    parent.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for old in parent.iterdir():
        try:
            if now - old.stat().st_mtime > STALE_SECONDS:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            continue
    return Path(tempfile.mkdtemp(prefix="export-", dir=parent))
