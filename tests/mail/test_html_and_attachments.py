"""HTML-only mail becomes text without its quoted history; attachments are listed, never read."""

from __future__ import annotations

from mailbytes import CRLF, b64, cp50220, message, multipart, qp

from mail.html import html_to_text
from mail.parse import ParsedMessage, parse_message

NEW = "登録している個人情報を削除してください。"
OLD = "Old message about a refund."


def html_mail(html: str, charset: str = "UTF-8") -> ParsedMessage:
    raw = message(
        [
            ("From", "taro@example.jp"),
            ("Subject", "Re: request"),
            ("Content-Type", f"text/html; charset={charset}"),
            ("Content-Transfer-Encoding", "quoted-printable"),
        ],
        qp(html.encode(charset)),
    )
    return parse_message(raw)


def test_gmail_html_reply() -> None:
    html = (
        f'<div dir="ltr">{NEW}<br>会員番号: 12345</div><br>'
        '<div class="gmail_quote"><div dir="ltr" class="gmail_attr">'
        "2026年11月1日(土) 10:00 Desk &lt;privacy@example.co.jp&gt;:<br></div>"
        f'<blockquote class="gmail_quote" style="margin:0">{OLD}</blockquote></div>'
    )
    parsed = html_mail(html)
    assert parsed.html_only is True
    assert parsed.newest_text == f"{NEW}\n会員番号: 12345"
    assert OLD in parsed.quoted_text
    assert OLD not in parsed.text


def test_blockquote_without_classes_and_nested() -> None:
    html = f"<p>{NEW}</p><blockquote>{OLD}<blockquote>older still</blockquote></blockquote>"
    parsed = html_mail(html)
    assert parsed.newest_text == NEW
    assert OLD in parsed.quoted_text
    assert "older still" in parsed.quoted_text


def test_outlook_html_reply_puts_everything_after_its_header_block_aside() -> None:
    html = (
        '<html><head><style>p {margin:0}</style></head><body><div class="WordSection1">'
        f"<p>{NEW}</p>"
        '<div id="appendonsend"></div>'
        '<hr style="display:inline-block;width:98%" tabindex="-1">'
        '<div id="divRplyFwdMsg" dir="ltr"><b>From:</b> Privacy Desk<br><b>Sent:</b> '
        "Saturday, November 1, 2026 10:00<br><b>Subject:</b> Your request</div>"
        f"<div><p>{OLD}</p></div>"
        "</div></body></html>"
    )
    parsed = html_mail(html)
    assert parsed.newest_text == NEW
    assert OLD in parsed.quoted_text
    assert "p {margin:0}" not in parsed.text


def test_html_entities_scripts_and_line_breaks() -> None:
    text, quoted = html_to_text(
        "<p>A &amp; B&nbsp;C</p><script>alert(1)</script><p>line1<br>line2</p>"
    )
    assert text == "A & B C\n\nline1\nline2"
    assert quoted == ""


def test_table_cells_keep_their_words_apart() -> None:
    text, _ = html_to_text(
        "<table><tr><th>Item</th><th>What I'd like</th></tr>"
        "<tr><td>Newsletter</td><td>Stop</td></tr>"
        "<tr><td>Account</td><td>Delete, including all stored data</td></tr></table>"
    )
    assert text.splitlines() == [
        "Item\tWhat I'd like",
        "",
        "Newsletter\tStop",
        "",
        "Account\tDelete, including all stored data",
    ]


def test_html_in_iso_2022_jp() -> None:
    raw = message(
        [("From", "taro@example.jp"), ("Content-Type", "text/html; charset=iso-2022-jp")],
        b"<p>" + cp50220("削除依頼①") + b"</p>" + CRLF,
    )
    assert parse_message(raw).newest_text == "削除依頼①"


SECRET = "CONTENT-OF-THE-ATTACHMENT 住所 東京都"


def test_attachments_listed_with_name_type_size_and_kept_out_of_text() -> None:
    text = message([("Content-Type", "text/plain; charset=UTF-8")], NEW.encode())
    txt_data = SECRET.encode()
    txt = message(
        [("Content-Type", "text/plain; charset=UTF-8; name=memo.txt"),
         ("Content-Disposition", 'attachment; filename="memo.txt"')],
        txt_data,
    )  # fmt: skip
    png_data = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    png = message(
        [("Content-Type", "image/png"), ("Content-Disposition", 'inline; filename="id.png"'),
         ("Content-Transfer-Encoding", "base64")],
        b64(png_data),
    )  # fmt: skip
    csv = message(
        [("Content-Type", "text/csv"), ("Content-Transfer-Encoding", "base64")],
        b64(SECRET.encode()),
    )
    ctype, body = multipart("mixed", [text, txt, png, csv])
    parsed = parse_message(message([("From", "taro@example.jp"), ctype], body))

    assert parsed.newest_text == NEW
    assert [(a.filename, a.content_type, a.size) for a in parsed.attachments] == [
        ("memo.txt", "text/plain", len(txt_data)),
        ("id.png", "image/png", len(png_data)),
        (None, "text/csv", len(SECRET.encode())),
    ]
    for field in (parsed.text, parsed.newest_text, parsed.quoted_text, parsed.signature):
        assert "CONTENT-OF-THE-ATTACHMENT" not in field
    # A plain-text file's text is kept apart (a letter the classifier may read), a CSV's is not.
    assert parsed.attached_text == SECRET


def test_attached_text_is_capped() -> None:
    from mail.parse import Limits

    text = message([("Content-Type", "text/plain; charset=UTF-8")], NEW.encode())
    files = [
        message(
            [("Content-Type", "text/plain; charset=Shift_JIS"),
             ("Content-Disposition", f'attachment; filename="letter{i}.txt"')],
            ("手紙" * 3_000).encode("shift_jis"),
        )
        for i in range(3)
    ]  # fmt: skip
    ctype, body = multipart("mixed", [text, *files])
    raw = message([("From", "taro@example.jp"), ctype], body)
    parsed = parse_message(raw, limits=Limits(max_attached_text_chars=10_000))
    assert len(parsed.attached_text.replace("\n", "")) == 10_000
    assert set(parsed.attached_text.replace("\n", "")) == {"手", "紙"}
    assert len(parsed.attachments) == 3


def test_inline_html_attachment_with_a_name_is_not_text() -> None:
    plain = message([("Content-Type", "text/plain")], b"see attached")
    page = message(
        [("Content-Type", "text/html"), ("Content-Disposition", 'inline; filename="page.html"')],
        b"<p>CONTENT-OF-THE-ATTACHMENT</p>",
    )
    ctype, body = multipart("mixed", [plain, page])
    parsed = parse_message(message([("From", "taro@example.jp"), ctype], body))
    assert parsed.text == "see attached"
    assert [a.filename for a in parsed.attachments] == ["page.html"]


def test_forwarded_message_is_an_attachment() -> None:
    inner = message(
        [("From", "other@example.jp"), ("Subject", "inner"), ("Message-ID", "<inner@x>")],
        b"CONTENT-OF-THE-ATTACHMENT",
    )
    fwd = message([("Content-Type", "message/rfc822")], inner)
    plain = message([("Content-Type", "text/plain")], b"Forwarding this.")
    ctype, body = multipart("mixed", [plain, fwd])
    parsed = parse_message(message([("From", "taro@example.jp"), ctype], body))
    assert parsed.text == "Forwarding this."
    assert [a.content_type for a in parsed.attachments] == ["message/rfc822"]
    assert parsed.attachments[0].size >= len(inner) - 4
    assert parsed.original_message_id is None
    # Kept apart, as a forward's body reads, for the classifier to read beside a forwarding note.
    assert parsed.forwarded_text.splitlines()[:2] == [
        "---------- Forwarded message ---------",
        "Subject: inner",
    ]
    assert parsed.forwarded_text.rstrip().endswith("CONTENT-OF-THE-ATTACHMENT")


def test_a_forwarded_message_in_html_and_a_japanese_subject_is_read_as_text() -> None:
    inner = message(
        [("From", "other@example.jp"), ("Subject", "=?UTF-8?B?6YCA5Lya?="),
         ("Content-Type", "text/html; charset=UTF-8"), ("Content-Transfer-Encoding", "base64")],
        b64(f"<p>{NEW}</p>".encode()),
    )  # fmt: skip
    fwd = message([("Content-Type", "message/rfc822")], inner)
    plain = message([("Content-Type", "text/plain")], b"FYI")
    ctype, body = multipart("mixed", [plain, fwd])
    parsed = parse_message(message([("From", "taro@example.jp"), ctype], body))
    assert "Subject: 退会" in parsed.forwarded_text
    assert NEW in parsed.forwarded_text
    assert "<p>" not in parsed.forwarded_text


def test_outlook_history_outside_the_element_holding_the_mark() -> None:
    html = (
        f'<div><p>{NEW}</p><div id="divRplyFwdMsg"><b>差出人:</b> 窓口</div></div>'
        f"<div>{OLD}</div><p>{OLD} again</p>"
    )
    parsed = html_mail(html)
    assert parsed.newest_text == NEW
    assert f"{OLD} again" in parsed.quoted_text


def test_outlook_mark_inside_a_quote_does_not_cut_text_written_below_it() -> None:
    html = (
        f'<blockquote>{OLD}<div id="divRplyFwdMsg">From: someone</div><p>older</p></blockquote>'
        f"<p>{NEW}</p>"
    )
    parsed = html_mail(html)
    assert parsed.newest_text == NEW
    assert OLD in parsed.quoted_text


def test_comments_and_templates_are_not_text() -> None:
    text, quoted = html_to_text(
        '<p>keep</p><!-- hidden --><template>tmpl</template><div id="appendonsend"></div><!-- x -->'
    )
    assert (text, quoted) == ("keep", "")


def test_a_huge_forwarded_message_is_kept_to_the_attached_text_limit() -> None:
    from mail.parse import Limits

    inner = message(
        [("From", "other@example.jp"), ("Subject", "big"),
         ("Content-Type", "text/plain; charset=UTF-8")],
        ("削除" * 200_000).encode(),
    )  # fmt: skip
    fwd = message([("Content-Type", "message/rfc822")], inner)
    plain = message([("Content-Type", "text/plain")], b"FYI")
    ctype, body = multipart("mixed", [plain, fwd])
    parsed = parse_message(
        message([("From", "taro@example.jp"), ctype], body),
        limits=Limits(max_attached_text_chars=5_000),
    )
    assert len(parsed.forwarded_text) == 5_000
    assert set(parsed.forwarded_text.split("\n\n", 1)[1]) == {"削", "除"}


def test_a_long_utf8_letter_cut_to_the_limit_keeps_its_charset() -> None:
    from mail.parse import Limits

    text = message([("Content-Type", "text/plain; charset=UTF-8")], NEW.encode())
    letter = message(
        [("Content-Type", "text/plain; charset=UTF-8"),
         ("Content-Disposition", 'attachment; filename="letter.txt"')],
        ("削除" * 20_000).encode(),  # one long line: the cut falls inside a character
    )  # fmt: skip
    ctype, body = multipart("mixed", [text, letter])
    parsed = parse_message(
        message([("From", "taro@example.jp"), ctype], body),
        limits=Limits(max_attached_text_chars=5_000),
    )
    assert set(parsed.attached_text) == {"削", "除"}
