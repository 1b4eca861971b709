"""The settings module: the one reader of the environment and ``.env``; every value checked,
every problem listed once, unknown names refused with the closest known one, and the deploy
example listing exactly the settings there are."""

from __future__ import annotations

import re
from datetime import time, timedelta
from pathlib import Path

import pytest

from bot import settings
from bot.replies import ReplySettings, SettingsError
from bot.scheduler import SchedulerSettings
from mail.imap import MailboxConfig

ROOT = Path(__file__).resolve().parents[2]


def problems(values: dict[str, str], command: str = "") -> list[str]:
    with pytest.raises(settings.SettingsError) as caught:
        settings.read(values, command=command)
    return caught.value.problems


def test_defaults() -> None:
    found = settings.read({})
    assert found.database.url == "sqlite:///var/privacy-desk.db"
    assert found.database.sqlite_file == Path("var/privacy-desk.db").absolute()
    assert found.mailbox.config is None
    assert found.smtp.url is None and found.smtp.config.url == "file:var/outbox"
    assert found.http.port == 8080 and found.http.host == "127.0.0.1"
    assert found.retention.days == 365 and found.keys.keyring is None
    assert found.replies.triage_business_days == 1 and found.intake.classify_timeout == 10.0
    assert found.schedule.digest_time == "09:00" and found.slack.mask == "partial"
    assert found.replies.approvers == () and not found.slack.posts


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("PD_SMPT_URL", "PD_SMTP_URL"),
        ("PD_APROVERS", "PD_APPROVERS"),
        ("SLACK_BOT_TOKN", "SLACK_BOT_TOKEN"),
        ("PD_DATABASE_ULR", "PD_DATABASE_URL"),
        ("PD_TRIAGE_BUISNESS_DAYS", "PD_TRIAGE_BUSINESS_DAYS"),
    ],
)
def test_an_unknown_name_is_refused_with_the_closest_known_one(typo: str, meant: str) -> None:
    assert problems({typo: "x"}) == [f"{typo} is not a setting; did you mean {meant}?"]


def test_an_unknown_name_far_from_any_is_refused_too() -> None:
    [said] = problems({"PD_WHATEVER_ELSE": "1"})
    assert said.startswith("PD_WHATEVER_ELSE is not a setting (")


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("PD_HTTP_PORT", "http", "PD_HTTP_PORT must be a port number, not 'http'"),
        ("PD_HTTP_PORT", "70000", "PD_HTTP_PORT must be a port number"),
        ("PD_DIGEST_TIME", "9am", "PD_DIGEST_TIME must be HH:MM (Asia/Tokyo) or off"),
        ("PD_IMAP_TIMEOUT", "soon", "PD_IMAP_TIMEOUT must be a number of seconds"),
        ("PD_SMTP_TIMEOUT", "0", "PD_SMTP_TIMEOUT must be more than 0 seconds"),
        ("PD_CLASSIFY_TIMEOUT", "-1", "PD_CLASSIFY_TIMEOUT must be more than 0 seconds"),
        ("PD_TRIAGE_BUSINESS_DAYS", "0", "PD_TRIAGE_BUSINESS_DAYS must be a whole number"),
        ("PD_RETENTION_DAYS", "a year", "PD_RETENTION_DAYS must be a whole number of days"),
        ("PD_REQUESTER_REMINDER_DAYS", "0", "PD_REQUESTER_REMINDER_DAYS must be a whole"),
        ("PD_AUTO_MAIL_DAILY_CAP", "-1", "PD_AUTO_MAIL_DAILY_CAP must be a whole number"),
        ("PD_FOUR_EYES", "maybe", "PD_FOUR_EYES must be 1 or 0"),
        ("PD_IMAP_ALLOW_PLAINTEXT", "sure", "PD_IMAP_ALLOW_PLAINTEXT must be 1 or 0"),
        ("PD_SLACK_MASK", "some", "PD_SLACK_MASK must be partial, domain, none, strict or full"),
        ("PD_LOG_FORMAT", "xml", "PD_LOG_FORMAT must be json or text"),
        ("PD_ESCALATION", "@legal", "PD_ESCALATION takes Slack user (U…) or user-group (S…)"),
        ("PD_STAFF", "alice@example.jp", "PD_STAFF takes Slack user (U…) or user-group (S…)"),
        ("PD_FROM_ADDRESS", "privacy desk", "PD_FROM_ADDRESS is not an address"),
        ("PD_TEMPLATES_DIR", "/nowhere/at/all", "PD_TEMPLATES_DIR is not a folder"),
        ("PD_DATABASE_URL", "mysql://u@h/d", "PD_DATABASE_URL names 'mysql'"),
        ("PD_MAILBOX", "pop3://desk:pw@mail.example/", "PD_MAILBOX must start with imap://"),
        ("PD_SMTP_URL", "smpt://mail.example", "PD_SMTP_URL must start with smtp://"),
        ("PD_RAW_KEYS", "not-a-key", "PD_RAW_KEYS: key 1 of 1 is not a Fernet key"),
    ],
)
def test_a_malformed_value_names_its_setting(name: str, value: str, said: str) -> None:
    [found] = problems({name: value})
    assert found.startswith(said), found


def test_every_problem_is_listed_once_without_cascades() -> None:
    found = problems(
        {
            "PD_MAILBOX": "pop3://desk:hunter2@mail.example/INBOX",
            "PD_IMAP_SENT_FOLDER": "Sent",  # needs the mailbox: not told again
            "PD_SMTP_URL": "smtp://desk@mail.example.jp",  # user, no password
            "PD_SMTP_TIMEOUT": "soon",  # the SMTP URL is checked only with a good timeout
            "PD_HTTP_PORT": "eighty",
            "SLACK_BOT_TOKEN": "xoxb-secret",
            "PD_SMPT_URL": "smtp://x",
        },
        command="serve",
    )
    assert found == [
        "PD_SMPT_URL is not a setting; did you mean PD_SMTP_URL?",
        "PD_MAILBOX must start with imap:// or imaps://",
        "PD_SMTP_TIMEOUT must be a number of seconds, not 'soon'",
        "Slack needs both SLACK_BOT_TOKEN and PD_SLACK_CHANNEL",
        "PD_HTTP_PORT must be a port number, not 'eighty'",
        "PD_APPROVERS is empty: nobody could approve a reply",
    ]
    said = str(settings.SettingsError(found))
    assert said.startswith("6 settings are not usable:\n  - PD_SMPT_URL")
    assert "hunter2" not in said and "xoxb-secret" not in said


def test_what_serve_needs_is_listed_with_the_rest() -> None:
    assert problems({}, command="serve") == [
        "PD_MAILBOX is not set (imaps://user@host:993/INBOX or maildir:/path)",
        "PD_SMTP_URL is not set: serve sends mail only where it is told "
        "(smtp+starttls://user@host:587, smtps://..., or file:PATH to try the desk)",
        "PD_APPROVERS is empty: nobody could approve a reply",
    ]
    assert problems({"PD_MAILBOX": "maildir:/srv/mail"}, command="check")[0] == (
        "serve watches an IMAP mailbox; for a Maildir run `fetch` from cron"
    )
    assert problems({}, command="fetch") == [
        "PD_MAILBOX is not set (imaps://user@host:993/INBOX or maildir:/path)"
    ]
    settings.read({}, command="cases")  # reading commands need none of it


def test_a_file_outbox_is_used_only_when_named() -> None:
    named = settings.read(
        {
            "PD_MAILBOX": "imap://desk:pw@127.0.0.1/INBOX",
            "PD_SMTP_URL": "file:/tmp/outbox",
            "PD_APPROVERS": "U0APPROVER1",
        },
        command="serve",
    )
    assert named.smtp.writes_files and str(named.smtp.config.path) == "/tmp/outbox"


def test_the_mailbox_is_built_from_its_settings(tmp_path: Path) -> None:
    secret = tmp_path / "imap-password"
    secret.write_text("s3cret pass\n")
    found = settings.read(
        {
            "PD_MAILBOX": "imaps://desk@mail.example.jp/INBOX",
            "PD_IMAP_PASSWORD_FILE": str(secret),
            "PD_IMAP_PROCESSED_FOLDER": "Done",
            "PD_IMAP_TIMEOUT": "12.5",
            "PD_IMAP_ALLOW_PLAINTEXT": "1",
        }
    )
    config = found.mailbox.config
    assert isinstance(config, MailboxConfig)
    assert config.password == "s3cret pass" and config.processed_folder == "Done"
    assert config.timeout == 12.5 and config.allow_plaintext
    assert "s3cret" not in repr(found) and "s3cret" not in repr(found.mailbox)


def test_secrets_are_never_in_a_repr() -> None:
    found = settings.read(
        {
            "PD_MAILBOX": "imaps://desk:imap-secret@mail.example.jp/INBOX",
            "PD_SMTP_URL": "smtps://desk:smtp-secret@mail.example.jp",
            "PD_DATABASE_URL": "postgresql+psycopg://desk:db-secret@db/desk",
            "SLACK_BOT_TOKEN": "xoxb-slack-secret",
            "PD_SLACK_CHANNEL": "C0DESK0001",
        }
    )
    shown = repr(found)
    for secret in ("imap-secret", "smtp-secret", "db-secret", "xoxb-slack-secret"):
        assert secret not in shown


def test_the_environment_wins_over_dotenv_and_blank_is_unset(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PD_HTTP_PORT=9000\nPD_SLACK_MASK=domain\nPATH_LIKE=1\n")
    values = settings.environment({"PD_HTTP_PORT": "9100", "PD_DIGEST_TIME": " "}, tmp_path)
    assert values == {"PD_HTTP_PORT": "9100", "PD_SLACK_MASK": "domain"}


def test_a_typo_in_dotenv_is_refused_too(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PD_SMPT_URL=smtp://mail.example.jp\n")
    with pytest.raises(settings.SettingsError, match="did you mean PD_SMTP_URL"):
        settings.read(settings.environment({}, tmp_path))


def test_an_env_file_that_is_not_there_is_refused(tmp_path: Path) -> None:
    with pytest.raises(settings.SettingsError, match="PD_ENV_FILE names no readable file"):
        settings.environment({"PD_ENV_FILE": str(tmp_path / "nope.env")}, tmp_path)


def test_reply_and_scheduler_settings_are_built_from_the_settings() -> None:
    found = settings.read(
        {
            "PD_FROM_ADDRESS": "privacy@example-hikaku.co.jp",
            "PD_COMPANY_NAME": "株式会社ヒカクプラス",
            "PD_APPROVERS": "sato, U0APPROVER1",
            "PD_FOUR_EYES": "yes",
            "PD_AUTO_MAIL_DAILY_CAP": "5",
            "PD_ESCALATION": "S0LEGAL0001",
            "PD_DIGEST_TIME": "off",
            "PD_REQUESTER_REMINDER_DAYS": "3",
            "PD_TRIAGE_BUSINESS_DAYS": "2",
        }
    )
    replies = ReplySettings.of(found.replies)
    assert replies.triage_days == 2
    assert replies.approvers == ("sato", "U0APPROVER1") and replies.four_eyes
    assert replies.daily_cap == 5 and replies.configured
    assert replies.company.name_ja == replies.company.name_en == "株式会社ヒカクプラス"
    schedule = SchedulerSettings.of(found.schedule)
    assert schedule.escalation == ("S0LEGAL0001",) and schedule.digest_time is None
    assert schedule.requester_reminder == timedelta(days=3)
    assert SchedulerSettings.of(settings.read({"PD_DIGEST_TIME": "7:05"}).schedule).digest_time == (
        time(7, 5)
    )
    with pytest.raises(SettingsError, match="PD_APROVERS is not a setting"):
        ReplySettings.from_env({"PD_APROVERS": "sato"})


def _example_names() -> set[str]:
    text = (ROOT / "examples" / "deploy" / "env.example").read_text(encoding="utf-8")
    return set(re.findall(r"^#?((?:PD|SLACK)_[A-Z0-9_]+)=", text, flags=re.MULTILINE))


def test_the_deploy_example_lists_every_setting_and_no_other() -> None:
    assert _example_names() == set(settings.NAMES)


def test_the_deploy_example_is_itself_good_settings() -> None:
    text = (ROOT / "examples" / "deploy" / "env.example").read_text(encoding="utf-8")
    given = dict(
        line.split("=", 1)
        for line in text.splitlines()
        if line and not line.startswith("#") and "=" in line
    )
    given.pop("PD_IMAP_PASSWORD_FILE")  # a file on the production machine
    given["PD_IMAP_PASSWORD"] = "change-me"
    settings.read(given, command="serve")


def test_only_the_settings_module_reads_the_environment() -> None:
    readers = []
    for folder in ("bot", "mail", "storage", "handlers", "templates"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name == "settings.py" and path.parent.name == "bot":
                continue
            if re.search(r"os\.environ|getenv|load_dotenv|dotenv_values", path.read_text()):
                readers.append(str(path.relative_to(ROOT)))
    assert readers == []
