"""Auth, households, standards and programmes."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate
from web.api.schemas.base import Day, ID, Money, Region, Strict


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
