"""Service operations of the tekun plugin: JSON params in, JSON-safe task data out."""

from __future__ import annotations

from typing import Any

from engine.casework.standards import care_tier
from engine.casework.types import Assessment, ServiceOperation, ServiceRequest, to_json
from engine.plugins import load_form
from plugins.tekun import rules, schemas


def _assess(request: ServiceRequest, prefers: bool | None) -> Assessment:
    return rules.assess(household=request.require_household(),
                        standard=request.require_standard(), as_of=request.as_of,
                        settings=rules.TekunSettings.from_mapping(request.settings),
                        prefers_orphan_allowance=prefers)


def assess(request: ServiceRequest) -> dict[str, Any]:
    """``tekun.assess``: {prefers_orphan_allowance?} → the flat ``tekun_*`` answer."""
    options = schemas.load_assess_options(request.params)
    answer = _assess(request, options["prefers_orphan_allowance"])
    return {**answer.to_task_data(), "tekun_reasons": to_json(answer.reasons)}


def entitlement(request: ServiceRequest) -> dict[str, Any]:
    """``tekun.entitlement``: {decided_on, assessment?, prefers_orphan_allowance?} → start month
    and monthly amount."""
    params = load_form(schemas.EntitlementParamsSchema, request.params)
    answer = Assessment.from_dict(params["assessment"]) if params["assessment"] is not None \
        else _assess(request, params["prefers_orphan_allowance"])
    granted = rules.entitlement(assessment=answer, decided_on=params["decided_on"])
    return {"tekun_start_month": granted.start_month.isoformat(),
            "tekun_monthly_amount": to_json(granted.monthly_amount)}


def review(request: ServiceRequest) -> dict[str, Any]:
    """``tekun.review``: {in_force} → action, amount, effective month, publicity, follow-up."""
    params = load_form(schemas.ReviewParamsSchema, request.params)
    result = rules.review(household=request.require_household(),
                          standard=request.require_standard(), as_of=request.as_of,
                          in_force=Assessment.from_dict(params["in_force"]),
                          settings=rules.TekunSettings.from_mapping(request.settings))
    return {"tekun_review_action": result.action,
            "tekun_review_monthly_amount": to_json(result.monthly_amount),
            "tekun_review_effective_from": result.effective_from.isoformat(),
            "tekun_publicity_days": result.publicity_days,
            "tekun_follow_up": list(result.follow_up),
            "tekun_review_reason_codes": [r.code for r in result.reasons]}


def self_care(request: ServiceRequest) -> dict[str, Any]:
    """``tekun.self_care``: {self_care_lost} → tier and care standard."""
    params = load_form(schemas.SelfCareParamsSchema, request.params)
    tier = care_tier(params["self_care_lost"])
    return {"tekun_care_tier": tier,
            "tekun_care_amount": to_json(request.require_standard().care(tier))}


OPERATIONS = (
    ServiceOperation(name="tekun.assess", func=assess, description="特困人员资格与供养金评估",
                     params_schema=schemas.AssessOptionsSchema),
    ServiceOperation(name="tekun.entitlement", func=entitlement,
                     description="认定后的供养金额与起始月份",
                     params_schema=schemas.EntitlementParamsSchema),
    ServiceOperation(name="tekun.review", func=review,
                     description="复核：满18周岁、在学状况、义务人、收入变化",
                     params_schema=schemas.ReviewParamsSchema),
    ServiceOperation(name="tekun.self_care", func=self_care,
                     description="生活自理能力档次与照料护理标准",
                     params_schema=schemas.SelfCareParamsSchema),
)
