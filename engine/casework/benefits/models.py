"""Tables of benefits in payment: bank accounts, entitlements, payment batches and their lines.

Money here is integer fen (``*_fen`` columns), not ``Numeric``: a batch of 180,000 lines is summed by
the database, and SQLite keeps ``Numeric`` as a binary float, so only integers add up to the fen on
both databases (DESIGN decision 7 allows "Decimal or integer fen").  Months are ``YYYY-MM`` text,
which sorts and compares correctly as text.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base
from engine.types_sql import JSONText, UTCDateTime
from engine.workflow.models import BigId

ENTITLEMENT_STATUSES = ("active", "tapering", "suspended", "stopped")
PERIOD_KINDS = ("pay", "taper", "suspended")
CHANGE_ACTIONS = ("approved", "adjust", "taper", "suspend", "resume", "stop", "continue")
BATCH_STATUSES = ("draft", "approved", "locked", "exported", "reconciled")
LINE_KINDS = ("regular", "arrears", "reissue")
LINE_STATUSES = ("pending", "paid", "failed")


class BankAccountRow(Base):
    """The one account a household's monthly benefits are paid into (一卡发放)."""

    __tablename__ = "bank_account"

    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), primary_key=True)
    bank: Mapped[str] = mapped_column(String(64))
    account_no: Mapped[str] = mapped_column(String(32))
    holder: Mapped[str] = mapped_column(String(64))
    holder_id_number: Mapped[str | None] = mapped_column(String(18))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(128))


class EntitlementRow(Base):
    """One household's standing right to a monthly programme; what it is worth lives in its periods."""

    __tablename__ = "entitlement"
    __table_args__ = (UniqueConstraint("household_id", "programme"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"))
    programme: Mapped[str] = mapped_column(String(64))
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    status: Mapped[str] = mapped_column(String(16))
    monthly_fen: Mapped[int] = mapped_column(BigInteger)     # the amount in force now
    persons: Mapped[int] = mapped_column(Integer)            # covered members
    start_month: Mapped[str] = mapped_column(String(7))
    end_month: Mapped[str | None] = mapped_column(String(7))  # first month no longer paid
    # every month due up to here has a line (set when a batch locks, lowered by a backdated change):
    # a draft only looks for missing months after it, so it does not probe a year of history per household
    drafted_through: Mapped[str | None] = mapped_column(String(7))
    decision_id: Mapped[int | None] = mapped_column(BigId)    # the decision that last changed it
    instance_id: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EntitlementPeriodRow(Base):
    """A run of months [from_month, until_month) paid at one amount (or suspended)."""

    __tablename__ = "entitlement_period"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entitlement_id: Mapped[int] = mapped_column(ForeignKey("entitlement.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    from_month: Mapped[str] = mapped_column(String(7))
    until_month: Mapped[str | None] = mapped_column(String(7))
    monthly_fen: Mapped[int] = mapped_column(BigInteger)
    decision_id: Mapped[int | None] = mapped_column(BigId)


class EntitlementChangeRow(Base):
    """Why and by which decision an entitlement changed (the audit chain holds the same, hashed)."""

    __tablename__ = "entitlement_change"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entitlement_id: Mapped[int] = mapped_column(ForeignKey("entitlement.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    effective_month: Mapped[str] = mapped_column(String(7))
    before: Mapped[dict | None] = mapped_column(JSONText)
    after: Mapped[dict | None] = mapped_column(JSONText)
    reasons: Mapped[list | None] = mapped_column(JSONText)
    decision_id: Mapped[int | None] = mapped_column(BigId)
    instance_id: Mapped[int | None] = mapped_column(BigId)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(128))


class PaymentBatchRow(Base):
    """One county's payments for one month: draft → approved → locked → exported → reconciled."""

    __tablename__ = "payment_batch"
    __table_args__ = (UniqueConstraint("region_code", "month"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    region_code: Mapped[str] = mapped_column(String(12))
    month: Mapped[str] = mapped_column(String(7))
    status: Mapped[str] = mapped_column(String(16))
    line_count: Mapped[int] = mapped_column(Integer, default=0)
    total_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_count: Mapped[int] = mapped_column(Integer, default=0)
    paid_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    failed_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    missing_accounts: Mapped[int] = mapped_column(Integer, default=0)
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(128))
    drafted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by: Mapped[str | None] = mapped_column(String(128))
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_by: Mapped[str | None] = mapped_column(String(128))
    exported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    exported_by: Mapped[str | None] = mapped_column(String(128))
    reconciled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reconciled_by: Mapped[str | None] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class PaymentLineRow(Base):
    """One month of one programme for one household, as sent to the bank (written set-based).

    Paid at most once: ``(household, programme, month, attempt)`` is unique, and of all attempts at
    most one is not ``failed`` (a partial unique index) — a failure is re-issued as attempt + 1.
    """

    __tablename__ = "payment_line"
    __table_args__ = (
        UniqueConstraint("household_id", "programme", "month", "attempt"),
        Index("uq_payment_line_live", "household_id", "programme", "month", unique=True,
              sqlite_where=text("status <> 'failed'"), postgresql_where=text("status <> 'failed'")),
        Index("ix_payment_line_batch_status", "batch_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("payment_batch.id"))
    entitlement_id: Mapped[int] = mapped_column(BigId)
    household_id: Mapped[int] = mapped_column(BigId)
    programme: Mapped[str] = mapped_column(String(64))
    month: Mapped[str] = mapped_column(String(7))
    attempt: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    bank: Mapped[str] = mapped_column(String(64))
    account_no: Mapped[str] = mapped_column(String(32))
    holder: Mapped[str] = mapped_column(String(64))
    holder_id_number: Mapped[str | None] = mapped_column(String(18))
    status: Mapped[str] = mapped_column(String(16))
    reissue_of: Mapped[int | None] = mapped_column(BigId)
    failure_reason: Mapped[str | None] = mapped_column(String(255))
    result_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
