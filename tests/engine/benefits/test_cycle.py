"""The monthly payment cycle: decisions become entitlements, entitlements become bank lines — each
recipient, programme and month paid once — and the bank's answer is reconciled to the fen."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from engine.casework import funds, payments
from engine.casework.benefits import cycles, entitlements, figures
from engine.casework.benefits.models import EntitlementRow
from engine.errors import Conflict, NotAllowed, ValidationError
from engine.workflow import audit
from engine.workflow.models import AuditEvent
from tests.engine.benefits.conftest import CLERK, COUNTY
from tests.engine.benefits.helpers import (approve_and_lock, bank_result, draft, export, full_cycle, lines,
                                           reconcile_file, reference)


def _approve(county, i: int, amount: str = "1400", day: str = "2026-03-20") -> tuple[int, int]:
    county.set_date(day)
    hid = county.add_household(i)
    case = county.case(hid)
    county.decide(case, {"programme": "dibao", "decision": "approved", "monthly_amount": amount})
    return hid, case


def _balance(county) -> Decimal:
    with county.services.db.read() as s:
        return s.get(funds.Fund, county.fund_id).balance


def test_a_recipient_approved_on_the_20th_is_paid_from_the_next_month(county):
    hid, _ = _approve(county, 1, day="2026-03-20")
    march = draft(county, "2026-03")
    assert march["line_count"] == 0
    approve_and_lock(county, march["id"])
    april = draft(county, "2026-04")
    assert lines(county, april["id"]) == [(hid, "dibao", "2026-04", "regular", "1400.00", "pending")]


def test_a_late_approval_is_back_paid_in_the_next_batch_at_the_amount_of_each_month(county):
    county.set_date("2026-03-25")
    full_cycle(county, "2026-04")  # April's batch went to the bank before the approval below
    hid, _ = _approve(county, 2, day="2026-03-26")  # from April
    may = draft(county, "2026-05")
    assert lines(county, may["id"]) == [(hid, "dibao", "2026-04", "arrears", "1400.00", "pending"),
                                        (hid, "dibao", "2026-05", "regular", "1400.00", "pending")]
    assert may["total"] == "2800.00"


def test_a_taper_pays_the_configured_months_then_stops(county):
    hid, _ = _approve(county, 3, amount="2100", day="2026-02-10")  # from March
    full_cycle(county, "2026-03")
    county.set_date("2026-03-16")
    review = county.case(hid)
    # the review process decides a taper from April; dibao.taper_months is 6 by default: April–September
    county.decide(review, {"programme": "dibao", "decision": "taper", "monthly_amount": "2100",
                           "from_month": "2026-04", "reasons": ["dibao.review_taper"]}, data={"taper_until": None})
    paid = {}
    for month in ("2026-04", "2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"):
        batch = full_cycle(county, month)
        paid[month] = batch["paid_total"] if batch["line_count"] else "0.00"
    assert paid == {"2026-04": "2100.00", "2026-05": "2100.00", "2026-06": "2100.00", "2026-07": "2100.00",
                    "2026-08": "2100.00", "2026-09": "2100.00", "2026-10": "0.00", "2026-11": "0.00"}
    with county.services.db.read() as s:
        ent = entitlements.find(s, hid, "dibao")
        assert (ent.status, ent.end_month) == ("tapering", "2026-10")


def test_a_taper_end_given_by_the_review_is_kept(county):
    hid, _ = _approve(county, 4, day="2026-02-10")
    county.decide(county.case(hid), {"programme": "dibao", "decision": "taper", "from_month": "2026-04"},
                  data={"taper_until": "2026-07-01"})
    with county.services.db.read() as s:
        assert entitlements.detail(s, entitlements.find(s, hid, "dibao").id)["periods"] == [
            {"kind": "pay", "from_month": "2026-03", "until_month": "2026-04", "monthly_amount": "1400.00",
             "decision_id": 1},
            {"kind": "taper", "from_month": "2026-04", "until_month": "2026-07", "monthly_amount": "1400.00",
             "decision_id": 2}]


def test_a_stopped_entitlement_drops_out_of_the_next_batch(county):
    kept, _ = _approve(county, 5, day="2026-02-10")
    stopped, _ = _approve(county, 6, day="2026-02-10")
    full_cycle(county, "2026-03")
    county.set_date("2026-03-18")
    county.decide(county.case(stopped), {"programme": "dibao", "decision": "stop", "from_month": "2026-04",
                                         "reasons": ["dibao.review_stop"]})
    april = draft(county, "2026-04")
    assert [line[0] for line in lines(county, april["id"])] == [kept]
    with county.services.db.read() as s:
        ent = entitlements.detail(s, entitlements.find(s, stopped, "dibao").id)
    assert (ent["status"], ent["end_month"]) == ("stopped", "2026-04")
    assert [c["action"] for c in ent["changes"]] == ["approved", "stop"]
    assert ent["changes"][1]["reasons"] == ["dibao.review_stop"] and ent["changes"][1]["decision_id"]


def test_an_adjustment_pays_the_new_amount_from_its_month(county):
    hid, _ = _approve(county, 7, day="2026-02-10")
    county.decide(county.case(hid), {"programme": "dibao", "decision": "adjust", "monthly_amount": "900",
                                     "from_month": "2026-04"})
    march = full_cycle(county, "2026-03")
    april = draft(county, "2026-04")
    assert (march["total"], april["total"]) == ("1400.00", "900.00")


def test_two_failed_lines_are_reconciled_and_reissued_exactly_once(county):
    homes = [_approve(county, 10 + k, day="2026-02-10")[0] for k in range(4)]
    batch = draft(county, "2026-03")
    approve_and_lock(county, batch["id"])
    assert _balance(county) == Decimal("1000000") - Decimal("5600.00")
    failed = {reference(homes[1], "2026-03"): "账户已销户", reference(homes[3], "2026-03"): "户名不符"}
    result = reconcile_file(county, batch["id"], bank_result(export(county, batch["id"]), failed))
    assert (result["status"], result["paid_count"], result["paid_total"], result["failed_count"],
            result["failed_total"]) == ("reconciled", 2, "2800.00", 2, "2800.00")
    assert _balance(county) == Decimal("1000000") - Decimal("2800.00")  # the failed money came back
    april = draft(county, "2026-04")
    reissued = [line for line in lines(county, april["id"]) if line[3] == "reissue"]
    assert sorted(line[0] for line in reissued) == sorted([homes[1], homes[3]])
    assert all(line[2] == "2026-03" for line in reissued)
    assert draft(county, "2026-04")["line_count"] == 6  # re-drafting does not add them again
    full_cycle(county, "2026-04")
    may = draft(county, "2026-05")
    assert [line for line in lines(county, may["id"]) if line[3] == "reissue"] == []


def test_rerunning_a_cycle_never_pays_anyone_twice(county):
    _approve(county, 20, day="2026-02-10")
    _approve(county, 21, day="2026-02-10")
    first = draft(county, "2026-03")
    again = draft(county, "2026-03")
    assert (again["id"], again["line_count"], again["total"]) == (first["id"], 2, "2800.00")
    approve_and_lock(county, first["id"])
    after_lock = draft(county, "2026-03")
    assert (after_lock["status"], after_lock["line_count"]) == ("locked", 2)
    with pytest.raises(Conflict):
        approve_and_lock(county, first["id"])
    assert _balance(county) == Decimal("1000000") - Decimal("2800.00")


def test_the_drafter_may_not_approve_and_months_run_in_order(county):
    _approve(county, 22, day="2026-02-10")
    batch = draft(county, "2026-03")
    with county.services.db.write() as s, pytest.raises(NotAllowed):
        cycles.approve(s, batch["id"], actor=CLERK.username, region=COUNTY, at=county.now())
    with pytest.raises(Conflict, match="not locked"):
        draft(county, "2026-04")


def test_locking_refuses_a_batch_the_fund_cannot_pay(county):
    _approve(county, 23, amount="1400", day="2026-02-10")
    with county.services.db.write() as s:
        fund = s.get(funds.Fund, county.fund_id)
        funds.post(s, fund, "payment", fund.balance - Decimal("1000"), at=county.now(), actor="test")
    batch = draft(county, "2026-03")
    with pytest.raises(Conflict, match="negative"):
        approve_and_lock(county, batch["id"])
    with county.services.db.read() as s:
        assert cycles.get_batch(s, batch["id"]).status == "draft"  # the whole lock rolled back


def test_a_result_off_by_one_fen_reconciles_nothing(county):
    hid, _ = _approve(county, 24, day="2026-02-10")
    batch = draft(county, "2026-03")
    approve_and_lock(county, batch["id"])
    data = bank_result(export(county, batch["id"]), tamper_total=True)
    with pytest.raises(ValidationError) as info:
        reconcile_file(county, batch["id"], data)
    assert any("总金额" in m for m in info.value.fields["row 2"])
    assert lines(county, batch["id"])[0][5] == "pending"
    good = bank_result(export(county, batch["id"]))
    assert reconcile_file(county, batch["id"], good)["changed"] == 1
    assert reconcile_file(county, batch["id"], good)["changed"] == 0  # the same file again: nothing
    with pytest.raises(Conflict):
        reconcile_file(county, batch["id"], bank_result(export(county, batch["id"]),
                                                        {reference(hid, "2026-03"): "x"}))


def test_a_household_without_an_account_is_counted_and_back_paid_once_it_has_one(county):
    county.set_date("2026-02-10")
    hid = county.add_household(30, account=False)
    county.decide(county.case(hid), {"programme": "dibao", "decision": "approved", "monthly_amount": "700"})
    march = draft(county, "2026-03")
    assert (march["line_count"], march["missing_accounts"]) == (0, 1)
    approve_and_lock(county, march["id"])
    from engine.casework import records
    from tests.engine.benefits.conftest import CASEWORKER

    with county.services.db.write() as s:
        records.set_bank_account(s, hid, {"bank": "工商银行", "account_no": "6222 0000 1111 2222",
                                          "holder": "户30成员0"}, actor=CASEWORKER, now=county.now())
    april = draft(county, "2026-04")
    assert [(line[2], line[3]) for line in lines(county, april["id"])] == [("2026-03", "arrears"),
                                                                            ("2026-04", "regular")]


def test_the_bank_file_masks_id_numbers_and_exporting_again_gives_the_same_bytes(county):
    hid, _ = _approve(county, 31, day="2026-02-10")
    batch = draft(county, "2026-03")
    approve_and_lock(county, batch["id"])
    first, second = export(county, batch["id"]), export(county, batch["id"])
    assert first == second
    text = first.decode("utf-8-sig").splitlines()
    assert text[0] == "批次号,地区代码,发放月份,总笔数,总金额"
    assert text[3].split(",")[1:] == [reference(hid, "2026-03"), "户31成员0", "622310000000000031", "鱼台农商银行",
                                      text[3].split(",")[5], "1400.00", "dibao", "2026-03", "低保金2026年03月"]
    assert "********" in text[3].split(",")[5]


def test_every_change_is_an_audit_event_and_the_chains_verify(county):
    hid, _ = _approve(county, 32, day="2026-02-10")
    full_cycle(county, "2026-03")
    with county.services.db.read() as s:
        ent_id = entitlements.find(s, hid, "dibao").id
        actions = s.execute(select(AuditEvent.action).where(AuditEvent.chain.in_(
            [entitlements.chain(ent_id), cycles.chain(1)])).order_by(AuditEvent.id)).scalars().all()
        assert actions == ["entitlement.approved", "payment_batch.drafted", "payment_batch.approved",
                           "payment_batch.locked", "payment_batch.exported", "payment_batch.reconciled"]
        assert audit.verify(s).ok


def test_the_case_payment_scheduled_for_the_first_month_is_paid_when_the_bank_pays(county):
    hid, case = _approve(county, 33, day="2026-02-10")
    with county.services.db.write() as s:
        payments.schedule(s, key=f"case:{case}:dibao:2026-03", instance_id=case, household_id=hid,
                          programme="dibao", amount="1400", month="2026-03", at=county.now(), actor="t")
    full_cycle(county, "2026-03")
    with county.services.db.read() as s:
        [p] = payments.payments_of(s, case)
    assert (p.status, p.month) == ("paid", "2026-03")


def test_figures_count_people_money_and_failures(county):
    homes = [_approve(county, 40 + k, day="2026-02-10")[0] for k in range(3)]
    full_cycle(county, "2026-03", failed={reference(homes[0], "2026-03"): "账户冻结"})
    with county.services.db.read() as s:
        got = figures(s, "370827", ["2026-03"])
        other = figures(s, "370828", ["2026-03"])
    assert got["covered"] == {"dibao": {"households": 3, "people": 6}}
    assert got["paid"] == [{"month": "2026-03", "programme": "dibao", "count": 2, "amount": "2800.00"}]
    assert got["failed"] == [{"month": "2026-03", "programme": "dibao", "count": 1, "amount": "1400.00"}]
    assert got["failed_open"] == {"count": 1, "amount": "1400.00"}
    assert other["covered_total"] == {"households": 0, "people": 0} and other["paid"] == []


def test_an_approval_keeps_the_review_roll_in_step(county):
    from engine.casework.monitoring.models import RecipientRow

    hid, _ = _approve(county, 50, day="2026-02-10")
    with county.services.db.read() as s:
        row = s.execute(select(RecipientRow).where(RecipientRow.household_id == hid)).scalar()
        assert (row.programme, row.status, row.monthly_amount) == ("dibao", "active", Decimal("1400.00"))
        assert s.execute(select(EntitlementRow.persons).where(EntitlementRow.household_id == hid)).scalar() == 2


def test_a_backdated_resume_pays_the_suspended_month_once_even_after_later_months_went_out(county):
    hid, _ = _approve(county, 51, day="2026-02-10")  # from March
    with county.services.db.read() as s:
        ent_id = entitlements.find(s, hid, "dibao").id

    def change(action, month):
        with county.services.db.write() as s:
            entitlements.change_manually(s, ent_id, action=action, from_month=month, reason="核实",
                                         actor="zhang", at=county.now())

    full_cycle(county, "2026-03")
    change("suspend", "2026-04")
    full_cycle(county, "2026-04")
    change("resume", "2026-05")
    full_cycle(county, "2026-05")
    full_cycle(county, "2026-06")
    change("resume", "2026-04")  # the suspension was wrong from the start: April is owed
    july = draft(county, "2026-07")
    assert [(line[2], line[3]) for line in lines(county, july["id"])] == [("2026-04", "arrears"),
                                                                           ("2026-07", "regular")]
