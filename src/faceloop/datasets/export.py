"""The workspace's labelled faces as a dataset: the database side of `faceloop.export`.

An export is planned first and streamed second. The plan holds three numbers per labelled face
(id, label, split), which is all that choosing the classes and the splits needs; the faces
themselves (images, box, embedding, provenance) are then read a chunk of ids at a time and
handed to the format writer one by one, so memory stays flat however many faces there are.

The rules, and why:
- Labels are the current ones (derived from the decisions); a person merged into another counts
  as the person merged into, and hidden people are left out (forgotten people have no faces).
- Classes are chosen as training chooses them: people with at least `min_per_class` faces get a
  label of their own (1, 2, ... in the order of their person ids, as the classifier's classes
  are ordered); faces of everyone else, and faces marked not-a-face or unknown person, are
  class 0, "other", sampled to about `other_ratio` of the dataset. The sample is taken by a
  seeded hash of the face id rather than a random draw, so successive exports keep the same
  "other" faces. Class 0 carries no names: the people in it are not targets of the dataset.
- Splits are exactly stratified by label (see `faceloop.export.splits`); a face imported from a
  dataset keeps the split it had there, so an exported, imported and re-exported dataset has the
  same splits.
- `since` keeps the faces labelled since then, with the labels and splits a full export gives
  them, so incremental exports add up to the full one.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as day_start
from pathlib import Path
from typing import Literal

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from faceloop import __version__
from faceloop.db.models import (
    Account,
    Decision,
    Face,
    FaceLabel,
    Image,
    ImageOrigin,
    Model,
    Person,
    PersonAlias,
    Post,
    Source,
    User,
)
from faceloop.export import (
    OTHER_LABEL,
    SPLITS,
    DatasetCard,
    ExportFace,
    ExportOptions,
    ExportSummary,
    ParquetOptions,
    Provenance,
    TFRecordOptions,
    assign_splits,
    write_csv,
    write_image_folders,
    write_parquet,
    write_tfrecord,
)
from faceloop.export.splits import DEFAULT_FRACTIONS, parse_fractions
from faceloop.labels.decisions import PERSON
from faceloop.labels.people import people_named
from faceloop.learning.training_data import person_roots
from faceloop.options import ExportCrop, ExportFormat, SplitRule, choose
from faceloop.workspace import Workspace
from faceloop.workspace.faults import from_os_error

FORMATS: tuple[str, ...] = tuple(ExportFormat)
#: what the format writers call each crop choice
CROPS: dict[ExportCrop, Literal["crop", "chip", "photo"]] = {
    ExportCrop.CROP_112: "crop",
    ExportCrop.CHIP_150: "chip",
    ExportCrop.PHOTO: "photo",
}
CHUNK = 500
IMPORT_ORIGIN = "import"

_WRITERS = {
    "tfrecord": write_tfrecord,
    "imagefolder": write_image_folders,
    "parquet": write_parquet,
    "csv": write_csv,
}


class NothingToExport(ValueError):
    """The options select no face; the message says why and what to change."""


@dataclass(frozen=True)
class DatasetOptions:
    """What to export and how. None for `min_per_class` / `other_ratio` takes the workspace's
    training settings, so an export matches what `faceloop train` learns from. The options are
    checked here, once, whichever door (CLI, web, library) they came through: a bad word or
    number is a ValueError (an `OptionError` for a word) that says what would do."""

    format: ExportFormat = ExportFormat.TFRECORD
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS
    seed: int = 0
    split_rule: SplitRule = SplitRule.EXACT
    min_per_class: int | None = None
    other_ratio: float | None = None
    crop: ExportCrop = ExportCrop.CROP_112
    #: names (or aliases, or "#id") of the people to export; empty: everyone with enough faces
    people: tuple[str, ...] = ()
    #: only faces labelled at or after this moment (a date means its midnight, UTC)
    since: datetime | date | None = None
    #: TFRecord: image/encoded, image/format, image/class/label instead of the original keys
    common_keys: bool = False
    contact_sheets: bool = True
    title: str | None = None

    def __post_init__(self) -> None:
        set_field = object.__setattr__
        set_field(self, "format", choose(ExportFormat, self.format, "format"))
        set_field(self, "crop", choose(ExportCrop, self.crop, "crop"))
        set_field(self, "split_rule", choose(SplitRule, self.split_rule, "split_rule"))
        set_field(self, "people", tuple(self.people))
        _check_amounts(self.min_per_class, self.other_ratio)

    @classmethod
    def from_text(
        cls,
        *,
        split: str = "0.8,0.1,0.1",
        since: str | date | None = None,
        **options: object,
    ) -> DatasetOptions:
        """The options as a person types them: the split as "0.8,0.1,0.1" (or "80,10,10") and
        `since` as an ISO date or time; the other options as the dataclass takes them."""
        when = datetime.fromisoformat(since) if isinstance(since, str) and since else since
        return cls(fractions=parse_fractions(split), since=when or None, **options)  # type: ignore[arg-type]


def _check_amounts(min_per_class: int | None, other_ratio: float | None) -> None:
    if min_per_class is not None and min_per_class < 1:
        raise ValueError(f"min_per_class must be at least 1, not {min_per_class}")
    if other_ratio is not None and (not 0.0 <= other_ratio < 1.0 or math.isnan(other_ratio)):
        raise ValueError(f"other_ratio must be at least 0 and below 1, not {other_ratio}")


@dataclass(frozen=True)
class PlannedLabel:
    label: int
    person_id: int | None
    name: str | None
    aliases: tuple[str, ...]
    #: faces of this label in the export, per split
    per_split: dict[str, int]

    @property
    def faces(self) -> int:
        return sum(self.per_split.values())


@dataclass(frozen=True)
class ExportPlan:
    """Which faces go out under which label and split; ids ascending."""

    face_ids: np.ndarray
    labels: np.ndarray
    #: index into SPLITS per face
    splits: np.ndarray
    labels_info: dict[int, PlannedLabel]
    min_per_class: int
    other_ratio: float
    #: labelled faces in the workspace before any choice (hidden people left out)
    labelled: int
    #: things the person exporting should know (a named person under the minimum, say)
    notes: tuple[str, ...] = ()

    @property
    def faces(self) -> int:
        return len(self.face_ids)

    @property
    def people(self) -> int:
        return sum(1 for label in self.labels_info if label != OTHER_LABEL)

    def per_split(self) -> dict[str, int]:
        counts = np.bincount(self.splits, minlength=len(SPLITS)) if self.faces else [0, 0, 0]
        return {split: int(counts[i]) for i, split in enumerate(SPLITS)}


@dataclass(frozen=True)
class WorkspaceExport:
    summary: ExportSummary
    plan: ExportPlan
    seconds: float
    notes: tuple[str, ...] = field(default_factory=tuple)


def _since(value: datetime | date | None) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        return datetime.combine(value, day_start())
    if value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _hash_key(tag: str, seed: int, face_id: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{tag}:{seed}:{face_id}".encode()).digest()[:8], "big")


def plan_export(ws: Workspace, options: DatasetOptions) -> ExportPlan:
    """Choose the faces, labels and splits; raises NothingToExport when none is left."""
    settings = ws.settings.train
    min_per_class = (
        settings.min_per_class if options.min_per_class is None else options.min_per_class
    )
    other_ratio = settings.other_ratio if options.other_ratio is None else options.other_ratio
    _check_amounts(min_per_class, other_ratio)
    since = _since(options.since)
    notes: list[str] = []
    with ws.reader() as session:
        roots = person_roots(session)
        wanted_people = _named_people(session, options.people)
        ids, owners, stamps = _labelled(session, roots)
        counts = Counter(owner for owner in owners if owner)
        targets = sorted(p for p, n in counts.items() if n >= min_per_class)
        if wanted_people is not None:
            for person_id in sorted(wanted_people):
                if counts.get(person_id, 0) < min_per_class:
                    name = session.scalar(select(Person.name).where(Person.id == person_id))
                    hidden = roots.get(person_id) is None
                    notes.append(
                        f"{name} is hidden and left out"
                        if hidden
                        else f"{name} has {counts.get(person_id, 0)} labelled faces, fewer than "
                        f"the {min_per_class} a class needs; left out"
                    )
            targets = [p for p in targets if p in wanted_people]
        if not targets:
            best = max(counts.values(), default=0)
            raise NothingToExport(
                f"no person has {min_per_class} labelled faces"
                + (" among the people named" if wanted_people is not None else "")
                + f" (the most any has is {best}); label more faces or lower min_per_class"
            )
        label_of = {person_id: i + 1 for i, person_id in enumerate(targets)}
        names = _names(session, targets)
        pinned = _imported_splits(session)

    face_ids = np.asarray(ids, dtype=np.int64)
    owner_array = np.asarray(owners, dtype=np.int64)
    is_target = np.isin(owner_array, np.asarray(targets, dtype=np.int64))
    chosen = _with_other(face_ids, is_target, other_ratio, options.seed)
    labels = np.asarray(
        [label_of.get(int(owner_array[i]), OTHER_LABEL) for i in chosen], dtype=np.int64
    )
    chosen_ids = face_ids[chosen]
    assigned = assign_splits(
        chosen_ids.tolist(),
        labels.tolist(),
        options.fractions,
        options.seed,
        rule=options.split_rule,
        fixed={i: pinned[i] for i in chosen_ids.tolist() if i in pinned},
    )
    split_codes = np.asarray([SPLITS.index(assigned[i]) for i in chosen_ids.tolist()], np.uint8)
    if since is not None:
        recent = np.asarray([stamps[i] >= since for i in chosen], dtype=bool)
        chosen_ids, labels, split_codes = chosen_ids[recent], labels[recent], split_codes[recent]
        if not len(chosen_ids):
            raise NothingToExport(f"no face of the chosen people was labelled since {since}")
    per_label: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(SPLITS, 0))
    for label, code in zip(labels.tolist(), split_codes.tolist(), strict=True):
        per_label[label][SPLITS[code]] += 1
    info = {}
    for label in sorted(per_label):
        person_id = targets[label - 1] if label != OTHER_LABEL else None
        name, aliases = names.get(person_id, (None, ())) if person_id else (None, ())
        info[label] = PlannedLabel(label, person_id, name, aliases, dict(per_label[label]))
    return ExportPlan(
        face_ids=chosen_ids,
        labels=labels,
        splits=split_codes,
        labels_info=info,
        min_per_class=min_per_class,
        other_ratio=other_ratio,
        labelled=len(ids),
        notes=tuple(notes),
    )


def _labelled(
    session: Session, roots: dict[int, int | None]
) -> tuple[list[int], list[int], list[datetime]]:
    """Every labelled face (ascending id) with the person it counts for (0 for not-a-face and
    unknown person) and when it got its label; faces of hidden people are left out."""
    rows = session.execute(
        select(Face.id, FaceLabel.verdict, FaceLabel.person_id, Decision.created_at)
        .join(FaceLabel, FaceLabel.face_id == Face.id)
        .join(Decision, Decision.id == FaceLabel.decision_id)
        .order_by(Face.id)
    )
    ids, owners, stamps = [], [], []
    for face_id, verdict, person_id, labelled_at in rows:
        root = roots.get(person_id) if verdict == PERSON else OTHER_LABEL
        if root is None:
            continue
        ids.append(face_id)
        owners.append(root)
        stamps.append(labelled_at)
    return ids, owners, stamps


def _with_other(
    face_ids: np.ndarray, is_target: np.ndarray, other_ratio: float, seed: int
) -> np.ndarray:
    """Positions of the target faces plus an "other" sample making up `other_ratio` of the
    whole, taken in the order of a seeded hash of the face id (the same faces every time)."""
    chosen = np.flatnonzero(is_target)
    wanted = round(other_ratio / (1.0 - other_ratio) * len(chosen))
    if not wanted:
        return chosen
    pool = np.flatnonzero(~is_target)
    keys = np.asarray([_hash_key("other", seed, int(face_ids[i])) for i in pool], np.uint64)
    others = pool[np.argsort(keys, kind="stable")[:wanted]]
    return np.sort(np.concatenate([chosen, others]))


def _named_people(session: Session, names: tuple[str, ...]) -> set[int] | None:
    if not names:
        return None
    found: set[int] = set()
    unknown = []
    for name in names:
        matches = people_named(session, name)
        if not matches:
            unknown.append(name)
        found.update(matches)
    if unknown:
        raise ValueError("no person called " + ", ".join(repr(n) for n in unknown))
    return found


def _names(session: Session, person_ids: list[int]) -> dict[int, tuple[str, tuple[str, ...]]]:
    """Name and aliases of each root person; names of people merged into them are aliases."""
    rows = session.execute(select(Person.id, Person.name, Person.merged_into_id)).all()
    parent = {pid: merged for pid, _, merged in rows}
    name_of = {pid: name for pid, name, _ in rows}

    def root(pid: int) -> int:
        seen = {pid}
        while parent.get(pid) is not None and parent[pid] not in seen:
            pid = parent[pid]
            seen.add(pid)
        return pid

    wanted = set(person_ids)
    extra: dict[int, list[str]] = defaultdict(list)
    for pid, name, _ in rows:
        r = root(pid)
        if r in wanted and r != pid:
            extra[r].append(name)
    for pid, alias in session.execute(select(PersonAlias.person_id, PersonAlias.alias)):
        r = root(pid)
        if r in wanted:
            extra[r].append(alias)
    result = {}
    for pid in person_ids:
        aliases = [a for a in dict.fromkeys(extra[pid]) if a != name_of[pid]]
        result[pid] = (name_of[pid], tuple(aliases))
    return result


def _imported_splits(session: Session) -> dict[int, str]:
    """The split each imported face had in its dataset, from the import decisions' detail."""
    found: dict[int, str] = {}
    rows = session.execute(
        select(Decision.face_id, Decision.detail)
        .where(Decision.origin == IMPORT_ORIGIN, Decision.detail.is_not(None))
        .order_by(Decision.id)
    )
    for face_id, detail in rows:
        split = detail.get("split") if isinstance(detail, dict) else None
        if split in SPLITS:
            found[face_id] = split
    return found


def stream_faces(
    ws: Workspace, plan: ExportPlan, crop: ExportCrop = ExportCrop.CROP_112, chunk: int = CHUNK
) -> Iterator[ExportFace]:
    """The planned faces, read from the database a chunk at a time and from the blob store one
    at a time, as the writer takes them. The 112 px crop is always read (contact sheets show
    it); the chip only for `crop="150"`; a photo only when the writer asks for it."""
    chip_wanted = crop == ExportCrop.CHIP_150
    for start in range(0, plan.faces, chunk):
        ids = plan.face_ids[start : start + chunk].tolist()
        with ws.reader() as session:
            rows = {row.id: row for row in _face_rows(session, ids)}
            origins = _origins(session, {row.image_id for row in rows.values()})
        for offset, face_id in enumerate(ids):
            row = rows.get(face_id)
            if row is None:  # deleted since the plan was made (a person forgotten meanwhile)
                continue
            label = int(plan.labels[start + offset])
            info = plan.labels_info[label]
            origin = origins.get(row.image_id)
            yield ExportFace(
                face_id=face_id,
                label=label,
                split=SPLITS[int(plan.splits[start + offset])],
                crop_jpeg=_blob(ws, row.crop_key),
                person_id=info.person_id,
                person_name=info.name,
                aliases=info.aliases,
                chip_jpeg=_blob(ws, row.chip_key) if chip_wanted else None,
                photo=_photo_loader(ws, row.sha256),
                box=(row.left, row.top, row.right, row.bottom),
                embedding=np.frombuffer(row.embedding, dtype=np.float32),
                provenance=Provenance(
                    photo_sha256=row.sha256,
                    photo_path=origin.path if origin else None,
                    source_kind=origin.kind if origin else None,
                    account=origin.handle if origin else None,
                    post_url=origin.url if origin else None,
                    posted_at=origin.posted_at if origin else None,
                    labelled_by=row.user_name,
                    labelled_at=row.created_at,
                    label_origin=row.origin,
                ),
            )


def _face_rows(session: Session, ids: list[int]):
    return session.execute(
        select(
            Face.id,
            Face.image_id,
            Face.left,
            Face.top,
            Face.right,
            Face.bottom,
            Face.crop_key,
            Face.chip_key,
            Face.embedding,
            Image.sha256,
            Decision.created_at,
            Decision.origin,
            User.name.label("user_name"),
        )
        .join(Image, Image.id == Face.image_id)
        .join(FaceLabel, FaceLabel.face_id == Face.id)
        .join(Decision, Decision.id == FaceLabel.decision_id)
        .outerjoin(User, User.id == Decision.user_id)
        .where(Face.id.in_(ids))
    ).all()


def _origins(session: Session, image_ids: set[int]) -> dict:
    """Where each photo was first seen: file path, source kind, and the post when there is one."""
    if not image_ids:
        return {}
    first = (
        select(func.min(ImageOrigin.id))
        .where(ImageOrigin.image_id.in_(image_ids))
        .group_by(ImageOrigin.image_id)
    )
    rows = session.execute(
        select(
            ImageOrigin.image_id,
            ImageOrigin.path,
            Source.kind,
            Post.url,
            Post.posted_at,
            Account.handle,
        )
        .join(Source, Source.id == ImageOrigin.source_id)
        .outerjoin(Post, Post.id == ImageOrigin.post_id)
        .outerjoin(Account, Account.id == Post.account_id)
        .where(ImageOrigin.id.in_(first))
    ).all()
    return {row.image_id: row for row in rows}


def _blob(ws: Workspace, key: str) -> bytes:
    """A missing blob gives no bytes: the writer skips that face and says so."""
    try:
        return ws.blobs.get(key)
    except (OSError, KeyError):
        return b""


def _photo_loader(ws: Workspace, key: str) -> Callable[[], bytes]:
    return lambda: ws.blobs.get(key)


def _card(ws: Workspace, options: DatasetOptions, plan: ExportPlan) -> DatasetCard:
    with ws.reader() as session:
        model = session.scalar(select(Model).order_by(Model.id.desc()).limit(1))
    detect = ws.settings.detect
    described = (
        f"dlib ResNet face descriptor (128-d, run by {detect.embedder}); {detect.detector} "
        "detector; 5-point alignment"
    )
    if model is not None:
        described += f"; suggestions from {model.kind} model #{model.id}"
    split_text = ", ".join(f"{s} {f:g}" for s, f in zip(SPLITS, options.fractions, strict=True))
    rule = (
        "exactly stratified by label"
        if options.split_rule == SplitRule.EXACT
        else "by a per-face hash"
    )
    description = (
        f"Exported from the faceloop workspace {ws.root.name}. Splits: {split_text}, seed "
        f"{options.seed}, {rule}; faces imported from another dataset keep the split they had "
        "there."
    )
    if options.since is not None:
        description += f" Only faces labelled since {_since(options.since).isoformat()} (UTC)."
    description += (
        " In the manifests, label_origin says how a face got its label: manual (a person named"
        " it), suggestion (a person confirmed a model's suggestion), group or bulk (named with"
        " a group of look-alike faces, or many at once), import (from a dataset or a folder"
        " name)."
    )
    return DatasetCard(
        title=options.title or f"faceloop dataset: {ws.root.name}",
        faceloop_version=__version__,
        model=described,
        min_per_class=plan.min_per_class,
        other_ratio=plan.other_ratio,
        description=description,
    )


def export_workspace(
    ws: Workspace,
    out_dir: Path | str,
    options: DatasetOptions | None = None,
    *,
    plan: ExportPlan | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> WorkspaceExport:
    """Plan (unless a plan is given) and write the dataset into `out_dir`, which must be new or
    empty. `progress(done, total)` is called as faces are written."""
    options = options or DatasetOptions()
    started = time.monotonic()
    plan = plan or plan_export(ws, options)
    total = plan.faces
    every = max(1, min(500, total // 200))
    common = {
        "image": CROPS[options.crop],
        "card": _card(ws, options, plan),
        "contact_sheets": options.contact_sheets,
        "progress_every": every,
    }
    if options.format == ExportFormat.TFRECORD:
        writer_options: ExportOptions = TFRecordOptions(
            **common, keys="common" if options.common_keys else "original"
        )
    elif options.format == ExportFormat.PARQUET:
        writer_options = ParquetOptions(**common)
    else:
        writer_options = ExportOptions(**common)
    tell = (lambda done: progress(done, total)) if progress is not None else None
    try:
        summary = _WRITERS[options.format](
            stream_faces(ws, plan, options.crop), out_dir, writer_options, progress=tell
        )
    except OSError as exc:
        # the partial folder is gone by now; a full disk or a read-only mount is no bug of
        # the export and says so in words (a job's message, the command's one line)
        fault = from_os_error(exc, out_dir)
        if fault is None:
            raise
        raise fault from exc
    return WorkspaceExport(summary, plan, time.monotonic() - started, plan.notes)
