"""What leaves the system as files for people: the evidence package ZIP (evidence_package), the
ledger workbook (ledger) and the 自评报告 Word document (self_assessment).

May call: every domain below it (assessment, submission, review, campaign, platform, storage) for reading; it changes
nothing but the audit trail."""
