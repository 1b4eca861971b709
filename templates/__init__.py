"""Jinja2 templates for the mail requesters read, per intent and language.

``render(name, language, **values)`` renders ``mail/<name>.<language>.txt.j2`` in a sandbox with
StrictUndefined: values are data, never template code. The first line is the subject.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import PackageLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

_ENV = SandboxedEnvironment(
    loader=PackageLoader("templates", "mail"),
    undefined=StrictUndefined,
    autoescape=False,  # text mail; the HTML templates of the replies issue will autoescape
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class Rendered:
    template: str
    language: str
    subject: str
    body: str


def render(name: str, language: str, **values: Any) -> Rendered:
    """Render a text mail template; falls back to Japanese when a language has none."""
    lang = language if language in ("ja", "en") else "ja"
    text = _ENV.get_template(f"{name}.{lang}.txt.j2").render(**values)
    subject, _, body = text.lstrip("\n").partition("\n\n")
    return Rendered(name, lang, subject.strip(), body.strip() + "\n")
