"""One application, every programme (一件事 / 五合一, DOMAIN §4).

:func:`assess_all` asks every enabled programme plugin about one household with one consent, one
check and one investigation behind it, and returns a combined answer: each programme's
:class:`Assessment`, the mutual exclusions applied, the referral slips that follow, the rule
versions and a fingerprint of the settings used.

Mutual exclusion is declared by the excluded programme (``ProgrammeInfo.excluded_by``): dibao says
``("tekun",)``, so tekun is assessed first and the members it covers are passed to dibao as
``excluded`` — dibao neither counts nor pays them — and a ``casework.member_excluded`` reason says
so.  ``"marginal"`` in ``excluded_by`` stands for the marginal register that the dibao assessment
decides (its ``marginal`` field).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import pluggy

from engine.casework.types import (
    Assessment, Entitlement, Household, ProgrammeInfo, Reason, ReferralTarget, ReviewResult,
    Standard,
)
from engine.errors import EngineError, NotFound, ValidationError
from engine.plugins import programmes as list_programmes
from engine.plugins import settings_digest

MARGINAL = "marginal"
_MARGINAL_SOURCE = "dibao"  # the programme whose assessment decides the marginal register


@dataclass(frozen=True, kw_only=True, slots=True)
class Exclusion:
    member: int  # index in household.members
    programme: str  # the programme the member was withheld from
    because_of: str  # the programme (or "marginal") that covers the member


@dataclass(frozen=True, kw_only=True, slots=True)
class CombinedAssessment:
    as_of: date
    assessments: Mapping[str, Assessment]  # in the order they were decided
    exclusions: tuple[Exclusion, ...]
    referrals: tuple[ReferralTarget, ...]
    rule_versions: Mapping[str, str]
    settings_digest: str

    @property
    def eligible_programmes(self) -> tuple[str, ...]:
        return tuple(code for code, a in self.assessments.items() if a.eligible)

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "assessments": {code: a.to_dict() for code, a in self.assessments.items()},
            "exclusions": [{"member": e.member, "programme": e.programme,
                            "because_of": e.because_of} for e in self.exclusions],
            "referrals": [r.to_dict() for r in self.referrals],
            "rule_versions": dict(self.rule_versions),
            "settings_digest": self.settings_digest,
        }


def assess_programme(pm: pluggy.PluginManager, *, programme: str, household: Household,
                     standard: Standard, as_of: date, settings: Mapping[str, Any],
                     options: Mapping[str, Any] | None = None,
                     excluded: Mapping[int, str] | None = None) -> Assessment:
    """One programme's assessment (``POST /programmes/{code}/assess``); NotFound if no plugin
    answers for ``programme``."""
    excluded = dict(excluded or {})
    answer = pm.hook.jishijiu_assess(programme=programme, household=household, standard=standard,
                                     as_of=as_of, options=dict(options or {}), settings=settings,
                                     excluded=excluded)
    if answer is None:
        raise NotFound(f"no plugin assesses the programme {programme!r}")
    if answer.programme != programme:
        raise EngineError(f"the plugin asked about {programme!r} answered for {answer.programme!r}")
    taken = set(answer.covered_members) & set(excluded)
    if taken:
        raise EngineError(f"{programme} covered excluded members {sorted(taken)}")
    return answer


def assess_all(pm: pluggy.PluginManager, *, household: Household, standard: Standard,
               as_of: date, settings: Mapping[str, Any],
               options_by_programme: Mapping[str, Mapping[str, Any]] | None = None,
               programmes: Iterable[str] | None = None) -> CombinedAssessment:
    """Assess every enabled programme (setting ``<code>.enabled``), or only ``programmes``.

    Invalid options of any programme are reported together: one ValidationError whose fields are
    prefixed with the programme code (``"tekun.options.prefers_orphan_allowance"``).
    """
    infos = list_programmes(pm)
    if programmes is None:
        chosen = [code for code in infos if settings.get(f"{code}.enabled", True)]
    else:
        chosen = list(dict.fromkeys(programmes))
        for code in chosen:
            if code not in infos:
                raise NotFound(f"no plugin provides the programme {code!r}")
    options_by_programme = options_by_programme or {}

    results: dict[str, Assessment] = {}
    taken_by: dict[int, list[str]] = {}  # member → programmes (and "marginal") covering it
    exclusions: list[Exclusion] = []
    problems: dict[str, list[str]] = {}
    for code in _decision_order(infos, chosen):
        info = infos[code]
        excluded = {member: next(c for c in codes if c in info.excluded_by)
                    for member, codes in taken_by.items()
                    if any(c in info.excluded_by for c in codes)}
        try:
            answer = assess_programme(pm, programme=code, household=household, standard=standard,
                                      as_of=as_of, settings=settings, excluded=excluded,
                                      options=options_by_programme.get(code))
        except ValidationError as exc:
            for key, messages in (exc.fields or {"_schema": [exc.message]}).items():
                problems[f"{code}.{key}"] = list(messages)
            continue
        if excluded:
            answer = replace(answer, reasons=answer.reasons + tuple(
                _excluded_reason(member, info, taker, infos) for member, taker in
                sorted(excluded.items())))
            exclusions += [Exclusion(member=m, programme=code, because_of=t)
                           for m, t in sorted(excluded.items())]
        results[code] = answer
        for member in answer.covered_members if answer.eligible else ():
            taken_by.setdefault(member, []).append(code)
        if answer.marginal is not None:
            for member in range(len(household.members)):
                if member not in answer.covered_members:
                    taken_by.setdefault(member, []).append(MARGINAL)
    if problems:
        raise ValidationError("the application is incomplete: " + ", ".join(sorted(problems)),
                              fields=problems)

    referrals: dict[str, ReferralTarget] = {}
    for batch in pm.hook.jishijiu_referral_targets(household=household, assessments=results,
                                                   settings=settings):
        for target in batch:
            referrals.setdefault(target.code, target)
    return CombinedAssessment(
        as_of=as_of, assessments=results, exclusions=tuple(exclusions),
        referrals=tuple(referrals.values()),
        rule_versions={code: a.rule_version for code, a in results.items()},
        settings_digest=settings_digest(settings))


def entitlement_for(pm: pluggy.PluginManager, *, assessment: Assessment, decided_on: date,
                    settings: Mapping[str, Any]) -> Entitlement:
    """What an approved assessment pays, and from when; refuses an ineligible assessment."""
    if not assessment.eligible:
        raise ValidationError("only an eligible assessment gives an entitlement",
                              fields={"assessment.eligible": ["must be true"]})
    answer = pm.hook.jishijiu_entitlement(programme=assessment.programme, assessment=assessment,
                                          decided_on=decided_on, settings=settings)
    if answer is None:
        raise NotFound(f"no plugin gives entitlements for {assessment.programme!r}")
    return answer


def review(pm: pluggy.PluginManager, *, household: Household, standard: Standard, as_of: date,
           in_force: Assessment, settings: Mapping[str, Any],
           previous_household: Household | None = None,
           options: Mapping[str, Any] | None = None) -> ReviewResult:
    """Review a current recipient of ``in_force.programme`` against the household as it is now."""
    answer = pm.hook.jishijiu_review(programme=in_force.programme, household=household,
                                     previous_household=previous_household, standard=standard,
                                     as_of=as_of, in_force=in_force, options=dict(options or {}),
                                     settings=settings)
    if answer is None:
        raise NotFound(f"no plugin reviews the programme {in_force.programme!r}")
    return answer


def _decision_order(infos: Mapping[str, ProgrammeInfo], chosen: list[str]) -> list[str]:
    """Chosen programmes, each after the programmes that may exclude its members (stable)."""
    def needs(code: str) -> set[str]:
        wanted = {_MARGINAL_SOURCE if c == MARGINAL else c for c in infos[code].excluded_by}
        return {c for c in wanted if c in chosen and c != code}

    order: list[str] = []
    pending = list(chosen)
    while pending:
        ready = [code for code in pending if needs(code) <= set(order)]
        if not ready:
            raise EngineError(f"programmes exclude each other in a cycle: {sorted(pending)}")
        order.append(ready[0])
        pending.remove(ready[0])
    return order


def _excluded_reason(member: int, info: ProgrammeInfo, taker: str,
                     infos: Mapping[str, ProgrammeInfo]) -> Reason:
    taker_name = "低保边缘家庭认定" if taker == MARGINAL else infos[taker].name_zh
    return Reason(code="casework.member_excluded",
                  message=f"第{member + 1}位家庭成员已纳入{taker_name}，"
                          f"不再计入{info.name_zh}（两项不可同时享受）。")
