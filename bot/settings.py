"""The desk's settings: the one reader of the environment and ``.env``, every value checked.

``read()`` takes the ``PD_*`` and ``SLACK_*`` names of the environment over those of ``.env`` in
the working folder (or of the file ``PD_ENV_FILE`` names) and builds one frozen ``Settings``
object of typed sections (pydantic-settings). Every problem is found in one pass and reported in
one ``SettingsError``: a malformed value names its setting (never a secret's value); a name that
is no setting is refused with the closest known one ("PD_SMPT_URL is not a setting; did you mean
PD_SMTP_URL?"). A check that needs several values of one section runs only when each of them is
well formed, and nothing is built from a section that failed, so one mistake is told once.

What a command needs besides (``fetch``: a mailbox; ``serve``, and ``check``, which fails on
what ``serve`` would refuse: an IMAP mailbox, an SMTP URL given explicitly, approvers) is listed
with the rest when ``read`` is told the command.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BeforeValidator, Field, PrivateAttr, ValidationError
from pydantic import model_validator as _model_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.errors import UsageError
from bot.slack.ids import is_slack_id

if TYPE_CHECKING:
    from handlers.sla import Rules
    from mail.imap import MailboxConfig
    from mail.smtp import SmtpConfig
    from storage.crypto import Keyring

PREFIXES = ("PD_", "SLACK_")
ENV_FILE = "PD_ENV_FILE"  # read before the others: it says where the others are
DEFAULT_DATABASE_URL = "sqlite:///var/privacy-desk.db"
TRY_OUTBOX = "file:var/outbox"  # what commands other than serve write mail into when unset
SLACK_API = "https://slack.com/api/"
SLACK_MASKS = ("partial", "domain", "none", "strict", "full")
_ADDRESS = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+")


class SettingsError(UsageError):
    """Settings that cannot be used: every problem, one line each (exit status 2)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(dict.fromkeys(problems))
        if len(self.problems) == 1:
            said = self.problems[0]
        else:
            listed = "\n".join(f"  - {p}" for p in self.problems)
            said = f"{len(self.problems)} settings are not usable:\n{listed}"
        super().__init__(said)


# ---- value checks: each raises ValueError with what the value must be ------------------------


def _text(value: object) -> str:
    return str(value).strip()


def _flag(value: object) -> bool:
    text = _text(value).lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"must be 1 or 0, not {_text(value)!r}")


def _seconds(value: object) -> float:
    try:
        seconds = float(_text(value))
    except ValueError:
        raise ValueError(f"must be a number of seconds, not {_text(value)!r}") from None
    if not 0 < seconds < float("inf"):
        raise ValueError("must be more than 0 seconds")
    return seconds


def _whole(least: int, unit: str) -> Callable[[object], int]:
    def check(value: object) -> int:
        text = _text(value)
        if not text.isdigit() or int(text) < least:
            raise ValueError(f"must be a whole number of {unit} ({least} or more), not {text!r}")
        return int(text)

    return check


def _between(least: int, most: int, unit: str) -> Callable[[object], int]:
    def check(value: object) -> int:
        text = _text(value)
        if not text.isdigit() or not least <= int(text) <= most:
            raise ValueError(
                f"must be a whole number of {unit} from {least} to {most}, not {text!r}"
            )
        return int(text)

    return check


def _port(value: object) -> int:
    """A TCP port; 0 lets the operating system choose a free one (``serve`` prints it)."""
    text = _text(value)
    if not text.isdigit() or not 0 <= int(text) < 65536:
        raise ValueError(f"must be a port number, not {text!r}")
    return int(text)


def _names(value: object) -> tuple[str, ...]:
    """Comma- or space-separated names or IDs."""
    return tuple(w for w in re.split(r"[\s,]+", _text(value)) if w)


def _slack_ids(value: object) -> tuple[str, ...]:
    ids = _names(value)
    wrong = [w for w in ids if not is_slack_id(w)]
    if wrong:
        raise ValueError(f"takes Slack user (U…) or user-group (S…) IDs, not {wrong}")
    return ids


def _digest_time(value: object) -> str:
    text = _text(value) or "09:00"
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if text.lower() == "off" or (match and int(match[1]) < 24 and int(match[2]) < 60):
        return text.lower()
    raise ValueError(f"must be HH:MM (Asia/Tokyo) or off, not {text!r}")


def _address(value: object) -> str:
    text = _text(value)
    if not _ADDRESS.fullmatch(text):
        raise ValueError(f"is not an address: {text!r}")
    return text


def _folder(value: object) -> Path:
    path = Path(_text(value))
    if not path.is_dir():
        raise ValueError(f"is not a folder: {path}")
    return path


def _database_url(value: object) -> str:
    from storage.db import parse_url
    from storage.errors import ConfigError

    text = _text(value)
    try:
        parse_url(text)
    except ConfigError as exc:
        raise _Told(str(exc)) from None
    return text


def _mailbox_url(value: object) -> str:
    """The URL's form alone (the password and CA file are the section's to check)."""
    from mail.imap import ConfigError, parse_mailbox_url

    text = _text(value)
    if text.startswith("maildir:"):
        if not text.removeprefix("maildir:").strip():
            raise _Told("PD_MAILBOX names no Maildir folder (maildir:/path)")
        return text
    try:
        parse_mailbox_url(text, password="form only")
    except ConfigError as exc:
        raise _Told(str(exc)) from None
    return text


def _smtp_url(value: object) -> str:
    text = _text(value)
    scheme = text.partition(":")[0].lower()
    if scheme not in ("smtp", "smtp+starttls", "smtps", "file"):
        raise _Told("PD_SMTP_URL must start with smtp://, smtp+starttls://, smtps:// or file:")
    return text


def _retention_days(value: object) -> int:
    from handlers.retention import RetentionError, parse_days

    try:
        return parse_days(str(value))
    except RetentionError as exc:
        raise _Told(str(exc)) from None


def _public_url(value: object) -> str:
    """An http(s) base URL without query or fragment, its trailing slash dropped."""
    from urllib.parse import urlsplit

    text = _text(value)
    try:
        parts = urlsplit(text)
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or "?" in text
        or "#" in text
        or parts.username is not None
    ):
        raise ValueError(
            "must be the http(s) URL staff browsers reach the desk at, without query or "
            "fragment (https://desk.example.com)"
        )
    return text.rstrip("/")


def _link_secret(value: object) -> str:
    """The key of case-file links: 32 bytes at least (never echoed: it is a secret)."""
    text = str(value).strip()
    if len(text.encode()) < 32:
        raise ValueError("must be at least 32 bytes (e.g. `openssl rand -base64 48`)")
    return text


def _log_format(value: object) -> str:
    text = _text(value).lower()
    if text not in ("json", "text"):
        raise ValueError(f"must be json or text, not {_text(value)!r}")
    return text


def _slack_mask(value: object) -> str:
    text = _text(value) or "partial"
    if text not in SLACK_MASKS:
        raise ValueError(f"must be {', '.join(SLACK_MASKS[:-1])} or {SLACK_MASKS[-1]}")
    return text


STAFF_LANGUAGES = ("ja", "en")  # bot.words has one file of staff texts per language


def _staff_language(value: object) -> str:
    text = _text(value).lower() or "ja"
    if text not in STAFF_LANGUAGES:
        raise ValueError(f"must be {' or '.join(STAFF_LANGUAGES)}, not {text!r}")
    return text


class _Told(ValueError):
    """A problem whose message names its setting already (``problems``: one line each, when a
    value has several)."""

    def __init__(self, *problems: str) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(problems))


def _jurisdiction(value: object) -> str:
    from handlers.sla import JURISDICTIONS

    text = _text(value).lower()
    if text not in JURISDICTIONS:
        raise ValueError(f"must be {', '.join(JURISDICTIONS[:-1])} or {JURISDICTIONS[-1]}")
    return text


Flag = Annotated[bool, BeforeValidator(_flag)]
Seconds = Annotated[float, BeforeValidator(_seconds)]
Text = Annotated[str, BeforeValidator(_text)]
Secret = Annotated[str, BeforeValidator(str)]  # kept as given: a password may hold spaces


# ---- sections ---------------------------------------------------------------------------------


class Section(BaseSettings):
    """A group of settings; its values come from ``read`` alone (the keyword arguments), so the
    unknown-name check and every section see the same names and the same precedence."""

    model_config = SettingsConfigDict(
        frozen=True, extra="ignore", case_sensitive=True, validate_default=False
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(str(f.alias) for f in cls.model_fields.values())


class DatabaseSection(Section):
    url: Annotated[str, BeforeValidator(_database_url)] = Field(
        DEFAULT_DATABASE_URL, alias="PD_DATABASE_URL", repr=False
    )

    @property
    def sqlite_file(self) -> Path | None:
        """The absolute path of the SQLite file, or None (PostgreSQL, or in memory)."""
        from storage.db import parse_url

        url = parse_url(self.url)
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return None
        return Path(url.database).absolute()


class MailboxSection(Section):
    url: Annotated[str | None, BeforeValidator(_mailbox_url)] = Field(
        None, alias="PD_MAILBOX", repr=False
    )
    password: Secret | None = Field(None, alias="PD_IMAP_PASSWORD", repr=False)
    password_file: Text | None = Field(None, alias="PD_IMAP_PASSWORD_FILE")
    allow_plaintext: Flag = Field(False, alias="PD_IMAP_ALLOW_PLAINTEXT")
    processed_folder: Text = Field("PrivacyDesk/Processed", alias="PD_IMAP_PROCESSED_FOLDER")
    timeout: Seconds = Field(30.0, alias="PD_IMAP_TIMEOUT")
    ca_file: Text | None = Field(None, alias="PD_IMAP_CA_FILE")
    sent_folder: Text | None = Field(None, alias="PD_IMAP_SENT_FOLDER")
    # Mail the server received more than this many days before the desk first read the mailbox
    # is historic: a case each, but no acknowledgement, post or reminder; one summary instead.
    backlog_days: Annotated[int, BeforeValidator(_between(0, 3650, "days"))] = Field(
        14, alias="PD_BACKLOG_DAYS"
    )
    _config: MailboxConfig | Path | None = PrivateAttr(None)

    @_model_validator(mode="after")
    def _connect(self) -> MailboxSection:
        from mail.imap import ConfigError, parse_mailbox_url

        if self.url is None:
            if self.sent_folder:
                raise _Told("PD_IMAP_SENT_FOLDER needs an IMAP PD_MAILBOX")
            return self
        if self.url.startswith("maildir:"):
            if self.sent_folder:
                raise _Told("PD_IMAP_SENT_FOLDER needs an IMAP PD_MAILBOX, not a Maildir")
            self._config = Path(self.url.removeprefix("maildir:").strip())
            return self
        try:
            self._config = parse_mailbox_url(
                self.url,
                password=self.password or None,
                password_file=self.password_file,
                allow_plaintext=self.allow_plaintext,
                processed_folder=self.processed_folder,
                timeout=self.timeout,
                ca_file=self.ca_file,
            )
        except ConfigError as exc:
            raise _Told(str(exc)) from None
        return self

    @property
    def config(self) -> MailboxConfig | Path | None:
        """The IMAP mailbox, the Maildir folder, or None when PD_MAILBOX is not set."""
        return self._config


class SmtpSection(Section):
    url: Annotated[str | None, BeforeValidator(_smtp_url)] = Field(
        None, alias="PD_SMTP_URL", repr=False
    )
    password: Secret | None = Field(None, alias="PD_SMTP_PASSWORD", repr=False)
    ca_file: Text | None = Field(None, alias="PD_SMTP_CA_FILE")
    timeout: Seconds = Field(30.0, alias="PD_SMTP_TIMEOUT")
    allow_plaintext: Flag = Field(False, alias="PD_SMTP_ALLOW_PLAINTEXT")
    _config: SmtpConfig | None = PrivateAttr(None)

    @_model_validator(mode="after")
    def _connect(self) -> SmtpSection:
        from mail.smtp import ConfigError, parse_smtp_url

        try:
            self._config = parse_smtp_url(
                self.url or TRY_OUTBOX,
                password=self.password or None,
                ca_file=self.ca_file,
                timeout=self.timeout,
                allow_plaintext=self.allow_plaintext,
            )
        except ConfigError as exc:
            raise _Told(str(exc)) from None
        return self

    @property
    def config(self) -> SmtpConfig:
        """Where mail goes: ``PD_SMTP_URL``, or the ``file:var/outbox`` folder when unset (which
        ``serve`` refuses: it sends only where it is told)."""
        assert self._config is not None
        return self._config

    @property
    def writes_files(self) -> bool:
        return self.config.scheme == "file"


class ReplySection(Section):
    from_address: Annotated[str | None, BeforeValidator(_address)] = Field(
        None, alias="PD_FROM_ADDRESS"
    )
    from_name: Text | None = Field(None, alias="PD_FROM_NAME")
    company_name: Text | None = Field(None, alias="PD_COMPANY_NAME")
    company_name_en: Text | None = Field(None, alias="PD_COMPANY_NAME_EN")
    desk_name: Text | None = Field(None, alias="PD_DESK_NAME")
    desk_name_en: Text | None = Field(None, alias="PD_DESK_NAME_EN")
    company_phone: Text | None = Field(None, alias="PD_COMPANY_PHONE")
    company_address: Text | None = Field(None, alias="PD_COMPANY_ADDRESS")
    company_url: Text | None = Field(None, alias="PD_COMPANY_URL")
    templates_dir: Annotated[Path | None, BeforeValidator(_folder)] = Field(
        None, alias="PD_TEMPLATES_DIR"
    )
    approvers: Annotated[tuple[str, ...], BeforeValidator(_names)] = Field((), alias="PD_APPROVERS")
    four_eyes: Flag = Field(False, alias="PD_FOUR_EYES")
    auto_ack: Flag = Field(False, alias="PD_AUTO_ACK")
    daily_cap: Annotated[int, BeforeValidator(_whole(0, "mails"))] = Field(
        3, alias="PD_AUTO_MAIL_DAILY_CAP"
    )
    # Automatic mails the whole desk sends in one Tokyo day, at most (a flood of forged
    # requests must not turn the desk into a mail relay).
    desk_daily_cap: Annotated[int, BeforeValidator(_whole(0, "mails"))] = Field(
        200, alias="PD_AUTO_MAIL_DESK_DAILY_CAP"
    )
    # The authserv-id of the company's own MTA in Authentication-Results: when set, only mail
    # it authenticated (DMARC, or aligned DKIM) joins a case, proves a code or gets automatic mail.
    authserv_id: Text | None = Field(None, alias="PD_AUTHSERV_ID")
    # Tokyo business days for a person to decide what an undecided case asks for.
    triage_business_days: Annotated[int, BeforeValidator(_whole(1, "business days"))] = Field(
        1, alias="PD_TRIAGE_BUSINESS_DAYS"
    )


class SlackSection(Section):
    bot_token: Secret | None = Field(None, alias="SLACK_BOT_TOKEN", repr=False)
    signing_secret: Secret | None = Field(None, alias="SLACK_SIGNING_SECRET", repr=False)
    app_token: Secret | None = Field(None, alias="SLACK_APP_TOKEN", repr=False)
    channel: Text | None = Field(None, alias="PD_SLACK_CHANNEL")
    api_url: Text = Field(SLACK_API, alias="PD_SLACK_API_URL")
    mask: Annotated[str, BeforeValidator(_slack_mask)] = Field("partial", alias="PD_SLACK_MASK")
    # Staff besides the approvers and the members of the case channel (DESIGN rule 8).
    staff: Annotated[tuple[str, ...], BeforeValidator(_slack_ids)] = Field((), alias="PD_STAFF")
    # The language of what staff read (bot.words): so far the monthly report.
    staff_language: Annotated[str, BeforeValidator(_staff_language)] = Field(
        "ja", alias="PD_STAFF_LANGUAGE"
    )
    # New case messages in any minute, at most (Slack allows about one message a second in a
    # channel); the rest wait, the nearest deadline first.
    posts_per_minute: Annotated[int, BeforeValidator(_between(1, 60, "posts"))] = Field(
        20, alias="PD_SLACK_POSTS_PER_MINUTE"
    )

    @_model_validator(mode="after")
    def _paired(self) -> SlackSection:
        if bool(self.bot_token) != bool(self.channel):
            raise _Told("Slack needs both SLACK_BOT_TOKEN and PD_SLACK_CHANNEL")
        if (self.app_token or self.signing_secret) and not self.bot_token:
            name = "SLACK_APP_TOKEN" if self.app_token else "SLACK_SIGNING_SECRET"
            raise _Told(f"{name} needs SLACK_BOT_TOKEN and PD_SLACK_CHANNEL too")
        if self.app_token and not self.app_token.strip().startswith("xapp-"):
            raise _Told("SLACK_APP_TOKEN must be the app-level token (xapp-...)")
        return self

    @property
    def posts(self) -> bool:
        """Whether the desk posts cases to a channel (a bot token and a channel)."""
        return bool(self.bot_token and self.channel)


class ScheduleSection(Section):
    escalation: Annotated[tuple[str, ...], BeforeValidator(_slack_ids)] = Field(
        (), alias="PD_ESCALATION"
    )
    digest_time: Annotated[str, BeforeValidator(_digest_time)] = Field(
        "09:00", alias="PD_DIGEST_TIME"
    )
    requester_reminder_days: Annotated[int, BeforeValidator(_whole(1, "days"))] = Field(
        7, alias="PD_REQUESTER_REMINDER_DAYS"
    )


class HttpSection(Section):
    port: Annotated[int, BeforeValidator(_port)] = Field(8080, alias="PD_HTTP_PORT")
    host: Text = Field("127.0.0.1", alias="PD_HTTP_HOST")
    # Seconds a request's headers, and then its body, may take to arrive.
    read_timeout: Annotated[float, BeforeValidator(_seconds)] = Field(
        10.0, alias="PD_HTTP_READ_TIMEOUT"
    )
    metrics_token: Secret | None = Field(None, alias="PD_METRICS_TOKEN", repr=False)
    # The case-file pages (bot.web): the base URL staff browsers use (behind a reverse proxy),
    # the key of their signed links (the same on every replica) and the links' lifetime.
    public_url: Annotated[str | None, BeforeValidator(_public_url)] = Field(
        None, alias="PD_PUBLIC_URL"
    )
    link_secret: Annotated[str | None, BeforeValidator(_link_secret)] = Field(
        None, alias="PD_LINK_SECRET", repr=False
    )
    link_ttl_minutes: Annotated[int, BeforeValidator(_between(1, 1440, "minutes"))] = Field(
        15, alias="PD_LINK_TTL_MINUTES"
    )

    @_model_validator(mode="after")
    def _linked(self) -> HttpSection:
        if self.public_url and not self.link_secret:
            raise _Told("PD_PUBLIC_URL needs PD_LINK_SECRET (the key of case-file links)")
        return self


class RetentionSection(Section):
    days: Annotated[int, BeforeValidator(_retention_days)] = Field(365, alias="PD_RETENTION_DAYS")


class KeySection(Section):
    raw_keys: Secret | None = Field(None, alias="PD_RAW_KEYS", repr=False)
    _keyring: Keyring | None = PrivateAttr(None)

    @_model_validator(mode="after")
    def _keys(self) -> KeySection:
        from storage.crypto import RawKeyError, keyring_from

        try:
            self._keyring = keyring_from(self.raw_keys)
        except RawKeyError as exc:
            raise _Told(str(exc)) from None
        return self

    @property
    def keyring(self) -> Keyring | None:
        """The keys raw mail is encrypted with, or None (stored as it came)."""
        return self._keyring


class IntakeSection(Section):
    classify_timeout: Seconds = Field(10.0, alias="PD_CLASSIFY_TIMEOUT")
    # The largest file kept or sent: an incoming attachment larger than this is kept (in the raw
    # mail) but flagged "oversized"; an answer's files, each and together, are held to it.
    attachment_max_bytes: Annotated[int, BeforeValidator(_between(1, 1024**3, "bytes"))] = Field(
        25 * 1024 * 1024, alias="PD_ATTACHMENT_MAX_BYTES"
    )


class SlaSection(Section):
    """The law new cases run under and the operator's SLA policies, read and checked at start."""

    jurisdiction: Annotated[str, BeforeValidator(_jurisdiction)] = Field(
        "appi", alias="PD_JURISDICTION"
    )
    policies: Text | None = Field(None, alias="PD_SLA_POLICIES")
    _rules: Rules | None = PrivateAttr(None)

    @_model_validator(mode="after")
    def _load(self) -> SlaSection:
        from handlers.sla import SlaError, load_rules

        try:
            self._rules = load_rules(self.policies or None, jurisdiction=self.jurisdiction)
        except SlaError as exc:
            raise _Told(*(f"PD_SLA_POLICIES {p}" for p in exc.problems)) from None
        return self

    @property
    def rules(self) -> Rules:
        """The packaged policies with the operator's merged over them, and the jurisdiction."""
        assert self._rules is not None
        return self._rules


class LogSection(Section):
    format: Annotated[Literal["json", "text"] | None, BeforeValidator(_log_format)] = Field(
        None, alias="PD_LOG_FORMAT"
    )


SECTIONS: dict[str, type[Section]] = {
    "database": DatabaseSection,
    "mailbox": MailboxSection,
    "smtp": SmtpSection,
    "replies": ReplySection,
    "slack": SlackSection,
    "schedule": ScheduleSection,
    "http": HttpSection,
    "retention": RetentionSection,
    "keys": KeySection,
    "intake": IntakeSection,
    "sla": SlaSection,
    "logging": LogSection,
}
NAMES: tuple[str, ...] = (ENV_FILE, *(n for s in SECTIONS.values() for n in s.names()))


@dataclass(frozen=True)
class Settings:
    """Every setting of the desk, checked: one object built at start and passed down."""

    database: DatabaseSection
    mailbox: MailboxSection
    smtp: SmtpSection
    replies: ReplySection
    slack: SlackSection
    schedule: ScheduleSection
    http: HttpSection
    retention: RetentionSection
    keys: KeySection
    intake: IntakeSection
    sla: SlaSection
    logging: LogSection

    def needed_by(self, command: str) -> list[str]:
        """What ``command`` cannot run without, beyond well-formed values (empty: nothing)."""
        return _needs(command, vars(self))

    def require(self, command: str) -> None:
        """``SettingsError`` listing what ``command`` needs and is not given."""
        problems = self.needed_by(command)
        if problems:
            raise SettingsError(problems)


# What a command needs besides well-formed values; ``check`` fails on what ``serve`` refuses.
NEEDS = {"fetch": "fetch", "serve": "serve", "check": "serve"}


def _needs(command: str, built: Mapping[str, Any]) -> list[str]:
    """The needs of ``command`` among the sections that could be built (a section that failed
    has told its own problem already)."""
    need = NEEDS.get(command)
    mailbox, smtp, replies = built.get("mailbox"), built.get("smtp"), built.get("replies")
    problems: list[str] = []
    if need is None:
        return problems
    if isinstance(mailbox, MailboxSection) and mailbox.config is None:
        problems.append("PD_MAILBOX is not set (imaps://user@host:993/INBOX or maildir:/path)")
    if need != "serve":
        return problems
    if isinstance(mailbox, MailboxSection) and isinstance(mailbox.config, Path):
        problems.append("serve watches an IMAP mailbox; for a Maildir run `fetch` from cron")
    if isinstance(smtp, SmtpSection) and smtp.url is None:
        problems.append(
            "PD_SMTP_URL is not set: serve sends mail only where it is told "
            "(smtp+starttls://user@host:587, smtps://..., or file:PATH to try the desk)"
        )
    if isinstance(replies, ReplySection) and not replies.approvers:
        problems.append("PD_APPROVERS is empty: nobody could approve a reply")
    http, slack = built.get("http"), built.get("slack")
    public = isinstance(http, HttpSection) and http.public_url
    if public and isinstance(slack, SlackSection) and not slack.posts:
        problems.append(
            "PD_PUBLIC_URL needs Slack (SLACK_BOT_TOKEN and PD_SLACK_CHANNEL): Slack hands "
            "out the case-file links and says who is staff"
        )
    return problems


def _unknown(name: str) -> str:
    close = difflib.get_close_matches(name, NAMES, n=1, cutoff=0.6)
    if close:
        return f"{name} is not a setting; did you mean {close[0]}?"
    return f"{name} is not a setting (examples/deploy/env.example lists them)"


def _problems(section: type[Section], error: ErrorDetails) -> list[str]:
    """The lines of one pydantic error, naming the setting, never showing a secret."""
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, _Told):
        return cause.problems
    name = str(error["loc"][0]) if error["loc"] else section.__name__
    said = str(cause) if isinstance(cause, ValueError) else str(error["msg"])
    return [f"{name} {said}"]


def environment(
    environ: Mapping[str, str] | None = None, folder: Path | None = None
) -> dict[str, str]:
    """The ``PD_*`` and ``SLACK_*`` values of the environment over those of ``.env`` in
    ``folder`` (the working folder) or of the file ``PD_ENV_FILE`` names; blank ones dropped."""
    from dotenv import dotenv_values

    environ = os.environ if environ is None else environ
    named = environ.get(ENV_FILE, "").strip()
    path = Path(named) if named else (folder or Path.cwd()) / ".env"
    if named and not path.is_file():
        raise SettingsError([f"{ENV_FILE} names no readable file: {named}"])
    values: dict[str, str] = {}
    if path.is_file():
        values.update((k, v) for k, v in dotenv_values(path).items() if v is not None)
    values.update(environ)
    return {
        k: v for k, v in values.items() if k.startswith(PREFIXES) and k != ENV_FILE and v.strip()
    }


def read(values: Mapping[str, str] | None = None, *, command: str = "") -> Settings:
    """Every setting, checked (``SettingsError`` lists every problem, with what ``command``
    needs and is not given): of ``values`` when given (names to values, nothing else read),
    else of the environment and ``.env``."""
    values = environment() if values is None else dict(values)
    given = {k: v for k, v in values.items() if k.startswith(PREFIXES) and v.strip()}
    problems = [_unknown(name) for name in sorted(given) if name not in NAMES]
    built: dict[str, Section] = {}
    for key, section in SECTIONS.items():
        mine = {name: given[name] for name in section.names() if name in given}
        try:
            built[key] = section(**mine)
        except ValidationError as exc:
            problems += [p for e in exc.errors(include_url=False) for p in _problems(section, e)]
    problems += _needs(command, built)
    if problems:
        raise SettingsError(problems)
    return Settings(**built)  # type: ignore[arg-type]
