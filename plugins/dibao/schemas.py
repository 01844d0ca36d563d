"""Marshmallow forms of the dibao programme; field errors are keyed by field name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, fields, validate

from engine.plugins import load_form

_MUST_BE_TRUE = validate.Equal(True, error="必须确认 (must be confirmed)")


class AssessOptionsSchema(Schema):
    """Dibao takes no options; the empty schema refuses unknown ones (typos)."""


class ApplicationSchema(Schema):
    """Form ``dibao.application``: the "三合一" application (application + integrity notice +
    integrity pledge) with consent to the information check [N 57号; S3]."""

    applicant_member = fields.Integer(required=True, validate=validate.Range(min=0))
    applied_on = fields.Date(required=True)
    proxy_applicant = fields.String(load_default=None)  # 帮办代办: who applied on the family's behalf
    consent_information_check = fields.Boolean(required=True, validate=_MUST_BE_TRUE)
    integrity_pledge = fields.Boolean(required=True, validate=_MUST_BE_TRUE)
    missing_documents = fields.List(fields.String(), load_default=list)  # 容缺办理 [S3]
    close_relative_of_staff = fields.Boolean(load_default=False)  # 单独登记备案 [N 57号]


class EntitlementParamsSchema(Schema):
    """Params of ``dibao.entitlement``: the approval date, and the approved answer if it is not
    to be recomputed from the household."""

    decided_on = fields.Date(required=True)
    assessment = fields.Dict(load_default=None)


class ReviewOptionsSchema(Schema):
    """Options of the review hook."""

    taper_ends = fields.Date(load_default=None)  # set while a taper period runs
    excluded_members = fields.List(fields.Integer(validate=validate.Range(min=0)),
                                   load_default=list)  # members supported by another programme


class ReviewParamsSchema(ReviewOptionsSchema):
    """Params of ``dibao.review`` (form ``dibao.review``)."""

    in_force = fields.Dict(required=True)  # the assessment being paid (answer shape)
    previous_household = fields.Dict(load_default=None)  # household JSON when in_force was decided


FORMS: dict[str, type[Schema]] = {
    "dibao.assess_options": AssessOptionsSchema,
    "dibao.application": ApplicationSchema,
    "dibao.review": ReviewParamsSchema,
}


def load_assess_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    return load_form(AssessOptionsSchema, options, prefix="options.")


def load_review_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    return load_form(ReviewOptionsSchema, options, prefix="options.")
