"""communes (tenancy), bulletin history and uploads, zone/device coordinates, jobs, counters

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
OWNED_BY_A_COMMUNE = ("zones", "bulletins", "slots", "alerts")


def upgrade() -> None:
    op.create_table(
        "communes",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # Everything that exists belongs to the station's one commune until a province splits it up.
    op.execute("INSERT INTO communes (id, name, created_at) VALUES ('default', 'Xã', CURRENT_TIMESTAMP)")
    for table in OWNED_BY_A_COMMUNE:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("commune_id", sa.String(length=64), nullable=False, server_default="default")
            )
            batch_op.create_foreign_key(f"fk_{table}_commune_id", "communes", ["commune_id"], ["id"])
            batch_op.create_index(batch_op.f(f"ix_{table}_commune_id"), ["commune_id"], unique=False)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("commune_id", sa.String(length=64), nullable=True))
        batch_op.create_foreign_key("fk_users_commune_id", "communes", ["commune_id"], ["id"])
        batch_op.create_index(batch_op.f("ix_users_commune_id"), ["commune_id"], unique=False)
    with op.batch_alter_table("zones", schema=None) as batch_op:
        batch_op.add_column(sa.Column("latitude", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("longitude", sa.Float(), nullable=True))
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("latitude", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("longitude", sa.Float(), nullable=True))
    with op.batch_alter_table("bulletins", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=16), nullable=False, server_default="tts"))
        batch_op.add_column(
            sa.Column("reject_reason", sa.String(length=500), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))

    op.create_table(
        "bulletin_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bulletin_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("detail", JSON_DOCUMENT, nullable=False),
        sa.ForeignKeyConstraint(["bulletin_id"], ["bulletins.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("bulletin_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bulletin_events_bulletin_id"), ["bulletin_id"], unique=False)

    op.create_table(
        "jobs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("result", JSON_DOCUMENT, nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "counters",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    # Command numbers continue from the highest one issued so far.
    op.execute("INSERT INTO counters (name, value) SELECT 'command_seq', COALESCE(MAX(seq), 0) FROM commands")


def downgrade() -> None:
    op.drop_table("counters")
    op.drop_table("jobs")
    with op.batch_alter_table("bulletin_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bulletin_events_bulletin_id"))
    op.drop_table("bulletin_events")
    with op.batch_alter_table("bulletins", schema=None) as batch_op:
        batch_op.drop_column("updated_at")
        batch_op.drop_column("reject_reason")
        batch_op.drop_column("source")
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_column("longitude")
        batch_op.drop_column("latitude")
        batch_op.drop_column("revoked_at")
    with op.batch_alter_table("zones", schema=None) as batch_op:
        batch_op.drop_column("longitude")
        batch_op.drop_column("latitude")
    for table in ("users", *OWNED_BY_A_COMMUNE):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_commune_id"))
            batch_op.drop_constraint(f"fk_{table}_commune_id", type_="foreignkey")
            batch_op.drop_column("commune_id")
    op.drop_table("communes")
