"""Inline SVG charts for the dashboard, drawn on the server: no script, no CDN.

Bars are laid out in percentages of the chart's width (text keeps its size on a phone and on a wide
screen, nothing is scaled); the heatmap has fixed cells and scrolls sideways on a small screen.
Each chart is an image with a title; the numbers behind it are always in a table next to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from markupsafe import Markup, escape

#: Series colours (programmes): dark blue first, then colours that stay apart for most colour vision.
PALETTE = ("#163a63", "#2f7d6d", "#b7791f", "#7b4ba0", "#8a97a8", "#c2410c", "#4d7fb8", "#5f6b7a")
#: Heatmap steps, from "a little late" to "very late" (white text from the fourth step on).
HEAT = ("#fde9c9", "#f8c78f", "#ee9a5c", "#d7603a", "#a8261a")
OK, LATE, BAR = "#1f7a4d", "#b42318", "#163a63"


def _n(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _title(title: str, ident: str) -> str:
    return f'<title id="{escape(ident)}">{escape(title)}</title>'


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str  # the value as shown
    part: float = 0.0  # a highlighted share of the value (e.g. overdue), drawn in red at the start
    href: str | None = None


def bars(items: Sequence[Bar], *, title: str, ident: str, colour: str = BAR) -> Markup:
    """Horizontal bars: the label and the number on one line, the bar under them."""
    if not items:
        return Markup("")
    top = max((b.value for b in items), default=0) or 1
    row = 42
    parts = [f'<svg class="chart chart-bars" role="img" aria-labelledby="{escape(ident)}" width="100%" '
             f'height="{row * len(items)}" xmlns="http://www.w3.org/2000/svg">', _title(title, ident)]
    for i, b in enumerate(items):
        y = i * row
        width = 100 * b.value / top
        part = 100 * min(b.part, b.value) / top
        label = f'<text x="0" y="{y + 14}" class="chart-label">{escape(b.label)}</text>'
        if b.href:
            label = f'<a href="{escape(b.href)}">{label}</a>'
        parts.append(f'<g class="bar">{label}'
                     f'<text x="100%" y="{y + 14}" text-anchor="end" class="chart-value">{escape(b.text)}</text>'
                     f'<rect x="0" y="{y + 20}" width="100%" height="12" rx="2" class="chart-track"/>'
                     f'<rect x="0" y="{y + 20}" width="{_n(width)}%" height="12" rx="2" fill="{colour}"/>'
                     + (f'<rect x="0" y="{y + 20}" width="{_n(part)}%" height="12" rx="2" fill="{LATE}"/>'
                        if part > 0 else "") + "</g>")
    parts.append("</svg>")
    return Markup("".join(parts))


def share(met: int, late: int, *, title: str, ident: str, labels: tuple[str, str]) -> Markup:
    """One bar split into on time (green) and late (red), with the percentages on it."""
    total = met + late
    if not total:
        return Markup("")
    a = 100 * met / total
    text_a = f"{labels[0]} {a:.0f}%"
    text_b = f"{labels[1]} {100 - a:.0f}%"
    return Markup(
        f'<svg class="chart chart-share" role="img" aria-labelledby="{escape(ident)}" width="100%" height="30" '
        f'xmlns="http://www.w3.org/2000/svg">{_title(title, ident)}'
        f'<rect x="0" y="0" width="{_n(a)}%" height="30" fill="{OK}"/>'
        f'<rect x="{_n(a)}%" y="0" width="{_n(100 - a)}%" height="30" fill="{LATE}"/>'
        + (f'<text x="8" y="20" class="chart-on">{escape(text_a)}</text>' if a >= 25 else "")
        + (f'<text x="100%" dx="-8" y="20" text-anchor="end" class="chart-on">{escape(text_b)}</text>'
           if 100 - a >= 25 else "")
        + "</svg>")


def columns(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], *, title: str,
            ident: str, totals: Sequence[str] = (), height: int = 160) -> Markup:
    """Vertical stacked columns (e.g. months), one colour per series, each column's total on top."""
    if not labels:
        return Markup("")
    sums = [sum(values[i] for _name, values in series) for i in range(len(labels))]
    top = max(sums, default=0) or 1
    slot = 100 / len(labels)
    base = height + 24
    parts = [f'<svg class="chart chart-columns" role="img" aria-labelledby="{escape(ident)}" width="100%" '
             f'height="{base + 22}" xmlns="http://www.w3.org/2000/svg">', _title(title, ident),
             f'<line x1="0" y1="{base}" x2="100%" y2="{base}" class="chart-axis"/>']
    for i, label in enumerate(labels):
        x = slot * i + slot * 0.18
        y = base
        for s, (_name, values) in enumerate(series):
            h = height * values[i] / top
            if h <= 0:
                continue
            y -= h
            parts.append(f'<rect x="{_n(x)}%" y="{_n(y)}" width="{_n(slot * 0.64)}%" height="{_n(h)}" '
                         f'fill="{PALETTE[s % len(PALETTE)]}"/>')
        if i < len(totals) and totals[i]:
            parts.append(f'<text x="{_n(slot * i + slot / 2)}%" y="{_n(y - 6)}" text-anchor="middle" '
                         f'class="chart-total">{escape(totals[i])}</text>')
        parts.append(f'<text x="{_n(slot * i + slot / 2)}%" y="{base + 16}" text-anchor="middle" '
                     f'class="chart-tick">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def heat_level(value: int, maximum: int) -> int:
    """0 for nothing overdue, else 1–5 in equal fifths of the largest cell (which is 5)."""
    if value <= 0 or maximum <= 0:
        return 0
    return max(1, min(len(HEAT), -(-len(HEAT) * value // maximum)))


@dataclass(frozen=True)
class HeatCell:
    value: int
    tasks: int
    text: str  # e.g. "12 工作日 / 3 件" for the tooltip


def heatmap(rows: Sequence[tuple[str, str | None]], columns_: Sequence[str],
            cells: dict[tuple[int, int], HeatCell], maximum: int, *, title: str, ident: str) -> Markup:
    """Rows (label, link) × columns; each cell coloured by its value and showing the number."""
    if not rows or not columns_:
        return Markup("")
    left, cw, ch, head = 112, 88, 34, 44
    width = left + cw * len(columns_)
    height = head + ch * len(rows)
    parts = [f'<svg class="chart chart-heat" role="img" aria-labelledby="{escape(ident)}" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
             _title(title, ident)]
    for j, name in enumerate(columns_):
        x = left + cw * j + cw / 2
        lines = _wrap(name, 6)[:2]
        for k, line in enumerate(lines):
            y = head - 8 - 16 * (len(lines) - 1 - k)
            parts.append(f'<text x="{_n(x)}" y="{y}" text-anchor="middle" class="chart-tick">'
                         f'{escape(line)}</text>')
    for i, (label, href) in enumerate(rows):
        y = head + ch * i
        text = (f'<text x="{left - 8}" y="{y + ch / 2 + 5:.0f}" text-anchor="end" class="chart-label">'
                f'{escape(label)}</text>')
        parts.append(f'<a href="{escape(href)}">{text}</a>' if href else text)
        for j in range(len(columns_)):
            cell = cells.get((i, j))
            value = cell.value if cell else 0
            level = heat_level(value, maximum)
            fill = HEAT[level - 1] if level else "#f3f5f7"
            x = left + cw * j
            tip = f"<title>{escape(cell.text)}</title>" if cell else ""
            parts.append(f'<g class="heat-cell heat-{level}"><rect x="{x + 1}" y="{y + 1}" width="{cw - 2}" '
                         f'height="{ch - 2}" fill="{fill}"/>{tip}')
            if cell:
                colour = "#fff" if level >= 4 else "#1f2933"
                parts.append(f'<text x="{x + cw / 2:.0f}" y="{y + ch / 2 + 5:.0f}" text-anchor="middle" '
                             f'class="heat-value" fill="{colour}">{value}</text>')
            parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))


def _wrap(text: str, width: int) -> list[str]:
    """Split a label into lines of about ``width`` wide characters (ASCII counts half)."""
    lines, line, used = [], "", 0.0
    for ch in text:
        w = 0.55 if ord(ch) < 128 else 1.0
        if used + w > width and line:
            lines.append(line)
            line, used = "", 0.0
        line += ch
        used += w
    if line:
        lines.append(line)
    if len(lines) > 2:
        lines = [lines[0], lines[1][:-1] + "…"]
    return lines


def heat_legend(maximum: int) -> list[tuple[int, str, int, int]]:
    """(level, colour, lowest, highest value) of each heatmap step in use."""
    steps = []
    for level in range(1, len(HEAT) + 1):
        lo = (level - 1) * maximum // len(HEAT) + 1
        hi = level * maximum // len(HEAT)
        if lo <= hi:
            steps.append((level, HEAT[level - 1], lo, hi))
    return steps
