"""The errors that leave ``mail/``.

MailError
├── ParseError        permanent: this message cannot be read (kept and quarantined)
└── TransportError    a server said no or went away
    ├── TransientError   try again later (network, 4xx)
    └── PermanentError   do not retry (5xx, bad credentials)
"""

from __future__ import annotations


class MailError(Exception):
    """Base of every error raised by the mail package."""


class ParseError(MailError):
    """A message that cannot be parsed within the limits; the caller keeps and quarantines it."""


class TransportError(MailError):
    """A mail server refused or dropped a request."""


class TransientError(TransportError):
    """Worth retrying later."""


class PermanentError(TransportError):
    """Retrying will not help."""
