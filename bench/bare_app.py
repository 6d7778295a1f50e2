"""The baseline of the to-do list benchmark: a bare FastAPI endpoint returning 50 static rows shaped like
the to-do list's, with no token, no database, no middleware."""

from __future__ import annotations

from fastapi import FastAPI

ROWS = [
    {"id": n, "campaign_id": 1, "item_id": n, "item_key": f"indicator-{n}", "item_number": n,
     "item_text": "全面普及行政审批服务“马上办、网上办、就近办、一次办、自助办”。" * 2, "section": "indicator",
     "level1_id": 1, "unit_id": 18, "unit_name": "县司法局", "role": "co", "due_on": "2023-02-28",
     "due_overridden": False, "status": "not_started", "overdue": True}
    for n in range(1, 51)
]  # fmt: skip

app = FastAPI()


@app.get("/todo")
def todo() -> dict:
    """50 static rows in the page envelope."""
    return {"items": ROWS, "total": 50, "limit": 50, "offset": 0, "next_cursor": None, "next": None}
