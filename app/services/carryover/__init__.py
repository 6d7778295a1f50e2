"""Carry-over (结转): the office starts a new campaign from an earlier one's approved evidence and open
rectifications, items matched by key across framework versions (plan.py), then commits its choice (commit.py)."""

from app.services.carryover.commit import commit, preview

__all__ = ["commit", "preview"]
