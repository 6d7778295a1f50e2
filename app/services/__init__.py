"""Business rules, one package per domain. Services flush but never commit and never raise HTTP errors.

The foundation modules stand alone at this level: messages (validation errors said in Chinese), errors (domain
errors with stable codes), auth (passwords and JWT), access (the caller and what it may see), storage (the
object store seam), store_parts (its multipart uploads, for resumable uploads). demo loads the demo county and
is the only module that calls across all domains (with demo/activity.py, which brings its campaign to life).
backup copies the whole deployment out and back (the CLI's backup and restore) and reads the tables directly,
calling no domain.

Calls only go down this list; a domain never imports one after it (tests/test_layout.py checks it).
"""

LAYERS = [
    "messages",
    "errors",
    "auth",
    "access",
    "storage",
    "store_parts",
    "documents",
    "media",
    "platform",
    "accounts",
    "calendar",
    "indicators",
    "campaign",
    "notifications",
    "review",
    "submission",
    "search",
    "worker",
    "assessment",
    "exports",
    "carryover",
    "supervision",
    "demo",
    "backup",
]
