"""benefits: bank accounts, entitlements, monthly payment batches and their lines

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 12:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import engine.types_sql


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, engine.types_sql.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table('bank_account',
    sa.Column('household_id', BigId, nullable=False),
    sa.Column('bank', sa.String(length=64), nullable=False),
    sa.Column('account_no', sa.String(length=32), nullable=False),
    sa.Column('holder', sa.String(length=64), nullable=False),
    sa.Column('holder_id_number', sa.String(length=18), nullable=True),
    _when('updated_at'),
    sa.Column('updated_by', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_bank_account_household_id_household')),
    sa.PrimaryKeyConstraint('household_id', name=op.f('pk_bank_account'))
    )
    op.create_table('entitlement',
    sa.Column('id', BigId, nullable=False),
    sa.Column('household_id', BigId, nullable=False),
    sa.Column('programme', sa.String(length=64), nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('monthly_fen', sa.BigInteger(), nullable=False),
    sa.Column('persons', sa.Integer(), nullable=False),
    sa.Column('start_month', sa.String(length=7), nullable=False),
    sa.Column('end_month', sa.String(length=7), nullable=True),
    sa.Column('drafted_through', sa.String(length=7), nullable=True),
    sa.Column('decision_id', BigId, nullable=True),
    sa.Column('instance_id', BigId, nullable=True),
    _when('created_at'),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    _when('updated_at'),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_entitlement_household_id_household')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entitlement')),
    sa.UniqueConstraint('household_id', 'programme', name=op.f('uq_entitlement_household_id_programme'))
    )
    with op.batch_alter_table('entitlement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entitlement_region_code'), ['region_code'], unique=False)

    op.create_table('entitlement_period',
    sa.Column('id', BigId, nullable=False),
    sa.Column('entitlement_id', BigId, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('from_month', sa.String(length=7), nullable=False),
    sa.Column('until_month', sa.String(length=7), nullable=True),
    sa.Column('monthly_fen', sa.BigInteger(), nullable=False),
    sa.Column('decision_id', BigId, nullable=True),
    sa.ForeignKeyConstraint(['entitlement_id'], ['entitlement.id'], name=op.f('fk_entitlement_period_entitlement_id_entitlement')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entitlement_period'))
    )
    with op.batch_alter_table('entitlement_period', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entitlement_period_entitlement_id'), ['entitlement_id'], unique=False)

    op.create_table('entitlement_change',
    sa.Column('id', BigId, nullable=False),
    sa.Column('entitlement_id', BigId, nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('effective_month', sa.String(length=7), nullable=False),
    sa.Column('before', engine.types_sql.JSONText(), nullable=True),
    sa.Column('after', engine.types_sql.JSONText(), nullable=True),
    sa.Column('reasons', engine.types_sql.JSONText(), nullable=True),
    sa.Column('decision_id', BigId, nullable=True),
    sa.Column('instance_id', BigId, nullable=True),
    _when('at'),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['entitlement_id'], ['entitlement.id'], name=op.f('fk_entitlement_change_entitlement_id_entitlement')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entitlement_change'))
    )
    with op.batch_alter_table('entitlement_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entitlement_change_entitlement_id'), ['entitlement_id'], unique=False)

    op.create_table('payment_batch',
    sa.Column('id', BigId, nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('line_count', sa.Integer(), nullable=False),
    sa.Column('total_fen', sa.BigInteger(), nullable=False),
    sa.Column('paid_count', sa.Integer(), nullable=False),
    sa.Column('paid_fen', sa.BigInteger(), nullable=False),
    sa.Column('failed_count', sa.Integer(), nullable=False),
    sa.Column('failed_fen', sa.BigInteger(), nullable=False),
    sa.Column('missing_accounts', sa.Integer(), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=True),
    _when('created_at'),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    _when('drafted_at'),
    _when('approved_at', True),
    sa.Column('approved_by', sa.String(length=128), nullable=True),
    _when('locked_at', True),
    sa.Column('locked_by', sa.String(length=128), nullable=True),
    _when('exported_at', True),
    sa.Column('exported_by', sa.String(length=128), nullable=True),
    _when('reconciled_at', True),
    sa.Column('reconciled_by', sa.String(length=128), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_batch')),
    sa.UniqueConstraint('region_code', 'month', name=op.f('uq_payment_batch_region_code_month'))
    )
    op.create_table('payment_line',
    sa.Column('id', BigId, nullable=False),
    sa.Column('batch_id', BigId, nullable=False),
    sa.Column('entitlement_id', BigId, nullable=False),
    sa.Column('household_id', BigId, nullable=False),
    sa.Column('programme', sa.String(length=64), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('bank', sa.String(length=64), nullable=False),
    sa.Column('account_no', sa.String(length=32), nullable=False),
    sa.Column('holder', sa.String(length=64), nullable=False),
    sa.Column('holder_id_number', sa.String(length=18), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reissue_of', BigId, nullable=True),
    sa.Column('failure_reason', sa.String(length=255), nullable=True),
    _when('result_at', True),
    sa.ForeignKeyConstraint(['batch_id'], ['payment_batch.id'], name=op.f('fk_payment_line_batch_id_payment_batch')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_line')),
    sa.UniqueConstraint('household_id', 'programme', 'month', 'attempt', name=op.f('uq_payment_line_household_id_programme_month_attempt'))
    )
    with op.batch_alter_table('payment_line', schema=None) as batch_op:
        batch_op.create_index('ix_payment_line_batch_status', ['batch_id', 'status'], unique=False)
        batch_op.create_index('uq_payment_line_live', ['household_id', 'programme', 'month'], unique=True,
                              sqlite_where=sa.text("status <> 'failed'"),
                              postgresql_where=sa.text("status <> 'failed'"))


def downgrade() -> None:
    with op.batch_alter_table('payment_line', schema=None) as batch_op:
        batch_op.drop_index('uq_payment_line_live')
        batch_op.drop_index('ix_payment_line_batch_status')
    op.drop_table('payment_line')
    op.drop_table('payment_batch')
    with op.batch_alter_table('entitlement_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_entitlement_change_entitlement_id'))
    op.drop_table('entitlement_change')
    with op.batch_alter_table('entitlement_period', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_entitlement_period_entitlement_id'))
    op.drop_table('entitlement_period')
    with op.batch_alter_table('entitlement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_entitlement_region_code'))
    op.drop_table('entitlement')
    op.drop_table('bank_account')
