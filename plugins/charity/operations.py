"""Service operations of the charity plugin: JSON params in, JSON-safe task data out."""

from __future__ import annotations

from typing import Any

from engine.casework.types import ServiceOperation, ServiceRequest, to_json
from engine.plugins import load_form
from plugins.charity import rules, schemas


def _settings(request: ServiceRequest) -> rules.CharitySettings:
    return rules.CharitySettings.from_mapping(request.settings)


def assess(request: ServiceRequest) -> dict[str, Any]:
    """``charity.assess``: {referred_from?} → the flat ``charity_*`` answer."""
    options = schemas.load_assess_options(request.params)
    answer = rules.assess(household=request.require_household(), settings=_settings(request),
                          referred_from=options["referred_from"])
    return {**answer.to_task_data(), "charity_reasons": to_json(answer.reasons)}


def grade(request: ServiceRequest) -> dict[str, Any]:
    """``charity.grade``: {out_of_pocket} → band name and grant (None below the lowest band)."""
    params = load_form(schemas.GradeParamsSchema, request.params)
    band = rules.grade(params["out_of_pocket"], _settings(request).bands)
    return {"charity_band": band.name if band else None,
            "charity_grant": to_json(band.grant if band else rules.ZERO)}


def can_pay(request: ServiceRequest) -> dict[str, Any]:
    """``charity.can_pay``: {balance, amount} → whether the fund may pay it."""
    params = load_form(schemas.CanPayParamsSchema, request.params)
    return {"charity_can_pay": rules.can_pay(params["balance"], params["amount"])}


OPERATIONS = (
    ServiceOperation(name="charity.assess", func=assess, description="慈善分级医疗救助评估",
                     params_schema=schemas.AssessOptionsSchema),
    ServiceOperation(name="charity.grade", func=grade, description="按自付费用确定救助档次",
                     params_schema=schemas.GradeParamsSchema),
    ServiceOperation(name="charity.can_pay", func=can_pay, description="基金余额是否足以支付",
                     params_schema=schemas.CanPayParamsSchema),
)
