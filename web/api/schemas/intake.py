"""Signals, referrals and funds."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from engine.casework import signals
from engine.casework.funds import FUND_KINDS
from web.api.schemas.base import ErrorDetail, ID, Line, Money, MoneyText, PagedQuery, SignedMoney, Strict

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
