"""The office's side of the evidence: reviews that approve, return or reopen a version (reviews), the
materials deadline, freezes and late windows that lock submission (locks), the rectification list
(rectification), 整改销号 and reopening with their kept decisions and the problem pool per unit (closing), and
回头看: follow-up rounds drawn from a seed (follow_ups) and their checks' results (follow_up_checks), and the same
bytes handed in elsewhere in the county, which those who judge evidence are shown (reuse).

May call: notifications, campaign, platform and the foundation modules."""
