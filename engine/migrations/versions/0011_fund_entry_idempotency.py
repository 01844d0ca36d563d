"""fund entries: an optional client idempotency key, unique (a retried credit books nothing)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 13:10:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('fund_entry', sa.Column('idempotency_key', sa.String(length=160), nullable=True))
    op.create_index('ix_fund_entry_idempotency_key', 'fund_entry', ['idempotency_key'], unique=True)


def downgrade() -> None:
    op.drop_index('ix_fund_entry_idempotency_key', table_name='fund_entry')
    op.drop_column('fund_entry', 'idempotency_key')
