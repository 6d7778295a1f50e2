"""Time as the campaign counts it: working days with China's holidays and 调休 (workdays), each unit's
deadlines as an iCalendar feed (ics).

May call: the foundation modules (errors, auth, access) and app.models."""
