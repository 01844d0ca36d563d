"""The Jining demo data: users for each role (households and standards arrive with casework)."""

from __future__ import annotations

from sqlalchemy import select

from engine import accounts

DEMO_PASSWORD = "jishijiu-demo"
DEMO_USERS = [
    ("admin", "admin", "37", "系统管理员"),
    ("designer", "designer", "37", "流程设计"),
    ("assistant", "assistant", "370827101201", "城西村协理员"),
    ("caseworker", "caseworker", "370827101", "滨湖街道经办"),
    ("caseworker2", "caseworker", "370827102", "李阁镇经办"),
    ("approver", "approver", "370827", "鱼台县审核"),
    ("committee", "committee", "370827", "议事委员"),
    ("supervisor", "supervisor", "370827", "鱼台县督导"),
]


def load_demo(services):
    now = services.clock.now()
    with services.db.write() as session:
        for username, role, region, name in DEMO_USERS:
            exists = session.execute(select(accounts.UserAccount.id).where(
                accounts.UserAccount.username == username)).first()
            if exists:
                yield f"user {username} exists"
                continue
            accounts.create_user(session, username=username, password=DEMO_PASSWORD, role=role,
                                 region=region, now=now, display_name=name)
            yield f"user {username} ({role}, {region}) created, password {DEMO_PASSWORD}"
