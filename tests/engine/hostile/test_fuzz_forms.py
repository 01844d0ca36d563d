"""R5: the form and record parsers under random input (hypothesis) — every programme's marshmallow
forms and the strict doors for outside data (``Household.from_dict``, ``Standard.from_dict``) either
accept or raise their typed error naming the field; never anything else."""

from __future__ import annotations

import os

import marshmallow
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.casework.types import Household, Standard
from engine.errors import ValidationError
from tests.web.api.conftest import household

# quick in the normal suite; JISHIJIU_SOAK=1 (bench/reliability.py R5) runs the long fuzz
FUZZ = settings(max_examples=500 if os.environ.get("JISHIJIU_SOAK") else 30, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-10**30, max_value=10**30),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40),
                    st.sampled_from(["", "0", "-1", "1e400", "NaN", "370827198001011232", "2026-02-30",
                                     "尿毒症", "\x00", "<script>", "9" * 400]))
JSON = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                     st.dictionaries(st.text(max_size=12), inner, max_size=4)),
                    max_leaves=20)


def form_schemas() -> list[tuple[str, type]]:
    from engine import plugins as plugin_loader

    pm = plugin_loader.make_plugin_manager()
    found = []
    for forms in pm.hook.jishijiu_form_schemas():
        found.extend(sorted((forms or {}).items()))
    return found


FORMS = form_schemas()


def keyed(schema: type) -> st.SearchStrategy:
    """Objects using the form's own field names, so the fuzz reaches the field validators."""
    names = list(schema().fields) or ["x"]
    return st.dictionaries(st.sampled_from(names), JSON, max_size=len(names))


def test_there_are_forms_to_fuzz():
    assert len(FORMS) >= 4, FORMS


@pytest.mark.parametrize("form_key, schema", FORMS, ids=[key for key, _ in FORMS])
@FUZZ
@given(data=st.data())
def test_a_form_accepts_or_names_the_bad_fields(form_key, schema, data):
    value = data.draw(st.one_of(JSON, keyed(schema)))
    try:
        schema().load(value)
    except marshmallow.ValidationError as exc:
        assert exc.messages, form_key
        assert isinstance(exc.messages, (dict, list))


def mutated_household(draw) -> object:
    base = household()
    path = draw(st.sampled_from(["region_code", "hukou", "members", "assets", "expenses_12m", "supporters",
                                 "members.0", "members.0.id_number", "members.0.income",
                                 "members.0.income.wages", "members.0.birth_date", "members.0.disability"]))
    target, *rest = path.split(".")
    value = draw(JSON)
    if not rest:
        base[target] = value
    elif rest == ["0"]:
        base["members"][0] = value
    else:
        node = base["members"][0]
        for key in rest[1:-1]:
            node = node.setdefault(key, {}) if isinstance(node, dict) else node
        if isinstance(node, dict):
            node[rest[-1]] = value
    return base


@FUZZ
@given(data=st.data())
def test_household_from_dict_accepts_or_names_the_bad_fields(data):
    value = data.draw(st.one_of(JSON, st.builds(lambda: None).flatmap(lambda _: st.composite(
        lambda draw: mutated_household(draw))())))
    try:
        Household.from_dict(value)
    except ValidationError as exc:
        assert exc.fields, exc


@FUZZ
@given(value=JSON)
def test_standard_from_dict_accepts_or_names_the_bad_fields(value):
    try:
        Standard.from_dict(value)
    except ValidationError as exc:
        assert exc.fields, exc
