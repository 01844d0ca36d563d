"""data feeds and the monthly review run (在保必核): recipient roll, member index, feeds, runs, results

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 16:00:00

Written by hand (engine/casework/monitoring.py is the model).
"""
from alembic import op
import sqlalchemy as sa
import engine.types_sql


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'recipient',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('household_id', BIG_ID, nullable=False),
        sa.Column('programme', sa.String(length=32), nullable=False),
        sa.Column('region_code', sa.String(length=12), nullable=False),
        sa.Column('monthly_amount', engine.types_sql.Money(precision=14, scale=2), nullable=False),
        sa.Column('since', sa.Date(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('indexed_version', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['household_id'], ['household.id'],
                                name=op.f('fk_recipient_household_id_household')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_recipient')),
        sa.UniqueConstraint('household_id', 'programme', name=op.f('uq_recipient_household_id_programme')),
    )
    op.create_index(op.f('ix_recipient_region_code'), 'recipient', ['region_code'], unique=False)
    op.create_index('ix_recipient_status_household', 'recipient', ['status', 'household_id'], unique=False)

    op.create_table(
        'recipient_member',
        sa.Column('id_hash', sa.String(length=64), nullable=False),
        sa.Column('household_id', BIG_ID, nullable=False),
        sa.PrimaryKeyConstraint('id_hash', 'household_id', name=op.f('pk_recipient_member')),
    )
    op.create_index(op.f('ix_recipient_member_household_id'), 'recipient_member', ['household_id'],
                    unique=False)

    op.create_table(
        'data_feed_row',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('feed', sa.String(length=32), nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('id_hash', sa.String(length=64), nullable=False),
        sa.Column('household_id', BIG_ID, nullable=True),
        sa.Column('kind', sa.String(length=32), nullable=True),
        sa.Column('amount', engine.types_sql.Money(precision=14, scale=2), nullable=True),
        sa.Column('payload', engine.types_sql.JSONText(), nullable=True),
        sa.Column('source', sa.String(length=255), nullable=True),
        sa.Column('imported_at', engine.types_sql.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_data_feed_row')),
    )
    op.create_index('ix_data_feed_row_month_feed_hash', 'data_feed_row', ['month', 'feed', 'id_hash'],
                    unique=False)

    op.create_table(
        'review_run',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('started_at', engine.types_sql.UTCDateTime(timezone=True), nullable=False),
        sa.Column('finished_at', engine.types_sql.UTCDateTime(timezone=True), nullable=True),
        sa.Column('started_by', sa.String(length=128), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('compared', sa.Integer(), nullable=False),
        sa.Column('flagged', sa.Integer(), nullable=False),
        sa.Column('opened', sa.Integer(), nullable=False),
        sa.Column('rules', engine.types_sql.JSONText(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_review_run')),
    )
    op.create_index(op.f('ix_review_run_month'), 'review_run', ['month'], unique=False)

    op.create_table(
        'review_result',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('run_id', BIG_ID, nullable=False),
        sa.Column('household_id', BIG_ID, nullable=False),
        sa.Column('flags', engine.types_sql.JSONText(), nullable=False),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('case_id', BIG_ID, nullable=True),
        sa.Column('note', sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_review_result')),
        sa.UniqueConstraint('run_id', 'household_id', name=op.f('uq_review_result_run_id_household_id')),
    )
    op.create_index('ix_review_result_flagged', 'review_result', ['run_id', 'action'], unique=False,
                    sqlite_where=sa.text("action <> 'none'"), postgresql_where=sa.text("action <> 'none'"))


def downgrade() -> None:
    op.drop_index('ix_review_result_flagged', table_name='review_result')
    op.drop_table('review_result')
    op.drop_index(op.f('ix_review_run_month'), table_name='review_run')
    op.drop_table('review_run')
    op.drop_index('ix_data_feed_row_month_feed_hash', table_name='data_feed_row')
    op.drop_table('data_feed_row')
    op.drop_index(op.f('ix_recipient_member_household_id'), table_name='recipient_member')
    op.drop_table('recipient_member')
    op.drop_index('ix_recipient_status_household', table_name='recipient')
    op.drop_index(op.f('ix_recipient_region_code'), table_name='recipient')
    op.drop_table('recipient')
