"""Platform pieces every domain leans on: the append-only audit trail (audit), Idempotency-Key records
(idempotency), readiness checks (health), compare-and-set for ETags (concurrency) and the shared .xlsx
helpers (sheets). Owns no county rule.

May call: the foundation modules (errors, auth, access, storage) and app.models; nothing above."""
