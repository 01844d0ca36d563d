"""A BPMN diagram as a self-contained SVG, drawn on the server from the file's BPMNDI.

Used by the case page (where the case is now and the path it took) and the designer pages, and by
the REST API for ``GET /api/v1/cases/{id}/diagram``.  The XML is parsed with the hardened parser
(no DTD, no entities, size and depth limits) and every text that reaches the SVG is escaped.
A file without diagram interchange (hand-written BPMN) is laid out automatically: columns by flow
order, rows by lane.

The path taken is inferred from what the engine records cheaply: ``done`` holds completed human
tasks and fired timers, ``current`` the open tasks (and pending intermediate timers).  Automatic
steps between them — script and service tasks, gateways, start and end events — run in the same
transaction as the step before them, so they are marked done when they lie on the way from one
recorded node to another, or follow a done node without a branch.
"""

from __future__ import annotations

import html
import math
from collections import deque
from dataclasses import dataclass, field

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import DefinitionError, Problem
from engine.workflow.spiff.xmlsafe import parse_xml

__all__ = ["render_svg", "case_positions", "has_layout", "Diagram", "read_diagram"]

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


# --------------------------------------------------------------------------- automatic layout

_SIZE = {"task": (100, 80), "event": (36, 36), "gateway": (50, 50)}
COL_W, ROW_H, BAND = 150, 110, 30


def _size(tag: str) -> tuple[int, int]:
    if tag in EVENTS:
        return _SIZE["event"]
    if tag in GATEWAYS:
        return _SIZE["gateway"]
    return _SIZE["task"]


def _auto_layout(root, process, nodes, flows, elements, defaults):
    members = [el.get("id") for el in process if _bpmn(el) and _local(el) in FLOW_NODES
               and _local(el) != "boundaryEvent" and el.get("id")]
    boundary = [el.get("id") for el in process if _bpmn(el) and _local(el) == "boundaryEvent"]
    member_set = set(members)

    def host(n: str) -> str:
        return nodes[n].attached_to if n in boundary and nodes[n].attached_to in member_set else n

    succ: dict[str, list[str]] = {n: [] for n in members}
    for source, target in flows.values():
        s, t = host(source) if source in nodes else source, target
        if s in succ and t in member_set:
            succ[s].append(t)

    # ranks: longest path over the graph without its back edges (found by depth-first search)
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}
    starts = [n for n in members if nodes[n].tag == "startEvent"] + \
             [n for n in members if not nodes[n].incoming]
    for seed in list(dict.fromkeys(starts + members)):
        if seed in state:
            continue
        stack = [(seed, iter(succ[seed]))]
        state[seed] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                back.add((node, nxt))
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(succ[nxt])))
    indeg = {n: 0 for n in members}
    for s in members:
        for t in succ[s]:
            if (s, t) not in back:
                indeg[t] += 1
    rank = {n: 0 for n in members}
    queue = deque(n for n in members if indeg[n] == 0)
    while queue:
        s = queue.popleft()
        for t in succ[s]:
            if (s, t) in back:
                continue
            rank[t] = max(rank[t], rank[s] + 1)
            indeg[t] -= 1
            if indeg[t] == 0:
                queue.append(t)

    # lanes (leaf lanes, in document order); nodes in no lane get a lane of their own
    lanes: list[tuple[str | None, str]] = []
    lane_of: dict[str, int] = {}
    for lane in process.iter(f"{{{BPMN}}}lane"):
        if lane.find(f"{{{BPMN}}}childLaneSet") is not None:
            continue
        lanes.append((lane.get("id"), (lane.get("name") or "").strip()))
        for ref in lane.findall(f"{{{BPMN}}}flowNodeRef"):
            lane_of.setdefault((ref.text or "").strip(), len(lanes) - 1)
    if any(n not in lane_of for n in members):
        lanes.append((None, ""))
        for n in members:
            lane_of.setdefault(n, len(lanes) - 1)

    participant = next((p for p in root.iter(f"{{{BPMN}}}participant")
                        if p.get("processRef") == process.get("id")), None)
    left = (BAND if participant is not None else 0) + (BAND if lanes and lanes[0][0] else 0) + 20
    # within a column the main flow comes first, then what boundary events lead to
    # the main flow takes the first rows of each lane; what boundary events lead to goes below it
    order: dict[str, int] = {}
    secondary: set[str] = set()
    queue = deque((n, False) for n in starts if n in member_set)
    while queue:
        n, minor = queue.popleft()
        if n in order:
            continue
        order[n] = len(order)
        if minor:
            secondary.add(n)
        queue.extend((flows[f][1], minor) for f in nodes[n].outgoing)
        queue.extend((flows[f][1], True) for b in boundary if nodes[b].attached_to == n
                     for f in nodes[b].outgoing)
        queue = deque((t, m) for t, m in queue if t in member_set)
    position = {n: i for i, n in enumerate(members)}
    members.sort(key=lambda n: order.get(n, len(order) + position[n]))
    cells: dict[tuple[int, int], list[str]] = {}
    for n in members:
        cells.setdefault((lane_of[n], rank[n]), []).append(n)
    main_rows = [max([sum(1 for n in v if n not in secondary) for (li, _r), v in cells.items()
                      if li == i] or [0]) for i in range(len(lanes))]
    row_of: dict[str, int] = {}
    for (li, _r), group in cells.items():
        primary = [n for n in group if n not in secondary]
        minor = [n for n in group if n in secondary]
        for i, n in enumerate(primary):
            row_of[n] = i
        for i, n in enumerate(minor):
            row_of[n] = main_rows[li] + i
    lane_rows = [max([row_of[n] + 1 for n in members if lane_of[n] == i] or [1]) for i in range(len(lanes))]
    width = left + (max(rank.values(), default=0) + 1) * COL_W + 20
    shapes: list[Shape] = []
    centers: dict[str, tuple[float, float]] = {}
    top = 0.0
    lane_tops = []
    for i, rows in enumerate(lane_rows):
        lane_tops.append(top)
        top += rows * ROW_H + 20
    height = top
    if participant is not None:
        shapes.append(Shape(participant.get("id"), "participant", _text_of(participant), 0, 0, width, height))
    lane_x = BAND if participant is not None else 0
    for i, (lane_id, name) in enumerate(lanes):
        if lane_id is not None or len(lanes) > 1:
            shapes.append(Shape(lane_id or "_unassigned", "lane", name, lane_x, lane_tops[i],
                                width - lane_x, lane_rows[i] * ROW_H + 20))
    for (li, r), group in cells.items():
        for n in group:
            row = row_of[n]
            w, h = _size(nodes[n].tag)
            cx = left + r * COL_W + COL_W / 2
            cy = lane_tops[li] + 10 + row * ROW_H + ROW_H / 2
            centers[n] = (cx, cy)
            shapes.append(Shape(n, nodes[n].tag, nodes[n].name, cx - w / 2, cy - h / 2, w, h,
                                event=nodes[n].event))
    box = {s.id: s for s in shapes}
    per_host: dict[str, int] = {}
    for b in boundary:
        h_id = nodes[b].attached_to
        if h_id not in box:
            continue
        hs = box[h_id]
        i = per_host.get(h_id, 0)
        per_host[h_id] = i + 1
        bx = hs.x + hs.w - 30 - i * 60
        by = hs.y + hs.h - 18
        shapes.append(Shape(b, "boundaryEvent", nodes[b].name, bx, by, 36, 36, event=nodes[b].event))
        centers[b] = (bx + 18, by + 18)
    box = {s.id: s for s in shapes}

    edges: list[Edge] = []
    for flow_id, (source, target) in flows.items():
        if source not in box or target not in box or box[source].tag in CONTAINERS:
            continue
        s, t = box[source], box[target]
        tx, ty = t.x, t.y + t.h / 2
        if s.tag == "boundaryEvent":
            sx, sy = s.x + s.w / 2, s.y + s.h
            if tx > sx:
                points = [(sx, sy), (sx, ty), (tx, ty)] if ty > sy else [(sx, sy), (sx, sy + 15), (tx - 15, sy + 15), (tx - 15, ty), (tx, ty)]
            else:
                below = max(sy, t.y + t.h) + 15
                points = [(sx, sy), (sx, below), (t.x + t.w / 2, below), (t.x + t.w / 2, t.y + t.h)]
        else:
            sx, sy = s.x + s.w, s.y + s.h / 2
            if s.tag in GATEWAYS and tx >= sx and abs(sy - ty) >= 0.5 and not _blocked(
                    shapes, s.x + s.w / 2, sy, ty, {source, target}):
                # leave a gateway by its lower or upper corner, so branches do not share a line
                cx = s.x + s.w / 2
                cy = s.y + s.h if ty > sy else s.y
                points = [(cx, cy), (cx, ty), (tx, ty)]
            elif tx >= sx:
                if abs(sy - ty) < 0.5:
                    points = [(sx, sy), (tx, ty)]
                else:
                    mx = tx - 20 if t.tag not in GATEWAYS else (sx + tx) / 2
                    mx = max(mx, sx + 10)
                    points = [(sx, sy), (mx, sy), (mx, ty), (tx, ty)]
            else:  # a flow going back: under both shapes
                below = max(s.y + s.h, t.y + t.h) + 15
                points = [(s.x + s.w / 2, s.y + s.h), (s.x + s.w / 2, below),
                          (t.x + t.w / 2, below), (t.x + t.w / 2, t.y + t.h)]
        edges.append(Edge(flow_id, "sequenceFlow", _text_of(elements[flow_id]), points, source, target,
                          default=flow_id in defaults))
    return shapes, edges


def _blocked(shapes: list[Shape], x: float, y1: float, y2: float, skip: set[str]) -> bool:
    """Whether a vertical line at ``x`` from ``y1`` to ``y2`` would cross a flow node."""
    low, high = min(y1, y2), max(y1, y2)
    return any(s.x - 4 <= x <= s.x + s.w + 4 and s.y < high and s.y + s.h > low
               for s in shapes if s.tag not in CONTAINERS and s.id not in skip)


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


# --------------------------------------------------------------------------- SVG

def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _n(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _char_w(ch: str, size: float) -> float:
    o = ord(ch)
    if o >= 0x2E80:
        return size
    if ch in "il.,:;'|!":
        return size * 0.3
    if ch.isupper() or ch in "mwMW":
        return size * 0.7
    return size * 0.55


def _wrap(text: str, width: float, size: float = 12, max_lines: int = 4) -> list[str]:
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line, w = "", 0.0
        for word in _tokens(paragraph):
            ww = sum(_char_w(c, size) for c in word)
            if w + ww > width and line.strip():
                lines.append(line.rstrip())
                line, w = word.lstrip(), sum(_char_w(c, size) for c in word.lstrip())
                while w > width and len(line) > 1:  # a long word: break it
                    cut, cw = "", 0.0
                    for c in line:
                        if cw + _char_w(c, size) > width:
                            break
                        cut, cw = cut + c, cw + _char_w(c, size)
                    lines.append(cut)
                    line = line[len(cut):]
                    w = sum(_char_w(c, size) for c in line)
            else:
                line, w = line + word, w + ww
        lines.append(line.rstrip())
    lines = [ln for ln in lines if ln] or []
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][:-1] + "…"
    return lines


def _tokens(text: str) -> list[str]:
    """Latin words stay whole (with their trailing space); each CJK character is its own token."""
    out, word = [], ""
    for c in text:
        if ord(c) >= 0x2E80:
            if word:
                out.append(word)
                word = ""
            out.append(c)
        elif c == " ":
            out.append(word + " ")
            word = ""
        else:
            word += c
    if word:
        out.append(word)
    return out


def _text(lines: list[str], cx: float, cy: float, size: float = 12, cls: str = "label",
          anchor: str = "middle", transform: str = "") -> str:
    if not lines:
        return ""
    lh = size * 1.25
    y0 = cy - (len(lines) - 1) * lh / 2 + size * 0.35
    spans = "".join(f'<tspan x="{_n(cx)}" y="{_n(y0 + i * lh)}">{_e(t)}</tspan>'
                    for i, t in enumerate(lines))
    tr = f' transform="{transform}"' if transform else ""
    return f'<text class="{cls}" text-anchor="{anchor}" font-size="{_n(size)}"{tr}>{spans}</text>'


STYLE = f"""
.bpmn-svg {{ font-family: {FONT}; }}
.bpmn-svg .label {{ fill: #1f2933; }}
.bpmn-svg .container rect {{ fill: none; stroke: #7b8794; stroke-width: 1; }}
.bpmn-svg .container .band {{ fill: #f3f5f7; }}
.bpmn-svg .container text {{ fill: #3e4c59; font-weight: 600; }}
.bpmn-svg .node .body {{ fill: #ffffff; stroke: #3e4c59; stroke-width: 1.5; }}
.bpmn-svg .node.endEvent .body {{ stroke-width: 3.5; }}
.bpmn-svg .node .mark {{ fill: none; stroke: #3e4c59; stroke-width: 1.3; }}
.bpmn-svg .node .fill {{ fill: #3e4c59; stroke: none; }}
.bpmn-svg .node.done .body {{ fill: #e3f1e8; stroke: #1f7a4d; }}
.bpmn-svg .node.done .mark {{ stroke: #1f7a4d; }}
.bpmn-svg .node.done .fill {{ fill: #1f7a4d; }}
.bpmn-svg .node.current .body {{ fill: #fff1c2; stroke: #b45309; stroke-width: 3; }}
.bpmn-svg .node.current .halo {{ fill: none; stroke: #b45309; stroke-width: 1.5; stroke-dasharray: 4 3; }}
.bpmn-svg .node.waiting .body {{ stroke: #b45309; stroke-width: 2; stroke-dasharray: 3 2; }}
.bpmn-svg .node .tick {{ fill: #1f7a4d; }}
.bpmn-svg .edge path {{ fill: none; stroke: #52606d; stroke-width: 1.3; }}
.bpmn-svg .edge.messageFlow path {{ stroke-dasharray: 6 4; }}
.bpmn-svg .edge.association path, .bpmn-svg .edge.dataInputAssociation path,
.bpmn-svg .edge.dataOutputAssociation path {{ stroke-dasharray: 2 3; }}
.bpmn-svg .edge.done path {{ stroke: #1f7a4d; stroke-width: 2.6; }}
.bpmn-svg .artifact {{ fill: #fff; stroke: #7b8794; stroke-width: 1; }}
.bpmn-svg .group {{ fill: none; stroke: #7b8794; stroke-dasharray: 8 4 2 4; }}
"""


def _marker(shape: Shape, cls: str) -> str:
    """The small type glyph in a task's corner, or the symbol inside an event / gateway."""
    x, y, w, h = shape.x, shape.y, shape.w, shape.h
    t = shape.tag
    if t == "userTask":
        return (f'<circle class="mark" cx="{_n(x + 14)}" cy="{_n(y + 11)}" r="4"/>'
                f'<path class="mark" d="M{_n(x + 6)},{_n(y + 24)} q0,-8 8,-8 q8,0 8,8 z"/>')
    if t == "serviceTask":
        return (f'<circle class="mark" cx="{_n(x + 14)}" cy="{_n(y + 14)}" r="6" stroke-dasharray="2.4 1.6"'
                f' stroke-width="3"/><circle class="mark" cx="{_n(x + 14)}" cy="{_n(y + 14)}" r="2.5"/>')
    if t == "scriptTask":
        return (f'<path class="mark" d="M{_n(x + 8)},{_n(y + 6)} h12 q-4,6 0,12 q4,6 0,12 h-12 q4,-6 0,-12 q-4,-6 0,-12 z'
                f' M{_n(x + 11)},{_n(y + 12)} h6 M{_n(x + 11)},{_n(y + 18)} h6 M{_n(x + 11)},{_n(y + 24)} h6"/>')
    if t == "manualTask":
        return f'<path class="mark" d="M{_n(x + 7)},{_n(y + 20)} v-8 h12 v8 z M{_n(x + 10)},{_n(y + 12)} v-4 h6 v4"/>'
    if t == "businessRuleTask":
        return (f'<rect class="mark" x="{_n(x + 7)}" y="{_n(y + 7)}" width="16" height="12"/>'
                f'<path class="mark" d="M{_n(x + 7)},{_n(y + 11)} h16 M{_n(x + 12)},{_n(y + 11)} v8"/>')
    if t in ("sendTask", "receiveTask"):
        fill = "fill" if t == "sendTask" else "mark"
        return (f'<rect class="{fill}" x="{_n(x + 7)}" y="{_n(y + 8)}" width="16" height="11"/>'
                f'<path class="mark" d="M{_n(x + 7)},{_n(y + 8)} l8,6 l8,-6"/>')
    if t in ("subProcess", "callActivity", "transaction", "adHocSubProcess") and not shape.expanded:
        cx, by = x + w / 2, y + h - 14
        return (f'<rect class="mark" x="{_n(cx - 6)}" y="{_n(by - 2)}" width="12" height="12"/>'
                f'<path class="mark" d="M{_n(cx - 3)},{_n(by + 4)} h6 M{_n(cx)},{_n(by + 1)} v6"/>')
    if t in GATEWAYS:
        cx, cy = x + w / 2, y + h / 2
        if t == "exclusiveGateway" and shape.gateway_marker:
            return f'<path class="mark" stroke-width="3" d="M{_n(cx - 8)},{_n(cy - 8)} l16,16 M{_n(cx + 8)},{_n(cy - 8)} l-16,16"/>'
        if t == "parallelGateway":
            return f'<path class="mark" stroke-width="3" d="M{_n(cx)},{_n(cy - 11)} v22 M{_n(cx - 11)},{_n(cy)} h22"/>'
        if t == "inclusiveGateway":
            return f'<circle class="mark" stroke-width="2.5" cx="{_n(cx)}" cy="{_n(cy)}" r="10"/>'
        if t == "eventBasedGateway":
            return (f'<circle class="mark" cx="{_n(cx)}" cy="{_n(cy)}" r="11"/>'
                    f'<circle class="mark" cx="{_n(cx)}" cy="{_n(cy)}" r="8"/>')
        if t == "complexGateway":
            return (f'<path class="mark" stroke-width="3" d="M{_n(cx)},{_n(cy - 11)} v22 M{_n(cx - 11)},{_n(cy)} h22'
                    f' M{_n(cx - 8)},{_n(cy - 8)} l16,16 M{_n(cx + 8)},{_n(cy - 8)} l-16,16"/>')
        return ""
    if t in EVENTS and shape.event:
        cx, cy, r = x + w / 2, y + h / 2, min(w, h) / 2
        k = shape.event
        if k == "timer":
            rr = r * 0.62
            ticks = "".join(
                f"M{_n(cx + rr * 0.75 * math.cos(a))},{_n(cy + rr * 0.75 * math.sin(a))} "
                f"L{_n(cx + rr * math.cos(a))},{_n(cy + rr * math.sin(a))} "
                for a in (i * math.pi / 6 for i in range(12)))
            return (f'<circle class="mark" cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(rr)}"/>'
                    f'<path class="mark" d="{ticks}M{_n(cx)},{_n(cy)} L{_n(cx)},{_n(cy - rr * 0.65)} '
                    f'M{_n(cx)},{_n(cy)} L{_n(cx + rr * 0.45)},{_n(cy + rr * 0.1)}"/>')
        if k == "message":
            filled = "fill" if shape.tag in ("endEvent", "intermediateThrowEvent") else "mark"
            return (f'<rect class="{filled}" x="{_n(cx - r * 0.5)}" y="{_n(cy - r * 0.35)}" width="{_n(r)}" height="{_n(r * 0.7)}"/>'
                    f'<path class="mark" d="M{_n(cx - r * 0.5)},{_n(cy - r * 0.35)} L{_n(cx)},{_n(cy + r * 0.05)} L{_n(cx + r * 0.5)},{_n(cy - r * 0.35)}"/>')
        if k == "signal":
            return f'<path class="mark" d="M{_n(cx)},{_n(cy - r * 0.5)} L{_n(cx + r * 0.45)},{_n(cy + r * 0.35)} L{_n(cx - r * 0.45)},{_n(cy + r * 0.35)} z"/>'
        if k == "terminate":
            return f'<circle class="fill" cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r * 0.55)}"/>'
        if k == "error":
            return (f'<path class="mark" d="M{_n(cx - r * 0.45)},{_n(cy + r * 0.45)} L{_n(cx - r * 0.2)},{_n(cy - r * 0.4)} '
                    f'L{_n(cx + r * 0.1)},{_n(cy + r * 0.1)} L{_n(cx + r * 0.45)},{_n(cy - r * 0.45)} '
                    f'L{_n(cx + r * 0.2)},{_n(cy + r * 0.4)} L{_n(cx - r * 0.1)},{_n(cy - r * 0.1)} z"/>')
        if k == "escalation":
            return f'<path class="mark" d="M{_n(cx)},{_n(cy - r * 0.5)} L{_n(cx + r * 0.35)},{_n(cy + r * 0.45)} L{_n(cx)},{_n(cy + r * 0.1)} L{_n(cx - r * 0.35)},{_n(cy + r * 0.45)} z"/>'
        if k == "conditional":
            return (f'<rect class="mark" x="{_n(cx - r * 0.4)}" y="{_n(cy - r * 0.5)}" width="{_n(r * 0.8)}" height="{_n(r)}"/>'
                    f'<path class="mark" d="M{_n(cx - r * 0.25)},{_n(cy - r * 0.2)} h{_n(r * 0.5)} M{_n(cx - r * 0.25)},{_n(cy + r * 0.15)} h{_n(r * 0.5)}"/>')
    return ""


def _shape_svg(shape: Shape, state: str | None) -> str:
    x, y, w, h = shape.x, shape.y, shape.w, shape.h
    t = shape.tag
    name = shape.name
    title = f"<title>{_e(name + ' (' + shape.id + ')' if name else shape.id)}</title>"
    if t in CONTAINERS:
        horizontal = w >= h
        parts = [f'<g class="container {t}" data-element-id="{_e(shape.id)}">{title}',
                 f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}"/>']
        if horizontal and name:
            parts.append(f'<rect class="band" x="{_n(x + 0.5)}" y="{_n(y + 0.5)}" width="{_n(BAND - 1)}" height="{_n(h - 1)}"/>'
                         f'<path d="M{_n(x + BAND)},{_n(y)} v{_n(h)}" stroke="#7b8794"/>')
            cx, cy = x + BAND / 2, y + h / 2
            parts.append(_text(_wrap(name, h - 10, 12, 2), cx, cy, 12, "label",
                               transform=f"rotate(-90 {_n(cx)} {_n(cy)})"))
        elif name:
            parts.append(_text(_wrap(name, w - 10, 12, 2), x + w / 2, y + 15, 12))
        parts.append("</g>")
        return "".join(parts)
    if t in ARTIFACTS:
        if t == "textAnnotation":
            return (f'<g class="artifact-g" data-element-id="{_e(shape.id)}">{title}'
                    f'<path class="artifact" fill="none" d="M{_n(x + 10)},{_n(y)} h-10 v{_n(h)} h10"/>'
                    + _text(_wrap(name, w - 8, 11, 6), x + 5, y + h / 2, 11, anchor="start") + "</g>")
        if t == "group":
            return (f'<g data-element-id="{_e(shape.id)}">{title}<rect class="group" rx="8" x="{_n(x)}" y="{_n(y)}"'
                    f' width="{_n(w)}" height="{_n(h)}"/></g>')
        if t == "dataStoreReference":
            body = (f'<path class="artifact" d="M{_n(x)},{_n(y + 8)} a{_n(w / 2)},8 0 0 0 {_n(w)},0 '
                    f'a{_n(w / 2)},8 0 0 0 {_n(-w)},0 v{_n(h - 16)} a{_n(w / 2)},8 0 0 0 {_n(w)},0 v{_n(-(h - 16))}"/>')
        else:
            body = (f'<path class="artifact" d="M{_n(x)},{_n(y)} h{_n(w - 10)} l10,10 v{_n(h - 10)} h{_n(-w)} z'
                    f' M{_n(x + w - 10)},{_n(y)} v10 h10"/>')
        label = _text(_wrap(name, 100, 11, 2), x + w / 2, y + h + 14, 11)
        return f'<g data-element-id="{_e(shape.id)}">{title}{body}{label}</g>'

    classes = ["node", t] + ([state] if state else [])
    parts = [f'<g class="{" ".join(classes)}" data-element-id="{_e(shape.id)}">{title}']
    if state == "current":
        parts.append(f'<rect class="halo" rx="12" x="{_n(x - 6)}" y="{_n(y - 6)}" width="{_n(w + 12)}" height="{_n(h + 12)}"/>')
    label_lines: list[str] = []
    if t in EVENTS:
        cx, cy, r = x + w / 2, y + h / 2, min(w, h) / 2
        parts.append(f'<circle class="body" cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r)}"/>')
        if t in ("intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"):
            parts.append(f'<circle class="mark" cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r - 3)}"/>')
        parts.append(_marker(shape, state or ""))
        label_lines = _wrap(name, 54 if t == "boundaryEvent" else 100, 11, 3)
    elif t in GATEWAYS:
        cx, cy = x + w / 2, y + h / 2
        parts.append(f'<path class="body" d="M{_n(cx)},{_n(y)} L{_n(x + w)},{_n(cy)} L{_n(cx)},{_n(y + h)} L{_n(x)},{_n(cy)} z"/>')
        parts.append(_marker(shape, state or ""))
        label_lines = _wrap(name, 110, 11, 3)
    else:
        thick = ' stroke-width="4"' if t == "callActivity" else ""
        parts.append(f'<rect class="body" rx="10" x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}"{thick}/>')
        if t == "transaction":
            parts.append(f'<rect class="mark" rx="7" x="{_n(x + 3)}" y="{_n(y + 3)}" width="{_n(w - 6)}" height="{_n(h - 6)}"/>')
        parts.append(_marker(shape, state or ""))
        if shape.expanded:
            parts.append(_text(_wrap(name, w - 16, 12, 2), x + 8, y + 16, 12, anchor="start"))
        else:
            parts.append(_text(_wrap(name, w - 14, 12, 4), x + w / 2, y + h / 2, 12))
        if state == "done":
            parts.append(f'<circle class="tick" cx="{_n(x + w - 10)}" cy="{_n(y + 10)}" r="7"/>'
                         f'<path d="M{_n(x + w - 13.5)},{_n(y + 10)} l2.5,2.5 l4.5,-5" stroke="#fff" '
                         f'stroke-width="1.8" fill="none"/>')
    if label_lines:
        if shape.label is not None:
            lx, ly, lw, lh = shape.label
            lines = _wrap(name, max(lw, 60), 11, 3)
            parts.append(_text(lines, lx + lw / 2, ly + lh / 2, 11))
        else:
            below = y + h + 8 + len(label_lines) * 7
            if t == "boundaryEvent":  # under the event, right of its outgoing flow
                lh = 11 * 1.25
                parts.append(_text(label_lines, x + w / 2 + 4, y + h + 8 + (len(label_lines) - 1) * lh / 2,
                                   11, anchor="start"))
            elif t in GATEWAYS:  # above the diamond: branches leave by its lower corner
                parts.append(_text(label_lines, x + w / 2, y - 6 - len(label_lines) * 7, 11))
            else:
                parts.append(_text(label_lines, x + w / 2, below, 11))
    parts.append("</g>")
    return "".join(parts)


def _edge_svg(edge: Edge, done: bool, prefix: str) -> str:
    d = "M" + " L".join(f"{_n(px)},{_n(py)}" for px, py in edge.points)
    cls = ["edge", edge.tag] + (["done"] if done else [])
    head = ""
    if edge.tag == "sequenceFlow":
        head = f' marker-end="url(#{prefix}-arrow{"-done" if done else ""})"'
    elif edge.tag == "messageFlow":
        head = f' marker-end="url(#{prefix}-open)"'
    elif edge.tag == "dataInputAssociation" or edge.tag == "dataOutputAssociation":
        head = f' marker-end="url(#{prefix}-open)"'
    parts = [f'<g class="{" ".join(cls)}" data-element-id="{_e(edge.id)}"><path d="{d}"{head}/>']
    if edge.default and len(edge.points) >= 2:
        (x1, y1), (x2, y2) = edge.points[0], edge.points[1]
        length = math.hypot(x2 - x1, y2 - y1) or 1
        ux, uy = (x2 - x1) / length, (y2 - y1) / length
        mx, my = x1 + ux * 10, y1 + uy * 10
        parts.append(f'<path d="M{_n(mx - 5 * ux + 5 * uy)},{_n(my - 5 * uy - 5 * ux)} '
                     f'L{_n(mx + 5 * ux - 5 * uy)},{_n(my + 5 * uy + 5 * ux)}"/>')
    if edge.name:
        if edge.label is not None:
            lx, ly, lw, lh = edge.label
            parts.append(_text(_wrap(edge.name, max(lw, 60), 11, 3), lx + lw / 2, ly + lh / 2, 11))
        else:
            i = max(0, len(edge.points) // 2 - 1)
            (x1, y1), (x2, y2) = edge.points[i], edge.points[i + 1]
            parts.append(_text(_wrap(edge.name, 90, 11, 2), (x1 + x2) / 2, (y1 + y2) / 2 - 8, 11))
    parts.append("</g>")
    return "".join(parts)


def _extent(diagram: Diagram) -> tuple[float, float, float, float]:
    xs: list[float] = []
    ys: list[float] = []
    for s in diagram.shapes:
        xs += [s.x, s.x + s.w]
        ys += [s.y - (40 if s.tag in GATEWAYS and s.name and not s.label else 0),
               s.y + s.h + (40 if s.tag in EVENTS | GATEWAYS and s.name else 0)]
        if s.label:
            xs += [s.label[0], s.label[0] + s.label[2]]
            ys += [s.label[1], s.label[1] + s.label[3]]
    for e in diagram.edges:
        xs += [p[0] for p in e.points]
        ys += [p[1] for p in e.points]
    if not xs:
        return 0, 0, 200, 80
    pad = 16
    return min(xs) - pad, min(ys) - pad, max(xs) - min(xs) + 2 * pad, max(ys) - min(ys) + 2 * pad


def render_diagram(diagram: Diagram, *, current: set[str], done: set[str], infer: bool = True,
                   id_prefix: str = "bpmn", title: str | None = None) -> str:
    if infer:
        done_nodes, current_nodes, done_flows = taken(diagram, set(current), set(done))
    else:
        current_nodes = set(current)
        done_nodes = set(done) - current_nodes
        done_flows = {f for f, (s, t) in diagram.flows.items()
                      if s in done_nodes and (t in done_nodes or t in current_nodes)}
    prefix = "".join(c for c in id_prefix if c.isalnum() or c in "-_") or "bpmn"
    x, y, w, h = _extent(diagram)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="bpmn-svg" role="img" '
           f'viewBox="{_n(x)} {_n(y)} {_n(w)} {_n(h)}" width="{_n(w)}" height="{_n(h)}"'
           f' data-laid-out="{"true" if diagram.laid_out else "false"}">']
    if title:
        out.append(f"<title>{_e(title)}</title>")
    out.append(f"<style>{STYLE}</style>")
    out.append("<defs>")
    for suffix, color in (("", "#52606d"), ("-done", "#1f7a4d")):
        out.append(f'<marker id="{prefix}-arrow{suffix}" viewBox="0 0 10 10" refX="9.5" refY="5" '
                   f'markerWidth="10" markerHeight="10" markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
                   f'<path d="M0,0 L10,5 L0,10 z" fill="{color}"/></marker>')
    out.append(f'<marker id="{prefix}-open" viewBox="0 0 10 10" refX="9.5" refY="5" markerWidth="10" '
               f'markerHeight="10" markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10" fill="none" '
               f'stroke="#52606d"/></marker>')
    out.append("</defs>")
    containers = [s for s in diagram.shapes if s.tag in CONTAINERS]
    others = [s for s in diagram.shapes if s.tag not in CONTAINERS]
    out.append('<g class="containers">' + "".join(_shape_svg(s, None) for s in containers) + "</g>")
    out.append('<g class="edges">' + "".join(_edge_svg(e, e.id in done_flows, prefix)
                                            for e in diagram.edges) + "</g>")
    shapes_svg = []
    for s in sorted(others, key=lambda s: (s.tag == "boundaryEvent", s.tag not in ARTIFACTS)):
        state = None
        if s.id in current_nodes:
            state = "waiting" if s.tag == "boundaryEvent" else "current"
        elif s.id in done_nodes:
            state = "done"
        shapes_svg.append(_shape_svg(s, state))
    out.append('<g class="shapes">' + "".join(shapes_svg) + "</g>")
    out.append("</svg>")
    return "".join(out)


def render_svg(xml: bytes, *, current: set[str], done: set[str]) -> str:
    """The diagram of ``xml`` as SVG text, ``current`` and ``done`` element ids highlighted.

    Raises :class:`engine.errors.DefinitionError` when the XML is unsafe or malformed.
    """
    return render_diagram(read_diagram(xml), current=current, done=done)


# --------------------------------------------------------------------------- where a case is

def case_positions(session: Session, instance_id: int) -> tuple[set[str], set[str]]:
    """(current, done) BPMN ids of a case from the task and timer tables — no workflow loading."""
    from engine.workflow.models import HumanTask, Timer

    current: set[str] = set()
    done: set[str] = set()
    for bpmn_id, status in session.execute(select(HumanTask.bpmn_id, HumanTask.status).where(
            HumanTask.instance_id == instance_id)):
        if status == "open":
            current.add(bpmn_id)
        elif status == "completed":
            done.add(bpmn_id)
    for bpmn_id, status in session.execute(select(Timer.bpmn_id, Timer.status).where(
            Timer.instance_id == instance_id)):
        if status == "pending":
            current.add(bpmn_id)
        elif status == "fired":
            done.add(bpmn_id)
    return current, done - current
