"""The dashboard's payment-roll figures: people on the roll, money the bank paid per month and
programme, and failed payments — from the benefits tables, read through their own query.

Seeded at 2026-03-02 (the pages' clock): two households on dibao (township 101: 2 people; township
102: 1 person) and a stopped tekun entitlement; February's batch paid 101 and failed 102 (账户已销户);
March's batch paid 101, re-issued February for 102 (paid) and failed March for 102 again (open).
A ``payment`` row that mirrors the first month (purpose ``monthly``) must not count twice.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from engine.casework import payments
from engine.casework.benefits import entitlements
from engine.casework.benefits.models import PaymentBatchRow, PaymentLineRow
from tests.web.pages.conftest import OTHER_VILLAGE, VILLAGE, actor_of, create_household
from tests.web.pages.seed_dashboard import TOWNSHIP_SUPERVISOR, add_user
from tests.web.pages.test_dashboard import ATTR, figures, rows

FEB = datetime(2026, 2, 20, 2, 0, tzinfo=timezone.utc)


def _line(batch, ent, month, fen, status, attempt=1, reason=None, reissue_of=None) -> PaymentLineRow:
    return PaymentLineRow(batch_id=batch.id, entitlement_id=ent.id, household_id=ent.household_id,
                          programme=ent.programme, month=month, attempt=attempt, kind="regular" if attempt == 1
                          else "reissue", amount_fen=fen, bank="农商银行", account_no="6228480000000000000",
                          holder="韩进", holder_id_number=None, status=status, reissue_of=reissue_of,
                          failure_reason=reason, result_at=FEB if status != "pending" else None)


def _batch(db, month, status="reconciled") -> PaymentBatchRow:
    batch = PaymentBatchRow(region_code="370827", month=month, status=status, created_at=FEB, created_by="wang",
                            drafted_at=FEB)
    db.add(batch)
    db.flush()
    return batch


@pytest.fixture
def roll(world, clock):
    return seed_roll(world, clock)


def seed_roll(world, clock):
    svc = world.services
    add_user(svc, *TOWNSHIP_SUPERVISOR)
    other_household = create_household(svc, OTHER_VILLAGE, actor_of("li"))
    now = clock.now()
    with svc.db.write() as db:
        mine = entitlements.create(db, household_id=world.household_id, programme="dibao", region_code=VILLAGE,
                                   monthly_fen=140000, start_month="2026-02", persons=2, actor="wang", at=FEB)
        other = entitlements.create(db, household_id=other_household, programme="dibao", region_code=OTHER_VILLAGE,
                                    monthly_fen=70000, start_month="2026-02", persons=1, actor="wang", at=FEB)
        stopped = entitlements.create(db, household_id=world.household_id, programme="tekun", region_code=VILLAGE,
                                      monthly_fen=91000, start_month="2026-02", persons=1, actor="wang", at=FEB)
        stopped.status = "stopped"
        feb = _batch(db, "2026-02")
        db.add(_line(feb, mine, "2026-02", 140000, "paid"))
        failed = _line(feb, other, "2026-02", 70000, "failed", reason="账户已销户")
        db.add(failed)
        db.flush()
        mar = _batch(db, "2026-03")
        db.add_all([_line(mar, mine, "2026-03", 140000, "paid"),
                    _line(mar, other, "2026-02", 70000, "paid", attempt=2, reissue_of=failed.id),
                    _line(mar, other, "2026-03", 70000, "failed", reason="户名不符")])
        # the first month the case scheduled, marked paid by reconciliation: the same money as a line
        payments.schedule(db, key=f"case:{world.case_id}:dibao:2026-02", instance_id=world.case_id,
                          household_id=world.household_id, programme="dibao", amount="1400", month="2026-02",
                          at=FEB, actor="zhang")
        db.query(payments.Payment).update({"status": "paid", "paid_at": now})
    return world


def _open_failed(page: str) -> tuple[int, str]:
    found = dict(ATTR.findall(re.search(r'<p class="lead" id="open-failed"([^>]*)>', page).group(1)))
    return int(found["open-failed"]), found["open-failed-amount"]


def test_the_county_sees_the_roll_the_money_paid_and_the_failures(roll, as_user):
    page = as_user("sun").get("/dashboard").get_data(as_text=True)
    assert [(r["programme"], int(r["households"]), int(r["people"])) for r in rows(page, "table-roll")
            if "programme" in r] == [("dibao", 2, 3)]  # the stopped tekun is off the roll
    assert [(r["month"], r["programme"], int(r["count"]), r["amount"]) for r in rows(page, "table-failed")
            if "month" in r] == [("2026-02", "dibao", 1, "700.00"), ("2026-03", "dibao", 1, "700.00")]
    assert _open_failed(page) == (1, "700.00")  # February's failure was re-issued, March's is open
    found = figures(page)
    assert found["payments"] == {("2026-02", "dibao"): "1400.00", ("2026-03", "dibao"): "2100.00"}
    assert found["payments_total"] == "3500.00"  # the mirrored payment row is not counted again
    tile = re.search(r'<li class="tile tile-bad" data-tile="failed-payments">(.*?)</li>', page, re.S).group(1)
    assert ">1</a>" in tile and "700.00" in tile


def test_a_township_sees_only_its_own_households(roll, as_user):
    page = as_user(TOWNSHIP_SUPERVISOR[0]).get("/dashboard").get_data(as_text=True)
    assert [(r["programme"], int(r["households"]), int(r["people"])) for r in rows(page, "table-roll")
            if "programme" in r] == [("dibao", 1, 2)]
    assert rows(page, "table-failed") == [] and _open_failed(page) == (0, "0.00")
    assert figures(page)["payments"] == {("2026-02", "dibao"): "1400.00", ("2026-03", "dibao"): "1400.00"}
    tile = re.search(r'<li class="([^"]*)" data-tile="failed-payments">', page).group(1)
    assert tile == "tile"  # nothing failed: not marked bad


def test_last_year_shows_no_batch_money_but_the_same_roll(roll, as_user):
    page = as_user("sun").get("/dashboard?year=2025").get_data(as_text=True)
    assert figures(page)["payments"] == {} and rows(page, "table-failed") == []
    assert [int(r["people"]) for r in rows(page, "table-roll") if "programme" in r] == [3]


def test_a_dashboard_without_batches_says_so(world, as_user):
    page = as_user("sun").get("/dashboard").get_data(as_text=True)
    assert rows(page, "table-roll") == [] and _open_failed(page) == (0, "0.00")
    assert "辖区内还没有在册的按月救助对象。" in page and "本年度没有发放失败。" in page


def test_the_payment_roll_reads_in_english(roll, as_user):
    from tests.web.pages.conftest import csrf_of

    client = as_user("sun")
    client.post("/lang", data={"lang": "en", "csrf_token": csrf_of(client, "/dashboard")})
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Payment roll and bank results" in page and "Failed payments to re-issue" in page
    assert Decimal(figures(page)["payments_total"]) == Decimal("3500.00")


def test_the_roll_agrees_on_postgresql_and_sqlite(database_url, clock, tmp_path):
    """The benefits queries and the merge with fund payments give the same figures on both databases."""
    from tests.web.pages.conftest import World, login, make_app, start_case
    from web import services_of

    app = make_app(database_url, clock, tmp_path)
    svc = services_of(app)
    try:
        household = create_household(svc, VILLAGE, actor_of("zhang"))
        case = start_case(svc, VILLAGE, actor_of("zhang"), household)
        other = start_case(svc, OTHER_VILLAGE, actor_of("li"))
        seed_roll(World(app, svc, case.id, other.id, case.open_tasks[0].id, other.open_tasks[0].id, household), clock)
        client = app.test_client()
        assert login(client, "sun").status_code == 303
        page = client.get("/dashboard").get_data(as_text=True)
        assert [int(r["people"]) for r in rows(page, "table-roll") if "programme" in r] == [3]
        assert _open_failed(page) == (1, "700.00")
        assert figures(page)["payments"] == {("2026-02", "dibao"): "1400.00", ("2026-03", "dibao"): "2100.00"}
    finally:
        svc.close()
