"""Export a locked batch to the bank, and reconcile the bank's result file line by line.

Reconciliation is all or nothing: the file must name this batch, list every line exactly once with
the account and amount we sent, and its control totals must equal both its own lines and the batch
— to the fen.  Otherwise nothing is marked and every problem is reported.  Importing the same result
again changes nothing; a file that contradicts an earlier one is refused (409).  Failed lines give
their money back to the programme's fund (a ``reversal``) and are re-issued by the next batch.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import and_, bindparam, exists, select, update
from sqlalchemy.orm import Session

from engine.casework import funds
from engine.casework.benefits import bankfile, cycles, months
from engine.casework.benefits.models import PaymentLineRow
from engine.casework.payments import Payment
from engine.errors import Conflict, ValidationError
from engine.workflow import audit


def export(session: Session, batch_id: int, *, actor: str, region: str, at: datetime,
           id_mode: str = "masked") -> tuple[bytes, dict]:
    """The payment file of a locked (or already exported) batch; the batch becomes ``exported``."""
    b = cycles._visible_batch(session, batch_id, region, lock=True)
    if b.status not in ("locked", "exported", "reconciled"):
        raise Conflict(f"batch {b.id} is {b.status}; lock it before exporting / 请先锁定批次")
    data, sha = bankfile.payment_file(session, b, id_mode)
    if b.status == "locked":
        b.status, b.exported_at, b.exported_by = "exported", at, actor
    b.file_sha256 = sha
    session.flush()
    audit.append(session, chain=cycles.chain(b.id), actor=actor, action="payment_batch.exported",
                 object_type="payment_batch", object_id=b.id, at=at,
                 after={"sha256": sha, "bytes": len(data), "id_mode": id_mode, "lines": b.line_count,
                        "total": months.yuan(b.total_fen)})
    return data, cycles.batch_dict(b)


def reconcile(session: Session, batch_id: int, data: bytes, *, actor: str, region: str, at: datetime,
              fund_kinds: dict | None = None) -> dict:
    b = cycles._visible_batch(session, batch_id, region, lock=True)
    if b.status not in ("exported", "reconciled"):
        raise Conflict(f"batch {b.id} is {b.status}; export it before reconciling / 请先导出代发文件")
    result = bankfile.parse_result(data)
    t = PaymentLineRow
    lines = {cycles.line_reference(r.month, r.programme, r.household_id, r.attempt): r for r in session.execute(
        select(t.id, t.month, t.programme, t.household_id, t.attempt, t.amount_fen, t.account_no, t.status)
        .where(t.batch_id == b.id))}
    _check(b, result, lines)
    if b.status == "reconciled":
        contradicting = [r.reference for r in result.lines
                         if (lines[r.reference].status == "paid") != r.paid]
        if contradicting:
            raise Conflict(f"the result contradicts the reconciled batch for {len(contradicting)} line(s), "
                           f"e.g. {contradicting[0]}")
        return {**cycles.batch_dict(b), "changed": 0}
    failed = [{"lid": lines[r.reference].id, "reason": r.reason} for r in result.lines if not r.paid]
    table = PaymentLineRow.__table__
    if failed:
        session.execute(update(table).where(table.c.id == bindparam("lid"))
                        .values(status="failed", failure_reason=bindparam("reason"), result_at=at), failed)
    # every line is in the file (checked above): what is still pending was paid
    paid = session.execute(update(table).where(table.c.batch_id == b.id, table.c.status == "pending")
                           .values(status="paid", result_at=at)).rowcount
    session.expire_all()
    b = cycles.get_batch(session, batch_id)
    returned = []
    for programme, total in cycles.programme_totals(session, b.id, status="failed"):
        if total <= 0:
            continue
        kind = (fund_kinds or {}).get(programme, cycles.DEFAULT_FUND_KIND)
        fund = funds.resolve(session, kind, b.region_code)
        amount = Decimal(total) / 100
        funds.post(session, fund, "reversal", amount, at=at, actor=actor,
                   reference=f"batch:{b.id}:{programme}:failed", note=f"{programme} {b.month} 退回")
        returned.append({"programme": programme, "fund": fund.code, "amount": f"{amount:.2f}"})
    _mark_case_payments(session, b.id, at)
    cycles._totals(session, b)
    b.status, b.reconciled_at, b.reconciled_by = "reconciled", at, actor
    session.flush()
    audit.append(session, chain=cycles.chain(b.id), actor=actor, action="payment_batch.reconciled",
                 object_type="payment_batch", object_id=b.id, at=at,
                 after={"result_sha256": result.sha256, "paid": b.paid_count, "paid_total": months.yuan(b.paid_fen),
                        "failed": b.failed_count, "failed_total": months.yuan(b.failed_fen),
                        "returned": returned})
    return {**cycles.batch_dict(b), "changed": paid + len(failed)}


def _check(b, result: bankfile.ResultFile, lines: dict) -> None:
    problems: dict[str, list[str]] = {}

    def problem(where: str, message: str) -> None:
        problems.setdefault(where, []).append(message)

    if result.batch_code != bankfile.batch_code(b):
        problem("row 2", f"batch {result.batch_code!r} is not this batch ({bankfile.batch_code(b)})")
    seen: set[str] = set()
    for r in result.lines:
        where = f"row {r.row}"
        ours = lines.get(r.reference)
        if ours is None:
            problem(where, f"{r.reference} is not a line of this batch")
            continue
        if r.reference in seen:
            problem(where, f"{r.reference} appears twice")
        seen.add(r.reference)
        if r.amount_fen != ours.amount_fen:
            problem(where, f"amount {months.yuan(r.amount_fen)} differs from the {months.yuan(ours.amount_fen)} sent")
        if r.account_no and r.account_no != ours.account_no:
            problem(where, "the account differs from the one sent")
    missing = len(set(lines) - seen)
    if missing:
        problem("file", f"{missing} line(s) of the batch have no result")
    sums = {"count": len(result.lines), "total": sum(r.amount_fen for r in result.lines),
            "paid_count": sum(1 for r in result.lines if r.paid),
            "paid": sum(r.amount_fen for r in result.lines if r.paid),
            "failed_count": sum(1 for r in result.lines if not r.paid),
            "failed": sum(r.amount_fen for r in result.lines if not r.paid)}
    for name, stated, counted in (("总笔数", result.count, sums["count"]), ("成功笔数", result.paid_count, sums["paid_count"]),
                                  ("失败笔数", result.failed_count, sums["failed_count"])):
        if stated != counted:
            problem("row 2", f"{name} {stated} but the file lists {counted}")
    for name, stated, counted in (("总金额", result.total_fen, sums["total"]), ("成功金额", result.paid_fen, sums["paid"]),
                                  ("失败金额", result.failed_fen, sums["failed"])):
        if stated != counted:
            problem("row 2", f"{name} {months.yuan(stated)} but the lines add up to {months.yuan(counted)}")
    if result.total_fen != b.total_fen or result.count != b.line_count:
        problem("row 2", f"the batch sent {b.line_count} line(s) totalling {months.yuan(b.total_fen)}")
    if problems:
        raise ValidationError("the result file does not reconcile with the batch / 回盘文件与批次不符", problems)


def _mark_case_payments(session: Session, batch_id: int, at: datetime) -> None:
    """The first month a case scheduled (``payment.schedule``) is shown paid once the bank paid it."""
    line = PaymentLineRow
    paid_line = exists().where(line.batch_id == batch_id, line.status == "paid",
                               line.household_id == Payment.household_id, line.programme == Payment.programme,
                               line.month == Payment.month)
    session.execute(update(Payment).where(and_(Payment.status == "scheduled", paid_line))
                    .values(status="paid", paid_at=at).execution_options(synchronize_session=False))
