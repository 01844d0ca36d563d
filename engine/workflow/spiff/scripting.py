"""The script engine SpiffWorkflow runs with: our restricted evaluator, never the builtin one.

Conditions, scripts, timer values, multi-instance expressions and service parameters all pass through
:class:`SafeScriptEngine`.  Timer values that are bare ISO 8601 literals (``PT24H``, ``P7D``,
``2026-03-19``) or working days (``20WD``) are literals, not expressions — a designer should not have
to quote them.  Service tasks call operations by name through the dispatcher the engine supplies.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Callable, Mapping

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (CycleTimerEventDefinition, TimeDateEventDefinition,
                                                              TimerEventDefinition)

from engine.errors import ExpressionError, WorkflowError

SHANGHAI_OFFSET = "+08:00"
_WD = re.compile(r"^\s*(\d+)\s*WD\s*$", re.IGNORECASE)
_NAIVE_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NAIVE_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")

ServiceDispatcher = Callable[[str, Mapping[str, Any], Mapping[str, Any], "str | None"], Mapping[str, Any]]


def iso_duration(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    return f"PT{seconds}S"


def _to_spiff(value: Any) -> Any:
    """SpiffWorkflow's timers want ISO strings; our functions return datetimes."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ExpressionError("a date-time without a time zone cannot be used as a timer value")
        return value.isoformat()
    if isinstance(value, timedelta):
        return iso_duration(value)
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} cannot be returned by a service operation")


class SafeScriptEngine(PythonScriptEngine):
    """Routes every evaluation to the restricted evaluator and names the element on failure."""

    def __init__(self, evaluator, *, is_literal: Callable[[str], bool],
                 workdays_after: Callable[[datetime, int], datetime],
                 now: Callable[[], datetime], services: ServiceDispatcher | None = None) -> None:
        super().__init__(environment=BasePythonScriptEngineEnvironment())
        self.evaluator = evaluator
        self.is_literal = is_literal
        self.workdays_after = workdays_after
        self.now = now
        self.services = services

    # --- what SpiffWorkflow calls -------------------------------------------------------------
    def validate(self, expression):
        self.evaluator.check(expression, mode="eval")

    def evaluate(self, task, expression, external_context=None):
        element = _element_id(task)
        text = (expression or "").strip()
        if self.is_literal(text):
            value = self._literal(text)
        else:
            data = task.data if not external_context else {**external_context, **task.data}
            value = _to_spiff(self.evaluator.evaluate(text, data, element_id=element))
        definition = getattr(getattr(task, "task_spec", None), "event_definition", None)
        if isinstance(definition, TimerEventDefinition) and expression == definition.expression:
            _check_timer_value(definition, value, element)
        return value

    def execute(self, task, script, external_context=None):
        if external_context:
            data = {**external_context, **task.data}
            self.evaluator.execute(script, data, element_id=_element_id(task))
            for key in external_context:
                data.pop(key, None)
            task.data.clear()
            task.data.update(data)
        else:
            self.evaluator.execute(script, task.data, element_id=_element_id(task))
        return True

    def call_service(self, task, operation_name=None, operation_params=None, **kwargs):
        element = _element_id(task)
        if self.services is None:
            raise WorkflowError(f"no service operations are available to call '{operation_name}'",
                                element_id=element)
        params = {name: p.get("value") for name, p in (operation_params or {}).items()}
        result = self.services(operation_name, params, task.data, element)
        try:
            return json.dumps(dict(result or {}), default=_json_default, ensure_ascii=False)
        except TypeError as exc:
            raise WorkflowError(f"operation '{operation_name}' returned {exc}", element_id=element) from None

    # --- literals -------------------------------------------------------------------------------
    def _literal(self, text: str) -> str:
        match = _WD.match(text)
        if match:
            now = self.now()
            return iso_duration(self.workdays_after(now, int(match.group(1))) - now)
        if _NAIVE_DATE.match(text):
            return f"{text}T23:59:59{SHANGHAI_OFFSET}"
        if _NAIVE_DATETIME.match(text):
            return text + SHANGHAI_OFFSET
        return text


def _check_timer_value(definition, value, element: str | None) -> None:
    """A timer's computed value must be something SpiffWorkflow can schedule; say so naming the element."""
    try:
        if not isinstance(value, str):
            raise TypeError(f"a {type(value).__name__}, not text")
        if isinstance(definition, CycleTimerEventDefinition):
            TimerEventDefinition.parse_iso_recurring_interval(value)
        elif isinstance(definition, TimeDateEventDefinition):
            TimerEventDefinition.get_datetime(value)
        else:
            TimerEventDefinition.get_timedelta_from_start(TimerEventDefinition.parse_iso_duration(value))
    except Exception as exc:  # noqa: BLE001 - SpiffWorkflow raises bare Exception/OverflowError here
        raise ExpressionError(f"timer value {value!r} is not a valid ISO 8601 duration, date or cycle ({exc})",
                              element_id=element) from None


def _element_id(task) -> str | None:
    spec = getattr(task, "task_spec", None)
    return getattr(spec, "bpmn_id", None) or getattr(spec, "name", None)
