"""Run records: every `cst run` remembered in an embedded SQLite database (schema.py: the
tables and their migrations; store.py: where the database is and opening it; recorder.py:
writing a run from its events; reader.py: listing, showing, diffing and pruning runs;
cache.py: the persistent store of the `cache:` option; trace.py: trace export)."""
