"""The lines a case's Slack thread is told (bot.slack.poster.thread_line): each says what
happened and who did it, in words; text from email is escaped and clipped; no address, mail
body or server answer that may name an address ever appears; odd details never crash it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.slack.blocks import FALLBACK_TEXT
from bot.slack.poster import TOLD, FollowUp, Told, thread_blocks, thread_line
from bot.words import words

REF = "PD-2026-000123"
ADDRESS = "hanako.sato@example.jp"
STAFF = "U0APPROVE1"


def line(action: str, detail: dict[str, Any] | None = None, **kw: Any) -> str:
    told = Told(action, kw.pop("actor", STAFF), detail or {}, REF, **kw)
    return thread_line(told)


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
    assert "削除 deletion" in told and "auto" not in told
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
        f"<@{STAFF}> reclassified the case: 問い合わせ inquiry → 削除 deletion, "
        "利用停止 stop use. Answer due: 2026-12-08 14:00 JST."
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
    told = thread_line(Told(action, actor, detail, REF, subject))
    assert told and len(told) <= FALLBACK_TEXT
    mentions = {f"<@{actor}>", f"<@{detail.get('to')}>"}
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
    assert thread_blocks(linked, w=words("en")) is not None
    assert thread_blocks(Told("draft discarded", STAFF, {"draft": 1}, REF), w=words("en")) is None
