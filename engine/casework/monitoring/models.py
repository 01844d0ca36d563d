"""The monthly review's tables: the roll, the member index, the feeds, the runs and their results."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (Date, ForeignKey, Index, Integer, PrimaryKeyConstraint, String, Text, UniqueConstraint,
                        text)
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base
from engine.types_sql import JSONText, Money, UTCDateTime
from engine.workflow.models import BigId



#: The 14 departments of the province/city checking platform (DOMAIN §1, §2.4) [A: names are ours].
FEEDS = (
    "social_insurance",       # 人社: contributions (kind employee | resident), pensions
    "property",               # 不动产登记: new real-estate registrations (amount = value)
    "vehicles",               # 公安交管: new vehicle registrations (kind, amount = value)
    "business_registration",  # 市场监管: new business registrations
    "deaths",                 # 公安/卫健: deaths
    "hospital_bills",         # 医保: hospital bills (amount = out-of-pocket)
    "tax",                    # 税务: income tax paid
    "housing_fund",           # 住房公积金: contributions
    "hukou",                  # 户籍: moves, marriages, births
    "civil_service",          # 组织/人社: public employment
    "bank_deposits",          # 人民银行/银保监: deposits above a reporting line
    "securities",             # 证监: securities accounts
    "insurance",              # 银保监: commercial insurance
    "incarceration",          # 司法: imprisonment
)
ACTIONS = ("none", "warn", "investigate")
ACTION_RANK = {a: i for i, a in enumerate(ACTIONS)}
RECIPIENT_STATUSES = ("active", "suspended", "stopped")
REVIEW_PROCESS = "review"
MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


# =============================================================================== tables

class RecipientRow(Base):
    """Who is on benefit: one row per household and programme (the roll)."""

    __tablename__ = "recipient"
    __table_args__ = (
        UniqueConstraint("household_id", "programme"),
        Index("ix_recipient_status_household", "status", "household_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"))
    programme: Mapped[str] = mapped_column(String(32))
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    monthly_amount: Mapped[Decimal] = mapped_column(Money)
    since: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active|suspended|stopped
    # household.version the member index was built from (NULL: not indexed yet)
    indexed_version: Mapped[int | None] = mapped_column(Integer)


class RecipientMemberRow(Base):
    """The member index: sha256 of each member's ID number → household (feeds match on it)."""

    __tablename__ = "recipient_member"
    __table_args__ = (PrimaryKeyConstraint("id_hash", "household_id"),)

    id_hash: Mapped[str] = mapped_column(String(64))
    household_id: Mapped[int] = mapped_column(BigId, index=True)


class FeedRow(Base):
    """One person-event of one department's monthly feed; never an ID number, only its hash."""

    __tablename__ = "data_feed_row"
    __table_args__ = (Index("ix_data_feed_row_month_feed_hash", "month", "feed", "id_hash"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    feed: Mapped[str] = mapped_column(String(32))
    month: Mapped[str] = mapped_column(String(7))       # YYYY-MM
    id_hash: Mapped[str] = mapped_column(String(64))
    household_id: Mapped[int | None] = mapped_column(BigId)
    kind: Mapped[str | None] = mapped_column(String(32))     # e.g. employee | resident, car | motorcycle
    amount: Mapped[Decimal | None] = mapped_column(Money)    # value, bill, contribution base … (yuan)
    payload: Mapped[dict | None] = mapped_column(JSONText)   # anything else, small
    source: Mapped[str | None] = mapped_column(String(255))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReviewRunRow(Base):
    """One monthly run: when, under which rules, how many compared, flagged and opened."""

    __tablename__ = "review_run"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    month: Mapped[str] = mapped_column(String(7), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_by: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))     # running|completed|failed
    compared: Mapped[int] = mapped_column(Integer, default=0)
    flagged: Mapped[int] = mapped_column(Integer, default=0)
    opened: Mapped[int] = mapped_column(Integer, default=0)
    rules: Mapped[list | None] = mapped_column(JSONText)
    error: Mapped[str | None] = mapped_column(Text)


class ReviewResultRow(Base):
    """The result of comparing one household in one run (written in bulk, never one by one)."""

    __tablename__ = "review_result"
    __table_args__ = (
        UniqueConstraint("run_id", "household_id"),
        Index("ix_review_result_flagged", "run_id", "action",
              sqlite_where=text("action <> 'none'"), postgresql_where=text("action <> 'none'")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(BigId)
    household_id: Mapped[int] = mapped_column(BigId)
    flags: Mapped[list] = mapped_column(JSONText)
    action: Mapped[str] = mapped_column(String(16))     # none|warn|investigate
    case_id: Mapped[int | None] = mapped_column(BigId)
    note: Mapped[str | None] = mapped_column(String(255))

