"""people history, jobs, models, predictions, groups

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 16:29:23.404708
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("classes", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("file", sa.Text(), nullable=False),
        sa.Column("last_decision_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["parent_id"], ["model.id"], name=op.f("fk_model_parent_id_model")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model")),
    )
    op.create_table(
        "tag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tag")),
        sa.UniqueConstraint("name", name=op.f("uq_tag_name")),
    )
    op.create_table(
        "face_group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("suggested_person_id", sa.Integer(), nullable=True),
        sa.Column("suggested_distance", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["suggested_person_id"],
            ["person.id"],
            name=op.f("fk_face_group_suggested_person_id_person"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_face_group")),
    )
    with op.batch_alter_table("face_group", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_face_group_status"), ["status"], unique=False)

    op.create_table(
        "forgotten_person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("forgotten_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_forgotten_person_user_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forgotten_person")),
    )
    op.create_table(
        "job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_job_user_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job")),
    )
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_status"), ["status"], unique=False)

    op.create_table(
        "person_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("undoes_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_person_event_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["undoes_id"], ["person_event.id"], name=op.f("fk_person_event_undoes_id_person_event")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_person_event_user_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_event")),
    )
    with op.batch_alter_table("person_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_person_event_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_person_event_person_id"), ["person_id"], unique=False)

    op.create_table(
        "person_tag",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_person_tag_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["tag.id"], name=op.f("fk_person_tag_tag_id_tag"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("person_id", "tag_id", name=op.f("pk_person_tag")),
    )
    op.create_table(
        "face_group_member",
        sa.Column("face_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["face_id"],
            ["face.id"],
            name=op.f("fk_face_group_member_face_id_face"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["face_group.id"],
            name=op.f("fk_face_group_member_group_id_face_group"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("face_id", name=op.f("pk_face_group_member")),
    )
    with op.batch_alter_table("face_group_member", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_face_group_member_group_id"), ["group_id"], unique=False
        )

    op.create_table(
        "prediction",
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("face_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["face_id"], ["face.id"], name=op.f("fk_prediction_face_id_face"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["model.id"],
            name=op.f("fk_prediction_model_id_model"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_prediction_person_id_person")
        ),
        sa.PrimaryKeyConstraint("model_id", "face_id", "rank", name=op.f("pk_prediction")),
    )
    with op.batch_alter_table("prediction", schema=None) as batch_op:
        batch_op.create_index("ix_prediction_face", ["face_id"], unique=False)
        batch_op.create_index(
            "ix_prediction_person_score", ["model_id", "person_id", "rank", "score"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("prediction", schema=None) as batch_op:
        batch_op.drop_index("ix_prediction_person_score")
        batch_op.drop_index("ix_prediction_face")

    op.drop_table("prediction")
    with op.batch_alter_table("face_group_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_face_group_member_group_id"))

    op.drop_table("face_group_member")
    op.drop_table("person_tag")
    with op.batch_alter_table("person_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_event_person_id"))
        batch_op.drop_index(batch_op.f("ix_person_event_created_at"))

    op.drop_table("person_event")
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_status"))

    op.drop_table("job")
    op.drop_table("forgotten_person")
    with op.batch_alter_table("face_group", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_face_group_status"))

    op.drop_table("face_group")
    op.drop_table("tag")
    op.drop_table("model")
