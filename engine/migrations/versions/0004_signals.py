"""discovery signals

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 16:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import engine.types_sql


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('signal',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('source_id', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.Column('household_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('details', engine.types_sql.JSONText(), nullable=False),
    sa.Column('occurred_at', engine.types_sql.UTCDateTime(timezone=True), nullable=True),
    sa.Column('received_at', engine.types_sql.UTCDateTime(timezone=True), nullable=False),
    sa.Column('received_by', sa.String(length=128), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['process_instance.id'], name=op.f('fk_signal_case_id_process_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signal')),
    sa.UniqueConstraint('source', 'source_id', name=op.f('uq_signal_source_source_id'))
    )
    with op.batch_alter_table('signal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signal_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_signal_household_id'), ['household_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_signal_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_signal_region_code'), ['region_code'], unique=False)
        batch_op.create_index('ix_signal_status_region', ['status', 'region_code'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('signal', schema=None) as batch_op:
        batch_op.drop_index('ix_signal_status_region')
        batch_op.drop_index(batch_op.f('ix_signal_region_code'))
        batch_op.drop_index(batch_op.f('ix_signal_kind'))
        batch_op.drop_index(batch_op.f('ix_signal_household_id'))
        batch_op.drop_index(batch_op.f('ix_signal_case_id'))

    op.drop_table('signal')
