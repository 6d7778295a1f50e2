"""Carry-over (结转): the office starts a new campaign from an earlier one's approved evidence and open
rectifications, items matched by key across framework versions (plan.py), then commits its choice (commit.py).

May call: campaign (campaigns), review (assignment status), submission (object keys, file types), platform
(audit), storage (the server-side copy of each carried file)."""

from app.services.carryover.commit import commit, preview

__all__ = ["commit", "preview"]
