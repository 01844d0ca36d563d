"""Field helpers and base schemas shared by every resource: money, days, regions, errors, paging."""

from __future__ import annotations

import re
from decimal import Decimal

import marshmallow as ma
from marshmallow import fields, validate

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
