"""Alembic migrations of the desk's schema (run through ``storage.db.upgrade``)."""
