"""Discovery signals: stored once per (source, source_id), starting discovery when it is deployed."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine.actors import SYSTEM, Actor
from engine.casework import signals
from engine.casework.signals import Signal, SignalIn
from engine.errors import Conflict, NotAllowed, ValidationError
from engine.workflow import audit
from engine.workflow.models import ProcessInstance
from tests.engine.conftest import CASEWORKER, DESIGNER, OTHER_TOWNSHIP, VILLAGE

DISCOVERY = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="defs" targetNamespace="http://jishijiu.test/signals">
  <bpmn:process id="discovery" name="Discovery" isExecutable="true">
    <bpmn:laneSet id="lanes"><bpmn:lane id="lane" name="cw">
      <bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="role" value="caseworker"/></spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>check</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="check" name="check"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check"/>
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""

ASSISTANT = Actor("cun", "assistant", VILLAGE)


def meter(source_id: str = "WM-1", **changes) -> SignalIn:
    base = {"source": "water_meter", "source_id": source_id, "kind": "water_meter",
            "region_code": VILLAGE, "details": {"m3": "0.06", "hours": 12},
            "occurred_at": datetime(2026, 3, 2, 12, tzinfo=timezone.utc)}
    return SignalIn(**{**base, **changes})


def receive(services, signal: SignalIn, actor: Actor = ASSISTANT) -> signals.Received:
    return signals.receive(services.db, services.engine, signal, actor=actor, now=services.clock.now())


def test_a_signal_is_stored_once_per_source_and_source_id(services):
    first = receive(services, meter())
    again = receive(services, meter(details={"m3": "9"}), actor=CASEWORKER)
    assert not first.duplicate and again.duplicate
    assert again.signal == first.signal and first.signal.status == "received"
    assert receive(services, meter(source="other_vendor")).signal.id != first.signal.id


def test_the_database_refuses_a_second_row_for_one_source_id(services):
    receive(services, meter())
    with pytest.raises(IntegrityError):
        with services.db.write() as session:
            session.add(Signal(source="water_meter", source_id="WM-1", kind="water_meter",
                               region_code=VILLAGE, details={}, received_at=services.clock.now(),
                               received_by="x", status="received"))


def test_a_copy_that_loses_the_insert_race_answers_the_winner(services, monkeypatch):
    winner = receive(services, meter())
    real_find = signals._find
    calls = []

    def blind_once(session, source, source_id):  # as if the winner committed just after our look
        calls.append(source_id)
        return None if len(calls) == 1 else real_find(session, source, source_id)

    monkeypatch.setattr(signals, "_find", blind_once)
    loser = receive(services, meter())
    assert loser.duplicate and loser.signal.id == winner.signal.id and len(calls) == 2
    with services.db.read() as session:
        assert len(session.execute(select(Signal)).all()) == 1


def test_a_signal_starts_discovery_with_its_data(services):
    services.engine.deploy(DISCOVERY, "discovery.bpmn", actor=DESIGNER)
    received = receive(services, meter())
    assert received.signal.status == "started"
    case = services.engine.instance(received.signal.case_id, CASEWORKER)
    assert case.process == "discovery" and case.region_code == VILLAGE
    assert {k: case.data[k] for k in ("signal_kind", "source", "source_id", "details", "signal_id")} \
        == {"signal_kind": "water_meter", "source": "water_meter", "source_id": "WM-1",
            "details": {"m3": "0.06", "hours": 12}, "signal_id": received.signal.id}
    with services.db.read() as session:
        row = session.get(ProcessInstance, case.id)
        assert row.business_key == f"signal:{received.signal.id}"
        assert audit.verify(session, [signals.chain(received.signal.id)]).ok


def test_waiting_signals_start_once_discovery_is_deployed(services):
    waiting = receive(services, meter()).signal
    now = services.clock.now()
    assert signals.start_waiting(services.db, services.engine, now=now) == []
    services.engine.deploy(DISCOVERY, "discovery.bpmn", actor=DESIGNER)
    [started] = signals.start_waiting(services.db, services.engine, now=now)
    assert started.id == waiting.id and started.status == "started" and started.case_id
    assert signals.start_waiting(services.db, services.engine, now=now) == []


def test_only_reporters_of_the_region_store_signals(services):
    with pytest.raises(NotAllowed):
        receive(services, meter(), actor=Actor("wang", "approver", "370827"))
    with pytest.raises(NotAllowed):
        receive(services, meter(), actor=OTHER_TOWNSHIP)
    receive(services, meter(), actor=SYSTEM)
    with pytest.raises(Conflict):  # taken in a region this caseworker cannot see
        receive(services, meter(region_code="370827102201"), actor=OTHER_TOWNSHIP)


def test_a_bad_signal_names_every_field(services):
    with pytest.raises(ValidationError) as caught:
        receive(services, SignalIn(source="", source_id="x" * 200, kind="rumour", region_code="3708",
                                   details={"deep": [[[[[[[[[[[[[[[[[[["too deep"]]]]]]]]]]]]]]]]]]]},
                                   occurred_at=datetime(2026, 3, 2)))
    assert set(caught.value.fields) == {"source", "source_id", "kind", "region_code", "details",
                                        "occurred_at"}


def test_signals_are_listed_within_the_region(services):
    own = receive(services, meter("A")).signal
    receive(services, meter("B", region_code="370827102201"), actor=SYSTEM)
    with services.db.read() as session:
        views, total = signals.list_signals(session, actor=CASEWORKER)
        assert [v.id for v in views] == [own.id] and total == 1
        assert signals.list_signals(session, actor=CASEWORKER, kind="hotline_12345") == ([], 0)
