"""Turn a BPMN document into an executable spec plus the metadata the engine needs.

Accepts both dialects a designer is likely to use: SpiffWorkflow's (``spiffworkflow:properties``,
``spiffworkflow:serviceTaskOperator``) and Camunda Modeler's (``camunda:formKey``,
``camunda:candidateGroups``, ``camunda:properties``, ``camunda:topic`` on an external service task).
Validation collects *every* problem it can find, each with file, element id and line.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Iterable

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator, full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.parser.task_parsers import ConditionalGatewayParser, GatewayParser
from SpiffWorkflow.spiff.parser.process import SPIFF_XSD, SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import ServiceTaskParser
from SpiffWorkflow.spiff.specs.defaults import ServiceTask

from engine.errors import DefinitionError, ExpressionError, Problem
from engine.workflow.spiff.joins import BranchChangesInclusiveGateway, BranchChangesParallelGateway
from engine.workflow.spiff.xmlsafe import DEFAULT_LIMITS, XmlLimits, parse_xml

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "camunda": CAMUNDA_NS, "spiffworkflow": SPIFF_NS}

ROLES = ("assistant", "caseworker", "approver", "committee", "supervisor", "designer", "admin")
HUMAN_TAGS = ("userTask", "manualTask", "task")


class _ServiceTaskParser(ServiceTaskParser):
    """Also accept Camunda's external task form: ``camunda:type="external" camunda:topic="dibao.assess"``."""

    def parse_extensions(self, node=None):
        extensions = super().parse_extensions(node)
        target = self.node if node is None else node
        topic = target.get(f"{{{CAMUNDA_NS}}}topic")
        if "serviceTaskOperator" not in extensions and topic:
            extensions["serviceTaskOperator"] = {"name": topic, "resultVariable": None, "parameters": {}}
        return extensions


class JishijiuBpmnParser(SpiffBpmnParser):
    OVERRIDE_PARSER_CLASSES = dict(SpiffBpmnParser.OVERRIDE_PARSER_CLASSES)
    OVERRIDE_PARSER_CLASSES[full_tag("serviceTask")] = (_ServiceTaskParser, ServiceTask)
    # joins merge what each branch changed, not its stale copies (joins.py)
    OVERRIDE_PARSER_CLASSES[full_tag("parallelGateway")] = (GatewayParser, BranchChangesParallelGateway)
    OVERRIDE_PARSER_CLASSES[full_tag("inclusiveGateway")] = (ConditionalGatewayParser, BranchChangesInclusiveGateway)


@dataclass(frozen=True)
class TaskMeta:
    bpmn_id: str
    tag: str
    name: str
    lane: str | None = None
    role: str | None = None
    form_key: str | None = None
    due_in: str | None = None
    operation: str | None = None
    documentation: str | None = None
    properties: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ProcessMeta:
    key: str
    name: str | None
    documentation: str | None
    properties: dict
    tasks: dict[str, TaskMeta]
    lanes: dict[str, str]  # lane name -> role


@dataclass
class ParsedDefinition:
    """An executable spec (SpiffWorkflow objects, kept inside this package) and its metadata."""

    key: str
    filename: str
    sha256: str
    spec: object
    subprocess_specs: dict
    meta: ProcessMeta
    process_ids: list[str]


@lru_cache(maxsize=1)
def _schema() -> etree.XMLSchema:
    return BpmnValidator(imports={"spiffworkflow": SPIFF_XSD}).validator


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _properties(node: etree._Element) -> dict[str, str]:
    props: dict[str, str] = {}
    for prop in node.xpath("./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property"
                           " | ./bpmn:extensionElements/camunda:properties/camunda:property",
                           namespaces=NS):
        name = prop.get("name")
        if name:
            props[name] = prop.get("value", "")
    return props


def _documentation(node: etree._Element) -> str | None:
    docs = node.xpath("./bpmn:documentation/text()", namespaces=NS)
    return "\n".join(d.strip() for d in docs if d.strip()) or None


def _lanes(process: etree._Element) -> tuple[dict[str, str], dict[str, str]]:
    """Return (lane name -> role, flow node id -> lane name)."""
    roles: dict[str, str] = {}
    members: dict[str, str] = {}
    for lane in process.xpath(".//bpmn:lane", namespaces=NS):
        name = lane.get("name") or lane.get("id")
        role = _properties(lane).get("role") or name
        roles[name] = role
        for ref in lane.xpath("./bpmn:flowNodeRef/text()", namespaces=NS):
            members[ref.strip()] = name
    return roles, members


def _process_meta(process: etree._Element) -> ProcessMeta:
    lane_roles, lane_of = _lanes(process)
    tasks: dict[str, TaskMeta] = {}
    for node in process.iter():
        if not isinstance(node.tag, str) or not node.tag.startswith(f"{{{BPMN_NS}}}"):
            continue
        tag = etree.QName(node).localname
        node_id = node.get("id")
        if not node_id or tag not in HUMAN_TAGS + ("serviceTask",):
            continue
        props = _properties(node)
        lane = lane_of.get(node_id)
        role = node.get(f"{{{CAMUNDA_NS}}}candidateGroups") or props.get("candidateGroup")
        role = role or (lane_roles.get(lane) if lane else None)
        operation = None
        if tag == "serviceTask":
            op = node.xpath("./bpmn:extensionElements/spiffworkflow:serviceTaskOperator/@id", namespaces=NS)
            operation = op[0] if op else node.get(f"{{{CAMUNDA_NS}}}topic")
        tasks[node_id] = TaskMeta(
            bpmn_id=node_id, tag=tag, name=node.get("name") or node_id, lane=lane, role=role,
            form_key=node.get(f"{{{CAMUNDA_NS}}}formKey") or props.get("formKey"),
            due_in=props.get("dueIn") or node.get(f"{{{CAMUNDA_NS}}}dueDate"),
            operation=operation, documentation=_documentation(node), properties=props)
    return ProcessMeta(key=process.get("id"), name=process.get("name"),
                       documentation=_documentation(process), properties=_properties(process),
                       tasks=tasks, lanes=lane_roles)


def _main_process(root: etree._Element) -> etree._Element | None:
    processes = root.xpath("./bpmn:process", namespaces=NS)
    if not processes:
        return None
    called = set(root.xpath(".//bpmn:callActivity/@calledElement", namespaces=NS))
    executable = [p for p in processes if p.get("isExecutable", "true").lower() == "true"]
    candidates = [p for p in (executable or processes) if p.get("id") not in called]
    return (candidates or processes)[0]


@dataclass
class Checks:
    """What the static checks need from the rest of the engine (all optional)."""

    check_expression: Callable[[str, str, str | None], None] | None = None  # (source, mode, element_id)
    is_literal_timer: Callable[[str], bool] | None = None
    check_due: Callable[[str], None] | None = None
    operations: Iterable[str] | None = None
    roles: Iterable[str] = ROLES


def due_value_kind(value: str, is_literal: Callable[[str], bool] | None) -> str:
    """``literal`` (PT24H, 3WD, a date), ``expression`` (``=field`` or an expression with operators)
    or ``word`` — a bare name, almost always a typo for a duration, so it is refused."""
    text = value.strip()
    if text.startswith("="):
        return "expression"
    if is_literal is None or is_literal(text):
        return "literal"
    return "word" if text.isidentifier() else "expression"


_CYCLE = re.compile(r"^R(\d*)/(.+)$", re.IGNORECASE)


def _timer_parts(text: str) -> list[tuple[str | None, str]]:
    """The pieces of a timer literal to check: a duration/date, or each part of an ``R<n>/…`` cycle."""
    match = _CYCLE.match(text.strip())
    if not match:
        return [(text.strip(), "duration or date")]
    count, rest = match.groups()
    out: list[tuple[str | None, str]] = []
    if count == "0":
        out.append((None, "a cycle must repeat at least once"))
    for piece in rest.split("/"):
        piece = piece.strip()
        if piece.upper().startswith("P") and re.fullmatch(r"P(T0+[HMS]|0+[DWMY])", piece.upper()):
            out.append((None, "a cycle period of zero never ends"))
        out.append((piece, "cycle part"))
    return out


def _reference_problems(root: etree._Element, filename: str) -> list[Problem]:
    """Flows and boundary events must point at elements that exist (SpiffWorkflow ignores them silently)."""
    ids = set(root.xpath("//@id"))
    out = []
    for node in root.xpath(".//bpmn:sequenceFlow | .//bpmn:boundaryEvent | .//bpmn:messageFlow",
                           namespaces=NS):
        attributes = ("attachedToRef",) if node.tag.endswith("boundaryEvent") else ("sourceRef", "targetRef")
        for attribute in attributes:
            target = node.get(attribute)
            if not target:
                out.append(Problem(filename, f"{attribute} is missing", element_id=node.get("id"),
                                   line=node.sourceline))
            elif target not in ids:
                out.append(Problem(filename, f"{attribute} '{target}' names no element in this file",
                                   element_id=node.get("id"), line=node.sourceline))
    return out


def _size_problems(root: etree._Element, filename: str) -> list[Problem]:
    """Ids, names and file names must fit the database columns; every process needs an id."""
    out = []
    if len(filename) > 255:
        out.append(Problem(filename, "file name is longer than 255 characters"))
    for process in root.xpath("./bpmn:process", namespaces=NS):
        key = (process.get("id") or "").strip()
        if not key:
            out.append(Problem(filename, "a bpmn:process has no id", line=process.sourceline))
        elif len(key) > 128:
            out.append(Problem(filename, "process id is longer than 128 characters", element_id=key[:40] + "…",
                               line=process.sourceline))
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        for attribute in ("id", "name"):
            value = node.get(attribute)
            if value is not None and len(value) > 255:
                out.append(Problem(filename, f"{attribute} is longer than 255 characters",
                                   element_id=(node.get("id") or "")[:40] or None, line=node.sourceline))
    return out


def _static_problems(root: etree._Element, filename: str, checks: Checks) -> list[Problem]:
    problems: list[Problem] = []

    def owner_of(node):
        """The nearest BPMN element with an id: what a designer can find in the modeller."""
        owner = node
        while owner is not None and not (isinstance(owner.tag, str) and owner.tag.startswith(f"{{{BPMN_NS}}}")
                                         and owner.get("id")):
            owner = owner.getparent()
        return owner.get("id") if owner is not None else None

    def add(node, message):
        problems.append(Problem(filename, message, element_id=owner_of(node), line=node.sourceline))

    def expr(node, source, mode="eval"):
        if checks.check_expression is None or source is None:
            return
        element = owner_of(node)
        try:
            checks.check_expression(source.strip(), mode, element)
        except ExpressionError as exc:
            problems.append(Problem(filename, exc.reason, element_id=element, line=node.sourceline))

    for node in root.xpath(".//bpmn:conditionExpression | .//bpmn:completionCondition"
                           " | .//bpmn:loopCardinality | .//bpmn:conditionalEventDefinition/bpmn:condition"
                           " | .//bpmn:standardLoopCharacteristics/bpmn:loopCondition"
                           " | .//spiffworkflow:messagePayload"
                           " | .//bpmn:correlationPropertyRetrievalExpression/bpmn:formalExpression"
                           " | .//bpmn:correlationPropertyRetrievalExpression/bpmn:messagePath", namespaces=NS):
        if node.text and node.text.strip():
            expr(node, node.text)
    for node in root.xpath(".//bpmn:scriptTask/bpmn:script", namespaces=NS):
        if node.text and node.text.strip():
            expr(node, node.text, "exec")
    for node in root.xpath(".//spiffworkflow:preScript | .//spiffworkflow:postScript", namespaces=NS):
        if node.text and node.text.strip():
            expr(node, node.text, "exec")
    for node in root.xpath(".//bpmn:timeDuration | .//bpmn:timeDate | .//bpmn:timeCycle", namespaces=NS):
        text = (node.text or "").strip()
        if not text:
            add(node, "timer has no value")
        elif checks.is_literal_timer and checks.is_literal_timer(text):
            if checks.check_due:
                for part, what in _timer_parts(text):
                    if part is None:
                        add(node, f"timer value '{text}': {what}")
                        continue
                    try:
                        checks.check_due(part)
                    except Exception as exc:  # noqa: BLE001 - any parse failure is the designer's to fix
                        add(node, f"timer value '{text}' is not a valid {what}: {exc}")
        else:
            expr(node, text)
    for node in root.xpath(".//spiffworkflow:serviceTaskOperator/spiffworkflow:parameters/"
                           "spiffworkflow:parameter", namespaces=NS):
        expr(node, node.get("value"))
    known_ops = set(checks.operations) if checks.operations is not None else None
    roles = set(checks.roles)
    for process in root.xpath("./bpmn:process", namespaces=NS):
        meta = _process_meta(process)
        if "defaults" in meta.properties:
            try:
                defaults = json.loads(meta.properties["defaults"])
            except ValueError as exc:
                defaults = exc
            if not isinstance(defaults, dict):
                add(process, "property 'defaults' must be a JSON object of optional start data")
        for lane_name, role in meta.lanes.items():
            if role not in roles:
                lane = process.xpath(".//bpmn:lane[@name=$n or @id=$n]", n=lane_name, namespaces=NS)
                add(lane[0] if lane else process,
                    f"lane '{lane_name}' has role '{role}'; set its property 'role' to one of: "
                    + ", ".join(sorted(roles)))
        for task in meta.tasks.values():
            node = process.xpath(".//*[@id=$i]", i=task.bpmn_id)[0]
            if task.tag == "serviceTask":
                if not task.operation:
                    add(node, "service task names no operation (spiffworkflow:serviceTaskOperator id "
                              "or camunda:topic)")
                elif known_ops is not None and task.operation not in known_ops:
                    add(node, f"service task calls unknown operation '{task.operation}'"
                              + (f"; registered: {', '.join(sorted(known_ops))}" if known_ops else ""))
                continue
            if task.role is None:
                add(node, "human task is in no lane and has no candidate group; put it in a lane")
            elif task.role not in roles:
                add(node, f"candidate group '{task.role}' is not a role ({', '.join(sorted(roles))})")
            for prop, value in (("dueIn", task.due_in), ("sla", task.properties.get("sla"))):
                if not value:
                    continue
                kind = due_value_kind(value, checks.is_literal_timer)
                if kind == "expression":
                    expr(node, value.strip().removeprefix("="))  # over the task data
                    continue
                if kind == "word":
                    add(node, f"{prop} '{value}' is not a duration (PT24H, P7D, 20WD, a date); "
                              f"to read it from the task data write '={value.strip()}'")
                    continue
                if checks.check_due:
                    try:
                        checks.check_due(value.strip())
                    except Exception as exc:  # noqa: BLE001 - any parse failure is the designer's to fix
                        add(node, f"{prop} '{value}' is not a duration: {exc}")
    return problems


def _schema_problems(root: etree._Element, filename: str) -> list[Problem]:
    schema = _schema()
    if schema.validate(root):
        return []
    out = []
    for error in schema.error_log:
        out.append(Problem(filename, f"BPMN schema: {error.message}", line=error.line))
    return out[:50]


def _spiff_problem(exc: Exception, filename: str) -> Problem:
    if isinstance(exc, ValidationException):
        line = exc.line_number if isinstance(exc.line_number, int) else None
        return Problem(filename, str(exc.args[0]) if exc.args else str(exc),
                       element_id=exc.id or None, line=line)
    return Problem(filename, f"cannot be executed: {type(exc).__name__}: {exc}")


def parse_definition(data: bytes, filename: str, checks: Checks | None = None,
                     limits: XmlLimits = DEFAULT_LIMITS) -> ParsedDefinition:
    """Parse and validate; raise :class:`DefinitionError` listing every problem found."""
    checks = checks or Checks()
    tree = parse_xml(data, filename, limits)
    root = tree.getroot()
    if etree.QName(root).namespace != BPMN_NS or etree.QName(root).localname != "definitions":
        raise DefinitionError(Problem(filename, "the root element must be bpmn:definitions",
                                      line=root.sourceline))
    # SpiffWorkflow trips over comments and processing instructions inside elements; they mean nothing
    etree.strip_tags(root, etree.Comment, etree.ProcessingInstruction)
    problems = _schema_problems(root, filename) + _size_problems(root, filename)
    problems += _reference_problems(root, filename)
    main = _main_process(root)
    if main is None:
        problems.append(Problem(filename, "the file defines no bpmn:process"))
        raise DefinitionError(problems)
    problems += _static_problems(root, filename, checks)
    parser = JishijiuBpmnParser(validator=None)
    spec = subprocess_specs = None
    try:
        parser.add_bpmn_xml(root, filename)
        key = main.get("id")
        spec = parser.get_spec(key)
        subprocess_specs = parser.get_subprocess_specs(key)
    except Exception as exc:  # noqa: BLE001 - SpiffWorkflow raises many types; report them all alike
        problems.append(_spiff_problem(exc, filename))
    if problems:
        raise DefinitionError(problems)
    return ParsedDefinition(
        key=main.get("id"), filename=filename, sha256=sha256_of(data), spec=spec,
        subprocess_specs=subprocess_specs, meta=_process_meta(main),
        process_ids=[p.get("id") for p in root.xpath("./bpmn:process", namespaces=NS)])


def validate_definition(data: bytes, filename: str, checks: Checks | None = None) -> list[Problem]:
    """Every problem in the file, or an empty list."""
    try:
        parse_definition(data, filename, checks)
    except DefinitionError as exc:
        return exc.problems
    return []
