"""Marshmallow forms of the temporary-relief programme; field errors are keyed by field name."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from marshmallow import Schema, fields, validate

from engine.plugins import load_form
from plugins.linshi.rules import CAUSE_ZH, LEVELS, RELIEF_TYPES, URGENCIES

_POSITIVE = validate.Range(min=Decimal("0.01"), error="must be a positive amount")


def _money(**kwargs: Any) -> fields.Decimal:
    return fields.Decimal(places=2, as_string=True, validate=_POSITIVE, **kwargs)


class AssessOptionsSchema(Schema):
    """Options of the linshi assessment (DESIGN.md: ``relief_type``, ``urgency``,
    ``requested_amount``) plus ``cause``, which decides referrals (a fire → housing)."""

    relief_type = fields.String(required=True, validate=validate.OneOf(RELIEF_TYPES))
    urgency = fields.String(load_default="urgent", validate=validate.OneOf(URGENCIES))
    requested_amount = _money(required=True)
    cause = fields.String(load_default="other", validate=validate.OneOf(tuple(CAUSE_ZH)))


class ApplicationSchema(AssessOptionsSchema):
    """Form ``linshi.application``: the report of hardship, taken where it happened."""

    reported_at = fields.AwareDateTime(required=True)
    incident_region_code = fields.String(required=True, validate=validate.Regexp(r"^\d{9,12}$"))
    description = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class RouteParamsSchema(Schema):
    amount = _money(required=True)
    relief_type = fields.String(required=True, validate=validate.OneOf(RELIEF_TYPES))


class ApprovalSchema(Schema):
    """Form ``linshi.approval`` and params of ``linshi.approve``."""

    amount = _money(required=True)
    approver_level = fields.String(required=True, validate=validate.OneOf(LEVELS))


class StagePlanSchema(Schema):
    total = _money(required=True)
    stages = fields.Integer(required=True, validate=validate.Range(min=1, max=24))
    first_due = fields.Date(required=True)
    interval_months = fields.Integer(load_default=1, validate=validate.Range(min=1, max=12))


class DeadlinesSchema(Schema):
    urgency = fields.String(load_default="urgent", validate=validate.OneOf(URGENCIES))


class EntitlementParamsSchema(Schema):
    decided_on = fields.Date(required=True)
    assessment = fields.Dict(required=True)


FORMS: dict[str, type[Schema]] = {
    "linshi.assess_options": AssessOptionsSchema,
    "linshi.application": ApplicationSchema,
    "linshi.approval": ApprovalSchema,
    "linshi.stage_plan": StagePlanSchema,
}


def load_assess_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validated options; no options at all means no request (screening), not an error."""
    if not options:
        return {}
    return load_form(AssessOptionsSchema, options, prefix="options.")
