"""Deploying definitions: versions by content, running cases keep theirs, start-up never overrides a designer."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine import bootstrap
from engine.errors import DefinitionError
from engine.workflow.models import AuditEvent, ProcessDefinition
from tests.engine.conftest import APPROVER, BPMN, CASEWORKER, DESIGNER, VILLAGE, _gap, deploy

CASEWORK = (BPMN / "casework.bpmn").read_bytes()
SEED = {"people": ["a", "b"], "income": "0"}


def casework_v2() -> bytes:
    """The same process with new form keys: a visible difference between version 1 and 2."""
    return (CASEWORK.replace(b'value="test.investigation"', b'value="test.investigation.v2"')
            .replace(b'value="test.approval"', b'value="test.approval.v2"'))


def versions(services, key: str) -> list[int]:
    with services.db.read() as session:
        return list(session.execute(select(ProcessDefinition.version).where(ProcessDefinition.key == key)
                                    .order_by(ProcessDefinition.version)).scalars())


def deployments_audited(services, key: str) -> int:
    with services.db.read() as session:
        return session.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.chain == f"definition:{key}", AuditEvent.action == "definition.deployed")).scalar()


def _build(url, clock):
    svc = bootstrap.build({"DATABASE_URL": url, "TESTING": True, "CLOCK": clock})
    svc.services.register("test.gap", _gap)
    return svc


@pytest.fixture
def repo(database_url, clock):
    """The engine on each database (deploy-only tests need no instance-cache variants)."""
    svc = _build(database_url, clock)
    yield svc
    svc.close()


@pytest.fixture
def checker(sqlite_url, clock):
    """The engine on SQLite, for tests that only validate."""
    svc = _build(sqlite_url, clock)
    yield svc.engine
    svc.close()


# --- versions ---------------------------------------------------------------------------------------
def test_deploying_the_same_content_twice_keeps_one_version(repo):
    first = deploy(repo.engine, "casework.bpmn")
    again = deploy(repo.engine, "casework.bpmn")
    assert (first.created, again.created) == (True, False)
    assert again.definition.id == first.definition.id
    assert versions(repo, "casework") == [1]
    assert deployments_audited(repo, "casework") == 1


def test_changed_content_becomes_version_2(repo):
    deploy(repo.engine, "casework.bpmn")
    second = repo.engine.deploy(casework_v2(), "casework.bpmn", actor=DESIGNER)
    assert second.created and second.definition.version == 2
    assert versions(repo, "casework") == [1, 2]
    assert deployments_audited(repo, "casework") == 2


def test_a_whitespace_change_is_a_new_version_because_versions_follow_the_bytes(repo):
    deploy(repo.engine, "casework.bpmn")
    assert repo.engine.deploy(CASEWORK + b"\n", "casework.bpmn", actor=DESIGNER).definition.version == 2


def test_a_running_case_keeps_version_1_while_new_cases_start_on_version_2(services, engine):
    deploy(engine, "casework.bpmn")
    old = engine.start("casework", actor=CASEWORKER, region_code=VILLAGE, data=SEED)
    engine.deploy(casework_v2(), "casework.bpmn", actor=DESIGNER)
    new = engine.start("casework", actor=CASEWORKER, region_code=VILLAGE, data=SEED)

    assert (old.process_version, new.process_version) == (1, 2)
    assert old.open_tasks[0].form_key == "test.investigation"
    assert new.open_tasks[0].form_key == "test.investigation.v2"

    old_after = engine.complete(old.open_tasks[0].id, CASEWORKER, {"income": "400"})
    assert old_after.process_version == 1
    assert [t.form_key for t in old_after.open_tasks] == ["test.approval"]
    new_after = engine.complete(new.open_tasks[0].id, CASEWORKER, {"income": "400"})
    assert [t.form_key for t in new_after.open_tasks] == ["test.approval.v2"]
    assert engine.complete(old_after.open_tasks[0].id, APPROVER, {"approved": True}).status == "completed"


def test_an_explicit_version_can_still_be_started(repo):
    deploy(repo.engine, "casework.bpmn")
    repo.engine.deploy(casework_v2(), "casework.bpmn", actor=DESIGNER)
    case = repo.engine.start("casework", actor=CASEWORKER, region_code=VILLAGE, data=SEED, version=1)
    assert case.process_version == 1
    assert case.open_tasks[0].form_key == "test.investigation"


# --- start-up deployment never overrides a designer ---------------------------------------------------
def test_start_up_never_overrides_a_newer_version_deployed_from_the_browser(repo, tmp_path):
    processes = tmp_path / "processes"
    processes.mkdir()
    (processes / "casework.bpmn").write_bytes(CASEWORK)
    [first] = repo.engine.deploy_directory(processes)                          # first start-up: version 1
    browser = repo.engine.deploy(casework_v2(), "casework.bpmn", actor=DESIGNER)  # a designer's version 2

    [restart] = repo.engine.deploy_directory(processes)                        # restart with the old file
    assert (first.created, browser.definition.version, restart.created) == (True, 2, False)
    assert restart.definition.version == 1
    assert versions(repo, "casework") == [1, 2]
    case = repo.engine.start("casework", actor=CASEWORKER, region_code=VILLAGE, data=SEED)
    assert case.process_version == 2


def test_start_up_deploys_a_file_that_matches_no_stored_version(repo, tmp_path):
    repo.engine.deploy(CASEWORK, "casework.bpmn", actor=DESIGNER)
    (tmp_path / "casework.bpmn").write_bytes(casework_v2())
    [outcome] = repo.engine.deploy_directory(tmp_path)
    assert outcome.created and outcome.definition.version == 2


def test_a_browser_redeploy_of_an_old_file_is_a_new_version(repo):
    """Without skip_if_known (a designer's explicit deploy) going back is a new version, not a no-op."""
    repo.engine.deploy(CASEWORK, "casework.bpmn", actor=DESIGNER)
    repo.engine.deploy(casework_v2(), "casework.bpmn", actor=DESIGNER)
    back = repo.engine.deploy(CASEWORK, "casework.bpmn", actor=DESIGNER)
    assert back.created and back.definition.version == 3


# --- validation lists every problem -------------------------------------------------------------------
def line_of(data: bytes, needle: bytes) -> int:
    return data[: data.index(needle)].count(b"\n") + 1


def test_validate_lists_every_problem_with_its_element_and_line(checker):
    broken = (CASEWORK
              .replace(b'decimal(income) &lt; decimal("700")', b"income.__class__")
              .replace(b"reminded = True", b"import os"))
    problems = checker.validate(broken, "broken.bpmn")

    by_element = {p.element_id: p for p in problems}
    assert sorted(by_element) == ["f_yes", "note_reminder"]
    assert by_element["f_yes"].line == line_of(broken, b"income.__class__")
    assert by_element["note_reminder"].line == line_of(broken, b"<bpmn:script>import os")
    assert all(p.file == "broken.bpmn" for p in problems)
    assert "'.__class__' is not allowed" in by_element["f_yes"].message
    assert "import is not allowed" in by_element["note_reminder"].message
    assert str(by_element["f_yes"]).startswith(f"broken.bpmn:{by_element['f_yes'].line} [f_yes]: ")


def test_deploy_refuses_with_the_same_problems_that_validate_lists(repo):
    broken = CASEWORK.replace(b'value="3WD"', b'value="3 weeks"').replace(b'id="test.gap"', b'id="os.system"')
    problems = repo.engine.validate(broken, "broken.bpmn")
    with pytest.raises(DefinitionError) as refused:
        repo.engine.deploy(broken, "broken.bpmn", actor=DESIGNER)
    assert refused.value.problems == problems
    assert {p.element_id for p in problems} == {"investigate", "assess"}
    assert versions(repo, "casework") == []


def test_a_valid_file_has_no_problems(checker):
    assert checker.validate(CASEWORK, "casework.bpmn") == []


def test_only_a_designer_or_an_admin_may_deploy(checker):
    from engine.errors import NotAllowed

    with pytest.raises(NotAllowed):
        checker.deploy(CASEWORK, "casework.bpmn", actor=CASEWORKER)


def test_a_comment_inside_a_script_task_is_harmless(checker):
    commented = CASEWORK.replace(b'<bpmn:scriptTask id="prepare" name="\xe5\x87\x86\xe5\xa4\x87">',
                                 b'<bpmn:scriptTask id="prepare" name="\xe5\x87\x86\xe5\xa4\x87"><!-- members -->')
    assert commented != CASEWORK
    assert checker.validate(commented, "commented.bpmn") == []


# --- the Camunda dialect --------------------------------------------------------------------------------
CAMUNDA = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                  id="defs_camunda" targetNamespace="http://jishijiu.test/camunda"
                  exporter="Camunda Modeler" exporterVersion="5.20.0">
  <bpmn:process id="camunda_case" name="Camunda Modeler file" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="check" name="\xe6\xa0\xb8\xe6\x9f\xa5" camunda:formKey="test.check"
                   camunda:candidateGroups="caseworker">
      <bpmn:extensionElements>
        <camunda:properties><camunda:property name="dueIn" value="P3D"/></camunda:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:serviceTask id="notify" name="\xe9\x80\x9a\xe7\x9f\xa5" camunda:type="external"
                      camunda:topic="test.notify">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:exclusiveGateway id="gw" default="f_low">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f_high</bpmn:outgoing><bpmn:outgoing>f_low</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="f_high" sourceRef="gw" targetRef="approve">
      <bpmn:conditionExpression xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
        xsi:type="bpmn:tFormalExpression">decimal(amount) &gt; decimal("1000")</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_low" sourceRef="gw" targetRef="end"/>
    <bpmn:userTask id="approve" name="\xe5\xae\xa1\xe6\x89\xb9" camunda:formKey="test.approve"
                   camunda:candidateGroups="approver">
      <bpmn:extensionElements>
        <camunda:properties><camunda:property name="dueIn" value="2WD"/></camunda:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>f_high</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f_low</bpmn:incoming><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check"/>
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="notify"/>
    <bpmn:sequenceFlow id="f3" sourceRef="notify" targetRef="gw"/>
    <bpmn:sequenceFlow id="f4" sourceRef="approve" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_camunda_modeler_file_runs_with_its_form_keys_groups_due_times_and_external_topic(services, engine):
    called = []

    def notify(params, data, ctx):
        called.append((dict(params), data.get("amount"), ctx.instance.id))
        return {"notified": True}

    services.services.register("test.notify", notify)
    assert engine.validate(CAMUNDA, "camunda.bpmn") == []
    engine.deploy(CAMUNDA, "camunda.bpmn", actor=DESIGNER)

    case = engine.start("camunda_case", actor=CASEWORKER, region_code=VILLAGE)
    [check] = case.open_tasks
    assert (check.form_key, check.candidate_group) == ("test.check", "caseworker")
    assert check.due_at.isoformat() == "2026-03-05T02:00:00+00:00"   # P3D from Monday 10:00 Shanghai

    after = engine.complete(check.id, CASEWORKER, {"amount": "1500"})
    assert [c[1:] for c in called] == [("1500", case.id)]
    [approve] = after.open_tasks
    assert (approve.form_key, approve.candidate_group) == ("test.approve", "approver")
    assert approve.due_at.isoformat() == "2026-03-04T15:59:59+00:00"  # 2 working days, end of day
    done = engine.complete(approve.id, APPROVER, {"approved": True})
    assert done.status == "completed"


def test_a_camunda_candidate_group_that_is_no_role_is_refused(checker):
    checker.services.register("test.notify", lambda params, data, ctx: {})
    problems = checker.validate(CAMUNDA.replace(b'camunda:candidateGroups="approver"',
                                               b'camunda:candidateGroups="county-office"'), "camunda.bpmn")
    assert [(p.element_id, p.file) for p in problems] == [("approve", "camunda.bpmn")]
    assert "county-office" in problems[0].message


def test_a_camunda_external_topic_nobody_registered_is_refused(checker):
    problems = checker.validate(CAMUNDA, "camunda.bpmn")  # test.notify is not registered here
    assert [p.element_id for p in problems] == ["notify"]
    assert "unknown operation 'test.notify'" in problems[0].message


def test_an_expression_problem_names_its_element_once(checker):
    [problem] = checker.validate(CASEWORK.replace(b'decimal(income) &lt; decimal("700")', b"income.__class__"),
                                 "x.bpmn")
    assert str(problem).count("[f_yes]") == 1
