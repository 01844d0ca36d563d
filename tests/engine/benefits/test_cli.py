"""``jishijiu benefits …``: the whole cycle from the command line, acting as named users."""

from __future__ import annotations

from click.testing import CliRunner

from engine import accounts
from tests.engine.benefits.helpers import bank_result
from web.cli import main


def test_the_cycle_runs_from_the_command_line(county, monkeypatch, tmp_path):
    county.set_date("2026-02-10")
    hid = county.add_household(60)
    county.decide(county.case(hid), {"programme": "dibao", "decision": "approved", "monthly_amount": "700"})
    with county.services.db.write() as s:
        for name, role in (("clerk", "caseworker"), ("wang", "approver")):
            accounts.create_user(s, username=name, password="secret-pass-1", role=role, region="370827",
                                 now=county.now())
    monkeypatch.setenv("JISHIJIU_DATABASE_URL", county.services.db.url)
    runner = CliRunner()

    def run(*args):
        result = runner.invoke(main, ["benefits", *args], catch_exceptions=False)
        return result.exit_code, result.output

    code, out = run("draft", "--county", "370827", "--month", "2026-03", "--user", "clerk")
    assert code == 0 and "batch 1 370827 2026-03 draft: 1 line(s), 700.00 yuan" in out
    assert run("approve", "1", "--user", "clerk")[0] != 0  # a caseworker does not approve
    assert run("approve", "1", "--user", "wang")[0] == 0
    assert "locked" in run("lock", "1", "--user", "wang")[1]
    payment_file = tmp_path / "pay.csv"
    assert run("export", "1", "--out", str(payment_file), "--user", "clerk")[0] == 0
    result = tmp_path / "result.csv"
    result.write_bytes(bank_result(payment_file.read_bytes(), tamper_total=True))
    code, out = run("reconcile", "1", str(result), "--user", "clerk")
    assert code == 1 and "总金额" in out
    result.write_bytes(bank_result(payment_file.read_bytes()))
    code, out = run("reconcile", "1", str(result), "--user", "clerk")
    assert code == 0 and "reconciled" in out and "paid 1 (700.00)" in out
    code, out = run("figures", "--months", "2026-03", "--user", "wang")
    assert code == 0 and '"amount": "700.00"' in out
