"""Alembic revisions of the fixedit store."""
