"""Automatic layout for BPMN without diagram interchange: columns by flow order, rows by lane."""

from __future__ import annotations

from collections import deque

from web.diagram.model import (BAND, BPMN, COL_W, CONTAINERS, ROW_H, EVENTS, Edge, FLOW_NODES, GATEWAYS, Shape, _bpmn, _local, _text_of)





# --------------------------------------------------------------------------- automatic layout

_SIZE = {"task": (100, 80), "event": (36, 36), "gateway": (50, 50)}


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


