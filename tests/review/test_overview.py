"""The workspace counts, computed once for the home page and `faceloop status`: merged people
count for their target, people with no face are not people, and "ready for a model" follows
the `train.min_per_class` setting."""

import re

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from faceloop.cli import app
from faceloop.labels.labelling import label_faces
from faceloop.labels.person_ops import merge_people
from faceloop.review.overview import overview
from faceloop.web.app import WebSettings, create_app
from faceloop.workspace import open_workspace
from tests.builders import add_photo, make_person


def test_faces_of_a_merged_person_count_for_the_target(empty) -> None:
    ws = empty
    aya, ayase = make_person(ws, "Aya"), make_person(ws, "Ayase")
    first = [add_photo(ws, 1, folder=f"/a{n}")[1][0] for n in range(2)]
    second = [add_photo(ws, 1, folder=f"/b{n}")[1][0] for n in range(3)]
    label_faces(ws, first, "person", user_id=None, person_id=aya)
    label_faces(ws, second, "person", user_id=None, person_id=ayase)
    with ws.transaction() as s:
        merge_people(s, aya, ayase, None)

    o = overview(ws)
    assert [(p.person_id, p.name, p.faces) for p in o.progress] == [(ayase, "Ayase", 5)]
    assert o.people == 1 and o.labelled == 5


def test_overview_counts_and_progress(empty) -> None:
    ws = empty
    person = make_person(ws, "Rin")
    faces = [add_photo(ws, 1, folder=f"/{n}")[1][0] for n in range(4)]
    label_faces(ws, faces[:2], "person", user_id=None, person_id=person)
    label_faces(ws, faces[2:3], "not_face", user_id=None)
    o = overview(ws)
    assert (o.photos, o.faces, o.labelled, o.not_faces, o.unlabelled) == (4, 4, 2, 1, 1)
    assert (o.near_copies, o.photos_without_faces, o.interrupted_imports) == (0, 0, 0)
    assert o.threshold == 30
    assert [(p.name, p.faces) for p in o.progress] == [("Rin", 2)]
    assert o.ready == 0


def test_a_person_with_no_face_is_not_counted(empty) -> None:
    ws = empty
    make_person(ws, "Never Used")
    rin = make_person(ws, "Rin")
    _, (face,) = add_photo(ws, 1)
    label_faces(ws, [face], "person", user_id=None, person_id=rin)
    o = overview(ws)
    assert o.people == 1 and [p.name for p in o.progress] == ["Rin"]


def _status_ready(ws) -> tuple[str, str]:
    result = CliRunner().invoke(app, ["status", "--workspace", str(ws.root)], terminal_width=200)
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if "ready for a model" in line)
    return re.sub(r"[│|]", " ", line).split()[-1], line


def _home_ready(ws) -> tuple[int, int]:
    with TestClient(create_app(ws, WebSettings(allowed_hosts={"testserver"}))) as client:
        page = client.get("/").text
        numbers = client.get("/api/v1/overview").json()
    shown = re.search(r'<span class="num">(\d+)</span><span>with (\d+)\+ faces', page)
    assert shown.groups() == (str(numbers["ready"]), str(numbers["threshold"]))
    return numbers["ready"], numbers["threshold"]


def test_min_per_class_decides_ready_in_the_cli_and_on_the_home_page(empty) -> None:
    """Rin has 2 faces: not ready against the default 30, ready once the workspace trains on 2
    faces a person — in both places that show the count, never against a fixed number."""
    ws = empty
    person = make_person(ws, "Rin")
    faces = [add_photo(ws, 1, folder=f"/{n}")[1][0] for n in range(3)]
    label_faces(ws, faces[:2], "person", user_id=None, person_id=person)
    count, line = _status_ready(ws)
    assert count == "0" and "30+" in line
    assert _home_ready(ws) == (0, 30)
    ws.close()

    text = (ws.root / "faceloop.toml").read_text()
    assert "min_per_class = 30" in text
    (ws.root / "faceloop.toml").write_text(text.replace("min_per_class = 30", "min_per_class = 2"))
    ws = open_workspace(ws.root)
    count, line = _status_ready(ws)
    assert count == "1" and "2+" in line
    assert _home_ready(ws) == (1, 2)
    ws.close()
