"""The unified application (``processes/application.bpmn``) for ``engine_overhead.py``: both arms.

Scenario 1 of ``tests/processes/test_application.py``: 韩进's rural household of four in 鱼台县 (one
business income of 400, disabilities, medical bills of 50 000), applying through the village
(帮办代办).  The path, identical in both arms and checked to be so (:func:`check_same_path`):

    start → defaults → case.conflicts → accept (容缺: one missing document) → orphan_screen
    (tekun.assess) → fork → info_check (approver) + investigate (two investigators) → join →
    dibao.assess → tekun.assess → charity.assess → propose (dibao, 2800.00 a month) → opinion →
    publicity, ended by its 7-day timer (the clock is moved 7 days and 1 second and due timers fire)
    → confirm (approver) → case.decide → payment.schedule (from 2026-04) → notify.send → referrals
    → referral.create ×3 (medical insurance, disabled federation, county charity), each opening a
    ``referral`` case that runs to its first wait (``track``, a reminder timer, SLA ``=due_at``)
    → end_approved.

Every instance starts at the same engine time (Monday 2026-03-02 10:00 in Shanghai, the tests'
start), so all instances give the same dates, amounts and decisions.

*Durable* drives it through the product's public operations, each its own transaction, as a
caseworker and the scheduler do: ``records.create_household``, ``engine.start``, ``engine.complete``
for each task (the next task's id comes from the view the previous call returned), the scheduler's
tick (``check_slas`` + ``fire_due_timers``), and ``engine.instance`` to open the case again after
the timer fired.  ``bootstrap.build`` with product defaults plus a settable clock, processes deployed
as at start-up, the 2022 Jining standard stored.

*Raw* is SpiffWorkflow in memory with the product's own pieces: the very parsed specs the durable
arm runs, a ``SafeScriptEngine`` built as ``WorkflowEngine`` builds it (same evaluator, literal rule,
calendar and clock), ``runtime.new_workflow`` / ``complete_task`` / ``run_engine``, and the timer
fired with SpiffWorkflow seeing the engine clock (``timeclock``).  Its service dispatcher calls the
plugins' own assessment functions with the household and standard held in memory (read once at
set-up as the database gives them back; durable reads them on every call), and stands in for the
five engine operations whose job is to write records (``case.conflicts``, ``case.decide``,
``payment.schedule``, ``notify.send``, ``referral.create``): they return the same fields (ids from
a counter), compute the same dates (``payments.next_month``, the calendar's ``parse_due``), call the
notification plugins, and ``referral.create`` starts each child ``referral`` workflow in memory and
runs it to its first wait, as ``engine.start_child`` does.  So raw does all the workflow work — the
same tasks run, the same service calls with the same parameters, the same data — and none of the
durability.  What the durable arm does on top (household row, decision, entitlement, the PDF
notice, payment, notification and referral rows, three more case rows with their tasks, timers and
SLA clocks, audit events, the state of every wait) is the price of durability the target measures.
"""

from __future__ import annotations

import itertools
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Callable, Mapping

from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine import bootstrap
from engine import plugins as plugin_loader
from engine.actors import Actor
from engine.casework import idnumber, payments, records
from engine.casework.operations import DEFAULT_REFERRAL_DUE
from engine.casework.types import Household, Notification, ServiceRequest, Standard
from engine.clock import FakeClock, to_local
from engine.workflow.engine import start_defaults
from engine.workflow.models import ProcessInstance
from engine.workflow.spiff import runtime, timeclock
from engine.workflow.spiff.scripting import SafeScriptEngine

PROCESS, PROCESS_REFERRAL = "application", "referral"
START = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)      # Monday 10:00 in Shanghai (tests' START)
PUBLICITY_OVER = START + timedelta(days=7, seconds=1)        # SpiffWorkflow fires just after the due time
REGION = "370827101201"                                      # 鱼台县 滨湖街道 城西村
CASEWORKER = Actor("cw370827101", "caseworker", REGION[:9])
APPROVER = Actor("ap370827", "approver", REGION[:6])
ADMIN = Actor("admin", "admin", "")

START_DATA = {"source": "village_report", "proxy": True}
TIMER = "publicity_over"
# (task, who completes it, form data); TIMER: move the clock past the publicity period, fire timers
STEPS: tuple[tuple[str, Actor | None, dict | None], ...] = (
    ("accept", CASEWORKER, {"accepted": True, "missing_documents": ["残疾证复印件"]}),
    ("info_check", APPROVER, {"checked": True}),
    ("investigate", CASEWORKER, {"investigators": ["张三", "李四"], "findings": "入户调查属实"}),
    ("opinion", CASEWORKER, {"opinion": "拟同意"}),
    (TIMER, None, None),
    ("confirm", APPROVER, {"confirmed": True}),
)
EXPECTED = {"proposed": "dibao", "proposed_amount": "2800.00", "from_month": "2026-04"}
# fields whose values are database ids (they differ between arms and instances, not in meaning)
ID_FIELDS = {"case_id", "decision_id", "document_id", "entitlement_id", "household_id", "notification_ids",
             "payment_id", "referral_id"}
DESCRIPTION = (
    "Process `processes/application.bpmn` (the unified application, 51 flow nodes), Scenario 1 (韩进, "
    "rural household of 4, dibao 2800.00 a month): per instance create household → start → accept → "
    "info_check + investigate → dibao/tekun/charity assessments → opinion → publicity ended by its "
    "7-day timer (engine clock moved 7 days + 1 s, due timers fired) → confirm → decision, first "
    "payment, publication, 3 referral slips each opening a `referral` case run to its first wait → "
    "completed. Durable: 8 write transactions per instance (household, start, 4 completions, the "
    "timer's step, confirm) and 3 reads (the scheduler tick's SLA and timer queries, reopening the "
    "case); raw: the same parsed specs, script engine and plugin assessments, the 4 workflows in memory")


def _member(name: str, relation: str, born: str, sex: str, seq: int, **more: Any) -> dict:
    income = {"wages": "0", "business": "0", "property": "0", "transfer": "0", **more.pop("income", {})}
    data = {"name": name, "id_number": idnumber.make(REGION[:6], date.fromisoformat(born),
                                                     seq * 10 + (1 if sex == "M" else 2)),
            "relation": relation, "birth_date": born, "sex": sex, "disability": None, "self_care_lost": 0,
            "can_work": True, "employed": False, "in_school": "none", "critical_illness": False,
            "income": income}
    data.update(more)
    return data


def han_jin() -> dict:
    """Scenario 1 (the same household as ``tests/processes/conftest.py::han_jin``)."""
    return {"region_code": REGION, "hukou": "rural", "hukou_region_code": REGION[:6], "supporters": [],
            "assets": {"deposits": "0", "vehicles": 0, "houses": 1},
            "expenses_12m": {"medical": "50000", "education": "0", "rehabilitation": "0"},
            "members": [
                _member("韩进", "head", "1980-01-01", "M", 1, income={"business": "400"},
                        disability={"category": "physical", "grade": 3}),
                _member("妻", "spouse", "1982-05-05", "F", 2, can_work=False,
                        disability={"category": "intellectual", "grade": 2}),
                _member("长子", "son", "2010-03-03", "M", 3, can_work=False, in_school="compulsory",
                        disability={"category": "intellectual", "grade": 3}),
                _member("次女", "daughter", "2013-04-04", "F", 4, can_work=False, in_school="compulsory",
                        disability={"category": "intellectual", "grade": 4}),
            ]}


def standard_2022():
    """The 2022 Jining standard (as the process tests store it)."""
    return Standard(region_code="3708", valid_from=date(2022, 1, 1),
                    dibao_urban=Decimal("880"), dibao_rural=Decimal("700"),
                    tekun_urban=Decimal("1144"), tekun_rural=Decimal("910"),
                    care_total=Decimal("580"), care_partial=Decimal("290"), care_self=Decimal("170"),
                    marginal_multiplier=Decimal("2.0"), township_relief_limit=Decimal("3000"),
                    county_relief_limit=Decimal("10000"), disposable_income_last_year=Decimal("30000"))


def make_clock() -> FakeClock:
    """The engine clock both arms share (SpiffWorkflow's timers read one clock per process)."""
    return FakeClock(START)


# ------------------------------------------------------------------------------------------ durable

def prepare_database(url: str, clock) -> None:
    """Deploy ``processes/`` as at start-up and store the standard (once per database)."""
    services = bootstrap.build({"DATABASE_URL": url, "CLOCK": clock})
    try:
        keys = {o.definition.key for o in bootstrap.deploy_processes(services)}
        assert {PROCESS, PROCESS_REFERRAL} <= keys, keys
        with services.db.write() as s:
            records.add_standard(s, standard_2022(), actor=ADMIN, now=clock.now())
    finally:
        services.close()


def no_mark(label: str) -> None:
    """The default ``mark`` of a durable run: nothing."""


def make_durable(url: str, clock, cache_size: int | None = None):
    """(services, once): ``once()`` drives one instance; ``once(mark)`` also calls ``mark(label)`` after
    each operation (for the per-operation figures, not while timing)."""
    cfg: dict[str, Any] = {"DATABASE_URL": url, "CLOCK": clock}
    if cache_size is not None:
        cfg["INSTANCE_CACHE_SIZE"] = cache_size
    services = bootstrap.build(cfg)
    engine = services.engine
    household = Household.from_dict(han_jin())

    def once(mark: Callable[[str], None] = no_mark):
        clock.set(START)
        with services.db.write() as s:
            household_id = records.create_household(s, household, actor=CASEWORKER, now=clock.now())
        mark("create household")
        view = engine.start(PROCESS, actor=CASEWORKER, region_code=REGION, household_id=household_id,
                            data=dict(START_DATA))
        mark("start")
        for bpmn_id, actor, form in STEPS:
            if bpmn_id == TIMER:
                clock.set(PUBLICITY_OVER)
                engine.check_slas()             # the scheduler's tick (tests' ``tick``)
                engine.fire_due_timers()
                mark("tick: SLA check + fire due timers")
                view = engine.instance(view.id, APPROVER)
                mark("reopen the case")
                continue
            [task] = [t for t in view.open_tasks if t.bpmn_id == bpmn_id]
            view = engine.complete(task.id, actor, dict(form))
            mark(f"complete {bpmn_id}")
        assert view.status == "completed", (view.status, [t.bpmn_id for t in view.open_tasks])
        assert view.data["proposed_amount"] == EXPECTED["proposed_amount"], view.data.get("proposed_amount")
        return view.id

    return services, once


def stored_run(services, case_id: int, completed: list) -> dict:
    """A durable instance as the database holds it (data, decisions, child cases), plus the tasks it
    completed in order (``completed``, recorded while it ran: the stored tree keeps only what still
    runs, ``history.prune``)."""
    engine = services.engine
    with services.db.read() as s:
        def load(row):
            parsed = engine.definitions.parsed(s, row.definition_id)
            return engine.serializer.load(row.state, row.serializer_version, parsed.spec, parsed.subprocess_specs)

        row = s.get(ProcessInstance, case_id)
        children = s.execute(select(ProcessInstance).where(ProcessInstance.parent_id == case_id)
                             .order_by(ProcessInstance.id)).scalars().all()
        return {"status": row.status, "completed": completed,
                "data": _without_ids(runtime.final_data(load(row))),
                "decisions": [(d["programme"], d["decision"], d["monthly_amount"], d["from_month"])
                              for d in payments.decisions_of(s, case_id)],
                "children": [(c.process_key, c.status, sorted(t.bpmn_id for t in runtime.scan(load(c))[0]))
                             for c in children]}


@contextmanager
def recording_completions():
    """Record (process, task) each time a SpiffWorkflow task becomes COMPLETED, in order.

    Only for the path check, never while timing: it wraps ``Task._set_state`` for both arms alike.
    """
    completed: list[tuple[str, str]] = []
    original = Task._set_state

    def record(task, value):
        if value == TaskState.COMPLETED and task.state != value and getattr(task.task_spec, "bpmn_id", None):
            completed.append((task.workflow.spec.name, task.task_spec.bpmn_id))
        original(task, value)

    Task._set_state = record
    try:
        yield completed
    finally:
        Task._set_state = original


# ------------------------------------------------------------------------------------------ raw

@dataclass
class _RawCase:
    """What the raw arm's stand-ins record for one instance (the durable arm writes it to tables)."""
    case_id: int
    household_id: int
    decisions: list = field(default_factory=list)
    children: list = field(default_factory=list)


class RawApplication:
    """SpiffWorkflow in memory with the product's specs, script engine and plugin operations."""
    def __init__(self, services, clock) -> None:
        engine = services.engine
        # Set-up only: the parsed specs durable runs, and the household and standard exactly as
        # durable's service calls read them back from the database (stored decimals say "700.00")
        with services.db.write() as s:
            self.specs = {key: engine.definitions.parsed(s, engine.definitions.latest(s, key).id)
                          for key in (PROCESS, PROCESS_REFERRAL)}
            household_id = records.create_household(s, Household.from_dict(han_jin()), actor=CASEWORKER,
                                                    now=clock.now())
            self.household = records.get_household(s, household_id, actor=ADMIN).household
            self.standard = records.standard_for(s, REGION, to_local(START).date())
        self.clock = clock
        self.pm, self.settings = services.pm, services.settings
        self.parse_due = engine.parse_due
        self.operations = plugin_loader.service_operations(services.pm)
        self.script_engine = SafeScriptEngine(      # as WorkflowEngine.__init__ builds it
            services.evaluator, is_literal=engine.is_literal, workdays_after=services.calendar.workdays_after,
            now=clock.now, services=self._dispatch)
        self.ids = itertools.count(1)
        self.case: _RawCase | None = None
        self.handlers: dict[str, Callable[[Mapping, Mapping], Mapping]] = {
            "case.conflicts": self._conflicts, "case.decide": self._decide, "payment.schedule": self._schedule,
            "notify.send": self._notify, "referral.create": self._referral}

    def once(self):
        self.clock.set(START)
        case = self.case = _RawCase(next(self.ids), next(self.ids))
        workflow = self._new(PROCESS, {**START_DATA, "household_id": case.household_id})
        for bpmn_id, _actor, form in STEPS:
            if bpmn_id == TIMER:
                self.clock.set(PUBLICITY_OVER)
                with timeclock.firing():        # as fire_instance_timers runs it
                    runtime.run_engine(workflow)
                continue
            [task] = [t for t in workflow.get_tasks(state=TaskState.READY, manual=True)
                      if t.task_spec.bpmn_id == bpmn_id]
            runtime.complete_task(workflow, str(task.id), dict(form))
        assert workflow.is_completed(), "raw path did not finish"
        assert runtime.final_data(workflow)["proposed_amount"] == EXPECTED["proposed_amount"]
        return workflow

    def run(self) -> dict:
        """One instance, described as :func:`stored_run` describes a durable one (less ``completed``)."""
        workflow = self.once()
        return {"status": "completed",
                "data": _without_ids(runtime.final_data(workflow)), "decisions": self.case.decisions,
                "children": [(PROCESS_REFERRAL, "completed" if child.is_completed() else "active",
                              sorted(t.bpmn_id for t in runtime.scan(child)[0])) for child in self.case.children]}

    def _new(self, key: str, data: Mapping[str, Any]):
        """As ``WorkflowEngine._start``: start defaults, the case id, run to the first wait."""
        parsed = self.specs[key]
        seed = {**start_defaults(parsed), **dict(data), "case_id": next(self.ids)}
        workflow = runtime.new_workflow(parsed, self.script_engine, seed)
        runtime.run_engine(workflow)
        return workflow

    # --- the service dispatcher (WorkflowEngine._dispatch without a step context) ----------------
    def _dispatch(self, name: str, params: Mapping[str, Any], data: Mapping[str, Any],
                  element_id: str | None = None) -> Mapping[str, Any]:
        handler = self.handlers.get(name)
        if handler is not None:
            return handler(params, data)
        return self._plugin(name, params, data)

    def _plugin(self, name: str, params: Mapping[str, Any], data: Mapping[str, Any]) -> Mapping[str, Any]:
        """As ``bootstrap._operation_adapter``, with the household and standard already in memory."""
        operation = self.operations[name]
        as_of = params.get("as_of") or data.get("as_of")
        as_of = date.fromisoformat(str(as_of)[:10]) if as_of else to_local(self.clock.now()).date()
        request = ServiceRequest(operation=operation.name, params=dict(params), household=self.household,
                                 standard=self.standard, as_of=as_of, settings=self.settings)
        return operation.func(request)

    def _conflicts(self, params, data):
        return {"has_conflict": False, "users": []}      # no relative of staff registered

    def _decide(self, params, data):
        from_month = params.get("from_month")
        if params["decision"] == "approved" and params.get("monthly_amount") is not None and not from_month:
            from_month = payments.next_month(to_local(self.clock.now()).date())
        self.case.decisions.append((params["programme"], params["decision"], params.get("monthly_amount"),
                                    from_month))
        return {"decision_id": next(self.ids), "from_month": from_month, "entitlement_id": next(self.ids),
                "document_id": next(self.ids)}

    def _schedule(self, params, data):
        return {"payment_id": next(self.ids), "month": str(params["from_month"])}

    def _notify(self, params, data):
        kind = str(params.get("kind") or "policy_notice")
        note = Notification(kind=kind, channel=str(params.get("channel") or "inbox"),
                            recipient=f"household:{self.case.household_id}", subject=kind,
                            body=str(params.get("text") or ""), case_id=self.case.case_id,
                            data={"programmes": list(params.get("programmes") or [])})
        deliveries = plugin_loader.notify(self.pm, note, self.settings)
        return {"notification_ids": [next(self.ids)], "deliveries": len(deliveries)}

    def _referral(self, params, data):
        spec = str(params.get("due") or DEFAULT_REFERRAL_DUE)
        due_at = self.parse_due(spec, self.clock.now(), REGION)
        referral_id = next(self.ids)
        child = self._new(PROCESS_REFERRAL, {
            "referral_id": referral_id, "target": str(params["target"]), "reason": str(params.get("reason") or ""),
            "due": spec, "due_at": due_at.isoformat(), "household_id": self.case.household_id})
        self.case.children.append(child)
        return {"referral_id": referral_id, "due_at": due_at.isoformat(), "case_id": next(self.ids)}


def _without_ids(value):
    """``value`` with database ids replaced by a placeholder, so the two arms' data compare equal."""
    if isinstance(value, dict):
        return {k: ("<id>" if k in ID_FIELDS and v is not None else _without_ids(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_ids(v) for v in value]
    return value


def check_same_path(services, durable_once, raw: RawApplication) -> int:
    """Run one instance in each arm and fail unless both completed the same tasks in the same order
    (the application's and its referral cases'), with the same final data (ids aside), decisions and
    child cases waiting at the same tasks.  The number of tasks completed."""
    with recording_completions() as completed:
        case_id = durable_once()
    durable = stored_run(services, case_id, list(completed))
    with recording_completions() as completed:
        raw_run = raw.run()
    raw_run["completed"] = list(completed)
    for key in ("status", "completed", "decisions", "children", "data"):
        mine, theirs = raw_run[key], durable[key]
        if mine == theirs:
            continue
        if key == "data":
            diff = {k: (mine.get(k), theirs.get(k)) for k in sorted(set(mine) | set(theirs))
                    if mine.get(k) != theirs.get(k)}
            raise AssertionError(f"the arms' final data differ (raw, durable): {diff}")
        raise AssertionError(f"the arms differ in {key}: raw {mine!r} vs durable {theirs!r}")
    assert raw_run["status"] == "completed", raw_run["status"]
    assert raw_run["decisions"] == [("dibao", "approved", EXPECTED["proposed_amount"], EXPECTED["from_month"])], \
        raw_run["decisions"]
    assert [c[2] for c in raw_run["children"]] == [["track"]] * 3, raw_run["children"]
    return len(raw_run["completed"])
