"""collection: a source's state between runs, a post's text and completion, an account's name
and whether it may be collected from

A source remembers whether it is paused or removed, when it last ran and how (the last error in
words), when it runs next, and the reads it used this month (X bills each read). A post is
`collected_at` once all its images are stored, so a run stopped between the post and its
photos fetches them again. An account has the name the source shows and a do-not-collect flag
(`faceloop forget` sets it on the forgotten person's accounts).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 14:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("source") as batch:
        batch.add_column(sa.Column("paused", sa.Boolean(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("removed_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("last_run_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("next_run_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("reads_month", sa.String(length=7), nullable=True))
        batch.add_column(
            sa.Column("reads_used", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("post") as batch:
        batch.add_column(sa.Column("text", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("collected_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("account") as batch:
        batch.add_column(sa.Column("display_name", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("do_not_collect", sa.Boolean(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("created_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("account") as batch:
        for column in ("created_at", "do_not_collect", "display_name"):
            batch.drop_column(column)
    with op.batch_alter_table("post") as batch:
        for column in ("collected_at", "text"):
            batch.drop_column(column)
    with op.batch_alter_table("source") as batch:
        for column in (
            "reads_used",
            "reads_month",
            "next_run_at",
            "last_error",
            "last_run_at",
            "removed_at",
            "paused",
        ):
            batch.drop_column(column)
