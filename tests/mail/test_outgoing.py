"""The reply a requester receives: what a mail client reading its bytes sees."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mail.outgoing import (
    MAX_REFERENCES,
    Attachment,
    InvalidAddress,
    as_bytes,
    clean_text,
    compose,
    make_message_id,
)
from mail.parse import parse_message

DESK = "privacy@example-hikaku.co.jp"
DATE = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
BASE_HEADERS = {
    "date",
    "from",
    "to",
    "subject",
    "message-id",
    "auto-submitted",
    "x-auto-response-suppress",
    "x-privacy-desk-loop",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
}


OUR_ID = "<pd.0123456789abcdef0123456789abcdef@example-hikaku.co.jp>"


def reply(**overrides: Any) -> EmailMessage:
    values: dict[str, Any] = {
        "from_address": DESK,
        "from_name": "比較ドットコム 個人情報お問い合わせ窓口",
        "to_address": "hanako@example.jp",
        "to_name": "佐藤 花子",
        "subject": "Re: 個人情報削除のお願い",
        "text": "佐藤 花子 様\n\nご依頼の個人情報はすべて削除いたしました。\n",
        "case_ref": "PD-2026-000123",
        "message_id": OUR_ID,
        "in_reply_to": "req-1@mail.example.jp",
        "references": [],
        "date": DATE,
    }
    values.update(overrides)
    return compose(**values)


def wire(msg: EmailMessage) -> EmailMessage:
    """What the requester's client parses."""
    parsed = email.message_from_bytes(as_bytes(msg), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def body(msg: EmailMessage, subtype: str = "plain") -> str:
    part = msg.get_body(preferencelist=(subtype,))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")


def names(msg: EmailMessage) -> tuple[str, str]:
    """The From and To display names as a reader that follows RFC 2047 decodes them.

    Python's own modern parser keeps the space between two encoded words in a display name
    (CPython gh-128110), so the desk's own reader decodes them here.
    """
    parsed = parse_message(as_bytes(msg))
    assert parsed.sender is not None and len(parsed.to) == 1
    return parsed.sender.name, parsed.to[0].name


def header_names(msg: EmailMessage) -> set[str]:
    return {name.lower() for name in msg}


def assert_wire_clean(data: bytes) -> None:
    assert data.isascii()
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    assert b"\r" not in data.replace(b"\r\n", b"")
    assert max(len(line) for line in data.split(b"\r\n")) <= 998


def test_japanese_subject_names_and_body_read_back_as_written() -> None:
    got = wire(reply())
    assert got["Subject"] == "Re: 個人情報削除のお願い [PD-2026-000123]"
    assert names(reply()) == ("比較ドットコム 個人情報お問い合わせ窓口", "佐藤 花子")
    assert got["From"].addresses[0].addr_spec == DESK
    assert got["To"].addresses[0].addr_spec == "hanako@example.jp"
    assert body(got) == "佐藤 花子 様\n\nご依頼の個人情報はすべて削除いたしました。\n"
    assert got.get_content_charset() == "utf-8"
    assert got["Content-Transfer-Encoding"] in {"base64", "quoted-printable"}
    assert_wire_clean(as_bytes(reply()))


def test_html_alternative_and_attachments_read_back() -> None:
    pdf = bytes(range(256)) * 40
    got = wire(
        reply(
            html="<p>削除いたしました。</p>",
            attachments=[
                Attachment("開示結果 2026/03.pdf", pdf, "application/pdf"),
                Attachment("records.csv", "名前,住所\n佐藤,東京\n".encode(), "text/csv"),
            ],
        )
    )
    assert got.get_content_type() == "multipart/mixed"
    assert body(got, "html") == "<p>削除いたしました。</p>\n"
    assert "ご依頼の個人情報" in body(got)
    files = {part.get_filename(): part for part in got.iter_attachments()}
    assert set(files) == {"開示結果 2026_03.pdf", "records.csv"}
    assert files["開示結果 2026_03.pdf"].get_content() == pdf
    assert files["records.csv"].get_payload(decode=True) == "名前,住所\n佐藤,東京\n".encode()
    # RFC 2231 names, in the disposition and the type's name, as mail readers look for them
    for part in files.values():
        assert part["Content-Transfer-Encoding"] == "base64"
        assert part.get_param("name") == part.get_filename()
    csv_bytes = "名前,住所\r\n佐藤,東京\r\n".encode()
    sent = wire(reply(attachments=[Attachment("開示データ_田中.csv", csv_bytes, "text/csv")]))
    [kept] = list(sent.iter_attachments())
    assert kept.get_filename() == "開示データ_田中.csv"
    assert kept.get_payload(decode=True) == csv_bytes  # CRLF kept: base64, byte for byte
    # the email package adds MIME-Version to parts it makes; only the top has it
    assert [p for p in got.walk() if p is not got and p["MIME-Version"]] == []
    assert_wire_clean(as_bytes(reply(html="<p>x</p>", attachments=[Attachment("a", pdf)])))


def test_text_only_english_reply_stays_plain_7bit() -> None:
    got = wire(reply(subject="Your request", text="Dear Hanako,\n\nDone.\n", to_name="Hanako"))
    assert got.get_content_type() == "text/plain"
    assert got["Subject"] == "Your request [PD-2026-000123]"
    assert body(got) == "Dear Hanako,\n\nDone.\n"


@pytest.mark.parametrize("line", ["a" * 5000, "あ" * 3000, "word " * 1000])
def test_long_lines_are_encoded_and_read_back(line: str) -> None:
    text = f"{line}\n{line}\n"
    data = as_bytes(reply(text=text, subject=line[:400]))
    assert_wire_clean(data)
    got = wire(reply(text=text, subject=line[:400]))
    assert body(got) == text
    assert got["Subject"].startswith(line[:400].strip())


def test_body_line_ends_become_one_kind() -> None:
    assert body(wire(reply(text="一行目\r\n二行目\r三行目\n"))) == "一行目\n二行目\n三行目\n"


def test_case_reference_is_added_once() -> None:
    assert wire(reply(subject="【PD-2026-000123】ご回答"))["Subject"] == "【PD-2026-000123】ご回答"
    assert wire(reply(subject="re: pd-2026-000123 answer"))["Subject"] == (
        "re: pd-2026-000123 answer"
    )
    assert wire(reply(subject=""))["Subject"] == "[PD-2026-000123]"


def test_threads_under_the_requesters_message() -> None:
    got = wire(
        reply(in_reply_to="<req-3@mail.example.jp>", references=["<root@a.jp>", "req-2@a.jp"])
    )
    assert got["In-Reply-To"] == "<req-3@mail.example.jp>"
    assert got["References"].split() == ["<root@a.jp>", "<req-2@a.jp>", "<req-3@mail.example.jp>"]


def test_references_are_deduplicated_cleaned_and_capped() -> None:
    refs = [f"<m{i}@a.jp>" for i in range(40)]
    refs[5] = "<m0@a.jp>"  # repeated
    refs[6] = "not an id"
    refs[7] = "<x@y.jp>\r\nBcc: evil@example.com"
    refs[8] = "sha256-abc@privacy-desk.invalid"
    got = wire(reply(in_reply_to="<m39@a.jp>", references=refs))
    ids = got["References"].split()
    assert len(ids) == MAX_REFERENCES
    assert ids[0] == "<m0@a.jp>" and ids[-1] == "<m39@a.jp>"
    assert len(set(ids)) == len(ids)
    assert "bcc" not in header_names(got)
    assert not any("invalid" in i or "x@y.jp" in i for i in ids)


def test_a_first_reply_has_no_thread_headers() -> None:
    got = wire(reply(in_reply_to=None, references=[]))
    assert "in-reply-to" not in header_names(got) and "references" not in header_names(got)
    assert "in-reply-to" not in header_names(wire(reply(in_reply_to="x@mail.invalid")))


def test_auto_reply_and_loop_headers() -> None:
    got = wire(reply())
    assert got["Auto-Submitted"] == "auto-replied"
    assert got["X-Auto-Response-Suppress"] == "All"
    assert got["X-Privacy-Desk-Loop"] == DESK
    assert got["MIME-Version"] == "1.0"
    assert got["Date"].datetime == DATE
    assert got["Message-ID"] == OUR_ID
    assert header_names(got) == BASE_HEADERS | {"in-reply-to", "references"}


INJECTIONS = [
    "Hi\r\nBcc: evil@x.example",
    "Hi\nBcc: evil@x.example",
    "Hi\rBcc: evil@x.example",
    "Hi\r\n\r\nbody takeover",
    "Hi\u2028Bcc: evil@x.example",
    "Hi\x00\x0bBcc:\x85 evil@x.example",
    "件名\r\n Bcc: evil@x.example",
]


@pytest.mark.parametrize("evil", INJECTIONS)
def test_header_injection_in_text_values_makes_no_header(evil: str) -> None:
    msg = reply(subject=evil, to_name=evil, from_name=evil, case_ref=f"PD-2026-000123{evil}")
    data = as_bytes(msg)
    assert_wire_clean(data)
    got = wire(msg)
    assert header_names(got) == BASE_HEADERS | {"in-reply-to", "references"}
    assert names(msg) == (clean_text(evil), clean_text(evil))
    assert got["To"].addresses[0].addr_spec == "hanako@example.jp"
    assert got["Subject"].startswith(clean_text(evil))
    assert "\n" not in got["Subject"] and "\r" not in got["Subject"]
    assert body(got).startswith("佐藤 花子 様")


@pytest.mark.parametrize(
    "address",
    [
        "hanako@example.jp\r\nBcc: evil@x.example",
        "hanako@example.jp, evil@x.example",
        "Hanako <hanako@example.jp>",
        "hanako",
        "",
        "@example.jp",
        "hanako@",
        "hanako@-bad-.jp",
        "hanako@exa mple.jp",
        "はなこ@example.jp",
        "hanako@example.jp>",
    ],
)
def test_an_address_that_is_not_one_plain_address_is_refused(address: str) -> None:
    with pytest.raises(InvalidAddress) as caught:
        reply(to_address=address)
    assert caught.value.field == "to_address"
    assert isinstance(caught.value, ValueError)
    assert "hanako" not in str(caught.value)  # addresses are personal data: not in logs


def test_carrier_addresses_and_international_domains_are_accepted() -> None:
    got = wire(reply(to_address="taro..hanako.@docomo.ne.jp"))
    assert got["To"].addresses[0].addr_spec.strip('"').startswith("taro..hanako.")
    assert wire(reply(to_address="hanako@例え.jp"))["To"].addresses[0].domain == "xn--r8jz45g.jp"


def test_own_message_id_and_date_are_checked() -> None:
    with pytest.raises(ValueError, match="message_id"):
        reply(message_id="<a@b.jp>\r\nBcc: evil@x.example")
    with pytest.raises(ValueError, match="time zone"):
        reply(date=datetime(2026, 3, 3))
    with pytest.raises(ValueError, match="mime_type"):
        reply(attachments=[Attachment("a.txt", b"x", "text/plain\r\nBcc: x@y.jp")])


def test_message_ids_are_random_and_ours() -> None:
    # Nobody who has seen one of our Message-IDs can tell the next (issue 16: squatted IDs).
    ids = {make_message_id("example-hikaku.co.jp") for _ in range(200)}
    assert len(ids) == 200
    for one in ids:
        assert one.startswith("<pd.") and one.endswith("@example-hikaku.co.jp>")
        assert len(one.removeprefix("<pd.").partition("@")[0]) == 32  # 128 random bits
    assert make_message_id("Example-Hikaku.co.jp").endswith("@example-hikaku.co.jp>")
    assert wire(reply(message_id=make_message_id("d.jp")))["Message-ID"].endswith("@d.jp>")
    with pytest.raises(InvalidAddress):
        make_message_id("bad domain\r\n")


def test_the_same_input_gives_the_same_bytes() -> None:
    assert as_bytes(reply(html="<p>x</p>")) == as_bytes(reply(html="<p>x</p>"))


_header_text = st.one_of(
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=300),
    st.text(
        st.sampled_from(list('個人情報削除のお願い 　「」、。ＡＢ１ｱｲ"\\(),:;<>@[]=?_')),
        max_size=300,
    ),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=200),
    st.sampled_from(INJECTIONS),
)


@settings(max_examples=1000, deadline=None)
@given(subject=_header_text, name=_header_text)
# found by Hypothesis: the email package folded right after "Subject:" (a leading space)
@example(subject="0" * 53, name="")
# found by Hypothesis: a plain display name read back with its double space folded to one
@example(subject="", name="0  0")
def test_any_subject_or_name_reads_back_cleaned_and_never_adds_a_header(
    subject: str, name: str
) -> None:
    msg = reply(subject=subject, to_name=name, from_name=name, case_ref="PD-2026-000001")
    data = as_bytes(msg)
    assert_wire_clean(data)
    got = wire(msg)
    assert header_names(got) == BASE_HEADERS | {"in-reply-to", "references"}
    expected = clean_text(subject)
    want_subject = (
        expected if "pd-2026-000001" in expected.lower() else f"{expected} [PD-2026-000001]"
    )
    assert got["Subject"] == want_subject.strip()  # an empty subject leaves only the reference
    assert names(msg) == (clean_text(name), clean_text(name))
    assert got["To"].addresses[0].addr_spec == "hanako@example.jp"


def test_a_body_cannot_break_the_mime_structure() -> None:
    clean = reply(html="<p>x</p>")
    boundary = clean.get_boundary()
    assert boundary is not None
    # an English text stays 7bit on the wire: it could carry our boundary on purpose
    text = f"Dear Hanako,\n--{boundary}\nContent-Type: text/html\n\n<script>\n--{boundary}--\n"
    got = wire(reply(text=text, html="<p>x</p>"))
    assert got.get_boundary() != boundary
    assert body(got) == text
    assert [p.get_content_type() for p in got.iter_parts()] == ["text/plain", "text/html"]
