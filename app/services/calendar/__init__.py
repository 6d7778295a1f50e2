"""Time as the campaign counts it: working days with China's holidays and 调休 (workdays), the State
Council's holiday notices loaded as data year by year (holidays), each unit's deadlines as an
iCalendar feed (ics), warning lights (lights: a SQL expression over due date, status and returns, from
thresholds counted in working days).

May call: the foundation modules (errors, auth, access), platform (audit) and app.models."""
