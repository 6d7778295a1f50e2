"""Indicator frameworks (指标体系): the document checked as a whole (document), storing and reading
frameworks with their sections, headings, items and material requests (frameworks), and their .xlsx
form (framework_sheet).

May call: platform and the foundation modules."""
