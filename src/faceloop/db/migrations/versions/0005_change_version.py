"""a change counter per kind of change, bumped by triggers, for the read model

Every process keeps its own in-memory read model (faces, labels, people, groups). Triggers
count each change to the tables it reads, whoever makes it (the web server, the CLI, a worker,
raw SQL, a cascade), so one cheap query tells a process whether its snapshot is current and
what to follow; deletions included, which row counts could only guess at.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 17:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

#: kind -> the (table, events) whose changes bump it. Faces and decisions are only appended in
#: normal work, which the read model follows from its last id; their updates and deletions
#: count as "removed", which makes it load everything again.
KINDS = {
    "faces": [("face", ("INSERT",))],
    "decisions": [("decision", ("INSERT",))],
    "labels": [("face_label", ("INSERT", "UPDATE", "DELETE"))],
    "removed": [("face", ("UPDATE", "DELETE")), ("decision", ("UPDATE", "DELETE"))],
    "people": [
        (table, ("INSERT", "UPDATE", "DELETE"))
        for table in ("person", "person_alias", "person_tag", "tag", "person_event")
    ],
    "predictions": [("prediction", ("INSERT", "UPDATE", "DELETE"))],
    "groups": [
        (table, ("INSERT", "UPDATE", "DELETE")) for table in ("face_group", "face_group_member")
    ],
}


def _triggers() -> list[tuple[str, str, str, str]]:
    return [
        (f"change_version_{table}_{event.lower()}", table, event, kind)
        for kind, sources in KINDS.items()
        for table, events in sources
        for event in events
    ]


def upgrade() -> None:
    op.create_table(
        "change_version",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kind", name=op.f("pk_change_version")),
    )
    for kind in KINDS:
        op.execute(f"INSERT INTO change_version (kind, version) VALUES ('{kind}', 0)")
    for name, table, event, kind in _triggers():
        op.execute(
            f'CREATE TRIGGER {name} AFTER {event} ON "{table}" BEGIN'
            f" UPDATE change_version SET version = version + 1 WHERE kind = '{kind}'; END"
        )


def downgrade() -> None:
    for name, _table, _event, _kind in _triggers():
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("change_version")
