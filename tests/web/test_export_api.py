"""The export over HTTP: the preview, the ZIP stream (a valid archive of the same dataset the
CLI writes, with a file name), clear errors, and the export page."""

from __future__ import annotations

import csv
import io
import json
import zipfile

from faceloop.datasets.export import DatasetOptions, plan_export


def test_the_export_streams_a_valid_zip_of_the_dataset(client, ws) -> None:
    params = {"format": "tfrecord", "min_per_class": 5, "other_ratio": 0.2, "seed": 3}
    with client.stream("GET", "/api/v1/export", params=params) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"] == "application/zip"
        disposition = response.headers["content-disposition"]
        chunks = list(response.iter_bytes())
    assert disposition.startswith('attachment; filename="faceloop-tfrecord-')
    top = disposition.split('"')[1].removesuffix(".zip")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(chunks)))
    assert archive.testzip() is None
    names = archive.namelist()
    assert all(name.startswith(top + "/") for name in names)
    files = {name.removeprefix(top + "/") for name in names}
    assert {"README.md", "labels.json", "manifest.csv", "manifest.jsonl"} <= files
    assert any(name.startswith("train-") and name.endswith(".tfrecord") for name in files)
    plan = plan_export(ws, DatasetOptions(min_per_class=5, other_ratio=0.2, seed=3))
    rows = list(csv.DictReader(io.TextIOWrapper(archive.open(f"{top}/manifest.csv"), "utf-8")))
    assert sorted(int(r["face_id"]) for r in rows) == sorted(plan.face_ids.tolist())
    labels = json.loads(archive.read(f"{top}/labels.json"))
    assert {int(k) for k in labels} == set(plan.labels_info)
    # the temporary copy is gone once the download ended
    assert list((ws.root / "cache" / "exports").iterdir()) == []


def test_the_preview_says_what_an_export_holds(client, ws) -> None:
    answer = client.get("/api/v1/export/preview", params={"min_per_class": 5, "split": "60,20,20"})
    assert answer.status_code == 200, answer.text
    preview = answer.json()
    plan = plan_export(ws, DatasetOptions(min_per_class=5, fractions=(0.6, 0.2, 0.2)))
    assert preview["faces"] == plan.faces and preview["people"] == plan.people
    assert preview["per_split"] == plan.per_split()
    first = preview["labels"][1]
    assert first["train"] + first["validation"] + first["test"] == plan.labels_info[1].faces


def test_bad_options_are_clear_422s(client) -> None:
    cases = [
        ({"format": "xml"}, "format"),
        ({"split": "0.5,0.5"}, "split must be three numbers"),
        ({"crop": "99"}, "crop"),
        ({"min_per_class": 0}, "min_per_class"),
        ({"other_ratio": 1.5}, "other_ratio"),
        ({"since": "yesterday"}, "since"),
        ({"min_per_class": 100000}, "no person has 100000 labelled faces"),
        ({"people": ["Nobody at all"], "min_per_class": 1}, "no person called 'Nobody at all'"),
    ]
    for params, message in cases:
        for path in ("/api/v1/export", "/api/v1/export/preview"):
            answer = client.get(path, params=params)
            assert answer.status_code == 422, (path, params, answer.text)
            body = answer.json()
            assert body["error"] == "invalid" and message in body["message"], body


def test_the_export_page(client) -> None:
    page = client.get("/export", headers={"accept": "text/html"})
    assert page.status_code == 200
    html = page.text
    assert 'href="/export" aria-current="page"' in html
    for fmt in ("tfrecord", "imagefolder", "parquet", "csv"):
        assert f'value="{fmt}"' in html
    assert 'action="/api/v1/export"' in html and "/static/js/export.js" in html
    assert client.get("/static/js/export.js").status_code == 200
