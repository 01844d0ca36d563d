"""Dibao (最低生活保障) as a jishijiu plugin: hook implementations that delegate, nothing else.

The rules are in ``rules.py``, the forms in ``schemas.py``, the defaults in ``settings.toml``,
the rules in plain words in ``README.md``.  Registered through the ``jishijiu.plugins`` entry point.
"""

from __future__ import annotations

from dataclasses import replace

import pluggy

from engine.plugins import check_with, read_settings_file
from plugins.dibao import operations, rules, schemas

hookimpl = pluggy.HookimplMarker("jishijiu")


# What the public policy guide (码上知) shows besides the programme's conditions and documents.
PUBLIC_AMOUNTS = (
    "城市低保标准：每人每月{dibao_urban}元；农村低保标准：每人每月{dibao_rural}元。",
    "按家庭月人均收入与低保标准的差额（补差）按月发放，批准的次月起发放。",
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
    return check_with(rules.DibaoSettings.from_mapping, settings)


@hookimpl
def jishijiu_form_schemas():
    return schemas.FORMS


@hookimpl
def jishijiu_assess(programme, household, standard, as_of, options, settings, excluded):
    if programme != rules.CODE:
        return None
    schemas.load_assess_options(options)
    return rules.assess(household=household, standard=standard, as_of=as_of,
                        settings=rules.DibaoSettings.from_mapping(settings), excluded=excluded)


@hookimpl
def jishijiu_entitlement(programme, assessment, decided_on):
    if programme != rules.CODE:
        return None
    return rules.entitlement(assessment=assessment, decided_on=decided_on)


@hookimpl
def jishijiu_review(programme, household, previous_household, standard, as_of, in_force, options,
                    settings):
    if programme != rules.CODE:
        return None
    params = schemas.load_review_options(options)
    return rules.review(household=household, previous_household=previous_household,
                        standard=standard, as_of=as_of, in_force=in_force,
                        settings=rules.DibaoSettings.from_mapping(settings),
                        taper_ends=params["taper_ends"],
                        excluded={i: "excluded" for i in params["excluded_members"]})


@hookimpl
def jishijiu_service_operations():
    return operations.OPERATIONS


@hookimpl
def jishijiu_referral_targets(household, assessments, settings):
    return rules.referral_targets(household=household, assessment=assessments.get(rules.CODE),
                                  settings=rules.DibaoSettings.from_mapping(settings))
