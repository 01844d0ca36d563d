"""Drawing a diagram as a self-contained, escaped SVG."""

from __future__ import annotations

import html
import math

from web.diagram.model import (ARTIFACTS, BAND, CONTAINERS, Diagram, EVENTS, Edge, FONT, GATEWAYS, Shape, read_diagram, taken)





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


