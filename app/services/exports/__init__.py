"""What leaves the system as files for people: the evidence package ZIP (evidence_package), the
ledger workbook (ledger) and the 自评报告 Word document (self_assessment, its score parts in
self_assessment_scores, the office's own template in report_template).

May call: every domain below it (assessment, submission, review, campaign, platform, storage) for reading; it changes
nothing but the audit trail and a campaign's report template."""
