"""`faceloop status` counts a merged person's faces for the person they were merged into."""

from faceloop.labels.labelling import label_faces
from faceloop.labels.person_ops import merge_people
from faceloop.review.status import workspace_status
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

    status = workspace_status(ws)
    assert [(p.person_id, p.name, p.faces) for p in status.per_person] == [(ayase, "Ayase", 5)]
    assert status.people == 1 and status.labelled == 5
