"""The errors that leave ``storage/``.

StorageError
├── ConfigError       PD_DATABASE_URL is not something we can open (permanent)
├── UnavailableError  the database did not answer (transient: try again later)
├── ReadOnlyError     the database cannot be written (permanent until fixed)
├── MissingError      the SQLite file is not there, and the command may not create it
└── SchemaError       the schema is older than this program: run `privacy-desk db upgrade`
"""

from __future__ import annotations


class StorageError(Exception):
    """Base of every error raised by the storage package."""


class ConfigError(StorageError):
    """The database URL is malformed or names a database we do not support."""


class UnavailableError(StorageError):
    """The database server could not be reached or refused the connection."""


class ReadOnlyError(StorageError):
    """The database file or its folder is not writable."""


class MissingError(StorageError):
    """The SQLite file is not there; only the commands that take mail in may create it."""


class SchemaError(StorageError):
    """The database schema is not at the version this program needs."""
