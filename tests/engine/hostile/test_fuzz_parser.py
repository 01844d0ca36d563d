"""Fuzzing parse_definition: whatever bytes arrive, the only failure is a DefinitionError naming the file."""

from __future__ import annotations

import os
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from engine.errors import DefinitionError
from engine.workflow.calendar import BusinessCalendar
from engine.workflow.durations import parse_due
from engine.workflow.expressions import SafeEvaluator, is_iso_literal
from engine.workflow.spiff.parser import Checks, parse_definition
from tests.engine.hostile.documents import camunda_bpmn, valid_bpmn

# ``JISHIJIU_FUZZ_EXAMPLES=5000`` runs a longer fuzz by hand; the suite keeps 200 per test.
FUZZ = settings(max_examples=int(os.environ.get("JISHIJIU_FUZZ_EXAMPLES", "200")), deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
START = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)
SEEDS = [valid_bpmn().encode(), camunda_bpmn().encode(),
         open(__file__.replace("hostile/test_fuzz_parser.py", "bpmn/casework.bpmn"), "rb").read()]


@pytest.fixture(scope="module")
def checks() -> Checks:
    """The checks the engine runs at deploy time (expressions, timers, dueIn, operations, roles)."""
    calendar = BusinessCalendar()
    evaluator = SafeEvaluator({"now": lambda: START, "workdays_after": calendar.workdays_after})
    return Checks(check_expression=lambda src, mode, el: evaluator.check(src, mode=mode, element_id=el),
                  is_literal_timer=is_iso_literal, check_due=lambda spec: parse_due(spec, START, calendar),
                  operations=["test.gap"])


def only_definition_errors(data: bytes, checks: Checks) -> None:
    try:
        parse_definition(data, "fuzz.bpmn", checks)
        event("accepted")
    except DefinitionError as exc:
        event("refused: " + _stage(exc.problems[0].message if exc.problems else ""))
        assert exc.problems, "a DefinitionError must list its problems"
        assert all(p.file == "fuzz.bpmn" for p in exc.problems)
        assert "fuzz.bpmn" in str(exc)


def _stage(message: str) -> str:
    for prefix, stage in (("not well-formed", "xml"), ("BPMN schema", "schema"), ("file is", "size/binary"),
                          ("a <!", "doctype"), ("the root", "root")):
        if message.startswith(prefix):
            return stage
    return "engine checks"


@st.composite
def mutated_bpmn(draw) -> bytes:
    """A valid document with a few byte-level or text-level mutations."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "delete", "insert", "duplicate", "text", "swap-quote"]))
        at = draw(st.integers(0, len(data) - 1)) if data else 0
        if kind == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 64))]
        elif kind == "insert":
            snippets = st.sampled_from([
                b"<", b">", b"&", b"&amp;", b"<!--", b"]]>", b"<![CDATA[", b"\x00", b"\xff", b"\xc0\xaf",
                b"</bpmn:process>", b"<bpmn:userTask id='x'/>", b"__import__('os')", b"9**9**9", b"'",
                b'"', b"<!DOCTYPE x>", b"<?pi?>", b"xmlns:bpmn='urn:x'", b"&#0;", b"\r\n",
            ])
            data[at:at] = draw(snippets if draw(st.booleans()) else st.binary(min_size=1, max_size=32))
        elif kind == "duplicate" and data:
            end = min(len(data), at + draw(st.integers(1, 256)))
            data[at:at] = data[at:end]
        elif kind == "text":
            # replace the text of an expression-bearing element with arbitrary text
            for tag in (b"<bpmn:conditionExpression>", b"<bpmn:script>", b"<bpmn:timeDuration>",
                        b"<bpmn:loopCardinality>"):
                start = data.find(tag)
                if start >= 0 and draw(st.booleans()):
                    start += len(tag)
                    end = data.find(b"<", start)
                    text = draw(st.text(max_size=80)).replace("<", "&lt;").replace("&", "&amp;")
                    data[start:end] = text.encode("utf-8", "surrogatepass")
        elif kind == "swap-quote" and data:
            index = data.find(b'"', at)
            if index >= 0:
                data[index:index + 1] = b"'"
    return bytes(data)


BPMN_TAGS = ["userTask", "scriptTask", "serviceTask", "manualTask", "task", "startEvent", "endEvent",
             "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "boundaryEvent",
             "intermediateCatchEvent", "callActivity", "subProcess", "sequenceFlow", "lane", "laneSet",
             "timerEventDefinition", "messageEventDefinition", "multiInstanceLoopCharacteristics",
             "standardLoopCharacteristics", "conditionExpression", "script", "documentation"]


@st.composite
def tree_mutated_bpmn(draw) -> bytes:
    """A valid document changed as a tree (still well-formed XML), so the later checks get exercised."""
    from lxml import etree

    root = etree.fromstring(draw(st.sampled_from(SEEDS)))
    ids = [e.get("id") for e in root.iter() if isinstance(e.tag, str) and e.get("id")]
    words = st.one_of(st.sampled_from(ids + BPMN_TAGS + ["", " ", "caseworker", "root", "PT0S", "R/PT1S",
                                                        "test.gap", "nowhere", "__class__", "x" * 300]),
                      st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=40))
    for _ in range(draw(st.integers(1, 3))):
        elements = [e for e in root.iter() if isinstance(e.tag, str)]
        element = draw(st.sampled_from(elements))
        kind = draw(st.sampled_from(["attribute", "text", "delete", "duplicate", "rename", "move", "clear"]))
        if kind == "attribute":
            name = draw(st.sampled_from(sorted(element.attrib) or ["id"]))
            if name.startswith("{") or ":" not in name:
                element.set(name, draw(words))
        elif kind == "text":
            element.text = draw(words)
        elif kind == "delete" and element.getparent() is not None:
            element.getparent().remove(element)
        elif kind == "duplicate" and element.getparent() is not None:
            from copy import deepcopy
            element.addnext(deepcopy(element))
        elif kind == "rename":
            element.tag = "{http://www.omg.org/spec/BPMN/20100524/MODEL}" + draw(st.sampled_from(BPMN_TAGS))
        elif kind == "move" and element.getparent() is not None:
            target = draw(st.sampled_from(elements))
            if element not in target.iterancestors() and element is not target:
                target.append(element)
        elif kind == "clear":
            element.clear()
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@FUZZ
@given(data=tree_mutated_bpmn())
def test_a_valid_bpmn_changed_as_a_tree_only_ever_raises_a_definition_error(data, checks):
    only_definition_errors(data, checks)


@FUZZ
@given(data=st.binary(max_size=4096))
def test_random_bytes_only_ever_raise_a_definition_error(data, checks):
    only_definition_errors(data, checks)


@FUZZ
@given(data=mutated_bpmn())
def test_a_mutated_valid_bpmn_only_ever_raises_a_definition_error(data, checks):
    only_definition_errors(data, checks)


@FUZZ
@given(prefix=st.sampled_from([b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"<?xml version='1.0'?>"]),
       body=st.text(alphabet=st.characters(codec="utf-8"), max_size=400))
def test_random_text_after_an_xml_prolog_only_ever_raises_a_definition_error(prefix, body, checks):
    only_definition_errors(prefix + body.encode("utf-8", "surrogatepass"), checks)
