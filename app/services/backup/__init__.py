"""Backup and restore of a whole deployment: a consistent snapshot of the database (pg_dump's custom format on
PostgreSQL, the online backup API on SQLite), a copy of exactly the evidence objects that snapshot's rows name,
and a manifest signed with a key derived from the deployment's secret (manifest); taking one (take) and putting
one back into an empty database and store after checking every byte of it (restore). database holds what
differs between PostgreSQL and SQLite; objects what the snapshot's rows refer to and how they are copied.

A backup directory:
    manifest.json            what is in it (files with size and SHA-256, schema revision, row counts), signed
    database.dump            PostgreSQL: pg_dump --format=custom   (or database.sqlite3 on SQLite)
    objects/<object key>     each evidence file, preview and pending direct upload the snapshot names

May call: the foundation modules (errors, storage), app.models, app.db and app.settings; nothing above."""
