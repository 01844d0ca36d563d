"""What goes on each document: plain context dicts built from the case's records.

Privacy rules (DESIGN decision 10, DOMAIN §3.1 "result publication … with privacy protected"):
notices to the family show names in full and ID numbers masked; publicity lists show names partly
(韩*), never an ID number, never health or disability data; batch summaries name households the
publicity way.  Money is shown to the fen with thousands separators.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.actors import SYSTEM
from engine.casework import regions
from engine.casework.documents.templates import common
from engine.casework.models import AssessmentRow
from engine.casework.payments import Decision
from engine.clock import to_local
from engine.errors import NotFound
from engine.workflow.models import ProcessInstance

ZERO = Decimal("0.00")


def yuan(value: Any) -> str:
    """Decimal yuan to the fen, ``12,345.60``; absent amounts are ``0.00``."""
    amount = Decimal(str(value if value not in (None, "") else 0)).quantize(Decimal("0.01"))
    return f"{amount:,.2f}"


def partial_name(name: str) -> str:
    """``韩进`` → ``韩*``, ``欧阳明华`` → ``欧***``: the surname's first character stays."""
    name = (name or "").strip()
    return name[:1] + "*" * max(1, len(name) - 1) if name else "*"


def chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def chinese_month(month: str | None) -> str:
    if not month or len(month) < 7:
        return "—"
    return f"{int(month[:4])}年{int(month[5:7])}月"


def programme_name(code: str, names: Mapping[str, str] | None = None) -> str:
    return (names or {}).get(code) or common()["programmes"].get(code) or code


def issuer_of(session: Session, region_code: str) -> tuple[str, str]:
    """(the issuing bureau, the body that hears a reconsideration) for a case's region.

    The county civil-affairs bureau confirms and refuses (DOMAIN §1); under the 2023 行政复议法 a
    reconsideration of a county department goes to the county people's government.  Unknown
    region names fall back to generic wording rather than printing a bare code.
    """
    county = region_code[:6]
    name = regions.name_of(session, county) if len(county) == 6 else county
    if name == county:
        return "县级民政部门", "本级人民政府"
    return f"{name}民政局", f"{name}人民政府"


def _household(session: Session, household_id: int | None):
    if household_id is None:
        return None
    from engine.casework import records

    try:
        return records.get_household(session, household_id, actor=SYSTEM)
    except NotFound:
        return None


def _head(members) -> Any:
    heads = [m for m in members if m.relation == "head"]
    return heads[0] if heads else (members[0] if members else None)


def _assessment(session: Session, instance_id: int, programme: str) -> dict | None:
    return session.execute(select(AssessmentRow.result).where(
        AssessmentRow.instance_id == instance_id, AssessmentRow.programme == programme)
        .order_by(AssessmentRow.id.desc()).limit(1)).scalar()


def reason_texts(reasons: Iterable[Any], assessment: Mapping[str, Any] | None) -> list[str]:
    """Decision reasons as sentences: codes take the assessment's message, free text stays."""
    messages = {r.get("code"): r.get("message") for r in (assessment or {}).get("reasons", [])
                if isinstance(r, Mapping)}
    texts = []
    for reason in reasons or []:
        if isinstance(reason, Mapping):
            text = reason.get("message") or messages.get(reason.get("code")) or reason.get("code")
        else:
            text = messages.get(str(reason)) or str(reason)
        if text and text not in texts:
            texts.append(str(text))
    return texts


#: decisions whose notice must give reasons in writing (refusals, reductions, stops)
WRITTEN_REASONS = ("refused", "adjust", "taper", "suspend", "stop")
CHANGE_ACTIONS = {"adjust": "调整救助金额", "taper": "渐退", "suspend": "暂停发放", "stop": "停止发放"}


def _change(decision: Decision) -> dict[str, str]:
    """The wording of a change notice: what changes, from which month."""
    action = CHANGE_ACTIONS.get(decision.decision, "")
    month = chinese_month(decision.from_month)
    amount = yuan(decision.monthly_amount)
    sentence = {
        "adjust": f"自{month}起，你户每月救助金额调整为 {amount} 元。",
        "taper": f"你户已不再符合保障条件，自{month}起进入渐退期，渐退期内每月继续发放 {amount} 元，期满后停止发放。",
        "suspend": f"自{month}起暂停发放你户的救助金，待核实后恢复或停止。",
        "stop": f"自{month}起停止发放你户的救助金。",
    }.get(decision.decision, "")
    return {"action_name": action, "change_sentence": sentence}


def decision_context(session: Session, decision: Decision, *, region_code: str, at: datetime,
                     names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Everything an approval or refusal notice prints for one recorded decision."""
    shared = common()
    record = _household(session, decision.household_id)
    members = list(record.household.members) if record is not None else []
    assessment = _assessment(session, decision.instance_id, decision.programme)
    covered = set((assessment or {}).get("covered_members") or [])
    head = _head(members)
    issuer, reconsideration_body = issuer_of(session, region_code)
    issued = to_local(at).date()
    village = record.region_code if record is not None else region_code
    reasons = reason_texts(decision.reasons, assessment)
    if not reasons and decision.decision != "refused":
        reasons = reason_texts((assessment or {}).get("reasons", []), assessment)
    return {
        "programme_name": programme_name(decision.programme, names),
        "issuer": issuer, "reconsideration_body": reconsideration_body,
        "year": issued.year, "serial": f"{decision.id:06d}",
        "head_name": head.name if head is not None else "申请人",
        "head_id": head.masked_id if head is not None else "—",
        "village": regions.name_of(session, village),
        "household_size": len(members) or "—",
        "covered_count": len(covered) if assessment is not None else len(members) or "—",
        "members": [{"name": m.name, "relation": shared["relations"].get(m.relation, m.relation),
                     "id_masked": m.masked_id,
                     "covered": "是" if (i in covered or assessment is None) else "否"}
                    for i, m in enumerate(members)],
        "monthly_amount": yuan(decision.monthly_amount), "one_off_amount": yuan(decision.one_off_amount),
        "from_month": chinese_month(decision.from_month),
        "decided_date": chinese_date(to_local(decision.decided_at).date()),
        "issued_date": chinese_date(issued),
        "reasons": reasons or (["未说明理由"] if decision.decision in WRITTEN_REASONS else []),
        **_change(decision),
        "refusal_basis": shared["refusal_basis"].get(decision.programme, ""),
        "three_day_rule": decision.programme in shared["refusal_basis"],
        "reconsideration_days": shared["appeal"]["reconsideration_days"],
        "litigation_months": shared["appeal"]["litigation_months"],
    }


def publicity_context(session: Session, *, region_code: str, programme: str,
                      entries: list[Mapping[str, Any]], at: datetime,
                      names: Mapping[str, str] | None = None, days: int | None = None) -> dict[str, Any]:
    """A publicity list: ``entries`` are {name, village, household_size, covered_count, monthly_amount}.

    Only these fields reach the page, so an ID number or a health note in the caller's data
    cannot leak onto the board; names are cut to the surname here, whatever the caller passed.
    """
    days = int(days or common()["publicity"]["days"])
    start = to_local(at).date()
    issuer, _body = issuer_of(session, region_code)
    rows, people, total = [], 0, ZERO
    for i, entry in enumerate(entries, start=1):
        covered = int(entry.get("covered_count") or 0)
        amount = Decimal(str(entry.get("monthly_amount") or 0))
        people += covered
        total += amount
        rows.append({"index": i, "name": partial_name(str(entry.get("name") or "")),
                     "village": entry.get("village") or "", "household_size": entry.get("household_size") or "",
                     "covered_count": covered, "monthly_amount": yuan(amount)})
    return {"programme_name": programme_name(programme, names), "region_name": regions.name_of(session, region_code),
            "issuer": issuer, "publicity_days": days, "publicity_from": chinese_date(start),
            "publicity_to": chinese_date(start + timedelta(days=days)), "entries": rows,
            "count": len(rows), "people": people, "total": yuan(total), "issued_date": chinese_date(start)}


def publicity_entries(session: Session, *, region_code: str, programme: str) -> list[dict[str, Any]]:
    """The households of ``region_code`` with an approved, not since stopped, monthly ``programme``."""
    rows = session.execute(select(Decision).join(ProcessInstance, ProcessInstance.id == Decision.instance_id)
                           .where(ProcessInstance.region_code.startswith(region_code, autoescape=True),
                                  Decision.programme == programme).order_by(Decision.id)).scalars()
    latest: dict[Any, Decision] = {}
    for d in rows:
        latest[d.household_id or -d.instance_id] = d
    entries = []
    for d in latest.values():
        if d.decision in ("approved", "granted") and d.monthly_amount:
            entries.append(_entry(session, d.instance_id, d.household_id, programme, d.monthly_amount))
    return entries


def case_entry(session: Session, case, *, programme: str, monthly_amount: Any) -> dict[str, Any]:
    """One family's publicity line (its proposal during the 7-day publicity, or its approval)."""
    return _entry(session, case.id, case.household_id, programme, monthly_amount)


def _entry(session: Session, instance_id: int, household_id: int | None, programme: str,
           monthly_amount: Any) -> dict[str, Any]:
    record = _household(session, household_id)
    members = list(record.household.members) if record is not None else []
    head = _head(members)
    covered = (_assessment(session, instance_id, programme) or {}).get("covered_members")
    return {"name": head.name if head is not None else "",
            "household_size": len(members) or "",
            "village": regions.name_of(session, record.region_code) if record is not None else "",
            "covered_count": len(covered) if covered is not None else len(members),
            "monthly_amount": monthly_amount}


BATCH_STATUS = {"draft": "草拟", "approved": "已审核", "locked": "已锁定", "exported": "已报送银行",
                "reconciled": "已对账"}


def batch_from_tables(session: Session, batch_id: int) -> dict[str, Any]:
    """A payment batch of :mod:`engine.casework.benefits` as the plain dict :func:`batch_context` reads.

    The benefits tables keep integer fen; the dict carries Decimal yuan.  The account holder's name
    stands for the household (only its surname reaches the page).
    """
    from engine.casework.benefits.models import PaymentBatchRow, PaymentLineRow

    batch = session.get(PaymentBatchRow, batch_id)
    if batch is None:
        raise NotFound(f"payment batch {batch_id} not found / 未找到该发放批次")
    lines = session.execute(select(PaymentLineRow).where(PaymentLineRow.batch_id == batch_id)
                            .order_by(PaymentLineRow.id)).scalars()
    return {"id": batch.id, "region_code": batch.region_code, "month": batch.month, "status": batch.status,
            "lines": [{"programme": line.programme, "amount": Decimal(line.amount_fen) / 100,
                       "status": line.status, "name": line.holder, "reason": line.failure_reason}
                      for line in lines]}


def batch_context(session: Session | None, batch: Mapping[str, Any], *, at: datetime,
                  names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A payment batch summary from a plain dict (the benefits module's batch, or a test's):

    ``{"id", "region_code", "month", "status", "lines": [{"programme", "amount", "status",
    "name"?, "reason"?}]}``; a line is failed when its status is ``failed`` (or ``returned``).
    """
    region = str(batch.get("region_code") or "")
    by_programme: dict[str, list] = defaultdict(lambda: [0, ZERO, 0])
    count, total, paid_count, paid_total = 0, ZERO, 0, ZERO
    failed = []
    for line in batch.get("lines") or []:
        amount = Decimal(str(line.get("amount") or 0)).quantize(Decimal("0.01"))
        code = str(line.get("programme") or "other")
        count += 1
        total += amount
        bucket = by_programme[code]
        bucket[0] += 1
        bucket[1] += amount
        if str(line.get("status")) in ("failed", "returned"):
            bucket[2] += 1
            failed.append({"index": len(failed) + 1, "name": partial_name(str(line.get("name") or "")),
                           "programme": programme_name(code, names), "amount": yuan(amount),
                           "reason": str(line.get("reason") or "—")})
        elif str(line.get("status")) in ("paid", "reconciled", "succeeded", "success"):
            paid_count += 1
            paid_total += amount
    failed_total = sum((Decimal(f["amount"].replace(",", "")) for f in failed), ZERO)
    issuer, _body = issuer_of(session, region) if session is not None and region else ("县级民政部门", "")
    region_name = regions.name_of(session, region) if session is not None and region else (region or "—")
    return {"batch_label": f"第 {batch.get('id')} 批" if batch.get("id") is not None else "—",
            "month": chinese_month(batch.get("month")), "region_name": region_name,
            "status": BATCH_STATUS.get(str(batch.get("status")), str(batch.get("status") or "—")),
            "count": count, "total": yuan(total), "paid_count": paid_count, "paid_total": yuan(paid_total),
            "failed_count": len(failed), "failed_total": yuan(failed_total),
            "programmes": [{"name": programme_name(code, names), "count": n, "amount": yuan(amount),
                            "failed": bad} for code, (n, amount, bad) in sorted(by_programme.items())],
            "failed_lines": failed, "issuer": issuer, "issued_date": chinese_date(to_local(at).date())}
