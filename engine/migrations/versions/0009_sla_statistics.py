"""nightly SLA statistics

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 12:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

import engine.types_sql


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sla_daily_stat',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('process_key', sa.String(length=128), nullable=False),
    sa.Column('step', sa.String(length=255), nullable=False),
    sa.Column('step_name', sa.String(length=255), nullable=False),
    sa.Column('due', sa.Integer(), nullable=False),
    sa.Column('met', sa.Integer(), nullable=False),
    sa.Column('met_late', sa.Integer(), nullable=False),
    sa.Column('warned', sa.Integer(), nullable=False),
    sa.Column('breached', sa.Integer(), nullable=False),
    sa.Column('escalated', sa.Integer(), nullable=False),
    sa.Column('open_overdue', sa.Integer(), nullable=False),
    sa.Column('stopped', sa.Integer(), nullable=False),
    sa.Column('avg_workdays_used', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('p90_workdays_used', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('computed_at', engine.types_sql.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_daily_stat')),
    sa.UniqueConstraint('day', 'region_code', 'process_key', 'step',
                        name=op.f('uq_sla_daily_stat_day_region_code_process_key_step'))
    )
    with op.batch_alter_table('sla_daily_stat', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sla_daily_stat_day'), ['day'], unique=False)
        batch_op.create_index('ix_sla_daily_stat_region_day', ['region_code', 'day'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sla_daily_stat', schema=None) as batch_op:
        batch_op.drop_index('ix_sla_daily_stat_region_day')
        batch_op.drop_index(batch_op.f('ix_sla_daily_stat_day'))
    op.drop_table('sla_daily_stat')
