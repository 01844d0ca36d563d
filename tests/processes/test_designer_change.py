"""A process designer changes a time limit and adds a step: new cases follow version 2, a case that
was already running keeps version 1 and finishes on it (DESIGN decision 2)."""

from __future__ import annotations

import copy

from lxml import etree

from engine.workflow.definitions import DeployOutcome
from tests.processes.conftest import (
    DESIGNER, PROCESSES, RENCHENG_COMMUNITY, approver, at, at_the_line, caseworker, create_household, start,
)
from tests.processes.test_definitions import NS

BPMN = NS["bpmn"]
SPIFF = NS["spiffworkflow"]


def version_2() -> bytes:
    """What a designer does in the modeller: the written refusal gets 5 working days instead of 3,
    and the county reviews every refusal before the notice goes out (a new step, drawn too)."""
    root = etree.parse(str(PROCESSES / "application.bpmn")).getroot()
    notice = root.xpath("//bpmn:userTask[@id='refusal_notice']", namespaces=NS)[0]
    for prop in notice.xpath(".//spiffworkflow:property[@name='dueIn' or @name='sla']", namespaces=NS):
        prop.set("value", "5WD")
    [process] = root.xpath("./bpmn:process", namespaces=NS)
    [flow] = root.xpath("//bpmn:sequenceFlow[@sourceRef='decide_refused']", namespaces=NS)
    flow.set("targetRef", "refusal_review")
    step = etree.SubElement(process, f"{{{BPMN}}}userTask", id="refusal_review", name="复核不予批准")
    etree.SubElement(step, f"{{{BPMN}}}documentation").text = "县级复核每一件不予批准的决定（设计者新增）。"
    ext = etree.SubElement(step, f"{{{BPMN}}}extensionElements")
    props = etree.SubElement(ext, f"{{{SPIFF}}}properties")
    etree.SubElement(props, f"{{{SPIFF}}}property", name="formKey", value="application.refusal_review")
    etree.SubElement(props, f"{{{SPIFF}}}property", name="dueIn", value="2WD")
    etree.SubElement(step, f"{{{BPMN}}}incoming").text = flow.get("id")
    etree.SubElement(step, f"{{{BPMN}}}outgoing").text = "f_refusal_review_notice"
    etree.SubElement(process, f"{{{BPMN}}}sequenceFlow", id="f_refusal_review_notice",
                     sourceRef="refusal_review", targetRef="refusal_notice")
    lane = root.xpath("//bpmn:lane[@id='lane_approver']", namespaces=NS)[0]
    ref = etree.Element(f"{{{BPMN}}}flowNodeRef")
    ref.text = "refusal_review"
    lane.xpath("bpmn:flowNodeRef", namespaces=NS)[-1].addnext(ref)
    plane = root.xpath("//bpmndi:BPMNPlane", namespaces=NS)[0]
    template = root.xpath("//bpmndi:BPMNShape[@bpmnElement='confirm']", namespaces=NS)[0]
    shape = copy.deepcopy(template)
    shape.set("id", "refusal_review_di")
    shape.set("bpmnElement", "refusal_review")
    bounds = shape.find("dc:Bounds", NS)
    bounds.set("y", str(float(bounds.get("y")) + 260))
    plane.append(shape)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def refused_case(services):
    region = RENCHENG_COMMUNITY
    household_id = create_household(services, at_the_line(region))
    case = start(services, "application", household_id, region)
    case.complete("accept", caseworker(region), {"accepted": True})
    case.complete("info_check", approver(region))
    case.complete("investigate", caseworker(region), {"investigators": ["甲", "乙"]})
    case.complete("opinion", caseworker(region))
    return case


def test_a_changed_time_limit_and_a_new_step_apply_to_new_cases_only(services, engine):
    region = RENCHENG_COMMUNITY
    running = refused_case(services)                                   # on version 1, at confirmation
    assert running.view().process_version == 1

    data = version_2()
    assert engine.validate(data, "application.bpmn") == []
    outcome: DeployOutcome = engine.deploy(data, "application.bpmn", actor=DESIGNER)
    assert outcome.created and outcome.definition.version == 2

    running.complete("confirm", approver(region), {"confirmed": True})
    assert running.open_ids() == ["refusal_notice"]                    # no new step on version 1
    assert running.task("refusal_notice").due_at == at("2026-03-05 23:59:59")  # still 3 WD
    running.complete("refusal_notice", caseworker(region))
    running.complete("marginal_consent", caseworker(region), {"marginal_consent": True})
    assert running.status == "completed" and running.view().process_version == 1

    new = refused_case(services)
    assert new.view().process_version == 2
    new.complete("confirm", approver(region), {"confirmed": True})
    review = new.task("refusal_review")                                # the designer's new step
    assert review.candidate_group == "approver"
    new.complete("refusal_review", approver(region), {"upheld": True})
    assert new.task("refusal_notice").due_at == at("2026-03-09 23:59:59")  # now 5 WD
    assert ("书面告知不予批准理由", "5WD", "running") in new.clocks()


def test_restarting_does_not_put_the_shipped_file_back_over_the_designers_version(services, engine):
    from engine import bootstrap

    engine.deploy(version_2(), "application.bpmn", actor=DESIGNER)
    outcomes = {o.definition.key: o for o in bootstrap.deploy_processes(services)}
    assert outcomes["application"].created is False
    region = RENCHENG_COMMUNITY
    case = start(services, "application", create_household(services, at_the_line(region)), region)
    assert case.view().process_version == 2
