"""What leaves the system as files for people: the evidence package ZIP (evidence_package) and the
ledger workbook (ledger).

May call: every domain below it (submission, campaign, platform, storage) for reading; it changes
nothing but the audit trail."""
