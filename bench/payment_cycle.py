"""Monthly payment cycle (社会化发放): draft one county's batch for N households.

Generated data (loaded in bulk, COPY on PostgreSQL): N households of 1–6 members in the townships
and villages of one county, each on the roll (``recipient``, 85% dibao, 15% tekun), 99.5% with a
bank account.  Go-live turns the roll into entitlements (``entitlements.import_roll``, set-based).

Measured, in this order, each in its own transaction:

1. **first draft** of month 1 (every entitlement, nothing paid before);
2. approve and **lock** (fund debit per programme), **export** the bank file, **reconcile** a bank
   result with 0.3% failed lines;
3. between the months: 0.5% of entitlements adjusted, 0.3% stopped, 0.2% newly approved late (one
   month of back-pay each) — through the same functions the decisions use;
4. **draft** of month 2 — the figure that counts: month-2 lines, back-pay, re-issues of the failed
   lines, all against a table that already holds month 1 (the "never twice" anti-join);
5. **re-draft** of month 2 (the cycle re-run; same lines, nothing twice).

    .venv/bin/python bench/payment_cycle.py [--quick] [--n 180000] [--db sqlite|postgresql|both]

--quick: N = 20 000.  Target: 180 000 households draft in under 60 s on both databases.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402
from monthly_review import MEMBER, SIZES, SIZE_WEIGHTS, id_number  # noqa: E402

COUNTY = "370827"
MONTH1, MONTH2 = "2026-04", "2026-05"
CLERK, APPROVER = "bench_clerk", "bench_approver"


def region_of(h: int) -> str:
    return f"{COUNTY}{100 + h % 15:03d}{200 + (h // 15) % 40:03d}"


def generate(url: str, n: int, seed: int = 11) -> dict:
    from sqlalchemy import text

    from engine import bootstrap
    from engine.casework import funds
    from engine.casework.benefits.models import BankAccountRow
    from engine.casework.bulk import bulk_insert
    from engine.casework.models import HouseholdRow
    from engine.casework.monitoring.models import RecipientRow

    rng = random.Random(seed)
    services = bootstrap.build({"DATABASE_URL": url})
    now = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    hh, roll, accounts = [], [], []
    p = 0

    def flush():
        with services.db.write() as s:
            bulk_insert(s, HouseholdRow, hh, columns=("id", "region_code", "hukou", "hukou_region_code", "data",
                                                      "created_at", "created_by", "updated_at", "updated_by",
                                                      "version"))
            bulk_insert(s, RecipientRow, roll, columns=("household_id", "programme", "region_code",
                                                        "monthly_amount", "since", "status"))
            bulk_insert(s, BankAccountRow, accounts, columns=("household_id", "bank", "account_no", "holder",
                                                              "holder_id_number", "updated_at", "updated_by"))
        hh.clear(), roll.clear(), accounts.clear()

    from datetime import date

    for h in range(1, n + 1):
        size = rng.choices(SIZES, SIZE_WEIGHTS)[0]
        region = region_of(h)
        members, first = [], None
        for k in range(size):
            idn = id_number(COUNTY, p)
            first = first or idn
            born = f"{idn[6:10]}-{idn[10:12]}-{idn[12:14]}"
            members.append(MEMBER.format(p=p, idn=idn, rel="head" if k == 0 else "other", born=born,
                                         sex="M" if int(idn[16]) % 2 else "F", work="false", wages="0"))
            p += 1
        data = (f'{{"region_code":"{region}","hukou":"rural","hukou_region_code":"{COUNTY}",'
                f'"members":[{",".join(members)}],"supporters":[],'
                f'"assets":{{"deposits":"0","vehicles":0,"houses":1}},'
                f'"expenses_12m":{{"medical":"0","education":"0","rehabilitation":"0"}}}}')
        hh.append((h, region, "rural", COUNTY, data, now, "bench", now, "bench", 1))
        programme = "tekun" if rng.random() < 0.15 else "dibao"
        amount = Decimal(rng.randrange(150, 700) * size) if programme == "dibao" else Decimal(910 + 170)
        roll.append((h, programme, region, amount, date(2024, 1, 1), "active"))
        if rng.random() < 0.995:
            accounts.append((h, "鱼台农商银行", f"6223{h:015d}", f"成员{p - size}", first, now, "bench"))
        if len(hh) >= 20000:
            flush()
    flush()
    with services.db.write() as s:
        if services.db.dialect == "postgresql":
            s.execute(text("SELECT setval(pg_get_serial_sequence('household', 'id'), (SELECT max(id) FROM household))"))
        fund = funds.create_fund(s, code=f"county-{COUNTY}", kind="county_relief", region_code=COUNTY, name="县社会救助资金")
        funds.post(s, fund, "allocation", Decimal("5000000000"), at=now, actor="bench")
    t_gen = time.perf_counter() - t0
    _analyze(services)
    services.close()
    return {"people": p, "t_gen": t_gen}


def _analyze(services) -> None:
    if services.db.dialect == "postgresql":
        with services.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")


def _plan(n: int, rng: random.Random) -> dict[str, list[int]]:
    picks = rng.sample(range(1, n + 1), k=max(3, n // 100))
    return {"adjusted": picks[: n // 200], "stopped": picks[n // 200: n // 200 + n * 3 // 1000],
            "late": picks[-(n // 500):]}


def _change(services, plan: dict[str, list[int]], phase: str) -> None:
    """Reviews and late approvals, through the functions the decisions use (one change each)."""
    from sqlalchemy import select

    from engine.casework.benefits import entitlements
    from engine.casework.benefits.models import EntitlementRow

    now = datetime.now(timezone.utc)
    with services.db.write() as s:
        by_hh = {e.household_id: e for e in s.execute(select(EntitlementRow).where(
            EntitlementRow.household_id.in_([h for hs in plan.values() for h in hs]))).scalars()}
        if phase == "before":  # the late ones are not approved yet when month 1 is drafted
            for h in plan["late"]:
                entitlements.apply(s, by_hh[h], entitlements.Change("stop", MONTH1), actor="bench", at=now)
            return
        for h in plan["adjusted"]:
            entitlements.apply(s, by_hh[h], entitlements.Change("adjust", MONTH2, by_hh[h].monthly_fen + 5000,
                                                                reasons=("bench",)), actor="bench", at=now)
        for h in plan["stopped"]:
            entitlements.apply(s, by_hh[h], entitlements.Change("stop", MONTH2, reasons=("bench",)),
                               actor="bench", at=now)
        for h in plan["late"]:  # approved after month 1 went out, paid from month 1: one month back-paid
            entitlements.apply(s, by_hh[h], entitlements.Change("approved", MONTH1, 70000), actor="bench", at=now)


def measure(kind: str, n: int) -> dict:
    from sqlalchemy import text

    from engine import bootstrap
    from engine.casework.benefits import cycles, entitlements, reconcile
    from tests.engine.benefits.helpers import bank_result  # the same bank the tests play

    print(f"{kind}, N = {n:,}: generating …", flush=True)
    rng = random.Random(5)
    with C.database(kind) as url:
        gen = generate(url, n)
        services = bootstrap.build({"DATABASE_URL": url})
        now = datetime.now(timezone.utc)
        t = {}
        sw = C.Stopwatch()
        with services.db.write() as s:
            created = entitlements.import_roll(s, start_month=MONTH1, actor="bench", at=now)
        t["import"] = sw.lap()
        plan = _plan(n, rng)
        _change(services, plan, "before")
        _analyze(services)
        sw.lap()
        with services.db.write() as s:
            b1 = cycles.draft(s, region_code=COUNTY, month=MONTH1, actor=CLERK, at=now)
            batch1 = cycles.batch_dict(b1)
        t["draft1"] = sw.lap()
        with services.db.write() as s:
            cycles.approve(s, batch1["id"], actor=APPROVER, region=COUNTY, at=now)
            cycles.lock(s, batch1["id"], actor=APPROVER, region=COUNTY, at=now)
        t["lock"] = sw.lap()
        with services.db.write() as s:
            data, _ = reconcile.export(s, batch1["id"], actor=APPROVER, region=COUNTY, at=now)
        t["export"] = sw.lap()
        refs = sorted(line.split(",")[1] for line in data.decode("utf-8-sig").splitlines()[3:])
        failed = {r: "账户已销户" for r in rng.sample(refs, k=max(2, len(refs) * 3 // 1000))}
        result = bank_result(data, failed)
        sw.lap()
        with services.db.write() as s:
            rec = reconcile.reconcile(s, batch1["id"], result, actor=APPROVER, region=COUNTY, at=now)
        t["reconcile"] = sw.lap()
        _change(services, plan, "after")
        changes = {k: len(v) for k, v in plan.items()}
        _analyze(services)
        sw.lap()
        with services.db.write() as s:
            batch2 = cycles.batch_dict(cycles.draft(s, region_code=COUNTY, month=MONTH2, actor=CLERK, at=now))
        t["draft2"] = sw.lap()
        with services.db.write() as s:
            again = cycles.batch_dict(cycles.draft(s, region_code=COUNTY, month=MONTH2, actor=CLERK, at=now))
        t["redraft2"] = sw.lap()
        with services.db.read() as s:
            kinds = dict(s.execute(text("SELECT kind, count(*) FROM payment_line WHERE batch_id = :b GROUP BY kind"),
                                   {"b": batch2["id"]}).all())
        services.close()
    print(f"  {t}", flush=True)
    return {"kind": kind, "n": n, "gen": gen, "t": t, "created": created, "batch1": batch1, "rec": rec,
            "failed": len(failed), "changes": changes, "batch2": batch2, "again": again, "kinds": kinds,
            "bytes": len(data)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="N = 20 000")
    ap.add_argument("--n", type=int, nargs="+", default=None)
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--no-report", action="store_true", help="print only; append nothing to docs/BENCHMARKS.md")
    args = ap.parse_args()
    C.quiet_logs()
    sizes = args.n or ([20_000] if args.quick else [180_000])
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    info = C.machine()
    results = [measure(kind, n) for n in sizes for kind in kinds]
    lines = ["| N households | database | go-live import | draft month 1 | approve + lock | export (file) | "
             "reconcile | **draft month 2** | re-draft month 2 | month-2 lines (regular / arrears / reissue) | "
             "total month 2 | nothing twice |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        t, k = r["t"], r["kinds"]
        same = (r["again"]["line_count"], r["again"]["total"]) == (r["batch2"]["line_count"], r["batch2"]["total"])
        reissues_ok = k.get("reissue", 0) == r["failed"]
        lines.append(
            f"| {r['n']:,} | {r['kind']} | {t['import']:.1f} s | {t['draft1']:.1f} s | {t['lock']:.1f} s | "
            f"{t['export']:.1f} s ({r['bytes'] / 1e6:.1f} MB) | {t['reconcile']:.1f} s | **{t['draft2']:.1f} s** | "
            f"{t['redraft2']:.1f} s | {k.get('regular', 0):,} / {k.get('arrears', 0):,} / {k.get('reissue', 0):,} | "
            f"{r['batch2']['total']} | {'yes' if same and reissues_ok else 'NO'} |")
    lines.append("")
    for r in results:
        verdict = "meets" if max(r["t"]["draft1"], r["t"]["draft2"]) <= 60 else "misses"
        lines.append(
            f"- N = {r['n']:,} on {r['kind']}: {r['gen']['people']:,} people, {r['created']:,} entitlements, "
            f"{r['batch1']['missing_accounts']:,} households without an account (not drafted); month 1: "
            f"{r['batch1']['line_count']:,} lines, {r['batch1']['total']} yuan, {r['failed']:,} returned failed "
            f"(reconciled: {r['rec']['paid_count']:,} paid {r['rec']['paid_total']}, {r['rec']['failed_count']:,} "
            f"failed {r['rec']['failed_total']}); between the months {r['changes']}. Target 60 s for a draft: "
            f"**{verdict}**. Generation {r['gen']['t_gen']:.0f} s (not measured).")
    body = "\n".join(lines)
    print("\n" + body)
    if args.no_report:
        return
    pg = C.pg_version()
    C.append_section("Payment cycle (社会化发放)" + (" (quick)" if args.quick else ""), body, info=info,
                     extra_machine=f"; PostgreSQL {pg}" if pg else "")


if __name__ == "__main__":
    main()
