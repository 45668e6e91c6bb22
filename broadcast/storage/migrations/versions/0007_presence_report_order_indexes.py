"""device presence per hour, report ordering, job heartbeats, play-log indexes

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21 09:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "device_presence",
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("hour_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeats", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("device_id", "hour_start"),
    )
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("report_ts", sa.Float(), nullable=True))
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("worker", sa.String(length=64), nullable=False, server_default=""))
    with op.batch_alter_table("plays", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plays_command_id"), ["command_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_plays_reported_at"), ["reported_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("plays", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plays_reported_at"))
        batch_op.drop_index(batch_op.f("ix_plays_command_id"))
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("worker")
        batch_op.drop_column("updated_at")
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_column("report_ts")
    op.drop_table("device_presence")
