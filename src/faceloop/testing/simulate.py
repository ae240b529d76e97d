"""How much labelling a person does with faceloop: an oracle that knows every face drives
faceloop's own queues until every face is labelled, and the same oracle labels the same photos
the original way, in one run.

This is the library behind `bench/simulate_labeling.py` (which gives it a command line), so a
test can drive it on a few people without running a script.

DATASET is any folder with one folder of photos per person. People with fewer than
--min-photos photos are left out. The photos are imported into a fresh workspace with
faceloop's import (kept in --workspace CACHE and reused by later runs with the same selection),
unlabelled. Truth: a photo's person is its largest face (ties: nearest the centre); any other
face in it is "unknown person".

Actions are the keypresses and clicks the real pages need, and faces shown are the faces they
put on the screen. The oracle calls the library functions the pages' API routes call, with what
the page would send, so it sees exactly what a person sees:
- groups page (grouping/run.py; largest group first): the oracle deselects each face that is
  not the group's main identity (1 action each), then names the group: Enter on the suggested
  person ("probably <name>"), or typing a name and Enter, which counts as ONE action however
  long the name (autocomplete fills it after a few letters; a keypress count would depend only
  on the names), or `u` for "unknown person": 1 action for the group;
- mixed confirm pages (GET/POST /api/v1/confirm: review/confirm_page.py `confirm_view(
  mode="mixed", source="nearest", reach=...)` and `answer_suggestions`; up to 24 faces of anyone,
  each captioned with its own suggested person, the person of its nearest labelled face,
  review/look_alikes.py, usable long before anyone has enough faces for a model, nearest first;
  then, once only small groups are left, the faces of small groups that all look like one
  person named, review/small_groups.py; at most 24 whatever --page says): the oracle
  deselects each face that is not the person named under it (1 action each), then Enter:
  "yes" to the kept faces, each as its own person, "no" to the deselected ones, each for the
  person it was suggested as: 1 action for the page. At the "close" reach (the learned
  threshold) first; at the "wide" reach (a quarter farther) only when nothing else but the
  label queue is left; while groups wait, a page is taken only once it holds --fill faces
  (12) and at least as many as the largest group;
- "unknown person" pages (/passers-by, GET/POST /api/v1/passers-by: review/passers_by.py
  `passers_by` and `mark_passers_by`; faces smaller than another face of their photo, in no
  group and like no one labelled, smallest first): 1 action per page (Enter, even when every
  face was deselected and nothing is marked), 1 per deselected face; deselected faces are left
  out of the next pages, as the page does;
- the label queue (review/label_queue.py, one face at a time): 1 action per face (a digit picks a
  suggested person, or a typed name, or `u`).
Like the app's job hooks, the faces are grouped again after --recluster-after decisions, and
a model is trained (warm start) and predicts after --retrain-after decisions once someone has
min_per_class faces.

The original workflow, simulated on a copy of the same import: label one face at a time
(photos with one face first) until people have 30 faces; then train, and confirm predictions one
at a time, best first (y: 1 action; n: 1 action and the face goes back to the label queue);
retrain after every 200 decisions; repeat until every face is labelled.

Printed for both: actions per labelled face, faces shown per labelled face, label precision
(share of faces whose final label is their true one), and the ratio of actions.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from faceloop.collect.accounts import link_account, suggest_links
from faceloop.db.models import Account, Face, FaceLabel, Image, ImageOrigin, Model, Person, Post
from faceloop.grouping.actions import label_group, mark_unknown
from faceloop.grouping.job import active_cluster_job
from faceloop.grouping.run import recluster
from faceloop.grouping.views import group_detail, list_groups
from faceloop.ingest.run import import_photos
from faceloop.ingest.scan import IMAGE_EXTENSIONS
from faceloop.jobs import queue as jobs
from faceloop.labels.labelling import label_faces
from faceloop.learning.job import active_train_job
from faceloop.review.confirm_page import Answer, answer_suggestions, confirm_view
from faceloop.review.label_queue import next_faces
from faceloop.review.model_guesses import answer_page, next_suggestions
from faceloop.review.passers_by import mark_passers_by, passers_by
from faceloop.workspace import Workspace, init_workspace, open_workspace

#: faces a mixed look-alike page must hold before it is taken while groups wait: a page is
#: one Enter however full, and naming the groups first fills it (lfw-devtrain, 5+ photos:
#: 603 actions taking any page at least as large as the largest group, 563 with 12, 572 with 24)
FILL = 12

Say = Callable[[str], None]


def _quiet(message: str) -> None:
    """The default for `say`: a library prints nothing unless its caller asks."""


class SimulationError(ValueError):
    """A dataset the simulation cannot run on, for a reason its message gives."""


# ------------------------------------------------------------------ the dataset and its import


def select_people(
    dataset: Path, min_photos: int, limit_people: int | None
) -> dict[str, list[Path]]:
    """Person folder name -> photo files, for people with at least min_photos photos, in name
    order (the first limit_people of them). A dataset that gives no one raises
    SimulationError: a simulation of nobody would print figures that mean nothing."""
    if not dataset.is_dir():
        raise SimulationError(f"{dataset} is not a folder")
    people: dict[str, list[Path]] = {}
    for folder in sorted(p for p in dataset.iterdir() if p.is_dir()):
        photos = sorted(
            f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS
        )
        if len(photos) >= min_photos:
            people[folder.name] = photos
    if limit_people is not None:
        people = dict(list(people.items())[:limit_people])
    if not people:
        raise SimulationError(f"no folder in {dataset} has {min_photos} photos")
    return people


def cached_import(
    people: dict[str, list[Path]], cache: Path, workers: int | None, say: Say = _quiet
) -> Path:
    """A workspace holding exactly these photos, unlabelled: imported once, then reused."""
    files = [str(f.resolve()) for photos in people.values() for f in photos]
    key = hashlib.sha256("\n".join(files).encode()).hexdigest()[:16]
    root = cache / f"import-{key}"
    done = root / "simulation-import.json"
    if done.exists():
        return root
    if root.exists():
        shutil.rmtree(root)
    started = time.monotonic()
    say(f"importing {len(files):,} photos of {len(people)} people into {root} ...")
    with init_workspace(root) as ws:
        summary = import_photos(ws, files, workers=workers)
    say(
        f"imported {summary.imported:,} photos, {summary.faces:,} faces in "
        f"{time.monotonic() - started:.0f} s"
    )
    done.write_text(json.dumps({"files": len(files), "faces": summary.faces}), encoding="utf-8")
    return root


def fresh_copy(pristine: Path, where: Path) -> Path:
    """A copy of the cached import to label, so the next run starts from the same photos."""
    if where.exists():
        shutil.rmtree(where)
    shutil.copytree(pristine, where, ignore=shutil.ignore_patterns("queue.db*", "locks"))
    return where


# ------------------------------------------------------------------ truth


UNKNOWN = ""


def truth_of(ws: Workspace) -> dict[int, str]:
    """Face id -> the person's folder name, or UNKNOWN for every face but the photo's largest
    (ties: nearest the centre)."""
    with ws.reader() as session:
        folder = {}
        for image_id, path in session.execute(
            select(ImageOrigin.image_id, ImageOrigin.path).order_by(ImageOrigin.id)
        ):
            folder.setdefault(image_id, Path(path).parent.name)
        sizes = dict(
            (i, (w, h)) for i, w, h in session.execute(select(Image.id, Image.width, Image.height))
        )
        faces: dict[int, list[tuple]] = {}
        for row in session.execute(
            select(Face.id, Face.image_id, Face.left, Face.top, Face.right, Face.bottom)
        ):
            faces.setdefault(row[1], []).append(row)
    truth = {}
    for image_id, rows in faces.items():
        w, h = sizes[image_id]

        def key(r: tuple, w: int = w, h: int = h) -> tuple[float, float]:
            cx, cy = (r[2] + r[4]) / 2, (r[3] + r[5]) / 2
            return (-(r[4] - r[2]) * (r[5] - r[3]), (cx - w / 2) ** 2 + (cy - h / 2) ** 2)

        main = min(rows, key=key)
        for r in rows:
            truth[r[0]] = folder[image_id] if r is main else UNKNOWN
    return truth


# ------------------------------------------------------------------ counting


@dataclass
class Tally:
    """Actions and faces shown, by where they were spent."""

    actions: dict
    shown: dict

    @classmethod
    def new(cls) -> Tally:
        return cls({}, {})

    def add(self, where: str, actions: int, shown: int) -> None:
        self.actions[where] = self.actions.get(where, 0) + actions
        self.shown[where] = self.shown.get(where, 0) + shown

    @property
    def total_actions(self) -> int:
        return sum(self.actions.values())

    @property
    def total_shown(self) -> int:
        return sum(self.shown.values())


@dataclass
class Outcome:
    name: str
    tally: Tally
    labelled: int
    faces: int
    precision: float
    seconds: float
    notes: str = ""


def score(
    ws: Workspace, truth: dict[int, str], name: str, tally: Tally, started: float, notes: str = ""
) -> Outcome:
    with ws.reader() as session:
        names = dict(session.execute(select(Person.id, Person.name)).all())
        roots = {}
        for pid, merged in session.execute(select(Person.id, Person.merged_into_id)):
            roots[pid] = merged
        labels = session.execute(
            select(FaceLabel.face_id, FaceLabel.verdict, FaceLabel.person_id)
        ).all()
    right = 0
    for face_id, verdict, person_id in labels:
        while person_id is not None and roots.get(person_id) is not None:
            person_id = roots[person_id]
        said = names.get(person_id, "?") if verdict == "person" else UNKNOWN
        if verdict in ("person", "unknown") and said == truth.get(face_id):
            right += 1
    return Outcome(
        name,
        tally,
        labelled=len(labels),
        faces=len(truth),
        precision=right / max(len(labels), 1),
        seconds=time.monotonic() - started,
        notes=notes,
    )


# ------------------------------------------------------------------ the hooks the app runs


def run_hooks(ws: Workspace, tally: Tally, *, cluster: bool = True) -> None:
    """Run to the end at once what the decisions so far started by themselves (the app's
    after-decision rules queue them; a worker would pick them up right away)."""
    for queued, where in ((active_train_job, "trainings"), (active_cluster_job, "re-clusterings")):
        if queued is active_cluster_job and not cluster:
            continue
        job_id = queued(ws)
        if job_id is not None:
            job = jobs.run_job(ws, job_id)
            tally.add(where, 0, 0)
            tally.shown[where] = tally.shown.get(where, 0) + 1
            if job.status != "done" and "not trained" not in job.message:
                raise RuntimeError(f"{job.kind} job failed: {job.message}")


def set_settings(root: Path, **values: object) -> None:
    """Write [train] settings into the workspace's faceloop.toml."""
    path = root / "faceloop.toml"
    text = path.read_text(encoding="utf-8")
    lines = []
    for line in text.splitlines():
        key = line.split("=")[0].strip()
        if key in values:
            line = f"{key} = {values.pop(key)}"
        lines.append(line)
    if values:
        at = lines.index("[train]") + 1
        lines[at:at] = [f"{key} = {value}" for key, value in values.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def model_threshold(ws: Workspace) -> float | None:
    with ws.reader() as session:
        row = session.execute(select(Model.threshold).order_by(Model.id.desc()).limit(1)).first()
    return None if row is None else float(row[0])


def label_as_truth(
    ws: Workspace, face_id: int, truth: dict[int, str], user_id: int, origin: str = "manual"
) -> None:
    who = truth[face_id]
    if who == UNKNOWN:
        label_faces(ws, [face_id], "unknown", user_id=user_id, origin=origin)
    else:
        label_faces(ws, [face_id], "person", user_id=user_id, name=who, origin=origin)


# ------------------------------------------------------------------ posts and accounts

#: a generated author: each person's own account posts this share of her photos
OWN_SHARE = 0.6
#: the rest come from this many fan or hashtag accounts, each posting several people
FAN_ACCOUNTS = 20


def read_posts_csv(path: Path) -> dict[str, str]:
    """Photo path (resolved) -> author account, from a CSV of `path,account` rows (a header
    row, if any, is the one whose path is not a file)."""
    found = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.reader(handle):
            if len(row) < 2 or not row[0].strip():
                continue
            photo = Path(row[0].strip()).expanduser()
            if not photo.is_absolute():
                photo = path.parent / photo
            if photo.exists():
                found[str(photo.resolve())] = row[1].strip()
    if not found:
        raise SimulationError(f"{path}: no row names a photo that exists (path,account)")
    return found


def post_by_accounts(
    ws: Workspace, authors: dict[str, str] | None = None, *, seed: int = 0
) -> dict[str, int]:
    """Give every photo an author account, as collection would: `authors` (photo path ->
    account), else generated per person folder (her own account `@<folder>` posts OWN_SHARE of
    her photos, FAN_ACCOUNTS fan accounts the rest, at random). Photos are posted on a paused
    folder source of their own; the answer is the number of photos posted per account."""
    from faceloop.collect.run import add_source, set_paused
    from faceloop.testing.posts import post_photos

    inbox = ws.root / "simulated-posts"
    inbox.mkdir(exist_ok=True)
    source = add_source(ws, "folder", str(inbox))
    set_paused(ws, source.id, True)
    with ws.reader() as session:
        rows = session.execute(
            select(ImageOrigin.image_id, ImageOrigin.path).order_by(ImageOrigin.id)
        ).all()
        first_face = {
            image_id: face_id
            for image_id, face_id in session.execute(
                select(Face.image_id, func.min(Face.id)).group_by(Face.image_id)
            ).all()
        }
    chance = random.Random(seed)
    by_account: dict[str, list[int]] = {}
    seen: set[int] = set()
    for image_id, path in rows:
        if image_id in seen or image_id not in first_face:
            continue
        seen.add(image_id)
        if authors is not None:
            handle = authors.get(str(Path(path).resolve()))
            if handle is None:
                continue
        elif chance.random() < OWN_SHARE:
            handle = "@" + Path(path).parent.name
        else:
            handle = f"@fan_{chance.randrange(FAN_ACCOUNTS) + 1:02d}"
        by_account.setdefault(handle, []).append(first_face[image_id])
    for handle, faces in by_account.items():
        post_photos(ws, source.id, handle, faces)
    return {handle: len(faces) for handle, faces in by_account.items()}


def account_owners(ws: Workspace, truth: dict[int, str]) -> dict[str, str]:
    """Handle -> whose own account it is, as the oracle knows it: the person of most of its
    photos, when that is more than half of them (a fan account is nobody's)."""
    with ws.reader() as session:
        rows = session.execute(
            select(Account.handle, Face.id)
            .join(Post, Post.account_id == Account.id)
            .join(ImageOrigin, ImageOrigin.post_id == Post.id)
            .join(Face, Face.image_id == ImageOrigin.image_id)
        ).all()
    counts: dict[str, dict[str, int]] = {}
    for handle, face_id in rows:
        who = truth.get(face_id, UNKNOWN)
        if who != UNKNOWN:
            per = counts.setdefault(handle, {})
            per[who] = per.get(who, 0) + 1
    owners = {}
    for handle, per in counts.items():
        who, n = max(per.items(), key=lambda kv: kv[1])
        if n * 2 > sum(per.values()):
            owners[handle] = who
    return owners


# ------------------------------------------------------------------ faceloop's workflow


def simulate_faceloop(
    ws: Workspace,
    truth: dict[int, str],
    *,
    page: int,
    fill: int = FILL,
    owners: dict[str, str] | None = None,
) -> Tally:
    """After the app's hooks, the oracle takes the page that names the most faces in one
    action: the mixed confirm page of look-alikes (each face with its own suggested person,
    nearest first; at the "sure" reach while the largest group is someone nobody has named yet,
    whose look-alikes would be offered as other people; "close" otherwise) when it
    holds at least as many faces as the largest group and at least `fill` (else it waits
    while naming groups brings it more), else the largest group (groups page);
    with neither, the passers-by ("unknown person" page); then a
    mixed page of wide look-alikes; then the label queue, one face at a time. The model is
    retrained as the app's hook does it, and its guesses come first among the label queue's
    suggestions; its own confirm pages are not used: on LFW the faces left by then were the
    model's mistakes more often than not.
    The app's hook groups the faces again after `recluster_after` decisions, and sooner once
    no group is left.
    With `owners` (photos posted by accounts: handle -> whose own account it is), first of all
    the oracle links each account the accounts page suggests when it is that person's (1
    action; a wrong suggestion is dismissed, 1 action, once), and answers the pages of selfies
    from linked accounts (`confirm_view(mode="page", source="account")`) as any page."""
    tally = Tally.new()
    dismissed: set[int] = set()
    user = ws.owner_id()
    recluster(ws)
    not_background: set[int] = set()

    def mixed(reach: str):
        return confirm_view(ws, mode="mixed", source="nearest", reach=reach, limit=page)

    def answer(where: str, view) -> None:
        """Enter on a mixed confirm page: "yes" to the right faces, each as the person named
        under it, "no" to the wrong ones, each for the person it was suggested as. A wrong face
        the page pre-checked costs a deselection, a right one it left unsure a tick, a wrong one
        it left unsure two (Space cycles yes, no): a skipped face would only come back."""
        wrong = [item.face_id for item in view.items if truth[item.face_id] != item.person_name]
        answers = [
            Answer(
                item.face_id,
                "no" if item.face_id in wrong else "yes",
                suggested_person_id=item.person_id,
                source=item.source,
            )
            for item in view.items
        ]
        answer_suggestions(ws, None, answers, user_id=user)
        unsure = [i for i in view.items if not i.checked]
        ticked = sum(2 if i.face_id in wrong else 1 for i in unsure)
        deselected = sum(1 for i in view.items if i.checked and i.face_id in wrong)
        tally.add(where, 1, len(view.items))
        tally.add(where + ", deselected", deselected, 0)
        tally.add(where + ", ticked", ticked, 0)

    while True:
        run_hooks(ws, tally, cluster=True)
        if owners is not None:
            for link in suggest_links(ws):
                if link.account_id in dismissed:
                    continue
                if owners.get(link.handle) == link.person_name:
                    link_account(ws, link.account_id, link.person_id, user)
                    tally.add("accounts: link", 1, 0)
                else:
                    dismissed.add(link.account_id)
                    tally.add("accounts: dismiss", 1, 0)
            selfies = confirm_view(ws, mode="page", source="account", limit=page)
            if selfies.items:
                answer("confirm: account selfies", selfies)
                continue
        groups = list_groups(ws, limit=1)
        named_next = not groups or groups[0].suggested_person_id is not None
        nearest = mixed("close" if named_next else "sure")
        if nearest.items and (not groups or len(nearest.items) >= max(groups[0].size, fill)):
            answer("confirm: look-alikes", nearest)
            continue
        if groups:
            detail = group_detail(ws, groups[0].id)
            faces = [f.face_id for f in detail.faces]
            counts: dict[str, int] = {}
            for f in faces:
                counts[truth[f]] = counts.get(truth[f], 0) + 1
            who = max(counts, key=lambda k: (counts[k], k != UNKNOWN))
            wrong = [f for f in faces if truth[f] != who]
            if who == UNKNOWN:
                mark_unknown(ws, detail.summary.id, exclude_face_ids=wrong, face_ids=faces)
            elif detail.summary.suggested_name == who:
                label_group(
                    ws,
                    detail.summary.id,
                    person_id=detail.summary.suggested_person_id,
                    exclude_face_ids=wrong,
                    face_ids=faces,
                )
            else:
                label_group(ws, detail.summary.id, name=who, exclude_face_ids=wrong, face_ids=faces)
            tally.add("groups", 1, len(faces))
            tally.add("groups, deselected", len(wrong), 0)
            continue
        background = passers_by(ws, limit=page, exclude=not_background)
        if background:
            faces = [f.face_id for f in background]
            wrong = [f for f in faces if truth[f] != UNKNOWN]
            not_background.update(wrong)
            if len(wrong) < len(faces):
                mark_passers_by(ws, faces, exclude_face_ids=wrong, user_id=user)
            tally.add("unknown person page", 1, len(faces))
            tally.add("unknown person page, deselected", len(wrong), 0)
            continue
        wide = mixed("wide")
        if wide.items:
            answer("confirm: wide look-alikes", wide)
            continue
        item = next_faces(ws, user, limit=1).items
        if not item:
            break
        label_as_truth(ws, item[0].face_id, truth, user)
        tally.add("label queue", 1, 1)
    return tally


# ------------------------------------------------------------------ the original workflow


def simulate_original(ws: Workspace, truth: dict[int, str]) -> Tally:
    """Label one at a time from the queue (photos with one face first); once people have 30
    faces the model is trained (and retrained after every 200 decisions, warm) and its guesses
    are confirmed one at a time, best first, down to the model's own threshold: y or n, one
    action each (a refused face goes back to the queue)."""
    tally = Tally.new()
    user = ws.owner_id()
    while True:
        run_hooks(ws, tally, cluster=False)
        threshold = model_threshold(ws)
        if threshold is not None:
            with ws.reader() as session:
                found = next_suggestions(session, limit=1)
            if found and found[0].score >= threshold:
                guess = found[0]
                with ws.transaction() as session:
                    name = session.scalar(select(Person.name).where(Person.id == guess.person_id))
                    yes = truth[guess.face_id] == name
                    answer_page(
                        session,
                        guess.person_id,
                        [guess.face_id] if yes else [],
                        [] if yes else [guess.face_id],
                        user,
                    )
                tally.add("confirm one at a time", 1, 1)
                continue
        item = next_faces(ws, user, limit=1).items
        if not item:
            break
        label_as_truth(ws, item[0].face_id, truth, user)
        tally.add("label queue", 1, 1)
    return tally


# ------------------------------------------------------------------ the run


def report(outcomes: list[Outcome], baseline: Outcome | None) -> str:
    """The figures as a table, the ratio of actions, and where each workflow spent them."""
    header = f"{'workflow':<34}{'actions':>9}{'per face':>10}{'shown/face':>12}{'precision':>11}"
    lines = ["", header, "-" * len(header)]
    for o in outcomes + ([baseline] if baseline else []):
        lines.append(
            f"{o.name:<34}{o.tally.total_actions:>9,}"
            f"{o.tally.total_actions / max(o.labelled, 1):>10.4f}"
            f"{o.tally.total_shown / max(o.labelled, 1):>12.3f}{o.precision:>11.2%}"
        )
    if baseline:
        for o in outcomes:
            ratio = baseline.tally.total_actions / max(o.tally.total_actions, 1)
            lines.append(f"{o.name}: {ratio:.1f}x fewer actions than the original workflow")
    first = outcomes[0] if outcomes else None
    for o in outcomes[1:]:
        mine = o.tally.total_actions / max(o.labelled, 1)
        theirs = first.tally.total_actions / max(first.labelled, 1)
        lines.append(
            f"{o.name}: {mine / max(theirs, 1e-9):.2f} of the actions per labelled face of "
            f"{first.name}"
        )
    for o in outcomes + ([baseline] if baseline else []):
        parts = ", ".join(
            f"{k} {o.tally.actions[k]:,} ({o.tally.shown.get(k, 0):,} shown)"
            for k in o.tally.actions
        )
        lines.append(
            f"  {o.name}: {o.labelled:,} of {o.faces:,} faces labelled in {o.seconds:.0f} s; "
            f"{parts}" + (f"; {o.notes}" if o.notes else "")
        )
    return "\n".join(lines)


def simulate(
    people: dict[str, list[Path]],
    cache: Path,
    *,
    recluster_after: int = 100,
    retrain_after: int = 200,
    page: int = 24,
    fill: int = FILL,
    workers: int | None = None,
    original: bool = True,
    compare_adapt: bool = False,
    posts: bool = False,
    authors: dict[str, str] | None = None,
    say: Say = _quiet,
) -> tuple[list[Outcome], Outcome | None]:
    """Import (or reuse) the photos, then run faceloop's workflow (and, with compare_adapt,
    the same without the projection; with posts, the same with every photo posted by an
    account, `authors` or generated) and the original workflow on fresh copies."""
    cache.mkdir(parents=True, exist_ok=True)
    pristine = cached_import(people, cache, workers, say)
    runs = [("faceloop", True, False)]
    runs += [("faceloop, no projection", False, False)] if compare_adapt else []
    runs += [("faceloop, with accounts", True, True)] if posts else []
    outcomes = []
    for name, adapt, with_posts in runs:
        root = fresh_copy(pristine, cache / "run-faceloop")
        set_settings(
            root,
            recluster_after=recluster_after,
            retrain_after=retrain_after,
            adapt_groups="true" if adapt else "false",
        )
        started = time.monotonic()
        with open_workspace(root) as ws:
            truth = truth_of(ws)
            owners = None
            if with_posts:
                posted = post_by_accounts(ws, authors)
                owners = account_owners(ws, truth)
                say(f"{sum(posted.values()):,} photos posted by {len(posted)} accounts")
            tally = simulate_faceloop(ws, truth, page=page, fill=fill, owners=owners)
            outcomes.append(score(ws, truth, name, tally, started))
        say(f"{name}: done in {outcomes[-1].seconds:.0f} s")
    baseline = None
    if original:
        root = fresh_copy(pristine, cache / "run-original")
        set_settings(root, recluster_after=0, retrain_after=retrain_after)
        started = time.monotonic()
        with open_workspace(root) as ws:
            truth = truth_of(ws)
            tally = simulate_original(ws, truth)
            baseline = score(ws, truth, "original workflow", tally, started)
        say(f"original workflow: done in {baseline.seconds:.0f} s")
    return outcomes, baseline
