"""case documents (PDF)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 12:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import engine.types_sql


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('case_document',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('instance_id', BIG_ID, nullable=True),
    sa.Column('household_id', BIG_ID, nullable=True),
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('reference', sa.String(length=128), nullable=True),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('template_version', sa.String(length=64), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', engine.types_sql.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'],
                            name=op.f('fk_case_document_instance_id_process_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_document'))
    )
    with op.batch_alter_table('case_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_document_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_document_household_id'), ['household_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_document_region_code'), ['region_code'], unique=False)
        batch_op.create_index('ix_case_document_reference', ['reference'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('case_document', schema=None) as batch_op:
        batch_op.drop_index('ix_case_document_reference')
        batch_op.drop_index(batch_op.f('ix_case_document_region_code'))
        batch_op.drop_index(batch_op.f('ix_case_document_household_id'))
        batch_op.drop_index(batch_op.f('ix_case_document_instance_id'))
    op.drop_table('case_document')
