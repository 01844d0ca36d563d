"""Benefits in payment: bank accounts, entitlements, payment batches, their lines and figures."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from engine.casework.benefits.models import BATCH_STATUSES, ENTITLEMENT_STATUSES, LINE_STATUSES
from web.api.schemas.base import Money, Strict

MONTH = validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", error="must be a month YYYY-MM")


class BankAccountIn(Strict):
    bank = fields.String(required=True, validate=validate.Length(1, 64), metadata={"example": "鱼台农商银行"})
    account_no = fields.String(required=True, validate=validate.Regexp(r"^[0-9 ]{10,40}$"),
                               metadata={"description": "10–32 digits (spaces ignored)"})
    holder = fields.String(required=True, validate=validate.Length(1, 64),
                           metadata={"description": "the name of a household member"})


class BankAccount(ma.Schema):
    bank = fields.String(required=True)
    account_no = fields.String(required=True, metadata={"description": "masked unless ?reveal=account_no"})
    holder = fields.String(required=True)
    updated_at = fields.String(required=True)
    updated_by = fields.String(required=True)


class RevealAccountQuery(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    reveal = fields.String(validate=validate.OneOf(["account_no"]))


class EntitlementQuery(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 10**9))
    household_id = fields.Integer(validate=validate.Range(1, 2**63 - 1))
    programme = fields.String(validate=validate.Length(1, 64))
    status = fields.String(validate=validate.OneOf(ENTITLEMENT_STATUSES))


class EntitlementChangeIn(Strict):
    from_month = fields.String(required=True, validate=MONTH)
    reason = fields.String(required=True, validate=validate.Length(1, 500))


class Entitlement(ma.Schema):
    id = fields.Integer(required=True)
    household_id = fields.Integer(required=True)
    programme = fields.String(required=True)
    region_code = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": list(ENTITLEMENT_STATUSES)})
    monthly_amount = Money(required=True)
    persons = fields.Integer(required=True)
    start_month = fields.String(required=True)
    end_month = fields.String(allow_none=True, metadata={"description": "first month no longer paid"})
    decision_id = fields.Integer(allow_none=True)
    case_id = fields.Integer(allow_none=True)
    periods = fields.List(fields.Dict())
    changes = fields.List(fields.Dict())


class BatchIn(Strict):
    region_code = fields.String(required=True, validate=validate.Regexp(r"^\d{6}$", error="must be a county code"))
    month = fields.String(required=True, validate=MONTH)


class BatchQuery(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 10**9))
    month = fields.String(validate=MONTH)


class Batch(ma.Schema):
    id = fields.Integer(required=True)
    region_code = fields.String(required=True)
    month = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": list(BATCH_STATUSES)})
    line_count = fields.Integer(required=True)
    total = Money(required=True)
    paid_count = fields.Integer(required=True)
    paid_total = Money(required=True)
    failed_count = fields.Integer(required=True)
    failed_total = Money(required=True)
    missing_accounts = fields.Integer(required=True, metadata={"description": "households due a payment "
                                                                             "without a bank account"})
    file_sha256 = fields.String(allow_none=True)
    created_by = fields.String(required=True)
    drafted_at = fields.String(required=True)
    approved_by = fields.String(allow_none=True)
    approved_at = fields.String(allow_none=True)
    locked_by = fields.String(allow_none=True)
    locked_at = fields.String(allow_none=True)
    exported_by = fields.String(allow_none=True)
    exported_at = fields.String(allow_none=True)
    reconciled_by = fields.String(allow_none=True)
    reconciled_at = fields.String(allow_none=True)
    changed = fields.Integer(metadata={"description": "reconciliation: lines marked by this file"})


class LineQuery(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    limit = fields.Integer(load_default=100, validate=validate.Range(1, 200))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 10**9))
    status = fields.String(validate=validate.OneOf(LINE_STATUSES))


class Line(ma.Schema):
    id = fields.Integer(required=True)
    reference = fields.String(required=True)
    household_id = fields.Integer(required=True)
    programme = fields.String(required=True)
    month = fields.String(required=True)
    attempt = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"enum": ["regular", "arrears", "reissue"]})
    amount = Money(required=True)
    bank = fields.String(required=True)
    account_no = fields.String(required=True)
    holder = fields.String(required=True)
    holder_id_number = fields.String(allow_none=True)
    status = fields.String(required=True, metadata={"enum": list(LINE_STATUSES)})
    failure_reason = fields.String(allow_none=True)
    reissue_of = fields.Integer(allow_none=True)
    result_at = fields.String(allow_none=True)


class ExportQuery(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    id_mode = fields.String(load_default="masked", validate=validate.OneOf(["masked", "full", "none"]))


class FiguresQuery(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    region_code = fields.String(validate=validate.Regexp(r"^\d{1,12}$"))
    months = fields.String(metadata={"description": "comma-separated months YYYY-MM; default the last 12 with a batch"})


class Figures(ma.Schema):
    region_prefix = fields.String(required=True)
    months = fields.List(fields.String(), required=True)
    covered = fields.Dict(required=True, metadata={"description": "programme → {households, people}, now"})
    covered_total = fields.Dict(required=True)
    paid = fields.List(fields.Dict(), required=True,
                       metadata={"description": "[{month, programme, count, amount}] paid by the bank"})
    paid_total_by_month = fields.Dict(required=True)
    failed = fields.List(fields.Dict(), required=True)
    failed_open = fields.Dict(required=True, metadata={"description": "failures not yet re-issued"})
