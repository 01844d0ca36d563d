"""Moving running cases to a new version: a preview first, nothing written by a preview, then the move."""

from __future__ import annotations

import pytest

from engine.errors import NotAllowed
from tests.engine.conftest import APPROVER, BPMN, CASEWORKER, DESIGNER, VILLAGE

V1 = (BPMN / "casework.bpmn").read_bytes()
V2 = V1.replace(b'<spiffworkflow:property name="dueIn" value="P10D"/>',
                b'<spiffworkflow:property name="dueIn" value="2WD"/>')
WITHOUT_INVESTIGATION = V1.replace(b'id="investigate" name="\xe5\x85\xa5\xe6\x88\xb7\xe8\xb0\x83\xe6\x9f\xa5"',
                                   b'id="investigate_v3" name="\xe5\x85\xa5\xe6\x88\xb7\xe8\xb0\x83\xe6\x9f\xa5"') \
    .replace(b">investigate<", b">investigate_v3<").replace(b'"investigate"', b'"investigate_v3"')


def _start(engine):
    engine.deploy(V1, "casework.bpmn", actor=DESIGNER)
    return engine.start("casework", actor=CASEWORKER, region_code=VILLAGE, data={"people": [1], "income": "0"})


def test_a_preview_shows_what_changes_and_writes_nothing(engine):
    case = _start(engine)
    engine.deploy(V2, "casework.bpmn", actor=DESIGNER)
    [preview] = engine.migrate([case.id], to_version=2, actor=DESIGNER, dry_run=True)
    assert preview["ok"] and not preview["migrated"]
    assert preview["current"] == ["expire", "investigate", "remind"]  # the task and its two timers
    assert "approve" in preview["changed"]
    after = engine.instance(case.id, CASEWORKER)
    assert (after.process_version, after.version) == (1, case.version)


def test_a_migrated_case_continues_on_the_new_version(engine):
    case = _start(engine)
    engine.deploy(V2, "casework.bpmn", actor=DESIGNER)
    [result] = engine.migrate([case.id], to_version=2, actor=DESIGNER, dry_run=False)
    assert result["migrated"]
    moved = engine.instance(case.id, CASEWORKER)
    assert moved.process_version == 2
    [task] = moved.open_tasks
    assert task.bpmn_id == "investigate" and task.id == case.open_tasks[0].id  # the open task stays
    after = engine.complete(task.id, CASEWORKER, {"income": "100"})
    [approval] = after.open_tasks
    # 2 working days (v2) after Monday 2026-03-02, not 10 days (v1)
    assert approval.due_at.isoformat() == "2026-03-04T15:59:59+00:00"
    assert engine.complete(approval.id, APPROVER, {}).status == "completed"


def test_a_case_waiting_at_a_removed_step_is_not_moved(engine):
    case = _start(engine)
    engine.deploy(WITHOUT_INVESTIGATION, "casework.bpmn", actor=DESIGNER)
    [result] = engine.migrate([case.id], to_version=2, actor=DESIGNER, dry_run=False)
    assert not result["migrated"] and not result["ok"]
    assert "investigate" in result["blocking"][0]
    assert engine.instance(case.id, CASEWORKER).process_version == 1


def test_only_designers_migrate(engine):
    case = _start(engine)
    with pytest.raises(NotAllowed):
        engine.migrate([case.id], to_version=1, actor=CASEWORKER)
