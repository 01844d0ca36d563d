"""marshmallow schemas of the API: request bodies that views load, and the answers they dump.

The household and standard bodies are parsed by the engine's strict doors
(``Household.from_dict`` / ``Standard.from_dict``); their schemas here document the shape.
Money is a decimal string (``"400.00"``); times are ISO 8601 with an offset.
"""

from __future__ import annotations

import re
from decimal import Decimal

import marshmallow as ma
from marshmallow import fields, validate

from engine.casework import signals
from engine.casework.funds import FUND_KINDS
from web.api.common import MAX_ID

MONEY = {"type": "string", "pattern": r"^\d+(\.\d{1,2})?$", "example": "400.00"}
ID = validate.Range(1, MAX_ID)


def Money(**kwargs) -> fields.String:  # noqa: N802 - reads like a field class
    return fields.String(metadata={"pattern": MONEY["pattern"], "example": "400.00"}, **kwargs)


def Day(**kwargs) -> fields.String:  # noqa: N802
    return fields.String(metadata={"format": "date", "example": "2023-03-06"}, **kwargs)


def Region(lengths: str = "2, 4, 6, 9 or 12", **kwargs) -> fields.String:  # noqa: N802
    return fields.String(metadata={"description": f"region code of {lengths} digits",
                                   "example": "370827101201"}, **kwargs)


class Strict(ma.Schema):
    class Meta:
        unknown = ma.RAISE


# --------------------------------------------------------------------------- errors

class Problem(ma.Schema):
    file = fields.String()
    element = fields.String(allow_none=True)
    line = fields.Integer(allow_none=True)
    message = fields.String()


class ErrorDetail(ma.Schema):
    code = fields.String(required=True, metadata={"example": "validation_error"})
    message = fields.String(required=True)
    fields_ = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                          data_key="fields", required=True,
                          metadata={"description": "{field: [messages]} on validation errors"})
    problems = fields.List(fields.Nested(Problem), metadata={"description": "BPMN problems"})
    element = fields.String(metadata={"description": "the BPMN element that failed"})


class Error(ma.Schema):
    error = fields.Nested(ErrorDetail, required=True)


# --------------------------------------------------------------------------- auth

class TokenRequest(Strict):
    username = fields.String(required=True, validate=validate.Length(1, 128))
    password = fields.String(required=True, validate=validate.Length(1, 256), load_only=True)


class Token(ma.Schema):
    access_token = fields.String(required=True)
    token_type = fields.String(required=True, metadata={"example": "Bearer"})
    expires_in = fields.Integer(required=True, metadata={"description": "seconds"})


class Revoked(ma.Schema):
    revoked = fields.Boolean(required=True)


class Me(ma.Schema):
    username = fields.String(required=True)
    role = fields.String(required=True)
    region = fields.String(required=True)


# --------------------------------------------------------------------------- households

class Disability(ma.Schema):
    category = fields.String(required=True, validate=validate.OneOf(
        ["physical", "intellectual", "mental", "visual", "hearing", "speech", "multiple"]))
    grade = fields.Integer(required=True, validate=validate.Range(1, 4))


class Income(ma.Schema):
    wages = Money()
    business = Money()
    property = Money()
    transfer = Money()


class Member(ma.Schema):
    name = fields.String(required=True)
    id_number = fields.String(required=True, metadata={
        "description": "GB 11643 resident ID number; masked in answers (370827********1232) "
                       "unless ?reveal=id_number"})
    relation = fields.String(required=True, metadata={"example": "head"})
    birth_date = Day()
    sex = fields.String(validate=validate.OneOf(["M", "F"]))
    disability = fields.Nested(Disability, allow_none=True)
    self_care_lost = fields.Integer(validate=validate.Range(0, 6))
    can_work = fields.Boolean()
    employed = fields.Boolean()
    in_school = fields.String(validate=validate.OneOf(
        ["none", "compulsory", "senior_high", "secondary_vocational", "college"]))
    critical_illness = fields.Boolean()
    orphan = fields.Boolean()
    income = fields.Nested(Income, required=True)


class Supporter(ma.Schema):
    name = fields.String(required=True)
    relation = fields.String(required=True)
    able = fields.Boolean(required=True)
    birth_date = Day(allow_none=True)
    monthly_support = Money()
    actually_paid = Money()
    support_set_aside = fields.Boolean()
    supports_member = fields.Integer(allow_none=True)
    monthly_income = Money(allow_none=True)
    disability = fields.Nested(Disability, allow_none=True)
    circumstances = fields.List(fields.String())
    property_within_limits = fields.Boolean(allow_none=True)


class Assets(ma.Schema):
    deposits = Money()
    vehicles = fields.Integer()
    houses = fields.Integer()


class Expenses(ma.Schema):
    medical = Money()
    education = Money()
    rehabilitation = Money()


class HouseholdShape(ma.Schema):
    region_code = Region("12", required=True)
    hukou = fields.String(required=True, validate=validate.OneOf(["rural", "urban"]))
    hukou_region_code = Region()
    members = fields.List(fields.Nested(Member), required=True)
    supporters = fields.List(fields.Nested(Supporter))
    assets = fields.Nested(Assets, allow_none=True)
    expenses_12m = fields.Nested(Expenses)


class HouseholdUpdate(HouseholdShape):
    version = fields.Integer(metadata={"description": "the version you read; 409 if stale"})


class Household(HouseholdShape):
    id = fields.Integer(required=True)
    version = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    created_by = fields.String(required=True)
    updated_at = fields.DateTime(allow_none=True)
    updated_by = fields.String(allow_none=True)


class HouseholdQuery(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 10**9))
    region_code = fields.String(validate=validate.Regexp(r"^\d{1,12}$"),
                                metadata={"description": "only households under this prefix"})


class RevealQuery(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    reveal = fields.String(validate=validate.OneOf(["id_number"]), metadata={
        "description": "id_number: show full ID numbers (caseworker, approver, admin; audited)"})


# --------------------------------------------------------------------------- standards

class StandardIn(ma.Schema):
    region_code = Region(required=True)
    valid_from = Day(required=True)
    dibao_urban = Money(required=True)
    dibao_rural = Money(required=True)
    tekun_urban = Money(allow_none=True)
    tekun_rural = Money(allow_none=True)
    care_self = Money(required=True)
    care_partial = Money(required=True)
    care_total = Money(required=True)
    marginal_multiplier = fields.String(allow_none=True, metadata={"example": "2"})
    township_relief_limit = Money(required=True)
    county_relief_limit = Money(allow_none=True)
    deposit_limit_per_capita = Money(allow_none=True)
    disposable_income_last_year = Money(allow_none=True)


class Standard(StandardIn):
    id = fields.Integer()


class StandardQuery(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    region_code = fields.String(validate=validate.Regexp(r"^\d{1,12}$"), metadata={
        "description": "only the rows that could apply to this region (its prefixes)"})
    on = fields.Date(metadata={"description": "with region_code: only the row in force that day"})


# --------------------------------------------------------------------------- programmes

class Programme(ma.Schema):
    code = fields.String(required=True)
    name_zh = fields.String(required=True)
    name_en = fields.String(required=True)
    description = fields.String()
    conditions = fields.List(fields.String())
    documents = fields.List(fields.String())
    rule_version = fields.String()
    options = fields.List(fields.String())
    benefit = fields.String()
    excluded_by = fields.List(fields.String())
    legal_sources = fields.List(fields.String())


class AssessRequest(Strict):
    household = fields.Dict(metadata={"description": "a household (the shape of POST /households)"})
    household_id = fields.Integer(strict=True, validate=ID)
    as_of = fields.Date(metadata={"description": "the date the decision speaks for (default today)"})
    options = fields.Dict(load_default=dict, metadata={
        "description": "per programme: linshi relief_type, urgency, requested_amount; "
                       "tekun prefers_orphan_allowance"})


class Reason(ma.Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)


class AssessmentAnswer(ma.Schema):
    programme = fields.String(required=True)
    eligible = fields.Boolean(required=True)
    monthly_amount = Money(required=True)
    one_off_amount = Money(required=True)
    covered_members = fields.List(fields.Integer(), required=True)
    marginal = fields.String(allow_none=True, required=True,
                             metadata={"description": 'null, "income" or "expenditure"'})
    reasons = fields.List(fields.Nested(Reason), required=True)
    rule_version = fields.String(required=True)


# --------------------------------------------------------------------------- cases and tasks

class CaseStart(Strict):
    process = fields.String(required=True, validate=validate.Length(1, 128))
    household_id = fields.Integer(required=True, strict=True, validate=ID)
    data = fields.Dict(keys=fields.String(), load_default=dict)


class TaskBrief(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    form_key = fields.String(allow_none=True, required=True)
    candidate_group = fields.String(allow_none=True, required=True)
    assignee = fields.String(allow_none=True, required=True)
    due_at = fields.DateTime(allow_none=True, required=True)


class Escalation(ma.Schema):
    level = fields.Integer(required=True)
    at = fields.DateTime(required=True)
    to_role = fields.String(required=True)
    to_region = fields.String()
    message = fields.String()


class Payment(ma.Schema):
    id = fields.Integer()
    amount = Money(required=True)
    fund = fields.String(required=True, allow_none=True)
    paid_at = fields.DateTime(required=True, allow_none=True,
                              metadata={"description": "null while only scheduled"})
    idempotency_key = fields.String(required=True)
    status = fields.String(metadata={"description": "paid | scheduled | failed"})
    month = fields.String(allow_none=True, metadata={"example": "2023-04"})
    programme = fields.String(allow_none=True)
    purpose = fields.String(allow_none=True)


class Decision(ma.Schema):
    id = fields.Integer(required=True)
    programme = fields.String(required=True)
    decision = fields.String(required=True, metadata={"example": "approved"})
    monthly_amount = Money(allow_none=True)
    one_off_amount = Money(allow_none=True)
    from_month = fields.String(allow_none=True)
    reasons = fields.List(fields.Raw())
    justification_code = fields.String(allow_none=True)
    decided_at = fields.DateTime(required=True)
    decided_by = fields.String(required=True)


class Case(ma.Schema):
    id = fields.Integer(required=True)
    process = fields.String(required=True)
    process_version = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf(
        ["active", "completed", "cancelled", "error"]))
    region_code = fields.String(required=True)
    household_id = fields.Integer(allow_none=True, required=True)
    overdue = fields.Boolean(required=True)
    escalations = fields.List(fields.Nested(Escalation), required=True)
    open_tasks = fields.List(fields.Nested(TaskBrief), required=True)
    decisions = fields.List(fields.Nested(Decision), required=True)
    payments = fields.List(fields.Nested(Payment), required=True)
    data = fields.Dict(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    version = fields.Integer(required=True)


class CaseSummary(ma.Schema):
    id = fields.Integer(required=True)
    process = fields.String(required=True)
    status = fields.String(required=True)
    region_code = fields.String(required=True)
    household_id = fields.Integer(allow_none=True, required=True)
    overdue = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class CaseQuery(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 10**9))
    status = fields.String(validate=validate.OneOf(["active", "completed", "cancelled", "error"]))
    process = fields.String(validate=validate.Length(1, 128))
    household_id = fields.Integer(validate=ID)
    overdue = fields.Boolean(metadata={"description": "1: only overdue cases; 0: only the others"})


class EventQuery(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    limit = fields.Integer(load_default=1000, validate=validate.Range(1, 5000))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 10**9))


class Event(ma.Schema):
    seq = fields.Integer(required=True)
    at = fields.DateTime(required=True)
    actor = fields.String(required=True)
    action = fields.String(required=True)
    object_type = fields.String(required=True)
    object_id = fields.String(required=True)
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)
    prev_hash = fields.String(required=True)
    hash = fields.String(required=True)


class Task(ma.Schema):
    id = fields.Integer(required=True)
    case_id = fields.Integer(required=True)
    name = fields.String(required=True)
    bpmn_id = fields.String(required=True)
    form_key = fields.String(allow_none=True, required=True)
    candidate_group = fields.String(allow_none=True, required=True)
    assignee = fields.String(allow_none=True, required=True)
    region_code = fields.String(required=True)
    status = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    due_at = fields.DateTime(allow_none=True, required=True)
    overdue = fields.Boolean(required=True)


class TaskDetail(Task):
    data = fields.Dict(required=True, metadata={"description": "what the task's form is filled from"})


class TaskQuery(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    mine = fields.Boolean(load_default=False, metadata={"description": "assigned to me"})
    group = fields.Boolean(load_default=False,
                           metadata={"description": "unclaimed, for my role's group"})
    overdue = fields.Boolean(load_default=False, metadata={"description": "past their due time"})
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 10**9))


class TaskComplete(Strict):
    data = fields.Dict(keys=fields.String(), load_default=dict)


class TaskDelegate(Strict):
    to = fields.String(required=True, validate=validate.Length(1, 128),
                       metadata={"description": "username of the new assignee"})


# --------------------------------------------------------------------------- processes

class Definition(ma.Schema):
    id = fields.Integer(required=True)
    key = fields.String(required=True)
    version = fields.Integer(required=True)
    name = fields.String(allow_none=True, required=True)
    filename = fields.String(required=True)
    sha256 = fields.String(required=True)
    deployed_at = fields.DateTime(required=True)
    deployed_by = fields.String(required=True)


class Deployed(Definition):
    created = fields.Boolean(required=True, metadata={
        "description": "false when the file equals the latest version (nothing deployed)"})


# --------------------------------------------------------------------------- test clock

class ClockMove(Strict):
    advance_seconds = fields.Float(allow_nan=False, validate=validate.Range(-10 * 366 * 86400,
                                                                            10 * 366 * 86400))
    set = fields.AwareDateTime(metadata={"example": "2023-03-06T10:00:00+08:00"})


class Fired(ma.Schema):
    kind = fields.String(required=True, metadata={"description": "timer | sla_warning | …"})
    case_id = fields.Integer(required=True)
    element = fields.String(allow_none=True)
    level = fields.Integer(allow_none=True)
    due_at = fields.DateTime(allow_none=True)


class ClockState(ma.Schema):
    now = fields.DateTime(required=True)
    fired = fields.List(fields.Nested(Fired), required=True)


# --------------------------------------------------------------------------- text and money in requests

def _no_nul(value: str) -> None:
    if "\x00" in value:
        raise ma.ValidationError("must not contain NUL characters")


def Line(low: int, high: int, **kwargs) -> fields.String:  # noqa: N802 - reads like a field class
    """Text kept in a plain column: a length range and no NUL (PostgreSQL refuses it)."""
    return fields.String(validate=[validate.Length(low, high), _no_nul], **kwargs)


MONEY_IN_PATTERN = r"^[0-9]{1,10}(\.[0-9]{1,2})?$"
SIGNED_MONEY = r"^-?[0-9]+\.[0-9]{2}$"


class MoneyText(fields.String):
    """An amount in a request: a decimal string ("100.00"); a JSON number is refused — money is
    never float.  Loads as a ``Decimal`` with two places, greater than 0."""

    default_error_messages = {
        "invalid": 'an amount is a decimal string such as "100.00", never a JSON number '
                   '/ 金额须写成字符串，如 "100.00"',
        "format": 'digits with at most two decimals and at most 10 before the point, e.g. "100.00" '
                  "/ 金额格式有误",
        "positive": "must be greater than 0 / 金额须大于 0",
    }

    def __init__(self, **kwargs) -> None:
        metadata = {"pattern": MONEY_IN_PATTERN, "example": "100.00",
                    "description": "a decimal string, more than 0 (never a JSON number)"}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid")
        text = super()._deserialize(value, attr, data, **kwargs)
        if not re.fullmatch(MONEY_IN_PATTERN, text):
            raise self.make_error("format")
        amount = Decimal(text).quantize(Decimal("0.01"))
        if amount <= 0:
            raise self.make_error("positive")
        return amount


def SignedMoney(**kwargs) -> fields.String:  # noqa: N802 - reads like a field class
    return fields.String(metadata={"pattern": SIGNED_MONEY, "example": "-100.00"}, **kwargs)


def money_text(amount: Decimal | None) -> str | None:
    return None if amount is None else f"{amount:.2f}"


class PagedQuery(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 10**9))


# --------------------------------------------------------------------------- signals

class SignalIn(Strict):
    source = Line(1, 64, required=True, metadata={
        "description": "the reporting system or person, e.g. 12345, water_meter_vendor, village",
        "example": "12345"})
    source_id = Line(1, 128, required=True, metadata={
        "description": "the signal's id in its source: the same (source, source_id) again is a "
                       "duplicate (200, the original answer)", "example": "GD-2023-000123"})
    kind = fields.String(required=True, validate=validate.OneOf(signals.KINDS))
    region_code = fields.String(required=True, validate=validate.Regexp(
        r"^[0-9]{12}$", error="the 12-digit village/community code / 须为12位村（居）代码"),
        metadata={"example": "370827101201"})
    household_id = fields.Integer(strict=True, validate=ID, allow_none=True)
    details = fields.Dict(keys=fields.String(), load_default=dict, metadata={
        "description": "what the source knows; water_meter: {m3, hours}"})
    occurred_at = fields.AwareDateTime(allow_none=True, metadata={
        "example": "2023-03-06T10:00:00+08:00"})

    @ma.validates("occurred_at")
    def _plausible(self, value, **_kwargs) -> None:
        if value is not None and not 1900 < value.year < 2200:
            raise ma.ValidationError("must lie between the years 1900 and 2200")

    @ma.validates("details")
    def _small(self, value, **_kwargs) -> None:
        problems = signals.details_problems(value)
        if problems:
            raise ma.ValidationError(problems["details"])


class Signal(ma.Schema):
    id = fields.Integer(required=True)
    source = fields.String(required=True)
    source_id = fields.String(required=True)
    kind = fields.String(required=True)
    region_code = fields.String(required=True)
    household_id = fields.Integer(allow_none=True, required=True)
    details = fields.Dict(required=True, metadata={"description": "ID numbers masked"})
    occurred_at = fields.DateTime(allow_none=True, required=True)
    received_at = fields.DateTime(required=True)
    received_by = fields.String(required=True)
    status = fields.String(required=True, metadata={
        "description": "received (waits for the discovery process) | started | failed"})
    case_id = fields.Integer(allow_none=True, required=True,
                             metadata={"description": "the discovery case it started"})
    error = fields.String(allow_none=True, metadata={"description": "why discovery did not start"})


class SignalReceived(Signal):
    duplicate = fields.Boolean(required=True, metadata={
        "description": "true: this (source, source_id) was reported before; the original answer"})


class SignalQuery(PagedQuery):
    status = fields.String(validate=validate.OneOf(signals.STATUSES))
    kind = fields.String(validate=validate.OneOf(signals.KINDS))
    household_id = fields.Integer(validate=ID)


class BatchItem(ma.Schema):
    index = fields.Integer(required=True, metadata={"description": "position in the batch (0-based)"})
    status = fields.Integer(required=True, metadata={
        "description": "what POST /signals would have answered for this item: 201, 200, 403, 404, "
                       "409 or 422"})
    id = fields.Integer(allow_none=True)
    case_id = fields.Integer(allow_none=True)
    duplicate = fields.Boolean()
    signal_status = fields.String()
    error = fields.Nested(ErrorDetail)


class BatchResult(ma.Schema):
    results = fields.List(fields.Nested(BatchItem), required=True)
    created = fields.Integer(required=True)
    duplicates = fields.Integer(required=True)
    failed = fields.Integer(required=True)


# --------------------------------------------------------------------------- referrals

class ReferralIn(Strict):
    case_id = fields.Integer(required=True, strict=True, validate=ID,
                             metadata={"description": "the case the slip is made for"})
    target = Line(1, 64, required=True, metadata={
        "description": "department or charity: medical_insurance, disabled_federation, housing, "
                       "education, human_resources, charity_county, charity_village, …",
        "example": "medical_insurance"})
    reason = Line(1, 500, required=True)
    due = Line(1, 64, metadata={
        "description": "feedback due: working days (5WD), an ISO 8601 duration (P7D) or a date; "
                       "default 5WD", "example": "5WD"})


class Referral(ma.Schema):
    id = fields.Integer(required=True)
    case_id = fields.Integer(required=True, metadata={"description": "the case the slip was made for"})
    referral_case_id = fields.Integer(allow_none=True, required=True, metadata={
        "description": "the referral process's own case that tracks the slip, if any"})
    household_id = fields.Integer(allow_none=True, required=True)
    region_code = fields.String(required=True)
    target = fields.String(required=True)
    reason = fields.String(required=True)
    due_at = fields.DateTime(required=True)
    status = fields.String(required=True, metadata={"description": "open | answered"})
    overdue = fields.Boolean(required=True, metadata={"description": "open and past due_at"})
    outcome = fields.String(allow_none=True, required=True)
    feedback = fields.String(allow_none=True, required=True)
    answered_at = fields.DateTime(allow_none=True, required=True)
    answered_by = fields.String(allow_none=True, required=True)
    created_at = fields.DateTime(required=True)
    created_by = fields.String(required=True)


class ReferralAnswered(Referral):
    delivered = fields.Boolean(required=True, metadata={
        "description": "the feedback reached the waiting referral case as referral_feedback"})


class ReferralQuery(PagedQuery):
    status = fields.String(validate=validate.OneOf(["open", "answered"]))
    overdue = fields.Boolean(metadata={"description": "1: open slips past their due time"})
    case_id = fields.Integer(validate=ID)
    target = Line(1, 64)


class FeedbackIn(Strict):
    outcome = fields.String(required=True, validate=validate.OneOf(
        ["done", "partly", "refused", "not_applicable"]))
    feedback = Line(1, 4000, required=True)

    @ma.validates("feedback")
    def _not_blank(self, value: str, **_kwargs) -> None:
        if not value.strip():
            raise ma.ValidationError("required / 请填写反馈内容")


# --------------------------------------------------------------------------- funds

class FundIn(Strict):
    code = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$", error="1 to 64 letters, digits, _ . : -"),
        metadata={"example": "reserve-370827101"})
    kind = fields.String(required=True, validate=validate.OneOf(FUND_KINDS))
    region_code = fields.String(required=True, validate=validate.Regexp(
        r"^([0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12})$",
        error="a region code of 2, 4, 6, 9 or 12 digits"), metadata={"example": "370827101"})
    name = Line(1, 255, required=True)


class Fund(ma.Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    kind = fields.String(required=True)
    region_code = fields.String(required=True)
    name = fields.String(required=True)
    balance = Money(required=True)  # available: reservations have left it already
    reserved = Money(required=True)


class AllocationIn(Strict):
    amount = MoneyText(required=True)
    note = Line(0, 500, allow_none=True)


class DonationIn(Strict):
    amount = MoneyText(required=True)
    donor = Line(1, 100, required=True)
    note = Line(0, 500, allow_none=True)


class FundEntry(ma.Schema):
    id = fields.Integer(required=True)
    fund_id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={
        "description": "allocation | donation | reservation | release | payment | reversal"})
    amount = Money(required=True)
    balance_delta = SignedMoney(required=True)
    reserved_delta = SignedMoney(required=True)
    balance_after = Money(required=True)
    reserved_after = Money(required=True)
    reference = fields.String(allow_none=True, required=True)
    note = fields.String(allow_none=True, required=True)
    at = fields.DateTime(required=True)
    actor = fields.String(required=True)


class FundPosted(FundEntry):
    fund = fields.Nested(Fund, required=True)


class Reconciliation(ma.Schema):
    fund_id = fields.Integer(required=True)
    balance = Money(required=True)
    ledger_balance = SignedMoney(required=True)
    reserved = Money(required=True)
    ledger_reserved = SignedMoney(required=True)
    balance_difference = SignedMoney(required=True)
    reserved_difference = SignedMoney(required=True)
    entries = fields.Integer(required=True)
    ok = fields.Boolean(required=True, metadata={"description": "both pairs agree to the fen"})


class FundQuery(PagedQuery):
    kind = fields.String(validate=validate.OneOf(FUND_KINDS))


# --------------------------------------------------------------------------- clocks, migration

class ClockPause(Strict):
    reason = Line(1, 500, required=True, metadata={
        "example": "等待补充材料"})
    name = Line(1, 255,
                         metadata={"description": "only the clock of this name (default: all)"})


class ClockResume(Strict):
    name = Line(1, 255,
                         metadata={"description": "only the clock of this name (default: all)"})


class Clock(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    spec = fields.String(required=True, metadata={"example": "20WD"})
    status = fields.String(required=True, metadata={
        "description": "running | paused | met | met_late | cancelled"})
    bpmn_id = fields.String(allow_none=True)
    started_at = fields.DateTime(required=True)
    due_at = fields.DateTime(required=True)
    paused_at = fields.DateTime(allow_none=True, required=True)
    paused_seconds = fields.Integer(required=True)
    warned_at = fields.DateTime(allow_none=True)
    breached_at = fields.DateTime(allow_none=True)
    stopped_at = fields.DateTime(allow_none=True)


class CaseClocks(ma.Schema):
    case_id = fields.Integer(required=True)
    overdue = fields.Boolean(required=True)
    clocks = fields.List(fields.Nested(Clock), required=True)


class MigrateIn(Strict):
    case_ids = fields.List(fields.Integer(strict=True, validate=ID), validate=validate.Length(1, 1000))
    all_active = fields.Boolean(metadata={"description": "every active case of the process in your "
                                                        "region that is on another version"})
    to_version = fields.Integer(required=True, strict=True, validate=validate.Range(1, 10**6))
    dry_run = fields.Boolean(load_default=True, metadata={"description": "default true: preview only"})

    @ma.validates_schema
    def _one_selection(self, data, **_kwargs) -> None:
        if bool(data.get("case_ids")) == bool(data.get("all_active")):
            raise ma.ValidationError("give either case_ids or all_active: true",
                                     field_name="case_ids")


class MigrationPreview(ma.Schema):
    case_id = fields.Integer(required=True)
    process = fields.String(required=True)
    from_version = fields.Integer(required=True)
    to_version = fields.Integer(required=True)
    ok = fields.Boolean(required=True, metadata={"description": "the case can move"})
    migrated = fields.Boolean(required=True)
    blocking = fields.List(fields.String(), required=True,
                           metadata={"description": "why it cannot move"})
    current = fields.List(fields.String(), required=True,
                          metadata={"description": "elements the case waits at now"})
    removed = fields.List(fields.String(), required=True)
    changed = fields.List(fields.String(), required=True)
    added = fields.List(fields.String(), required=True)
    restarts = fields.List(fields.String(), required=True, metadata={
        "description": "waiting branches that restart on the new version (their timers start again)"})
