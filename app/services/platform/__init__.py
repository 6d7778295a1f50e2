"""Platform pieces every domain leans on: the append-only audit trail (audit), Idempotency-Key records
(idempotency), readiness checks (health), compare-and-set for ETags (concurrency), the shared .xlsx
helpers (sheets) and .docx helpers with Chinese fonts (word). Owns no county rule.

May call: the foundation modules (errors, auth, access, storage) and app.models; nothing above."""
