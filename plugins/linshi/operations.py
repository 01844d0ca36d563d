"""Service operations of the temporary-relief plugin: JSON params in, JSON-safe task data out."""

from __future__ import annotations

from typing import Any

from engine.casework.types import Assessment, ServiceOperation, ServiceRequest, to_json
from engine.plugins import load_form
from plugins.linshi import rules, schemas


def _settings(request: ServiceRequest) -> rules.LinshiSettings:
    return rules.LinshiSettings.from_mapping(request.settings)


def assess(request: ServiceRequest) -> dict[str, Any]:
    """``linshi.assess``: {relief_type, requested_amount, urgency?, cause?} → the flat
    ``linshi_*`` answer plus the approving level and the amount the township pays first."""
    options = schemas.load_assess_options(request.params)
    answer = rules.assess(household=request.require_household(),
                          standard=request.require_standard(), as_of=request.as_of,
                          settings=_settings(request), **options)
    return {**answer.to_task_data(), "linshi_reasons": to_json(answer.reasons),
            "linshi_approving_level": answer.details.get("approving_level"),
            "linshi_pay_first_amount": to_json(answer.details.get("pay_first_amount"))}


def route(request: ServiceRequest) -> dict[str, Any]:
    """``linshi.route``: {amount, relief_type} → approving level and tranches."""
    params = load_form(schemas.RouteParamsSchema, request.params)
    routing = rules.route(params["amount"], params["relief_type"], request.require_standard(),
                          _settings(request))
    return {"linshi_approving_level": routing.approving_level,
            "linshi_tranches": [{"level": t.level, "amount": to_json(t.amount),
                                 "pay_first": t.pay_first} for t in routing.tranches],
            "linshi_route_reason_codes": [r.code for r in routing.reasons]}


def approve(request: ServiceRequest) -> dict[str, Any]:
    """``linshi.approve``: {amount, approver_level} → allowed, or the level to route to."""
    params = load_form(schemas.ApprovalSchema, request.params)
    check = rules.approve(params["amount"], params["approver_level"], request.require_standard(),
                          settings=_settings(request))
    return {"linshi_approval_allowed": check.allowed, "linshi_route_to": check.route_to,
            "linshi_approval_limit": to_json(check.limit),
            "linshi_approval_reason": check.reason.to_dict()}


def stage_plan(request: ServiceRequest) -> dict[str, Any]:
    """``linshi.stage_plan``: {total, stages, first_due, interval_months?} → the stages."""
    params = load_form(schemas.StagePlanSchema, request.params)
    stages = rules.stage_plan(params["total"], stages=params["stages"],
                              first_due=params["first_due"],
                              interval_months=params["interval_months"])
    return {"linshi_stages": [{"number": s.number, "due_on": s.due_on.isoformat(),
                               "amount": to_json(s.amount)} for s in stages]}


def deadlines(request: ServiceRequest) -> dict[str, Any]:
    """``linshi.deadlines``: {urgency?} → BPMN ``dueIn`` values for paying first and paperwork."""
    params = load_form(schemas.DeadlinesSchema, request.params)
    limits = rules.deadlines(params["urgency"], _settings(request))
    return {"linshi_pay_first_due_in": limits.pay_first_due_in,
            "linshi_paperwork_due_in": limits.paperwork_due_in,
            "linshi_county_approval_due_in":
                f"{_settings(request).county_approval_working_days}WD"}


def entitlement(request: ServiceRequest) -> dict[str, Any]:
    """``linshi.entitlement``: {decided_on, assessment} → the one-off amount and its month."""
    params = load_form(schemas.EntitlementParamsSchema, request.params)
    granted = rules.entitlement(assessment=Assessment.from_dict(params["assessment"]),
                                decided_on=params["decided_on"])
    return {"linshi_start_month": granted.start_month.isoformat(),
            "linshi_one_off_amount": to_json(granted.one_off_amount)}


OPERATIONS = (
    ServiceOperation(name="linshi.assess", func=assess, description="临时救助评估与审批层级",
                     params_schema=schemas.AssessOptionsSchema),
    ServiceOperation(name="linshi.route", func=route, description="按金额确定审批层级与先行支付",
                     params_schema=schemas.RouteParamsSchema),
    ServiceOperation(name="linshi.approve", func=approve,
                     description="审批权限检查：超出本级限额的拒绝并报上级",
                     params_schema=schemas.ApprovalSchema),
    ServiceOperation(name="linshi.stage_plan", func=stage_plan,
                     description="一次审批、分阶段救助的发放计划", params_schema=schemas.StagePlanSchema),
    ServiceOperation(name="linshi.deadlines", func=deadlines,
                     description="先行救助与补办手续时限", params_schema=schemas.DeadlinesSchema),
    ServiceOperation(name="linshi.entitlement", func=entitlement,
                     description="审批后的救助金额与发放月份",
                     params_schema=schemas.EntitlementParamsSchema),
)
