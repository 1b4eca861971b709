"""The lines a case's Slack thread is told (bot.slack.poster.thread_line): each says what
happened and who did it, in words; text from email is escaped and clipped; no address, mail
body or server answer that may name an address ever appears; odd details never crash it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support import english

from bot.slack.blocks import FALLBACK_TEXT
from bot.slack.poster import TOLD, FollowUp, Told, thread_blocks, thread_line
from bot.words import LANGUAGES, words

REF = "PD-2026-000123"
ADDRESS = "hanako.sato@example.jp"
STAFF = "U0APPROVE1"


EN = words("en")


def line(action: str, detail: dict[str, Any] | None = None, *, lang: str = "en", **kw: Any) -> str:
    told = Told(action, kw.pop("actor", STAFF), detail or {}, REF, **kw)
    return thread_line(told, w=words(lang))


@pytest.mark.parametrize(
    ("action", "detail", "expected"),
    [
        ("bounce received", {"message_id": "dsn-1@mx.example.jp"}, "bounce"),
        (
            "mail sent",
            {"outbox": 7, "template": "deletion_done", "message_id": "pd.1@x"},
            "Mail sent to the requester: `deletion_done` (outbox 7).",
        ),
        ("mail bounced", {"outbox": 7}, "Our mail (outbox 7) bounced"),
        ("sent copy failed", {"outbox": 7, "error": "NO [TRYCREATE]"}, "no copy was kept"),
        ("draft approved", {"draft": 4, "revision": 1}, f"<@{STAFF}> approved draft 4: the mail"),
        ("draft discarded", {"draft": 4}, f"<@{STAFF}> discarded draft 4."),
        ("draft edited", {"draft": 4, "revision": 2}, "edited draft 4 (revision 2)"),
        ("assigned", {"to": STAFF, "before": None}, f"<@{STAFF}> took {REF}."),
        ("assigned", {"to": "U0OTHER001"}, f"<@{STAFF}> assigned {REF} to <@U0OTHER001>."),
        (
            "identity verified",
            {"how": "電話で確認"},
            f"<@{STAFF}> verified the identity: 電話で確認",
        ),
        ("clock paused", {"reason": "identity verification"}, "paused: identity verification"),
        (
            "clock resumed",
            {"answer_due": "2026-12-08T05:00:00+00:00"},
            "runs again. Answer due: 2026-12-08 14:00 JST",
        ),
        (
            "deadline extended",
            {"reason": "調査に時間を要するため", "answer_due": "2027-01-07T05:00:00+00:00"},
            "extended the deadline to 2027-01-07 14:00 JST: 調査に時間を要するため",
        ),
        ("case closed", {"reason": "withdrawn by phone"}, "closed the case: withdrawn by phone"),
        ("automatic mail held", {"reason": "daily cap"}, "held (daily cap)"),
        ("draft failed", {"reason": "template 'ack' is missing"}, "No draft could be prepared"),
        ("verification code void", {"tries": 5}, "void after 5 wrong tries"),
    ],
)
def test_each_action_reads_as_what_happened(
    action: str, detail: dict[str, Any], expected: str
) -> None:
    assert expected in line(action, detail)


def test_a_follow_up_shows_its_subject_escaped_and_never_the_address_or_body() -> None:
    told = line(
        "message linked",
        {"message_id": "req-2@mail.example.jp", "intents": ["deletion", "auto_reply"]},
        actor="intake",
        subject="Re: <!channel> 削除の件 <https://evil.example|bank> " + "長" * 400,
    )
    assert told.startswith("A follow-up mail from the requester joined the case: “Re: ")
    assert "&lt;!channel&gt;" in told and "<!channel>" not in told and "<https" not in told
    assert "…(truncated)" in told and len(told) < 400
    assert "It reads as: deletion." in told and "auto" not in told  # the staff language's words
    assert "req-2@" not in told and "example.jp" not in told
    bare = line("message linked", {"message_id": "m@x"}, actor="intake", subject=None)
    assert bare == "A follow-up mail from the requester joined the case."


def test_a_failed_mail_shows_the_smtp_code_but_not_the_refusal_that_names_the_address() -> None:
    told = line(
        "mail failed",
        {"outbox": 3, "error": f"550 5.1.1 <{ADDRESS}>: Recipient address rejected"},
        actor="outbox",
    )
    assert "outbox 3, 550 5.1.1" in told and "privacy-desk outbox" in told
    assert ADDRESS not in told and "hanako" not in told and "rejected" not in told
    told = line("mail failed", {"outbox": 3, "error": f"invalid recipient {ADDRESS}"})
    assert ADDRESS not in told and "(outbox 3)" in told


def test_only_a_slack_user_id_is_a_mention() -> None:
    assert line("draft discarded", {"draft": 1}, actor="U0APPROVE1").startswith("<@U0APPROVE1>")
    assert line("draft discarded", {"draft": 1}, actor="sato").startswith("sato discarded")
    hostile = line("case closed", {"reason": "<!here>"}, actor="<!channel>")
    assert "<" not in hostile and "&lt;!channel&gt; closed the case: &lt;!here&gt;" in hostile
    assigned = line("assigned", {"to": "<!everyone>"}, actor="sato")
    assert assigned == f"sato assigned {REF} to &lt;!everyone&gt;."


def test_an_automatic_approval_says_it_was_automatic() -> None:
    told = line(
        "draft approved",
        {"draft": 2, "template": "ack", "automatic": True},
        actor="auto-ack",
    )
    assert told == "Draft 2 (`ack`) is queued as automatic mail (auto-ack)."


def test_a_reclassification_shows_before_after_and_the_new_deadline() -> None:
    told = line(
        "reclassified",
        {
            "before": ["inquiry"],
            "after": ["deletion", "stop_use"],
            "answer_due": "2026-12-08T05:00:00+00:00",
        },
    )
    assert told == (
        f"<@{STAFF}> reclassified the case: inquiry → deletion, "
        "stop use. Answer due: 2026-12-08 14:00 JST."
    )
    assert "Answer due: no deadline." in line("reclassified", {"before": [], "after": ["spam"]})


def test_reminders_and_escalations_are_posted_as_their_writer_gave_them() -> None:
    text = "<@U0APPROVE1> PD-2026-000123 is due in 2 days (2026-12-08 14:00 JST)."
    assert line("reminder", {"text": text}, actor="reminders") == text
    assert line("escalated", {"text": "*Overdue* &lt;x&gt;"}, actor="reminders") == (
        "*Overdue* &lt;x&gt;"
    )
    assert len(line("reminder", {"text": "x" * 10_000})) == FALLBACK_TEXT


def test_what_the_parent_or_a_draft_already_shows_is_not_told_again() -> None:
    for action in ("case opened", "draft prepared", "note", "approval refused", "quarantined"):
        assert action not in TOLD


ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=40),
    st.lists(st.text(max_size=10), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
KEYS = [
    "draft",
    "outbox",
    "revision",
    "template",
    "automatic",
    "to",
    "before",
    "after",
    "answer_due",
    "reason",
    "how",
    "tries",
    "error",
    "intents",
    "message_id",
]


@given(
    action=st.sampled_from(sorted(TOLD - {"reminder", "escalated"})),
    detail=st.dictionaries(st.sampled_from(KEYS), ODD, max_size=6),
    actor=st.one_of(st.just(STAFF), st.text(max_size=20)),
    subject=st.one_of(st.none(), st.text(max_size=300)),
)
def test_any_detail_gives_one_short_line_that_pings_no_one_else(
    action: str, detail: dict[str, Any], actor: str, subject: str | None
) -> None:
    mentions = {f"<@{actor}>", f"<@{detail.get('to')}>"}
    for language in LANGUAGES:
        told = thread_line(Told(action, actor, detail, REF, subject), w=words(language))
        assert told and len(told) <= FALLBACK_TEXT
        rest = re.sub(r"<@[A-Z0-9]+>", lambda m: "" if m.group(0) in mentions else m.group(0), told)
        assert "<" not in rest and ">" not in rest.replace("→", "")


def test_a_follow_up_line_shows_the_mail_as_the_mask_let_it_through_escaped() -> None:
    files = ("申請書.pdf", "<!channel>.png", *(f"scan-{i}.jpg" for i in range(10)))
    mail = FollowUp("h***@example.jp", "追記です。\n<!here> 購入履歴も", files, len(files))
    told = line("message linked", {"message_id": "m@x"}, actor="intake", follow_up=mail)
    assert told.splitlines()[1:] == [
        "From: h***@example.jp",
        "> 追記です。",
        "> &lt;!here&gt; 購入履歴も",
        "Attachments (12): 申請書.pdf, &lt;!channel&gt;.png, "
        + ", ".join(f"scan-{i}.jpg" for i in range(8))
        + " and 2 more",
    ]
    counted = line(
        "message linked", {"message_id": "m@x"}, actor="intake", follow_up=FollowUp(attachments=2)
    )
    assert counted.splitlines()[1:] == ["Attachments: 2 (their names are in the case file)"]
    linked = Told("message linked", "intake", {}, REF, follow_up=mail)
    assert thread_blocks(linked, w=EN) is not None
    assert thread_blocks(Told("draft discarded", STAFF, {"draft": 1}, REF), w=EN) is None


def test_thread_lines_read_in_japanese_by_default() -> None:
    """PD_STAFF_LANGUAGE is ja unless set: the thread is told in Japanese, names and
    references as they are."""
    assert line("draft approved", {"draft": 4}, lang="ja") == (
        f"<@{STAFF}> が下書き 4 を承認しました。メールは送信待ちです。"
    )
    assert line("assigned", {"to": "U0OTHER001"}, lang="ja") == (
        f"<@{STAFF}> が {REF} の担当者を <@U0OTHER001> に設定しました。"
    )
    extended = {"reason": "調査のため", "answer_due": "2027-01-07T05:00:00+00:00"}
    assert line("deadline extended", extended, lang="ja") == (
        f"<@{STAFF}> が回答期限を 2027-01-07 14:00 JST に延長しました: 調査のため。"
    )
    assert line("case closed", {}, lang="ja") == f"<@{STAFF}> が案件を終了しました: （記載なし）。"
    failed = line("mail failed", {"outbox": 3, "error": f"550 5.1.1 <{ADDRESS}>"}, lang="ja")
    assert failed.startswith("請求者へのメールを送信できず") and "送信キュー 3, 550 5.1.1" in failed
    assert ADDRESS not in failed
    mail = FollowUp("h***@example.jp", "追記です。", ("申請書.pdf",), 1)
    told = line(
        "message linked", {"message_id": "m@x"}, lang="ja", actor="intake", subject="Re: 削除",
        follow_up=mail,
    )  # fmt: skip
    assert told.splitlines() == [
        "請求者から追加のメールが届き、案件に加わりました: 「Re: 削除」",
        "差出人: h***@example.jp",
        "> 追記です。",
        "添付ファイル（1 件）: 申請書.pdf",
    ]


@pytest.mark.parametrize(
    ("action", "detail", "japanese"),
    [
        ("clock paused", {"reason": "identity verification"}, "本人確認（確認コードの返信待ち）"),
        ("clock paused", {"reason": "identity documents"}, "本人確認書類の提出待ち"),
        ("clock paused", {"reason": "clarification"}, "請求内容の確認待ち"),
        ("automatic mail held", {"reason": "the sender is not authenticated"}, "送信者が認証されていません"),
        ("automatic mail held", {"reason": "daily cap"}, "この請求者への 1 日あたりの自動メールの上限"),
        ("automatic mail held", {"reason": "the desk's daily cap"}, "窓口全体の 1 日あたりの自動メールの上限"),
        (
            "automatic mail held",
            {
                "reason": "could not be queued (uq_outbox_message_id)",
                "said": {"key": "auto_not_queued", "values": {"constraint": "uq_outbox_message_id"}},
            },
            "送信待ちにできませんでした（uq_outbox_message_id）",
        ),
        (
            "draft failed",
            {
                "reason": "ack: missing value 'answer_due'",
                "said": {"key": "template_values", "values": {"template": "ack", "values": "`answer_due`"}},
            },
            "テンプレート `ack` の値に不足または誤りがあります: `answer_due`",
        ),
        (
            "case closed",
            {
                "reason": "its mail was linked to PD-2026-000007",
                "said": {"key": "linked_away", "values": {"ref": "PD-2026-000007"}},
            },
            "メールは PD-2026-000007 に移されました",
        ),
        ("identity verified", {"how": "one-time code mailed back"}, "確認コードが返信されました"),
        ("reclassified", {"before": ["inquiry"], "after": ["deletion", "stop_use"]}, "問い合わせ → 削除、利用停止等"),
    ],
)  # fmt: skip
def test_the_desks_own_words_in_a_thread_line_are_said_in_the_staff_language(
    action: str, detail: dict[str, Any], japanese: str
) -> None:
    """What the desk itself recorded as a reason (a pause, a held mail, a failed draft, a case
    closed by a link, a code mailed back) is told in Japanese, not as its English record."""
    told = line(action, detail, lang="ja", actor="intake")
    assert japanese in told, told
    assert not english(told), (english(told), told)
    recorded = detail.get("reason") or detail.get("how") or "deletion"
    assert recorded not in line(action, detail, lang="ja")


def test_a_clipped_line_is_marked_in_the_staff_language() -> None:
    subject = "Re: 削除の件 " + "長" * 400
    ja = line("message linked", {"message_id": "m@x"}, lang="ja", actor="intake", subject=subject)
    assert "…（以下省略）" in ja and "truncated" not in ja
    en = line("message linked", {"message_id": "m@x"}, actor="intake", subject=subject)
    assert "…(truncated)" in en


def test_a_recorded_reason_these_texts_do_not_know_is_told_as_recorded() -> None:
    """A key (or a value) written by another version of the desk never breaks a thread line."""
    for said in ({"key": "no_such_key", "values": {}}, {"key": "linked_away", "values": {}}):
        detail = {"reason": "its mail was linked to PD-2026-000007", "said": said}
        told = line("case closed", detail, lang="ja")
        assert "its mail was linked to PD-2026-000007" in told, told
