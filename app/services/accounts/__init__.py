"""Accounts and regions: users and script tokens (users), login throttling (login_throttle), login sessions and
their tokens (sessions), the region tree of provinces, cities and counties (regions).

May call: platform and the foundation modules (errors, auth, access)."""
