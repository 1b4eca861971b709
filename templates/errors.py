"""The errors that leave ``templates/``; all are permanent: the same call fails the same way.

TemplateError
├── UnknownTemplate   no mail template by that name
├── MissingValue      a value the template requires was not given (``.value`` names it)
├── InvalidValue      a value of the wrong kind: not a choice, a text where a list belongs,
│                     a naive datetime, a name the template does not take
└── BrokenTemplate    a template (often an operator's override) does not compile, is not
                      found, sets no subject, or tried something the sandbox refuses
"""

from __future__ import annotations


class TemplateError(Exception):
    """Base of every error raised by the templates package."""

    def __init__(
        self,
        message: str,
        *,
        template: str | None = None,
        language: str | None = None,
        value: str | None = None,
    ) -> None:
        super().__init__(message)
        self.template = template
        self.language = language
        self.value = value


class UnknownTemplate(TemplateError):
    """The name is not one of ``TEMPLATE_NAMES``."""


class MissingValue(TemplateError):
    """A required value is absent, None or an empty text."""


class InvalidValue(TemplateError):
    """A value was given, but not of the kind the template takes."""


class BrokenTemplate(TemplateError):
    """The template itself failed: syntax, a missing file, or a refused sandbox escape."""
