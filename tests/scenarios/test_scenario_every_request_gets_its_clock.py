"""Every request gets its legal clock (DESIGN rule 6): mail nobody has decided yet — one the
classifier cannot read, one it could not take in at all, a question or grievance about the
sender's own data, a person's mail that names machine mail as missing — opens a case on the
strictest rights-request deadline with a triage deadline of its own; triage is chased in the case
thread and the digest; an approver decides it with one click or on the command line, and only
then does the case get the deadline of what it really is. Confident mail that is no request
keeps its own clock. On SQLite and PostgreSQL; Slack is the Web API double."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine
from sqlmodel import Session, select
from support import settle

from bot.intake import Intake
from bot.replies import Replies, ReplySettings
from bot.scheduler import Scheduler, SchedulerSettings
from bot.slack.app import build_app
from bot.slack.blocks import ACTIONS
from bot.slack.poster import CasePoster
from bot.words import words
from handlers import sla
from handlers.classify import classify
from handlers.intents import RIGHTS
from mail.parse import parse_message
from storage import repo
from storage.models import AuditEvent, Case, MailMessage

EN = words("en")  # the staff texts these assertions read

TOKYO = ZoneInfo("Asia/Tokyo")
MONDAY = datetime(2026, 6, 1, 10, 0, tzinfo=TOKYO)  # an ordinary business day
TRIAGE_DUE = datetime(2026, 6, 2, 23, 59, 59, 999999, tzinfo=TOKYO)  # the next business day
RIGHTS_DUE = datetime(2026, 6, 15, 23, 59, 59, 999999, tzinfo=TOKYO)  # APPI: 14 calendar days
INQUIRY_DUE = datetime(2026, 6, 8, 23, 59, 59, 999999, tzinfo=TOKYO)  # 5 business days
SECRET = "signing-secret-of-the-test"
APPROVER = "U0APPROVE1"
BYSTANDER = "U0BYSTAND1"
DESK = {"PD_FROM_ADDRESS": "privacy@example-hikaku.co.jp", "PD_APPROVERS": APPROVER}
# A deletion request in Korean: no rule and no training example reads it (checked below, so
# the day the classifier learns Korean this test says so instead of passing for a wrong reason).
UNREADABLE_REQUEST = "안녕하세요. 귀사에 등록된 제 개인정보를 모두 삭제해 주십시오. 감사합니다."
# Korean throughout, subject too: the learned model reads a generic Japanese subject
# ("個人情報について") as a faint request of its own, and this mail must be one nobody can read.
UNREADABLE_SUBJECT = "요청"

_made: list[Scheduler] = []


@pytest.fixture(autouse=True)
def _close_schedulers() -> Iterator[None]:
    yield
    while _made:
        _made.pop().close()


CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "corpus"


def _take(engine: Engine, raw: bytes, **env: str) -> str:
    result = Intake(
        engine, clock=lambda: MONDAY.astimezone(UTC), replies=ReplySettings.from_env(DESK | env)
    ).process(raw)
    assert result.ref, result
    return result.ref


def _case(engine: Engine, ref: str) -> Case:
    with Session(engine) as session:
        case = repo.case_by_ref(session, ref)
        assert case is not None
        return case


def _client(slack: Any) -> AsyncWebClient:
    return AsyncWebClient(token=slack.bot_token, base_url=slack.base_url, retry_handlers=[])


def _mail(make_mail: Callable[..., bytes], body: str, **headers: Any) -> bytes:
    return make_mail(body, date=MONDAY, **headers)


def _assert_relayed(
    engine: Engine,
    make_mail: Callable[..., bytes],
    body: str,
    subject: str,
    sender: str,
    intent: str,
) -> None:
    """A system's mail (Auto-Submitted: auto-generated) carrying a person's request opens the
    person's case with that request, the rights clock and triage."""
    relayed = _mail(
        make_mail, body, subject=subject, sender=sender, auto_submitted="auto-generated"
    )
    case = _case(engine, _take(engine, relayed))
    assert case.kind != "machine" and intent in case.intents, subject
    assert case.answer_due == RIGHTS_DUE and case.needs_triage, subject


def test_a_request_the_classifier_cannot_read_gets_its_case_the_14_day_clock_and_a_triage_reminder(
    engine: Engine, slack: Any, make_mail: Callable[..., bytes]
) -> None:
    raw = _mail(
        make_mail, UNREADABLE_REQUEST, subject=UNREADABLE_SUBJECT, sender="minji@example.kr"
    )
    assert not set(classify(parse_message(raw)).intents) & set(RIGHTS)  # unread, truly

    ref = _take(engine, raw)
    case = _case(engine, ref)
    assert case.needs_triage and case.status == "new"
    assert case.answer_due == RIGHTS_DUE
    assert case.triage_due == TRIAGE_DUE

    # The channel: the parent says first that it needs triage, and offers one click per intent.
    client = _client(slack)
    asyncio.run(CasePoster(engine, client, slack.channel, words=words("en")).run_once())
    [parent] = slack.messages()
    assert "Needs triage" in parent["blocks"][0]["text"]["text"]
    buttons = [
        element
        for block in parent["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element.get("action_id") == ACTIONS["triage"]
    ]
    labels = [b["text"]["text"] for b in buttons]
    assert "Not a request" in labels
    assert sum(intent.replace("_", " ") in " ".join(labels) for intent in RIGHTS) == len(RIGHTS)

    # The scheduler chases triage in the thread: on the triage day, then when it is late.
    scheduler = Scheduler(
        engine,
        client,
        slack.channel,
        SchedulerSettings.from_env({"PD_DIGEST_TIME": "08:00"}),
        ReplySettings.from_env(DESK),
        words=words("en"),
    )
    _made.append(scheduler)
    asyncio.run(scheduler.run_once(datetime(2026, 6, 2, 8, 59, tzinfo=TOKYO)))
    said = [m["text"] for m in slack.thread(slack.channel, parent["ts"])]
    assert not any("needs triage" in text for text in said)
    asyncio.run(scheduler.run_once(datetime(2026, 6, 2, 9, 0, tzinfo=TOKYO)))
    said = [m["text"] for m in slack.thread(slack.channel, parent["ts"])]
    [reminder] = [text for text in said if "needs triage" in text]
    assert ref in reminder and "is due today, 2026-06-02" in reminder
    assert f"<@{APPROVER}>" in reminder
    digest = [m["text"] for m in slack.messages() if "daily digest" in m["text"]]
    assert any(f"Waiting for triage (decide by) (1): {ref} (06/02)" in d for d in digest)
    asyncio.run(scheduler.run_once(datetime(2026, 6, 3, 9, 0, tzinfo=TOKYO)))
    said = [m["text"] for m in slack.thread(slack.channel, parent["ts"])]
    assert any("needs triage" in t and "1 business day late" in t for t in said)


def test_an_approver_decides_triage_with_one_click_and_a_bystander_cannot(
    engine: Engine, slack: Any, make_mail: Callable[..., bytes]
) -> None:
    ref = _take(
        engine,
        _mail(make_mail, UNREADABLE_REQUEST, subject=UNREADABLE_SUBJECT, sender="minji@example.kr"),
    )
    for user in (APPROVER, BYSTANDER):
        slack.add_user(user, name=user.lower())
    client = _client(slack)
    asyncio.run(CasePoster(engine, client, slack.channel, words=words("en")).run_once())
    [parent] = slack.messages()
    app = build_app(
        engine,
        Replies(engine, ReplySettings.from_env(DESK)),
        signing_secret=SECRET,
        client=client,
        channel=slack.channel,
        words=EN,
    )
    double = sys.modules["slack_double"]
    [deletion] = [
        element["value"]
        for block in parent["blocks"]
        for element in block.get("elements", [])
        if element.get("action_id") == ACTIONS["triage"] and "deletion" in element["text"]["text"]
    ]

    async def click(user: str) -> int:
        payload = double.block_actions(
            user_id=user,
            action_id=ACTIONS["triage"],
            value=deletion,
            trigger_id=slack.new_trigger_id(user),
            message_ts=parent["ts"],
            message={"type": "message", "ts": parent["ts"]},
        )
        signed = double.interaction(payload, SECRET)
        response = await app.async_dispatch(
            AsyncBoltRequest(body=signed.body, headers=signed.multi_headers())
        )
        await settle()
        return int(response.status)

    assert asyncio.run(click(BYSTANDER)) == 200
    case = _case(engine, ref)
    assert case.needs_triage and case.intents == []
    with Session(engine) as session:
        refused = [e for e in session.exec(select(AuditEvent)) if e.action == "reclassify refused"]
    assert [e.actor for e in refused] == [BYSTANDER]

    assert asyncio.run(click(APPROVER)) == 200
    case = _case(engine, ref)
    assert not case.needs_triage and case.triage_due is None
    assert case.intents == ["deletion"] and case.kind == "privacy"
    assert case.answer_due == RIGHTS_DUE  # what the law gives a deletion request
    with Session(engine) as session:
        [decided] = [e for e in session.exec(select(AuditEvent)) if e.action == "reclassified"]
    assert decided.actor == APPROVER and decided.detail["after"] == ["deletion"]


def test_staff_decide_on_the_command_line_and_not_a_request_removes_the_clock(
    engine: Engine,
    database: str,
    make_mail: Callable[..., bytes],
    monkeypatch: Any,
    capsys: Any,
) -> None:
    from bot.cli import main

    first = _take(
        engine,
        _mail(make_mail, UNREADABLE_REQUEST, subject=UNREADABLE_SUBJECT, sender="a@example.kr"),
    )
    second = _take(
        engine,
        _mail(make_mail, UNREADABLE_REQUEST, subject=UNREADABLE_SUBJECT, sender="b@example.kr"),
    )
    for name, value in (DESK | {"PD_DATABASE_URL": database}).items():
        monkeypatch.setenv(name, value)

    assert main(["reclassify", first, "--not-a-request", "--as", "someone"]) == 2
    assert "approver" in capsys.readouterr().err
    assert _case(engine, first).needs_triage  # only approvers may remove a legal clock

    assert main(["reclassify", first, "--not-a-request", "--as", APPROVER]) == 0
    case = _case(engine, first)
    assert not case.needs_triage and case.answer_due is None and case.intents == []

    # A marketing opt-out: 15 business days, not the provisional 14 calendar days.
    assert main(["reclassify", second, "stop_use", "--as", APPROVER]) == 0
    case = _case(engine, second)
    assert case.intents == ["stop_use"] and not case.needs_triage
    assert case.answer_due == datetime(2026, 6, 22, 23, 59, 59, 999999, tzinfo=TOKYO)

    assert main(["reclassify", second, "--as", APPROVER]) == 2  # says nothing
    assert main(["reclassify", second, "deletion", "--not-a-request", "--as", APPROVER]) == 2
    with Session(engine) as session:
        actions = [e.action for e in session.exec(select(AuditEvent))]
    assert actions.count("reclassified") == 2 and "reclassify refused" in actions


def test_a_message_intake_could_not_read_keeps_its_requester_message_id_and_clock(
    engine: Engine, unreadable_mail: bytes
) -> None:
    raw = unreadable_mail.replace(
        b"Subject: help\r\n", b"Subject: help\r\nMessage-ID: <deep-1@mail.example.jp>\r\n"
    )
    ref = _take(engine, raw)
    case = _case(engine, ref)
    assert case.status == "quarantined" and case.needs_triage
    assert case.requester == "someone@example.jp"
    assert case.answer_due == RIGHTS_DUE and case.triage_due == TRIAGE_DUE
    with Session(engine) as session:
        [stored] = session.exec(select(MailMessage).where(MailMessage.case_id == case.id))
    assert stored.message_id == "deep-1@mail.example.jp"
    assert stored.raw == raw  # kept as received


def test_a_question_about_the_senders_own_data_waits_for_triage_on_the_rights_clock(
    engine: Engine, make_mail: Callable[..., bytes]
) -> None:
    own = _take(
        engine,
        _mail(
            make_mail, "貴社は私の個人情報をどのように利用しているのでしょうか。", subject="質問"
        ),
    )
    case = _case(engine, own)
    assert case.intents == ["inquiry"] and case.needs_triage
    # the earlier of its own deadline (an inquiry: 5 business days) and the rights clock
    assert case.answer_due == INQUIRY_DUE and case.triage_due == TRIAGE_DUE

    general = _take(
        engine,
        _mail(
            make_mail,
            "Cookieの利用目的について、プライバシーポリシーのどこに書かれていますか。",
            subject="質問",
            sender="taro@example.jp",
        ),
    )
    case = _case(engine, general)
    assert case.intents == ["inquiry"] and not case.needs_triage and case.triage_due is None
    assert case.answer_due == INQUIRY_DUE  # its own clock


def test_a_person_who_names_machine_mail_as_missing_is_heard(
    engine: Engine, make_mail: Callable[..., bytes]
) -> None:
    ref = _take(
        engine,
        _mail(
            make_mail,
            "I wrote to you twice about my account and did not even get an auto-reply. "
            "This is unacceptable.",
            subject="Still nothing",
            sender="Alex Kim <alex@example.com>",
        ),
    )
    case = _case(engine, ref)
    assert case.answer_due is not None  # a case with a clock, not archived as machine mail
    assert "auto_reply" not in case.intents


def test_confident_mail_that_is_no_request_keeps_its_own_clock(
    engine: Engine, make_mail: Callable[..., bytes]
) -> None:
    ref = _take(
        engine,
        _mail(
            make_mail,
            "いつもお世話になっております。株式会社サンプル電力の営業部です。\n"
            "貴サイトに掲載されている弊社プラン「スタンダードS」の基本料金が旧料金のままです。\n"
            "正しくは1,180円ですので、掲載内容の修正をお願いいたします。",
            subject="掲載内容修正のお願い",
            sender="sales@sample-denryoku.example.co.jp",
        ),
    )
    case = _case(engine, ref)
    assert case.kind == "provider_correction" and not case.needs_triage
    assert case.triage_due is None
    assert case.answer_due == sla.deadlines(MONDAY, ["provider_correction"]).answer_due


def test_a_web_form_relayed_by_a_machine_keeps_the_persons_request_and_its_clock(
    engine: Engine, make_mail: Callable[..., bytes]
) -> None:
    # The site's contact form mails what a person typed from a no-reply system with
    # Auto-Submitted, and a privacy-request service's system sends a person's request as their
    # agent: machine headers, but a person's deletion request with the law's clock.
    for body, subject, sender in (
        (
            "お問い合わせフォームから送信されました。\n"
            "-------------------------------------------------\n"
            "【お名前】有賀 慎吾\n【メールアドレス】shingo@example.jp\n"
            "【お問い合わせ種別】料金・プランについて\n【内容】\n"
            "料金の話ではないです、すみません。もう使わないので退会して、"
            "登録データは削除でお願いします。\n"
            "-------------------------------------------------\n"
            "送信日時：2026/06/01 09:12:03\n",
            "【お問い合わせフォーム】料金・プランについて",
            "form-noreply@example-hikaku.co.jp",
        ),
        (
            "Hi,\n\nTom Gallagher (tom.g@example.com) has asked us to send you this request on "
            "his behalf.\n\nTom would like you to delete his personal data that you hold.\n\n"
            "This email was sent using a service that helps people reclaim their data.",
            "Data deletion request from Tom Gallagher",
            "no-reply@privacy-agent.example.com",
        ),
        (
            # The app's feedback form, under a star rating and the phone's model.
            "アプリからご意見が送信されました。\n\n評価：★☆☆☆☆（1）\n種別：その他\nご意見：\n"
            "スマホを替えたのでもう使いません。登録した電話番号や住所は全部削除して\n\n"
            "会員ID：HD-1234-5678\n端末：Pixel 8 / Android 15\n",
            "[アプリご意見] Android 4.3.1 ★1",
            "app-feedback@example-hikaku.co.jp",
        ),
        (
            # A chatbot handing over a conversation it could not finish.
            "The chat assistant could not resolve this conversation; chat transcript below.\n\n"
            "User: how do I close my account\nBot: You can close it from My Page.\n"
            "User: can't log in. just delete my account and all my data please\n"
            "Bot: Sorry, I didn't understand that.\n",
            "[Chat escalation] unresolved conversation",
            "chat-noreply@example-hikaku.co.jp",
        ),
    ):
        _assert_relayed(engine, make_mail, body, subject, sender, "deletion")

    # An auto-reply that quotes a request is still machine mail: archived, no clock; and so is
    # a ticket system's acknowledgement of an agent's request it received.
    for body, subject, sender, auto_submitted in (
        (
            "This is an automatic reply. I am out of the office until June 8.\n\n"
            "> Please delete all the personal data you hold about me.\n",
            "Automatic reply: delete my data",
            "taro@example.jp",
            "auto-replied",
        ),
        (
            "Your request (#NW-48213) has been received and is being reviewed by our staff.\n\n"
            "Subject: Data subject request on behalf of our client\n",
            "[NW-48213] Request received",
            "helpdesk@northwind.example.com",
            "auto-generated",
        ),
    ):
        machine = Intake(engine, clock=lambda: MONDAY.astimezone(UTC)).process(
            _mail(make_mail, body, subject=subject, sender=sender, auto_submitted=auto_submitted)
        )
        assert machine.action == "archived" and machine.answer_due is None, subject


def test_a_persons_request_carried_by_the_sites_own_systems_keeps_its_clock(
    engine: Engine, make_mail: Callable[..., bytes]
) -> None:
    # The site's systems pass a person's words on in forms no wording list keeps up with: a
    # call-centre memo, a helpdesk's new ticket, a chatbot's escalation. Auto-Submitted says a
    # machine sent them, and nothing in them says "form" or "submitted"; the request is still
    # the person's, with the law's clock, and a person checks the reading.
    for body, subject, sender, intent in (
        (
            "【電話受付メモ】受付番号 T-2026-0601-17\n\n受付者：お客様窓口 森田\n"
            "お客様：宮坂 恵美 様（会員）\n\n■お客様のご要望\n"
            "提携している電力会社からの営業電話が止まらないので、自分の情報をもうどこの会社にも"
            "渡さないでほしい、とのこと。\n\n■対応\n個人情報窓口へエスカレーション\n",
            "【受付メモ】宮坂様 提携先への提供について",
            "crm-notice@example-hikaku.co.jp",
            "stop_provision",
        ),
        (
            "Chat handed over to a person (the assistant could not complete the action)\n\n"
            "Session: 7f3a-19c2\nSigned in: yes\n\n"
            "CUSTOMER: I moved last month and the address on my account is still the old one\n"
            "ASSISTANT: You can change your details under My Page.\n"
            "CUSTOMER: the page won't save it. new address is 2-14-3 Kitazawa, Setagaya-ku. "
            "please update it for me\n"
            "ASSISTANT: I'll pass this to our team.\n",
            "[Escalation] session 7f3a-19c2",
            "assistant-escalation@example-hikaku.co.jp",
            "correction",
        ),
        (
            # A helpdesk's new ticket quoting the customer under an attribution line: in a mail
            # that is no reply, what is quoted is what it passes on.
            "A new ticket has been assigned to the Privacy queue.\n\nTicket #5512\n"
            "Requester: Ana Ruiz <ana.ruiz@example.es>\nChannel: Web\n\nAna Ruiz wrote:\n\n"
            "> Hello, I used your comparison site once last year. Since then an energy company\n"
            "> keeps phoning me. Please erase everything you have about me.\n\n"
            "View ticket: https://help.example-hikaku.co.jp/t/5512\n"
            "-- Reply above this line to add a comment\n",
            "[Help] New ticket #5512",
            "notify@help.example-hikaku.co.jp",
            "deletion",
        ),
        (
            # A form's notice that it "received" the following: the words are the person's.
            "お問い合わせフォームから以下の内容を受け付けました。\n\n受付番号：F260601-0042\n"
            "お問い合わせ種別：料金プランについて\nお名前：森 由紀\n\nお問い合わせ内容：\n"
            "プランの話ではありません。提携している代理店に私の電話番号を渡すのをやめてください。"
            "勧誘の電話が毎週来て困っています。\n",
            "[お問い合わせ] 料金プランについて（受付番号 F260601-0042）",
            "form-noreply@example-hikaku.co.jp",
            "stop_provision",
        ),
    ):
        _assert_relayed(engine, make_mail, body, subject, sender, intent)

    # A helpdesk's new ticket framing the person's words between lines of dashes (which open a
    # signature in a person's mail), as writer-jm wrote it: without those words it reads as
    # machine mail, with them it is the person's request.
    ticket = (CORPUS / "writer-jm" / "098.eml").read_bytes()
    framed = _case(engine, _take(engine, ticket))
    assert framed.kind != "machine" and {"disclosure", "stop_use"} <= set(framed.intents)
    assert framed.answer_due is not None and framed.needs_triage

    # A grievance taken down by the call centre is a person's mail too: its case, with triage.
    memo = _mail(
        make_mail,
        "【通話メモ共有】\n顧客ID : HK-0367112\n記録者 : 受電センター 早川\n対応区分 : 苦情\n\n"
        "お客様より入電。提携先の電力会社の営業担当が、お客様が比較のために入力した先月の使用量を"
        "知っていたことに強い不快感を示される。「比較のために入れた数字がそのまま営業に使われるとは"
        "思っていなかった。説明が足りない。納得できない」とのこと。苦情として記録。\n",
        subject="【通話メモ】HK-0367112 苦情",
        sender="crm-notice@example-hikaku.co.jp",
        auto_submitted="auto-generated",
    )
    grievance = _case(engine, _take(engine, memo))
    assert grievance.kind != "machine" and "complaint" in grievance.intents
    assert grievance.needs_triage

    # The same systems reporting on their own work carry no one's request: archived, no clock.
    for body, subject, sender in (
        (
            "チケット T-2026-0530-08 はクローズされました。\n担当：お客様窓口 森田\n"
            "クローズ理由：対応完了\n\nこのメールはシステムから自動送信されています。\n",
            "【チケット】T-2026-0530-08 クローズ",
            "crm-notice@example-hikaku.co.jp",
        ),
        (
            "Daily summary of the chat assistant\n\nSessions: 1,284\nHanded over: 37\n"
            "Most asked: plan comparison, moving, password reset\n",
            "[Assistant] daily summary 2026-05-31",
            "assistant-escalation@example-hikaku.co.jp",
        ),
    ):
        machine = Intake(engine, clock=lambda: MONDAY.astimezone(UTC)).process(
            _mail(make_mail, body, subject=subject, sender=sender, auto_submitted="auto-generated")
        )
        assert machine.action == "archived" and machine.answer_due is None, subject
