"""live broadcast sessions: who spoke live, to which zones, when, and the recording of it

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 00:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    json_type = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    op.create_table(
        "live_sessions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False, server_default=""),
        sa.Column("zones", json_type, nullable=False),
        sa.Column("commune_id", sa.String(64), sa.ForeignKey("communes.id"), nullable=False),
        sa.Column("channel", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_by", sa.String(64), nullable=False),
        sa.Column("address", sa.String(64), nullable=False, server_default=""),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("on_air_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(64), nullable=False, server_default=""),
        sa.Column("end_reason", sa.String(32), nullable=False, server_default=""),
        sa.Column("audio_s", sa.Float(), nullable=False, server_default="0"),
        sa.Column("archive_sha256", sa.String(64), sa.ForeignKey("clips.sha256"), nullable=True),
        sa.Column("archive_error", sa.String(500), nullable=False, server_default=""),
    )
    op.create_index("ix_live_sessions_commune_id", "live_sessions", ["commune_id"])
    op.create_index("ix_live_sessions_status", "live_sessions", ["status"])
    op.create_index("ix_live_sessions_started_at", "live_sessions", ["started_at"])


def downgrade() -> None:
    op.drop_table("live_sessions")
