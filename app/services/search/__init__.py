"""Evidence search: the words inside each version (extract), jieba's segmentation (words), which versions wait
to be read and reading them again (indexing; the worker's job that reads them is worker.texts) and the
scoped query with highlighted snippets (query).

May call: submission (which evidence a caller may read), campaign, storage and the foundation modules."""
