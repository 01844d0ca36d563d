"""Marshmallow forms of the tekun programme; field errors are keyed by field name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from engine.plugins import load_form


class AssessOptionsSchema(Schema):
    """Options of the tekun assessment.

    ``prefers_orphan_allowance`` must be answered (true or false) for a minor who also qualifies
    for the orphan / de-facto-unsupported-child allowance; the assessment refuses to guess.
    """

    prefers_orphan_allowance = fields.Boolean(load_default=None, allow_none=True)


class ApplicationSchema(Schema):
    """Form ``tekun.application`` [N 43号]: who applies, consent, and the form of support."""

    applicant_member = fields.Integer(required=True, validate=validate.Range(min=0))
    applied_on = fields.Date(required=True)
    proxy_applicant = fields.String(load_default=None)
    consent_information_check = fields.Boolean(
        required=True, validate=validate.Equal(True, error="必须确认 (must be confirmed)"))
    support_form = fields.String(required=True, validate=validate.OneOf(["institution", "home"]))
    carer_name = fields.String(load_default=None)  # home support needs a named carer [S2]
    carer_agreement_signed = fields.Boolean(load_default=False)  # 委托照料协议
    prefers_orphan_allowance = fields.Boolean(load_default=None, allow_none=True)

    @validates_schema
    def _home_support_needs_a_carer(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("support_form") == "home":
            errors = {}
            if not data.get("carer_name"):
                errors["carer_name"] = ["分散供养须确定照料人 (required for home support)"]
            if not data.get("carer_agreement_signed"):
                errors["carer_agreement_signed"] = ["须签订委托照料协议 (must be signed)"]
            if errors:
                raise ValidationError(errors)


class EntitlementParamsSchema(Schema):
    decided_on = fields.Date(required=True)
    assessment = fields.Dict(load_default=None)
    prefers_orphan_allowance = fields.Boolean(load_default=None, allow_none=True)


class ReviewParamsSchema(Schema):
    """Params of ``tekun.review`` (form ``tekun.review``)."""

    in_force = fields.Dict(required=True)


class SelfCareParamsSchema(Schema):
    self_care_lost = fields.Integer(required=True, validate=validate.Range(min=0, max=6))


FORMS: dict[str, type[Schema]] = {
    "tekun.assess_options": AssessOptionsSchema,
    "tekun.application": ApplicationSchema,
    "tekun.review": ReviewParamsSchema,
    "tekun.self_care": SelfCareParamsSchema,
}


def load_assess_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    return load_form(AssessOptionsSchema, options, prefix="options.")
