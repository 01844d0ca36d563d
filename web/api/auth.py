"""Bearer tokens: issue (``POST /auth/token``), revoke (``DELETE /auth/token``), who am I.

Every API blueprint checks the token before its views (:func:`web.api.common.require_token`,
deny by default); only ``POST /auth/token`` is reachable without one.
"""

from __future__ import annotations

from flask import g

from engine import accounts
from engine.workflow import audit
from web.api import schemas
from web.api.common import (NotAuthenticated, api_blueprint, body_doc, current_actor, load, now,
                            read_json, services, wall_now)

blp = api_blueprint("auth", "/auth", "Bearer tokens / 登录令牌")


@blp.route("/token", methods=["POST"])
@blp.doc(security=[], **body_doc(schemas.TokenRequest))
@blp.response(200, schemas.Token)
def issue_token():
    """Exchange a username and password for a bearer token."""
    data = load(schemas.TokenRequest, read_json())
    real = wall_now()
    with services().db.write() as session:
        user = accounts.authenticate(session, data["username"], data["password"], real)
        if user is not None:
            token, seconds = accounts.issue_token(session, user, real)
            audit.append(session, chain=f"user:{user.username}", actor=user.username,
                         action="user.token_issued", object_type="user", object_id=user.id,
                         at=now())
    if user is None:  # failed logins are counted (and the account locked) before we answer
        raise NotAuthenticated("wrong username or password / 用户名或密码错误")
    return {"access_token": token, "token_type": "Bearer", "expires_in": seconds}


@blp.route("/token", methods=["DELETE"])
@blp.response(200, schemas.Revoked)
def revoke_token():
    """Revoke the bearer token this request carries (log out)."""
    actor = current_actor()
    with services().db.write() as session:
        revoked = accounts.revoke_token(session, g.token, wall_now())
        audit.append(session, chain=f"user:{actor.username}", actor=actor.username,
                     action="user.token_revoked", object_type="user", object_id=actor.username,
                     at=now())
    return {"revoked": revoked}


@blp.route("/me", methods=["GET"])
@blp.response(200, schemas.Me)
def me():
    """Who the token belongs to: username, role and region."""
    actor = current_actor()
    return {"username": actor.username, "role": actor.role, "region": actor.region}
