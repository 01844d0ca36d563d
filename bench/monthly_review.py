"""Monthly review (在保必核): compare N households on the roll with 14 departments' feeds.

Generated data (loaded in bulk, COPY on PostgreSQL): N households of 1–6 members (valid ID numbers,
incomes, assets) in the villages of a city, one roll row each (97% active, 2% suspended, 1% stopped),
and one month of 14 feeds, ~0.85 rows per household, of which about 2% of households have a change
that matters (death 0.3%, new car 0.3%, property 0.2%, employment 0.5%, business 0.2%, hospital bills
above the threshold 0.5% — the last only warns); the rest is noise the rules must ignore (resident
pension contributions, small bills, motorcycles, tax, deposits … and rows of people not on the roll).

Measured, in a fresh child process (so that its peak RSS is the run's): ``run_monthly_review`` —
member-index refresh (1% of households changed since the last month), the set-based comparison,
one result row per household, and an investigation case (``processes/review.bpmn``) per household
to investigate.  The first-time member-index build is timed separately, and a re-run of the month
(which must open nothing) is timed too.

    .venv/bin/python bench/monthly_review.py [--quick] [--n 180000 1000000] [--db sqlite|postgresql|both]

--quick: N = 20 000.  Full: N = 180 000 (a city) and 1 000 000 (a province).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

MONTH = "2026-02"
SIZES = (1, 2, 3, 4, 5, 6)
SIZE_WEIGHTS = (25, 25, 20, 15, 10, 5)
# county codes of 济宁 (Jining) [A: township and village codes are generated]
COUNTIES = ("370811", "370812", "370826", "370827", "370828", "370829", "370830", "370831", "370832",
            "370881", "370883")
RELEVANT = {"death": 0.003, "car": 0.003, "property": 0.002, "employment": 0.005, "business": 0.002,
            "bills": 0.005}
_W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def id_number(prefix6: str, p: int) -> str:
    born = date(1940, 1, 1) + timedelta(days=p % 25000)
    first17 = f"{prefix6}{born:%Y%m%d}{(p // 25000) % 1000:03d}"
    return first17 + _CHECK[sum(int(d) * w for d, w in zip(first17, _W)) % 11]


MEMBER = ('{{"name":"成员{p}","id_number":"{idn}","relation":"{rel}","birth_date":"{born}","sex":"{sex}",'
          '"disability":null,"self_care_lost":0,"can_work":{work},"employed":false,"in_school":"none",'
          '"critical_illness":false,"income":{{"wages":"{wages}","business":"0","property":"0","transfer":"0"}}}}')


def region_of(h: int) -> str:
    county = COUNTIES[h % len(COUNTIES)]
    return f"{county}{100 + (h // 11) % 12:03d}{200 + (h // 132) % 20:03d}"


# ------------------------------------------------------------------------------------------ generation

def generate(url: str, n: int, seed: int = 7) -> dict:
    """Load households, the roll, a standard and the month's feeds; returns what was planted."""
    from sqlalchemy import text

    from engine import bootstrap
    from engine.actors import Actor
    from engine.casework import monitoring, records
    from engine.casework.types import Standard

    rng = random.Random(seed)
    services = bootstrap.build({"DATABASE_URL": url})
    now = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    with services.db.write() as s:
        records.add_standard(s, Standard(
            region_code="3708", valid_from=date(2022, 1, 1), dibao_urban=Decimal("880"),
            dibao_rural=Decimal("700"), tekun_urban=Decimal("1144"), tekun_rural=Decimal("910"),
            care_total=Decimal("580"), care_partial=Decimal("290"), care_self=Decimal("170"),
            marginal_multiplier=Decimal("2.0"), township_relief_limit=Decimal("3000"),
            county_relief_limit=Decimal("10000"), disposable_income_last_year=Decimal("30000")),
            actor=Actor("admin", "admin", ""), now=now)
    people: list[list[str]] = []          # household index -> member ID numbers
    hh_rows, roll_rows = [], []
    p = 0
    chunk = 20000
    planted: dict[str, list[int]] = {k: [] for k in RELEVANT}
    status_of = {}
    for h in range(1, n + 1):
        size = rng.choices(SIZES, SIZE_WEIGHTS)[0]
        region = region_of(h)
        members, ids = [], []
        for k in range(size):
            idn = id_number(region[:6], p)
            born = f"{idn[6:10]}-{idn[10:12]}-{idn[12:14]}"
            members.append(MEMBER.format(p=p, idn=idn, rel="head" if k == 0 else "other", born=born,
                                         sex="M" if int(idn[16]) % 2 else "F", work="true" if k == 0 else "false",
                                         wages=rng.choice(("0", "0", "300", "600"))))
            ids.append(idn)
            p += 1
        people.append(ids)
        data = (f'{{"region_code":"{region}","hukou":"rural","hukou_region_code":"{region[:6]}",'
                f'"members":[{",".join(members)}],"supporters":[],'
                f'"assets":{{"deposits":"{rng.randrange(0, 20000)}","vehicles":0,"houses":1}},'
                f'"expenses_12m":{{"medical":"{rng.choice((0, 0, 1200, 8000))}","education":"0","rehabilitation":"0"}}}}')
        hh_rows.append((h, region, "rural", region[:6], data, now, "bench", now, "bench", 1))
        r = rng.random()
        status = "stopped" if r < 0.01 else "suspended" if r < 0.03 else "active"
        status_of[h] = status
        programme = "tekun" if size == 1 and rng.random() < 0.3 else "dibao"
        roll_rows.append((h, programme, region, Decimal(200 * size + rng.randrange(0, 300)),
                          date(2020 + rng.randrange(0, 6), 1 + rng.randrange(0, 12), 1), status))
        if len(hh_rows) >= chunk:
            _flush(services, hh_rows, roll_rows)
            hh_rows, roll_rows = [], []
    _flush(services, hh_rows, roll_rows)
    if services.db.dialect == "postgresql":
        with services.db.write() as s:
            s.execute(text("SELECT setval(pg_get_serial_sequence('household', 'id'), (SELECT max(id) FROM household))"))
    t_households = time.perf_counter() - t0

    # --- feeds -----------------------------------------------------------------------------
    t0 = time.perf_counter()
    feeds: dict[str, list[tuple]] = {f: [] for f in monitoring.FEEDS}
    H = monitoring.id_hash

    def add(feed, idn=None, hh=None, kind=None, amount=None, payload=None, hashed=None):
        feeds[feed].append((feed, MONTH, hashed or H(idn), hh, kind,
                            None if amount is None else Decimal(amount),
                            json.dumps(payload, ensure_ascii=False) if payload else None, "bench", now))

    for h in range(1, n + 1):
        ids = people[h - 1]
        active = status_of[h] == "active"
        r = rng.random()
        acc = 0.0
        story = None
        for name, prob in RELEVANT.items():
            acc += prob
            if r < acc:
                story = name
                break
        if story and active:
            planted[story].append(h)
        if story == "death":
            add("deaths", ids[-1], payload={"date": f"{MONTH}-1{rng.randrange(0, 9)}"})
        elif story == "car":
            add("vehicles", ids[0], kind="car", amount=str(rng.randrange(30000, 150000)), payload={"plate": "鲁H"})
        elif story == "property":
            add("property", ids[0], kind="house", amount=str(rng.randrange(100000, 600000)))
        elif story == "employment":
            add("social_insurance", ids[0], kind="employee", amount=str(rng.randrange(3000, 6000)))
        elif story == "business":
            add("business_registration", ids[0], hh=h if rng.random() < 0.5 else None, payload={"name": "个体户"})
        elif story == "bills":
            add("hospital_bills", ids[-1], amount=str(rng.randrange(10001, 60000)))
        # noise the rules must ignore
        for idn in ids:
            x = rng.random()
            if x < 0.15:
                add("social_insurance", idn, kind="resident", amount="200")
            elif x < 0.20:
                add("hospital_bills", idn, amount=str(rng.randrange(50, 1500)))   # ≤ 9 000 a household
            elif x < 0.23:
                add("tax", idn, amount="0")
            elif x < 0.24:
                add("housing_fund", idn, amount="0")
            elif x < 0.25:
                add("hukou", idn, kind="move")
            elif x < 0.27:
                add("bank_deposits", idn, amount=str(rng.randrange(1000, 30000)))
            elif x < 0.29:
                add("insurance", idn, kind="accident")
            elif x < 0.293:
                add("securities", idn)
        if rng.random() < 0.02:
            add("vehicles", ids[0], kind=rng.choice(("motorcycle", "electric_tricycle", "farm_machinery")),
                amount="3000")
        if rng.random() < 0.05:   # someone not on the roll
            add(rng.choice(monitoring.FEEDS), hashed=H(id_number("370899", 10_000_000 + h)))
    cols = ("feed", "month", "id_hash", "household_id", "kind", "amount", "payload", "source", "imported_at")
    total_rows = 0
    for feed, rows in feeds.items():
        for i in range(0, len(rows), 50000):
            with services.db.write() as s:
                total_rows += monitoring.bulk_insert(s, monitoring.FeedRow, rows[i:i + 50000], columns=cols)
    t_feeds = time.perf_counter() - t0
    if services.db.dialect == "postgresql":
        with services.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    services.close()
    return {"planted": {k: len(v) for k, v in planted.items()}, "feed_rows": total_rows,
            "people": p, "t_households": t_households, "t_feeds": t_feeds,
            "expected_investigate": sorted({h for k, v in planted.items() if k != "bills" for h in v}),
            "expected_warn_only": sorted(set(planted["bills"]) - {h for k, v in planted.items() if k != "bills" for h in v})}


def _flush(services, hh_rows, roll_rows):
    from engine.casework import monitoring
    from engine.casework.models import HouseholdRow

    if not hh_rows:
        return
    with services.db.write() as s:
        monitoring.bulk_insert(s, HouseholdRow, hh_rows, columns=(
            "id", "region_code", "hukou", "hukou_region_code", "data", "created_at", "created_by",
            "updated_at", "updated_by", "version"))
        monitoring.bulk_insert(s, monitoring.RecipientRow, roll_rows, columns=(
            "household_id", "programme", "region_code", "monthly_amount", "since", "status"))


def deploy(url: str) -> str:
    from engine import bootstrap
    from engine.actors import Actor

    services = bootstrap.build({"DATABASE_URL": url})
    try:
        bootstrap.deploy_processes(services)
        return "all processes/"
    except Exception:  # noqa: BLE001 - a sibling process under construction; review alone is enough
        path = bootstrap.DEFAULT_PROCESSES_DIR / "review.bpmn"
        services.engine.deploy(path.read_bytes(), path.name, actor=Actor("bench", "admin", ""))
        return "review.bpmn"
    finally:
        services.close()


def index_first_time(url: str) -> float:
    from engine import bootstrap
    from engine.casework import monitoring

    services = bootstrap.build({"DATABASE_URL": url})
    t = time.perf_counter()
    monitoring.refresh_member_index(services)
    dt = time.perf_counter() - t
    # a month passes: 1% of the households changed (the next run re-reads only those)
    from sqlalchemy import text

    with services.db.write() as s:
        s.execute(text("UPDATE household SET version = version + 1 WHERE id % 100 = 7"))
    if services.db.dialect == "postgresql":
        with services.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    services.close()
    return dt


# ------------------------------------------------------------------------------------------ the measured child

def child(url: str, month: str) -> None:
    """Run the review once in this fresh process; print one JSON line with the figures."""
    C.quiet_logs()
    from engine import bootstrap
    from engine.casework import monitoring

    services = bootstrap.build({"DATABASE_URL": url})
    rss_before = _rss_now()
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    last = {}

    phase_rss: dict[str, int] = {}
    current = {"phase": "start"}
    stop = threading.Event()

    def sampler():                      # peak RSS per phase, sampled every 20 ms
        while not stop.is_set():
            phase = current["phase"]
            phase_rss[phase] = max(phase_rss.get(phase, 0), _rss_now())
            stop.wait(0.02)

    threading.Thread(target=sampler, daemon=True).start()

    def progress(phase, done, total):
        current["phase"] = phase
        now = time.perf_counter()
        if phase != last.get("phase") or now - last.get("t", 0) > 10 or done == total:
            print(f"    {phase}: {done}/{total}", file=sys.stderr, flush=True)
            last.update(phase=phase, t=now)

    t = time.perf_counter()
    run = monitoring.run_monthly_review(services, month, progress=progress)
    total = time.perf_counter() - t
    current["phase"] = "after"
    time.sleep(0.05)
    stop.set()
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    flagged = {r.household_id: (list(r.flags), r.action, r.note) for r in monitoring.results(services, run.id)}
    services.close()
    print(json.dumps({"run_id": run.id, "compared": run.compared, "flagged": run.flagged, "opened": run.opened,
                      "timings": run.timings, "total": total, "maxrss_kb": maxrss, "rss_before_kb": rss_before,
                      "maxrss_before_kb": maxrss_before, "phase_rss_kb": phase_rss,
                      "investigate": sorted(h for h, v in flagged.items() if v[1] == "investigate"),
                      "warn": sorted(h for h, v in flagged.items() if v[1] == "warn"),
                      "notes": _count(v[2] for v in flagged.values())}))


def _count(items):
    out = {}
    for i in items:
        out[str(i)] = out.get(str(i), 0) + 1
    return out


def _rss_now() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def run_child(url: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", url], capture_output=True, text=True,
                         cwd=C.ROOT)
    sys.stderr.write(out.stderr[-3000:] if out.returncode else "")
    if out.returncode:
        raise SystemExit(f"child failed ({out.returncode})")
    return json.loads(out.stdout.strip().splitlines()[-1])


def db_size(url: str) -> str:
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    else:
        from sqlalchemy import create_engine, text

        eng = create_engine(url)
        with eng.connect() as c:
            size = c.execute(text("select pg_database_size(current_database())")).scalar()
        eng.dispose()
    return f"{size / 1e9:.2f} GB"


def measure(kind: str, n: int) -> dict:
    print(f"{kind}, N = {n:,}: generating …", flush=True)
    with C.database(kind) as url:
        gen = generate(url, n)
        print(f"  generated {n:,} households ({gen['people']:,} people) in {gen['t_households']:.0f}s, "
              f"{gen['feed_rows']:,} feed rows in {gen['t_feeds']:.0f}s; planted {gen['planted']}", flush=True)
        deployed = deploy(url)
        t_index = index_first_time(url)
        print(f"  first member-index build: {t_index:.1f}s; measuring the run …", flush=True)
        first = run_child(url)
        print(f"  run: {first['total']:.1f}s {first['timings']}; RSS by phase (MB) "
              f"{ {k: v // 1024 for k, v in first['phase_rss_kb'].items()} }", flush=True)
        again = run_child(url)
        print(f"  re-run: {again['total']:.1f}s, opened {again['opened']}", flush=True)
        size = db_size(url)
    ok_inv = first["investigate"] == gen["expected_investigate"]
    ok_warn = first["warn"] == gen["expected_warn_only"]
    return {"kind": kind, "n": n, "gen": gen, "t_index": t_index, "first": first, "again": again,
            "correct": ok_inv and ok_warn and again["opened"] == 0, "deployed": deployed, "size": size}


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2], MONTH)
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="N = 20 000")
    ap.add_argument("--n", type=int, nargs="+", default=None)
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    args = ap.parse_args()
    C.quiet_logs()
    sizes = args.n or ([20_000] if args.quick else [180_000, 1_000_000])
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    info = C.machine()
    results = []
    for n in sizes:
        for kind in kinds:
            results.append(measure(kind, n))
    lines = ["| N households | database | run total | index refresh (1% changed) | compare | record results | "
             "open cases | cases opened | per case | households/s (set-based part) | peak RSS during the run | re-run (opens 0) | "
             "first index build | correct |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        f, t = r["first"], r["first"]["timings"]
        per_case = (t["open"] / f["opened"] * 1000) if f["opened"] else float("nan")
        set_based = t["index"] + t["compare"] + t["record"]
        lines.append(
            f"| {r['n']:,} | {r['kind']} | **{f['total']:.1f} s** | {t['index']:.1f} s | {t['compare']:.1f} s | "
            f"{t['record']:.1f} s | {t['open']:.1f} s | {f['opened']:,} | {per_case:.1f} ms | "
            f"{f['compared'] / set_based:,.0f} | {max(f['phase_rss_kb'].values()) / 1024:.0f} MB (at start {f['rss_before_kb'] / 1024:.0f} MB; "
            f"process peak incl. start-up {f['maxrss_kb'] / 1024:.0f} MB, of it before the run {f['maxrss_before_kb'] / 1024:.0f} MB) | "
            f"{r['again']['total']:.1f} s | {r['t_index']:.1f} s | {'yes' if r['correct'] else 'NO'} |")
    lines.append("")
    for r in results:
        g = r["gen"]
        target = 60 if r["n"] <= 180_000 else 360
        verdict = "meets" if r["first"]["total"] <= target else "misses"
        lines.append(f"- N = {r['n']:,} on {r['kind']}: {g['people']:,} people, {g['feed_rows']:,} feed rows "
                     f"(14 feeds), planted {g['planted']}; {r['first']['compared']:,} compared, "
                     f"{r['first']['flagged']:,} flagged, {r['first']['opened']:,} review cases opened "
                     f"(notes {r['first']['notes']}); RSS sampled per phase (MB) "
                     f"{ {k: v // 1024 for k, v in r['first']['phase_rss_kb'].items()} }; database {r['size']}; generation {g['t_households']:.0f} s + "
                     f"{g['t_feeds']:.0f} s (not measured). Target {target} s: **{verdict}** "
                     f"({r['first']['total']:.1f} s; set-based part "
                     f"{sum(r['first']['timings'][k] for k in ('index', 'compare', 'record')):.1f} s, "
                     f"case opening {r['first']['timings']['open']:.1f} s). Processes deployed: {r['deployed']}.")
    body = "\n".join(lines)
    print("\n" + body)
    pg = C.pg_version()
    C.append_section("Monthly review (在保必核)" + (" (quick)" if args.quick else ""), body, info=info,
                     extra_machine=f"; PostgreSQL {pg}" if pg else "")


if __name__ == "__main__":
    main()
