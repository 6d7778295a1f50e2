"""Platform pieces every domain leans on: the append-only audit trail (audit; its hash chain audit_chain, the
daily roots audit_roots stamped by an RFC 3161 authority through timestamp, verification audit_verify, the
export audit_export and archive/prune audit_archive), Idempotency-Key records (idempotency), readiness checks
(health), compare-and-set for ETags (concurrency). Owns no county rule.

May call: the foundation modules (errors, auth, access, storage), documents (.xlsx/.docx helpers) and
app.models; nothing above."""
