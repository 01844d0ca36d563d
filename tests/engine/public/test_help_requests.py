"""Help requests (码上办): a discovery signal in the right township, a receipt that shows progress
and nothing personal, abuse limits counted in the database, ratings and the follow-up."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.actors import Actor
from engine.casework.public import help as helpdesk
from engine.casework.public import ratings
from engine.casework.public.limits import Limits, RateLimited
from engine.errors import Conflict, NotFound, ValidationError
from engine.workflow.models import HumanTask, ProcessInstance
from tests.processes.conftest import YUTAI_VILLAGE, assistant, caseworker

FORM = helpdesk.HelpForm(name="王小梅", phone="13800000001", village=YUTAI_VILLAGE,
                         description="丈夫突发脑出血住院，家里没有收入", urgency="urgent")


def submit(world, form=FORM, ip="ip-1", limits=Limits()):
    return helpdesk.submit(world.db, world.engine, form, ip=ip, now=world.clock.now(), limits=limits)


def open_tasks(world, case_id):
    with world.db.read() as s:
        return list(s.execute(select(HumanTask).where(HumanTask.instance_id == case_id,
                                                      HumanTask.status == "open")).scalars())


def case_of_receipt(world, code):
    with world.db.read() as s:
        return helpdesk.find(s, code).case_id


def test_a_help_request_lands_as_triage_in_its_township_and_nowhere_else(world):
    code, _ = submit(world)
    case_id = case_of_receipt(world, code)
    [task] = open_tasks(world, case_id)
    assert (task.bpmn_id, task.candidate_group, task.region_code) == ("triage", "caseworker", YUTAI_VILLAGE)
    township = Actor("cw", "caseworker", "370827101")
    other = Actor("cw2", "caseworker", "370827102")
    assert world.engine.task(task.id, township).id == task.id
    with pytest.raises(NotFound):
        world.engine.task(task.id, other)
    data = world.engine.instance(case_id, township).data
    assert data["signal_kind"] == "help_request"
    assert data["details"]["phone"] == "13800000001" and data["details"]["visit_due_in"] == "PT24H"


def test_the_receipt_shows_steps_only_and_follows_the_case_to_its_end(world):
    code, _ = submit(world)
    first = helpdesk.receipt(world.db, world.engine, code)
    assert [s.label for s in first.steps] == ["已提交求助", "乡镇（街道）受理研判"]
    assert not first.closed and not first.can_rate
    case_id = case_of_receipt(world, code)
    world.engine.complete(open_tasks(world, case_id)[0].id, caseworker(YUTAI_VILLAGE), {"visit_needed": True})
    world.engine.complete(open_tasks(world, case_id)[0].id, assistant(YUTAI_VILLAGE),
                          {"need_confirmed": False, "not_confirmed_reason": "已由亲属接济"})
    done = helpdesk.receipt(world.db, world.engine, code.lower())  # codes are read case-blind
    labels = [s.label for s in done.steps]
    assert labels == ["已提交求助", "乡镇（街道）受理研判（已完成）", "工作人员入户核实（已完成）",
                      "已办结：经核实，暂不需要救助或问题已解决"]
    assert done.closed and done.can_rate
    text = repr(done)
    assert "王小梅" not in text and "13800000001" not in text and "脑出血" not in text
    with pytest.raises(NotFound):
        helpdesk.receipt(world.db, world.engine, helpdesk.new_receipt_code())


def close(world, code):
    case_id = case_of_receipt(world, code)
    world.engine.complete(open_tasks(world, case_id)[0].id, caseworker(YUTAI_VILLAGE),
                          {"visit_needed": False, "need_confirmed": False, "not_confirmed_reason": "重复"})
    return case_id


def test_a_dissatisfied_rating_opens_a_followup_for_the_township_due_in_five_working_days(world):
    code, _ = submit(world)
    with pytest.raises(Conflict):  # not before the case is closed
        ratings.rate(world.db, world.engine, code, rating="dissatisfied", comment="", ip="x",
                     now=world.clock.now())
    case_id = close(world, code)
    rated = ratings.rate(world.db, world.engine, code, rating="dissatisfied", comment="没有人联系我",
                         ip="x", now=world.clock.now())
    [task] = open_tasks(world, rated.followup_case_id)
    assert (task.bpmn_id, task.candidate_group, task.region_code) == ("follow_up", "caseworker", YUTAI_VILLAGE)
    assert task.due_at is not None
    assert (task.due_at - world.clock.now()) > timedelta(days=5)       # Monday + 5 WD = next Monday night
    with world.db.read() as s:
        assert s.get(ProcessInstance, rated.followup_case_id).parent_id == case_id
        figures = ratings.figures(s, "370827101", now=world.clock.now())
    assert (figures.dissatisfied, figures.followups_open, figures.rate) == (1, 1, 0.0)
    with pytest.raises(Conflict):
        ratings.rate(world.db, world.engine, code, rating="satisfied", comment="", ip="x",
                     now=world.clock.now())
    world.engine.complete(task.id, caseworker(YUTAI_VILLAGE), {"contacted": True, "resolved": True,
                                                               "followup_note": "已电话解释"})
    assert world.engine.instance(rated.followup_case_id, caseworker(YUTAI_VILLAGE)).status == "completed"


def test_a_satisfied_rating_opens_nothing(world):
    code, _ = submit(world)
    close(world, code)
    rated = ratings.rate(world.db, world.engine, code, rating="satisfied", comment="", ip="x",
                         now=world.clock.now())
    assert rated.followup_case_id is None
    assert helpdesk.receipt(world.db, world.engine, code).rating == "satisfied"


def test_one_phone_may_ask_three_times_a_day_and_one_address_twenty_times_an_hour(world):
    limits = Limits(per_phone_per_day=2, per_ip_per_hour=3)
    submit(world, limits=limits, ip="a")
    submit(world, limits=limits, ip="b")
    with pytest.raises(RateLimited):
        submit(world, limits=limits, ip="c")
    world.clock.advance(timedelta(hours=24, seconds=1))
    submit(world, limits=limits, ip="c")
    other = helpdesk.HelpForm(name="甲", phone="13900000002", village=YUTAI_VILLAGE,
                              description="需要帮助办理低保")
    submit(world, other, limits=limits, ip="c")
    submit(world, helpdesk.HelpForm(name="乙", phone="13900000003", village=YUTAI_VILLAGE,
                                    description="需要帮助办理低保"), limits=limits, ip="c")
    with pytest.raises(RateLimited):
        submit(world, helpdesk.HelpForm(name="丙", phone="13900000004", village=YUTAI_VILLAGE,
                                        description="需要帮助办理低保"), limits=limits, ip="c")


def test_bad_input_is_refused_field_by_field(world):
    bad = helpdesk.HelpForm(name="", phone="12345", village="3708", description="x", urgency="now")
    with pytest.raises(ValidationError) as err:
        submit(world, bad)
    assert sorted(err.value.fields) == ["description", "name", "phone", "urgency", "village"]
    unknown = helpdesk.HelpForm(name="甲", phone="13800000009", village="370827999999",
                                description="需要帮助办理低保")
    with pytest.raises(NotFound):
        submit(world, unknown)


def test_receipt_codes_are_random_and_unambiguous():
    codes = {helpdesk.new_receipt_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(c) == 12 and not set(c) & set("01OIL") for c in codes)
    assert helpdesk.normalise(helpdesk.display("ABCD2345EFGH").lower()) == "ABCD2345EFGH"


def test_a_request_stored_but_never_forwarded_reaches_discovery_at_the_next_sweep_once(world, monkeypatch):
    def crash(*args, **kwargs):  # the process dies between storing the request and reporting it
        raise SystemExit("killed")

    monkeypatch.setattr(helpdesk.signals, "receive", crash)
    with pytest.raises(SystemExit):
        submit(world)
    monkeypatch.undo()
    with world.db.read() as s:
        [request] = s.execute(select(helpdesk.HelpRequest)).scalars().all()
        assert (request.signal_id, request.case_id) == (None, None)
    assert helpdesk.forward_pending(world.db, world.engine, now=world.clock.now()) == []  # not yet stale
    world.clock.advance(timedelta(minutes=2))
    world.run_due()
    world.run_due()  # a second sweep finds nothing left to forward
    with world.db.read() as s:
        request = s.get(helpdesk.HelpRequest, request.id)
        cases = s.execute(select(ProcessInstance).where(ProcessInstance.process_key == "discovery")).scalars().all()
    assert request.case_id is not None and [c.id for c in cases] == [request.case_id]
    [task] = open_tasks(world, request.case_id)
    assert task.bpmn_id == "triage"
