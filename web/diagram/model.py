"""The diagram model: what a BPMN file draws, read from its BPMNDI (or laid out automatically)."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from lxml import etree

from engine.errors import DefinitionError, Problem
from engine.workflow.spiff.xmlsafe import parse_xml

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"

TASKS = {"task", "userTask", "manualTask", "serviceTask", "scriptTask", "sendTask", "receiveTask",
         "businessRuleTask", "callActivity", "subProcess", "transaction", "adHocSubProcess"}
EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway",
            "complexGateway"}
FLOW_NODES = TASKS | EVENTS | GATEWAYS
ARTIFACTS = {"dataObjectReference", "dataStoreReference", "textAnnotation", "group"}
CONTAINERS = {"participant", "lane"}
EDGES = {"sequenceFlow", "messageFlow", "association", "dataInputAssociation", "dataOutputAssociation"}
HUMAN = {"userTask", "manualTask", "task"}  # what the engine mirrors as human tasks
# automatic steps that always run on once reached (no waiting, no choice of branch)
PASS_THROUGH = {"scriptTask", "serviceTask", "businessRuleTask", "sendTask", "endEvent",
                "intermediateThrowEvent", "startEvent"}
BRANCHING = {"exclusiveGateway", "inclusiveGateway", "complexGateway"}

COL_W, ROW_H, BAND = 150, 110, 30  # layout grid; BAND is also the pool/lane title band
MAX_ELEMENTS = 5_000  # a drawing of more would help nobody; the cap keeps the layout cheap

FONT = '"PingFang SC","Microsoft YaHei","WenQuanYi Micro Hei","Noto Sans CJK SC",sans-serif'


# --------------------------------------------------------------------------- model

@dataclass
class Node:
    id: str
    tag: str
    name: str
    event: str | None = None  # timer | message | signal | error | escalation | conditional | terminate | ...
    attached_to: str | None = None
    incoming: list[str] = field(default_factory=list)
    outgoing: list[str] = field(default_factory=list)


@dataclass
class Shape:
    id: str
    tag: str
    name: str
    x: float
    y: float
    w: float
    h: float
    event: str | None = None
    label: tuple[float, float, float, float] | None = None
    expanded: bool = False
    gateway_marker: bool = True


@dataclass
class Edge:
    id: str
    tag: str
    name: str
    points: list[tuple[float, float]]
    source: str | None
    target: str | None
    label: tuple[float, float, float, float] | None = None
    default: bool = False


@dataclass
class Diagram:
    nodes: dict[str, Node]
    flows: dict[str, tuple[str, str]]  # sequence flow id -> (source, target)
    shapes: list[Shape]
    edges: list[Edge]
    laid_out: bool  # True when the file had no BPMNDI and we placed the shapes
    main_process: str | None


def _local(el) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _bpmn(el) -> bool:
    return isinstance(el.tag, str) and el.tag.startswith(f"{{{BPMN}}}")


def _event_kind(el) -> str | None:
    for child in el:
        name = _local(child)
        if name.endswith("EventDefinition"):
            return name[: -len("EventDefinition")]
    return None


def _text_of(el) -> str:
    if _local(el) == "textAnnotation":
        text = el.find(f"{{{BPMN}}}text")
        return (text.text or "").strip() if text is not None else ""
    return (el.get("name") or "").strip()


def read_diagram(xml: bytes, filename: str = "diagram.bpmn") -> Diagram:
    """Parse safely and collect nodes, flows, shapes and edges (laying out a file without DI)."""
    root = parse_xml(xml, filename).getroot()
    nodes: dict[str, Node] = {}
    flows: dict[str, tuple[str, str]] = {}
    elements: dict[str, etree._Element] = {}
    defaults: set[str] = set()
    for el in root.iter():
        if not _bpmn(el):
            continue
        el_id = el.get("id")
        if not el_id:
            continue
        elements[el_id] = el
        tag = _local(el)
        if tag in FLOW_NODES:
            nodes[el_id] = Node(el_id, tag, _text_of(el), _event_kind(el) if tag in EVENTS else None,
                                el.get("attachedToRef"))
            if el.get("default"):
                defaults.add(el.get("default"))
        elif tag == "sequenceFlow":
            flows[el_id] = (el.get("sourceRef") or "", el.get("targetRef") or "")
    for flow_id, (source, target) in flows.items():
        if source in nodes:
            nodes[source].outgoing.append(flow_id)
        if target in nodes:
            nodes[target].incoming.append(flow_id)

    if len(elements) > MAX_ELEMENTS:
        raise DefinitionError(Problem(filename, f"{len(elements):,} elements are too many to draw "
                                                f"(at most {MAX_ELEMENTS:,})"))
    main = _main_process(root)
    shapes, edges = _read_di(root, elements, defaults)
    laid_out = False
    if not shapes and main is not None:
        from web.diagram.layout import _auto_layout  # the layout imports the model

        shapes, edges = _auto_layout(root, main, nodes, flows, elements, defaults)
        laid_out = True
    return Diagram(nodes, flows, shapes, edges, laid_out, main.get("id") if main is not None else None)


def has_layout(xml: bytes) -> bool:
    """Whether the file carries its own diagram interchange (what bpmn-js needs to draw it)."""
    try:
        root = parse_xml(xml, "diagram.bpmn").getroot()
    except Exception:  # noqa: BLE001 - an unparseable file has no layout either
        return False
    return bool(root.findall(f".//{{{BPMNDI}}}BPMNShape"))


def _main_process(root):
    processes = root.findall(f"{{{BPMN}}}process")
    if not processes:
        return None
    executable = [p for p in processes if (p.get("isExecutable") or "true").lower() == "true"]
    return (executable or processes)[0]


def _bounds(el) -> tuple[float, float, float, float] | None:
    b = el.find(f"{{{DC}}}Bounds")
    if b is None:
        return None
    try:
        values = tuple(float(b.get(k, "0")) for k in ("x", "y", "width", "height"))
    except ValueError:
        return None
    if not all(math.isfinite(v) for v in values):
        return None
    return values  # type: ignore[return-value]


def _read_di(root, elements, defaults) -> tuple[list[Shape], list[Edge]]:
    plane = root.find(f".//{{{BPMNDI}}}BPMNPlane")
    if plane is None:
        return [], []
    shapes: list[Shape] = []
    edges: list[Edge] = []
    for di in plane:
        kind = _local(di)
        ref = di.get("bpmnElement") or ""
        el = elements.get(ref)
        if el is None:
            continue
        tag = _local(el)
        if kind == "BPMNShape":
            bounds = _bounds(di)
            if bounds is None:
                continue
            label_el = di.find(f"{{{BPMNDI}}}BPMNLabel")
            label = _bounds(label_el) if label_el is not None else None
            shapes.append(Shape(ref, tag, _text_of(el), *bounds,
                                event=_event_kind(el) if tag in EVENTS else None, label=label,
                                expanded=(di.get("isExpanded") or "").lower() == "true",
                                gateway_marker=(di.get("isMarkerVisible") or "true").lower() != "false"
                                or tag != "exclusiveGateway"))
        elif kind == "BPMNEdge":
            points = []
            for wp in di.findall(f"{{{DI}}}waypoint"):
                try:
                    x, y = float(wp.get("x", "nan")), float(wp.get("y", "nan"))
                except ValueError:
                    continue
                if math.isfinite(x) and math.isfinite(y):
                    points.append((x, y))
            if len(points) < 2:
                continue
            label_el = di.find(f"{{{BPMNDI}}}BPMNLabel")
            edges.append(Edge(ref, tag, _text_of(el), points, el.get("sourceRef"), el.get("targetRef"),
                              label=_bounds(label_el) if label_el is not None else None,
                              default=ref in defaults))
    # containers first so they are drawn underneath
    order = {"participant": 0, "lane": 1}
    shapes.sort(key=lambda s: order.get(s.tag, 2))
    return shapes, edges


# --------------------------------------------------------------------------- the path taken

def taken(diagram: Diagram, current: set[str], done: set[str]) -> tuple[set[str], set[str], set[str]]:
    """(done nodes, current nodes, done flows) with the automatic steps between them filled in."""
    nodes, flows = diagram.nodes, diagram.flows
    current = {n for n in current if n in nodes}
    done_nodes = {n for n in done if n in nodes} - current
    if not current and not done_nodes:
        return set(), set(), set()
    starts = {n for n, node in nodes.items() if node.tag == "startEvent" and not node.incoming
              and not node.attached_to}
    seeds = done_nodes | starts
    targets = done_nodes | current

    def automatic(n: str) -> bool:
        return nodes[n].tag not in HUMAN and nodes[n].tag not in {"callActivity", "subProcess",
                                                                     "boundaryEvent"}

    def walk(begin: set[str], forward: bool, stop: set[str]) -> set[str]:
        seen: set[str] = set()
        queue = deque(begin)
        while queue:
            n = queue.popleft()
            for f in (nodes[n].outgoing if forward else nodes[n].incoming):
                nxt = flows[f][1] if forward else flows[f][0]
                if nxt in nodes and nxt not in seen and nxt not in stop and automatic(nxt):
                    seen.add(nxt)
                    queue.append(nxt)
        return seen

    between = walk(seeds, True, targets) & walk(targets, False, seeds)

    def leads_to_targets(start: str) -> bool:
        reach = walk({start}, True, targets) | {start}
        return any(flows[f][1] in targets for n in reach for f in nodes[n].outgoing)

    result = done_nodes | {n for n in between if not (nodes[n].tag == "startEvent" and n not in starts)}
    result |= {s for s in starts if leads_to_targets(s)}
    result &= set(nodes)
    between = {n for n in between if n in result}
    # what follows a done node without a choice also ran (same transaction)
    queue = deque(sorted(result))
    while queue:
        n = queue.popleft()
        if nodes[n].tag in BRANCHING or nodes[n].tag == "parallelGateway":
            continue
        outs = nodes[n].outgoing
        if len(outs) != 1:
            continue
        nxt = flows[outs[0]][1]
        if nxt in nodes and nxt not in result and nxt not in current and (
                nodes[nxt].tag in PASS_THROUGH or nodes[nxt].tag in BRANCHING):
            result.add(nxt)
            queue.append(nxt)
    done_flows = {f for f, (s, t) in flows.items() if s in result and (t in result or t in current)}
    # a boundary event that fired is reached from its host, not by a flow
    return result, current, done_flows


