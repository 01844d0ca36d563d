"""Regions: names for division codes, parents derived from the code, admin-only edits."""

from __future__ import annotations

from tests.web.api.conftest import assert_error


def test_an_admin_adds_regions_and_everyone_reads_the_tree(client, auth):
    for code, name in (("37", "山东省"), ("3708", "济宁市"), ("370827", "鱼台县"), ("370827101", "滨湖街道")):
        answer = client.post("/api/v1/regions", json={"code": code, "name": name}, headers=auth["admin"])
        assert answer.status_code == 201, answer.get_json()
    children = client.get("/api/v1/regions?parent=3708", headers=auth["caseworker"]).get_json()
    assert children == [{"code": "370827", "name": "鱼台县", "level": "county", "parent_code": "3708"}]
    path = client.get("/api/v1/regions/370827101", headers=auth["assistant"]).get_json()
    assert [r["name"] for r in path] == ["山东省", "济宁市", "鱼台县", "滨湖街道"]


def test_bad_codes_are_422_with_the_field_and_only_admins_edit(client, auth):
    assert_error(client.post("/api/v1/regions", json={"code": "3708271", "name": "x"}, headers=auth["admin"]),
                 422)
    assert_error(client.post("/api/v1/regions", json={"code": "3708", "name": "x"}, headers=auth["caseworker"]),
                 403)
    assert_error(client.get("/api/v1/regions/999999", headers=auth["caseworker"]), 404)
    assert_error(client.get("/api/v1/regions"), 401)
