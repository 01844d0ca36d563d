"""Dashboard figures from the payment data itself: people covered, money paid, failed payments.

Plain dicts of plain values (counts as int, money as two-decimal strings), so the dashboard page
and any export can use them without knowing the tables.  Every figure is one grouped query.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from engine.casework.benefits import months as m
from engine.casework.benefits.cycles import _prefix_range
from engine.casework.benefits.models import EntitlementRow, PaymentBatchRow, PaymentLineRow


def figures(session: Session, region_prefix: str = "", months: list[str] | tuple[str, ...] | None = None) -> dict:
    """Figures for the region ``region_prefix`` (any prefix; "" for all) over ``months``.

    ``covered``: households and people on each monthly programme now (status active or tapering).
    ``paid``: per batch month and programme, the lines the bank paid and their amount.
    ``failed``: per batch month and programme, lines the bank returned; ``failed_open`` counts the
    failures not yet re-issued.  ``months`` defaults to the last 12 months that have a batch.
    """
    e, b, line = EntitlementRow, PaymentBatchRow, PaymentLineRow
    region_prefix = region_prefix or ""
    covered_rows = session.execute(
        select(e.programme, func.count(e.id), func.coalesce(func.sum(e.persons), 0))
        .where(_prefix_range(e.region_code, region_prefix), e.status.in_(("active", "tapering")))
        .group_by(e.programme).order_by(e.programme)).all()
    covered = {p: {"households": int(h), "people": int(n)} for p, h, n in covered_rows}
    covered_total = {"households": sum(v["households"] for v in covered.values()),
                     "people": sum(v["people"] for v in covered.values())}
    if months is None:
        county = region_prefix[:6]  # a township's figures come from its county's batches
        months = sorted(session.execute(select(b.month).where(_prefix_range(b.region_code, county))
                                        .group_by(b.month).order_by(b.month.desc()).limit(12)).scalars())
    months = [m.check_month(x) for x in months]
    by_status = session.execute(
        select(b.month, line.programme, line.status, func.count(line.id), func.coalesce(func.sum(line.amount_fen), 0))
        .join(b, b.id == line.batch_id)
        .where(b.month.in_(months), _region_condition(region_prefix))
        .group_by(b.month, line.programme, line.status)).all() if months else []
    paid, failed = [], []
    for month, programme, status, count, fen in sorted(by_status):
        item = {"month": month, "programme": programme, "count": int(count), "amount": m.yuan(int(fen))}
        if status == "paid":
            paid.append(item)
        elif status == "failed":
            failed.append(item)
    nxt = aliased(PaymentLineRow)
    open_failed = session.execute(
        select(func.count(line.id), func.coalesce(func.sum(line.amount_fen), 0))
        .where(line.status == "failed", _region_condition(region_prefix),
               ~select(nxt.id).where(nxt.household_id == line.household_id, nxt.programme == line.programme,
                                     nxt.month == line.month, nxt.attempt == line.attempt + 1).exists())).one()
    paid_by_month = {}
    for item in paid:
        paid_by_month[item["month"]] = paid_by_month.get(item["month"], 0) + m.to_fen(item["amount"])
    return {"region_prefix": region_prefix, "months": months, "covered": covered, "covered_total": covered_total,
            "paid": paid, "paid_total_by_month": {k: m.yuan(v) for k, v in sorted(paid_by_month.items())},
            "failed": failed, "failed_open": {"count": int(open_failed[0]), "amount": m.yuan(int(open_failed[1]))}}


def _region_condition(prefix: str):
    """Lines whose household's entitlement lies in the region (lines carry no region of their own)."""
    e, line = EntitlementRow, PaymentLineRow
    if not prefix:
        return line.id.isnot(None)
    return line.entitlement_id.in_(select(e.id).where(_prefix_range(e.region_code, prefix)))
