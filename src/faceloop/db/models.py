"""The database tables. Only `faceloop.db` talks SQL; everything else gets plain values.

Human decisions live in `decision`, which is append-only. `face_label` is derived from it (the
current label of each face) and can be rebuilt from the decisions at any time; it exists so that
queues and counts over a hundred thousand faces stay fast.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from faceloop.options import UNDO

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    __tablename__ = "user"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default="owner")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class WebSession(Base):
    """A login (or, without a password, a browser's CSRF token) of the web app. The cookie
    carries a random token; only its SHA-256 is stored, so a copy of the database opens no
    session. Logging out or changing the password sets `revoked_at`; the app also refuses a
    session idle or old beyond the `[web]` settings."""

    __tablename__ = "web_session"
    #: hex SHA-256 of the cookie's token
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class Source(Base):
    """Where photos come from: a local folder, uploads, or (later) a social network search."""

    __tablename__ = "source"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(Text)
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    schedule: Mapped[str | None] = mapped_column(String(100))
    cursor: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    paused: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    removed_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: in words, as the run met it; None after a run without one
    last_error: Mapped[str | None] = mapped_column(Text)
    next_run_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: the month (YYYY-MM) `reads_used` counts
    reads_month: Mapped[str | None] = mapped_column(String(7))
    reads_used: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    __table_args__ = (UniqueConstraint("kind", "name"),)


class Person(Base):
    __tablename__ = "person"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (Index("ix_person_name", "name"),)


class PersonAlias(Base):
    __tablename__ = "person_alias"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    alias: Mapped[str] = mapped_column(Text)
    __table_args__ = (UniqueConstraint("person_id", "alias"),)


class Account(Base):
    """A handle on a source; its owner, when known, is a strong hint for selfies."""

    __tablename__ = "account"
    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id"))
    handle: Mapped[str] = mapped_column(Text)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    display_name: Mapped[str | None] = mapped_column(Text)
    #: its posts are skipped before any photo is fetched (`faceloop forget`, or by hand)
    do_not_collect: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[datetime | None] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (UniqueConstraint("source_id", "handle"),)


class Post(Base):
    __tablename__ = "post"
    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    external_id: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    posted_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    text: Mapped[str] = mapped_column(Text, default="", server_default="")
    #: when every image of the post was stored (or refused): a post without it is fetched again
    collected_at: Mapped[datetime | None] = mapped_column(DateTime)
    __table_args__ = (UniqueConstraint("source_id", "external_id"),)


class Image(Base):
    __tablename__ = "image"
    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    phash: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(16))
    size_bytes: Mapped[int] = mapped_column(Integer)
    face_count: Mapped[int] = mapped_column(Integer)
    near_copy_of_id: Mapped[int | None] = mapped_column(ForeignKey("image.id"))
    hint_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    first_seen: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ImageOrigin(Base):
    """Each place an image was seen: a file path in an import, or a post on a source."""

    __tablename__ = "image_origin"
    id: Mapped[int] = mapped_column(primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("image.id", ondelete="CASCADE"), index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id"))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("post.id"))
    path: Mapped[str] = mapped_column(Text, default="")
    folder: Mapped[str] = mapped_column(Text, default="")
    seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (UniqueConstraint("image_id", "source_id", "path"),)


class Face(Base):
    __tablename__ = "face"
    id: Mapped[int] = mapped_column(primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("image.id", ondelete="CASCADE"), index=True)
    left: Mapped[int] = mapped_column(Integer)
    top: Mapped[int] = mapped_column(Integer)
    right: Mapped[int] = mapped_column(Integer)
    bottom: Mapped[int] = mapped_column(Integer)
    detector: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Float)
    landmarks: Mapped[list] = mapped_column(JSON)
    chip_key: Mapped[str] = mapped_column(String(64))
    crop_key: Mapped[str] = mapped_column(String(64))
    embedding: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Decision(Base):
    """One human (or import) decision about one face. Append-only: undo is another row."""

    __tablename__ = "decision"
    id: Mapped[int] = mapped_column(primary_key=True)
    face_id: Mapped[int] = mapped_column(ForeignKey("face.id", ondelete="CASCADE"), index=True)
    verdict: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    undoes_id: Mapped[int | None] = mapped_column(ForeignKey("decision.id"))
    origin: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    batch: Mapped[str | None] = mapped_column(String(36), index=True)
    detail: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class FaceLabel(Base):
    """The current label of a face, derived from its decisions."""

    __tablename__ = "face_label"
    face_id: Mapped[int] = mapped_column(
        ForeignKey("face.id", ondelete="CASCADE"), primary_key=True
    )
    decision_id: Mapped[int] = mapped_column(ForeignKey("decision.id"))
    verdict: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)


class BlobJournal(Base):
    """Blobs written ahead of the database row that will reference them.

    A crash between the two leaves a row here; the next import deletes the blob unless a row
    references it, so a killed import leaves no orphan files.
    """

    __tablename__ = "blob_journal"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Tag(Base):
    """A group or tag a person belongs to (an idol's group, say)."""

    __tablename__ = "tag"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)


class PersonTag(Base):
    __tablename__ = "person_tag"
    person_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True)


class PersonEvent(Base):
    """Append-only history of what was done to a person: rename, aliases, tags, merge, hide.

    Like decisions, each is undoable by a later event that names it in `undoes_id`.
    """

    __tablename__ = "person_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    undoes_id: Mapped[int | None] = mapped_column(ForeignKey("person_event.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class Job(Base):
    """Background work (imports, training, clustering, exports) with live progress."""

    __tablename__ = "job"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[dict | None] = mapped_column(JSON)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)


class Model(Base):
    """A trained classifier: its classes (person ids, 0 = other), figures and parent."""

    __tablename__ = "model"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    classes: Mapped[list] = mapped_column(JSON)
    metrics: Mapped[dict] = mapped_column(JSON, default=dict)
    threshold: Mapped[float] = mapped_column(Float, default=0.0)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("model.id"))
    file: Mapped[str] = mapped_column(Text)
    last_decision_id: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Prediction(Base):
    """A model's top-k guesses for an unlabelled face. Machine output: replaced freely."""

    __tablename__ = "prediction"
    model_id: Mapped[int] = mapped_column(
        ForeignKey("model.id", ondelete="CASCADE"), primary_key=True
    )
    face_id: Mapped[int] = mapped_column(
        ForeignKey("face.id", ondelete="CASCADE"), primary_key=True
    )
    rank: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    score: Mapped[float] = mapped_column(Float)
    __table_args__ = (
        Index("ix_prediction_person_score", "model_id", "person_id", "rank", "score"),
        Index("ix_prediction_face", "face_id"),
    )


class FaceGroup(Base):
    """Unlabelled faces that look like one person, offered for labelling in one action."""

    __tablename__ = "face_group"
    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    size: Mapped[int] = mapped_column(Integer, default=0)
    suggested_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    suggested_distance: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class FaceGroupMember(Base):
    __tablename__ = "face_group_member"
    face_id: Mapped[int] = mapped_column(
        ForeignKey("face.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[int] = mapped_column(
        ForeignKey("face_group.id", ondelete="CASCADE"), index=True
    )


class GroupCannotLink(Base):
    """Faces a person said are not one person: "not the same person" on a group (every face on
    a side of its own) or a split (one side per part). Faces of one record on different sides
    are never grouped together again; undoing the action sets `undone_at`."""

    __tablename__ = "group_cannot_link"
    id: Mapped[int] = mapped_column(primary_key=True)
    record: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    group_id: Mapped[int] = mapped_column(Integer, index=True)
    face_id: Mapped[int] = mapped_column(ForeignKey("face.id", ondelete="CASCADE"), index=True)
    side: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(DateTime)


class GroupMerge(Base):
    """Faces that joined a group when a person merged another group into it, one row per
    face, so that the merge can be taken back (`undone_at`)."""

    __tablename__ = "group_merge"
    id: Mapped[int] = mapped_column(primary_key=True)
    record: Mapped[str] = mapped_column(String(36), index=True)
    #: the group that kept its id
    group_id: Mapped[int] = mapped_column(Integer, index=True)
    #: the group merged into it, which is gone
    other_id: Mapped[int] = mapped_column(Integer)
    face_id: Mapped[int] = mapped_column(ForeignKey("face.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(DateTime)


class ChangeVersion(Base):
    """How often each kind of data the read model holds has changed, counted by triggers
    (migration 0005) so that every process sees every writer's changes, deletions included."""

    __tablename__ = "change_version"
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class ForgottenPerson(Base):
    """A person removed on request, who must not be collected or labelled again."""

    __tablename__ = "forgotten_person"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    aliases: Mapped[list] = mapped_column(JSON, default=list)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    forgotten_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


def undone_ids(decisions: Sequence[Decision]) -> set[int]:
    """The decisions a face's history (oldest first) has taken back. Undo events can themselves
    be undone: walking from the newest, an undo counts only while it is not undone itself. Here,
    beside the table, because the decision code and the read model both read histories."""
    undone: set[int] = set()
    for decision in reversed(decisions):
        if decision.verdict == UNDO and decision.id not in undone:
            undone.add(decision.undoes_id)
    return undone


def merge_roots(merged_into: Mapping[int, int | None]) -> dict[int, int]:
    """The person each person now counts as, for every person in `merged_into` (person id ->
    the person they were merged into, or None). Labels keep the person id they were made with,
    so every count and lookup resolves merges through this one rule: follow the chain to its
    end, a target missing from the map being an end. A merge never makes a cycle, but a
    hand-edited database could: everyone on or leading into one counts as its smallest id, so
    the answer never depends on where the walk started."""
    roots: dict[int, int] = {}
    for start in merged_into:
        if start in roots:
            continue
        path = [start]
        index = {start: 0}
        current = start
        while True:
            target = merged_into.get(current)
            if target is None:
                end = current
                break
            if target in roots:
                end = roots[target]
                break
            if target in index:
                end = min(path[index[target] :])
                break
            index[target] = len(path)
            path.append(target)
            current = target
        for person_id in path:
            roots[person_id] = end
    return roots
