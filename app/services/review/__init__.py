"""The office's side of the evidence: reviews that approve, return or reopen a version (reviews), the
materials deadline, freezes and late windows that lock submission (locks), and the rectification list
(rectification, 回头看).

May call: notifications, campaign, platform and the foundation modules."""
