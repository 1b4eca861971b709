"""The mail requesters read: Jinja2 templates per reply and language (ja, en), text and HTML.

``Templates(company, override_dir=None).render(name, language, **values)`` renders
``mail/<name>.<lang>.txt.j2`` (subject and text body) and ``mail/<name>.<lang>.html.j2``;
``render(name, language, **values)`` does the same with a placeholder company. A file of the same
name in ``override_dir`` wins over the packaged one, partials (``_layout.*``) included.

The contract a text template keeps: it sets ``subject`` (``{% set subject %}…{% endset %}``) and
what it prints is the body. The subject is then made one line here, whatever the values held, so
no value can add a header. Values are data, never template code: every template runs in an
immutable sandbox with StrictUndefined, HTML templates autoescape, and ``company`` is reserved
for the ``Company`` the desk signs with. Dates are formatted in Asia/Tokyo by the ``date_ja``,
``date_en``, ``datetime_ja`` and ``datetime_en`` filters; ``oneline`` flattens a value and
``paragraphs`` turns staff text into escaped HTML paragraphs.

``REQUIRED`` and ``OPTIONAL`` (with defaults) name each template's values, ``KINDS`` and
``CHOICES`` say what each value may hold; ``check_values`` applies them, as ``render`` does first.
Every failure is a ``TemplateError`` (see ``templates.errors``), never a raw jinja2 exception.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from handlers.clock import TOKYO
from templates.errors import (
    BrokenTemplate,
    InvalidValue,
    MissingValue,
    TemplateError,
    UnknownTemplate,
)

if TYPE_CHECKING:  # Jinja2 is imported when a template is rendered: the names above need none
    from jinja2.sandbox import ImmutableSandboxedEnvironment
    from markupsafe import Markup

__all__ = [
    "CHOICES",
    "FILLED_BY_DESK",
    "KINDS",
    "LANGUAGES",
    "MAY_BE_EMPTY",
    "OPTIONAL",
    "REQUIRED",
    "TEMPLATE_NAMES",
    "BrokenTemplate",
    "Company",
    "InvalidValue",
    "MissingValue",
    "Rendered",
    "TemplateError",
    "Templates",
    "UnknownTemplate",
    "check_values",
    "format_date",
    "format_datetime",
    "one_line",
    "render",
]

LANGUAGES = ("ja", "en")  # the first is the fallback

# What a requester may have asked for, as ``handlers`` names the intents.
REQUEST_KINDS = (
    "disclosure",
    "correction",
    "deletion",
    "stop_use",
    "stop_provision",
    "complaint",
    "inquiry",
)

# value -> what it holds: text, texts (a list of texts), date (a date or an aware datetime, shown
# as its Tokyo date), moment (an aware datetime, shown in Tokyo), flag (bool), number (int > 0).
KINDS: Mapping[str, str] = MappingProxyType(
    {
        "case_ref": "text",
        "requester_name": "text",
        "their_subject": "text",
        "code": "text",
        "reason": "text",
        "answer_text": "text",
        "provider_name": "text",
        "kind": "text",
        "method": "text",
        "scope": "text",
        "requests": "texts",
        "needed": "texts",
        "items": "texts",
        "attachments": "texts",  # filled by the desk (FILLED_BY_DESK), never typed by staff
        "corrections": "texts",
        "deleted": "texts",
        "retained": "texts",
        "stopped": "texts",
        "recipients": "texts",
        "reasons": "texts",
        "granted": "texts",
        "received_on": "date",
        "answer_due": "date",
        "reply_by": "date",
        "posted_on": "date",
        "done_on": "date",
        "new_due": "date",
        "asked_on": "date",
        "expires_at": "moment",
        "marketing": "flag",
        "waited_days": "number",
    }
)

# Values the desk fills from the draft itself: ``attachments`` holds the names of the files the
# draft carries (``bot.replies``), so a letter names exactly what is attached.
FILLED_BY_DESK: frozenset[str] = frozenset({"attachments"})

# value -> the texts it may be (for a list, each of its items)
CHOICES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "kind": ("identity", "clarification"),  # what identity_request asks for
        "method": ("email", "post", "file"),  # how the disclosure is delivered
        "scope": ("full", "partial"),  # how much a refusal refuses
        "requests": REQUEST_KINDS,
    }
)

REQUIRED: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "ack": ("case_ref", "requests", "received_on", "answer_due"),
        "identity_request": ("case_ref", "kind", "needed", "reply_by"),
        "verification_code": ("case_ref", "code", "expires_at"),
        "disclosure_answer": ("case_ref", "method", "items"),
        "correction_done": ("case_ref", "corrections", "done_on"),
        "deletion_done": ("case_ref", "deleted", "done_on"),
        "suspension_done": ("case_ref", "stopped", "done_on"),
        "third_party_stopped": ("case_ref", "recipients", "done_on"),
        "refusal": ("case_ref", "scope", "requests", "reasons"),
        "extension_notice": ("case_ref", "reason", "new_due"),
        "complaint_answer": ("case_ref", "answer_text"),
        "inquiry_answer": ("case_ref", "answer_text"),
        "rate_redirect": ("case_ref",),
        "provider_ack": ("case_ref", "provider_name"),
        "unverified_close": ("case_ref", "asked_on"),
    }
)
TEMPLATE_NAMES: tuple[str, ...] = tuple(REQUIRED)
# required lists that may be empty, and what an empty one says; any other empty one is missing
MAY_BE_EMPTY: Mapping[str, str] = MappingProxyType({"items": "no personal data is held"})

_EXTRA: dict[str, dict[str, object]] = {
    "ack": {"their_subject": ""},
    "disclosure_answer": {"attachments": (), "posted_on": None},
    "deletion_done": {"retained": ()},
    "suspension_done": {"marketing": False},
    "refusal": {"granted": ()},
    "complaint_answer": {"their_subject": ""},
    "inquiry_answer": {"their_subject": ""},
    "unverified_close": {"waited_days": 14},
}
# template -> the values it takes but does not require, with their defaults; requester_name is
# the greeting's (provider_ack: the contact person's), "" when unknown
OPTIONAL: Mapping[str, Mapping[str, object]] = MappingProxyType(
    {
        name: MappingProxyType({"requester_name": "", **_EXTRA.get(name, {})})
        for name in TEMPLATE_NAMES
    }
)


@dataclass(frozen=True)
class Company:
    """Who signs the mail: built once from the operator's configuration."""

    name_ja: str
    name_en: str
    desk_ja: str
    desk_en: str
    email: str
    phone: str | None = None
    postal_address: str | None = None
    web: str | None = None
    signature_ja: str | None = None  # replaces the built signature block, verbatim
    signature_en: str | None = None

    @classmethod
    def placeholder(cls) -> Company:
        """A company that is plainly not configured, so that no draft passes for a real one."""
        return cls(
            name_ja="〔会社名未設定〕",
            name_en="[company name not configured]",
            desk_ja="個人情報お問い合わせ窓口",
            desk_en="Privacy Desk",
            email="privacy@example.invalid",
        )


@dataclass(frozen=True)
class Rendered:
    template: str
    language: str
    subject: str
    body: str
    html: str | None = None  # filled unless render was asked for text only


_WEEKDAYS_JA = "月火水木金土日"
_WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _tokyo(value: object, *, moment: bool = False) -> datetime | date:
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidValue(f"naive datetime {value.isoformat()}; pass an aware one")
        return value.astimezone(TOKYO)
    if isinstance(value, date) and not moment:
        return value
    wanted = "an aware datetime" if moment else "a date or an aware datetime"
    raise InvalidValue(f"a {type(value).__name__} is not {wanted}")


def format_date(value: date | datetime, language: str) -> str:
    """``2026年12月9日（水）`` or ``Wednesday, 9 December 2026``; a datetime by its Tokyo date."""
    day = _tokyo(value)
    if language == "en":
        return f"{_WEEKDAYS_EN[day.weekday()]}, {day.day} {_MONTHS_EN[day.month - 1]} {day.year}"
    return f"{day.year}年{day.month}月{day.day}日（{_WEEKDAYS_JA[day.weekday()]}）"


def format_datetime(value: datetime, language: str) -> str:
    """The Tokyo date as ``format_date`` gives it, then the Tokyo time (24-hour clock)."""
    moment = _tokyo(value, moment=True)
    clock = f"{moment:%H:%M}"
    if language == "en":
        return f"{format_date(moment, 'en')}, {clock} Japan time (JST)"
    return f"{format_date(moment, 'ja')}{clock}"


_BREAKS = frozenset(("Cc", "Cf", "Zl", "Zp"))  # control, format, line and paragraph separators


def one_line(value: object) -> str:
    """The value as one line: every control or separator character becomes a space, runs of
    white space become one. What makes a header (the subject) safe from injected lines."""
    text = str(value)
    if not text.isprintable():  # printable text has none of them: the common case, fast
        text = "".join(" " if unicodedata.category(c) in _BREAKS else c for c in text)
    return " ".join(text.split())


def _paragraphs(value: object) -> Markup:
    """Staff text as HTML: escaped, blank lines part paragraphs, single newlines become <br>."""
    from markupsafe import Markup, escape

    text = str(value).replace("\r\n", "\n").replace("\r", "\n").strip()
    parts = [p.strip("\n") for p in re.split(r"\n\s*\n", text) if p.strip()]
    return Markup("\n").join(
        Markup("<p>{}</p>").format(Markup("<br>\n").join(escape(line) for line in p.split("\n")))
        for p in parts
    )


def _check_text(value: object) -> str | None:
    return None if isinstance(value, str) else "a text"


def _check_texts(value: object) -> str | None:
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return None
    return "a list of texts"


def _check_date(value: object) -> str | None:
    if isinstance(value, datetime):
        return None if value.utcoffset() is not None else "an aware datetime, not a naive one"
    return None if isinstance(value, date) else "a date or an aware datetime"


def _check_moment(value: object) -> str | None:
    if isinstance(value, datetime):
        return _check_date(value)
    return "an aware datetime"


def _check_flag(value: object) -> str | None:
    return None if isinstance(value, bool) else "true or false"


def _check_number(value: object) -> str | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
    return None if ok else "a whole number above zero"


_CHECKS: Mapping[str, Callable[[object], str | None]] = {
    "text": _check_text,
    "texts": _check_texts,
    "date": _check_date,
    "moment": _check_moment,
    "flag": _check_flag,
    "number": _check_number,
}


def check_values(name: str, values: Mapping[str, object]) -> dict[str, object]:
    """The values a template renders with (defaults filled in), or the TemplateError that says
    which value is missing or wrong. Absent, None, "" and an empty list (unless
    ``MAY_BE_EMPTY``) count as missing."""
    if name not in REQUIRED:
        raise UnknownTemplate(
            f"no mail template {name!r}; there are: {', '.join(TEMPLATE_NAMES)}", template=name
        )
    optional = OPTIONAL[name]
    for key in values:
        if key not in optional and key not in REQUIRED[name]:
            raise InvalidValue(
                f"{name}: takes no value {key!r} (it takes: "
                f"{', '.join((*REQUIRED[name], *optional))})",
                template=name,
                value=key,
            )
    for key in REQUIRED[name]:
        value = values.get(key)
        empty = value is None or value == "" or (value in ([], ()) and key not in MAY_BE_EMPTY)
        if empty:
            raise MissingValue(f"{name}: missing value {key!r}", template=name, value=key)
    merged = {**optional, **{k: v for k, v in values.items() if v is not None}}
    for key, value in merged.items():
        if value is None and optional.get(key, ...) is None:
            continue
        wrong = _CHECKS[KINDS[key]](value)
        items = value if isinstance(value, list | tuple) else (value,)
        if wrong is None and key in CHOICES and not set(items) <= set(CHOICES[key]):
            wrong = f"one of {', '.join(CHOICES[key])}"
        if wrong is not None:
            raise InvalidValue(
                # the type, not the value: errors reach logs and the audit, personal data must not
                f"{name}: value {key!r} must be {wrong}, not this {type(value).__name__}",
                template=name,
                value=key,
            )
    return merged


def _language(language: str) -> str:
    """ja or en: the primary subtag of a language tag (en-GB -> en); anything else is ja."""
    primary = language.strip().lower().replace("_", "-").split("-")[0]
    return primary if primary in LANGUAGES else LANGUAGES[0]


def _environment(override_dir: Path | None) -> ImmutableSandboxedEnvironment:
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    loaders: list[jinja2.BaseLoader] = [jinja2.PackageLoader("templates", "mail")]
    if override_dir is not None:
        loaders.insert(0, jinja2.FileSystemLoader(override_dir))
    env = ImmutableSandboxedEnvironment(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        date_ja=lambda v: format_date(v, "ja"),
        date_en=lambda v: format_date(v, "en"),
        datetime_ja=lambda v: format_datetime(v, "ja"),
        datetime_en=lambda v: format_datetime(v, "en"),
        oneline=one_line,
        paragraphs=_paragraphs,
    )
    return env


class Templates:
    """The desk's mail templates, signed by ``company``, an operator's folder first."""

    def __init__(self, company: Company, override_dir: Path | None = None) -> None:
        if override_dir is not None and not override_dir.is_dir():
            raise BrokenTemplate(f"template override folder {override_dir} is not a folder")
        self.company = company
        self.override_dir = override_dir
        self._env = _environment(override_dir)

    def render(self, name: str, language: str, *, html: bool = True, **values: Any) -> Rendered:
        """Subject, text body and HTML body of one mail; unknown languages get Japanese.

        ``html=False`` leaves the HTML out (``Rendered.html`` is None): half the work, for a
        draft whose HTML is rendered only when it is sent."""
        if "company" in values:
            raise InvalidValue("'company' is the signature's; it is not a value", value="company")
        data = {**check_values(name, values), "company": self.company}
        lang = _language(language)
        stem = f"{name}.{lang}"
        with _translated(stem, name, lang):
            text = self._env.get_template(f"{stem}.txt.j2")
            context = text.new_context(data)
            body = self._env.concat(text.root_render_func(context))
            subject = context.vars.get("subject")
            page = self._env.get_template(f"{stem}.html.j2").render(data) if html else None
        if subject is None or not one_line(subject):
            raise BrokenTemplate(
                f"{stem}.txt.j2 sets no subject ({{% set subject %}}…{{% endset %}})",
                template=name,
                language=lang,
            )
        body = re.sub(r"\n{3,}", "\n\n", str(body)).strip() + "\n"
        return Rendered(
            name, lang, one_line(subject), body, page.strip() + "\n" if page is not None else None
        )

    def words(self, name: str, language: str) -> Mapping[str, str]:
        """The ``words`` the partial ``_<name>.<lang>.j2`` sets: requester text the desk puts
        into a template's values (an operator's folder first, like every template)."""
        lang = _language(language)
        stem = f"_{name}.{lang}"
        with _translated(stem, name, lang):
            words = self._env.get_template(f"{stem}.j2").module.words  # type: ignore[attr-defined]
            return MappingProxyType({str(k): str(v) for k, v in dict(words).items()})

    def check(self) -> None:
        """Compile every template in every language and format, so that a broken override is
        found at start-up rather than by the first mail that needs it."""
        for name in TEMPLATE_NAMES:
            for lang in LANGUAGES:
                for form in ("txt", "html"):
                    with _translated(f"{name}.{lang}", name, lang):
                        self._env.get_template(f"{name}.{lang}.{form}.j2")


@contextmanager
def _translated(stem: str, name: str, lang: str) -> Iterator[None]:
    """Turns whatever a template raises into a BrokenTemplate naming it (our own errors pass)."""
    try:
        yield
    except TemplateError:
        raise
    except Exception as exc:
        import jinja2

        if isinstance(exc, jinja2.TemplateNotFound):
            why = f"no template {exc.name}"
        elif isinstance(exc, jinja2.TemplateSyntaxError):
            why = f"syntax error in {exc.name or exc.filename} line {exc.lineno}: {exc.message}"
        elif isinstance(exc, jinja2.exceptions.SecurityError):
            why = f"refused by the sandbox: {exc}"
        elif isinstance(exc, jinja2.UndefinedError):
            why = f"uses a value it is not given: {exc}"
        else:
            why = f"failed: {type(exc).__name__}: {exc}"
        raise BrokenTemplate(f"{stem}: {why}", template=name, language=lang) from exc


@cache
def _default() -> Templates:
    return Templates(Company.placeholder())


def render(name: str, language: str, **values: Any) -> Rendered:
    """``Templates(Company.placeholder()).render(...)``: for callers without a configured company."""
    return _default().render(name, language, **values)
