"""Alembic environment and revisions for the fixedit store (run through store.db.migrate)."""
