"""The monthly payment cycle of one county: draft → approved → locked → exported → reconciled.

Drafting is set-based SQL — one ``INSERT … SELECT`` for the month's and back-paid months' lines, one
for re-issued failures, one aggregate for the totals — never a Python loop over households.

* **What is drafted.**  For each active entitlement period (``pay`` or ``taper``) of a household in
  the county and each month from ``month - BENEFITS_ARREARS_MONTHS`` to ``month`` inside the period,
  a line — unless the household already has a line for that programme and month in any batch.  So a
  late approval is back-paid (its earlier months have no line yet), and re-running never pays twice.
  Amounts are whole monthly amounts: nothing is prorated (the rules pay from the month after
  approval and stop from a month, never from a day).
* **Failed lines** of reconciled batches are re-issued once, as ``attempt + 1``, to the household's
  current account (which the caseworker may have corrected).
* **Households without a bank account** get no line; the batch counts them (``missing_accounts``)
  and their months are back-paid by a later batch once an account is recorded.
* **Approval and lock.**  A draft may be re-drafted until an approver (another person than the one
  who drafted it) approves it; locking debits each programme's fund for the batch's total, in the same
  transaction (refused with 409 when the fund would go negative).  Batches of a county run in month
  order: a month is drafted only when every earlier batch of the county is locked.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (String, and_, case, column, delete, exists, func, insert, literal, or_, select, union_all,
                        update, values)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from engine.casework import funds
from engine.casework.benefits import months
from engine.casework.benefits.sql import hash_anti_joins, prefix_range
from engine.casework.benefits.models import (BankAccountRow, EntitlementPeriodRow, EntitlementRow,
                                             PaymentBatchRow, PaymentLineRow)
from engine.errors import Conflict, NotFound, ValidationError
from engine.workflow import audit

DEFAULT_ARREARS_MONTHS = 12
DEFAULT_FUND_KIND = "county_relief"
COUNTY_LENGTH = 6


def chain(batch_id: int) -> str:
    return f"payment_batch:{batch_id}"


_prefix_range = prefix_range


def _check_county(region_code: object) -> str:
    if not isinstance(region_code, str) or len(region_code) != COUNTY_LENGTH or not region_code.isdigit():
        raise ValidationError("a payment cycle runs per county", {"region_code": ["must be a 6-digit county code"]})
    return region_code


def batch_dict(b: PaymentBatchRow) -> dict:
    return {"id": b.id, "region_code": b.region_code, "month": b.month, "status": b.status,
            "line_count": b.line_count, "total": months.yuan(b.total_fen),
            "paid_count": b.paid_count, "paid_total": months.yuan(b.paid_fen),
            "failed_count": b.failed_count, "failed_total": months.yuan(b.failed_fen),
            "missing_accounts": b.missing_accounts, "file_sha256": b.file_sha256,
            "created_by": b.created_by, "drafted_at": _iso(b.drafted_at),
            "approved_by": b.approved_by, "approved_at": _iso(b.approved_at),
            "locked_by": b.locked_by, "locked_at": _iso(b.locked_at),
            "exported_by": b.exported_by, "exported_at": _iso(b.exported_at),
            "reconciled_by": b.reconciled_by, "reconciled_at": _iso(b.reconciled_at)}


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


def get_batch(session: Session, batch_id: int, *, region: str = "", lock: bool = False) -> PaymentBatchRow:
    q = select(PaymentBatchRow).where(PaymentBatchRow.id == batch_id)
    if lock:
        q = q.with_for_update()
    b = session.execute(q).scalar()
    if b is None or not (b.region_code.startswith(region) or region.startswith(b.region_code)):
        raise NotFound(f"payment batch {batch_id} not found / 未找到该发放批次")
    return b


def _visible_batch(session: Session, batch_id: int, region: str, lock: bool = False) -> PaymentBatchRow:
    """A county batch is acted on by county-level users (or above); townships only read it."""
    b = get_batch(session, batch_id, region=region, lock=lock)
    if not b.region_code.startswith(region):
        from engine.errors import NotAllowed

        raise NotAllowed("only the county (or above) acts on its payment batches / 仅县级可操作发放批次")
    return b


# --------------------------------------------------------------------------- draft

def draft(session: Session, *, region_code: str, month: str, actor: str, at: datetime,
          arrears_months: int = DEFAULT_ARREARS_MONTHS) -> PaymentBatchRow:
    """Draft (or re-draft) the county's batch for ``month``; an approved or later batch is returned
    unchanged, so running the cycle twice is harmless."""
    region_code, month = _check_county(region_code), months.check_month(month)
    batch = session.execute(select(PaymentBatchRow).where(PaymentBatchRow.region_code == region_code,
                                                          PaymentBatchRow.month == month)
                            .with_for_update()).scalar()
    if batch is not None and batch.status != "draft":
        return batch
    open_earlier = session.execute(select(PaymentBatchRow.month).where(
        PaymentBatchRow.region_code == region_code, PaymentBatchRow.month < month,
        PaymentBatchRow.status.in_(("draft", "approved"))).limit(1)).scalar()
    if open_earlier:
        raise Conflict(f"the batch of {open_earlier} is not locked yet; lock it before drafting {month} "
                       f"/ 请先锁定{open_earlier}批次")
    redraft = batch is not None
    if batch is None:
        batch = PaymentBatchRow(region_code=region_code, month=month, status="draft", line_count=0, total_fen=0,
                                paid_count=0, paid_fen=0, failed_count=0, failed_fen=0, missing_accounts=0,
                                created_at=at, created_by=actor, drafted_at=at, version=1)
        try:
            with session.begin_nested():
                session.add(batch)
        except IntegrityError:
            raise Conflict(f"the {month} batch of {region_code} is being drafted by someone else; try again "
                           "/ 该批次正在生成，请稍后重试") from None
    else:
        session.execute(delete(PaymentLineRow).where(PaymentLineRow.batch_id == batch.id))
        batch.drafted_at = at
    with hash_anti_joins(session):
        _insert_due(session, batch, max(0, int(arrears_months)))
        _insert_reissues(session, batch)
    _totals(session, batch)
    batch.missing_accounts = _missing_accounts(session, region_code, month)
    session.flush()
    audit.append(session, chain=chain(batch.id), actor=actor,
                 action="payment_batch.redrafted" if redraft else "payment_batch.drafted",
                 object_type="payment_batch", object_id=batch.id, at=at,
                 after={"region_code": region_code, "month": month, "lines": batch.line_count,
                        "total": months.yuan(batch.total_fen), "missing_accounts": batch.missing_accounts})
    return batch


def _months_table(first: str, last: str, dialect: str):
    """The window's months as a relation: VALUES on PostgreSQL (which can hash-join on it), a
    UNION ALL of one-row selects on SQLite (which has no column aliases for VALUES)."""
    span = months.span(first, last)
    if dialect == "postgresql":
        return values(column("month", String(7)), name="m").data([(m,) for m in span])
    selects = [select(literal(m).label("month")) for m in span]
    return (union_all(*selects) if len(selects) > 1 else selects[0]).subquery("m")


def _insert_due(session: Session, batch: PaymentBatchRow, arrears_months: int) -> None:
    e, p, a, line = EntitlementRow, EntitlementPeriodRow, BankAccountRow, PaymentLineRow
    m = _months_table(months.add(batch.month, -arrears_months), batch.month, session.get_bind().dialect.name)
    seen = aliased(PaymentLineRow)
    src = (select(literal(batch.id), e.id, e.household_id, e.programme, m.c.month, literal(1),
                  case((m.c.month == batch.month, "regular"), else_="arrears"), p.monthly_fen,
                  a.bank, a.account_no, a.holder, a.holder_id_number, literal("pending"))
           .select_from(p)
           .join(e, e.id == p.entitlement_id)
           .join(m, and_(p.from_month <= m.c.month, or_(p.until_month.is_(None), m.c.month < p.until_month)))
           .join(a, a.household_id == e.household_id)
           # cheap conditions on the entitlement and the month first: SQLite checks the (costly)
           # "no line yet" probe only for months after the entitlement's watermark
           .where(or_(e.drafted_through.is_(None), m.c.month > e.drafted_through),
                  or_(e.end_month.is_(None), m.c.month < e.end_month),
                  _prefix_range(e.region_code, batch.region_code), p.kind.in_(("pay", "taper")),
                  p.monthly_fen > 0,
                  ~exists().where(seen.household_id == e.household_id, seen.programme == e.programme,
                                  seen.month == m.c.month)))
    session.execute(insert(line).from_select(
        ["batch_id", "entitlement_id", "household_id", "programme", "month", "attempt", "kind", "amount_fen",
         "bank", "account_no", "holder", "holder_id_number", "status"], src))


def _insert_reissues(session: Session, batch: PaymentBatchRow) -> None:
    failed, nxt, a = aliased(PaymentLineRow), aliased(PaymentLineRow), BankAccountRow
    e = EntitlementRow
    src = (select(literal(batch.id), failed.entitlement_id, failed.household_id, failed.programme, failed.month,
                  failed.attempt + 1, literal("reissue"), failed.amount_fen, a.bank, a.account_no, a.holder,
                  a.holder_id_number, literal("pending"), failed.id)
           .select_from(failed)
           .join(e, e.id == failed.entitlement_id)
           .join(a, a.household_id == failed.household_id)
           .where(failed.status == "failed", _prefix_range(e.region_code, batch.region_code),
                  ~exists().where(nxt.household_id == failed.household_id, nxt.programme == failed.programme,
                                  nxt.month == failed.month, nxt.attempt == failed.attempt + 1)))
    session.execute(insert(PaymentLineRow).from_select(
        ["batch_id", "entitlement_id", "household_id", "programme", "month", "attempt", "kind", "amount_fen",
         "bank", "account_no", "holder", "holder_id_number", "status", "reissue_of"], src))


def _totals(session: Session, batch: PaymentBatchRow) -> None:
    line = PaymentLineRow
    row = session.execute(select(
        func.count(line.id), func.coalesce(func.sum(line.amount_fen), 0),
        func.coalesce(func.sum(case((line.status == "paid", 1), else_=0)), 0),
        func.coalesce(func.sum(case((line.status == "paid", line.amount_fen), else_=0)), 0),
        func.coalesce(func.sum(case((line.status == "failed", 1), else_=0)), 0),
        func.coalesce(func.sum(case((line.status == "failed", line.amount_fen), else_=0)), 0),
    ).where(line.batch_id == batch.id)).one()
    (batch.line_count, batch.total_fen, batch.paid_count, batch.paid_fen, batch.failed_count,
     batch.failed_fen) = (int(v) for v in row)


def _missing_accounts(session: Session, region_code: str, month: str) -> int:
    e, p = EntitlementRow, EntitlementPeriodRow
    return session.execute(select(func.count(func.distinct(e.household_id))).select_from(p)
                           .join(e, e.id == p.entitlement_id)
                           .where(_prefix_range(e.region_code, region_code), p.kind.in_(("pay", "taper")),
                                  p.monthly_fen > 0, p.from_month <= month,
                                  or_(p.until_month.is_(None), p.until_month > month),
                                  ~exists().where(BankAccountRow.household_id == e.household_id))).scalar() or 0


def missing_accounts(session: Session, batch: PaymentBatchRow, limit: int = 200) -> list[int]:
    """Households due a payment this month that have no bank account (the draft's to-do list)."""
    e, p = EntitlementRow, EntitlementPeriodRow
    return list(session.execute(select(func.distinct(e.household_id)).select_from(p)
                                .join(e, e.id == p.entitlement_id)
                                .where(_prefix_range(e.region_code, batch.region_code),
                                       p.kind.in_(("pay", "taper")), p.monthly_fen > 0,
                                       p.from_month <= batch.month,
                                       or_(p.until_month.is_(None), p.until_month > batch.month),
                                       ~exists().where(BankAccountRow.household_id == e.household_id))
                                .order_by(e.household_id).limit(limit)).scalars())


# --------------------------------------------------------------------------- approve and lock

def approve(session: Session, batch_id: int, *, actor: str, region: str, at: datetime) -> PaymentBatchRow:
    b = _visible_batch(session, batch_id, region, lock=True)
    if b.status != "draft":
        raise Conflict(f"batch {b.id} is {b.status}, not a draft / 批次已{b.status}")
    if actor == b.created_by:
        from engine.errors import NotAllowed

        raise NotAllowed("the person who drafted a batch may not approve it / 制单人不能审核本批次")
    b.status, b.approved_at, b.approved_by = "approved", at, actor
    session.flush()
    audit.append(session, chain=chain(b.id), actor=actor, action="payment_batch.approved",
                 object_type="payment_batch", object_id=b.id, at=at,
                 after={"lines": b.line_count, "total": months.yuan(b.total_fen)})
    return b


def lock(session: Session, batch_id: int, *, actor: str, region: str, at: datetime,
         fund_kinds: dict | None = None) -> PaymentBatchRow:
    """Freeze an approved batch and debit each programme's fund by its total (never below zero)."""
    b = _visible_batch(session, batch_id, region, lock=True)
    if b.status != "approved":
        raise Conflict(f"batch {b.id} is {b.status}; only an approved batch can be locked")
    debits = []
    for programme, total in programme_totals(session, b.id):
        if total <= 0:
            continue
        kind = (fund_kinds or {}).get(programme, DEFAULT_FUND_KIND)
        try:
            fund = funds.resolve(session, kind, b.region_code)
        except NotFound:
            raise Conflict(f"no {kind} fund covers region {b.region_code} to pay {programme} "
                           f"/ 未找到{programme}资金") from None
        amount = Decimal(total) / 100
        funds.post(session, fund, "payment", amount, at=at, actor=actor,
                   reference=f"batch:{b.id}:{programme}", note=f"{programme} {b.month}")
        debits.append({"programme": programme, "fund": fund.code, "amount": f"{amount:.2f}"})
    # the watermark: whoever has this month's line has every due month up to it
    session.execute(update(EntitlementRow).where(
        EntitlementRow.id.in_(select(PaymentLineRow.entitlement_id).where(
            PaymentLineRow.batch_id == b.id, PaymentLineRow.month == b.month)),
        or_(EntitlementRow.drafted_through.is_(None), EntitlementRow.drafted_through < b.month))
        .values(drafted_through=b.month).execution_options(synchronize_session=False))
    b.status, b.locked_at, b.locked_by = "locked", at, actor
    session.flush()
    audit.append(session, chain=chain(b.id), actor=actor, action="payment_batch.locked",
                 object_type="payment_batch", object_id=b.id, at=at,
                 after={"lines": b.line_count, "total": months.yuan(b.total_fen), "debits": debits})
    return b


def programme_totals(session: Session, batch_id: int, status: str | None = None) -> list[tuple[str, int]]:
    line = PaymentLineRow
    q = select(line.programme, func.sum(line.amount_fen)).where(line.batch_id == batch_id)
    if status:
        q = q.where(line.status == status)
    return [(p, int(t or 0)) for p, t in session.execute(q.group_by(line.programme).order_by(line.programme))]


# --------------------------------------------------------------------------- reading

def list_batches(session: Session, *, region: str = "", month: str | None = None,
                 limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
    b = PaymentBatchRow
    visible = or_(_prefix_range(b.region_code, region), literal(region).startswith(b.region_code)) \
        if region else b.id.isnot(None)
    conds = [visible] + ([b.month == months.check_month(month)] if month else [])
    total = session.execute(select(func.count(b.id)).where(*conds)).scalar() or 0
    rows = session.execute(select(b).where(*conds).order_by(b.month.desc(), b.region_code)
                           .limit(limit).offset(offset)).scalars()
    return [batch_dict(r) for r in rows], total


def line_dict(line: PaymentLineRow, *, reveal: bool = False) -> dict:
    from engine.casework import idnumber

    return {"id": line.id, "reference": reference(line), "household_id": line.household_id,
            "programme": line.programme, "month": line.month, "attempt": line.attempt, "kind": line.kind,
            "amount": months.yuan(line.amount_fen), "bank": line.bank,
            "account_no": line.account_no if reveal else mask_account(line.account_no),
            "holder": line.holder,
            "holder_id_number": (line.holder_id_number if reveal else idnumber.mask(line.holder_id_number))
            if line.holder_id_number else None,
            "status": line.status, "failure_reason": line.failure_reason, "reissue_of": line.reissue_of,
            "result_at": _iso(line.result_at)}


def list_lines(session: Session, batch_id: int, *, status: str | None = None, limit: int = 100,
               offset: int = 0) -> tuple[list[dict], int]:
    line = PaymentLineRow
    conds = [line.batch_id == batch_id] + ([line.status == status] if status else [])
    total = session.execute(select(func.count(line.id)).where(*conds)).scalar() or 0
    rows = session.execute(select(line).where(*conds).order_by(line.id).limit(limit).offset(offset)).scalars()
    return [line_dict(r) for r in rows], total


def reference(line: PaymentLineRow) -> str:
    """The line's business reference: unique by construction (recipient + programme + month + attempt)."""
    return line_reference(line.month, line.programme, line.household_id, line.attempt)


def line_reference(month: str, programme: str, household_id: int, attempt: int) -> str:
    return f"{month.replace('-', '')}-{programme}-{household_id}-{attempt}"


def mask_account(account_no: str) -> str:
    return account_no if len(account_no) <= 8 else f"{account_no[:4]}{'*' * (len(account_no) - 8)}{account_no[-4:]}"
