"""Every file in processes/ is a valid, deployable, drawable BPMN 2.0 process of the closed loop."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from engine import bootstrap
from engine.actors import ROLES
from tests.processes.conftest import PROCESS_KEYS, PROCESSES

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "dc": "http://www.omg.org/spec/DD/20100524/DC", "di": "http://www.omg.org/spec/DD/20100524/DI",
      "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
FLOW_NODES = ("startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
              "userTask", "manualTask", "serviceTask", "scriptTask", "task", "sendTask", "receiveTask",
              "callActivity", "subProcess", "exclusiveGateway", "parallelGateway", "inclusiveGateway",
              "eventBasedGateway")
TASKS = ("userTask", "manualTask", "serviceTask", "scriptTask", "task")
FILES = sorted(PROCESSES.glob("*.bpmn"))


def tree(path: Path):
    return etree.parse(str(path))


def nodes(root, tags=FLOW_NODES):
    return [n for tag in tags for n in root.xpath(f"//bpmn:process//bpmn:{tag}", namespaces=NS)]


def bounds(root) -> dict[str, tuple[float, float, float, float]]:
    out = {}
    for shape in root.xpath("//bpmndi:BPMNShape", namespaces=NS):
        b = shape.find("dc:Bounds", NS)
        out[shape.get("bpmnElement")] = tuple(float(b.get(k)) for k in ("x", "y", "width", "height"))
    return out


@pytest.fixture(scope="module")
def validator(tmp_path_factory):
    """One engine with every plugin and engine operation registered (validation checks operations)."""
    from engine import migrate

    path = tmp_path_factory.mktemp("validate") / "v.db"
    migrate.upgrade(f"sqlite:///{path}")
    svc = bootstrap.build({"DATABASE_URL": f"sqlite:///{path}", "TESTING": True})
    yield svc.engine
    svc.close()


def test_the_closed_loop_is_exactly_the_seven_process_keys():
    keys = {tree(f).getroot().xpath("./bpmn:process/@id", namespaces=NS)[0]: f.stem for f in FILES}
    assert sorted(keys) == sorted(PROCESS_KEYS)
    assert all(key == stem for key, stem in keys.items())


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_process_validates_against_the_engine(validator, path):
    assert validator.validate(path.read_bytes(), path.name) == []


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_flow_node_lane_and_pool_is_drawn_and_every_flow_has_waypoints_on_its_ends(path):
    root = tree(path).getroot()
    shapes = bounds(root)
    elements = [n.get("id") for n in nodes(root)]
    elements += root.xpath("//bpmn:lane/@id | //bpmn:participant/@id", namespaces=NS)
    assert [e for e in elements if e not in shapes] == []
    [plane] = root.xpath("//bpmndi:BPMNPlane", namespaces=NS)
    assert plane.get("bpmnElement") == root.xpath("//bpmn:collaboration/@id", namespaces=NS)[0]
    edges = {e.get("bpmnElement"): e for e in root.xpath("//bpmndi:BPMNEdge", namespaces=NS)}
    for flow in root.xpath("//bpmn:sequenceFlow", namespaces=NS):
        points = [(float(w.get("x")), float(w.get("y"))) for w in edges[flow.get("id")].findall("di:waypoint", NS)]
        assert len(points) >= 2, flow.get("id")
        for point, end in ((points[0], flow.get("sourceRef")), (points[-1], flow.get("targetRef"))):
            x, y, w, h = shapes[end]
            assert x - 1 <= point[0] <= x + w + 1 and y - 1 <= point[1] <= y + h + 1, (flow.get("id"), end)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_lanes_are_stacked_inside_the_pool_and_every_node_is_drawn_inside_its_lane(path):
    root = tree(path).getroot()
    shapes = bounds(root)
    [pool] = root.xpath("//bpmn:participant/@id", namespaces=NS)
    px, py, pw, ph = shapes[pool]
    lanes = root.xpath("//bpmn:lane", namespaces=NS)
    boxes = sorted(shapes[lane.get("id")] for lane in lanes)
    top = py
    for x, y, w, h in sorted(boxes, key=lambda b: b[1]):
        assert y == top and x > px and x + w == px + pw  # stacked without gaps, full width
        top = y + h
    assert top == py + ph
    for lane in lanes:
        lx, ly, lw, lh = shapes[lane.get("id")]
        for ref in lane.xpath("bpmn:flowNodeRef/text()", namespaces=NS):
            x, y, w, h = shapes[ref]
            centre = (x + w / 2, y + h / 2)
            assert lx <= centre[0] <= lx + lw and ly <= centre[1] <= ly + lh, (lane.get("id"), ref)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_node_is_in_one_lane_and_every_lane_names_a_role(path):
    root = tree(path).getroot()
    members = root.xpath("//bpmn:lane/bpmn:flowNodeRef/text()", namespaces=NS)
    assert sorted(members) == sorted(n.get("id") for n in nodes(root))
    for lane in root.xpath("//bpmn:lane", namespaces=NS):
        role = lane.xpath(".//spiffworkflow:property[@name='role']/@value", namespaces=NS)
        assert role and role[0] in ROLES, lane.get("id")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_the_process_its_lanes_and_every_task_have_a_chinese_name_and_documentation(path):
    root = tree(path).getroot()
    [process] = root.xpath("./bpmn:process", namespaces=NS)
    for element in [process, *root.xpath("//bpmn:lane", namespaces=NS), *nodes(root, TASKS)]:
        name = element.get("name") or ""
        assert any("\u4e00" <= ch <= "\u9fff" for ch in name), element.get("id")
        doc = element.findtext("bpmn:documentation", namespaces=NS) or ""
        assert doc.strip(), f"{element.get('id')} has no documentation"
    docs = "".join(process.xpath("./bpmn:documentation/text()", namespaces=NS))
    assert "[" in docs  # the legal source tags of DOMAIN.md ([N], [S0]…, [A])


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_no_event_based_gateways_and_no_completion_conditions(path):
    """SPIFFWORKFLOW_NOTES §3 and §6: both are unreliable in SpiffWorkflow 3.2."""
    root = tree(path).getroot()
    assert root.xpath("//bpmn:eventBasedGateway | //bpmn:completionCondition", namespaces=NS) == []


def test_the_processes_deploy_at_start_up_once(services):
    again = bootstrap.deploy_processes(services)
    assert sorted(o.definition.key for o in again) == sorted(PROCESS_KEYS)
    assert not any(o.created for o in again)
    assert {o.definition.version for o in again} == {1}
