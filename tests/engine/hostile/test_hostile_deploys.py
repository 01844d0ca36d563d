"""Documents that pass the XML and BPMN checks but do not fit the database are refused before it, on both.

Every refusal must be a DefinitionError with nothing written — never a raw database error (a 500).
"""

from __future__ import annotations

import pytest
from sqlalchemy.exc import SQLAlchemyError

from engine import bootstrap
from engine.errors import DefinitionError
from tests.engine.conftest import DESIGNER, _gap
from tests.engine.hostile.conftest import stored_rows
from tests.engine.hostile.documents import valid_bpmn

DOES_NOT_FIT = {
    "a-process-without-an-id": (valid_bpmn().replace('<bpmn:process id="hostile" ', "<bpmn:process "), "p.bpmn"),
    "a-process-id-of-200-characters": (valid_bpmn(process_id="p" + "x" * 199), "p.bpmn"),
    "a-process-name-of-300-characters": (valid_bpmn().replace('name="Hostile base"', f'name="{"名" * 300}"'),
                                         "p.bpmn"),
    "a-file-name-of-300-characters": (valid_bpmn(), "f" * 295 + ".bpmn"),
}


@pytest.fixture
def deploy_services(database_url):
    svc = bootstrap.build({"DATABASE_URL": database_url, "TESTING": True, "PLUGINS": []})
    svc.services.register("test.gap", _gap)
    yield svc
    svc.close()


@pytest.mark.parametrize("name", list(DOES_NOT_FIT))
def test_a_definition_that_does_not_fit_the_tables_is_refused_naming_the_file(name, deploy_services):
    text, filename = DOES_NOT_FIT[name]
    before = stored_rows(deploy_services)
    with pytest.raises(DefinitionError) as refused:
        deploy_services.engine.deploy(text.encode(), filename, actor=DESIGNER)
    assert refused.value.file == filename[-255:] or filename in str(refused.value)
    assert stored_rows(deploy_services) == before


def test_a_refused_deploy_writes_nothing_on_either_database(deploy_services):
    before = stored_rows(deploy_services)
    with pytest.raises(DefinitionError):
        deploy_services.engine.deploy(valid_bpmn(condition="__import__('os')").encode(), "evil.bpmn",
                                      actor=DESIGNER)
    with pytest.raises(DefinitionError):
        deploy_services.engine.deploy(b"<!DOCTYPE x><x/>", "evil.bpmn", actor=DESIGNER)
    assert stored_rows(deploy_services) == before
    deploy_services.engine.deploy(valid_bpmn().encode(), "good.bpmn", actor=DESIGNER)
    assert stored_rows(deploy_services) == (before[0] + 1, before[1] + 1)
