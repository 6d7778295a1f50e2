"""督办 (supervision): cards and events when a task's light turns 黄 or 红 (escalation), the numbered 督办单 a red card
issues, its .docx and the unit's 回执 (notices, notice_document), the counts of lights per unit and per campaign
(counts), and the units' ranking by the points their cards cost (ranking). The lights themselves are computed in
calendar.lights; a campaign's rules live in campaign.light_rules.

May call: review, notifications, campaign, calendar, documents, platform and the foundation modules."""
