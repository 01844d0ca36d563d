"""The audit trail tells on whoever edits or deletes it (环环有痕迹、步步能倒查).

Each test runs a real case (so the chains hold what the engine writes), tampers with the rows the way
somebody with database access would, and expects ``verify`` — and ``jishijiu audit verify`` — to name
the chain and the event.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select, text, update

from engine import bootstrap
from engine.workflow import audit
from engine.workflow.models import AuditAnchor, AuditEvent
from tests.engine.conftest import APPROVER, BPMN, CASEWORKER, DESIGNER, VILLAGE, _gap


@pytest.fixture
def svc(database_url, clock):
    services = bootstrap.build({"DATABASE_URL": database_url, "TESTING": True, "CLOCK": clock})
    services.services.register("test.gap", _gap)
    yield services
    services.close()


@pytest.fixture
def case(svc, clock) -> int:
    """A case that went start → claim → complete → service → approve; its chain has 5 events."""
    engine = svc.engine
    engine.deploy((BPMN / "casework.bpmn").read_bytes(), "casework.bpmn", actor=DESIGNER)
    view = engine.start("casework", actor=CASEWORKER, region_code=VILLAGE,
                        data={"people": ["韩进", "李梅"], "income": "0"})
    clock.advance(timedelta(minutes=5, microseconds=123_456))
    engine.claim(view.open_tasks[0].id, CASEWORKER)
    clock.advance(timedelta(minutes=30, microseconds=1))
    after = engine.complete(view.open_tasks[0].id, CASEWORKER, {"income": "400", "note": "家访，已核实"})
    clock.advance(timedelta(hours=1))
    engine.complete(after.open_tasks[0].id, APPROVER, {"approved": True})
    assert chain_actions(svc, view.id) == ["instance.started", "task.claimed", "task.completed", "task.completed",
                                           "instance.completed"]
    return view.id


def chain_actions(svc, case_id: int) -> list[str]:
    with svc.db.read() as session:
        return list(session.execute(select(AuditEvent.action).where(AuditEvent.chain == f"case:{case_id}")
                                    .order_by(AuditEvent.seq)).scalars())


def verify(svc) -> audit.VerifyReport:
    with svc.db.read() as session:
        return audit.verify(session)


def take_anchor(svc, clock) -> int:
    with svc.db.write() as session:
        return audit.anchor(session, clock.now()).id


def tamper(svc, statement) -> None:
    with svc.db.write() as session:
        assert session.execute(statement).rowcount == 1


def event_where(case_id: int, seq: int):
    return (AuditEvent.chain == f"case:{case_id}") & (AuditEvent.seq == seq)


# --- a fresh trail -------------------------------------------------------------------------------------
def test_a_fresh_trail_verifies(svc, case, clock):
    take_anchor(svc, clock)
    report = verify(svc)
    assert report.ok, report.problems
    assert report.events >= 6            # the case's five plus the deployment
    assert report.chains >= 2 and report.anchors == 1


def test_a_trail_with_several_anchors_and_later_events_verifies(svc, case, clock):
    take_anchor(svc, clock)
    clock.advance(timedelta(seconds=1))
    svc.engine.start("casework", actor=CASEWORKER, region_code=VILLAGE, data={"people": [], "income": "0"})
    take_anchor(svc, clock)
    report = verify(svc)
    assert report.ok, report.problems
    assert report.anchors == 2


# --- tampering -------------------------------------------------------------------------------------------
def test_editing_the_data_of_an_event_is_detected_naming_chain_and_seq(svc, case):
    with svc.db.read() as session:
        after = session.execute(select(AuditEvent.after).where(event_where(case, 3))).scalar()
    after["data"]["income"] = "40"
    tamper(svc, update(AuditEvent).where(event_where(case, 3)).values(after=after))

    assert verify(svc).problems == [
        f"case:{case} #3: content does not match its hash (the task.completed event was edited)"]


def test_editing_the_raw_json_text_of_an_event_is_detected(svc, case):
    with svc.db.write() as session:
        session.execute(text("UPDATE audit_event SET after = :v WHERE chain = :c AND seq = 2"),
                        {"v": json.dumps({"assignee": "someone-else"}), "c": f"case:{case}"})
    assert (f"case:{case} #2: content does not match its hash (the task.claimed event was edited)"
            in verify(svc).problems)


def test_changing_who_acted_is_detected(svc, case):
    tamper(svc, update(AuditEvent).where(event_where(case, 2)).values(actor="wang"))
    assert any(p.startswith(f"case:{case} #2: content does not match") for p in verify(svc).problems)


def test_deleting_an_event_in_the_middle_is_detected(svc, case):
    tamper(svc, delete(AuditEvent).where(event_where(case, 3)))
    problems = verify(svc).problems
    assert f"case:{case}: event #3 is missing (next is #4)" in problems
    assert any(p.startswith(f"case:{case} #4: previous hash does not match") for p in problems)


def test_deleting_the_newest_event_after_an_anchor_is_detected(svc, case, clock):
    take_anchor(svc, clock)
    tamper(svc, delete(AuditEvent).where(event_where(case, 5)))
    problems = verify(svc).problems
    assert len(problems) == 1
    assert problems[0].startswith(f"case:{case}: events up to #5 were anchored at ")
    assert problems[0].endswith("but the chain now ends at #4 (events were deleted)")


def test_deleting_a_whole_anchored_chain_is_detected(svc, case, clock):
    take_anchor(svc, clock)
    with svc.db.write() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.chain == f"case:{case}"))
    [problem] = verify(svc).problems
    assert problem.startswith(f"case:{case}: events up to #5 were anchored at ")
    assert problem.endswith("but the chain now ends at #0 (events were deleted)")


def test_rewriting_a_chain_with_fresh_hashes_is_caught_by_the_anchor(svc, case, clock):
    """An insider who edits an event *and* recomputes every later hash still differs from the anchor."""
    take_anchor(svc, clock)
    with svc.db.write() as session:
        events = session.execute(select(AuditEvent).where(AuditEvent.chain == f"case:{case}")
                                 .order_by(AuditEvent.seq)).scalars().all()
        events[2].after = {**events[2].after, "data": {"income": "40", "note": "改过"}}
        prev = audit.GENESIS
        for e in events:
            e.prev_hash = prev
            e.hash = audit._hash(prev, audit._payload(e))
            prev = e.hash
    [problem] = verify(svc).problems
    assert problem.startswith(f"case:{case} #5: differs from the hash anchored at ")


def test_editing_an_anchor_is_detected(svc, case, clock):
    first = take_anchor(svc, clock)
    clock.advance(timedelta(seconds=1))
    take_anchor(svc, clock)
    with svc.db.read() as session:
        heads = session.get(AuditAnchor, first).heads
    heads[f"case:{case}"] = [4, heads[f"case:{case}"][1]]
    tamper(svc, update(AuditAnchor).where(AuditAnchor.id == first).values(heads=heads))
    problems = verify(svc).problems
    assert problems[0] == f"anchor {first}: anchor chain is broken (edited or deleted)"
    assert any(p.startswith(f"case:{case} #4: differs from the hash anchored at") for p in problems)


def test_deleting_an_anchor_between_two_others_is_detected(svc, case, clock):
    ids = []
    for _ in range(3):
        ids.append(take_anchor(svc, clock))
        clock.advance(timedelta(seconds=1))
    tamper(svc, delete(AuditAnchor).where(AuditAnchor.id == ids[1]))
    assert f"anchor {ids[2]}: anchor chain is broken (edited or deleted)" in verify(svc).problems


def test_without_an_anchor_deleting_the_newest_event_cannot_be_seen(svc, case):
    """What anchors are for: a chain alone cannot tell that its tail was cut off."""
    tamper(svc, delete(AuditEvent).where(event_where(case, 5)))
    assert verify(svc).ok


# --- jishijiu audit verify -------------------------------------------------------------------------------
def run_cli(monkeypatch, database_url, *args):
    from web.cli import main

    monkeypatch.setenv("JISHIJIU_DATABASE_URL", database_url)
    return CliRunner().invoke(main, list(args))


def test_jishijiu_audit_verify_exits_0_on_a_fresh_trail(svc, case, monkeypatch, database_url):
    anchored = run_cli(monkeypatch, database_url, "audit", "anchor")
    assert anchored.exit_code == 0, anchored.output
    assert anchored.output.startswith("anchor 1: ")
    result = run_cli(monkeypatch, database_url, "audit", "verify")
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("1 anchors: OK")


def test_jishijiu_audit_verify_exits_1_and_names_the_tampered_event(svc, case, monkeypatch, database_url):
    tamper(svc, update(AuditEvent).where(event_where(case, 3)).values(actor="mallory"))
    result = run_cli(monkeypatch, database_url, "audit", "verify")
    assert result.exit_code == 1
    assert f"case:{case} #3: content does not match its hash" in result.output
    assert "1 problem(s)" in result.output


def test_jishijiu_audit_verify_exits_1_when_an_anchored_tail_was_deleted(svc, case, clock, monkeypatch,
                                                                          database_url):
    assert run_cli(monkeypatch, database_url, "audit", "anchor").exit_code == 0
    tamper(svc, delete(AuditEvent).where(event_where(case, 5)))
    result = run_cli(monkeypatch, database_url, "audit", "verify")
    assert result.exit_code == 1
    assert f"case:{case}: events up to #5 were anchored" in result.output


# --- what the hashes cover -----------------------------------------------------------------------------
def test_events_with_sub_second_times_and_chinese_text_verify_after_a_database_round_trip(svc, case):
    with svc.db.read() as session:
        ats = session.execute(select(AuditEvent.at).where(AuditEvent.chain == f"case:{case}")).scalars().all()
    assert any(at.microsecond for at in ats)
    assert verify(svc).ok


def test_an_event_appended_with_a_shanghai_time_verifies(svc):
    with svc.db.write() as session:
        audit.append(session, chain="user:zhang", actor="zhang", action="user.login", object_type="user",
                     object_id=1, at=datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    assert verify(svc).ok, verify(svc).problems


def test_an_event_appended_with_a_utc_time_verifies(svc):
    with svc.db.write() as session:
        audit.append(session, chain="user:zhang", actor="zhang", action="user.login", object_type="user",
                     object_id=1, at=datetime(2026, 3, 2, 2, 0, 0, 999_999, tzinfo=timezone.utc),
                     after={"amount": "1234.50", "float": 0.1, "nested": {"b": 1, "a": [1, "二"]}})
    assert verify(svc).ok
