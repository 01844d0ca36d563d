"""Driving a county's cycle the way the bureau does, and playing the bank."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from sqlalchemy import select

from engine.casework.benefits import cycles, reconcile
from engine.casework.benefits.models import PaymentLineRow
from tests.engine.benefits.conftest import APPROVER, CLERK, COUNTY


def draft(county, month: str):
    with county.services.db.write() as s:
        return cycles.batch_dict(cycles.draft(s, region_code=COUNTY, month=month, actor=CLERK.username,
                                              at=county.now()))


def approve_and_lock(county, batch_id: int) -> dict:
    with county.services.db.write() as s:
        cycles.approve(s, batch_id, actor=APPROVER.username, region=APPROVER.region, at=county.now())
        return cycles.batch_dict(cycles.lock(s, batch_id, actor=APPROVER.username, region=APPROVER.region,
                                             at=county.now()))


def export(county, batch_id: int) -> bytes:
    with county.services.db.write() as s:
        data, _ = reconcile.export(s, batch_id, actor=APPROVER.username, region=APPROVER.region, at=county.now())
    return data


def bank_result(payment_file: bytes, failed: dict[str, str] | None = None, *, tamper_total: bool = False) -> bytes:
    """What the bank sends back: every line paid except the references in ``failed`` (→ reason)."""
    failed = failed or {}
    rows = list(csv.reader(io.StringIO(payment_file.decode("utf-8-sig"))))
    code, lines = rows[1][0], rows[3:]
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    total = sum(Decimal(r[6]) for r in lines)
    bad = [r for r in lines if r[1] in failed]
    bad_total = sum((Decimal(r[6]) for r in bad), Decimal("0"))
    stated = total + Decimal("0.01") if tamper_total else total
    w.writerow(["批次号", "总笔数", "总金额", "成功笔数", "成功金额", "失败笔数", "失败金额"])
    w.writerow([code, len(lines), f"{stated:.2f}", len(lines) - len(bad), f"{total - bad_total:.2f}", len(bad),
                f"{bad_total:.2f}"])
    w.writerow(["序号", "业务编号", "账号", "金额", "结果", "失败原因"])
    for r in lines:
        w.writerow([r[0], r[1], r[3], r[6], "失败" if r[1] in failed else "成功", failed.get(r[1], "")])
    return out.getvalue().encode("utf-8")


def reconcile_file(county, batch_id: int, data: bytes) -> dict:
    with county.services.db.write() as s:
        return reconcile.reconcile(s, batch_id, data, actor=APPROVER.username, region=APPROVER.region,
                                   at=county.now())


def full_cycle(county, month: str, failed: dict[str, str] | None = None) -> dict:
    batch = draft(county, month)
    approve_and_lock(county, batch["id"])
    if batch["line_count"] == 0:
        return batch
    return reconcile_file(county, batch["id"], bank_result(export(county, batch["id"]), failed))


def lines(county, batch_id: int) -> list[tuple]:
    """(household, programme, month, kind, amount, status) of every line of a batch."""
    with county.services.db.read() as s:
        rows = s.execute(select(PaymentLineRow).where(PaymentLineRow.batch_id == batch_id)
                         .order_by(PaymentLineRow.household_id, PaymentLineRow.month)).scalars()
        return [(r.household_id, r.programme, r.month, r.kind, f"{Decimal(r.amount_fen) / 100:.2f}", r.status)
                for r in rows]


def reference(household_id: int, month: str, programme: str = "dibao", attempt: int = 1) -> str:
    return f"{month.replace('-', '')}-{programme}-{household_id}-{attempt}"
