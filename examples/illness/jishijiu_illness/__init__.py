"""因病致贫重病患者 (patients impoverished by illness) — a jishijiu programme in its own package.

Only hook implementations that delegate.  jishijiu finds this module through the
``jishijiu.plugins`` entry point declared in this package's pyproject.toml; importing it registers
nothing.
"""

from __future__ import annotations

import pluggy

from engine.plugins import check_with, read_settings_file
from jishijiu_illness import operations, rules, schemas

hookimpl = pluggy.HookimplMarker("jishijiu")


@hookimpl
def jishijiu_programme():
    return rules.PROGRAMME


@hookimpl
def jishijiu_default_settings():
    return read_settings_file(__name__, rules.CODE)


@hookimpl
def jishijiu_check_settings(settings):
    return check_with(rules.IllnessSettings.from_mapping, settings)


@hookimpl
def jishijiu_form_schemas():
    return schemas.FORMS


@hookimpl
def jishijiu_assess(programme, household, standard, options, settings, excluded):
    if programme != rules.CODE:
        return None
    schemas.load_assess_options(options)
    return rules.assess(household=household, standard=standard,
                        settings=rules.IllnessSettings.from_mapping(settings), excluded=excluded)


@hookimpl
def jishijiu_service_operations():
    return operations.OPERATIONS


@hookimpl
def jishijiu_referral_targets(assessments, settings):
    return rules.referral_targets(assessment=assessments.get(rules.CODE),
                                  settings=rules.IllnessSettings.from_mapping(settings))
