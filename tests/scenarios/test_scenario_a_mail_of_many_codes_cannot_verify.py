"""Someone answers an identity check with a mail of 14,000 six-digit numbers, hoping one is the
code: one try is one code, so the mail is refused as ambiguous and counts as one wrong try (five
void the code). Once the code mail is sent the desk keeps only the code's hash: the draft and our
copies of the mail say ●●●●●● (issue 16: "14,000 candidate codes cannot verify")."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.intake import Intake, IntakeResult
from bot.replies import Replies, ReplySettings, Sender
from mail.parse import ParsedMessage, parse_message
from mail.smtp import parse_smtp_url
from storage import repo
from storage.models import Case, Draft, MailMessage, OutboxItem, Verification

DESK = "privacy@example-hikaku.co.jp"
HANAKO = "佐藤 花子 <hanako@example.jp>"
SETTINGS = {
    "PD_FROM_ADDRESS": DESK,
    "PD_COMPANY_NAME": "株式会社ヒカクプラス",
    "PD_APPROVERS": "sato",
}
START = datetime(2026, 3, 3, 0, 5, tzinfo=UTC)
CODE_IN_MAIL = re.compile(r"確認コード：(\d{6})\n")


class Desk:
    def __init__(self, engine: Engine, make_mail: Callable[..., bytes]) -> None:
        self.engine, self.make_mail = engine, make_mail
        self.settings = ReplySettings.from_env(SETTINGS)
        request = make_mail("私の個人情報をすべて削除してください。", sender=HANAKO)
        opened = self.take(request, at=START)
        assert opened.action == "opened" and opened.ref
        self.ref = opened.ref
        approval = Replies(engine, self.settings, clock=lambda: START).send_code(
            self.ref, approver="sato"
        )
        with Session(engine) as session:
            item = session.get(OutboxItem, approval.item_id)
            assert item is not None
            self.mail = parse_message(item.raw)
        found = CODE_IN_MAIL.search(self.mail.text)
        assert found
        self.code = found.group(1)

    def take(self, raw: bytes, *, at: datetime = START + timedelta(hours=1)) -> IntakeResult:
        return Intake(self.engine, clock=lambda: at, replies=self.settings).process(raw)

    def reply(self, body: str) -> IntakeResult:
        own = f"<{self.mail.message_id}>"
        raw = self.make_mail(
            body, sender=HANAKO, subject=f"Re: {self.mail.subject}", In_Reply_To=own
        )
        return self.take(raw)

    def case(self) -> Case:
        with Session(self.engine) as session:
            case = repo.case_by_ref(session, self.ref)
        assert case is not None
        return case

    def verification(self) -> Verification:
        with Session(self.engine) as session:
            [row] = session.exec(select(Verification)).all()
        return row


def _many(code: str) -> str:
    """14,000 distinct six-digit numbers, the real code among them, as a list would be typed."""
    numbers = [f"{n:06d}" for n in range(100000, 114000)]
    numbers[7000] = code
    return "コード候補：\n" + "\n".join(numbers) + "\n"


def test_14000_candidate_codes_cannot_verify(
    engine: Engine, make_mail: Callable[..., bytes]
) -> None:
    desk = Desk(engine, make_mail)
    result = desk.reply(_many(desk.code))
    assert (result.action, result.ref) == ("linked", desk.ref)
    assert desk.case().verified_at is None
    assert desk.verification().tries == 1  # refused as ambiguous: one wrong try

    # Five such mails void the code: even the right one alone is too late then.
    for _ in range(4):
        desk.reply(_many(desk.code))
    assert desk.verification().used_at is not None
    desk.reply(f"確認コード：{desk.code}")
    assert desk.case().verified_at is None


def test_two_numbers_are_ambiguous_even_with_the_right_one(
    engine: Engine, make_mail: Callable[..., bytes]
) -> None:
    desk = Desk(engine, make_mail)
    desk.reply(f"確認コード：{desk.code} または 000000")
    assert desk.case().verified_at is None and desk.verification().tries == 1
    # digits of another script bound a candidate: ٣123456 is no code
    desk.reply(f"確認コード：٣{desk.code}")
    assert desk.case().verified_at is None and desk.verification().tries == 1
    desk.reply(f"確認コード：{desk.code}")  # the one code alone, in the newest text
    assert desk.case().verified_by == "requester"


def test_the_code_is_kept_only_as_its_hash_once_sent(
    engine: Engine, make_mail: Callable[..., bytes], smtp_server: Any
) -> None:
    desk = Desk(engine, make_mail)
    sender = Sender(engine, parse_smtp_url(smtp_server.url()), clock=lambda: START)
    assert asyncio.run(sender.run_once()).sent == 1
    got: ParsedMessage = parse_message(smtp_server.received[0].data)
    assert f"確認コード：{desk.code}\n" in got.text  # she has it
    with Session(engine) as session:
        [draft] = [d for d in session.exec(select(Draft)) if d.template == "verification_code"]
        assert desk.code not in draft.body and desk.code not in str(draft.values)
        [item] = repo.outbox(session)
        kept = [item.raw, *(m.raw for m in session.exec(select(MailMessage)) if m.raw)]
        for raw in kept:
            assert desk.code not in parse_message(raw).text
        assert "●●●●●●" in parse_message(item.raw).text
    desk.reply(f"確認コード：{desk.code}")  # the hash still proves it
    assert desk.case().verified_by == "requester"


def test_the_sent_folder_copy_of_a_code_mail_has_no_code_and_purge_finds_it(
    engine: Engine, make_mail: Callable[..., bytes], smtp_server: Any, dovecot: Any
) -> None:
    """The copy the desk keeps in the mailbox's Sent folder is what it keeps itself: the code
    says ●●●●●●, and ``purge --mailbox`` finds that copy by its content hash."""
    from bot.retention import mailbox_copies, purge
    from mail.imap import MailboxConfig, append_copy, delete_copies, parse_mailbox_url

    config = parse_mailbox_url(dovecot.url("desk"))
    assert isinstance(config, MailboxConfig)
    desk = Desk(engine, make_mail)
    sender = Sender(
        engine,
        parse_smtp_url(smtp_server.url()),
        clock=lambda: START,
        keep_copy=lambda raw, when: append_copy(config, "Sent", raw, when),
    )
    assert asyncio.run(sender.run_once()).sent == 1
    assert desk.code in parse_message(smtp_server.received[0].data).text  # she has it

    with dovecot.client("desk") as imap:
        imap.select_folder("Sent", readonly=True)
        [copy] = imap.fetch(imap.search(["ALL"]), [b"BODY.PEEK[]"]).values()
    kept = parse_message(copy[b"BODY[]"])
    assert desk.code not in kept.text and "●●●●●●" in kept.text

    with Session(engine) as session:
        case = session.exec(select(Case).where(Case.ref == desk.ref)).one()
        repo.touch(session, case, status="closed", closed_at=START)
        session.commit()
    assert [c.ref for c in purge(engine, START + timedelta(days=400), 365).cases] == [desk.ref]
    _came, went = mailbox_copies(engine)
    assert delete_copies(config, ["Sent"], went) == {"Sent": 1}
