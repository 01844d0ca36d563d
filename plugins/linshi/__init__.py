"""Temporary relief (临时救助) as a jishijiu plugin: hook implementations only.

The rules are in ``rules.py``, the forms in ``schemas.py``, the defaults in ``settings.toml``,
the rules in plain words in ``README.md``.  Registered through the ``jishijiu.plugins`` entry point.
"""

from __future__ import annotations

import pluggy

from engine.plugins import check_with, read_settings_file
from plugins.linshi import operations, rules, schemas

hookimpl = pluggy.HookimplMarker("jishijiu")


@hookimpl
def jishijiu_programme():
    return rules.PROGRAMME


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
