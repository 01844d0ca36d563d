"""Filled template blocks → an A4 PDF with reportlab.

The font is reportlab's built-in CID font ``STSong-Light`` (Adobe-GB1): no font file ships with
the product and every PDF reader with the Adobe Asian fonts, or a substitute (pdf.js, poppler with
a CJK font, Foxit, WPS), shows it.  ``invariant`` output makes the bytes depend on the content only
(no creation time, no random id), so the same notice renders to the same sha256.
"""

from __future__ import annotations

import io
from typing import Sequence
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from engine.casework.documents.templates import Block

FONT = "STSong-Light"
_registered = False


def _font() -> str:
    global _registered
    if not _registered:
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
        _registered = True
    return FONT


def _styles() -> dict[str, ParagraphStyle]:
    font = _font()
    body = ParagraphStyle("body", fontName=font, fontSize=11.5, leading=19, wordWrap="CJK",
                          firstLineIndent=23, spaceAfter=6)
    return {
        "title": ParagraphStyle("title", fontName=font, fontSize=20, leading=28, alignment=TA_CENTER,
                                spaceAfter=6, wordWrap="CJK"),
        "number": ParagraphStyle("number", fontName=font, fontSize=11, leading=16, alignment=TA_CENTER,
                                 spaceAfter=10, wordWrap="CJK"),
        "paragraph": body,
        "first": ParagraphStyle("first", parent=body, firstLineIndent=0),
        "caption": ParagraphStyle("caption", fontName=font, fontSize=12, leading=18, spaceBefore=6,
                                  spaceAfter=4, wordWrap="CJK"),
        "cell": ParagraphStyle("cell", fontName=font, fontSize=10, leading=14, wordWrap="CJK"),
        "item": ParagraphStyle("item", parent=body, firstLineIndent=0, leftIndent=23, bulletIndent=6),
        "signature": ParagraphStyle("signature", fontName=font, fontSize=11.5, leading=20,
                                    alignment=TA_RIGHT, wordWrap="CJK"),
        "receipt": ParagraphStyle("receipt", fontName=font, fontSize=10, leading=15, spaceBefore=18,
                                  wordWrap="CJK"),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], style: ParagraphStyle, width: float,
           widths: Sequence[float] | None = None) -> Table:
    data = ([[_p(h, style) for h in header]] if header else []) + [[_p(c, style) for c in r] for r in rows]
    columns = len(data[0])
    table = Table(data, colWidths=widths or [width / columns] * columns, repeatRows=1 if header else 0)
    commands = [("GRID", (0, 0), (-1, -1), 0.5, colors.black), ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")))
    table.setStyle(TableStyle(commands))
    return table


def to_pdf(title: str, blocks: Sequence[Block], *, author: str = "jishijiu") -> bytes:
    styles = _styles()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=25 * mm, rightMargin=25 * mm, topMargin=25 * mm,
                            bottomMargin=22 * mm, title=title, author=author, invariant=1)
    width = doc.width
    story: list = []
    addressed = False
    for block in blocks:
        if block.caption and block.type not in ("table", "list", "facts"):
            story.append(_p(block.caption, styles["caption"]))
        if block.type in ("title", "number", "receipt"):
            story.append(_p(block.text, styles[block.type]))
        elif block.type == "paragraph":
            # the salutation ("某某户：") stands flush left, the body is indented
            story.append(_p(block.text, styles["paragraph" if addressed else "first"]))
            addressed = True
        elif block.type == "facts":
            if block.caption:
                story.append(_p(block.caption, styles["caption"]))
            story.append(_table((), block.rows, styles["cell"], width, (width * 0.32, width * 0.68)))
            story.append(Spacer(1, 8))
        elif block.type == "table":
            if block.caption:
                story.append(_p(block.caption, styles["caption"]))
            if block.rows:
                story.append(_table(block.header, block.rows, styles["cell"], width))
            else:
                story.append(_p("（无）", styles["first"]))
            story.append(Spacer(1, 8))
        elif block.type == "list":
            if block.caption:
                story.append(_p(block.caption, styles["caption"]))
            for i, (item,) in enumerate(block.rows, start=1):
                story.append(_p(f"{_numeral(i)}、{item}", styles["item"]))
        elif block.type == "signature":
            story.append(Spacer(1, 18))
            story.extend(_p(line, styles["signature"]) for (line,) in block.rows)
    doc.build(story)
    return buffer.getvalue()


_DIGITS = "〇一二三四五六七八九"


def _numeral(n: int) -> str:
    """1 → 一, 12 → 十二, 20 → 二十 (list numbering on Chinese official documents)."""
    if n < 10:
        return _DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _DIGITS[tens]) + "十" + (_DIGITS[ones] if ones else "") if n < 100 else str(n)
