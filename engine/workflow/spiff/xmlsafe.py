"""Hardened XML parsing for BPMN uploads.

SpiffWorkflow parses with lxml's default parser; an old lxml read local files through external
entities (see SPIFFWORKFLOW_NOTES §8).  Every BPMN document therefore passes through this module
first: no DTD, no entities, no network, bounded size, depth and element count.  A DOCTYPE is refused
outright — BPMN never needs one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from engine.errors import DefinitionError, Problem


@dataclass(frozen=True)
class XmlLimits:
    max_bytes: int = 5 * 1024 * 1024
    max_depth: int = 64
    max_elements: int = 50_000


DEFAULT_LIMITS = XmlLimits()

_XINCLUDE = "{http://www.w3.org/200"  # 2001/XInclude and 2003/XInclude
_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.IGNORECASE)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
        recover=False,
    )


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def parse_xml(data: bytes | str, filename: str, limits: XmlLimits = DEFAULT_LIMITS) -> etree._ElementTree:
    """Parse untrusted XML or raise :class:`DefinitionError` naming the file (and line)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > limits.max_bytes:
        raise DefinitionError(Problem(
            filename, f"file is {len(data):,} bytes; the limit is {limits.max_bytes:,} bytes"))
    if not data.strip():
        raise DefinitionError(Problem(filename, "file is empty"))
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DefinitionError(Problem(filename, "file is binary, not BPMN XML"))
    if data.count(b"<") > 2 * limits.max_elements:
        # refuse before lxml builds a huge tree: every element needs at least one '<'
        raise DefinitionError(Problem(
            filename, f"more than {limits.max_elements:,} XML elements"))
    match = _DOCTYPE.search(data)
    if match:
        raise DefinitionError(Problem(
            filename, f"a <!{match.group(1).decode()}> declaration is not allowed in BPMN "
                      "(DTDs and entities are refused for safety)",
            line=_line_of(data, match.start())))
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else None
        raise DefinitionError(Problem(filename, f"not well-formed XML: {exc.msg}", line=line)) from None
    except (ValueError, MemoryError, RecursionError) as exc:
        raise DefinitionError(Problem(filename, f"cannot be parsed as XML: {exc}")) from None
    tree = root.getroottree()
    if tree.docinfo.doctype:
        raise DefinitionError(Problem(filename, "a DOCTYPE is not allowed in BPMN"))
    _check_shape(root, filename, limits)
    return tree


def _check_shape(root: etree._Element, filename: str, limits: XmlLimits) -> None:
    count = 0
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        count += 1
        if count > limits.max_elements:
            raise DefinitionError(Problem(
                filename, f"more than {limits.max_elements:,} XML elements", line=element.sourceline))
        if depth > limits.max_depth:
            raise DefinitionError(Problem(
                filename, f"XML nested deeper than {limits.max_depth} levels",
                element_id=element.get("id"), line=element.sourceline))
        if isinstance(element.tag, str) and element.tag.startswith(_XINCLUDE):
            raise DefinitionError(Problem(filename, "XInclude is not allowed in BPMN",
                                          line=element.sourceline))
        if isinstance(element, etree._Entity):
            raise DefinitionError(Problem(filename, "entity references are not allowed",
                                          line=element.sourceline))
        stack.extend((child, depth + 1) for child in element)
