"""Accounts and regions: users and script tokens (users), login throttling (login_throttle), password rules,
expiry and the per-account lockout (passwords), the security administrator's grants and unlocks (duties), the
region tree of provinces, cities and counties (regions).

May call: platform and the foundation modules (errors, auth, access)."""
