"""Entitlements: confirmed decisions turned into "who is paid how much for which months".

An entitlement is one household's standing right to one monthly programme (dibao, tekun).  What it
pays month by month is a list of *periods* ``[from_month, until_month)``, each at one amount, so a
back-paid month is paid at the amount that applied to it, not today's.  Every change — approval,
adjustment, taper, suspension, resumption, stop — is applied the same way: periods starting at or
after the effective month are replaced, the one running across it is cut there, and the new period
(if any) begins.  Each change keeps its reasons and the decision that made it (``entitlement_change``)
and is an audit event on the chain ``entitlement:<id>``.

Months already in a locked batch stay paid: a change never reaches back into money that has gone
to the bank (recovering an overpayment is its own procedure, 追回, outside this module).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Collection, Iterable, Mapping

from sqlalchemy import and_, delete, exists, func, insert, literal, or_, select, update
from sqlalchemy.orm import Session

from engine.casework.benefits import months
from engine.casework.benefits.sql import hash_anti_joins
from engine.casework.benefits.models import (EntitlementChangeRow, EntitlementPeriodRow,
                                             EntitlementRow)
from engine.casework.models import HouseholdRow
from engine.errors import NotFound, ValidationError
from engine.workflow import audit

MONTHLY_PROGRAMMES = ("dibao", "tekun")
DEFAULT_TAPER_MONTHS = 6  # national maximum [N 2022]; a programme's own "<code>.taper_months" wins
_ROLL_STATUS = {"active": "active", "tapering": "active", "suspended": "suspended", "stopped": "stopped"}


def chain(entitlement_id: int) -> str:
    return f"entitlement:{entitlement_id}"


@dataclass(frozen=True)
class Change:
    """What a decision does to an entitlement; ``until`` only for a taper."""

    action: str
    effective: str
    monthly_fen: int | None = None
    until: str | None = None
    reasons: tuple = ()
    decision_id: int | None = None
    instance_id: int | None = None


def snapshot(ent: EntitlementRow) -> dict[str, Any]:
    return {"status": ent.status, "monthly_amount": months.yuan(ent.monthly_fen),
            "start_month": ent.start_month, "end_month": ent.end_month, "persons": ent.persons}


def find(session: Session, household_id: int, programme: str) -> EntitlementRow | None:
    return session.execute(select(EntitlementRow).where(
        EntitlementRow.household_id == household_id, EntitlementRow.programme == programme)).scalar()


def create(session: Session, *, household_id: int, programme: str, region_code: str, monthly_fen: int,
           start_month: str, persons: int, actor: str, at: datetime, decision_id: int | None = None,
           instance_id: int | None = None, reasons: Iterable = ()) -> EntitlementRow:
    """A new entitlement paying ``monthly_fen`` from ``start_month``; a stopped one is started again."""
    months.check_month(start_month, "from_month")
    ent = find(session, household_id, programme)
    if ent is None:
        ent = EntitlementRow(household_id=household_id, programme=programme, region_code=region_code,
                             status="active", monthly_fen=monthly_fen, persons=max(1, persons),
                             start_month=start_month, end_month=None, drafted_through=months.add(start_month, -1),
                             decision_id=decision_id,
                             instance_id=instance_id, created_at=at, created_by=actor, updated_at=at)
        session.add(ent)
        session.flush()
    ent.region_code, ent.persons, ent.instance_id = region_code, max(1, persons), instance_id
    if ent.status == "stopped":
        ent.start_month = start_month
    apply(session, ent, Change("approved", start_month, monthly_fen, None, tuple(reasons), decision_id,
                               instance_id), actor=actor, at=at)
    return ent


def apply(session: Session, ent: EntitlementRow, change: Change, *, actor: str, at: datetime) -> None:
    """Replace the periods from ``change.effective`` on and record why."""
    eff = months.check_month(change.effective, "from_month")
    before = snapshot(ent)
    if change.action == "continue":
        _record(session, ent, change, before, actor=actor, at=at)
        return
    p = EntitlementPeriodRow
    session.execute(delete(p).where(p.entitlement_id == ent.id, p.from_month >= eff))
    session.execute(update(p).where(p.entitlement_id == ent.id, or_(p.until_month.is_(None), p.until_month > eff))
                    .values(until_month=eff))
    kind, until, status, end = {
        "approved": ("pay", None, "active", None),
        "adjust": ("pay", None, "active", None),
        "resume": ("pay", None, "active", None),
        "taper": ("taper", change.until, "tapering", change.until),
        "suspend": ("suspended", None, "suspended", None),
        "stop": (None, None, "stopped", eff),
    }[change.action]
    fen = ent.monthly_fen if change.monthly_fen is None else change.monthly_fen
    if change.action == "taper" and (not until or until <= eff):
        raise ValidationError("a taper needs an end month after its start",
                              {"taper_until": [f"must be a month after {eff}"]})
    if change.action == "suspend":
        fen = ent.monthly_fen  # kept, so resuming pays the same amount
    if kind is not None:
        session.add(EntitlementPeriodRow(entitlement_id=ent.id, kind=kind, from_month=eff, until_month=until,
                                         monthly_fen=fen, decision_id=change.decision_id))
    ent.status, ent.monthly_fen, ent.end_month = status, (0 if change.action == "stop" else fen), end
    if kind in ("pay", "taper") and ent.drafted_through and ent.drafted_through >= eff:
        ent.drafted_through = months.add(eff, -1)  # months from eff on may be due again: look at them
    ent.decision_id = change.decision_id if change.decision_id is not None else ent.decision_id
    ent.updated_at = at
    session.flush()
    _record(session, ent, change, before, actor=actor, at=at)
    _sync_roll(session, ent)


def _record(session: Session, ent: EntitlementRow, change: Change, before: dict, *, actor: str,
            at: datetime) -> None:
    after = snapshot(ent)
    session.add(EntitlementChangeRow(entitlement_id=ent.id, action=change.action,
                                     effective_month=change.effective, before=before, after=after,
                                     reasons=[str(r) for r in change.reasons], decision_id=change.decision_id,
                                     instance_id=change.instance_id, at=at, actor=actor))
    audit.append(session, chain=chain(ent.id), actor=actor, action=f"entitlement.{change.action}",
                 object_type="entitlement", object_id=ent.id, at=at, before=before,
                 after={**after, "effective_month": change.effective, "decision_id": change.decision_id,
                        "reasons": [str(r) for r in change.reasons]})


def _sync_roll(session: Session, ent: EntitlementRow) -> None:
    """Keep the monthly review's roll (``recipient``) in step: an entitlement is who is on benefit."""
    from engine.casework import monitoring

    monitoring.enrol(session, household_id=ent.household_id, programme=ent.programme,
                     region_code=ent.region_code, monthly_amount=months.yuan(ent.monthly_fen),
                     since=_first_day(ent.start_month), status=_ROLL_STATUS[ent.status])


def _first_day(month: str):
    from datetime import date

    return date(int(month[:4]), int(month[5:7]), 1)


# --------------------------------------------------------------------------- from decisions

def from_decision(session: Session, decision, *, region_code: str, settings: Mapping, actor: str,
                  at: datetime, data: dict | None = None,
                  monthly_programmes: Collection[str] | None = None) -> EntitlementRow | None:
    """Apply a recorded :class:`~engine.casework.payments.Decision` to the household's entitlement.

    ``approved`` with a monthly amount creates (or restarts) it from the decision's month;
    ``adjust``, ``taper``, ``suspend``, ``resume``, ``stop`` change it from the decision's month;
    ``continue`` is noted.  One-off and status decisions (temporary relief, charity, marginal) and
    programmes that pay nothing monthly leave entitlements alone.
    """
    data = data or {}
    if decision.household_id is None or decision.programme not in _monthly(settings, monthly_programmes):
        return None
    action = decision.decision
    reasons = tuple(decision.reasons or ())
    if action == "approved":
        if decision.monthly_amount is None or decision.monthly_amount <= 0 or not decision.from_month:
            return None
        return create(session, household_id=decision.household_id, programme=decision.programme,
                      region_code=region_code, monthly_fen=months.to_fen(decision.monthly_amount),
                      start_month=decision.from_month, persons=_persons(session, decision.household_id, data),
                      actor=actor, at=at, decision_id=decision.id, instance_id=decision.instance_id,
                      reasons=reasons)
    if action not in ("adjust", "taper", "suspend", "resume", "stop", "continue"):
        return None
    ent = find(session, decision.household_id, decision.programme)
    if ent is None:
        return None
    effective = decision.from_month or months.add(months.of(at.date()), 1)
    fen = months.to_fen(decision.monthly_amount) if decision.monthly_amount not in (None, "") else None
    if action in ("adjust", "resume") and fen == 0:
        action, fen = "stop", None
    until = None
    if action == "taper":
        until = _taper_until(data, effective, decision.programme, settings)
    apply(session, ent, Change(action, effective, fen, until, reasons, decision.id, decision.instance_id),
          actor=actor, at=at)
    return ent


def _monthly(settings: Mapping, declared: Collection[str] | None) -> tuple[str, ...]:
    """The setting ``benefits.monthly_programmes`` wins; else what the plugins declare monthly."""
    extra = settings.get("benefits.monthly_programmes") if isinstance(settings, Mapping) else None
    if extra:
        return tuple(extra)
    return tuple(declared) if declared is not None else MONTHLY_PROGRAMMES


def _taper_until(data: dict, effective: str, programme: str, settings: Mapping) -> str:
    """The first month without payment: the review's ``taper_until``/``taper_ends`` date, else the
    programme's configured taper length counted from the effective month."""
    for key in ("taper_until", "taper_ends"):
        value = data.get(key)
        if isinstance(value, str) and len(value) >= 7 and months.MONTH_RE.match(value[:7]):
            return value[:7]
    n = int(settings.get(f"{programme}.taper_months", DEFAULT_TAPER_MONTHS)) if isinstance(settings, Mapping) \
        else DEFAULT_TAPER_MONTHS
    return months.add(effective, n)


def _persons(session: Session, household_id: int, data: dict) -> int:
    covered = data.get("covered_members")
    if isinstance(covered, list) and covered:
        return len(covered)
    raw = session.execute(select(HouseholdRow.data).where(HouseholdRow.id == household_id)).scalar()
    return len((raw or {}).get("members") or ()) or 1


# --------------------------------------------------------------------------- the existing roll

def import_roll(session: Session, *, start_month: str, actor: str, at: datetime,
                region_prefix: str = "") -> int:
    """Start paying everyone on the review roll (``recipient``, status active) who has no entitlement
    yet, from ``start_month`` — the go-live step; set-based, one audit event for the whole import.

    ``persons`` is the household's member count.  Returns how many entitlements were created.
    """
    from engine.casework.monitoring.models import RecipientRow as R

    months.check_month(start_month, "start_month")
    members = _member_count(session)
    e = EntitlementRow.__table__
    fen = func.cast(func.round(R.monthly_amount * 100), e.c.monthly_fen.type)
    src = (select(R.household_id, R.programme, R.region_code, literal("active"), fen, members,
                  literal(start_month), literal(months.add(start_month, -1)), literal(actor),
                  literal(at, e.c.created_at.type),
                  literal(at, e.c.updated_at.type))
           .join(HouseholdRow, HouseholdRow.id == R.household_id)
           .where(R.status == "active", R.monthly_amount > 0,
                  R.region_code.startswith(region_prefix, autoescape=True),
                  ~exists().where(e.c.household_id == R.household_id, e.c.programme == R.programme)))
    with hash_anti_joins(session):
        _import(session, e, src)
    created = session.execute(select(func.count()).select_from(e).where(
        e.c.created_at == at, e.c.created_by == actor, e.c.start_month == start_month)).scalar() or 0
    audit.append(session, chain="benefits:roll", actor=actor, action="entitlement.imported",
                 object_type="entitlement", object_id=region_prefix or "*", at=at,
                 after={"created": created, "start_month": start_month, "region_prefix": region_prefix})
    return created


def _import(session: Session, e, src) -> None:
    session.execute(insert(e).from_select(
        ["household_id", "programme", "region_code", "status", "monthly_fen", "persons", "start_month",
         "drafted_through", "created_by", "created_at", "updated_at"], src))
    p = EntitlementPeriodRow.__table__
    session.execute(insert(p).from_select(
        ["entitlement_id", "kind", "from_month", "monthly_fen"],
        select(e.c.id, literal("pay"), e.c.start_month, e.c.monthly_fen).where(
            e.c.status == "active", ~exists().where(p.c.entitlement_id == e.c.id))))


def _member_count(session: Session):
    data = HouseholdRow.data
    if session.get_bind().dialect.name == "postgresql":
        return func.coalesce(func.json_array_length(func.cast(data, _json()).op("->")("members")), 1)
    return func.coalesce(func.json_array_length(data, "$.members"), 1)


def _json():
    from sqlalchemy.dialects.postgresql import JSON

    return JSON()


# --------------------------------------------------------------------------- reading

def entitlement_dict(ent: EntitlementRow, *, periods: list | None = None, changes: list | None = None) -> dict:
    out = {"id": ent.id, "household_id": ent.household_id, "programme": ent.programme,
           "region_code": ent.region_code, "status": ent.status,
           "monthly_amount": months.yuan(ent.monthly_fen), "persons": ent.persons,
           "start_month": ent.start_month, "end_month": ent.end_month, "decision_id": ent.decision_id,
           "case_id": ent.instance_id}
    if periods is not None:
        out["periods"] = [{"kind": p.kind, "from_month": p.from_month, "until_month": p.until_month,
                           "monthly_amount": months.yuan(p.monthly_fen), "decision_id": p.decision_id}
                          for p in periods]
    if changes is not None:
        out["changes"] = [{"action": c.action, "effective_month": c.effective_month, "before": c.before,
                           "after": c.after, "reasons": c.reasons or [], "decision_id": c.decision_id,
                           "case_id": c.instance_id, "at": c.at.isoformat(), "actor": c.actor}
                          for c in changes]
    return out


def detail(session: Session, entitlement_id: int, *, region: str = "") -> dict:
    ent = session.get(EntitlementRow, entitlement_id)
    if ent is None or not ent.region_code.startswith(region):
        raise NotFound(f"entitlement {entitlement_id} not found / 未找到该待遇")
    periods = session.execute(select(EntitlementPeriodRow).where(EntitlementPeriodRow.entitlement_id == ent.id)
                              .order_by(EntitlementPeriodRow.from_month)).scalars().all()
    changes = session.execute(select(EntitlementChangeRow).where(EntitlementChangeRow.entitlement_id == ent.id)
                              .order_by(EntitlementChangeRow.id)).scalars().all()
    return entitlement_dict(ent, periods=list(periods), changes=list(changes))


def listing(session: Session, *, region: str = "", household_id: int | None = None,
            programme: str | None = None, status: str | None = None, limit: int = 50,
            offset: int = 0) -> tuple[list[dict], int]:
    conds = [EntitlementRow.region_code.startswith(region, autoescape=True)]
    if household_id is not None:
        conds.append(EntitlementRow.household_id == household_id)
    if programme:
        conds.append(EntitlementRow.programme == programme)
    if status:
        conds.append(EntitlementRow.status == status)
    where = and_(*conds)
    total = session.execute(select(func.count(EntitlementRow.id)).where(where)).scalar() or 0
    rows = session.execute(select(EntitlementRow).where(where).order_by(EntitlementRow.id)
                           .limit(limit).offset(offset)).scalars()
    return [entitlement_dict(r) for r in rows], total


def change_manually(session: Session, entitlement_id: int, *, action: str, from_month: str,
                    reason: str, actor: str, at: datetime, region: str = "") -> dict:
    """Suspend (暂停) or resume an entitlement outside a review case, e.g. while a death is checked."""
    if action not in ("suspend", "resume"):
        raise ValidationError("unknown action", {"action": ["one of suspend, resume"]})
    if not reason or not reason.strip():
        raise ValidationError("a reason is required", {"reason": ["required"]})
    ent = session.get(EntitlementRow, entitlement_id)
    if ent is None or not ent.region_code.startswith(region):
        raise NotFound(f"entitlement {entitlement_id} not found / 未找到该待遇")
    allowed = {"suspend": ("active", "tapering"), "resume": ("suspended", "active")}[action]
    if ent.status not in allowed:
        from engine.errors import Conflict

        raise Conflict(f"entitlement {ent.id} is {ent.status}; cannot {action}")
    apply(session, ent, Change(action, months.check_month(from_month, "from_month"), None, None,
                               (reason.strip(),)), actor=actor, at=at)
    return detail(session, ent.id)
