"""The liaison's side of the evidence: evidence and its versions (evidence), uploads through the API
and presigned direct uploads (uploads), the API's own signed download links for a store that cannot
presign (links), and what a file's bytes say it is (filetypes).

May call: review (whether a unit may still submit, what a review changed), campaign, platform, storage
and the foundation modules."""
