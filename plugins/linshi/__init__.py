"""Temporary relief (临时救助) as a jishijiu plugin: hook implementations only.

The rules are in ``rules.py``, the forms in ``schemas.py``, the defaults in ``settings.toml``,
the rules in plain words in ``README.md``.  Registered through the ``jishijiu.plugins`` entry point.
"""

from __future__ import annotations

from dataclasses import replace

import pluggy

from engine.plugins import check_with, read_settings_file
from plugins.linshi import operations, rules, schemas

hookimpl = pluggy.HookimplMarker("jishijiu")


# What the public policy guide (码上知) shows besides the programme's conditions and documents.
PUBLIC_AMOUNTS = (
    "乡镇（街道）可直接审批{township_relief_limit}元以内的临时救助，从备用金即时发放。",
    "超过{township_relief_limit}元的报县级民政部门审批，大额可申请市级临时救助。",
    "急难型24小时内先行救助，特别紧急的2小时内，手续事后补办。",
)
WHERE_TO_APPLY = "急难发生地、户籍地或居住地乡镇（街道）民政办均可申请，不受户籍限制；也可扫码“码上办”求助"


@hookimpl
def jishijiu_programme():
    return replace(rules.PROGRAMME, amounts=PUBLIC_AMOUNTS, where_to_apply=WHERE_TO_APPLY)


@hookimpl
def jishijiu_default_settings():
    return read_settings_file(__name__, rules.CODE)


@hookimpl
def jishijiu_check_settings(settings):
    return check_with(rules.LinshiSettings.from_mapping, settings)


@hookimpl
def jishijiu_form_schemas():
    return schemas.FORMS


@hookimpl
def jishijiu_assess(programme, household, standard, as_of, options, settings):
    if programme != rules.CODE:
        return None
    return rules.assess(household=household, standard=standard, as_of=as_of,
                        settings=rules.LinshiSettings.from_mapping(settings),
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
def jishijiu_referral_targets(assessments, settings):
    return rules.referral_targets(assessment=assessments.get(rules.CODE),
                                  settings=rules.LinshiSettings.from_mapping(settings))
