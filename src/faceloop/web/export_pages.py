"""The export page: choose a format and options, see what the dataset will hold, download it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from faceloop.datasets.export import DatasetOptions, plan_export
from faceloop.options import ExportFormat
from faceloop.web.api.export import preview_of
from faceloop.web.deps import WS
from faceloop.web.templating import render

router = APIRouter(include_in_schema=False)

#: keyed by the format's word, which a member of ExportFormat finds
FORMAT_HELP = {
    "tfrecord": "tf.train.Example shards (image_raw, label, id), as the original workflow reads",
    "imagefolder": "<split>/<person>/<face id>.jpg, for torchvision ImageFolder and Keras",
    "parquet": "one file per split with images, boxes, embeddings; Hugging Face datasets",
    "csv": "images/ and manifest.csv naming each file, for pandas and spreadsheets",
}


@router.get("/export")
def export_page(request: Request, ws: WS) -> Response:
    try:
        preview, problem = preview_of(plan_export(ws, DatasetOptions())), None
    except ValueError as exc:
        preview, problem = None, str(exc)
    return render(
        request,
        "export.html",
        "export",
        formats=[(name, FORMAT_HELP[name]) for name in ExportFormat],
        settings=ws.settings.train,
        preview=preview,
        problem=problem,
    )
