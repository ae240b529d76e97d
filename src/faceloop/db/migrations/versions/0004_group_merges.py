"""merges of groups, recorded so that they can be undone

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 08:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "group_merge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record", sa.String(length=36), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("other_id", sa.Integer(), nullable=False),
        sa.Column("face_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("undone_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["face_id"], ["face.id"], name=op.f("fk_group_merge_face_id_face"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_group_merge_user_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_merge")),
    )
    with op.batch_alter_table("group_merge", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_group_merge_record"), ["record"], unique=False)
        batch_op.create_index(batch_op.f("ix_group_merge_group_id"), ["group_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_group_merge_face_id"), ["face_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("group_merge", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_merge_face_id"))
        batch_op.drop_index(batch_op.f("ix_group_merge_group_id"))
        batch_op.drop_index(batch_op.f("ix_group_merge_record"))
    op.drop_table("group_merge")
