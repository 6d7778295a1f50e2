"""三员分立 (issue 23 point 1): every route of the app is mapped to one administrator duty (or to every account, or to
none), each administrator is refused on the others' routes, no account holds two duties, and each one's actions
are in the audit trail the audit administrator reads."""

from __future__ import annotations

import re
import uuid

from app.api import duties
from tests.evidence_kit import API
from tests.test_security import _routes

ADMINS = {"sysadmin": duties.SYSTEM, "secadmin": duties.SECURITY, "auditadmin": duties.AUDIT}
STRONG = "Kf7-duties-pass"


def test_every_route_is_mapped_once_and_nothing_else_is(app) -> None:
    found = {f"{method} {path}" for method, path in _routes(app)} | {"POST /graphql"}
    missing = sorted(found - set(duties.ROUTES))
    assert not missing, f"routes without an administrator duty in app/api/duties.py: {missing}"
    assert not sorted(set(duties.ROUTES) - found), "app/api/duties.py names routes the app does not have"
    # the audit trail has no route that writes, for anyone
    assert all(key.startswith("GET ") for key in duties.ROUTES if key.split()[1].startswith(f"{API}/audit"))


def test_each_duty_is_refused_on_every_route_but_its_own(client, app, world) -> None:
    for method, path in _routes(app):
        owner = duties.ROUTES[f"{method} {path}"]
        url = re.sub(r"\{[^}]+\}", "987654321", path)  # no such object: an allowed call changes nothing
        for who, role in ADMINS.items():
            headers = world.auth(who) if path != f"{API}/auth/logout" else _fresh_login(client, who)
            r = client.request(method, url, headers=headers)
            refused = r.status_code == 403 and r.json().get("code") == "duty_refused"
            assert refused == (owner not in (duties.EVERY, role)), (who, method, path, r.status_code, r.text[:200])
            if refused:
                assert "三员分立" in r.json()["detail"]
    query = {"query": "{ viewer { username } }"}
    for who, role in ADMINS.items():
        answer = client.post("/graphql", json=query, headers=world.auth(who)).json()
        if role == duties.SYSTEM:
            assert answer["data"]["viewer"]["username"] == "sysadmin", answer
        else:
            assert answer["errors"][0]["extensions"]["code"] == "duty_refused", answer


def _fresh_login(client, who: str) -> dict[str, str]:
    """A login session of its own (logging out must not end the shared world's)."""
    r = client.post(f"{API}/auth/token", data={"username": who, "password": "shifan-demo"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_no_account_holds_two_duties(client, world) -> None:
    sec, sysadmin, auditor = world.auth("secadmin"), world.auth("sysadmin"), world.auth("auditadmin")
    accounts = client.get(f"{API}/security/accounts", params={"limit": 500}, headers=sec).json()["items"]
    ids = {a["username"]: a["id"] for a in accounts}
    # an administrator keeps its one duty: no second one, no other role
    for username, role in (("sysadmin", "security_admin"), ("auditadmin", "system_admin"), ("sysadmin", "office")):
        r = client.put(f"{API}/security/accounts/{ids[username]}/role", json={"role": role}, headers=sec)
        assert r.status_code == 409 and r.json()["code"] == "duty_conflict", r.text
    r = client.put(f"{API}/security/accounts/{ids['secadmin']}/role", json={"role": "audit_admin"}, headers=sec)
    assert r.status_code == 403 and r.json()["code"] == "role_grant_self"
    # the system administrator creates accounts, never an administrator's; nor does the security administrator
    # turn one into an administrator (its creator knew the first password): administrators are made on the server
    name = f"duty-{uuid.uuid4().hex[:8]}"
    body = {"username": name, "display_name": "新账号", "role": "audit_admin", "password": STRONG}
    r = client.post(f"{API}/users", json=body, headers=sysadmin)
    assert r.status_code == 403 and r.json()["code"] == "duty_grant_refused"
    made = client.post(f"{API}/users", json={**body, "role": "evaluator"}, headers=sysadmin)
    assert made.status_code == 201, made.text
    user_id = made.json()["id"]
    for duty in ("audit_admin", "security_admin", "system_admin"):
        r = client.put(f"{API}/security/accounts/{user_id}/role", json={"role": duty}, headers=sec)
        assert r.status_code == 403 and r.json()["code"] == "duty_grant_on_server", r.text
    # the security administrator grants business roles, their binding checked as when creating an account
    office = {"role": "office", "county_id": world.ids["gp_county"]}
    granted = client.put(f"{API}/security/accounts/{user_id}/role", json=office, headers=sec)
    assert granted.status_code == 200 and granted.json()["role"] == "office", granted.text
    bad = client.put(f"{API}/security/accounts/{user_id}/role", json={"role": "liaison"}, headers=sec)
    assert bad.status_code == 422 and bad.json()["code"] == "user_binding_invalid"
    # the account logs in, changes the password the system administrator chose; the audit administrator reads it all
    token = client.post(f"{API}/auth/token", data={"username": name, "password": STRONG}).json()["access_token"]
    mine = {"Authorization": f"Bearer {token}"}
    assert client.get(f"{API}/campaigns", headers=mine).json()["code"] == "password_change_required"
    change = {"current_password": STRONG, "new_password": "Qx9!office-own"}
    assert client.post(f"{API}/me/password", json=change, headers=mine).status_code == 204
    assert client.get(f"{API}/campaigns", headers=mine).status_code == 200
    trail = client.get(f"{API}/audit", params={"object_type": "user", "object_id": str(user_id)}, headers=auditor)
    assert [(e["action"], e["username"]) for e in trail.json()["items"]] == [
        ("user.password.change", name),
        ("user.role.grant", "secadmin"),
        ("user.create", "sysadmin"),
    ]
    grant = trail.json()["items"][1]
    assert grant["before"]["role"] == "evaluator" and grant["after"] == {
        "role": "office",
        "county_id": world.ids["gp_county"],
        "unit_id": None,
        "region_id": None,
    }
    assert client.get(f"{API}/audit", headers=sec).json()["code"] == "duty_refused"  # only the auditor reads it
    # nobody alters or deletes an entry: the trail has no such route, whoever asks
    entry = grant["id"]
    for headers in (sysadmin, sec, auditor):
        for method in ("PUT", "PATCH", "DELETE"):
            assert client.request(method, f"{API}/audit/{entry}", headers=headers).status_code in (404, 405)


def test_the_security_administrator_revokes_a_script_token(client, world, session) -> None:
    from app.services.accounts import users

    token, row = users.mint_script_token(session, username="gp-sfj", name="duties-sync")
    session.commit()
    script = {"Authorization": f"Bearer {token}"}
    assert client.get(f"{API}/me", headers=script).status_code == 200
    url = f"{API}/security/script-tokens/{row.id}/revoke"
    assert client.post(url, headers=world.auth("sysadmin")).json()["code"] == "duty_refused"
    r = client.post(url, headers=world.auth("secadmin"))
    assert r.status_code == 200 and r.json()["revoked_at"] and "jti" not in r.json()
    assert client.get(f"{API}/me", headers=script).json()["code"] == "token_revoked"
    trail = client.get(f"{API}/audit", params={"action": "script_token.revoke"}, headers=world.auth("auditadmin"))
    assert any(e["username"] == "secadmin" and e["after"]["id"] == row.id for e in trail.json()["items"])
