"""The plugin contract (engine/hookspecs.py) and the manager (engine/plugins.py).

Like datasette: every hook has a test here named ``test_hook_<hook>`` and a section in
docs/plugins.md, and the first two tests fail when a hook lacks either.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
from datetime import date
from pathlib import Path

import pluggy
import pytest
from marshmallow import Schema

import plugins
from engine import hookspecs
from engine.casework.types import (
    Assessment, DeliveryRecord, Notification, ProgrammeInfo, ServiceRequest,
)
from engine.errors import Conflict, ValidationError
from engine.hookspecs import hookimpl
from engine.plugins import (
    form_schemas, load_form, load_settings, make_plugin_manager, notify, programmes,
    service_operations,
)

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "plugins.md"
BUILTINS = ("dibao", "tekun", "linshi", "charity")
HOOKS = sorted(name for name, value in vars(hookspecs).items()
               if name.startswith("jishijiu_") and inspect.isfunction(value))
AS_OF = date(2023, 4, 1)


@pytest.fixture
def family(build):
    return build.household([
        build.member(born="1950-01-01", disability={"category": "physical", "grade": 1},
                     income={"transfer": "100"}),
        build.member(relation="son", born="1980-01-01", income={"wages": "1500"})],
        expenses_12m={"medical": "36000"})


# --------------------------------------------------------------------------- the meta-tests

def test_every_hook_has_a_test_named_after_it():
    missing = [hook for hook in HOOKS if f"test_hook_{hook}" not in globals()]
    assert not missing, f"hooks without a test_hook_<name> test: {missing}"


def test_every_hook_has_a_section_in_the_plugin_guide():
    text = DOCS.read_text(encoding="utf-8")
    missing = [hook for hook in HOOKS if not re.search(rf"^#### `{hook}`$", text, flags=re.M)]
    assert not missing, f"hooks without a '#### `<name>`' section in docs/plugins.md: {missing}"


def test_every_hook_is_documented_with_the_template():
    for hook in HOOKS:
        spec = getattr(hookspecs, hook)
        doc = inspect.getdoc(spec) or ""
        summary, _, body = doc.partition("\n\n")
        firstresult = spec.jishijiu_spec["firstresult"]
        assert summary.endswith("."), hook
        assert body.startswith("firstresult:" if firstresult else "Not firstresult:"), hook
        for parameter in inspect.signature(spec).parameters:
            assert f":param {parameter}:" in doc, (hook, parameter)
        assert ":return:" in doc, hook


def test_hooks_are_grouped_and_prefixed():
    source = inspect.getsource(hookspecs)
    groups = re.findall(r"^# -+ (\w[\w ]*)$", source, flags=re.M)
    assert groups == ["programme", "assessment", "case and task", "notification"]
    assert all(hook.startswith("jishijiu_") for hook in HOOKS)


# --------------------------------------------------------------------------- one test per hook

def test_hook_jishijiu_programme(pm):
    found = programmes(pm)
    assert set(BUILTINS) <= set(found)
    for code in BUILTINS:
        info = found[code]
        assert isinstance(info, ProgrammeInfo) and info.code == code
        assert info.name_zh and info.name_en and info.conditions and info.documents
        assert info.rule_version.startswith(f"{code}/")
    assert found["dibao"].excluded_by == ("tekun",)
    assert found["linshi"].options == ("relief_type", "urgency", "requested_amount", "cause")


def test_hook_jishijiu_default_settings(pm):
    for name, plugin in pm.list_name_plugin():
        defaults = plugin.jishijiu_default_settings()
        assert defaults and all(key.startswith(f"{name}.") for key in defaults), name
        assert name == "casework" or defaults[f"{name}.enabled"] is True


def test_hook_jishijiu_check_settings(pm):
    assert all(found == {} for found in pm.hook.jishijiu_check_settings(
        settings=load_settings(pm)))
    with pytest.raises(ValidationError) as refused:
        load_settings(pm, {"dibao.taper_months": 7, "linshi.paperwork_day_kind": "lunar",
                           "charity.medical_bands": []})
    assert set(refused.value.fields) == {"dibao.taper_months", "linshi.paperwork_day_kind",
                                         "charity.medical_bands"}


def test_hook_jishijiu_form_schemas(pm):
    forms = form_schemas(pm)
    assert {key.split(".")[0] for key in forms} == set(BUILTINS)
    assert all(issubclass(schema, Schema) for schema in forms.values())
    assert {f"{code}.assess_options" for code in BUILTINS} <= set(forms)
    with pytest.raises(ValidationError) as refused:
        load_form(forms["linshi.approval"], {"amount": "abc", "approver_level": "province"})
    assert set(refused.value.fields) == {"amount", "approver_level"}


def test_hook_jishijiu_assess(pm, family, jining_2022, settings):
    for code in BUILTINS:
        answer = pm.hook.jishijiu_assess(programme=code, household=family, standard=jining_2022,
                                         as_of=AS_OF, options={}, settings=settings, excluded={})
        assert isinstance(answer, Assessment) and answer.programme == code
    assert pm.hook.jishijiu_assess(programme="nobody", household=family, standard=jining_2022,
                                   as_of=AS_OF, options={}, settings=settings,
                                   excluded={}) is None


def test_hook_jishijiu_entitlement(pm, settings):
    approved = Assessment(programme="tekun", eligible=True, rule_version="tekun/2025.1",
                          monthly_amount=D("1080"), covered_members=(0,))
    granted = pm.hook.jishijiu_entitlement(programme="tekun", assessment=approved,
                                           decided_on=date(2022, 9, 28), settings=settings)
    assert granted.start_month == date(2022, 10, 1)
    assert pm.hook.jishijiu_entitlement(programme="nobody", assessment=approved,
                                        decided_on=AS_OF, settings=settings) is None


def test_hook_jishijiu_review(pm, family, jining_2022, settings):
    in_force = Assessment(programme="dibao", eligible=True, rule_version="dibao/2025.1",
                          monthly_amount=D("800"), covered_members=(0, 1))
    result = pm.hook.jishijiu_review(programme="dibao", household=family, previous_household=None,
                                     standard=jining_2022, as_of=AS_OF, in_force=in_force,
                                     options={}, settings=settings)
    assert result.programme == "dibao" and result.action in ("continue", "adjust")
    none = pm.hook.jishijiu_review(programme="linshi", household=family, previous_household=None,
                                   standard=jining_2022, as_of=AS_OF, in_force=in_force,
                                   options={}, settings=settings)
    assert none is None  # temporary relief is one-off: nothing to review


D = __import__("decimal").Decimal
IN_FORCE = {"programme": "dibao", "eligible": True, "monthly_amount": "800.00",
            "one_off_amount": "0.00", "covered_members": [0, 1], "marginal": None, "reasons": [],
            "rule_version": "dibao/2025.1"}
SAMPLE_PARAMS = {
    "dibao.assess": {},
    "dibao.entitlement": {"decided_on": "2023-04-20"},
    "dibao.review": {"in_force": IN_FORCE},
    "tekun.assess": {},
    "tekun.entitlement": {"decided_on": "2023-04-20"},
    "tekun.review": {"in_force": {**IN_FORCE, "programme": "tekun", "covered_members": [0],
                                  "monthly_amount": "1490.00"}},
    "tekun.self_care": {"self_care_lost": 5},
    "linshi.assess": {"relief_type": "expenditure", "requested_amount": "6000",
                      "cause": "medical"},
    "linshi.route": {"amount": "6000", "relief_type": "expenditure"},
    "linshi.approve": {"amount": "6000", "approver_level": "county"},
    "linshi.stage_plan": {"total": "6000", "stages": 2, "first_due": "2023-04-20"},
    "linshi.deadlines": {"urgency": "especially_urgent"},
    "linshi.entitlement": {"decided_on": "2023-04-20", "assessment": {
        **IN_FORCE, "programme": "linshi", "monthly_amount": "0.00",
        "one_off_amount": "6000.00"}},
    "charity.assess": {"referred_from": "dibao"},
    "charity.grade": {"out_of_pocket": "36000"},
    "charity.can_pay": {"balance": "5000", "amount": "6000"},
}


def test_hook_jishijiu_service_operations(pm, family, jining_2022, settings):
    operations = service_operations(pm)
    assert set(operations) == set(SAMPLE_PARAMS), "give every new operation a sample here"
    for name, operation in operations.items():
        programme = name.split(".")[0]
        result = operation.func(ServiceRequest(operation=name, params=SAMPLE_PARAMS[name],
                                               household=family, standard=jining_2022,
                                               as_of=AS_OF, settings=settings))
        assert json.loads(json.dumps(result)) == result, name  # JSON-safe, Decimals as strings
        assert all(key.startswith(f"{programme}_") for key in result), name
        assert operation.description and issubclass(operation.params_schema, Schema)


def test_hook_jishijiu_referral_targets(pm, family, jining_2022, settings):
    dibao = pm.hook.jishijiu_assess(programme="dibao", household=family, standard=jining_2022,
                                    as_of=AS_OF, options={}, settings=settings, excluded={})
    batches = pm.hook.jishijiu_referral_targets(household=family, assessments={"dibao": dibao},
                                                settings=settings)
    codes = {target.code for batch in batches for target in batch}
    assert codes == {"dibao.medical_assistance", "dibao.disability_subsidy",
                     "charity.graded_medical_relief"}


class FakeSms:
    """A channel plugin: what an SMS gateway package would register."""

    @hookimpl
    def jishijiu_notify(self, notification):
        if notification.channel != "sms":
            return []
        return [DeliveryRecord(channel="sms", plugin="fake-sms", status="sent",
                               reference=f"sms-{notification.recipient[-4:]}")]


def test_hook_jishijiu_notify(settings):
    pm = make_plugin_manager(extra=[FakeSms()])
    message = Notification(kind="decision", channel="sms", recipient="13800001234",
                           subject="低保审核结果", body="您的低保申请已批准。")
    assert notify(pm, message, settings) == [
        DeliveryRecord(channel="sms", plugin="fake-sms", status="sent", reference="sms-1234")]
    wechat = Notification(kind="decision", channel="wechat", recipient="o-1", subject="", body="")
    assert notify(pm, wechat, settings) == []


# --------------------------------------------------------------------------- the manager

def test_builtin_programmes_come_from_the_jishijiu_plugins_entry_points(pm):
    loaded = {pm.get_name(plugin): dist.project_name for plugin, dist in pm.list_plugin_distinfo()}
    assert {name: loaded.get(name) for name in BUILTINS} == dict.fromkeys(BUILTINS, "jishijiu")


def test_builtin_plugins_are_imported_from_the_project_not_a_test_folder():
    # A 'tests' folder on sys.path would turn 'plugins' into a namespace package of test folders.
    assert Path(plugins.__file__).resolve().parent == ROOT / "plugins"


def test_allowlist_narrows_the_plugins_loaded():
    pm = make_plugin_manager(allowlist=["linshi"])
    assert list(programmes(pm)) == ["linshi"]
    assert {key.split(".")[0] for key in load_settings(pm)} == {"linshi", "casework"}


def test_allowlist_naming_an_uninstalled_plugin_is_a_configuration_error():
    with pytest.raises(ValidationError) as refused:
        make_plugin_manager(allowlist=["dibao", "housing"])
    assert refused.value.fields == {"allowlist": ["not installed: housing"]}


def test_extra_plugins_are_checked_against_the_specs():
    class Typo:
        @hookimpl
        def jishijiu_asess(self, programme):
            return None

    with pytest.raises(pluggy.PluginValidationError):
        make_plugin_manager(allowlist=[], extra=[Typo()])


def test_two_plugins_claiming_one_programme_are_refused():
    class Impostor:
        @hookimpl
        def jishijiu_programme(self):
            return ProgrammeInfo(code="dibao", name_zh="假", name_en="fake", description="",
                                 conditions=(), documents=(), rule_version="x/1")

    with pytest.raises(Conflict):
        make_plugin_manager(extra=[Impostor()])


def test_settings_merge_defaults_with_flat_or_nested_overrides(pm):
    merged = load_settings(pm, {"tekun.minor_age_cap": 16, "linshi": {"paperwork_days": 3}})
    assert merged["tekun.minor_age_cap"] == 16 and merged["linshi.paperwork_days"] == 3
    assert merged["dibao.taper_months"] == 6
    with pytest.raises(TypeError):
        merged["dibao.taper_months"] = 3  # read-only


def test_unknown_settings_and_wrong_kinds_are_refused(pm):
    with pytest.raises(ValidationError) as refused:
        load_settings(pm, {"dibao.taper_month": 3, "tekun.minor_age_cap": "16",
                           "dibao.enabled": "yes"})
    assert refused.value.fields == {"dibao.taper_month": ["unknown setting"],
                                    "tekun.minor_age_cap": ["must be a int like the default"],
                                    "dibao.enabled": ["must be a bool like the default"]}


def test_a_setting_offered_by_two_plugins_is_a_conflict():
    class Squatter:
        @hookimpl
        def jishijiu_default_settings(self):
            return {"dibao.taper_months": 3}

    with pytest.raises(Conflict):
        load_settings(make_plugin_manager(extra=[Squatter()]))


def test_service_operations_must_be_named_programme_dot_operation():
    from engine.casework.types import ServiceOperation

    class Sloppy:
        @hookimpl
        def jishijiu_service_operations(self):
            return [ServiceOperation(name="assess", func=lambda request: {}, description="")]

    with pytest.raises(ValidationError):
        service_operations(make_plugin_manager(allowlist=[], extra=[Sloppy()]))


# --------------------------------------------------------------------------- conventions

def plugin_dirs() -> list[Path]:
    return [ROOT / "plugins" / code for code in BUILTINS]


def test_every_programme_folder_has_the_same_shape():
    for folder in plugin_dirs():
        files = {p.name for p in folder.iterdir() if p.is_file()}
        assert {"__init__.py", "rules.py", "schemas.py", "operations.py", "settings.toml",
                "README.md"} <= files, folder.name


def test_plugin_init_modules_hold_only_hook_implementations():
    for code in BUILTINS:
        module = __import__(f"plugins.{code}", fromlist=["_"])
        own = [f for f in vars(module).values()
               if inspect.isfunction(f) and f.__module__ == module.__name__]
        assert own and all(hasattr(f, "jishijiu_impl") for f in own), code


def test_engine_and_plugin_code_never_imports_orm_web_or_workflow_libraries():
    casework = ("types", "idnumber", "income", "standards", "assessment")
    files = [ROOT / "engine" / "hookspecs.py", ROOT / "engine" / "plugins.py",
             *(ROOT / "engine" / "casework" / f"{name}.py" for name in casework),
             *(ROOT / "plugins").rglob("*.py")]
    banned = ("sqlalchemy", "flask", "SpiffWorkflow", "web")
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not [n for n in names if n.split(".")[0] in banned], (path, names)


def test_every_setting_default_carries_a_source_tag():
    """Each key (or [[table]]) sits under a comment paragraph naming its source: [A], [N…], [S…]."""
    tag = re.compile(r"\[(A|N\*?|S[0-4D])[\]/;, ]")
    for folder in plugin_dirs():
        comment, table, tagged_tables = "", None, set()
        for line in (folder / "settings.toml").read_text(encoding="utf-8").splitlines():
            if not line.strip():
                comment = ""
            elif line.startswith("#"):
                comment += line
            elif line.startswith("[["):
                table = line
                if tag.search(comment):
                    tagged_tables.add(table)
                assert table in tagged_tables, (folder.name, line)
            elif table is None:  # a top-level key (array-of-tables entries inherit their tag)
                assert tag.search(comment), (folder.name, line)


def test_every_reason_code_is_listed_in_the_plugin_guide():
    text = DOCS.read_text(encoding="utf-8")
    codes = ["casework.member_excluded"]
    for code in BUILTINS:
        codes += list(__import__(f"plugins.{code}.rules", fromlist=["_"]).REASONS)
    missing = [c for c in codes if f"`{c}`" not in text]
    assert not missing, f"reason codes missing from docs/plugins.md: {missing}"


def test_every_programme_readme_gives_the_rules_with_source_tags():
    for folder in plugin_dirs():
        text = (folder / "README.md").read_text(encoding="utf-8")
        assert "[N" in text and "[A]" in text, folder.name
