"""Strict parsing of the household and standard JSON shapes (DESIGN.md) into the frozen dataclasses.

Every getter records its problem under the field's path and returns a fallback, so one call reports
everything that is wrong; objects are only built from fully valid input.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from engine.casework import idnumber
from engine.casework.types import (DISABILITY_CATEGORIES, HUKOU, MAX_AMOUNT, REGION_PREFIX_LENGTHS,
                                   SCHOOL_LEVELS, SEXES, STANDARD_AMOUNTS, STANDARD_REQUIRED,
                                   SUPPORTER_CIRCUMSTANCES, ZERO, Assets, Disability, Expenses12m, Household,
                                   Income, Member, Standard, Supporter)
from engine.errors import ValidationError

# --------------------------------------------------------------------------- strict parsing
# Every getter records its problem under the field's path and returns a fallback, so one call
# reports everything that is wrong.  Objects are only built from fully valid input.

_MISSING: Any = object()


class Fields:
    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.fields.setdefault(path or "_schema", []).append(message)

    def raise_if_any(self, message: str) -> None:
        if self.fields:
            raise ValidationError(message, fields=self.fields)


class _Object:
    """One JSON object at ``path``; unknown keys are refused unless ``ignore_unknown``."""

    def __init__(self, data: object, path: str, errors: Fields, keys: tuple[str, ...],
                 ignore_unknown: bool = False) -> None:
        self.path, self.errors = path, errors
        self.data: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
        if not isinstance(data, Mapping):
            errors.add(path, "must be an object")
        elif not ignore_unknown:
            for key in data:
                if key not in keys:
                    errors.add(self.at(str(key)), "unknown field")

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        if key in self.data:
            return self.data[key]
        if default is _MISSING:
            self.errors.add(self.at(key), "required")
        return None if default is _MISSING else default

    def text(self, key: str, default: Any = _MISSING, choices: tuple[str, ...] = ()) -> Any:
        value = self.raw(key, default)
        if key not in self.data:
            return value
        if not isinstance(value, str) or not value.strip():
            self.errors.add(self.at(key), "must be a non-empty string")
        elif choices and value not in choices:
            self.errors.add(self.at(key), f"must be one of: {', '.join(choices)}")
        return value

    def region(self, key: str, lengths: tuple[int, ...], default: Any = _MISSING) -> Any:
        value = self.raw(key, default)
        if key in self.data and not (isinstance(value, str) and value.isdigit()
                                     and len(value) in lengths):
            self.errors.add(self.at(key),
                            f"must be a region code of {' or '.join(map(str, lengths))} digits")
        return value

    def boolean(self, key: str, default: Any = _MISSING, nullable: bool = False) -> Any:
        value = self.raw(key, default)
        if key in self.data and not isinstance(value, bool) and not (nullable and value is None):
            self.errors.add(self.at(key), "must be true or false")
        return value

    def integer(self, key: str, default: Any = _MISSING, lo: int = 0, hi: int | None = None,
                nullable: bool = False) -> Any:
        value = self.raw(key, default)
        if key not in self.data or (nullable and value is None):
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            self.errors.add(self.at(key), "must be a whole number")
        elif value < lo or (hi is not None and value > hi):
            self.errors.add(self.at(key), f"must be between {lo} and {hi}" if hi is not None
                            else f"must be at least {lo}")
        return value

    def decimal(self, key: str, default: Any = _MISSING, *, nullable: bool = False,
                places: int | None = 2, minimum: Decimal = ZERO) -> Any:
        value = self.raw(key, default)
        if key not in self.data or (nullable and value is None):
            return value
        path = self.at(key)
        if isinstance(value, float):
            self.errors.add(path, 'must be a decimal string such as "400.00", not a float')
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
            self.errors.add(path, 'must be a decimal string such as "400.00"')
            return None
        try:
            number = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
        except ArithmeticError:
            self.errors.add(path, 'must be a decimal string such as "400.00"')
            return None
        if not number.is_finite():
            self.errors.add(path, "must be a finite number")
        elif places is not None and number.as_tuple().exponent < -places:  # type: ignore[operator]
            self.errors.add(path, f"must have at most {places} decimal places")
        elif number < minimum:
            self.errors.add(path, "must not be negative" if minimum == 0
                            else f"must be at least {minimum}")
        elif number > MAX_AMOUNT:
            self.errors.add(path, f"must be at most {MAX_AMOUNT}")
        return number

    def day(self, key: str, default: Any = _MISSING, nullable: bool = False) -> Any:
        value = self.raw(key, default)
        if key not in self.data or (nullable and value is None):
            return value
        try:
            return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 \
                else _bad_date()
        except ValueError:
            self.errors.add(self.at(key), "must be a date YYYY-MM-DD")
            return None


def _bad_date() -> date:
    raise ValueError


_HOUSEHOLD_KEYS = ("region_code", "hukou", "hukou_region_code", "members", "supporters",
                   "assets", "expenses_12m")
_MEMBER_KEYS = ("name", "id_number", "relation", "birth_date", "sex", "disability",
                "self_care_lost", "can_work", "employed", "in_school", "critical_illness",
                "orphan", "income")
_SUPPORTER_KEYS = ("name", "relation", "able", "birth_date", "monthly_support", "actually_paid",
                   "support_set_aside", "supports_member", "monthly_income", "disability",
                   "circumstances", "property_within_limits")


def _list(o: _Object, key: str, required: bool) -> list[Any]:
    value = o.raw(key, _MISSING if required else [])
    if value is None and not required:
        return []
    if not isinstance(value, list):
        if key in o.data:
            o.errors.add(o.at(key), "must be a list")
        return []
    return value


def parse_household(data: object, errors: Fields, ignore_unknown: bool) -> Household:
    o = _Object(data, "", errors, _HOUSEHOLD_KEYS, ignore_unknown)
    region_code = o.region("region_code", (12,))
    members_raw = _list(o, "members", required=True)
    if "members" in o.data and isinstance(o.data["members"], list) and not members_raw:
        errors.add("members", "must list at least one member")
    members = tuple(_member(m, f"members[{i}]", errors, ignore_unknown)
                    for i, m in enumerate(members_raw))
    seen: set[str] = set()
    for i, member in enumerate(members):
        if isinstance(member.id_number, str):
            number = idnumber.normalize(member.id_number)
            if number in seen:
                errors.add(f"members[{i}].id_number", "appears twice in the household")
            seen.add(number)
    supporters = tuple(_supporter(s, f"supporters[{i}]", errors, ignore_unknown, len(members))
                       for i, s in enumerate(_list(o, "supporters", required=False)))
    assets_raw = o.raw("assets", None)
    assets = None
    if assets_raw is not None:
        a = _Object(assets_raw, "assets", errors, ("deposits", "vehicles", "houses"),
                    ignore_unknown)
        assets = Assets(deposits=a.decimal("deposits", ZERO), vehicles=a.integer("vehicles", 0),
                        houses=a.integer("houses", 0))
    expenses = Expenses12m()
    if o.raw("expenses_12m", None) is not None:
        e = _Object(o.data["expenses_12m"], "expenses_12m", errors,
                    ("medical", "education", "rehabilitation"), ignore_unknown)
        expenses = Expenses12m(medical=e.decimal("medical", ZERO),
                               education=e.decimal("education", ZERO),
                               rehabilitation=e.decimal("rehabilitation", ZERO))
    return Household(
        region_code=region_code, hukou=o.text("hukou", choices=HUKOU),
        hukou_region_code=o.region("hukou_region_code", REGION_PREFIX_LENGTHS, region_code),
        members=members, supporters=supporters, assets=assets, expenses_12m=expenses)


def _disability(o: _Object, key: str) -> Disability | None:
    raw = o.raw(key, None)
    if raw is None:
        return None
    d = _Object(raw, o.at(key), o.errors, ("category", "grade"))
    return Disability(category=d.text("category", choices=DISABILITY_CATEGORIES),
                      grade=d.integer("grade", lo=1, hi=4))


def _member(data: object, path: str, errors: Fields, ignore_unknown: bool) -> Member:
    o = _Object(data, path, errors, _MEMBER_KEYS, ignore_unknown)
    number = o.raw("id_number")
    found = idnumber.problems(number) if "id_number" in o.data else ["required"]
    for problem in found if "id_number" in o.data else ():
        errors.add(o.at("id_number"), problem)
    birth = o.day("birth_date", None)
    sex = o.text("sex", None, choices=SEXES)
    if not found:
        if birth is None and "birth_date" not in o.data:
            birth = idnumber.birth_date(number)
        elif isinstance(birth, date) and birth != idnumber.birth_date(number):
            errors.add(o.at("birth_date"), "does not match the birth date in id_number")
        if sex is None and "sex" not in o.data:
            sex = idnumber.sex(number)
        elif sex in SEXES and sex != idnumber.sex(number):
            errors.add(o.at("sex"), "does not match the sex digit in id_number")
    income = Income()
    income_raw = o.raw("income")  # required: a missing income must not read as "no income"
    if income_raw is not None:
        i = _Object(income_raw, o.at("income"), errors,
                    ("wages", "business", "property", "transfer"), ignore_unknown)
        income = Income(wages=i.decimal("wages", ZERO), business=i.decimal("business", ZERO),
                        property=i.decimal("property", ZERO),
                        transfer=i.decimal("transfer", ZERO))
    return Member(
        name=o.text("name"), id_number=idnumber.normalize(number) if not found else number,
        relation=o.text("relation"), birth_date=birth, sex=sex,
        disability=_disability(o, "disability"),
        self_care_lost=o.integer("self_care_lost", 0, lo=0, hi=6),
        can_work=o.boolean("can_work", True), employed=o.boolean("employed", False),
        in_school=o.text("in_school", "none", choices=SCHOOL_LEVELS),
        critical_illness=o.boolean("critical_illness", False),
        orphan=o.boolean("orphan", False), income=income)


def _supporter(data: object, path: str, errors: Fields, ignore_unknown: bool,
               members: int) -> Supporter:
    o = _Object(data, path, errors, _SUPPORTER_KEYS, ignore_unknown)
    supports = o.integer("supports_member", None, nullable=True)
    if isinstance(supports, int) and not isinstance(supports, bool) and supports >= members:
        errors.add(o.at("supports_member"), "is not the index of a member")
    circumstances = o.raw("circumstances", [])
    if not isinstance(circumstances, list) or any(
            c not in SUPPORTER_CIRCUMSTANCES for c in circumstances):
        errors.add(o.at("circumstances"),
                   f"must be a list of: {', '.join(SUPPORTER_CIRCUMSTANCES)}")
        circumstances = []
    return Supporter(
        name=o.text("name"), relation=o.text("relation"), able=o.boolean("able"),
        birth_date=o.day("birth_date", None, nullable=True),
        monthly_support=o.decimal("monthly_support", ZERO),
        actually_paid=o.decimal("actually_paid", ZERO),
        support_set_aside=o.boolean("support_set_aside", False),
        supports_member=supports,
        monthly_income=o.decimal("monthly_income", None, nullable=True),
        disability=_disability(o, "disability"),
        circumstances=frozenset(circumstances),
        property_within_limits=o.boolean("property_within_limits", None, nullable=True))


def parse_standard(data: object, errors: Fields) -> Standard:
    o = _Object(data, "", errors, ("region_code", "valid_from", *STANDARD_AMOUNTS))
    amounts = {}
    for name in STANDARD_AMOUNTS:
        required = name in STANDARD_REQUIRED
        if name == "marginal_multiplier":
            amounts[name] = o.decimal(name, None, nullable=True, places=None, minimum=Decimal(1))
        else:
            amounts[name] = o.decimal(name, _MISSING if required else None, nullable=not required)
    return Standard(region_code=o.region("region_code", REGION_PREFIX_LENGTHS),
                    valid_from=o.day("valid_from"), **amounts)
