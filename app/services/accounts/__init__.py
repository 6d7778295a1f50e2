"""Accounts and regions: users and script tokens (users), login throttling (login_throttle), password rules,
expiry and the per-account lockout (passwords), the security administrator's grants and unlocks (duties), login
sessions and their tokens (sessions), unified login (sso/), the region tree of provinces, cities and counties
(regions).

May call: platform and the foundation modules (errors, auth, access)."""
