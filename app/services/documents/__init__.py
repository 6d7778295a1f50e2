"""Office file formats every domain writes and reads: the shared .xlsx helpers (sheets: safe cells, streamed
sheets, reading uploaded workbooks) and the .docx helpers with Chinese fonts and GB/T 9704 styles (word,
word_style). Owns no county rule and no table.

May call: the foundation modules (errors) and app.models; nothing above."""
