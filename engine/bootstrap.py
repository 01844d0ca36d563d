"""The composition root: build the engine's parts from a config mapping.

``web.create_app`` and the CLI both call :func:`build`; nothing here imports ``web`` or a plugin —
plugins arrive through the plugin manager (entry points ``jishijiu.plugins``).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Mapping

from engine.clock import Clock, OffsetClock, SystemClock
from engine.db import Database, database_url_from_env
from engine.observability import EngineMetrics
from engine.workflow.calendar import BusinessCalendar
from engine.workflow.calendars import Calendars
from engine.workflow.durations import parse_due
from engine.workflow.engine import ServiceRegistry, WorkflowEngine
from engine.workflow.expressions import SafeEvaluator, is_iso_literal
from engine.workflow.models import Setting

log = logging.getLogger("jishijiu")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PROCESSES_DIR = PROJECT_ROOT / "processes"
TEST_CLOCK_KEY = "test_clock_offset_seconds"


class DatabaseOffset:
    """The TESTING clock offset, kept in the database so that separate processes agree."""

    def __init__(self, db: Database, ttl: float = 0.5) -> None:
        self.db = db
        self.ttl = ttl
        self._value = 0.0
        self._read_at = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        now = time.monotonic()
        if now - self._read_at > self.ttl:
            with self._lock:
                try:
                    with self.db.read() as session:
                        row = session.get(Setting, TEST_CLOCK_KEY)
                        self._value = float(row.value) if row is not None else 0.0
                except Exception:  # noqa: BLE001 - before migrations the table may not exist
                    self._value = 0.0
                self._read_at = now
        return self._value

    def set(self, seconds: float) -> None:
        with self.db.write() as session:
            row = session.get(Setting, TEST_CLOCK_KEY)
            if row is None:
                session.add(Setting(key=TEST_CLOCK_KEY, value=seconds))
            else:
                row.value = seconds
        with self._lock:
            self._value = float(seconds)
            self._read_at = time.monotonic()


@dataclass
class Services:
    config: dict
    db: Database
    clock: Clock
    calendar: BusinessCalendar
    evaluator: SafeEvaluator
    engine: WorkflowEngine
    services: ServiceRegistry
    pm: Any = None
    settings: dict = field(default_factory=dict)
    test_offset: DatabaseOffset | None = None
    metrics: EngineMetrics | None = None
    calendars: Calendars | None = None

    def close(self) -> None:
        self.db.dispose()

    def run_due(self) -> dict:
        """Everything due now: BPMN timers and statutory-clock steps (warnings, escalations).

        The scheduler's sweep and the TESTING clock endpoint both call this, so moving the test
        clock runs exactly what the scheduler would have run.  A fired timer can make more work
        due at once; the loop is bounded.
        """
        from engine.casework import signals
        from engine.casework.public import help as help_requests

        signals.start_waiting(self.db, self.engine, now=self.clock.now())  # received before discovery existed
        help_requests.forward_pending(self.db, self.engine, now=self.clock.now())  # stored, never forwarded
        timers: list = []
        events: list = []
        for _ in range(20):
            fired = self.engine.fire_due_timers()
            stepped = self.engine.check_slas()
            timers.extend(fired)
            events.extend(stepped)
            if not fired and not stepped:
                break
        from engine.workflow import sla_stats

        stats = sla_stats.catch_up(self)  # nightly SLA statistics once the engine clock passed a day
        return {"timers": timers, "sla": events, "sla_stats": [r.day for r in stats]}


def env_flag(name: str) -> bool:
    """An on/off setting from the environment (1/true/yes/on), off when unset."""
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def build(config: Mapping[str, Any] | None = None) -> Services:
    cfg = dict(config or {})
    cfg.setdefault("DATABASE_URL", database_url_from_env())
    cfg.setdefault("TESTING", env_flag("JISHIJIU_TESTING"))  # never set in production
    cfg.setdefault("PROCESSES_DIR", str(DEFAULT_PROCESSES_DIR))
    db = Database(cfg["DATABASE_URL"])
    test_offset = None
    clock = cfg.get("CLOCK")
    if clock is None:
        if cfg["TESTING"]:
            test_offset = DatabaseOffset(db)
            clock = OffsetClock(test_offset)
        else:
            clock = SystemClock()
    calendars = Calendars.load(db)
    calendar = calendars.national
    registry = ServiceRegistry()
    pm = None
    settings: dict = {}
    evaluator = SafeEvaluator({
        "now": clock.now,
        "workdays_after": calendar.workdays_after,
        "workdays_between": calendar.workdays_between,
    })
    engine = WorkflowEngine(
        db, clock=clock, calendar=calendar, evaluator=evaluator, services=registry,
        cache_size=int(cfg.get("INSTANCE_CACHE_SIZE", 512)),
        is_literal=is_iso_literal,
        parse_due=lambda spec, start, region=None: parse_due(spec, start, calendars.for_region(region)))
    metrics = EngineMetrics()
    metrics.add_database_collector(db, clock)
    engine.metrics = metrics
    services = Services(cfg, db, clock, calendar, evaluator, engine, registry, pm, settings, test_offset,
                        metrics, calendars)
    from engine.casework import documents, operations

    operations.register(services)
    documents.register(services)  # document.issue
    _load_plugins(services)
    return services


def _load_plugins(services: Services) -> None:
    """Plugins register programmes, forms and the service operations BPMN service tasks call."""
    from engine import plugins as plugin_loader

    services.pm = plugin_loader.make_plugin_manager(allowlist=services.config.get("PLUGINS"))
    services.settings = plugin_loader.load_settings(services.pm, services.config.get("PROGRAMME_SETTINGS", {}))
    for name, operation in sorted(plugin_loader.service_operations(services.pm).items()):
        services.services.register(name, _operation_adapter(operation, services))


def _operation_adapter(operation, services: Services):
    """Give a plugin operation the plain data it needs: the case's household, standard and date."""

    def call(params: Mapping[str, Any], data: Mapping[str, Any], ctx) -> Mapping[str, Any]:
        from engine.actors import SYSTEM
        from engine.casework import records
        from engine.casework.types import ServiceRequest
        from engine.clock import to_local

        household = standard = None
        as_of = params.get("as_of") or data.get("as_of")
        as_of = date.fromisoformat(str(as_of)[:10]) if as_of else to_local(services.clock.now()).date()
        household_id = data.get("household_id") or (ctx.instance.household_id if ctx else None)
        region = ctx.instance.region_code if ctx else None
        if ctx is not None:
            # one read per step: the assessments of a step (dibao, tekun, charity …) share the
            # household and standard; no service operation changes them within a step
            known = ctx.plugin_inputs
            key = (household_id, region, as_of)
            if key not in known:
                if household_id:
                    record = records.get_household(ctx.session, int(household_id), actor=SYSTEM)
                    household, region = record.household, record.region_code
                if region:
                    standard = records.standard_for(ctx.session, region, as_of)
                known[key] = (household, standard)
            household, standard = known[key]
        request = ServiceRequest(operation=operation.name, params=dict(params), household=household,
                                 standard=standard, as_of=as_of, settings=services.settings)
        return operation.func(request)

    call.__name__ = f"plugin:{operation.name}"
    return call


def deploy_processes(services: Services) -> list:
    directory = Path(services.config["PROCESSES_DIR"])
    if not directory.is_dir():
        return []
    return services.engine.deploy_directory(directory)


def shared_secret(services: Services, key: str = "secret_key") -> str:
    """A random secret made once and kept in the ``setting`` table, so all workers agree on it."""
    import secrets

    from sqlalchemy.exc import IntegrityError

    with services.db.read() as session:
        row = session.get(Setting, key)
        if row is not None:
            return str(row.value)
    try:
        with services.db.write() as session:
            session.add(Setting(key=key, value=secrets.token_hex(32)))
    except IntegrityError:
        pass  # another worker made it first
    with services.db.read() as session:
        return str(session.get(Setting, key).value)
