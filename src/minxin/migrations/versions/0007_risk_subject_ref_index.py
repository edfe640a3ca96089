"""risk: ``risk_subjects.ref`` becomes a plain index instead of a unique constraint

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-27

Why: subjects are upserted with ``INSERT … ON CONFLICT (key) DO UPDATE``. PostgreSQL resolves
conflicts only on that arbiter index; two parallel intakes creating the same new caller or address
also collided on the second unique index (``ref``), which is not arbitrated: one of them failed
with a unique violation or a deadlock instead of counting the order in. ``ref`` is a function of
``key`` (a hash), so ``key``'s uniqueness already makes it unique; lookups by ref only need an index.
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("risk_subjects") as batch:
        batch.drop_constraint("uq_risk_subjects_ref", type_="unique")
        batch.create_index("ix_risk_subjects_ref", ["ref"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("risk_subjects") as batch:
        batch.drop_index("ix_risk_subjects_ref")
        batch.create_unique_constraint("uq_risk_subjects_ref", ["ref"])
