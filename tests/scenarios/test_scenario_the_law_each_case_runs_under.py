"""The law each case runs under: with ``PD_JURISDICTION=gdpr`` a new erasure request is due in
one month, its one extension (from the command line or the Slack button) moves it by two months
and then *Extend* is gone; an APPI case never shows *Extend*; an operator's policy file changes
the one deadline it names and nothing else, and a file with three mistakes is refused at start
with three lines; an approver moves a case under another law from the command line or the
Reclassify form, the deadlines are computed again from the receipt and the change is audited.

Real SQLite and PostgreSQL (the ``engine`` fixture), the command line as an operator runs it,
and the Slack Web API double with requests signed as Slack signs them."""

from __future__ import annotations

import asyncio
import calendar
import json
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine
from sqlmodel import Session, select
from support import settle

from bot.cases import CaseDesk
from bot.cli import main
from bot.intake import Intake
from bot.replies import Replies, ReplySettings
from bot.slack.app import build_app
from bot.slack.blocks import ACTIONS
from bot.slack.poster import CasePoster
from bot.words import words
from storage import repo
from storage.models import AuditEvent, Case

EN = words("en")  # the staff texts these assertions read

TOKYO = ZoneInfo("Asia/Tokyo")
RECEIVED = datetime(2026, 11, 2, 9, 30, tzinfo=TOKYO)  # a Monday
SECRET = "signing-secret-of-the-test"
APPROVER, STAFF = "U0APPROVE1", "U0STAFF001"
DESK = {"PD_FROM_ADDRESS": "privacy@example-hikaku.co.jp", "PD_APPROVERS": APPROVER}
ERASE = "Please erase all the personal data you hold about me."


def double() -> Any:
    return sys.modules["slack_double"]


def end_of(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59, 999999), tzinfo=TOKYO)


def months_after(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's end (as GDPR Art. 12(3) counts)."""
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def case_of(engine: Engine, ref: str) -> Case:
    with Session(engine) as session:
        case = repo.case_by_ref(session, ref)
        assert case is not None
        return case


def audit(engine: Engine, ref: str, action: str) -> list[AuditEvent]:
    case = case_of(engine, ref)
    with Session(engine) as session:
        return [
            e
            for e in session.exec(select(AuditEvent).where(AuditEvent.case_id == case.id))
            if e.action == action
        ]


@pytest.fixture
def desk_env(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """The operator's environment: this database, this desk, approvers."""
    monkeypatch.setenv("PD_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    for name, value in DESK.items():
        monkeypatch.setenv(name, value)


def ingest(tmp_path: Path, raw: bytes, capsys: pytest.CaptureFixture[str]) -> None:
    """``privacy-desk ingest`` of one mail, as an operator runs it."""
    path = tmp_path / f"mail-{len(list(tmp_path.glob('mail-*')))}.eml"
    path.write_bytes(raw)
    assert main(["ingest", str(path)]) == 0
    capsys.readouterr()


def only_case(engine: Engine) -> Case:
    with Session(engine) as session:
        [case] = repo.list_cases(session)
        return case


# ---- the command line -------------------------------------------------------------------------


@pytest.mark.usefixtures("desk_env")
def test_a_gdpr_case_gets_one_month_and_one_extension_of_two_from_the_command_line(
    engine: Engine,
    make_mail: Callable[..., bytes],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PD_JURISDICTION", "gdpr")
    sent = datetime.now(UTC) - timedelta(days=1)
    ingest(tmp_path, make_mail(ERASE, subject="Erasure", date=sent), capsys)
    case = only_case(engine)
    received = case.received_at.astimezone(TOKYO).date()
    assert case.jurisdiction == "gdpr" and case.intents == ["deletion"]
    assert case.answer_due == end_of(months_after(received, 1))

    assert main(["extend", case.ref, "--reason", "Many systems to search", "--as", APPROVER]) == 0
    assert "tells the requester" in capsys.readouterr().out
    extended = case_of(engine, case.ref)
    assert extended.answer_due == end_of(months_after(received, 3))

    # used once: a second is refused with one line, and recorded
    assert main(["extend", case.ref, "--reason", "Still more", "--as", APPROVER]) == 2
    assert "already extended once" in capsys.readouterr().err
    assert case_of(engine, case.ref).answer_due == extended.answer_due
    assert len(audit(engine, case.ref, "extend refused")) == 1


@pytest.mark.usefixtures("desk_env")
def test_reclassify_jurisdiction_recomputes_from_the_receipt_and_is_audited(
    engine: Engine,
    make_mail: Callable[..., bytes],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sent = datetime.now(UTC) - timedelta(days=2)
    ingest(tmp_path, make_mail(ERASE, subject="Erasure", date=sent), capsys)
    case = only_case(engine)
    received = case.received_at.astimezone(TOKYO).date()
    assert case.jurisdiction == "appi"  # PD_JURISDICTION unset
    assert case.answer_due == end_of(received + timedelta(days=14))

    # not an approver: refused, recorded, nothing moves
    args = ["reclassify", case.ref, "--jurisdiction", "gdpr"]
    assert main([*args, "--as", "someone"]) == 2
    assert "someone is not an approver" in capsys.readouterr().err
    assert case_of(engine, case.ref).jurisdiction == "appi"
    assert main(["reclassify", case.ref, "--jurisdiction", "eu", "--as", APPROVER]) == 2
    assert "invalid choice: 'eu'" in capsys.readouterr().err

    assert main([*args, "--as", APPROVER]) == 0
    assert f"{case.ref}: deletion, answer due" in capsys.readouterr().out
    moved = case_of(engine, case.ref)
    assert (moved.jurisdiction, moved.intents) == ("gdpr", ["deletion"])
    assert moved.answer_due == end_of(months_after(received, 1))
    [event] = audit(engine, case.ref, "reclassified")
    assert event.actor == APPROVER
    assert event.detail["jurisdiction_before"] == "appi"
    assert event.detail["jurisdiction"] == "gdpr"
    assert datetime.fromisoformat(event.detail["answer_due_before"]) == case.answer_due
    assert datetime.fromisoformat(event.detail["answer_due"]) == moved.answer_due

    # intents and law at once; the same again changes nothing and records nothing
    both = ["reclassify", case.ref, "disclosure", "--jurisdiction", "ccpa", "--as", APPROVER]
    assert main(both) == 0
    again = case_of(engine, case.ref)
    assert (again.jurisdiction, again.intents) == ("ccpa", ["disclosure"])
    assert again.answer_due == end_of(received + timedelta(days=45))
    assert again.ack_due is not None  # CCPA asks for an acknowledgement in 10 business days
    assert main(both) == 0
    assert len(audit(engine, case.ref, "reclassified")) == 2
    capsys.readouterr()

    # an extension used under CCPA stays used under APPI, which allows none: 14 days again
    assert main(["extend", case.ref, "--reason", "Archive search", "--as", APPROVER]) == 0
    assert case_of(engine, case.ref).answer_due == end_of(received + timedelta(days=90))
    assert main(["reclassify", case.ref, "--jurisdiction", "appi", "--as", APPROVER]) == 0
    back = case_of(engine, case.ref)
    assert back.answer_due == end_of(received + timedelta(days=14))
    assert back.extended_at is not None
    assert audit(engine, case.ref, "reclassified")[-1].detail["extension_applies"] is False
    capsys.readouterr()
    assert main(["extend", case.ref, "--reason", "Again", "--as", APPROVER]) == 2
    assert "already extended once" in capsys.readouterr().err


@pytest.mark.usefixtures("desk_env")
def test_an_operator_policy_changes_that_deadline_and_nothing_else(
    engine: Engine,
    make_mail: Callable[..., bytes],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    policies = tmp_path / "house.toml"
    policies.write_text(
        "[[policy]]\n"
        'jurisdiction = "appi"\n'
        'intent = "deletion"\n'
        'answer = { amount = 7, unit = "calendar_days" }\n'
        'note = "House rule: a week."\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("PD_SLA_POLICIES", str(policies))
    sent = datetime.now(UTC) - timedelta(days=1)
    ingest(tmp_path, make_mail(ERASE, subject="Erasure", date=sent), capsys)
    ingest(
        tmp_path,
        make_mail(
            "Please tell me what personal data you hold about me.",
            subject="Access",
            sender="Taro <taro@example.jp>",
            date=sent,
        ),
        capsys,
    )
    with Session(engine) as session:
        cases = {c.intents[0]: c for c in repo.list_cases(session)}
    deletion, disclosure = cases["deletion"], cases["disclosure"]
    received = deletion.received_at.astimezone(TOKYO).date()
    assert deletion.answer_due == end_of(received + timedelta(days=7))
    assert disclosure.answer_due == end_of(
        disclosure.received_at.astimezone(TOKYO).date() + timedelta(days=14)
    )
    # the override is APPI's alone: the same request under GDPR keeps its month
    capsys.readouterr()
    assert main(["reclassify", deletion.ref, "--jurisdiction", "gdpr", "--as", APPROVER]) == 0
    assert case_of(engine, deletion.ref).answer_due == end_of(months_after(received, 1))


def test_a_policy_file_with_three_mistakes_gives_three_lines_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    policies = tmp_path / "house.toml"
    policies.write_text(
        "[[policy]]\n"
        'jurisdiction = "eu"\n'
        'intent = "deletion"\n'
        'answer = { amount = 30, unit = "calendar_days" }\n'
        "\n"
        "[[policy]]\n"
        'jurisdiction = "gdpr"\n'
        'intent = "deletion"\n'
        'answer = { amount = 0, unit = "months" }\n'
        'extention = "none"\n',
        encoding="utf-8",
    )
    database = tmp_path / "desk.db"
    # everything else `check` wants is there: the policy file is all that is wrong
    for name, value in {
        **DESK,
        "PD_DATABASE_URL": f"sqlite:///{database}",
        "PD_MAILBOX": "imaps://desk@mail.example.jp:993/INBOX",
        "PD_IMAP_PASSWORD": "secret",
        "PD_SMTP_URL": f"file:{tmp_path / 'outbox'}",
        "PD_SLA_POLICIES": str(policies),
    }.items():
        monkeypatch.setenv(name, value)
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("  - ")]
    assert len(lines) == 3, err
    assert all(str(policies) in line for line in lines)
    assert "policy #1: unknown jurisdiction 'eu'" in lines[0]
    assert "policy #2 (gdpr/deletion): unknown key 'extention'" in lines[1]
    assert "policy #2 (gdpr/deletion): answer: amount must be a positive integer" in lines[2]
    assert "Traceback" not in err
    # every command reads the same settings: nothing runs on a policy file that is wrong
    assert main(["cases"]) == 2
    assert "unknown jurisdiction 'eu'" in capsys.readouterr().err
    assert not database.exists()


# ---- Slack -------------------------------------------------------------------------------------


class Channel:
    """Cases in the channel (the Web API double) and the desk's app answering signed requests."""

    def __init__(self, engine: Engine, slack: Any, settings: ReplySettings) -> None:
        self.engine, self.slack, self.settings = engine, slack, settings
        for user in (APPROVER, STAFF):
            slack.add_user(user, name=user.lower())
        self.client = AsyncWebClient(
            token=slack.bot_token, base_url=slack.base_url, retry_handlers=[]
        )
        self.poster = CasePoster(
            engine,
            self.client,
            slack.channel,
            clock=self.clock,
            rules=settings.sla_rules,
            words=words("en"),
        )
        replies = Replies(engine, settings, clock=self.clock)
        self.app = build_app(
            engine,
            replies,
            signing_secret=SECRET,
            client=self.client,
            channel=slack.channel,
            cases=CaseDesk(engine, replies, clock=self.clock),
            words=EN,
        )

    @staticmethod
    def clock() -> datetime:
        return (RECEIVED + timedelta(days=3)).astimezone(UTC)

    def take(self, raw: bytes) -> str:
        result = Intake(self.engine, clock=self.clock, replies=self.settings).process(raw)
        assert result.ref is not None
        return result.ref

    def parent(self, ref: str) -> dict[str, Any]:
        [found] = [
            m
            for m in self.slack.messages()
            if f"{ref} · " in json.dumps(m["blocks"], ensure_ascii=False)
        ]
        return dict(found)

    def controls(self, ref: str) -> dict[str, dict[str, Any]]:
        [actions] = [b for b in self.parent(ref)["blocks"] if b.get("block_id") == f"case:{ref}"]
        return {e["action_id"]: e for e in actions["elements"]}

    async def dispatch(self, payload: dict[str, Any]) -> int:
        signed = double().interaction(payload, SECRET)
        response = await self.app.async_dispatch(
            AsyncBoltRequest(body=signed.body, headers=signed.multi_headers())
        )
        await settle()
        return int(response.status)

    async def open_form(self, user: str, ref: str, name: str) -> dict[str, Any] | None:
        """Press the case's button ``name`` as ``user``; the form Slack opened, if any."""
        before = len(self.slack.open_views())
        button = self.controls(ref)[ACTIONS[name]]
        payload = double().block_actions(
            user_id=user,
            action_id=button["action_id"],
            value=button["value"],
            trigger_id=self.slack.new_trigger_id(user),
            message_ts=self.parent(ref)["ts"],
            block_id=f"case:{ref}",
        )
        assert await self.dispatch(payload) == 200
        opened = self.slack.open_views()
        return dict(opened[-1]) if len(opened) > before else None

    async def submit(self, user: str, form: dict[str, Any], values: dict[str, Any]) -> int:
        payload = double().view_submission(
            user_id=user,
            callback_id=form["callback_id"],
            private_metadata=form["private_metadata"],
            values={block: {"value": state} for block, state in values.items()},
        )
        return await self.dispatch(payload)


def shown(parent: dict[str, Any]) -> str:
    return json.dumps(parent["blocks"], ensure_ascii=False)


def test_in_slack_a_gdpr_case_is_extended_once_and_an_appi_case_shows_no_extend(
    engine: Engine, slack: Any, make_mail: Callable[..., bytes]
) -> None:
    channel = Channel(engine, slack, ReplySettings.from_env({**DESK, "PD_JURISDICTION": "gdpr"}))
    gdpr = channel.take(make_mail(ERASE, subject="Erasure", date=RECEIVED))
    appi_desk = ReplySettings.from_env(DESK)
    appi = Intake(engine, clock=channel.clock, replies=appi_desk).process(
        make_mail(
            "私の個人情報をすべて削除してください。",
            sender="Taro <taro@example.jp>",
            date=RECEIVED,
        )
    )
    assert appi.ref is not None
    assert case_of(engine, gdpr).answer_due == end_of(date(2026, 12, 2))  # one month

    async def scenario() -> None:
        await channel.poster.run_once()
        # an APPI case: no extension in law, so no button that could only fail
        assert ACTIONS["extend"] not in channel.controls(appi.ref)
        assert '"*Law*\\nAPPI"' in shown(channel.parent(appi.ref))
        assert ACTIONS["extend"] in channel.controls(gdpr)
        assert '"*Law*\\nGDPR"' in shown(channel.parent(gdpr))

        # staff who are not approvers get no form
        assert await channel.open_form(STAFF, gdpr, "extend") is None
        form = await channel.open_form(APPROVER, gdpr, "extend")
        assert form is not None
        reason = {"type": "plain_text_input", "value": "Many systems to search"}
        assert await channel.submit(APPROVER, form, {"reason": reason}) == 200
        await channel.poster.run_once()
        parent = channel.parent(gdpr)
        assert "2027-02-02 23:59 JST" in shown(parent)  # one month and two more
        assert ACTIONS["extend"] not in channel.controls(gdpr)  # used once: gone

    asyncio.run(scenario())
    extended = case_of(engine, gdpr)
    assert extended.answer_due == end_of(date(2027, 2, 2))
    assert extended.extended_by == APPROVER


def test_the_reclassify_form_changes_the_law_of_a_case(
    engine: Engine, slack: Any, make_mail: Callable[..., bytes]
) -> None:
    channel = Channel(engine, slack, ReplySettings.from_env(DESK))
    ref = channel.take(make_mail(ERASE, subject="Erasure", date=RECEIVED))
    assert case_of(engine, ref).answer_due == end_of(date(2026, 11, 16))  # APPI: 14 days

    async def scenario() -> None:
        await channel.poster.run_once()
        assert ACTIONS["extend"] not in channel.controls(ref)
        assert await channel.open_form(STAFF, ref, "reclassify") is None  # approvers only
        form = await channel.open_form(APPROVER, ref, "reclassify")
        assert form is not None
        [law] = [b for b in form["blocks"] if b.get("block_id") == "jurisdiction"]
        assert law["element"]["initial_option"]["value"] == "appi"
        [intents] = [b for b in form["blocks"] if b.get("block_id") == "intents"]
        keep = intents["element"]["initial_options"]
        bad = {"type": "static_select", "selected_option": {"value": "eu"}}
        picked = {"type": "multi_static_select", "selected_options": keep}
        assert await channel.submit(APPROVER, form, {"intents": picked, "jurisdiction": bad}) == 200
        assert case_of(engine, ref).jurisdiction == "appi"  # the form said what was wrong
        [gdpr] = [o for o in law["element"]["options"] if o["value"] == "gdpr"]
        chosen = {"type": "static_select", "selected_option": gdpr}
        assert (
            await channel.submit(APPROVER, form, {"intents": picked, "jurisdiction": chosen}) == 200
        )

        # the parent follows: the month of GDPR, its law, and now an Extend button
        await channel.poster.run_once()
        parent = channel.parent(ref)
        assert "2026-12-02 23:59 JST" in shown(parent)
        assert '"*Law*\\nGDPR"' in shown(parent)
        assert ACTIONS["extend"] in channel.controls(ref)
        # and the thread tells who changed the law
        lines = [m["text"] for m in slack.thread(slack.channel, parent["ts"])]
        assert any("APPI → GDPR" in line for line in lines), lines

    asyncio.run(scenario())
    case = case_of(engine, ref)
    assert (case.jurisdiction, case.intents) == ("gdpr", ["deletion"])
    assert case.answer_due == end_of(date(2026, 12, 2))
    [event] = audit(engine, ref, "reclassified")
    assert (event.actor, event.detail["jurisdiction_before"]) == (APPROVER, "appi")
    assert len(audit(engine, ref, "reclassify refused")) == 1
