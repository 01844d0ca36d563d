"""The documents the hostile tests start from, and the canary they aim at.

:func:`valid_bpmn` is a small process that uses every kind of slot the engine checks (condition,
script, pre-script, timer, service operation and parameter, multi-instance cardinality and completion
condition, ``dueIn``, lane role); each keyword replaces one slot.  A hostile document is this base
with exactly one hostile change, so a refusal can only be caused by that change
(``test_the_untouched_base_documents_are_accepted`` proves the base is valid).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from xml.sax.saxutils import quoteattr

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
XI_NS = "http://www.w3.org/2001/XInclude"

SECRET = "CANARY-SECRET-7f3a9c"


@dataclass(frozen=True)
class Canary:
    """What a hostile document may try to reach; the test proves none of it was touched."""

    directory: Path      # nothing may be created here
    secret_file: Path    # holds SECRET; its content must never show up anywhere
    fifo: Path           # a named pipe: any open() of it is seen by a watcher thread
    port: int            # a listening socket on 127.0.0.1: any connection is seen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/evil.dtd"

    @property
    def created(self) -> Path:
        return self.directory / "created-by-payload"


@dataclass(frozen=True)
class Hostile:
    name: str
    build: Callable[[Canary], bytes]
    element: str | None = None      # the element id the refusal must name
    category: str = ""

    def write(self, directory: Path, canary: Canary) -> Path:
        path = directory / (self.name.replace("/", "--") + ".bpmn")
        path.write_bytes(self.build(canary))
        return path


# --- the valid base document ----------------------------------------------------------------------
SLOT_DEFAULTS = {
    "role": "caseworker",
    "script": "members = len(people)",
    "pre_script": "checked = True",
    "due_in": "3WD",
    "timer": "PT2H",
    "condition": 'decimal(income) &lt; decimal("700")',
    "operation": "test.gap",
    "param": "income",
    "cardinality": "3",
    "completion": "len(people) &gt;= 2",
    "documentation": "A small process using every slot the engine checks.",
    "process_id": "hostile",
    "extension": "",
    "extra_process": "",
    "extra_root": "",
    "review_target": "gw",
    "prolog": "",
}

# The slot each expression lands in, with the element whose id the refusal must carry.
EXPRESSION_SLOTS = {
    "condition": ("eval", "to_assess"),
    "timer": ("eval", "remind"),
    "param": ("eval", "assess"),     # the service task, the id a designer finds in the modeller
    "cardinality": ("eval", "vote"),
    "completion": ("eval", "vote"),
    "script": ("exec", "prepare"),
    "pre_script": ("exec", "review"),
}
SLOT_ELEMENT = {
    "role": "lane_main", "due_in": "review", "operation": "assess",
    **{slot: element for slot, (_mode, element) in EXPRESSION_SLOTS.items()},
}


def valid_bpmn(**slots: str) -> str:
    """The base document as text; each keyword replaces one slot with raw XML text."""
    s = {**SLOT_DEFAULTS, **slots}
    return f"""<?xml version="1.0" encoding="UTF-8"?>{s['prolog']}
<bpmn:definitions xmlns:bpmn="{BPMN_NS}" xmlns:spiffworkflow="{SPIFF_NS}"
                  id="defs_hostile" targetNamespace="http://jishijiu.test/hostile">{s['extra_root']}
  <bpmn:process id="{s['process_id']}" name="Hostile base" isExecutable="true">
    <bpmn:documentation>{s['documentation']}</bpmn:documentation>
    <bpmn:extensionElements>{s['extension']}</bpmn:extensionElements>
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_main" name="乡镇经办">
        <bpmn:extensionElements><spiffworkflow:properties>
          <spiffworkflow:property name="role" value="{s['role']}"/>
        </spiffworkflow:properties></bpmn:extensionElements>
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>prepare</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>review</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>remind</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end_reminded</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>gw</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>assess</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>vote</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end_done</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end_refused</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="prepare" name="准备">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>{s['script']}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:userTask id="review" name="复核">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="formKey" value="test.review"/>
          <spiffworkflow:property name="dueIn" value="{s['due_in']}"/>
        </spiffworkflow:properties>
        <spiffworkflow:preScript>{s['pre_script']}</spiffworkflow:preScript>
      </bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="remind" name="提醒" attachedToRef="review" cancelActivity="false">
      <bpmn:outgoing>f_r</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>{s['timer']}</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="end_reminded"><bpmn:incoming>f_r</bpmn:incoming></bpmn:endEvent>
    <bpmn:exclusiveGateway id="gw" default="to_refused">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>to_assess</bpmn:outgoing><bpmn:outgoing>to_refused</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:serviceTask id="assess" name="测算">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="{s['operation']}" resultVariable="assessment">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="income" type="str" value="{s['param']}"/>
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>to_assess</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:userTask id="vote" name="表决">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formKey" value="test.vote"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics>
        <bpmn:loopCardinality>{s['cardinality']}</bpmn:loopCardinality>
        <bpmn:completionCondition>{s['completion']}</bpmn:completionCondition>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:endEvent id="end_done"><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end_refused"><bpmn:incoming>to_refused</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="prepare"/>
    <bpmn:sequenceFlow id="f2" sourceRef="prepare" targetRef="review"/>
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="{s['review_target']}"/>
    <bpmn:sequenceFlow id="f_r" sourceRef="remind" targetRef="end_reminded"/>
    <bpmn:sequenceFlow id="to_assess" sourceRef="gw" targetRef="assess">
      <bpmn:conditionExpression>{s['condition']}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="to_refused" sourceRef="gw" targetRef="end_refused"/>
    <bpmn:sequenceFlow id="f4" sourceRef="assess" targetRef="vote"/>
    <bpmn:sequenceFlow id="f5" sourceRef="vote" targetRef="end_done"/>{s['extra_process']}
  </bpmn:process>
</bpmn:definitions>
"""


def camunda_bpmn(*, candidate_groups: str = "caseworker", topic: str = "test.gap",
                 due_in: str = "P3D", extra_task_attrs: str = "") -> str:
    """A Camunda Modeler document: formKey, candidateGroups, properties, an external service task."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="{BPMN_NS}" xmlns:camunda="{CAMUNDA_NS}"
                  id="defs_camunda" targetNamespace="http://jishijiu.test/camunda">
  <bpmn:process id="camunda_hostile" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="check" name="核查" camunda:formKey="test.check"
                   camunda:candidateGroups={quoteattr(candidate_groups)}{extra_task_attrs}>
      <bpmn:extensionElements><camunda:properties>
        <camunda:property name="dueIn" value={quoteattr(due_in)}/>
      </camunda:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:serviceTask id="assess" name="测算" camunda:type="external" camunda:topic={quoteattr(topic)}>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check"/>
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="assess"/>
    <bpmn:sequenceFlow id="f3" sourceRef="assess" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


# --- encodings ------------------------------------------------------------------------------------
ENCODINGS = ("utf-8", "utf-8-bom", "utf-16", "utf-16-be-bom", "utf-32", "utf-7")


def encode(text: str, encoding: str) -> bytes:
    """``text`` in ``encoding``, with a matching XML declaration.

    UTF-7 hides ``<``, ``!`` and ``%`` in base64 runs, so a byte-level search for ``<!DOCTYPE``
    cannot see them: only a check after decoding can.
    """
    declared = {"utf-8-bom": "UTF-8", "utf-16-be-bom": "UTF-16"}.get(encoding, encoding.upper())
    text = text.replace('encoding="UTF-8"', f'encoding="{declared}"', 1)
    if encoding == "utf-8":
        return text.encode("utf-8")
    if encoding == "utf-8-bom":
        return b"\xef\xbb\xbf" + text.encode("utf-8")
    if encoding == "utf-16":
        return text.encode("utf-16")  # little-endian with BOM
    if encoding == "utf-16-be-bom":
        return b"\xfe\xff" + text.encode("utf-16-be")
    if encoding == "utf-32":
        return text.encode("utf-32")
    if encoding == "utf-7":
        head, _, body = text.partition("?>")
        raw = body.encode("utf-7")
        for char, coded in ((b"<", b"+ADw-"), (b"!", b"+ACE-"), (b"%", b"+ACU-")):
            raw = raw.replace(char, coded)
        return (head + "?>").encode("ascii") + raw
    raise ValueError(encoding)


def changed(**slots) -> Callable[[Canary], bytes]:
    return lambda canary: valid_bpmn(**{k: (v(canary) if callable(v) else v) for k, v in slots.items()}).encode()


def with_prolog(prolog: Callable[[Canary], str], encoding: str = "utf-8", **slots) -> Callable[[Canary], bytes]:
    def build(canary: Canary) -> bytes:
        return encode(valid_bpmn(prolog="\n" + prolog(canary), **slots), encoding)
    return build


def fifty_megabytes(path: Path, size: int = 50 * 1024 * 1024, chunk: int = 1024 * 1024) -> Path:
    """Write a valid-looking BPMN file of ``size`` bytes in 1 MiB chunks (never all in memory)."""
    head, tail = valid_bpmn().encode().split(b"<bpmn:extensionElements></bpmn:extensionElements>")
    open_, close = b"<bpmn:extensionElements><x>", b"</x></bpmn:extensionElements>"
    filler = size - len(head) - len(tail) - len(open_) - len(close)
    block = b"a" * chunk
    with path.open("wb") as out:
        out.write(head + open_)
        for _ in range(filler // chunk):
            out.write(block)
        out.write(b"a" * (filler % chunk))
        out.write(close + tail)
    return path
