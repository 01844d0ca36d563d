"""Service operations of the illness programme."""

from __future__ import annotations

from typing import Any

from engine.casework.types import ServiceOperation, ServiceRequest, to_json
from jishijiu_illness import rules, schemas


def assess(request: ServiceRequest) -> dict[str, Any]:
    """``illness.assess``: no params → the flat ``illness_*`` answer."""
    schemas.load_assess_options(request.params)
    answer = rules.assess(household=request.require_household(),
                          standard=request.require_standard(),
                          settings=rules.IllnessSettings.from_mapping(request.settings))
    return {**answer.to_task_data(), "illness_reasons": to_json(answer.reasons)}


OPERATIONS = (
    ServiceOperation(name="illness.assess", func=assess, description="因病致贫重病患者认定",
                     params_schema=schemas.AssessOptionsSchema),
)
