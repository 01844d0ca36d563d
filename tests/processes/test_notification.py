"""Proactive notification (主动告知): assess every programme from the household profile and tell the
family about the likely ones [N 57号 Art 6; 43号 Art 11]."""

from __future__ import annotations

from sqlalchemy import select

from engine.casework import referrals
from tests.processes.conftest import (
    RENCHENG_COMMUNITY, YUTAI_VILLAGE, at_the_line, create_household, fire_family, han_jin, start, widow,
)


def notify(services, household: dict):
    household_id = create_household(services, household)
    case = start(services, "notification", household_id, household["region_code"], {"reason": "画像更新"})
    with services.db.read() as s:
        sent = [(n.kind, n.programmes) for n in s.execute(select(referrals.NotificationRecord).where(
            referrals.NotificationRecord.instance_id == case.id)).scalars()]
    return case, sent


def test_a_family_likely_on_dibao_and_charity_is_told_about_both(services):
    case, sent = notify(services, han_jin())
    assert case.status == "completed"
    assert sent == [("policy_notice", ["dibao", "charity"])]
    assert case.data["likely"] == ["dibao", "charity"]


def test_a_widow_with_no_income_is_told_about_dibao(services):
    case, sent = notify(services, widow(YUTAI_VILLAGE))
    assert sent == [("policy_notice", ["dibao"])]


def test_a_family_at_the_line_is_told_about_the_marginal_register(services):
    case, sent = notify(services, at_the_line(RENCHENG_COMMUNITY))
    assert sent == [("policy_notice", ["marginal"])]


def test_a_family_above_every_line_gets_no_notice(services):
    case, sent = notify(services, fire_family())
    assert case.status == "completed"
    assert sent == [] and case.data["likely"] == []
