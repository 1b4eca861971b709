"""The errors that leave ``templates/``; all are permanent: the same call fails the same way.

TemplateError
├── UnknownTemplate   no mail template by that name
├── MissingValue      a value the template requires was not given (``.value`` names it)
├── InvalidValue      a value of the wrong kind: not a choice, a text where a list belongs,
│                     a naive datetime, a name the template does not take
├── ValueProblems     several of the two above at once (``.problems`` lists each), so that
│                     whoever writes a draft fixes every value in one go
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

    @property
    def problems(self) -> tuple[TemplateError, ...]:
        """Each problem on its own: this one alone, unless it is ``ValueProblems``."""
        return (self,)


class UnknownTemplate(TemplateError):
    """The name is not one of ``TEMPLATE_NAMES``."""


class MissingValue(TemplateError):
    """A required value is absent, None or an empty text."""


class InvalidValue(TemplateError):
    """A value was given, but not of the kind the template takes."""


class ValueProblems(TemplateError):
    """More than one value is missing or wrong; the message has one line for each."""

    def __init__(self, template: str, problems: list[MissingValue | InvalidValue]) -> None:
        lines = [str(p).removeprefix(f"{template}: ") for p in problems]
        super().__init__(
            f"{template}: {len(problems)} values are missing or wrong:\n"
            + "\n".join(f"  {line}" for line in lines),
            template=template,
        )
        self._problems = tuple(problems)

    @property
    def problems(self) -> tuple[TemplateError, ...]:
        return self._problems


class BrokenTemplate(TemplateError):
    """The template itself failed: syntax, a missing file, or a refused sandbox escape."""
