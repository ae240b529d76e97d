"""cannot-links recorded when a group is rejected or split

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "group_cannot_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("face_id", sa.Integer(), nullable=False),
        sa.Column("side", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("undone_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["face_id"],
            ["face.id"],
            name=op.f("fk_group_cannot_link_face_id_face"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_group_cannot_link_user_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_cannot_link")),
    )
    with op.batch_alter_table("group_cannot_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_group_cannot_link_record"), ["record"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_group_cannot_link_group_id"), ["group_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_group_cannot_link_face_id"), ["face_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("group_cannot_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_cannot_link_face_id"))
        batch_op.drop_index(batch_op.f("ix_group_cannot_link_group_id"))
        batch_op.drop_index(batch_op.f("ix_group_cannot_link_record"))
    op.drop_table("group_cannot_link")
