"""devices flagged for abnormal reports: the last streak of dropped reports (a flood, made-up command ids)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("report_flood_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("report_flood_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("report_flood_dropped", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_column("report_flood_dropped")
        batch_op.drop_column("report_flood_at")
        batch_op.drop_column("report_flood_since")
