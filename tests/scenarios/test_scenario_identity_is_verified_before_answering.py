"""Before the desk tells a requester "your data is deleted", it knows it is them: staff mail a
one-time code and the requester mails it back, or staff verify another way and say how. A wrong,
exhausted or expired code verifies nothing; a second request never inherits the first one's
verification; and nobody else's mail can verify someone's case."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.cli import main
from bot.intake import Intake, IntakeResult
from bot.replies import Approval, Replies, ReplyError, ReplySettings, Sender
from mail.parse import ParsedMessage, parse_message
from mail.smtp import parse_smtp_url
from storage import repo
from storage.models import AuditEvent, Case, Draft, OutboxItem, Verification

DESK = "privacy@example-hikaku.co.jp"
HANAKO = "佐藤 花子 <hanako@example.jp>"
STRANGER = "Jiro Suzuki <jiro@example.com>"
SETTINGS = {
    "PD_FROM_ADDRESS": DESK,
    "PD_COMPANY_NAME": "株式会社ヒカクプラス",
    "PD_APPROVERS": "sato, U0APPROVER",
}
START = datetime(2026, 3, 3, 0, 5, tzinfo=UTC)
REQUEST = "ヒカクプラス会員の佐藤花子です。\n私の個人情報をすべて削除してください。"
CODE_IN_MAIL = re.compile(r"確認コード：(\d{6})\n")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


class Clock:
    """The desk's time, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Desk:
    engine: Engine
    clock: Clock
    make_mail: Callable[..., bytes]

    @property
    def replies(self) -> Replies:
        return Replies(self.engine, ReplySettings.from_env(SETTINGS), clock=self.clock)

    def take(self, raw: bytes) -> IntakeResult:
        intake = Intake(self.engine, clock=self.clock, replies=ReplySettings.from_env(SETTINGS))
        return intake.process(raw)

    def request(self, *, sender: str = HANAKO) -> str:
        result = self.take(self.make_mail(REQUEST, sender=sender, subject="個人情報削除のお願い"))
        assert result.action == "opened" and result.ref
        return result.ref

    def write(self, body: str, *, sender: str = HANAKO, **headers: Any) -> IntakeResult:
        return self.take(self.make_mail(body, sender=sender, **headers))

    def case(self, ref: str) -> Case:
        with Session(self.engine) as session:
            case = repo.case_by_ref(session, ref)
        assert case is not None
        return case

    def events(self, ref: str) -> list[tuple[str, str]]:
        with Session(self.engine) as session:
            found = repo.case_file(session, ref)
        assert found is not None
        return [(e.actor, e.action) for e in found.events]

    def verification(self, ref: str) -> Verification:
        with Session(self.engine) as session:
            [row] = session.exec(
                select(Verification).where(Verification.case_id == self.case(ref).id)
            ).all()
        return row

    def outbox(self) -> list[OutboxItem]:
        with Session(self.engine) as session:
            return repo.outbox(session)

    def answer(self, ref: str) -> int:
        """Staff prepare the deletion answer; the draft's id."""
        values = {"deleted": ["会員登録情報（氏名・住所・電話番号）"], "done_on": date(2026, 3, 5)}
        draft = self.replies.draft(ref, "deletion_done", values, editor="yamada")
        assert draft.id is not None
        return draft.id

    def code_mail(self, ref: str) -> tuple[Approval, ParsedMessage]:
        """Staff mail the requester a code; the mail as it will reach her."""
        approval = self.replies.send_code(ref, approver="sato")
        with Session(self.engine) as session:
            item = session.get(OutboxItem, approval.item_id)
        assert item is not None
        return approval, parse_message(item.raw)

    def reply_to(self, mail: ParsedMessage, body: str, *, sender: str = HANAKO) -> IntakeResult:
        """A reply as a mail client makes it: threaded, "Re: " and the subject kept."""
        own = f"<{mail.message_id}>"
        return self.write(
            body, sender=sender, subject=f"Re: {mail.subject}", In_Reply_To=own, References=own
        )


def _code(mail: ParsedMessage) -> str:
    found = CODE_IN_MAIL.search(mail.text)
    assert found, mail.text
    return found.group(1)


def _wrong(code: str, n: int = 1) -> str:
    return f"{(int(code) + n) % 10**6:06d}"


@pytest.fixture
def desk(engine: Engine, make_mail: Callable[..., bytes]) -> Desk:
    return Desk(engine, Clock(START), make_mail)


def test_a_deletion_answer_waits_for_the_code_the_requester_mails_back(
    desk: Desk, smtp_server: Any
) -> None:
    ref = desk.request()
    draft_id = desk.answer(ref)

    # Staff try to send "deleted" before anyone knows it is Hanako: refused, and on record.
    with pytest.raises(ReplyError, match="identity is not verified"):
        desk.replies.approve(draft_id, approver="sato")
    assert desk.outbox() == []
    assert ("sato", "approval refused") in desk.events(ref)
    with Session(desk.engine) as session:
        [refused] = [e for e in session.exec(select(AuditEvent)) if e.action == "approval refused"]
        draft = session.get(Draft, draft_id)
    assert refused.detail["draft"] == draft_id and "not verified" in refused.detail["reason"]
    assert draft is not None and draft.status == "draft"

    # The code goes out; the desk waits on her and the SLA clock stops.
    approval = desk.replies.send_code(ref, approver="sato")
    case = desk.case(ref)
    assert case.status == "awaiting_verification"
    with Session(desk.engine) as session:
        pause = repo.open_pause(session, case.id or 0)
    assert pause is not None and pause.reason == "identity verification"
    sender = Sender(desk.engine, parse_smtp_url(smtp_server.url()), clock=desk.clock)
    assert asyncio.run(sender.run_once()).sent == 1
    [got] = smtp_server.received
    assert got.recipients == ("hanako@example.jp",)
    mail = parse_message(got.data)
    assert f"<{mail.message_id}>" == approval.message_id
    assert ref in mail.subject and "確認コード" in mail.subject
    code = _code(mail)
    assert mail.in_reply_to is not None  # threads under her request

    # She answers the next day with the code: it is her.
    desk.clock.now = START + timedelta(days=1)
    result = desk.reply_to(mail, f"確認コード：{code}\nよろしくお願いいたします。\n佐藤花子\n")
    assert (result.action, result.ref) == ("linked", ref)
    case = desk.case(ref)
    assert case.verified_by == "requester"
    assert case.verified_at == desk.clock.now
    assert case.status == "in_progress"
    with Session(desk.engine) as session:
        assert repo.open_pause(session, case.id or 0) is None
        assert repo.open_verifications(session, case.id or 0, desk.clock.now) == []
    assert desk.verification(ref).used_at == desk.clock.now  # used once, never again
    events = desk.events(ref)
    assert events[-3:] == [
        ("intake", "message linked"),
        ("requester", "identity verified"),
        ("requester", "clock resumed"),  # the proof, not the mere reply, ends the wait
    ]

    # The same code mailed again changes nothing.
    desk.reply_to(mail, f"念のため再送します。確認コード：{code}")
    assert desk.events(ref).count(("requester", "identity verified")) == 1

    # Now the answer is approved and reaches her.
    assert desk.replies.approve(draft_id, approver="sato").outcome == "queued"
    assert asyncio.run(sender.run_once()).sent == 1
    assert len(smtp_server.received) == 2
    answer = parse_message(smtp_server.received[1].data)
    assert ref in answer.subject and "削除完了" in answer.subject
    assert "会員登録情報（氏名・住所・電話番号）" in answer.text
    assert desk.case(ref).status == "answered"


@pytest.mark.parametrize("how", ["case-reference-in-subject", "thread-headers-only"])
def test_the_code_verifies_by_thread_headers_or_by_the_case_reference(desk: Desk, how: str) -> None:
    ref = desk.request()
    approval, mail = desk.code_mail(ref)
    code = _code(mail)
    if how == "case-reference-in-subject":  # a new mail, not a reply, naming her case
        result = desk.write(code, subject=f"本人確認コード {ref}")
    else:  # a reply whose subject she rewrote
        result = desk.write(
            code,
            subject="確認コードです",
            In_Reply_To=approval.message_id,
            References=approval.message_id,
        )
    assert (result.action, result.ref) == ("linked", ref)
    assert desk.case(ref).verified_by == "requester"


def test_wrong_codes_verify_nothing_and_five_void_the_code(desk: Desk) -> None:
    ref = desk.request()
    _, mail = desk.code_mail(ref)
    code = _code(mail)

    desk.reply_to(mail, "お世話になっております。コードをお送りします。")  # no code: not a try
    for n in range(1, 5):
        desk.reply_to(mail, f"確認コード：{_wrong(code, n)}")
    assert desk.case(ref).verified_at is None
    assert desk.verification(ref).tries == 4
    assert ("intake", "verification code void") not in desk.events(ref)

    desk.reply_to(mail, f"確認コード：{_wrong(code, 5)}")  # the fifth wrong one
    assert ("intake", "verification code void") in desk.events(ref)
    desk.reply_to(mail, f"確認コード：{code}")  # even the right code is too late now
    case = desk.case(ref)
    assert case.verified_at is None and case.verified_by is None
    assert ("requester", "identity verified") not in desk.events(ref)

    # Staff send a new code: that one works.
    desk.clock.now += timedelta(hours=1)
    _, again = desk.code_mail(ref)
    desk.reply_to(again, _code(again))
    assert desk.case(ref).verified_by == "requester"


def test_a_wrong_code_then_the_right_one_in_full_width_digits_verifies(desk: Desk) -> None:
    ref = desk.request()
    _, mail = desk.code_mail(ref)
    code = _code(mail)
    desk.reply_to(mail, f"確認コード：{_wrong(code).translate(FULL_WIDTH)}")
    assert desk.case(ref).verified_at is None
    desk.reply_to(mail, f"失礼しました。正しくは{code.translate(FULL_WIDTH)}です。")
    assert desk.case(ref).verified_by == "requester"


@pytest.mark.parametrize(
    ("after", "verified"), [(timedelta(days=6), True), (timedelta(days=8), False)]
)
def test_a_code_expires_after_seven_days(desk: Desk, after: timedelta, verified: bool) -> None:
    ref = desk.request()
    _, mail = desk.code_mail(ref)
    desk.clock.now = START + after
    desk.reply_to(mail, f"確認コード：{_code(mail)}")
    assert (desk.case(ref).verified_at is not None) is verified


def test_staff_verify_another_way_and_say_how(
    database: str,
    desk: Desk,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in {**SETTINGS, "PD_DATABASE_URL": database}.items():
        monkeypatch.setenv(name, value)
    ref = desk.request()
    how = "運転免許証の写しと登録電話番号への折り返しで確認"

    assert main(["verify", ref, "--how", how, "--as", "mallory"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "mallory is not an approver" in err
    assert desk.case(ref).verified_at is None
    assert ("mallory", "verification refused") in desk.events(ref)

    assert main(["verify", ref.lower(), "--how", how, "--as", "sato"]) == 0
    assert ref in capsys.readouterr().out
    case = desk.case(ref)
    assert (case.verified_by, case.verified_how) == ("sato", how)
    assert case.verified_at is not None
    assert desk.events(ref)[-1] == ("sato", "identity verified")
    # and the answer may now be approved
    assert desk.replies.approve(desk.answer(ref), approver="U0APPROVER").outcome == "queued"


def test_a_repeated_request_is_verified_again(desk: Desk) -> None:
    first = desk.request()
    desk.replies.mark_verified(first, actor="sato", how="会員ID と登録電話番号")
    assert desk.replies.approve(desk.answer(first), approver="sato").outcome == "queued"

    desk.clock.now += timedelta(days=20)
    second = desk.request()  # the same words from the same address, a new mail
    assert second != first
    case = desk.case(second)
    assert case.verified_at is None and case.verified_by is None
    draft_id = desk.answer(second)
    with pytest.raises(ReplyError, match="not verified"):
        desk.replies.approve(draft_id, approver="sato")
    assert ("sato", "approval refused") in desk.events(second)
    assert [i.case_id for i in desk.outbox()] == [desk.case(first).id]


def test_someone_else_quoting_the_code_does_not_verify_her_case(desk: Desk) -> None:
    ref = desk.request()
    _, mail = desk.code_mail(ref)
    code = _code(mail)

    # Jiro got hold of the code and answers in her thread, naming her case.
    result = desk.reply_to(mail, f"確認コード：{code}", sender=STRANGER)
    assert result.action == "opened" and result.ref not in (None, ref)
    assert result.ref is not None
    his = desk.case(result.ref)
    assert his.requester == "jiro@example.com" and his.flags == ["foreign_reference"]
    assert his.verified_at is None
    hers = desk.case(ref)
    assert hers.verified_at is None and hers.status == "awaiting_verification"
    assert desk.verification(ref).tries == 0 and desk.verification(ref).used_at is None
    assert ("requester", "identity verified") not in desk.events(ref)

    # Her own answer with the same code still works: his mail did not use it up.
    desk.reply_to(mail, f"確認コード：{code}")
    assert desk.case(ref).verified_by == "requester"


def test_the_clock_waits_for_the_proof_not_for_any_reply(desk: Desk) -> None:
    ref = desk.request()
    due_before = desk.case(ref).answer_due
    _approval, mail = desk.code_mail(ref)
    desk.clock.now += timedelta(days=2)
    # she writes back without the code (or with a wrong one): still waiting on her
    desk.reply_to(mail, "コードが届いていません。もう一度送ってください。")
    desk.reply_to(mail, f"確認コード：{_wrong(_code(mail))}")
    case = desk.case(ref)
    assert case.status == "awaiting_verification" and case.verified_at is None
    with Session(desk.engine) as session:
        assert repo.open_pause(session, case.id or 0) is not None

    # staff verify her another way: the wait ends then, and the deadline moves by it
    desk.clock.now += timedelta(days=1)
    desk.replies.mark_verified(ref, actor="sato", how="電話で登録情報を確認")
    case = desk.case(ref)
    assert case.status == "in_progress" and case.verified_by == "sato"
    with Session(desk.engine) as session:
        assert repo.open_pause(session, case.id or 0) is None
    assert due_before is not None and case.answer_due is not None
    assert case.answer_due - due_before == timedelta(days=3)
    assert desk.events(ref)[-2:] == [("sato", "identity verified"), ("sato", "clock resumed")]
