"""Metrics and structured logs.

Step durations are observed in the process that runs the step.  Everything that must be true across
processes (timer lateness, due and overdue work) is computed from the database at scrape time, so any
web worker answers ``/metrics`` with the same figures whichever process fired the timers.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timedelta, timezone

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.utils import floatToGoString
from sqlalchemy import case, func, select

from engine.casework import idnumber

LATENESS_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600)
STEP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)


class EngineMetrics:
    """A registry per Services object (tests build many apps in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.step_seconds = Histogram("jishijiu_engine_step_seconds", "Duration of one engine step",
                                      ["operation"], buckets=STEP_BUCKETS, registry=self.registry)

    def observe_step(self, operation: str, seconds: float) -> None:
        self.step_seconds.labels(operation).observe(seconds)

    def add_database_collector(self, db, clock, window: timedelta = timedelta(hours=1)) -> None:
        self.registry.register(_DatabaseCollector(db, clock, window))


class _DatabaseCollector:
    def __init__(self, db, clock, window: timedelta) -> None:
        self.db, self.clock, self.window = db, clock, window

    def collect(self):
        from engine.workflow.models import HumanTask, ProcessInstance, Timer

        now = self.clock.now()
        with self.db.read() as session:
            lateness = session.execute(select(Timer.due_at, Timer.fired_at).where(
                Timer.status == "fired", Timer.fired_at >= now - self.window)).all()
            open_tasks, overdue_tasks = session.execute(select(
                func.count(HumanTask.id),
                func.coalesce(func.sum(case((HumanTask.due_at < now, 1), else_=0)), 0))
                .where(HumanTask.status == "open")).one()
            pending, due = session.execute(select(
                func.count(Timer.id), func.coalesce(func.sum(case((Timer.due_at <= now, 1), else_=0)), 0))
                .where(Timer.status == "pending")).one()
            by_status = session.execute(select(ProcessInstance.status, func.count(ProcessInstance.id))
                                        .group_by(ProcessInstance.status)).all()
            overdue_cases = session.execute(select(func.count(ProcessInstance.id)).where(
                ProcessInstance.status == "active", ProcessInstance.overdue.is_(True))).scalar()
        hist = HistogramMetricFamily("jishijiu_timer_lateness_seconds",
                                     f"Fired minus due time of BPMN timers fired in the last {self.window}")
        values = sorted(max(0.0, (f - d).total_seconds()) for d, f in lateness)
        buckets, i = [], 0
        for bound in LATENESS_BUCKETS:
            while i < len(values) and values[i] <= bound:
                i += 1
            buckets.append((floatToGoString(bound), i))
        buckets.append(("+Inf", len(values)))
        hist.add_metric([], buckets, sum_value=sum(values))
        yield hist
        g = GaugeMetricFamily("jishijiu_tasks", "Open human tasks", labels=["state"])
        g.add_metric(["open"], open_tasks)
        g.add_metric(["overdue"], overdue_tasks)
        yield g
        g = GaugeMetricFamily("jishijiu_timers", "Pending BPMN timers", labels=["state"])
        g.add_metric(["pending"], pending)
        g.add_metric(["due"], due)
        yield g
        g = GaugeMetricFamily("jishijiu_cases", "Cases by status", labels=["status"])
        for status, count in by_status:
            g.add_metric([status], count)
        g.add_metric(["overdue"], overdue_cases or 0)
        yield g


#: ``extra`` fields that carry case or task data (SpiffWorkflow's ``spiff.task`` logger sends the whole
#: task data as ``data``): their values never reach a log line
PERSONAL_EXTRAS = frozenset({"data", "task_data", "workflow_data", "form", "household", "members", "details"})
REDACTED = "[redacted]"


def mask_personal_data(text: str) -> str:
    """Every ID number in ``text`` as ``370827********1234`` (DESIGN decision 10: masked in logs)."""
    return idnumber.mask_in_text(text)


class JsonFormatter(logging.Formatter):
    """One JSON object per line; extra fields given with ``extra={...}`` are kept, except those that
    carry case data, and every ID number in the line is masked — messages and tracebacks included."""

    RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        payload = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
                   "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        for key, value in vars(record).items():
            if key not in self.RESERVED and not key.startswith("_"):
                payload[key] = REDACTED if key in PERSONAL_EXTRAS else value
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return mask_personal_data(json.dumps(payload, ensure_ascii=False, default=str))


class MaskingFormatter(logging.Formatter):
    """The plain-text format, with ID numbers masked like the JSON one."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_personal_data(super().format(record))


def configure_logging(fmt: str = "json", level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else MaskingFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # APScheduler reports every sweep at INFO; only its warnings matter to an operator
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, root.level))
    # SpiffWorkflow logs every task state change at INFO with the task's data: personal data, and noise
    logging.getLogger("spiff").setLevel(max(logging.WARNING, root.level))
