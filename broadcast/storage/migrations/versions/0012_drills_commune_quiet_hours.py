"""alert drills (test mode) and a commune's own quiet hours

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 00:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("test", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("communes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quiet_hours", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("communes", schema=None) as batch_op:
        batch_op.drop_column("quiet_hours")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_column("test")
