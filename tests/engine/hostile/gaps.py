"""Hostile documents the engine accepts today: each list backs one strict xfail test (a bug report)."""

from __future__ import annotations

from typing import Callable
from xml.sax.saxutils import escape

from tests.engine.hostile.documents import XI_NS, Canary, Hostile, changed, valid_bpmn
from tests.engine.hostile.generator import CONSTANT_BOMBS, escaped_slot, payload_text


def inert_payloads() -> list[Hostile]:
    """Payloads in places the BPMN schema allows anything; refusing them is the safe default."""
    return [
        Hostile("inert/xinclude-in-documentation", changed(
            documentation=lambda c: f'<xi:include xmlns:xi="{XI_NS}" href="file://{c.fifo}" parse="text"/>')),
        Hostile("inert/xinclude-in-extension-elements", changed(
            extension=lambda c: f'<xi:include xmlns:xi="{XI_NS}" href="{c.url}"/>')),
    ]


def unchecked_expressions() -> list[Hostile]:
    """Expression places the deploy-time check does not look at (they are refused when they run)."""
    escape_call = "__import__('os').system('touch {created}')"
    message = ('<bpmn:intermediateThrowEvent id="notify"><bpmn:incoming>f5</bpmn:incoming>'
               '<bpmn:outgoing>f6</bpmn:outgoing><bpmn:messageEventDefinition messageRef="msg">'
               '<bpmn:extensionElements><spiffworkflow:messagePayload>{x}</spiffworkflow:messagePayload>'
               '</bpmn:extensionElements></bpmn:messageEventDefinition></bpmn:intermediateThrowEvent>')
    conditional = ('<bpmn:intermediateCatchEvent id="notify"><bpmn:incoming>f5</bpmn:incoming>'
                   '<bpmn:outgoing>f6</bpmn:outgoing><bpmn:conditionalEventDefinition>'
                   '<bpmn:condition>{x}</bpmn:condition></bpmn:conditionalEventDefinition>'
                   '</bpmn:intermediateCatchEvent>')

    def rewire(node: str) -> Callable[[Canary], bytes]:
        def build(canary: Canary) -> bytes:
            text = valid_bpmn().replace(
                '<bpmn:sequenceFlow id="f5" sourceRef="vote" targetRef="end_done"/>',
                '<bpmn:sequenceFlow id="f5" sourceRef="vote" targetRef="notify"/>'
                + node.replace("{x}", escape(payload_text(escape_call, canary)))
                + '<bpmn:sequenceFlow id="f6" sourceRef="notify" targetRef="end_done"/>').replace(
                "<bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>",
                "<bpmn:incoming>f6</bpmn:incoming></bpmn:endEvent>")
            text = text.replace("<bpmn:flowNodeRef>end_done</bpmn:flowNodeRef>",
                                "<bpmn:flowNodeRef>end_done</bpmn:flowNodeRef>"
                                "<bpmn:flowNodeRef>notify</bpmn:flowNodeRef>")
            return text.replace('targetNamespace="http://jishijiu.test/hostile">',
                                'targetNamespace="http://jishijiu.test/hostile"><bpmn:message id="msg" name="m"/>',
                                1).encode()
        return build

    loop = lambda c: valid_bpmn().replace(  # noqa: E731
        "<bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>",
        "<bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing><bpmn:standardLoopCharacteristics>"
        f"<bpmn:loopCondition>{escape(payload_text(escape_call, c))}</bpmn:loopCondition>"
        "</bpmn:standardLoopCharacteristics>").encode()
    return [
        Hostile("unchecked/message-payload", rewire(message), element="notify"),
        Hostile("unchecked/conditional-event-condition", rewire(conditional), element="notify"),
        Hostile("unchecked/standard-loop-condition", loop, element="review"),
    ]


def malformed_cycle_literals() -> list[Hostile]:
    """Repeating-cycle timer literals: the deploy-time check skips every value starting with R."""
    return [Hostile(f"cycle-literal/{i}", changed(timer=t), element="remind")
            for i, t in enumerate(["R3/P99999999999D", "R2/2026-13-45T10:00:00+08:00/PT1H"])]


def dangling_references() -> list[Hostile]:
    """References to elements that do not exist, which the engine accepts today."""
    v = valid_bpmn()
    return [
        Hostile("reference/flow-from-a-missing-node",
                lambda c: v.replace('sourceRef="vote"', 'sourceRef="nowhere"').encode(), element="f5"),
        Hostile("reference/boundary-event-attached-to-a-missing-task",
                lambda c: v.replace('attachedToRef="review"', 'attachedToRef="nowhere"').encode(), element="remind"),
    ]


def constant_bombs() -> list[Hostile]:
    return [Hostile(f"constant-bomb/{slot}/{i}", changed(**{slot: escaped_slot(slot, prefix + bomb)}), element=element)
            for i, bomb in enumerate(CONSTANT_BOMBS)
            for slot, element, prefix in (("condition", "to_assess", ""), ("script", "prepare", "x = "))]
