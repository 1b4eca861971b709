"""The errors the command line reports in one line with exit status 2."""

from __future__ import annotations


class UsageError(Exception):
    """Bad arguments, settings or input: reported in one line, exit status 2."""
