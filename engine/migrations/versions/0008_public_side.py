"""public side: policy guide, help requests, publicity objections, satisfaction ratings

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 12:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import engine.types_sql


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('help_request',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('receipt_hash', sa.String(length=64), nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('urgency', sa.String(length=24), nullable=False),
    sa.Column('created_at', engine.types_sql.UTCDateTime(timezone=True), nullable=False),
    sa.Column('signal_id', BIG_ID, nullable=True),
    sa.Column('case_id', BIG_ID, nullable=True),
    sa.ForeignKeyConstraint(['signal_id'], ['signal.id'], name=op.f('fk_help_request_signal_id_signal')),
    sa.ForeignKeyConstraint(['case_id'], ['process_instance.id'], name=op.f('fk_help_request_case_id_process_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_help_request')),
    sa.UniqueConstraint('receipt_hash', name=op.f('uq_help_request_receipt_hash'))
    )
    with op.batch_alter_table('help_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_help_request_region_code'), ['region_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_help_request_phone'), ['phone'], unique=False)
        batch_op.create_index(batch_op.f('ix_help_request_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_help_request_signal_id'), ['signal_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_help_request_case_id'), ['case_id'], unique=False)

    op.create_table('satisfaction_rating',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('help_request_id', BIG_ID, nullable=False),
    sa.Column('case_id', BIG_ID, nullable=True),
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.Column('rating', sa.String(length=16), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('rated_at', engine.types_sql.UTCDateTime(timezone=True), nullable=False),
    sa.Column('followup_case_id', BIG_ID, nullable=True),
    sa.ForeignKeyConstraint(['help_request_id'], ['help_request.id'], name=op.f('fk_satisfaction_rating_help_request_id_help_request')),
    sa.ForeignKeyConstraint(['case_id'], ['process_instance.id'], name=op.f('fk_satisfaction_rating_case_id_process_instance')),
    sa.ForeignKeyConstraint(['followup_case_id'], ['process_instance.id'], name=op.f('fk_satisfaction_rating_followup_case_id_process_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_satisfaction_rating')),
    sa.UniqueConstraint('help_request_id', name=op.f('uq_satisfaction_rating_help_request_id'))
    )
    with op.batch_alter_table('satisfaction_rating', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_satisfaction_rating_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_rating_region_at', ['region_code', 'rated_at'], unique=False)

    op.create_table('public_submission',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('ip_key', sa.String(length=64), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('at', engine.types_sql.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_public_submission'))
    )
    with op.batch_alter_table('public_submission', schema=None) as batch_op:
        batch_op.create_index('ix_public_submission_ip', ['ip_key', 'at'], unique=False)
        batch_op.create_index('ix_public_submission_phone', ['phone', 'at'], unique=False)

    op.create_table('region_contact',
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.Column('office', sa.String(length=128), nullable=False),
    sa.Column('address', sa.String(length=255), nullable=True),
    sa.Column('hotline', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('region_code', name=op.f('pk_region_contact'))
    )

    op.create_table('department_policy',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.Column('department', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=128), nullable=False),
    sa.Column('conditions', engine.types_sql.JSONText(), nullable=False),
    sa.Column('benefit', sa.Text(), nullable=True),
    sa.Column('documents', engine.types_sql.JSONText(), nullable=False),
    sa.Column('where_to_apply', sa.String(length=255), nullable=True),
    sa.Column('hotline', sa.String(length=32), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_department_policy'))
    )
    with op.batch_alter_table('department_policy', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_department_policy_region_code'), ['region_code'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('department_policy', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_department_policy_region_code'))
    op.drop_table('department_policy')
    op.drop_table('region_contact')
    with op.batch_alter_table('public_submission', schema=None) as batch_op:
        batch_op.drop_index('ix_public_submission_phone')
        batch_op.drop_index('ix_public_submission_ip')
    op.drop_table('public_submission')
    with op.batch_alter_table('satisfaction_rating', schema=None) as batch_op:
        batch_op.drop_index('ix_rating_region_at')
        batch_op.drop_index(batch_op.f('ix_satisfaction_rating_case_id'))
    op.drop_table('satisfaction_rating')
    with op.batch_alter_table('help_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_help_request_case_id'))
        batch_op.drop_index(batch_op.f('ix_help_request_signal_id'))
        batch_op.drop_index(batch_op.f('ix_help_request_created_at'))
        batch_op.drop_index(batch_op.f('ix_help_request_phone'))
        batch_op.drop_index(batch_op.f('ix_help_request_region_code'))
    op.drop_table('help_request')
