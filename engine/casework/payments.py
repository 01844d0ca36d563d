"""Payments and decisions: what was decided, and every yuan paid, each exactly once.

A payment's idempotency key is the case and the task that paid it (plus an optional suffix for
staged relief), unique in the database: a retried or replayed step finds the payment it already
made instead of paying again (DESIGN decision 7).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.casework import funds
from engine.db import Base
from engine.errors import ValidationError
from engine.types_sql import JSONText, Money, UTCDateTime
from engine.workflow.models import BigId

DECISIONS = ("approved", "refused", "marginal", "continue", "adjust", "taper", "suspend", "resume", "stop",
             "granted")


class Decision(Base):
    __tablename__ = "decision"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(BigId, index=True)
    programme: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(16))
    monthly_amount: Mapped[Decimal | None] = mapped_column(Money)
    one_off_amount: Mapped[Decimal | None] = mapped_column(Money)
    from_month: Mapped[str | None] = mapped_column(String(7))
    reasons: Mapped[list | None] = mapped_column(JSONText)
    justification_code: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str] = mapped_column(String(128))


class Payment(Base):
    __tablename__ = "payment"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(BigId, index=True)
    programme: Mapped[str | None] = mapped_column(String(64))
    fund_id: Mapped[int | None] = mapped_column(ForeignKey("fund.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    purpose: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))  # paid|scheduled|failed
    month: Mapped[str | None] = mapped_column(String(7))
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(128))


@dataclass(frozen=True)
class PaymentView:
    id: int
    amount: Decimal
    fund: str | None
    status: str
    paid_at: datetime | None
    month: str | None
    idempotency_key: str
    programme: str | None
    purpose: str | None

    def to_dict(self) -> dict:
        return {"id": self.id, "amount": f"{self.amount:.2f}", "fund": self.fund, "status": self.status,
                "paid_at": self.paid_at.isoformat() if self.paid_at else None, "month": self.month,
                "idempotency_key": self.idempotency_key, "programme": self.programme,
                "purpose": self.purpose}


def next_month(day: date) -> str:
    return f"{day.year + (day.month == 12)}-{day.month % 12 + 1:02d}"


def record_decision(session: Session, *, instance_id: int, household_id: int | None, programme: str,
                    decision: str, at: datetime, actor: str, decided_on: date,
                    monthly_amount=None, one_off_amount=None, from_month: str | None = None,
                    reasons=None, justification_code: str | None = None) -> Decision:
    if decision not in DECISIONS:
        raise ValidationError(f"unknown decision {decision!r}", {"decision": [f"one of {', '.join(DECISIONS)}"]})
    monthly = funds.money(monthly_amount) if monthly_amount not in (None, "") else None
    one_off = funds.money(one_off_amount) if one_off_amount not in (None, "") else None
    if decision == "approved" and monthly is not None and not from_month:
        from_month = next_month(decided_on)  # payment starts the month after approval [N]
    row = Decision(instance_id=instance_id, household_id=household_id, programme=programme,
                   decision=decision, monthly_amount=monthly, one_off_amount=one_off, from_month=from_month,
                   reasons=list(reasons or []), justification_code=justification_code, decided_at=at,
                   decided_by=actor)
    session.add(row)
    session.flush()
    return row


def pay(session: Session, *, key: str, instance_id: int, household_id: int | None, fund: funds.Fund,
        amount, purpose: str | None, programme: str | None, at: datetime, actor: str) -> tuple[Payment, bool]:
    """Pay once per key; returns (payment, created).  A second call with the key pays nothing."""
    existing = session.execute(select(Payment).where(Payment.idempotency_key == key)).scalar()
    if existing is not None:
        return existing, False
    amount = funds.money(amount)
    if amount <= 0:
        raise ValidationError("a payment must be more than 0", {"amount": ["must be greater than 0"]})
    funds.post(session, fund, "payment", amount, at=at, actor=actor, reference=key, note=purpose)
    payment = Payment(idempotency_key=key, instance_id=instance_id, household_id=household_id,
                      programme=programme, fund_id=fund.id, amount=amount, purpose=purpose, status="paid",
                      paid_at=at, created_at=at, created_by=actor)
    try:
        with session.begin_nested():
            session.add(payment)
    except IntegrityError:
        # Someone paid under the same key concurrently: theirs stands, this transaction must not.
        from engine.errors import Conflict

        raise Conflict(f"payment {key} was made concurrently") from None
    return payment, True


def schedule(session: Session, *, key: str, instance_id: int, household_id: int | None, programme: str,
             amount, month: str, at: datetime, actor: str) -> tuple[Payment, bool]:
    existing = session.execute(select(Payment).where(Payment.idempotency_key == key)).scalar()
    if existing is not None:
        return existing, False
    payment = Payment(idempotency_key=key, instance_id=instance_id, household_id=household_id,
                      programme=programme, fund_id=None, amount=funds.money(amount), purpose="monthly",
                      status="scheduled", month=month, paid_at=None, created_at=at, created_by=actor)
    session.add(payment)
    session.flush()
    return payment, True


def payments_of(session: Session, instance_id: int) -> list[PaymentView]:
    rows = session.execute(select(Payment, funds.Fund.code).outerjoin(funds.Fund, Payment.fund_id == funds.Fund.id)
                           .where(Payment.instance_id == instance_id).order_by(Payment.id)).all()
    return [PaymentView(p.id, p.amount, code, p.status, p.paid_at, p.month, p.idempotency_key, p.programme,
                        p.purpose) for p, code in rows]


def decisions_of(session: Session, instance_id: int) -> list[dict]:
    rows = session.execute(select(Decision).where(Decision.instance_id == instance_id).order_by(Decision.id)).scalars()
    return [{"id": d.id, "programme": d.programme, "decision": d.decision,
             "monthly_amount": f"{d.monthly_amount:.2f}" if d.monthly_amount is not None else None,
             "one_off_amount": f"{d.one_off_amount:.2f}" if d.one_off_amount is not None else None,
             "from_month": d.from_month, "reasons": d.reasons or [], "justification_code": d.justification_code,
             "decided_at": d.decided_at.isoformat(), "decided_by": d.decided_by} for d in rows]
