"""web.diagram: SVG from BPMNDI (or an automatic layout), the path taken, safe text."""

from __future__ import annotations

import pytest
from lxml import etree

from engine.errors import DefinitionError
from web.diagram import case_positions, read_diagram, render_svg, taken
from tests.web.pages.conftest import BPMN, CASEWORK, actor_of

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str):
    return etree.fromstring(svg.encode("utf-8"))


def node(tree, element_id: str):
    [found] = tree.xpath(f"//*[@data-element-id='{element_id}']")
    return found


def classes(tree, element_id: str) -> set[str]:
    return set(node(tree, element_id).get("class").split())


def test_shapes_and_edges_come_from_the_bpmndi():
    tree = parse(render_svg((BPMN / "relief.bpmn").read_bytes(), current=set(), done=set()))
    assert tree.get("data-laid-out") == "false"
    body = node(tree, "intake").find(f"{SVG}rect[@class='body']")
    assert (body.get("x"), body.get("y"), body.get("width"), body.get("height")) == ("320", "120", "100", "80")
    path = node(tree, "f_big").find(f"{SVG}path").get("d")
    assert path == "M500,185 L500,330 L600,330"
    texts = "".join(tree.itertext())
    for label in ("受理登记", "县级审核", "临时救助（测试）", "超过", "未超过", "已救助"):
        assert label in texts


def test_current_and_done_are_marked_and_the_automatic_steps_between_them_filled_in():
    xml = CASEWORK.read_bytes()
    done, current, flows = taken(read_diagram(xml), {"approve"}, {"investigate"})
    assert current == {"approve"}
    assert done == {"start", "prepare", "investigate", "gw_income", "assess"}
    assert flows == {"f1", "f2", "f3", "f_yes", "f4"}
    tree = parse(render_svg(xml, current={"approve"}, done={"investigate"}))
    assert "current" in classes(tree, "approve")
    assert "done" in classes(tree, "assess")
    assert "done" not in classes(tree, "end_refused")
    assert "done" in classes(tree, "f_yes") and "done" not in classes(tree, "f_no")


def test_a_finished_case_reaches_its_end_event():
    done, _current, _flows = taken(read_diagram(CASEWORK.read_bytes()), set(), {"investigate", "approve"})
    assert {"approve", "end_approved"} <= done


def test_a_fired_reminder_marks_its_branch():
    done, current, _flows = taken(read_diagram(CASEWORK.read_bytes()), {"investigate"}, {"remind"})
    assert current == {"investigate"}
    assert {"start", "prepare", "remind", "note_reminder", "end_reminded"} <= done
    assert "gw_income" not in done


def test_a_file_without_bpmndi_is_laid_out_by_lanes():
    diagram = read_diagram(CASEWORK.read_bytes())
    assert diagram.laid_out
    shapes = {s.id: s for s in diagram.shapes}
    lane_caseworker, lane_approver = shapes["lane_caseworker"], shapes["lane_approver"]
    assert lane_caseworker.y + lane_caseworker.h <= lane_approver.y
    assert lane_approver.y <= shapes["approve"].y < lane_approver.y + lane_approver.h
    assert shapes["start"].x < shapes["prepare"].x < shapes["investigate"].x < shapes["gw_income"].x
    remind, host = shapes["remind"], shapes["investigate"]
    assert host.x <= remind.x + remind.w / 2 <= host.x + host.w  # on the host's border
    assert remind.y < host.y + host.h < remind.y + remind.h


def test_text_is_escaped_and_the_svg_stays_well_formed():
    xml = (BPMN / "relief.bpmn").read_bytes().replace(
        'name="受理登记"'.encode(), 'name="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; 登记"'.encode())
    svg = render_svg(xml, current={"intake"}, done=set())
    assert "<script" not in svg
    assert "&lt;script&gt;" in svg
    tree = parse(svg)
    assert '<script>alert("x")</script> & 登记' in "".join(node(tree, "intake").itertext())


def test_unsafe_xml_is_refused():
    evil = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "y">]><d>&x;</d>'
    with pytest.raises(DefinitionError):
        render_svg(evil, current=set(), done=set())


def test_long_names_wrap_inside_their_task():
    xml = (BPMN / "relief.bpmn").read_bytes().replace(
        'name="乡镇审批"'.encode(), ('name="' + "很长的任务名称" * 6 + '"').encode())
    tree = parse(render_svg(xml, current=set(), done=set()))
    spans = node(tree, "town_approve").findall(f".//{SVG}tspan")
    assert 2 <= len(spans) <= 4
    assert spans[-1].text.endswith("…")


def test_case_positions_read_the_task_and_timer_tables(world):
    engine = world.services.engine
    with world.services.db.read() as db:
        current, done = case_positions(db, world.case_id)
    assert current == {"investigate", "remind", "expire"}  # the task and its two boundary timers
    assert done == set()
    engine.complete(world.task_id, actor_of("zhang"), {"income": "650"})
    with world.services.db.read() as db:
        current, done = case_positions(db, world.case_id)
    assert (current, done) == ({"approve"}, {"investigate"})
    tree = parse(render_svg(CASEWORK.read_bytes(), current=current, done=done))
    assert "current" in classes(tree, "approve")
    assert "waiting" not in "".join(n.get("class") for n in tree.xpath("//*[@class]"))


def test_a_huge_file_is_not_drawn():
    flows = "".join(f'<bpmn:task id="t{i}"/>' for i in range(6000))
    xml = (f'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">'
           f'<bpmn:process id="p">{flows}</bpmn:process></bpmn:definitions>').encode()
    with pytest.raises(DefinitionError, match="too many"):
        render_svg(xml, current=set(), done=set())
