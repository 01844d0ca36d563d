"""Forms of the illness programme (marshmallow)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, fields

from engine.plugins import load_form


class AssessOptionsSchema(Schema):
    """The status takes no options; unknown ones are refused."""


class DiagnosisSchema(Schema):
    """Form ``illness.diagnosis``: the hospital's diagnosis of a critical illness."""

    member = fields.Integer(required=True)
    diagnosis = fields.String(required=True)
    hospital = fields.String(required=True)
    diagnosed_on = fields.Date(required=True)


FORMS: dict[str, type[Schema]] = {
    "illness.assess_options": AssessOptionsSchema,
    "illness.diagnosis": DiagnosisSchema,
}


def load_assess_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    return load_form(AssessOptionsSchema, options, prefix="options.")
