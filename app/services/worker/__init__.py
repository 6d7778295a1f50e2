"""The background worker: lanes of jobs (reminders, deliveries, previews, search text), each on its own so
none waits behind another, and file work in limited child processes (sandbox) so no file can stall a lane."""
