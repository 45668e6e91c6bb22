"""alerts heard first: speech synthesised after the siren went out; the two-person correction of a cancel

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.alter_column("clip_sha256", existing_type=sa.String(length=64), nullable=True)
        batch_op.add_column(
            sa.Column("speech_status", sa.String(length=16), nullable=False, server_default="sent")
        )
        batch_op.add_column(
            sa.Column("speech_error", sa.String(length=500), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("speech_command_id", sa.String(length=36), nullable=True))
        batch_op.add_column(
            sa.Column("correction_status", sa.String(length=16), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("correction_by", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_column("correction_by")
        batch_op.drop_column("correction_status")
        batch_op.drop_column("speech_command_id")
        batch_op.drop_column("speech_error")
        batch_op.drop_column("speech_status")
        batch_op.alter_column("clip_sha256", existing_type=sa.String(length=64), nullable=False)
