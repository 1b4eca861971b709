"""What the scheduler tells staff (bot.slack.texts): each reminder, the folded escalations and
the digest in the staff language, people as mentions, days with their weekday in Tokyo."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.slack import texts
from bot.words import words
from handlers.reminders import Threshold
from storage.models import Case
from storage.reminders import DigestFacts

TOKYO = ZoneInfo("Asia/Tokyo")
DUE = datetime(2026, 6, 4, 23, 59, tzinfo=TOKYO)  # a Thursday
JA, EN = words("ja"), words("en")
TO = texts.Audience(
    approvers=("U0APPROVER1", "sato"),
    escalation=("S0LEGAL0001",),
    requester_reminder=timedelta(days=7),
    unverified_close=timedelta(days=14),
)


def _case(ref: str = "PD-2026-000001", **kw: object) -> Case:
    values: dict[str, object] = {
        "kind": "privacy",
        "intents": ["deletion"],
        "requester": "hanako@example.jp",
        "received_at": DUE - timedelta(days=3),
        "answer_due": DUE,
        **kw,
    }
    return Case(ref=ref, **values)


@pytest.mark.parametrize(
    ("kind", "detail", "ja", "en"),
    [
        (
            "progress",
            {},
            "<@U0STAFF001> *PD-2026-000001*: 回答までの期間の 50% が経過しました。"
            "回答期限は東京時間で 2026-06-04（木）中です。",
            "<@U0STAFF001> *PD-2026-000001*: 50% of the time to answer has passed. "
            "Due 2026-06-04 (Thu), end of day Tokyo.",
        ),
        (
            "due",
            {},
            "<@U0STAFF001> *PD-2026-000001* は本日 2026-06-04（木）が回答期限です。"
            "東京時間 23:59 までに回答してください。",
            "<@U0STAFF001> *PD-2026-000001* is due today, 2026-06-04 (Thu): answer by 23:59 Tokyo.",
        ),
        (
            "overdue",
            {"days": 2},
            "<@U0STAFF001> *PD-2026-000001* は期限超過です。"
            "回答期限は 2026-06-04（木）でした（2 営業日超過）。",
            "<@U0STAFF001> *PD-2026-000001* is overdue: it was due 2026-06-04 (Thu) "
            "(2 business days late).",
        ),
    ],
)
def test_a_deadline_reminder_reads_in_the_staff_language(
    kind: str, detail: dict[str, int], ja: str, en: str
) -> None:
    case = _case(assignee="U0STAFF001")
    name = "50%" if kind == "progress" else kind
    threshold = Threshold(name, kind, DUE, DUE, detail)  # type: ignore[arg-type]  # a Kind
    assert texts.reminder(case, threshold, TO, w=JA) == ja
    assert texts.reminder(case, threshold, TO, w=EN) == en


def test_triage_and_waiting_on_the_requester_read_in_japanese() -> None:
    case = _case(assignee="U0STAFF001")
    late = Threshold("triage-1", "triage", DUE, DUE, {"days": 1})
    assert texts.reminder(case, late, TO, w=JA) == (
        "<@U0STAFF001> *PD-2026-000001* は要仕分けです。このメールが何を求めているかをまだ誰も"
        "判断しておらず、仕分けの期限は 2026-06-04（木）でした（1 営業日超過）。承認者が判断する"
        "までは、最も厳しい請求の回答期限で管理します（回答期限 2026-06-04（木））。"
        "案件のメッセージのボタンで判断してください。"
    )
    assert "1 business day late" in texts.reminder(case, late, TO, w=EN)
    waiting = Threshold("requester-1", "requester", DUE, DUE)
    assert "2026-06-04（木）から 7 日間、請求者の返信を待っています" in texts.reminder(
        case, waiting, TO, w=JA
    )
    unverified = Threshold("unverified-1", "unverified", DUE, DUE)
    assert "2026-06-04（木）に依頼した本人確認に 14 日間返信がありません" in texts.reminder(
        case, unverified, TO, w=JA
    )


def test_whom_a_reminder_calls_is_a_mention_never_a_bare_id() -> None:
    threshold = Threshold("due", "due", DUE, DUE)
    named = texts.reminder(_case(assignee="Tanaka <b>"), threshold, TO, w=JA)
    assert named.startswith("<@U0APPROVER1> sato（担当者: Tanaka &lt;b&gt;） *PD-2026-000001*")
    nobody = texts.Audience((), (), timedelta(days=7), timedelta(days=14))
    assert texts.reminder(_case(), threshold, nobody, w=JA).startswith(
        "（担当者なし、承認者も未設定） *PD-2026-000001*"
    )


def test_escalations_alone_and_folded_read_in_japanese() -> None:
    complaint = _case(intents=["complaint"])
    one = texts.reminder(complaint, Threshold("escalated", "escalation", DUE, DUE), TO, w=JA)
    assert one == (
        "<!subteam^S0LEGAL0001> :rotating_light: 苦情の案件 *PD-2026-000001* は回答期限 "
        "2026-06-04（木）を過ぎても回答していません。担当者: なし。スレッドを確認してください。"
    )
    cases = [complaint, *(_case(f"PD-2026-{n:06d}", assignee="U0STAFF001") for n in range(2, 43))]
    folded = texts.escalations(cases, TO, w=JA).splitlines()
    assert folded[0] == (
        "<!subteam^S0LEGAL0001> :rotating_light: 回答期限を過ぎても回答していない案件が 42 件"
        "あります。各案件のスレッドを確認してください:"
    )
    assert folded[1] == "• *PD-2026-000001*（苦情、回答期限 2026-06-04（木）、担当者: なし）"
    assert (
        folded[2] == "• *PD-2026-000002*（案件、回答期限 2026-06-04（木）、担当者: <@U0STAFF001>）"
    )
    assert folded[-1] == "• ほか 2 件: `privacy-desk cases --overdue`"


def test_the_digest_reads_in_japanese() -> None:
    refs = [f"PD-2026-{n:06d}" for n in range(1, 43)]
    facts = DigestFacts(
        new=refs[:1],
        soon=[(refs[1], DUE)],
        overdue=refs,
        approval=[],
        answered=[],
        triage=[(refs[2], None)],
        historic=[True, False],
        newest=42,
    )
    today = DUE.date() + timedelta(days=1)
    text = texts.digest(facts, today, DUE, timedelta(days=2), w=JA)
    assert text.splitlines() == [
        "*プライバシー窓口 — 日次ダイジェスト 2026-06-05（金）*",
        "• 前回のダイジェスト以降の新規（1 件）: PD-2026-000001",
        "• 2 日以内に回答期限（1 件）: PD-2026-000002 (06/04)",
        f"• 期限超過（42 件）: {'、'.join(refs[:40])} ほか 2 件",
        "• 承認待ち: なし",
        "• 昨日回答済み: なし",
        "• 仕分け待ち（判断の期限）（1 件）: PD-2026-000003",
        "• 過去のメール（privacy-desk が初めてメールボックスを読む前に届いたもの）: "
        "対応中 2 件、うち期限超過 1 件（`privacy-desk cases --overdue`）",
    ]
