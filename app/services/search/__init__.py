"""Evidence search: the words inside each version (extract), jieba's segmentation (words), the worker job
that reads every new version once (indexing) and the scoped query with highlighted snippets (query).

May call: submission (which evidence a caller may read), campaign, storage and the foundation modules."""
