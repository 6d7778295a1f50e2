"""A county's campaign and who does what in it: campaigns with phases and engagements (campaigns),
units and unit groups (units, unit_sheet), assignments of items to units with due dates (assignments),
progress and the deadline board (progress), the assignment counts triggers keep (tally), the campaign's
supervision rules for warning lights and cards (light_rules).

May call: indicators, calendar, accounts, platform and the foundation modules."""
