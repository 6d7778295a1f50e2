"""The background worker's jobs and how they run: lanes of jobs, each in a thread of its own so none waits
behind another, with heartbeats (lanes, heartbeats); file work in limited child processes (sandbox, filejobs,
files) under claims that count attempts (leases); the preview job (previews) and the search-text job (texts).

May call: search (reading a file's words), submission (rendering, the integrity check of every read),
storage and the foundation modules."""
