"""Instance state without the spec.

The spec is stored once per definition version (its XML) and cached parsed; each instance stores
only SpiffWorkflow's task tree and data, tagged with the serializer version.  Task data may hold
``Decimal`` and ``date`` values (money and legal dates); they get converters here.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import VERSION, BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from engine.errors import EngineError

SERIALIZER_VERSION = f"spiff-{VERSION}+jsj1"


class _StateOnlyConverter(BpmnWorkflowConverter):
    """Writes the workflow without ``spec``/``subprocess_specs``; those come from the definition."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct


def _registry():
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = _StateOnlyConverter
    registry = BpmnWorkflowSerializer.configure(config)
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda d: Decimal(d["value"]),
                      typename="Decimal")
    registry.register(date, lambda v: {"value": v.isoformat()}, lambda d: date.fromisoformat(d["value"]),
                      typename="date")
    return registry


class StateSerializer:
    """Dump and load instance state; one instance per process is enough (it holds no workflow)."""

    def __init__(self) -> None:
        self._serializer = BpmnWorkflowSerializer(_registry())
        registry = self._serializer.registry
        # register() stored partial(_obj_to_dict, typename, converter.to_dict)
        self._converter = registry.convert_to_dict[registry.typenames[BpmnWorkflow]].args[1].__self__

    @property
    def registry(self):
        return self._serializer.registry

    def dump(self, workflow: BpmnWorkflow) -> str:
        registry = self._serializer.registry
        registry._encoder_mode = True
        try:
            dct = self._converter.to_dict(workflow)
            return json.dumps(dct, cls=self._serializer._encoder_cls, separators=(",", ":"),
                              ensure_ascii=False)
        finally:
            registry._encoder_mode = False

    def load(self, state: str, version: str, spec, subprocess_specs) -> BpmnWorkflow:
        if version != SERIALIZER_VERSION:
            raise EngineError(
                f"instance state was saved by serializer {version!r}; this engine reads "
                f"{SERIALIZER_VERSION!r} — run the state upgrade before loading it")
        dct = json.loads(state)
        conv = self._converter
        workflow = BpmnWorkflow(spec, subprocess_specs, deserializing=True)
        workflow.tasks = conv.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        conv.set_default_attributes(workflow, dct)
        conv.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = conv.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def json_safe(value):
    """Task data as plain JSON for audit rows and API answers."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [json_safe(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
