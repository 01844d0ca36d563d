"""Service operations of the dibao plugin: JSON params in, JSON-safe task data out."""

from __future__ import annotations

from typing import Any

from engine.casework.types import Assessment, Household, ServiceOperation, ServiceRequest, to_json
from engine.plugins import load_form
from plugins.dibao import rules, schemas


def assess(request: ServiceRequest) -> dict[str, Any]:
    """``dibao.assess``: no params → the flat ``dibao_*`` answer plus ``dibao_reasons``."""
    schemas.load_assess_options(request.params)
    answer = rules.assess(household=request.require_household(),
                          standard=request.require_standard(), as_of=request.as_of,
                          settings=rules.DibaoSettings.from_mapping(request.settings))
    return {**answer.to_task_data(), "dibao_reasons": to_json(answer.reasons)}


def entitlement(request: ServiceRequest) -> dict[str, Any]:
    """``dibao.entitlement``: {decided_on, assessment?} → start month and monthly amount."""
    params = load_form(schemas.EntitlementParamsSchema, request.params)
    if params["assessment"] is not None:
        answer = Assessment.from_dict(params["assessment"])
    else:
        answer = rules.assess(household=request.require_household(),
                              standard=request.require_standard(), as_of=request.as_of,
                              settings=rules.DibaoSettings.from_mapping(request.settings))
    granted = rules.entitlement(assessment=answer, decided_on=params["decided_on"])
    return {"dibao_start_month": granted.start_month.isoformat(),
            "dibao_monthly_amount": to_json(granted.monthly_amount)}


def review(request: ServiceRequest) -> dict[str, Any]:
    """``dibao.review``: {in_force, previous_household?, taper_ends?, excluded_members?} →
    action, new amount, effective month, taper end."""
    params = load_form(schemas.ReviewParamsSchema, request.params)
    previous = params["previous_household"]
    result = rules.review(
        household=request.require_household(),
        previous_household=Household.from_dict(previous) if previous is not None else None,
        standard=request.require_standard(), as_of=request.as_of,
        in_force=Assessment.from_dict(params["in_force"]),
        settings=rules.DibaoSettings.from_mapping(request.settings),
        taper_ends=params["taper_ends"],
        excluded={i: "excluded" for i in params["excluded_members"]})
    return {"dibao_review_action": result.action,
            "dibao_review_monthly_amount": to_json(result.monthly_amount),
            "dibao_review_effective_from": result.effective_from.isoformat(),
            "dibao_taper_ends": to_json(result.taper_ends),
            "dibao_review_reason_codes": [r.code for r in result.reasons]}


OPERATIONS = (
    ServiceOperation(name="dibao.assess", func=assess, description="低保资格与金额评估",
                     params_schema=schemas.AssessOptionsSchema),
    ServiceOperation(name="dibao.entitlement", func=entitlement,
                     description="审核确认后的低保金额与起始月份",
                     params_schema=schemas.EntitlementParamsSchema),
    ServiceOperation(name="dibao.review", func=review,
                     description="在保复核：继续、调整、渐退或停发",
                     params_schema=schemas.ReviewParamsSchema),
)
