"""The policy guide (主动告知 / 码上知): every enabled programme and other departments' policies for
one region, with the amounts of the standard in force there today.

The programmes come from the plugins' :class:`ProgrammeInfo` (a new plugin appears by itself); the
amounts are the plugin's ``amounts`` lines filled from the region's standard, so the page never
repeats a number that lives in the standards table.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.casework import records, regions
from engine.casework.public.models import DepartmentPolicy, RegionContact
from engine.casework.standards import with_tekun_filled
from engine.casework.types import ProgrammeInfo, Standard
from engine.errors import NotFound, ValidationError

DEFAULT_HOTLINE = "12345"  # 政务服务便民热线, answered everywhere
_FORMATTER = string.Formatter()
BENEFIT_ORDER = {"monthly": 0, "one_off": 1, "status": 2}  # monthly benefits first


@dataclass(frozen=True)
class ProgrammeGuide:
    code: str
    name: str
    description: str
    conditions: tuple[str, ...]
    amounts: tuple[str, ...]
    documents: tuple[str, ...]
    where_to_apply: str


@dataclass(frozen=True)
class DepartmentGuide:
    department: str
    title: str
    conditions: tuple[str, ...]
    benefit: str
    documents: tuple[str, ...]
    where_to_apply: str
    hotline: str


@dataclass(frozen=True)
class Contact:
    office: str
    address: str
    hotline: str


@dataclass(frozen=True)
class PolicyGuide:
    region: regions.Region
    path: tuple[regions.Region, ...]  # province first
    programmes: tuple[ProgrammeGuide, ...]
    departments: tuple[DepartmentGuide, ...]
    contact: Contact
    standard_from: date | None


def public_region(session: Session, code: str) -> regions.Region:
    """A township or village the region table knows; anything else is NotFound (no guessing)."""
    if not (code.isdigit() and len(code) in (9, 12)):
        raise NotFound("no such township or village")
    row = session.get(regions.RegionRow, code)
    if row is None:
        raise NotFound("no such township or village")
    return regions.Region(row.code, row.name, row.level, row.parent_code)


def amount_values(standard: Standard, settings: Mapping[str, Any]) -> dict[str, str]:
    """The standard's amounts as two-decimal strings (a missing tekun value filled by the 1.3 rule)."""
    multiplier = Decimal(str(settings.get("tekun.basic_living_multiplier", "1.3")))
    unit = Decimal(str(settings.get("casework.rounding_unit", "1")))
    filled = with_tekun_filled(standard, multiplier=multiplier, unit=unit)
    values = {}
    for f in fields(filled):
        value = getattr(filled, f.name)
        if isinstance(value, Decimal):
            values[f.name] = str(value) if f.name.endswith("multiplier") else f"{value:.2f}"
    return values


def fill_amounts(lines: tuple[str, ...], values: Mapping[str, str]) -> tuple[str, ...]:
    """Each line with its ``{field}``s filled; a line naming a value the standard lacks is left out
    rather than shown half-empty.  Only bare field names are honoured (no attribute or index)."""
    out = []
    for line in lines:
        try:
            names = [name for _text, name, _spec, _conv in _FORMATTER.parse(line) if name is not None]
        except ValueError:
            continue
        if all(name in values for name in names):
            out.append(line.format_map({name: values[name] for name in names}))
    return tuple(out)


def contact_for(session: Session, region_code: str) -> Contact:
    codes = [region_code[:n] for n in (2, 4, 6, 9, 12) if n <= len(region_code)]
    rows = {r.region_code: r for r in session.execute(
        select(RegionContact).where(RegionContact.region_code.in_(codes))).scalars()}
    for code in reversed(codes):
        if code in rows:
            row = rows[code]
            return Contact(row.office, row.address or "", row.hotline)
    township = regions.name_of(session, region_code[:9]) if len(region_code) >= 9 else ""
    return Contact(f"{township}民政办" if township else "乡镇（街道）民政办", "", DEFAULT_HOTLINE)


def department_policies(session: Session, region_code: str) -> tuple[DepartmentGuide, ...]:
    codes = [region_code[:n] for n in (2, 4, 6, 9, 12) if n <= len(region_code)]
    rows = session.execute(select(DepartmentPolicy).where(DepartmentPolicy.region_code.in_(codes))
                           .order_by(DepartmentPolicy.position, DepartmentPolicy.id)).scalars()
    return tuple(DepartmentGuide(r.department, r.title, tuple(r.conditions or ()), r.benefit or "",
                                 tuple(r.documents or ()), r.where_to_apply or "", r.hotline or "")
                 for r in rows)


def policy_guide(session: Session, *, region_code: str, on_date: date,
                 programmes: Mapping[str, ProgrammeInfo], settings: Mapping[str, Any]) -> PolicyGuide:
    """The guide for a township or village on ``on_date``; disabled programmes are left out."""
    region = public_region(session, region_code)
    standard = records.standard_for(session, region_code, on_date)
    values = amount_values(standard, settings) if standard is not None else {}
    guides = []
    for code in sorted(programmes, key=lambda c: (BENEFIT_ORDER.get(programmes[c].benefit, 9), c)):
        info = programmes[code]
        if settings.get(f"{code}.enabled", True) is False:
            continue
        guides.append(ProgrammeGuide(
            code=code, name=info.name_zh, description=info.description,
            conditions=tuple(info.conditions), amounts=fill_amounts(tuple(info.amounts), values),
            documents=tuple(info.documents),
            where_to_apply=info.where_to_apply or "户籍所在地乡镇（街道）民政办"))
    return PolicyGuide(region=region, path=tuple(regions.path_of(session, region_code)),
                       programmes=tuple(guides), departments=department_policies(session, region_code),
                       contact=contact_for(session, region_code),
                       standard_from=standard.valid_from if standard is not None else None)


def add_department_policy(session: Session, item: Mapping[str, Any]) -> int:
    """Store one department policy (demo data, an operator's import); returns its id."""
    problems = {k: ["required"] for k in ("region_code", "department", "title") if not item.get(k)}
    if problems:
        raise ValidationError("the policy is incomplete", problems)
    row = DepartmentPolicy(region_code=item["region_code"], department=item["department"],
                           title=item["title"], conditions=list(item.get("conditions", [])),
                           benefit=item.get("benefit"), documents=list(item.get("documents", [])),
                           where_to_apply=item.get("where_to_apply"), hotline=item.get("hotline"),
                           position=int(item.get("position", 0)))
    session.add(row)
    session.flush()
    return row.id


def set_contact(session: Session, region_code: str, *, office: str, hotline: str,
                address: str | None = None) -> None:
    regions.level_of(region_code)
    row = session.get(RegionContact, region_code)
    if row is None:
        session.add(RegionContact(region_code=region_code, office=office, address=address, hotline=hotline))
    else:
        row.office, row.address, row.hotline = office, address, hotline
    session.flush()


def load_public_data(session: Session, data: Mapping[str, Any]):
    """Contacts and department policies from the demo file (idempotent: what exists stays)."""
    for item in data.get("contacts", []):
        if session.get(RegionContact, item["region_code"]) is None:
            set_contact(session, item["region_code"], office=item["office"], hotline=item["hotline"],
                        address=item.get("address"))
            yield f"contact {item['region_code']} {item['office']}"
    if session.execute(select(DepartmentPolicy.id).limit(1)).first() is None:
        for item in data.get("department_policies", []):
            add_department_policy(session, item)
            yield f"policy {item['department']} {item['title']}"
