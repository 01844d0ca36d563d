"""The plugin contract: every hook a relief-programme plugin may implement.

One file, hooks prefixed ``jishijiu_``, grouped by lifecycle (programme → assessment → case and
task → notification).  pluggy calls every hook with keyword arguments only; an implementation may
accept any subset of a hook's parameters, by name.  Hooks take and return the frozen dataclasses of
:mod:`engine.casework.types` (or plain mappings) — never ORM rows or SpiffWorkflow objects.

Each hook is documented with one template: summary; whether it stops at the first non-None result;
each parameter; the return value.  ``docs/plugins.md`` has a section per hook and
``tests/plugins/test_hookspecs.py`` a test per hook; two tests there fail when a hook lacks either.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from engine.casework.types import (
        Assessment, DeliveryRecord, Entitlement, Household, Notification, ProgrammeInfo,
        ReferralTarget, ReviewResult, ServiceOperation, Standard,
    )

PROJECT = "jishijiu"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --------------------------------------------------------------------------- programme

@hookspec
def jishijiu_programme() -> ProgrammeInfo:
    """Describe the programme this plugin provides.

    Not firstresult: every programme plugin answers; the engine lists them and refuses two plugins
    claiming the same ``code``.

    :return: a :class:`ProgrammeInfo` — ``code`` (e.g. ``"dibao"``), Chinese and English names, a
        description, the conditions in plain Chinese, the documents a family may need, the
        ``rule_version``, the ``options`` its assessment accepts, the ``benefit`` kind
        (``monthly`` / ``one_off`` / ``status``) and ``excluded_by``: programmes (or
        ``"marginal"``) that take a member first in a combined assessment; optionally, for the public
        policy guide (docs/public.md), ``amounts`` (lines with ``{standard_field}`` placeholders) and
        ``where_to_apply``.
    """


@hookspec
def jishijiu_default_settings() -> Mapping[str, Any]:
    """Give the default value of every setting the plugin reads.

    Not firstresult: all defaults are merged by :func:`engine.plugins.load_settings`; a key
    offered by two plugins is an error, and configuration may only override known keys.

    :return: a mapping ``"<programme>.<key>" → value`` (bool, int, str — money and multipliers as
        decimal strings — or lists of those), normally read from the plugin's ``settings.toml``.
        Every local or assumed value ([A] in DOMAIN.md) must be a setting, never a literal.
    """


@hookspec
def jishijiu_check_settings(settings: Mapping[str, Any]) -> Mapping[str, list[str]]:
    """Check the merged settings the plugin reads, so bad configuration fails at start-up.

    Not firstresult: the problems of all plugins are merged by
    :func:`engine.plugins.load_settings`, which raises one ValidationError listing them.

    :param settings: all merged settings (defaults overridden by configuration).
    :return: ``{"<programme>.<key>": [messages]}`` for every value the plugin cannot use; an empty
        mapping when all is well.
    """


@hookspec
def jishijiu_form_schemas() -> Mapping[str, type]:
    """Offer the marshmallow schemas of the plugin's forms.

    Not firstresult: schemas of all plugins are merged; a form key offered twice is an error.

    :return: a mapping ``form_key → marshmallow Schema class``; form keys are
        ``"<programme>.<form>"`` and are what a BPMN user task names as its ``formKey``.  Field
        errors are keyed by field name.
    """


# --------------------------------------------------------------------------- assessment

@hookspec(firstresult=True)
def jishijiu_assess(programme: str, household: Household, standard: Standard, as_of: date,
                    options: Mapping[str, Any], settings: Mapping[str, Any],
                    excluded: Mapping[int, str]) -> Assessment | None:
    """Decide eligibility and amounts of one programme for one household.

    firstresult: the first non-None answer wins, so a plugin answers only when ``programme`` is
    its own code and returns None otherwise.  Invalid ``options`` raise
    :class:`engine.errors.ValidationError` with fields ``"options.<name>"``.

    :param programme: the programme code asked for.
    :param household: the household as investigated.
    :param standard: the standards row in force for the household's region on ``as_of``.
    :param as_of: the date the decision speaks for (ages, school status, standards).
    :param options: programme-specific answers from the application form (e.g. linshi
        ``relief_type``, tekun ``prefers_orphan_allowance``); see ``ProgrammeInfo.options``.
    :param settings: all merged settings (``"<programme>.<key>"`` and ``"casework.<key>"``).
    :param excluded: member index → code of the programme that already covers that member; such
        members must not be covered again (e.g. tekun takes a member before dibao does).
    :return: an :class:`Assessment` (amounts ``Decimal``, reasons with stable codes, the plugin's
        ``rule_version``), or None when ``programme`` is not yours.
    """


@hookspec(firstresult=True)
def jishijiu_entitlement(programme: str, assessment: Assessment, decided_on: date,
                         settings: Mapping[str, Any]) -> Entitlement | None:
    """Turn an approved assessment into what is paid and from when.

    firstresult: only the plugin owning ``programme`` answers; others return None.

    :param programme: the programme code.
    :param assessment: the eligible assessment that was approved.
    :param decided_on: the date of the approval (审核确认 / 审批).
    :param settings: all merged settings.
    :return: an :class:`Entitlement` — monthly and one-off amounts and ``start_month`` (dibao and
        tekun pay from the month after approval [N]; temporary relief in the same month) — or None.
    """


@hookspec(firstresult=True)
def jishijiu_review(programme: str, household: Household, previous_household: Household | None,
                    standard: Standard, as_of: date, in_force: Assessment,
                    options: Mapping[str, Any], settings: Mapping[str, Any]
                    ) -> ReviewResult | None:
    """Review a current recipient against changed data (在保必核, age-cap reviews).

    firstresult: only the plugin owning ``programme`` answers; others return None.

    :param programme: the programme code.
    :param household: the household as it is now.
    :param previous_household: the household as it was when ``in_force`` was decided, if known
        (dibao needs it to tell whether employment lifted the income: the taper period).
    :param standard: the standards row in force on ``as_of``.
    :param as_of: the review date.
    :param in_force: the assessment currently being paid.
    :param options: review answers (e.g. dibao ``taper_ends`` while a taper runs).
    :param settings: all merged settings.
    :return: a :class:`ReviewResult` with ``action`` ``continue`` / ``adjust`` / ``taper`` /
        ``stop``, the new monthly amount, ``effective_from``, reasons and any follow-up screening,
        or None.
    """


# --------------------------------------------------------------------------- case and task

@hookspec
def jishijiu_service_operations() -> Sequence[ServiceOperation]:
    """Register the operations BPMN service tasks may call.

    Not firstresult: operations of all plugins are collected; a name registered twice is an
    error.  The engine calls nothing a plugin has not registered here.

    :return: a list of :class:`ServiceOperation` named ``"<programme>.<operation>"`` whose
        ``func(request: ServiceRequest) -> dict`` returns JSON-safe values (Decimals as strings)
        that the engine merges into the task data.
    """


@hookspec
def jishijiu_referral_targets(household: Household, assessments: Mapping[str, Assessment],
                              settings: Mapping[str, Any]) -> Sequence[ReferralTarget]:
    """Suggest referral slips (转办单) that follow from the decisions on a household.

    Not firstresult: every plugin's suggestions are concatenated.

    :param household: the household decided on.
    :param assessments: programme code → assessment, from the same (combined) assessment.
    :param settings: all merged settings (due days are settings).
    :return: a list of :class:`ReferralTarget` (department, purpose, due working days; feedback is
        always required); empty when nothing follows.
    """


# --------------------------------------------------------------------------- notification

@hookspec
def jishijiu_notify(notification: Notification, settings: Mapping[str, Any]
                    ) -> Sequence[DeliveryRecord]:
    """Deliver a notification through a channel the plugin provides (SMS, WeChat, …).

    Not firstresult: every channel plugin may deliver; a plugin that does not handle
    ``notification.channel`` returns an empty list.

    :param notification: what to send, to whom, on which channel.
    :param settings: all merged settings (gateway addresses and the like are settings).
    :return: a list of :class:`DeliveryRecord` (``sent`` / ``queued`` / ``failed``, with the
        gateway's reference) for the engine to store.
    """
