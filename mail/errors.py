"""The errors that leave ``mail/``.

MailError
├── ConfigError       a mailbox or SMTP setting we cannot use (permanent)
├── ParseError        permanent: this message cannot be read (kept and quarantined)
└── TransportError    a server said no or went away
    ├── TransientError   try again later (network, 4xx)
    └── PermanentError   do not retry (5xx, bad credentials)
"""

from __future__ import annotations


class MailError(Exception):
    """Base of every error raised by the mail package."""


class ConfigError(MailError):
    """A setting (PD_MAILBOX, PD_SMTP_URL, a CA file) names nothing we can use."""


class ParseError(MailError):
    """A message that cannot be parsed within the limits; the caller keeps and quarantines it."""


class TransportError(MailError):
    """A mail server refused or dropped a request."""


class TransientError(TransportError):
    """Worth retrying later."""


class PermanentError(TransportError):
    """Retrying will not help."""
