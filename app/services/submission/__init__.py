"""The liaison's side of the evidence: evidence and its versions (evidence), uploads through the API and
presigned direct uploads (uploads), the API's own signed links for a store that cannot presign (links) and
what they serve and take, held to the same checks, and resumable uploads in parts (direct), what a file's
bytes say it is (filetypes) and whether its structure agrees (structure), the check of every read against the
record (integrity), one piece of evidence as plain rows for its busiest read (evidence_rows), and first-page
previews: how they are drawn (rendering, run by the worker's preview job in a limited child process) and how the
API serves them (previews).

May call: review (whether a unit may still submit, what a review changed), campaign, platform, storage
and the foundation modules."""
