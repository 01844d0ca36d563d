"""Extreme-poverty support (特困人员救助供养) as a jishijiu plugin: hook implementations only.

The rules are in ``rules.py``, the forms in ``schemas.py``, the defaults in ``settings.toml``,
the rules in plain words in ``README.md``.  Registered through the ``jishijiu.plugins`` entry point.
"""

from __future__ import annotations

from dataclasses import replace

import pluggy

from engine.plugins import check_with, read_settings_file
from plugins.tekun import operations, rules, schemas

hookimpl = pluggy.HookimplMarker("jishijiu")


# What the public policy guide (码上知) shows besides the programme's conditions and documents.
PUBLIC_AMOUNTS = (
    "城市基本生活标准：每人每月{tekun_urban}元；农村：每人每月{tekun_rural}元。",
    "照料护理标准（每人每月）：具备自理能力{care_self}元，部分丧失{care_partial}元，完全丧失{care_total}元。",
    "按月发放基本生活费加照料护理费，批准的次月起发放。",
)
WHERE_TO_APPLY = "户籍所在地乡镇（街道）民政办，或由村（居）社会救助工作站协理员帮办代办"


@hookimpl
def jishijiu_programme():
    return replace(rules.PROGRAMME, amounts=PUBLIC_AMOUNTS, where_to_apply=WHERE_TO_APPLY)


@hookimpl
def jishijiu_default_settings():
    return read_settings_file(__name__, rules.CODE)


@hookimpl
def jishijiu_check_settings(settings):
    return check_with(rules.TekunSettings.from_mapping, settings)


@hookimpl
def jishijiu_form_schemas():
    return schemas.FORMS


@hookimpl
def jishijiu_assess(programme, household, standard, as_of, options, settings, excluded):
    if programme != rules.CODE:
        return None
    options = schemas.load_assess_options(options)
    return rules.assess(household=household, standard=standard, as_of=as_of,
                        settings=rules.TekunSettings.from_mapping(settings),
                        prefers_orphan_allowance=options["prefers_orphan_allowance"],
                        excluded=excluded)


@hookimpl
def jishijiu_entitlement(programme, assessment, decided_on):
    if programme != rules.CODE:
        return None
    return rules.entitlement(assessment=assessment, decided_on=decided_on)


@hookimpl
def jishijiu_review(programme, household, standard, as_of, in_force, settings):
    if programme != rules.CODE:
        return None
    return rules.review(household=household, standard=standard, as_of=as_of, in_force=in_force,
                        settings=rules.TekunSettings.from_mapping(settings))


@hookimpl
def jishijiu_service_operations():
    return operations.OPERATIONS
