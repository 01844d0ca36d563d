"""Persistence of households, standards and assessments: the functions everyone else calls.

Each function takes the caller's session (one transaction per request or engine step), the acting
:class:`Actor` and ``now``; nothing reaches for globals.  Region rules (DESIGN decision 8): an actor
acts only on households under its region prefix; a household outside it is "not found", never
"forbidden", so its existence is not revealed.  Every change is an audit event on the chain
``household:<id>`` (or ``case:<id>`` for an assessment made inside a case) with ID numbers masked
(decision 10).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.actors import Actor
from engine.casework import idnumber
from engine.casework.models import AssessmentRow, HouseholdRow, StandardRow
from engine.casework.standards import pick_standard
from engine.casework.types import REGION_PREFIX_LENGTHS, Assessment, Household, Standard
from engine.errors import Conflict, NotAllowed, NotFound, ValidationError
from engine.workflow import audit
from engine.workflow.models import ProcessInstance

HOUSEHOLD_EDITORS = frozenset({"admin", "caseworker", "assistant"})
HOUSEHOLD_READERS = frozenset({"admin", "caseworker", "assistant", "approver", "supervisor",
                               "committee"})
ID_NUMBER_READERS = frozenset({"admin", "caseworker", "approver"})
ASSESSORS = frozenset({"admin", "caseworker", "approver", "assistant"})
STANDARD_EDITORS = frozenset({"admin"})


@dataclass(frozen=True)
class HouseholdRecord:
    id: int
    region_code: str
    household: Household
    created_at: datetime
    created_by: str
    version: int
    updated_at: datetime | None = None
    updated_by: str | None = None


@dataclass(frozen=True)
class AssessmentRecord:
    id: int
    household_id: int
    instance_id: int | None
    programme: str
    as_of: date
    result: dict
    rule_version: str
    created_at: datetime
    created_by: str


def household_chain(household_id: int) -> str:
    return f"household:{household_id}"


def masked_dict(household: Household) -> dict[str, Any]:
    """The household shape with every member's ID number masked (pages, logs, audit)."""
    data = household.to_dict()
    for member in data["members"]:
        if isinstance(member.get("id_number"), str):
            member["id_number"] = idnumber.mask(member["id_number"])
    return data


def require_role(actor: Actor, roles: frozenset[str], what: str) -> None:
    if actor.role not in roles:
        raise NotAllowed(f"the role '{actor.role}' may not {what}")


def _within(column, actor: Actor):
    """SQL condition: ``column`` lies inside the actor's region (an empty region sees all)."""
    return column.startswith(actor.region, autoescape=True) if actor.region else column.isnot(None)


# --------------------------------------------------------------------------- households

def _record(row: HouseholdRow) -> HouseholdRecord:
    return HouseholdRecord(id=row.id, region_code=row.region_code,
                           household=Household.from_dict(row.data, ignore_unknown=True),
                           created_at=row.created_at, created_by=row.created_by,
                           version=row.version, updated_at=row.updated_at,
                           updated_by=row.updated_by)


def _visible_row(session: Session, household_id: int, actor: Actor) -> HouseholdRow:
    row = session.get(HouseholdRow, household_id)
    if row is None or not actor.sees(row.region_code):
        raise NotFound(f"household {household_id} not found / 未找到该家庭")
    return row


def create_household(session: Session, household: Household, *, actor: Actor, now: datetime) -> int:
    """Store a new household in the actor's region; the new id."""
    require_role(actor, HOUSEHOLD_EDITORS, "register households")
    if not actor.sees(household.region_code):
        raise NotAllowed(f"region {household.region_code} is outside your region {actor.region} "
                         "/ 该家庭不在您的辖区内")
    row = HouseholdRow(region_code=household.region_code, hukou=household.hukou,
                       hukou_region_code=household.hukou_region_code, data=household.to_dict(),
                       created_at=now, created_by=actor.username, updated_at=now,
                       updated_by=actor.username)
    session.add(row)
    session.flush()
    audit.append(session, chain=household_chain(row.id), actor=actor.username,
                 action="household.created", object_type="household", object_id=row.id, at=now,
                 after=masked_dict(household))
    return row.id


def get_household(session: Session, household_id: int, *, actor: Actor) -> HouseholdRecord:
    """The household, or NotFound when it is absent or outside the actor's region."""
    require_role(actor, HOUSEHOLD_READERS, "read households")
    return _record(_visible_row(session, household_id, actor))


def reveal_id_numbers(session: Session, household_id: int, *, actor: Actor,
                      now: datetime) -> HouseholdRecord:
    """The household for a role that needs the full ID numbers; the reveal itself is audited."""
    record = get_household(session, household_id, actor=actor)
    require_role(actor, ID_NUMBER_READERS, "see full ID numbers")
    audit.append(session, chain=household_chain(household_id), actor=actor.username,
                 action="household.id_numbers_revealed", object_type="household",
                 object_id=household_id, at=now,
                 after={"members": [idnumber.mask(m.id_number) for m in record.household.members]})
    return record


def list_households(session: Session, *, actor: Actor, limit: int = 50, offset: int = 0,
                    region_code: str | None = None) -> list[HouseholdRecord]:
    """Households inside the actor's region (optionally under ``region_code``), newest first."""
    require_role(actor, HOUSEHOLD_READERS, "read households")
    query = _household_query(select(HouseholdRow), actor, region_code)
    rows = session.execute(query.order_by(HouseholdRow.id.desc())
                           .limit(max(0, limit)).offset(max(0, offset))).scalars()
    return [_record(row) for row in rows]


def count_households(session: Session, *, actor: Actor, region_code: str | None = None) -> int:
    require_role(actor, HOUSEHOLD_READERS, "read households")
    query = _household_query(select(func.count(HouseholdRow.id)), actor, region_code)
    return int(session.execute(query).scalar() or 0)


def _household_query(query, actor: Actor, region_code: str | None):
    query = query.where(_within(HouseholdRow.region_code, actor))
    if region_code:
        query = query.where(HouseholdRow.region_code.startswith(region_code, autoescape=True))
    return query


def update_household(session: Session, household_id: int, household: Household, *, actor: Actor,
                     now: datetime, expected_version: int | None = None) -> HouseholdRecord:
    """Replace a household's data; Conflict when ``expected_version`` is stale."""
    require_role(actor, HOUSEHOLD_EDITORS, "change households")
    row = _visible_row(session, household_id, actor)
    if expected_version is not None and expected_version != row.version:
        raise Conflict(f"household {household_id} was changed meanwhile (version {row.version}, "
                       f"you had {expected_version}); reload and try again / 数据已被他人修改，请刷新后重试")
    if not actor.sees(household.region_code):
        raise NotAllowed(f"region {household.region_code} is outside your region {actor.region} "
                         "/ 该家庭不在您的辖区内")
    before = masked_dict(Household.from_dict(row.data, ignore_unknown=True))
    row.region_code = household.region_code
    row.hukou = household.hukou
    row.hukou_region_code = household.hukou_region_code
    row.data = household.to_dict()
    row.updated_at = now
    row.updated_by = actor.username
    session.flush()
    audit.append(session, chain=household_chain(household_id), actor=actor.username,
                 action="household.updated", object_type="household", object_id=household_id,
                 at=now, before=before, after=masked_dict(household))
    return _record(row)


# --------------------------------------------------------------------------- standards

_STANDARD_FIELDS = tuple(f.name for f in fields(Standard))


def _standard(row: StandardRow) -> Standard:
    return Standard(**{name: getattr(row, name) for name in _STANDARD_FIELDS})


def add_standard(session: Session, standard: Standard, *, actor: Actor, now: datetime) -> int:
    """Store a standards row (admin only); Conflict when its region already has one that day."""
    require_role(actor, STANDARD_EDITORS, "set standards")
    duplicate = session.execute(select(StandardRow.id).where(
        StandardRow.region_code == standard.region_code,
        StandardRow.valid_from == standard.valid_from)).first()
    if duplicate is not None:
        raise Conflict(f"region {standard.region_code} already has a standard valid from "
                       f"{standard.valid_from.isoformat()} / 该地区该日期的标准已存在")
    row = StandardRow(**{name: getattr(standard, name) for name in _STANDARD_FIELDS},
                      created_at=now, created_by=actor.username)
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"region {standard.region_code} already has a standard valid from "
                       f"{standard.valid_from.isoformat()}") from None
    audit.append(session, chain=f"standard:{standard.region_code}", actor=actor.username,
                 action="standard.added", object_type="standard", object_id=row.id, at=now,
                 after=standard.to_dict())
    return row.id


def list_standards(session: Session, *, region_code: str | None = None) -> list[Standard]:
    """Every standards row (or those that could apply under ``region_code``), by region and date."""
    query = select(StandardRow).order_by(StandardRow.region_code, StandardRow.valid_from)
    if region_code:
        query = query.where(StandardRow.region_code.in_(_prefixes(region_code)))
    return [_standard(row) for row in session.execute(query).scalars()]


def standard_for(session: Session, region_code: str, on_date: date) -> Standard | None:
    """The standard in force for ``region_code`` on ``on_date`` (rule: :func:`pick_standard`)."""
    rows = session.execute(select(StandardRow).where(
        StandardRow.region_code.in_(_prefixes(region_code)),
        StandardRow.valid_from <= on_date)).scalars()
    try:
        return pick_standard([_standard(row) for row in rows], region_code, on_date)
    except NotFound:
        return None


def _prefixes(region_code: str) -> list[str]:
    return [region_code[:n] for n in REGION_PREFIX_LENGTHS if n <= len(region_code)]


# --------------------------------------------------------------------------- assessments

def record_assessment(session: Session, *, household_id: int, assessment: Assessment, as_of: date,
                      actor: Actor, now: datetime, instance_id: int | None = None) -> int:
    """Keep one programme's answer as it was given; audited on the case (or household) chain."""
    require_role(actor, ASSESSORS, "assess households")
    _visible_row(session, household_id, actor)
    if instance_id is not None:
        case = session.get(ProcessInstance, instance_id)
        if case is None or not actor.sees(case.region_code):
            raise NotFound(f"case {instance_id} not found")
        if case.household_id not in (None, household_id):
            raise ValidationError("the case belongs to another household",
                                  fields={"household_id": ["does not match the case"]})
    result = assessment.to_dict()
    row = AssessmentRow(household_id=household_id, instance_id=instance_id,
                        programme=assessment.programme, as_of=as_of, result=result,
                        rule_version=assessment.rule_version, created_at=now,
                        created_by=actor.username)
    session.add(row)
    session.flush()
    chain = audit.case_chain(instance_id) if instance_id is not None else household_chain(household_id)
    audit.append(session, chain=chain, actor=actor.username, action="assessment.recorded",
                 object_type="assessment", object_id=row.id, at=now,
                 after={"household_id": household_id, "as_of": as_of.isoformat(), **result})
    return row.id


def list_assessments(session: Session, household_id: int, *, actor: Actor) -> list[AssessmentRecord]:
    """Recorded assessments of one visible household, oldest first."""
    require_role(actor, HOUSEHOLD_READERS, "read assessments")
    _visible_row(session, household_id, actor)
    rows = session.execute(select(AssessmentRow).where(AssessmentRow.household_id == household_id)
                           .order_by(AssessmentRow.id)).scalars()
    return [AssessmentRecord(id=r.id, household_id=r.household_id, instance_id=r.instance_id,
                             programme=r.programme, as_of=r.as_of, result=r.result,
                             rule_version=r.rule_version, created_at=r.created_at,
                             created_by=r.created_by) for r in rows]


# --------------------------------------------------------------------------- bank account

BANK_ACCOUNT_KEYS = ("bank", "account_no", "holder")


def parse_bank_account(data: object) -> dict[str, str]:
    """The household's optional ``bank_account`` {bank, account_no, holder}, checked field by field."""
    problems: dict[str, list[str]] = {}
    if not isinstance(data, dict):
        raise ValidationError("bank_account must be an object", {"bank_account": ["must be an object"]})
    for key in data:
        if key not in BANK_ACCOUNT_KEYS:
            problems.setdefault(f"bank_account.{key}", []).append("unknown field")
    out = {}
    for key, limit in (("bank", 64), ("holder", 64)):
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            problems.setdefault(f"bank_account.{key}", []).append("must be a non-empty string")
        elif len(value.strip()) > limit:
            problems.setdefault(f"bank_account.{key}", []).append(f"at most {limit} characters")
        else:
            out[key] = value.strip()
    number = data.get("account_no")
    digits = number.replace(" ", "") if isinstance(number, str) else ""
    if not (digits.isdigit() and digits.isascii() and 10 <= len(digits) <= 32):
        problems.setdefault("bank_account.account_no", []).append("must be 10 to 32 digits")
    else:
        out["account_no"] = digits
    if problems:
        raise ValidationError("the bank account is invalid", problems)
    return out


def mask_account_no(account_no: str) -> str:
    return f"{account_no[:4]}{'*' * (len(account_no) - 8)}{account_no[-4:]}"


def bank_account_dict(row, *, reveal: bool = False) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"bank": row.bank, "account_no": row.account_no if reveal else mask_account_no(row.account_no),
            "holder": row.holder, "updated_at": row.updated_at.isoformat(), "updated_by": row.updated_by}


def set_bank_account(session: Session, household_id: int, data: object, *, actor: Actor, now: datetime):
    """Record (or replace) the account benefits are paid into; the holder must be a member
    (一卡发放 to the family itself — a card kept by anyone else needs a filed agreement [N])."""
    from engine.casework.benefits.models import BankAccountRow

    require_role(actor, HOUSEHOLD_EDITORS, "change bank accounts")
    row = _visible_row(session, household_id, actor)
    account = parse_bank_account(data)
    members = [m for m in (row.data or {}).get("members", ()) if m.get("name") == account["holder"]]
    if not members:
        raise ValidationError("the account holder must be a member of the household",
                              {"bank_account.holder": ["must be the name of a household member"]})
    existing = session.get(BankAccountRow, household_id)
    before = bank_account_dict(existing)
    if existing is None:
        existing = BankAccountRow(household_id=household_id)
        session.add(existing)
    existing.bank, existing.account_no, existing.holder = account["bank"], account["account_no"], account["holder"]
    existing.holder_id_number = members[0].get("id_number")
    existing.updated_at, existing.updated_by = now, actor.username
    session.flush()
    audit.append(session, chain=household_chain(household_id), actor=actor.username,
                 action="household.bank_account", object_type="household", object_id=household_id, at=now,
                 before=before, after=bank_account_dict(existing))
    return existing


def get_bank_account(session: Session, household_id: int, *, actor: Actor, reveal: bool = False):
    from engine.casework.benefits.models import BankAccountRow

    require_role(actor, HOUSEHOLD_READERS, "read households")
    _visible_row(session, household_id, actor)
    return bank_account_dict(session.get(BankAccountRow, household_id),
                             reveal=reveal and actor.role in ID_NUMBER_READERS)
