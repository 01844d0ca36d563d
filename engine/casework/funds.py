"""Funds as append-only ledgers that can never go negative (DESIGN decision 7).

A fund is the township's temporary-relief reserve (临时救助备用金), a county or city relief budget, or a
charity fund (the city's special response fund, a county project, a village charity fund).  Money only
moves through :func:`post`, which changes the balance with a conditional UPDATE — ``balance >= amount``
is checked by the database inside the transaction, so two payments racing for the last yuan cannot
both succeed — and appends a ledger entry carrying the balance after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Integer, String, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db import Base
from engine.errors import Conflict, NotFound, ValidationError
from engine.types_sql import Money, UTCDateTime
from engine.workflow.models import BigId

FUND_KINDS = ("township_reserve", "county_relief", "city_relief", "charity_city", "charity_county",
              "charity_village")
ENTRY_KINDS = ("allocation", "donation", "reservation", "release", "payment", "reversal")


class Fund(Base):
    __tablename__ = "fund"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    name: Mapped[str] = mapped_column(String(255))
    balance: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    reserved: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    version: Mapped[int] = mapped_column(Integer, default=1)


class FundEntry(Base):
    __tablename__ = "fund_entry"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("fund.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(Money)  # the amount moved (positive)
    balance_delta: Mapped[Decimal] = mapped_column(Money)
    reserved_delta: Mapped[Decimal] = mapped_column(Money)
    balance_after: Mapped[Decimal] = mapped_column(Money)
    reserved_after: Mapped[Decimal] = mapped_column(Money)
    reference: Mapped[str | None] = mapped_column(String(128), index=True)
    # a client's key for a credit it may retry (``Idempotency-Key``): unique, so a retry books nothing
    idempotency_key: Mapped[str | None] = mapped_column(String(160), index=True, unique=True)
    note: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(128))


@dataclass(frozen=True)
class FundView:
    id: int
    code: str
    kind: str
    region_code: str
    name: str
    balance: Decimal
    reserved: Decimal

    @classmethod
    def of(cls, f: Fund) -> "FundView":
        return cls(f.id, f.code, f.kind, f.region_code, f.name, f.balance, f.reserved)


def money(value) -> Decimal:
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except Exception:  # noqa: BLE001 - any bad text is the caller's mistake
        raise ValidationError(f"{value!r} is not an amount", {"amount": ["not a decimal amount"]}) from None
    if not amount.is_finite():
        raise ValidationError("amount must be finite", {"amount": ["not a decimal amount"]})
    return amount


def create_fund(session: Session, *, code: str, kind: str, region_code: str, name: str) -> Fund:
    if kind not in FUND_KINDS:
        raise ValidationError(f"unknown fund kind {kind!r}", {"kind": [f"one of {', '.join(FUND_KINDS)}"]})
    fund = Fund(code=code, kind=kind, region_code=region_code, name=name, balance=Decimal("0"),
                reserved=Decimal("0"), version=1)
    session.add(fund)
    session.flush()
    return fund


def resolve(session: Session, kind: str, region_code: str) -> Fund:
    """The fund of ``kind`` whose region is the longest prefix of ``region_code``."""
    candidates = session.execute(select(Fund).where(Fund.kind == kind)).scalars()
    best = None
    for fund in candidates:
        if region_code.startswith(fund.region_code) and (best is None or len(fund.region_code) > len(best.region_code)):
            best = fund
    if best is None:
        raise NotFound(f"no {kind} fund covers region {region_code}")
    return best


def replayed(session: Session, fund: Fund, kind: str, amount: Decimal, idempotency_key: str | None
             ) -> FundEntry | None:
    """The entry an earlier request with this key booked, or None for a new key.

    A key reused for another fund, kind or amount is a client's mistake, refused with Conflict —
    never silently answered with the other request's entry.
    """
    if idempotency_key is None:
        return None
    entry = session.execute(select(FundEntry).where(FundEntry.idempotency_key == idempotency_key)).scalar()
    if entry is None:
        return None
    if (entry.fund_id, entry.kind, entry.amount) != (fund.id, kind, money(amount)):
        raise Conflict("this Idempotency-Key was used for a different request "
                       "/ 该幂等键已用于另一笔不同的入账")
    return entry


def post(session: Session, fund: Fund, kind: str, amount: Decimal, *, at: datetime, actor: str,
         reference: str | None = None, note: str | None = None,
         idempotency_key: str | None = None) -> FundEntry:
    """Move money; ``amount`` is positive and ``kind`` says which way it goes.  With an
    ``idempotency_key`` already booked, the money is not moved again: see :func:`replayed`."""
    amount = money(amount)
    if amount <= 0:
        raise ValidationError("amount must be positive", {"amount": ["must be greater than 0"]})
    if kind not in ENTRY_KINDS:
        raise ValidationError(f"unknown entry kind {kind!r}")
    balance_delta, reserved_delta = {
        "allocation": (amount, Decimal(0)), "donation": (amount, Decimal(0)),
        "reservation": (-amount, amount), "release": (amount, -amount),
        "payment": (-amount, Decimal(0)), "reversal": (amount, Decimal(0)),
    }[kind]
    conditions = [Fund.id == fund.id]
    if balance_delta < 0:
        conditions.append(Fund.balance >= -balance_delta)
    if reserved_delta < 0:
        conditions.append(Fund.reserved >= -reserved_delta)
    result = session.execute(update(Fund).where(*conditions).values(
        balance=Fund.balance + balance_delta, reserved=Fund.reserved + reserved_delta,
        version=Fund.version + 1))
    if result.rowcount != 1:
        session.refresh(fund)
        raise Conflict(f"fund {fund.code} would go negative: balance {fund.balance}, "
                       f"{kind} of {amount} refused")
    session.refresh(fund)
    entry = FundEntry(fund_id=fund.id, kind=kind, amount=amount, balance_delta=balance_delta,
                      reserved_delta=reserved_delta, balance_after=fund.balance,
                      reserved_after=fund.reserved, reference=reference, note=note, at=at, actor=actor,
                      idempotency_key=idempotency_key)
    session.add(entry)
    session.flush()
    return entry


def pay_from_reservation(session: Session, fund: Fund, amount: Decimal, *, at: datetime, actor: str,
                         reference: str) -> FundEntry:
    """A payment of money reserved earlier (charity: reserve at approval, pay later)."""
    amount = money(amount)
    result = session.execute(update(Fund).where(Fund.id == fund.id, Fund.reserved >= amount).values(
        reserved=Fund.reserved - amount, version=Fund.version + 1))
    if result.rowcount != 1:
        raise Conflict(f"fund {fund.code}: no reservation of {amount} left to pay")
    session.refresh(fund)
    entry = FundEntry(fund_id=fund.id, kind="payment", amount=amount, balance_delta=Decimal(0),
                      reserved_delta=-amount, balance_after=fund.balance, reserved_after=fund.reserved,
                      reference=reference, at=at, actor=actor)
    session.add(entry)
    session.flush()
    return entry


def ledger(session: Session, fund_id: int, limit: int = 200, offset: int = 0) -> list[FundEntry]:
    return list(session.execute(select(FundEntry).where(FundEntry.fund_id == fund_id)
                                .order_by(FundEntry.id.desc()).limit(limit).offset(offset)).scalars())


def reconcile(session: Session, fund_id: int) -> dict[str, Decimal]:
    """The fund row against its ledger; both pairs must match to the fen."""
    fund = session.get(Fund, fund_id)
    if fund is None:
        raise NotFound(f"fund {fund_id} not found")
    balance, reserved = session.execute(select(
        func.coalesce(func.sum(FundEntry.balance_delta), 0),
        func.coalesce(func.sum(FundEntry.reserved_delta), 0)).where(FundEntry.fund_id == fund_id)).one()
    return {"balance": fund.balance, "ledger_balance": Decimal(balance).quantize(Decimal("0.01")),
            "reserved": fund.reserved, "ledger_reserved": Decimal(reserved).quantize(Decimal("0.01"))}
