"""Machine-sent mail (auto-replies, lists, bounces, read receipts) is recognised from its headers."""

from __future__ import annotations

import pytest
from mailbytes import CRLF, message, multipart

from mail.parse import ParsedMessage, parse_message


def mail_with(
    headers: list[tuple[str, str | bytes]], sender: str = "taro@example.jp"
) -> ParsedMessage:
    return parse_message(
        message(
            [("From", sender), ("To", "privacy@example.co.jp"), ("Subject", "hello"), *headers],
            b"Please delete my data." + CRLF,
        )
    )


def test_a_person_writing_is_not_machine_mail() -> None:
    parsed = mail_with([("X-Mailer", "Becky! ver. 2.81"), ("Reply-To", "taro@example.jp")])
    assert parsed.is_machine is False
    assert parsed.machine_signals == ()
    assert parsed.is_bounce is False


@pytest.mark.parametrize(
    ("header", "value", "signal"),
    [
        ("Auto-Submitted", "auto-replied", "auto-submitted"),
        ("Auto-Submitted", "auto-generated", "auto-submitted"),
        ("Precedence", "bulk", "precedence"),
        ("Precedence", "junk", "precedence"),
        ("Precedence", "list", "precedence"),
        ("List-Id", "Members <members.example.jp>", "list-id"),
        ("List-Unsubscribe", "<mailto:unsub@example.jp>", "list-unsubscribe"),
        ("X-Autoreply", "yes", "x-autoreply"),
        ("Return-Path", "<>", "return-path-null"),
    ],
)
def test_header_signals(header: str, value: str, signal: str) -> None:
    parsed = mail_with([(header, value)])
    assert parsed.is_machine is True
    assert signal in parsed.machine_signals


def test_a_reply_is_told_from_a_system_that_generates_mail() -> None:
    # RFC 3834: "auto-replied" answers a message (out-of-office); "auto-generated" is a system's
    # own mail, which may carry a person's words (a form, a chatbot, a call memo).
    assert "auto-replied" in mail_with([("Auto-Submitted", "auto-replied")]).machine_signals
    generated = mail_with([("Auto-Submitted", "auto-generated")]).machine_signals
    assert "auto-submitted" in generated and "auto-replied" not in generated


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("Auto-Submitted", "no"),
        ("Auto-Submitted", "No"),
        ("Precedence", "normal"),
        ("X-Autoreply", "no"),
    ],
)
def test_header_values_that_mean_a_person(header: str, value: str) -> None:
    assert mail_with([(header, value)]).is_machine is False


def test_return_path_of_a_person_is_not_a_signal() -> None:
    assert mail_with([("Return-Path", "<taro@example.jp>")]).is_machine is False


@pytest.mark.parametrize(
    "sender",
    [
        "MAILER-DAEMON@mx.example.jp",
        "postmaster@example.jp",
        "no-reply@service.example.jp",
        "noreply@service.example.jp",
        "do-not-reply@service.example.jp",
        '"Mail Delivery System" <Mailer-Daemon@mx.example.jp>',
    ],
)
def test_machine_senders(sender: str) -> None:
    parsed = mail_with([], sender=sender)
    assert parsed.is_machine is True
    assert "machine-sender" in parsed.machine_signals


@pytest.mark.parametrize(
    "sender", ["replyteam@example.jp", "bouncer@example.jp", "no.one@example.jp"]
)
def test_people_with_similar_addresses(sender: str) -> None:
    assert "machine-sender" not in mail_with([], sender=sender).machine_signals


def test_mailer_daemon_with_a_bounce_subject_is_a_bounce() -> None:
    parsed = parse_message(
        message(
            [
                ("From", "MAILER-DAEMON@mx.example.jp"),
                ("Subject", "Undelivered Mail Returned to Sender"),
            ],
            b"Your message could not be delivered." + CRLF,
        )
    )
    assert parsed.is_bounce is True


ORIGINAL = message(
    [
        ("From", "privacy@example.co.jp"),
        ("To", "taro@example.jp"),
        ("Subject", "Re: [PD-2026-000123] your request"),
        ("Message-ID", "<PD-2026-000123.2@desk.example.co.jp>"),
    ],
    b"We have received your request." + CRLF,
)


def delivery_report(original_part: bytes) -> ParsedMessage:
    notice = message(
        [("Content-Type", "text/plain")], b"Delivery to taro@example.jp failed." + CRLF
    )
    status = message(
        [("Content-Type", "message/delivery-status")],
        b"Reporting-MTA: dns; mx.example.jp" + CRLF + CRLF
        + b"Final-Recipient: rfc822; taro@example.jp" + CRLF
        + b"Action: failed" + CRLF + b"Status: 5.1.1" + CRLF,
    )  # fmt: skip
    ctype, body = multipart("report", [notice, status, original_part], boundary="rep")
    ctype = (ctype[0], str(ctype[1]) + "; report-type=delivery-status")
    return parse_message(
        message(
            [("From", "MAILER-DAEMON@mx.example.jp"), ("Subject", "Undelivered Mail Returned to Sender"),
             ("Auto-Submitted", "auto-replied"), ctype],
            body,
        )
    )  # fmt: skip


def test_delivery_report_with_the_original_message() -> None:
    parsed = delivery_report(message([("Content-Type", "message/rfc822")], ORIGINAL))
    assert parsed.is_machine is True
    assert parsed.is_bounce is True
    assert "delivery-report" in parsed.machine_signals
    assert parsed.original_message_id == "PD-2026-000123.2@desk.example.co.jp"
    # The bounced original is the desk's own mail, not a forward to read.
    assert parsed.forwarded_text == ""


def test_delivery_report_with_only_the_original_headers() -> None:
    headers_only = ORIGINAL.split(CRLF + CRLF, 1)[0] + CRLF
    parsed = delivery_report(message([("Content-Type", "text/rfc822-headers")], headers_only))
    assert parsed.is_bounce is True
    assert parsed.original_message_id == "PD-2026-000123.2@desk.example.co.jp"


def test_delivery_report_whose_original_headers_carry_raw_8bit() -> None:
    headers_only = ORIGINAL.split(CRLF + CRLF, 1)[0] + CRLF + "X-Name: 山田".encode() + CRLF
    parsed = delivery_report(message([("Content-Type", "text/rfc822-headers")], headers_only))
    assert parsed.original_message_id == "PD-2026-000123.2@desk.example.co.jp"


def test_read_receipt_is_machine_mail_but_not_a_bounce() -> None:
    human = message([("Content-Type", "text/plain; charset=UTF-8")], "開封されました".encode())
    mdn = message(
        [("Content-Type", "message/disposition-notification")],
        b"Reporting-UA: mail.example.jp; Thunderbird" + CRLF
        + b"Final-Recipient: rfc822;taro@example.jp" + CRLF
        + b"Original-Message-ID: <PD-2026-000123.2@desk.example.co.jp>" + CRLF
        + b"Disposition: manual-action/MDN-sent-manually; displayed" + CRLF,
    )  # fmt: skip
    ctype, body = multipart("report", [human, mdn])
    ctype = (ctype[0], str(ctype[1]) + "; report-type=disposition-notification")
    parsed = parse_message(
        message([("From", "taro@example.jp"), ("Subject", "開封確認".encode()), ctype], body)
    )
    assert parsed.is_machine is True
    assert "read-receipt" in parsed.machine_signals
    assert parsed.original_message_id == "PD-2026-000123.2@desk.example.co.jp"
    # A read receipt means the reply arrived: it must not be taken for a failed delivery.
    assert parsed.is_bounce is False


def test_the_desks_own_reply_coming_back_is_machine_mail() -> None:
    from datetime import UTC, datetime

    from mail.outgoing import as_bytes, compose, make_message_id

    ours = compose(
        from_address="privacy@example-hikaku.co.jp",
        to_address="hanako@example.jp",
        subject="削除完了のお知らせ",
        text="削除いたしました。",
        case_ref="PD-2026-000001",
        message_id=make_message_id("example-hikaku.co.jp"),
        date=datetime(2026, 11, 25, tzinfo=UTC),
        automatic=False,
    )
    parsed = parse_message(as_bytes(ours))
    assert parsed.is_machine  # an approved answer has no Auto-Submitted: our loop header tells
    assert "privacy-desk-loop" in parsed.machine_signals
