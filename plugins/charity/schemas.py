"""Marshmallow forms of the charity programme; field errors are keyed by field name."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from marshmallow import Schema, fields, validate

from engine.plugins import load_form
from plugins.charity.rules import FUND_KINDS


class AssessOptionsSchema(Schema):
    """``referred_from``: the programme whose decision referred the case, if any."""

    referred_from = fields.String(load_default=None, allow_none=True)


class IntakeSchema(Schema):
    """Form ``charity.intake``: a referred case arriving from a government programme."""

    referred_from = fields.String(required=True)
    referral_code = fields.String(required=True)
    received_on = fields.Date(required=True)
    fund_kind = fields.String(required=True,
                              validate=validate.OneOf([kind.code for kind in FUND_KINDS]))


class GradeParamsSchema(Schema):
    out_of_pocket = fields.Decimal(required=True, places=2,
                                   validate=validate.Range(min=Decimal(0)))


class CanPayParamsSchema(Schema):
    balance = fields.Decimal(required=True, places=2)
    amount = fields.Decimal(required=True, places=2)


FORMS: dict[str, type[Schema]] = {
    "charity.assess_options": AssessOptionsSchema,
    "charity.intake": IntakeSchema,
}


def load_assess_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    return load_form(AssessOptionsSchema, options, prefix="options.")
