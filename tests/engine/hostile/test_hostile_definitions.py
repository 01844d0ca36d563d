"""Every hostile BPMN document is refused, names its file (and element), writes nothing, touches nothing.

The documents come from :mod:`tests.engine.hostile.generator` and are written into ``tmp_path`` at test
time, as a designer's upload or ``jishijiu validate FILE`` would meet them.  Validation goes through
the engine whose service registry knows only ``test.gap``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.errors import DefinitionError
from engine.workflow.spiff import xmlsafe
from engine.workflow.spiff.parser import parse_definition
from tests.engine.conftest import DESIGNER
from tests.engine.hostile.conftest import stored_rows
from tests.engine.hostile.documents import SECRET, camunda_bpmn, fifty_megabytes, valid_bpmn
from tests.engine.hostile.gaps import (constant_bombs, dangling_references, inert_payloads, malformed_cycle_literals,
                                       unchecked_expressions)
from tests.engine.hostile.generator import hostile_documents

HOSTILE = hostile_documents()
PROJECT = Path(__file__).resolve().parents[3]


def refuse(services, data: bytes, filename: str):
    """Validate and deploy ``data``; return the problems and the deploy error (both must exist)."""
    problems = services.engine.validate(data, filename)
    with pytest.raises(DefinitionError) as refused:
        services.engine.deploy(data, filename, actor=DESIGNER)
    return problems, refused.value


def test_there_are_at_least_200_hostile_documents():
    assert len(HOSTILE) >= 200
    assert len({case.category for case in HOSTILE}) >= 12


def test_the_untouched_base_documents_are_accepted(hostile_services, canary):
    """So that each hostile document is refused for its one hostile change, not for the base."""
    assert hostile_services.engine.validate(valid_bpmn().encode(), "base.bpmn") == []
    assert hostile_services.engine.validate(camunda_bpmn().encode(), "camunda.bpmn") == []
    assert hostile_services.engine.validate(b"\xef\xbb\xbf" + valid_bpmn().encode(), "bom.bpmn") == []


@pytest.mark.parametrize("case", HOSTILE, ids=[case.name for case in HOSTILE])
def test_a_hostile_document_is_refused_and_leaves_no_trace(case, hostile_services, canary, canary_watch, tmp_path):
    path = case.write(tmp_path, canary)
    data = path.read_bytes()
    before = stored_rows(hostile_services)

    problems, error = refuse(hostile_services, data, path.name)

    assert problems, f"{case.name} was accepted"
    assert all(p.file == path.name for p in problems)
    assert all(str(p).startswith(path.name) for p in problems)
    assert path.name in str(error)
    if case.element is not None:
        assert case.element in {p.element_id for p in problems}, [str(p) for p in problems]
        assert any(f"[{case.element}]" in str(p) for p in problems)
    assert stored_rows(hostile_services) == before
    assert canary_watch.touched() == []
    assert not any(SECRET in str(p) for p in problems)


def test_parse_definition_alone_refuses_every_hostile_document_with_a_definition_error(canary, canary_watch,
                                                                                       tmp_path, hostile_services):
    """The library entry point, with the engine's checks: DefinitionError and nothing else."""
    checks = hostile_services.engine.definitions.checks
    hostile_services.engine._refresh_checks()
    for case in HOSTILE:
        with pytest.raises(DefinitionError) as refused:
            parse_definition(case.build(canary), f"{case.name}.bpmn", checks)
        assert refused.value.problems and refused.value.file == f"{case.name}.bpmn"
    assert canary_watch.touched() == []


def test_jishijiu_validate_exits_1_and_names_every_hostile_file(canary, canary_watch, tmp_path, sqlite_url,
                                                                monkeypatch):
    from web.cli import main

    monkeypatch.setenv("JISHIJIU_DATABASE_URL", sqlite_url)
    sample = HOSTILE[::7]
    paths = [case.write(tmp_path, canary) for case in sample]
    result = CliRunner().invoke(main, ["validate", *map(str, paths)])
    assert result.exit_code == 1, result.output
    for path in paths:
        assert str(path) in result.stderr
    assert f"{len(paths)} of {len(paths)} file(s) have problems" in result.stderr
    assert canary_watch.touched() == []


# --- the 50 MB file --------------------------------------------------------------------------------
def test_a_50_megabyte_file_is_refused_by_its_size_before_any_parsing(tmp_path, hostile_services, monkeypatch):
    path = fifty_megabytes(tmp_path / "huge.bpmn")
    assert path.stat().st_size == 50 * 1024 * 1024

    def no_parsing(*args, **kwargs):
        raise AssertionError("the XML parser ran on a file over the size limit")

    monkeypatch.setattr(xmlsafe.etree, "fromstring", no_parsing)
    before = stored_rows(hostile_services)
    problems, error = refuse(hostile_services, path.read_bytes(), path.name)
    assert len(problems) == 1
    assert problems[0].file == "huge.bpmn"
    assert "52,428,800 bytes; the limit is 5,242,880 bytes" in problems[0].message
    assert "huge.bpmn" in str(error)
    assert stored_rows(hostile_services) == before


def test_jishijiu_validate_refuses_a_50_megabyte_file_with_sane_memory(tmp_path):
    """In a fresh process: the peak memory stays near the file's own size (no tree, no copies)."""
    path = fifty_megabytes(tmp_path / "huge.bpmn")
    script = textwrap.dedent(f"""
        import resource, sys
        from click.testing import CliRunner
        from web.cli import main
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        result = CliRunner().invoke(main, ["validate", {str(path)!r}])
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(result.exit_code, (after - before) // 1024)
        print(result.output)
    """)
    env = {"JISHIJIU_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT, env=env, capture_output=True, text=True,
                          timeout=120)
    exit_code, grown_mb = map(int, done.stdout.splitlines()[0].split())
    assert exit_code == 1, done.stdout + done.stderr
    assert "the limit is 5,242,880 bytes" in done.stdout
    assert str(path) in done.stdout
    assert grown_mb < 120, f"validating a 50 MB file grew the process by {grown_mb} MB"


# --- bugs and hardening gaps -------------------------------------------------------------------------
def test_a_5_megabyte_flood_of_tiny_elements_is_refused_without_building_the_tree(tmp_path):
    script = textwrap.dedent("""
        import resource
        from engine.errors import DefinitionError
        from engine.workflow.spiff.xmlsafe import parse_xml
        data = (b'<?xml version="1.0"?><r>' + b'<a/>' * (5 * 1024 * 1024 // 4 - 16) + b'</r>')
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            parse_xml(data, "flood.bpmn")
        except DefinitionError as exc:
            print("refused", exc)
        print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT, capture_output=True, text=True, timeout=120)
    refused, grown_mb = done.stdout.splitlines()
    assert refused.startswith("refused flood.bpmn")
    assert int(grown_mb) < 60, f"refusing 5 MB of elements grew the process by {grown_mb} MB"


@pytest.mark.parametrize("case", inert_payloads(), ids=lambda c: c.name)
def test_a_payload_the_schema_lets_through_is_never_fetched(case, hostile_services, canary, canary_watch, tmp_path):
    """xi:include inside documentation/extensionElements passes the schema; it must never be processed."""
    path = case.write(tmp_path, canary)
    hostile_services.engine.validate(path.read_bytes(), path.name)
    assert canary_watch.touched() == []


@pytest.mark.parametrize("case", inert_payloads(), ids=lambda c: c.name)
def test_an_xinclude_anywhere_is_refused(case, hostile_services, canary, tmp_path):
    path = case.write(tmp_path, canary)
    assert hostile_services.engine.validate(path.read_bytes(), path.name)


@pytest.mark.parametrize("case", unchecked_expressions(), ids=lambda c: c.name)
def test_an_escape_in_every_expression_place_is_refused_at_deploy(case, hostile_services, canary, tmp_path):
    path = case.write(tmp_path, canary)
    problems = hostile_services.engine.validate(path.read_bytes(), path.name)
    assert case.element in {p.element_id for p in problems}


@pytest.mark.parametrize("case", malformed_cycle_literals(), ids=lambda c: c.name)
def test_a_malformed_cycle_literal_is_refused_at_deploy(case, hostile_services, canary, tmp_path):
    path = case.write(tmp_path, canary)
    problems = hostile_services.engine.validate(path.read_bytes(), path.name)
    assert case.element in {p.element_id for p in problems}


@pytest.mark.parametrize("case", dangling_references(), ids=lambda c: c.name)
def test_a_reference_to_a_missing_element_is_refused(case, hostile_services, canary, tmp_path):
    path = case.write(tmp_path, canary)
    problems = hostile_services.engine.validate(path.read_bytes(), path.name)
    assert case.element in {p.element_id for p in problems}


@pytest.mark.parametrize("timer", ['"P" + "99999999999D"', '"2026-13-45"'])
def test_a_timer_expression_with_a_bad_value_fails_the_step_naming_the_timer(timer, hostile_services):
    from engine.errors import ExpressionError, WorkflowError
    from tests.engine.conftest import CASEWORKER, VILLAGE

    data = valid_bpmn(timer=timer.replace('"', "&quot;"), process_id="bad_timer_value").encode()
    assert hostile_services.engine.validate(data, "bad_timer_value.bpmn") == []
    hostile_services.engine.deploy(data, "bad_timer_value.bpmn", actor=DESIGNER)
    with pytest.raises((ExpressionError, WorkflowError)) as failed:
        hostile_services.engine.start("bad_timer_value", actor=CASEWORKER, region_code=VILLAGE,
                                      data={"people": ["a"], "income": "1"})
    assert failed.value.element_id == "remind"


@pytest.mark.parametrize("case", constant_bombs(), ids=lambda c: c.name)
def test_a_constant_expression_bomb_is_refused_at_deploy(case, hostile_services, canary, tmp_path):
    path = case.write(tmp_path, canary)
    problems = hostile_services.engine.validate(path.read_bytes(), path.name)
    assert case.element in {p.element_id for p in problems}


@pytest.mark.parametrize("bomb", ["9**9**9", "'a'*10**10", "[1]*10**9", "1<<10**6", "2**4096**2",
                                  "'x'.join(['a'] * 10**6)"])
def test_a_constant_expression_bomb_is_refused_instantly_when_it_runs(bomb, hostile_services):
    from engine.errors import ExpressionError

    with pytest.raises(ExpressionError):
        hostile_services.evaluator.evaluate(bomb, {"people": ["a"], "income": "1"}, element_id="to_assess")


def test_a_bad_service_parameter_names_its_service_task(hostile_services):
    problems = hostile_services.engine.validate(valid_bpmn(param="__import__('os')").encode(), "p.bpmn")
    assert [p.element_id for p in problems] == ["assess"]
