"""The Jining demo data (``jishijiu demo``): users for each role, standards, funds and households.

The data itself is in ``web/demo_data/jining.json`` (sources in its ``_source``); loading is
idempotent — what exists is left as it is.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from engine import accounts
from engine.actors import Actor
from engine.casework import funds, records, regions
from engine.casework.models import HouseholdRow, StandardRow
from engine.casework.types import Household, Standard

DEMO_PASSWORD = "jishijiu-demo"
DATA = Path(__file__).parent / "demo_data" / "jining.json"
DEMO_USERS = [
    ("admin", "admin", "37", "系统管理员"),
    ("designer", "designer", "37", "流程设计"),
    ("assistant", "assistant", "370827101201", "城西村协理员"),
    ("caseworker", "caseworker", "370827101", "滨湖街道经办"),
    ("caseworker2", "caseworker", "370827102", "李阁镇经办"),
    ("approver", "approver", "370827", "鱼台县审核"),
    ("committee", "committee", "370827", "议事委员"),
    ("committee2", "committee", "370827", "议事委员二"),
    ("committee3", "committee", "370827", "议事委员三"),
    ("supervisor", "supervisor", "370827", "鱼台县督导"),
    ("supervisor_town", "supervisor", "370827101", "滨湖街道督导"),
]
LOADER = Actor("demo", "admin", "")


def _clean(item: dict) -> dict:
    return {k: v for k, v in item.items() if not k.startswith("_")}


def load_demo(services):
    data = json.loads(DATA.read_text(encoding="utf-8"))
    now = services.clock.now()
    with services.db.write() as session:
        for code, name in data.get("regions", {}).items():
            if session.get(regions.RegionRow, code) is None:
                regions.upsert(session, code, name)
                yield f"region {code} {name}"
        for username, role, region, name in DEMO_USERS:
            if session.execute(select(accounts.UserAccount.id).where(
                    accounts.UserAccount.username == username)).first():
                continue
            accounts.create_user(session, username=username, password=DEMO_PASSWORD, role=role,
                                 region=region, now=now, display_name=name)
            yield f"user {username} ({role}, {region}) created, password {DEMO_PASSWORD}"
        for item in data["standards"]:
            standard = Standard.from_dict(_clean(item))
            if session.execute(select(StandardRow.id).where(
                    StandardRow.region_code == standard.region_code,
                    StandardRow.valid_from == standard.valid_from)).first():
                continue
            records.add_standard(session, standard, actor=LOADER, now=now)
            yield f"standard {item['_name']} from {standard.valid_from}"
        for item in data["funds"]:
            if session.execute(select(funds.Fund.id).where(funds.Fund.code == item["code"])).first():
                continue
            fund = funds.create_fund(session, code=item["code"], kind=item["kind"],
                                     region_code=item["region_code"], name=item["name"])
            funds.post(session, fund, "allocation", Decimal(item["allocation"]), at=now, actor="demo",
                       note="demo allocation")
            yield f"fund {item['name']}: {item['allocation']}"
        if session.execute(select(HouseholdRow.id).limit(1)).first() is None:
            for item in data["households"]:
                household_id = records.create_household(session, Household.from_dict(_clean(item)),
                                                        actor=LOADER, now=now)
                yield f"household #{household_id} {item['_name']}"
        from engine.casework.public.guide import load_public_data

        yield from load_public_data(session, data.get("public", {}))
