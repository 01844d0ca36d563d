"""The ``jishijiu`` command line: schema, validation, deployment, users and the demo data."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, func, inspect, select

from engine.accounts import UserAccount
from engine.db import Database
from engine.workflow.models import ProcessDefinition
from tests.engine.conftest import BPMN
from web.cli import main

CASEWORK = BPMN / "casework.bpmn"   # calls test.gap, which the CLI's registry does not have
PARALLEL = BPMN / "parallel.bpmn"   # user tasks only: valid for any registry


@pytest.fixture
def cli(monkeypatch, sqlite_url):
    """Run ``jishijiu …`` against a migrated SQLite file."""
    monkeypatch.setenv("JISHIJIU_DATABASE_URL", sqlite_url)

    def run(*args: str):
        return CliRunner().invoke(main, list(map(str, args)))
    run.url = sqlite_url
    return run


def count(url: str, model) -> int:
    db = Database(url)
    try:
        with db.read() as session:
            return session.execute(select(func.count()).select_from(model)).scalar()
    finally:
        db.dispose()


def test_db_upgrade_creates_the_schema_in_a_fresh_sqlite_file(monkeypatch, tmp_path):
    path = tmp_path / "fresh" / "jishijiu.db"
    monkeypatch.setenv("JISHIJIU_DATABASE_URL", f"sqlite:///{path}")
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert re.fullmatch(rf"database at sqlite:///{re.escape(str(path))} is at \w+\n", result.stdout)
    engine = create_engine(f"sqlite:///{path}")
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {"process_definition", "process_instance", "human_task", "timer", "audit_event", "audit_anchor",
            "lease", "user_account", "alembic_version"} <= tables


def test_db_upgrade_twice_is_harmless(cli):
    first, second = cli("db", "upgrade"), cli("db", "upgrade")
    assert (first.exit_code, second.exit_code) == (0, 0)
    assert first.stdout == second.stdout


def test_db_upgrade_never_prints_a_password(monkeypatch):
    from web.cli import _safe_url

    assert _safe_url("postgresql+psycopg://jsj:s3cret@db:5432/jsj") == "postgresql+psycopg://***@db:5432/jsj"


def test_validate_says_ok_and_exits_0_for_a_good_file(cli):
    result = cli("validate", PARALLEL)
    assert result.exit_code == 0, result.output
    assert result.output == f"{PARALLEL}: ok\n"


def test_validate_exits_1_and_prints_file_line_and_element_of_every_problem(cli, tmp_path):
    data = CASEWORK.read_bytes()
    bad = tmp_path / "bad.bpmn"
    bad.write_bytes(data.replace(b'decimal(income) &lt; decimal("700")', b"income.__class__")
                    .replace(b'value="3WD"', b'value="3 weeks"'))
    condition_line = bad.read_bytes()[: bad.read_bytes().index(b"income.__class__")].count(b"\n") + 1
    task_line = bad.read_bytes()[: bad.read_bytes().index(b'<bpmn:userTask id="investigate"')].count(b"\n") + 1

    result = cli("validate", PARALLEL, bad)
    assert result.exit_code == 1
    assert f"{PARALLEL}: ok" in result.output
    assert f"{bad}:{condition_line} [f_yes]: " in result.output
    assert f"{bad}:{task_line} [investigate]: " in result.output
    assert "(expression: 3 weeks)" in result.output
    assert f"{bad}:" in result.stderr and f"{PARALLEL}: ok" in result.stdout
    assert result.output.rstrip().endswith("1 of 2 file(s) have problems")


def test_validate_of_a_doctype_names_the_file_and_line(cli, tmp_path):
    evil = tmp_path / "evil.bpmn"
    evil.write_bytes(b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n<x>&e;</x>')
    result = cli("validate", evil)
    assert result.exit_code == 1
    assert f"{evil}:2: a <!DOCTYPE> declaration is not allowed in BPMN" in result.output
    assert "root:" not in result.output


def test_validate_of_a_missing_file_is_a_usage_error(cli, tmp_path):
    result = cli("validate", tmp_path / "nowhere.bpmn")
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_deploying_the_same_file_twice_says_unchanged(cli):
    first, second = cli("deploy", PARALLEL), cli("deploy", PARALLEL)
    assert first.exit_code == second.exit_code == 0, first.output
    assert re.fullmatch(r"parallel\.bpmn: parallel version 1 deployed \(sha256 [0-9a-f]{12}\)\n", first.output)
    assert re.fullmatch(r"parallel\.bpmn: parallel version 1 unchanged \(sha256 [0-9a-f]{12}\)\n", second.output)
    assert count(cli.url, ProcessDefinition) == 1


def test_deploying_a_bad_file_exits_1_and_stores_nothing(cli, tmp_path):
    bad = tmp_path / "bad.bpmn"
    bad.write_bytes(CASEWORK.read_bytes().replace(b'id="test.gap"', b'id="os.system"'))  # and test.gap is unknown
    result = cli("deploy", bad)
    assert result.exit_code == 1
    assert "bad.bpmn:" in result.output
    assert "[assess]: service task calls unknown operation 'os.system'" in result.output
    assert count(cli.url, ProcessDefinition) == 0


def test_create_user_with_valid_fields_creates_the_account(cli):
    result = cli("create-user", "zhang", "--password", "long-enough-1", "--role", "caseworker",
                 "--region", "370827101", "--name", "张经办")
    assert result.exit_code == 0, result.output
    assert result.output == "created caseworker 'zhang' for region 370827101\n"
    assert count(cli.url, UserAccount) == 1


def test_create_user_with_invalid_fields_lists_each_field_and_creates_nothing(cli):
    result = cli("create-user", "z", "--password", "short", "--role", "root", "--region", "3708")
    assert result.exit_code == 1
    assert "error: the account is invalid" in result.output
    for field in ("username", "password", "role"):
        assert f"  {field}: " in result.output
    assert "  region: " not in result.output   # 4 digits is a valid city prefix
    assert count(cli.url, UserAccount) == 0


def test_create_user_with_an_unpadded_region_of_the_wrong_length_is_refused(cli):
    result = cli("create-user", "zhang", "--password", "long-enough-1", "--role", "caseworker", "--region", "37082")
    assert result.exit_code == 1
    assert "  region: a region code of 2, 4, 6, 9 or 12 digits" in result.output


def test_create_user_twice_is_a_conflict(cli):
    args = ("create-user", "zhang", "--password", "long-enough-1", "--role", "caseworker", "--region", "370827101")
    assert cli(*args).exit_code == 0
    again = cli(*args)
    assert again.exit_code == 1
    assert "already exists" in again.output
    assert count(cli.url, UserAccount) == 1


def test_the_demo_data_loads_once_and_a_second_run_changes_nothing(cli):
    first = cli("demo")
    assert first.exit_code == 0, first.output
    users = count(cli.url, UserAccount)
    assert users >= 7
    second = cli("demo")
    assert second.exit_code == 0, second.output
    assert count(cli.url, UserAccount) == users
    assert second.output.strip() == ""  # nothing new to load: what exists is left as it is
