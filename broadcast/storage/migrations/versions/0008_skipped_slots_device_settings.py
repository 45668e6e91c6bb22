"""skipped programme occurrences with reasons; agent settings pushed by signed config commands

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-21 10:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "skipped_slots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slot_id", sa.Integer(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("zones", JSON_DOCUMENT, nullable=False),
        sa.Column("commune_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["commune_id"], ["communes.id"]),
        sa.ForeignKeyConstraint(["slot_id"], ["slots.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slot_id", "start_at", "reason", name="uq_skipped_slot_reason"),
    )
    with op.batch_alter_table("skipped_slots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_skipped_slots_commune_id"), ["commune_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_skipped_slots_slot_id"), ["slot_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_skipped_slots_start_at"), ["start_at"], unique=False)
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("settings", JSON_DOCUMENT, nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_column("settings")
    with op.batch_alter_table("skipped_slots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_skipped_slots_start_at"))
        batch_op.drop_index(batch_op.f("ix_skipped_slots_slot_id"))
        batch_op.drop_index(batch_op.f("ix_skipped_slots_commune_id"))
    op.drop_table("skipped_slots")
