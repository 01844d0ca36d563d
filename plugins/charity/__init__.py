"""Charity emergency relief (慈善救急难) as a jishijiu plugin: hook implementations only.

The rules are in ``rules.py``, the forms in ``schemas.py``, the defaults in ``settings.toml``,
the rules in plain words in ``README.md``.  Registered through the ``jishijiu.plugins`` entry point.
"""

from __future__ import annotations

from dataclasses import replace

import pluggy

from engine.plugins import check_with, read_settings_file
from plugins.charity import operations, rules, schemas

hookimpl = pluggy.HookimplMarker("jishijiu")


# What the public policy guide (码上知) shows besides the programme's conditions and documents.
PUBLIC_AMOUNTS = (
    "按近12个月医疗、康复自付费用所在档次给予一次性救助。",
)
WHERE_TO_APPLY = "经乡镇（街道）民政办转介至县（市、区）慈善总会，或向村（居）社会救助工作站反映"


@hookimpl
def jishijiu_programme():
    return replace(rules.PROGRAMME, amounts=PUBLIC_AMOUNTS, where_to_apply=WHERE_TO_APPLY)


@hookimpl
def jishijiu_default_settings():
    return read_settings_file(__name__, rules.CODE)


@hookimpl
def jishijiu_check_settings(settings):
    return check_with(rules.CharitySettings.from_mapping, settings)


@hookimpl
def jishijiu_form_schemas():
    return schemas.FORMS


@hookimpl
def jishijiu_assess(programme, household, options, settings):
    if programme != rules.CODE:
        return None
    return rules.assess(household=household, settings=rules.CharitySettings.from_mapping(settings),
                        **schemas.load_assess_options(options))


@hookimpl
def jishijiu_entitlement(programme, assessment, decided_on):
    if programme != rules.CODE:
        return None
    return rules.entitlement(assessment=assessment, decided_on=decided_on)


@hookimpl
def jishijiu_service_operations():
    return operations.OPERATIONS


@hookimpl
def jishijiu_referral_targets(household, assessments, settings):
    return rules.referral_targets(household=household, assessments=assessments,
                                  settings=rules.CharitySettings.from_mapping(settings))
