"""programme items: a slot plays an ordered list of items; zone programme versions; command kinds

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 06:46:16.998803
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "zone_programmes",
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("zone"),
    )
    op.create_table(
        "slot_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slot_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("bulletin_id", sa.Integer(), nullable=True),
        sa.Column("stream_url", sa.String(length=2000), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["bulletin_id"], ["bulletins.id"]),
        sa.ForeignKeyConstraint(["slot_id"], ["slots.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("slot_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_slot_items_bulletin_id"), ["bulletin_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_slot_items_slot_id"), ["slot_id"], unique=False)

    # Every existing slot played one bulletin: it becomes that slot's first item.
    op.execute(
        "INSERT INTO slot_items (slot_id, position, kind, bulletin_id, title) "
        "SELECT id, 0, 'bulletin', bulletin_id, '' FROM slots"
    )

    with op.batch_alter_table("commands", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), nullable=False, server_default="play"))
        batch_op.drop_constraint("uq_command_slot_occurrence", type_="unique")
        batch_op.create_index(batch_op.f("ix_commands_slot_id"), ["slot_id"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("slots_bulletin_id_fkey", "slots", type_="foreignkey")
    with op.batch_alter_table("slots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("title", sa.String(length=200), nullable=False, server_default=""))
        batch_op.drop_index(batch_op.f("ix_slots_bulletin_id"))
        batch_op.drop_column("bulletin_id")


def downgrade() -> None:
    with op.batch_alter_table("slots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bulletin_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE slots SET bulletin_id = (SELECT bulletin_id FROM slot_items "
        "WHERE slot_items.slot_id = slots.id AND kind = 'bulletin' ORDER BY position LIMIT 1)"
    )
    with op.batch_alter_table("slots", schema=None) as batch_op:
        batch_op.create_foreign_key("slots_bulletin_id_fkey", "bulletins", ["bulletin_id"], ["id"])
        batch_op.create_index(batch_op.f("ix_slots_bulletin_id"), ["bulletin_id"], unique=False)
        batch_op.drop_column("title")
    with op.batch_alter_table("commands", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commands_slot_id"))
        batch_op.create_unique_constraint("uq_command_slot_occurrence", ["slot_id", "start_at"])
        batch_op.drop_column("kind")
    op.drop_table("slot_items")
    op.drop_table("zone_programmes")
