"""Instance state without the spec, in a compact form of SpiffWorkflow's own JSON.

The spec is stored once per definition version (its XML) and cached parsed; each instance stores
only SpiffWorkflow's task tree and data, tagged with the serializer version.  Task data may hold
``Decimal`` and ``date`` values (money and legal dates); they get converters here.

Compact form (``jsj2``): per task, what SpiffWorkflow can be told again on loading is left out —
the id (it is the key), the parent (the one task listing it as a child), ``typename: "Task"``,
``triggered: false``, empty ``internal_data`` and empty delta parts — and a task without data (a
predicted task not reached yet) is written as empty data instead of "delete every key of my
parent's data".  Loading puts the fields back and hands SpiffWorkflow exactly what its own
serializer would have written, so ``jsj1`` states (the full form) load unchanged.  At a wait point
of the unified application this is about 40 % fewer bytes.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, TaskConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import VERSION, BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.errors import EngineError

SERIALIZER_VERSION = f"spiff-{VERSION}+jsj2"
READABLE_VERSIONS = (SERIALIZER_VERSION, f"spiff-{VERSION}+jsj1")


class _StateOnlyConverter(BpmnWorkflowConverter):
    """Writes the workflow without ``spec``/``subprocess_specs``; those come from the definition."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct


class _TaskConverter(TaskConverter):
    """A task without data is stored as such, not as deletions of every key its parent holds.

    The dict of a finished task whose parent is finished too is kept on the task and reused while
    its state, time of the last state change and children stay the same: such a task's data and
    its parent's no longer change, and a long case would otherwise recompute hundreds of data
    deltas on every step (``bench/state_size.py``, growth).  The kept dict is the compacted one;
    a task hung under another parent (``history.prune``) is written afresh (its delta changes).
    """

    def to_dict(self, task):
        signature = (task.state, task.last_state_change, tuple(task._children), task._parent)
        kept = getattr(task, _KEPT, None)
        if kept is not None and kept[0] == signature:
            return kept[1]
        dct = super().to_dict(task)
        parent = task.parent
        if parent is not None and not task.data:
            dct["delta"] = {}
        if task.state & TaskState.FINISHED_MASK and (parent is None or parent.state & TaskState.FINISHED_MASK):
            setattr(task, _KEPT, (signature, dct))
        return dct


_KEPT = "_jsj_state_dict"


def _compact(workflow_dct: dict) -> None:
    tasks = workflow_dct["tasks"]
    parents = {child: tid for tid, t in tasks.items() for child in t["children"]}
    for tid, t in tasks.items():  # idempotent: a kept dict comes back compacted (plus its typename)
        if t.get("id") == tid:
            del t["id"]
        if "parent" in t and parents.get(tid) == t["parent"]:
            del t["parent"]
        for key, default in (("typename", "Task"), ("triggered", False), ("internal_data", {}), ("data", {})):
            if key in t and t[key] == default:
                del t[key]
        delta = t.get("delta")
        if delta is not None:
            if not delta:
                del t["delta"]
            elif not delta.get("deletions"):
                delta.pop("deletions", None)   # {"updates": {}} stays: a non-empty delta means "from the parent"
            elif not delta.get("updates"):
                delta.pop("updates", None)


def _expand(workflow_dct: dict) -> None:
    tasks = workflow_dct["tasks"]
    parents = {child: tid for tid, t in tasks.items() for child in t["children"]}
    for tid, t in tasks.items():
        t.setdefault("id", tid)
        t.setdefault("parent", parents.get(tid))
        t.setdefault("typename", "Task")
        t.setdefault("triggered", False)
        t.setdefault("internal_data", {})
        t.setdefault("data", {})
        t.setdefault("delta", {})


def _registry():
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = _StateOnlyConverter
    config[Task] = _TaskConverter
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
            _compact(dct)
            for sub in dct["subprocesses"].values():
                _compact(sub)
            return json.dumps(dct, cls=self._serializer._encoder_cls, separators=(",", ":"),
                              ensure_ascii=False)
        finally:
            registry._encoder_mode = False

    def load(self, state: str, version: str, spec, subprocess_specs) -> BpmnWorkflow:
        if version not in READABLE_VERSIONS:
            raise EngineError(
                f"instance state was saved by serializer {version!r}; this engine reads "
                f"{', '.join(map(repr, READABLE_VERSIONS))} — run the state upgrade before loading it")
        dct = json.loads(state)
        _expand(dct)
        for sub in dct["subprocesses"].values():
            _expand(sub)
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
