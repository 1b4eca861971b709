"""What intake decides for one message, given what the database knows: handlers.intake.decide.

Pure: real parsed messages, classifications and ``Known`` facts built by hand, no database.
"""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from handlers.classify import Classification
from handlers.intake import Action, Decision, Known, KnownCase, decide, references_in
from mail.parse import ParsedMessage, parse_message

HANAKO = "hanako@example.jp"
CASE = KnownCase(1, "PD-2026-000001", "privacy", "new", frozenset({HANAKO}))
OTHER = KnownCase(2, "PD-2026-000002", "privacy", "new", frozenset({"jiro@example.com"}))


def mail(
    sender: str | None = f"Hanako Sato <{HANAKO}>", subject: str = "個人情報について"
) -> ParsedMessage:
    msg = EmailMessage()
    if sender is not None:
        msg["From"] = sender
    msg["To"] = "privacy@example-hikaku.co.jp"
    msg["Subject"] = subject
    msg["Message-ID"] = "<m1@mail.example.jp>"
    msg.set_content("私の個人情報を削除してください。")
    return parse_message(msg.as_bytes())


def said(*intents: str) -> Classification:
    return Classification(
        intents=intents,
        confidence=dict.fromkeys(intents, 0.9),
        reasons={i: ("test",) for i in intents},
        needs_triage=not intents,
    )


def opened(decision: Decision, kind: str) -> None:
    assert decision.action is Action.OPEN
    assert decision.kind == kind
    assert decision.case is None
    assert decision.disposition == "case"


def test_a_stored_message_is_a_duplicate_whatever_else_holds() -> None:
    decision = decide(
        mail(),
        said("deletion"),
        Known(duplicate=True, thread_cases=(CASE,), reference_cases=(CASE,)),
    )
    assert decision.action is Action.DUPLICATE
    assert decision.case is None


def test_a_new_request_opens_a_privacy_case() -> None:
    decision = decide(mail(), said("deletion"), Known())
    opened(decision, "privacy")
    assert decision.flags == ()


@pytest.mark.parametrize(
    "known",
    [Known(thread_cases=(CASE,)), Known(reference_cases=(CASE,))],
    ids=["thread headers", "reference in subject"],
)
def test_the_requesters_follow_up_links(known: Known) -> None:
    decision = decide(mail(), said("deletion"), known)
    assert decision.action is Action.LINK
    assert decision.case == CASE
    assert decision.disposition == "linked"
    assert decision.flags == ()


def test_follow_up_without_intents_still_links() -> None:
    # "Here are my documents" asks for nothing new, but belongs to the case.
    decision = decide(mail(), said(), Known(thread_cases=(CASE,)))
    assert decision.action is Action.LINK and decision.case == CASE


@pytest.mark.parametrize("sender", ["HANAKO@EXAMPLE.JP", "Hanako@Example.jp", "hanako@EXAMPLE.jp"])
def test_requester_address_matches_whatever_the_case(sender: str) -> None:
    decision = decide(mail(sender), said("deletion"), Known(reference_cases=(CASE,)))
    assert decision.action is Action.LINK and decision.case == CASE


def test_an_address_staff_added_links() -> None:
    case = KnownCase(
        1, "PD-2026-000001", "privacy", "new", frozenset({HANAKO, "agent@law.example.jp"})
    )
    decision = decide(
        mail("agent@law.example.jp"), said("deletion"), Known(reference_cases=(case,))
    )
    assert decision.action is Action.LINK and decision.case == case


@pytest.mark.parametrize(
    "known",
    [Known(thread_cases=(CASE,)), Known(reference_cases=(CASE,))],
    ids=["thread headers", "reference in subject"],
)
def test_a_stranger_quoting_a_reference_opens_a_flagged_case(known: Known) -> None:
    decision = decide(mail("Jiro <jiro@example.com>"), said("deletion"), known)
    opened(decision, "privacy")
    assert "foreign_reference" in decision.flags


def test_mail_without_a_sender_never_links() -> None:
    decision = decide(mail(sender=None), said("deletion"), Known(reference_cases=(CASE,)))
    opened(decision, "privacy")
    assert "foreign_reference" in decision.flags


def test_own_case_is_joined_even_when_another_case_is_named() -> None:
    # Hanako's reply names Jiro's case too: it joins her case, never his, and staff are told.
    decision = decide(
        mail(), said("deletion"), Known(thread_cases=(CASE,), reference_cases=(OTHER,))
    )
    assert decision.action is Action.LINK
    assert decision.case == CASE
    assert "foreign_reference" in decision.flags


def bounce(original_id: str) -> ParsedMessage:
    original = (
        b"From: privacy@example-hikaku.co.jp\r\nTo: hanako@example.jp\r\n"
        b"Subject: [PD-2026-000001] We received your request\r\n"
        b"Message-ID: <" + original_id.encode() + b">\r\n\r\nReceived.\r\n"
    )
    raw = (
        b"From: MAILER-DAEMON@mx.example.jp\r\nTo: privacy@example-hikaku.co.jp\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\nAuto-Submitted: auto-replied\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="rep"\r\n\r\n'
        b"--rep\r\nContent-Type: text/plain\r\n\r\nDelivery to hanako@example.jp failed.\r\n"
        b"--rep\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.example.jp\r\n\r\n"
        b"Final-Recipient: rfc822; hanako@example.jp\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        b"--rep\r\nContent-Type: message/rfc822\r\n\r\n" + original + b"--rep--\r\n"
    )
    return parse_message(raw)


def test_bounce_of_our_mail_attaches_to_its_case() -> None:
    msg = bounce("PD-2026-000001.1@desk.example-hikaku.co.jp")
    assert msg.is_bounce and msg.original_message_id == "PD-2026-000001.1@desk.example-hikaku.co.jp"
    decision = decide(msg, said("auto_reply"), Known(bounced_case=CASE))
    assert decision.action is Action.BOUNCE
    assert decision.case == CASE
    assert decision.disposition == "bounce"


def test_bounce_of_unknown_mail_is_archived() -> None:
    decision = decide(bounce("someone-else@example.jp"), said("auto_reply"), Known())
    assert decision.action is Action.ARCHIVE
    assert decision.case is None and decision.kind is None


def test_auto_reply_is_archived_even_in_the_requesters_thread() -> None:
    decision = decide(mail(), said("auto_reply"), Known(thread_cases=(CASE,)))
    assert decision.action is Action.ARCHIVE
    assert decision.disposition == "machine"
    assert decision.case is None


def test_spam_is_archived() -> None:
    decision = decide(mail("win@lottery.example"), said("spam"), Known())
    assert decision.action is Action.ARCHIVE
    assert decision.disposition == "spam"


@pytest.mark.parametrize("intent", ["rate_question", "provider_correction"])
def test_non_privacy_mail_opens_a_case_of_its_own_kind(intent: str) -> None:
    opened(decide(mail(), said(intent), Known()), intent)


def test_a_privacy_request_with_a_rate_question_is_a_privacy_case() -> None:
    opened(decide(mail(), said("deletion", "rate_question"), Known()), "privacy")


def test_nothing_recognised_opens_an_other_case() -> None:
    opened(decide(mail(), said(), Known()), "other")


def test_references_in_a_subject() -> None:
    assert references_in("Re: [pd-2026-000123] と PD-2026-000124、PD-2026-000123") == [
        "PD-2026-000123",
        "PD-2026-000124",
    ]
    assert references_in("PD-2026-12345 XPD-2026-000123") == []


def test_a_report_that_names_no_mail_we_sent_is_flagged_and_filed_nowhere() -> None:
    msg = bounce("PD-2026-000001.1@desk.example-hikaku.co.jp")
    assert msg.is_dsn and msg.final_recipients == ("hanako@example.jp",)
    # a thread header naming the case is no way in either
    decision = decide(msg, said("auto_reply"), Known(thread_cases=(CASE,)))
    assert (decision.action, decision.case) == (Action.ARCHIVE, None)
    assert decision.flags == ("unverified_bounce",)
