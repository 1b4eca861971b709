"""Write the demo mailbox in examples/mail/: ten .eml files and their labels.jsonl.

Each message is assembled byte by byte with an explicit charset and transfer encoding, the way
real mail clients produce them (ISO-2022-JP 7bit, UTF-8 base64, Shift_JIS 8bit, quoted-printable,
HTML-only, multipart/alternative, an RFC 3834 auto-reply, a reply with quoted history), so the
parser meets the same bytes it meets in a real mailbox. The output is deterministic: running the
script again rewrites identical files.

    python examples/make_examples.py [OUTPUT_DIR]

All people, addresses and numbers are fictional (example.* domains, 0x0-0000-xxxx numbers).
"""

from __future__ import annotations

import base64
import email
import email.base64mime
import email.charset
import email.utils
import json
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

TO = "privacy@example-hikaku.co.jp"
JST = timezone(timedelta(hours=9), "JST")


# --------------------------------------------------------------------------- encoding helpers
def encoded_words(text: str, charset: str, codec: str | None = None, max_raw: int = 36) -> str:
    """RFC 2047 B-encoded words for ``text``, each one self-contained (ISO-2022-JP included).

    The text is cut at character boundaries so that no word carries more than ``max_raw`` bytes;
    words after the first start a folded continuation line.
    """
    if text.isascii():
        return text
    codec = codec or charset
    chunks: list[str] = []
    current = ""
    for ch in text:
        if current and len((current + ch).encode(codec)) > max_raw:
            chunks.append(current)
            current = ch
        else:
            current += ch
    chunks.append(current)
    words = [f"=?{charset}?B?{base64.b64encode(c.encode(codec)).decode('ascii')}?=" for c in chunks]
    return "\n ".join(words)


def address(name: str, addr: str, charset: str = "UTF-8", codec: str | None = None) -> str:
    if name.isascii():
        return email.utils.formataddr((name, addr))
    return f"{encoded_words(name, charset, codec)} <{addr}>"


def date(y: int, mo: int, d: int, h: int, mi: int, s: int, tz: timezone = JST) -> str:
    return email.utils.format_datetime(datetime(y, mo, d, h, mi, s, tzinfo=tz))


def iso2022jp_body(text: str) -> bytes:
    # Encoded line by line, so that every line ends in ASCII (ESC ( B) as mailers do.
    return b"\n".join(line.encode("iso-2022-jp") for line in text.split("\n"))


def base64_body(data: bytes) -> bytes:
    return email.base64mime.body_encode(data, maxlinelen=76).encode("ascii")


def qp_body(text: str, charset: str = "utf-8") -> bytes:
    cs = email.charset.Charset(charset)
    cs.body_encoding = email.charset.QP
    return cs.body_encode(text).encode("ascii")


# --------------------------------------------------------------------------- one message
@dataclass
class Example:
    file: str
    intents: list[str]
    language: str
    headers: list[tuple[str, str]]
    body: bytes
    crlf: bool = True
    # (content type, decoded text) of each text part, to check the bytes round-trip
    expect: list[tuple[str, str]] = field(default_factory=list)

    def to_bytes(self) -> bytes:
        head = "".join(f"{name}: {value}\n" for name, value in self.headers).encode("ascii")
        raw = head + b"\n" + self.body.rstrip(b"\n") + b"\n"
        raw = raw.replace(b"\r\n", b"\n")
        return raw.replace(b"\n", b"\r\n") if self.crlf else raw


def common(frm: str, subject: str, when: str, msgid: str) -> list[tuple[str, str]]:
    return [
        ("From", frm),
        ("To", TO),
        ("Subject", subject),
        ("Date", when),
        ("Message-ID", msgid),
        ("MIME-Version", "1.0"),
    ]


# --------------------------------------------------------------------------- the ten messages
def examples() -> list[Example]:
    out: list[Example] = []

    # 001: Japanese disclosure request (incl. third-party provision records), ISO-2022-JP 7bit.
    text = """株式会社ヒカクプラス
個人情報お問い合わせ窓口 御中

いつもお世話になっております。
ヒカクプラス会員の須藤真理子と申します。

個人情報の保護に関する法律第33条に基づき、貴社が保有する
私の保有個人データの開示を請求いたします。
あわせて、私の個人データを第三者に提供した記録がありましたら、
その記録（第三者提供記録）も開示してください。

開示は電子メール（PDF添付）でお送りいただけますと幸いです。
本人確認に必要な書類がございましたらお知らせください。

登録メールアドレス：mariko.sudo@example.jp
電話番号：090-0000-1234

何卒よろしくお願いいたします。

--
須藤 真理子
mariko.sudo@example.jp
"""
    subject = encoded_words("保有個人データの開示請求について", "ISO-2022-JP", "iso-2022-jp")
    out.append(
        Example(
            "001.eml",
            ["disclosure"],
            "ja",
            [
                *common(
                    address("須藤 真理子", "mariko.sudo@example.jp", "ISO-2022-JP", "iso-2022-jp"),
                    subject,
                    date(2026, 11, 3, 9, 15, 12),
                    "<20261103091512.A1F3@mail.example.jp>",
                ),
                ("Content-Type", "text/plain; charset=ISO-2022-JP"),
                ("Content-Transfer-Encoding", "7bit"),
                ("X-Mailer", "Becky! ver. 2.81.04"),
            ],
            iso2022jp_body(text),
            expect=[("text/plain", text)],
        )
    )

    # 002: Japanese withdrawal with deletion and stop of marketing, UTF-8 base64.
    text = """ヒカクプラス ご担当者様

お世話になっております。大川と申します。
引っ越しを機にサービスを利用しなくなったため、退会させてください。
登録している氏名・住所・電話番号などの個人情報は、すべて削除をお願いします。

また、削除が完了するまでの間も、メールマガジンや電話でのご案内は
一切止めていただけますでしょうか。

会員ID：HK-00482913
登録メール：ryo.okawa@example.ne.jp

よろしくお願いいたします。
大川 亮
"""
    out.append(
        Example(
            "002.eml",
            ["deletion", "stop_use"],
            "ja",
            [
                *common(
                    address("大川 亮", "ryo.okawa@example.ne.jp"),
                    encoded_words("退会と個人情報の削除のお願い", "UTF-8"),
                    date(2026, 11, 3, 21, 40, 5),
                    "<5c1e0a7b-3d2f-4e61-9a0b-7f2c8d1e4a90@example.ne.jp>",
                ),
                ("User-Agent", "Mozilla Thunderbird"),
                ("Content-Type", "text/plain; charset=UTF-8; format=flowed"),
                ("Content-Transfer-Encoding", "base64"),
                ("Content-Language", "ja"),
            ],
            base64_body(text.encode("utf-8")),
            expect=[("text/plain", text)],
        )
    )

    # 003: casual correction from an old phone mailer, Shift_JIS 8bit, half-width kana, LF only.
    text = """ヒカクプラスさん

こんにちは、平田です。
携帯変えたので、登録してるﾒｱﾄﾞと電話番号変えといてもらえますか？

新ﾒｱﾄﾞ：keita.hirata@example.jp
新しい電話：080-0000-9087

前のはもう使えなくなります。よろしくです！
平田 啓太
"""
    out.append(
        Example(
            "003.eml",
            ["correction"],
            "ja",
            [
                *common(
                    address("平田 啓太", "keita.h@example.ne.jp", "Shift_JIS", "shift_jis"),
                    encoded_words("ﾒｱﾄﾞ変更おねがいします", "Shift_JIS", "shift_jis"),
                    date(2026, 11, 4, 7, 2, 48),
                    "<20261104070248.k7h3@mobile.example.ne.jp>",
                ),
                ("Content-Type", "text/plain; charset=shift_jis"),
                ("Content-Transfer-Encoding", "8bit"),
            ],
            text.encode("shift_jis"),
            crlf=False,
            expect=[("text/plain", text)],
        )
    )

    # 004: English GDPR erasure request, UTF-8 quoted-printable with long paragraphs.
    text = """Dear Data Protection Officer,

I am writing to request the erasure of all personal data that Hikaku Plus (example-hikaku.co.jp) holds about me, pursuant to Article 17(1) of the General Data Protection Regulation (GDPR). I used your comparison service while living in Osaka in 2024–2025 and no longer have any need for it.

This request covers, without limitation: my account details, the quote requests I submitted, my marketing preferences, and any copies held by your processors.

Please confirm in writing once the erasure has been completed. If you need to verify my identity, let me know what you require.

Account email: zoe.lindqvist@example.org
Name: Zoë Lindqvist

Kind regards,
Zoë Lindqvist
"""
    out.append(
        Example(
            "004.eml",
            ["deletion"],
            "en",
            [
                *common(
                    address("Zoë Lindqvist", "zoe.lindqvist@example.org"),
                    "Request for erasure under Article 17 GDPR",
                    date(2026, 11, 4, 10, 31, 7, timezone(timedelta(hours=1))),
                    "<CAF8x2Qm+erasure.7731@mail.example.org>",
                ),
                ("Content-Type", 'text/plain; charset="UTF-8"'),
                ("Content-Transfer-Encoding", "quoted-printable"),
            ],
            qp_body(text),
            expect=[("text/plain", text)],
        )
    )

    # 005: English CCPA "Do Not Sell or Share", multipart/alternative (plain + HTML).
    plain = """Hello,

I am a California resident and I am exercising my right under the California
Consumer Privacy Act (as amended by the CPRA) to opt out of the sale and sharing
of my personal information.

Please do not sell or share my personal information with any third party,
including the electricity, gas and internet providers you partner with, and
including sharing for cross-context behavioral advertising.

The email address associated with my account is marcus.reed@example.com.

Thank you,
Marcus Reed
"""
    html = (
        '<div dir="ltr"><div>Hello,</div><div><br></div>'
        "<div>I am a California resident and I am exercising my right under the California"
        " Consumer Privacy Act (as amended by the CPRA) to opt out of the sale and sharing"
        " of my personal information.</div><div><br></div>"
        "<div>Please <b>do not sell or share</b> my personal information with any third party,"
        " including the electricity, gas and internet providers you partner with, and"
        " including sharing for cross-context behavioral advertising.</div><div><br></div>"
        "<div>The email address associated with my account is"
        ' <a href="mailto:marcus.reed@example.com">marcus.reed@example.com</a>.</div>'
        "<div><br></div><div>Thank you,</div><div>Marcus Reed</div></div>\n"
    )
    boundary = "000000000000a1b2c3d4e5f60718"
    body = (
        f"--{boundary}\n"
        'Content-Type: text/plain; charset="UTF-8"\n'
        "Content-Transfer-Encoding: 7bit\n\n"
        f"{plain}\n"
        f"--{boundary}\n"
        'Content-Type: text/html; charset="UTF-8"\n'
        "Content-Transfer-Encoding: quoted-printable\n\n"
        f"{qp_body(html).decode('ascii')}\n"
        f"--{boundary}--\n"
    ).encode("ascii")
    out.append(
        Example(
            "005.eml",
            ["stop_provision"],
            "en",
            [
                *common(
                    address("Marcus Reed", "marcus.reed@example.com"),
                    "Do Not Sell or Share My Personal Information",
                    date(2026, 11, 4, 16, 5, 33, timezone(timedelta(hours=-8))),
                    "<CAJ1v9pL0dNSx=Q4mR@mail.example.com>",
                ),
                ("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
            ],
            body,
            expect=[("text/plain", plain), ("text/html", html)],
        )
    )

    # 006: Japanese complaint about partner calls + stop provision, iPhone UTF-8 quoted-printable.
    text = """ヒカクプラス 個人情報担当者様

先週、御社のサイトでネット回線の料金を比較しただけなのに、
翌日から「ヒカクプラスさんからご紹介いただいた」という回線業者から
毎日のように営業電話がかかってきます。
見積もりを依頼した覚えも、他社に情報を渡すことに同意した覚えもありません。
仕事中にも電話が鳴り、正直とても迷惑しています。

これ以上、私の情報を提携先に渡さないでください。

電話番号：090-0000-5521
氏名：今村 由紀

iPhoneから送信
"""
    out.append(
        Example(
            "006.eml",
            ["complaint", "stop_provision"],
            "ja",
            [
                *common(
                    address("今村由紀", "yuki.imamura@example.jp"),
                    encoded_words("提携先からの営業電話について（苦情）", "UTF-8"),
                    date(2026, 11, 5, 12, 48, 19),
                    "<8E2B61C4-0F3A-4B7D-9C55-2A61E0D3F7B1@example.jp>",
                ),
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Transfer-Encoding", "quoted-printable"),
                ("X-Mailer", "iPhone Mail (22B83)"),
            ],
            qp_body(text),
            expect=[("text/plain", text)],
        )
    )

    # 007: English question about the request procedure (no request yet), us-ascii 7bit.
    text = """Hello,

I used Hikaku Plus last year to compare internet plans. I'm thinking about
asking for a copy of the data you hold about me, but before I do, could you
tell me how the process works?

- Do I need to fill in a specific form, or is an email enough?
- Which ID documents do you accept? I'm not a Japanese citizen, but I have a
  residence card.
- Is there a fee, and how long does it usually take?

Thanks in advance,
Daniel Okoye
"""
    out.append(
        Example(
            "007.eml",
            ["inquiry"],
            "en",
            [
                *common(
                    address("Daniel Okoye", "d.okoye@example.net"),
                    "How do I make a data access request?",
                    date(2026, 11, 5, 18, 12, 0),
                    "<b41f0c2e-77aa-4c1d-8e0f-3a9d2b6c5e11@example.net>",
                ),
                ("User-Agent", "Mozilla Thunderbird"),
                ("Content-Type", "text/plain; charset=US-ASCII"),
                ("Content-Transfer-Encoding", "7bit"),
            ],
            text.encode("ascii"),
            expect=[("text/plain", text)],
        )
    )

    # 008: Japanese out-of-office reply to the desk's own mail (RFC 3834), UTF-8 8bit.
    text = """お世話になっております。

誠に勝手ながら、11月2日（月）から11月6日（金）まで休暇のため不在にしております。
いただいたメールは11月9日（月）以降に順次確認いたします。

お急ぎのご用件は、総務部 03-0000-3300 までご連絡ください。

高野 美和
"""
    out.append(
        Example(
            "008.eml",
            ["auto_reply"],
            "ja",
            [
                *common(
                    address("高野 美和", "miwa.takano@example.co.jp"),
                    encoded_words(
                        "自動応答: Re: [PD-2026-000117] 本人確認書類のご提出のお願い", "UTF-8"
                    ),
                    date(2026, 11, 6, 9, 0, 41),
                    "<TYCP286MB0031A0E4F2@example.co.jp>",
                ),
                ("In-Reply-To", "<pd-2026-000117.2@example-hikaku.co.jp>"),
                ("References", "<pd-2026-000117.2@example-hikaku.co.jp>"),
                ("Auto-Submitted", "auto-replied"),
                ("X-Auto-Response-Suppress", "All"),
                ("Content-Type", 'text/plain; charset="utf-8"'),
                ("Content-Transfer-Encoding", "8bit"),
            ],
            text.encode("utf-8"),
            expect=[("text/plain", text)],
        )
    )

    # 009: HTML-only SEO offer (spam) that even says "unsubscribe", UTF-8 quoted-printable.
    html = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Rank Rocket</title></head>
<body style="font-family:Arial,sans-serif;color:#222;">
<table width="600" align="center" cellpadding="0" cellspacing="0"><tr><td>
<h1 style="color:#e4572e;">Get example-hikaku.co.jp to #1 on Google in 90 days</h1>
<p>Hi there,</p>
<p>We analysed <b>example-hikaku.co.jp</b> and found 37 technical SEO issues that are holding back your rankings for high-value keywords like &ldquo;electricity comparison&rdquo; and &ldquo;cheap internet plans&rdquo;.</p>
<p>Our white-hat link building and content packages start at just <b>$149/month</b> &mdash; no contracts, guaranteed results.</p>
<p style="text-align:center;"><a href="https://rankrocket.example.com/audit?site=example-hikaku.co.jp" style="background:#e4572e;color:#fff;padding:12px 24px;text-decoration:none;">Get my FREE audit</a></p>
<p>Best regards,<br>Chris<br>Rank Rocket Growth Team</p>
<p style="font-size:11px;color:#888;">If you don&rsquo;t want to hear from us again, just reply &ldquo;unsubscribe&rdquo;.</p>
</td></tr></table>
</body></html>
"""
    out.append(
        Example(
            "009.eml",
            ["spam"],
            "en",
            [
                *common(
                    address("Chris | Rank Rocket", "chris@rankrocket.example.com"),
                    "Get example-hikaku.co.jp to #1 on Google in 90 days",
                    date(2026, 11, 6, 2, 17, 55, timezone(timedelta(hours=-5))),
                    "<0100019a3f7c.e2d4b6a8@outbound.rankrocket.example.com>",
                ),
                ("Content-Type", 'text/html; charset="utf-8"'),
                ("Content-Transfer-Encoding", "quoted-printable"),
            ],
            qp_body(html),
            expect=[("text/html", html)],
        )
    )

    # 010: short thank-you on top of quoted history that talks about deletion: labels nothing.
    text = """Thank you, that's all I needed. Appreciate the quick response!

Rachel

On Wed, 4 Nov 2026 at 10:02, Hikaku Plus Privacy Desk <privacy@example-hikaku.co.jp> wrote:
> Dear Ms Adams,
>
> We have completed the deletion of your personal data as you requested on
> 28 October 2026 (reference PD-2026-000118). We will no longer send you
> marketing email, and your details will not be shared with partners.
>
> If you have any questions, please reply to this email.
>
> Hikaku Plus Privacy Desk
> privacy@example-hikaku.co.jp
"""
    out.append(
        Example(
            "010.eml",
            [],
            "en",
            [
                *common(
                    address("Rachel Adams", "rachel.adams@example.com"),
                    "Re: [PD-2026-000118] Your deletion request has been completed",
                    date(2026, 11, 6, 20, 44, 2, timezone(timedelta(hours=0))),
                    "<CAH7r0Ts=Kq9wLm3@mail.example.com>",
                ),
                ("In-Reply-To", "<pd-2026-000118.3@example-hikaku.co.jp>"),
                (
                    "References",
                    "<pd-2026-000118.1@example-hikaku.co.jp>\n <pd-2026-000118.3@example-hikaku.co.jp>",
                ),
                ("Content-Type", 'text/plain; charset="UTF-8"'),
                ("Content-Transfer-Encoding", "7bit"),
            ],
            text.encode("ascii"),
            expect=[("text/plain", text)],
        )
    )
    return out


# --------------------------------------------------------------------------- write and check
def check(ex: Example, raw: bytes) -> None:
    """Parse the bytes back with the stdlib and compare every text part with its source."""
    msg = email.message_from_bytes(raw)
    parts = [p for p in msg.walk() if p.get_content_maintype() == "text"]
    got = []
    for part in parts:
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            raise SystemExit(f"{ex.file}: a text part has no payload")
        charset = part.get_content_charset() or "us-ascii"
        got.append((part.get_content_type(), payload.decode(charset)))
    norm = [(t, s.replace("\r\n", "\n").rstrip("\n")) for t, s in got]
    want = [(t, s.rstrip("\n")) for t, s in ex.expect]
    if norm != want:
        raise SystemExit(f"{ex.file}: decoded text differs from its source")
    for name in ("From", "To", "Date", "Message-ID", "Subject", "MIME-Version", "Content-Type"):
        if msg[name] is None:
            raise SystemExit(f"{ex.file}: missing {name}")
    for line in raw.split(b"\n"):
        if len(line) > 998:
            raise SystemExit(f"{ex.file}: line longer than 998 octets")


def main(argv: list[str]) -> int:
    outdir = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent / "mail"
    outdir.mkdir(parents=True, exist_ok=True)
    labels = []
    for ex in examples():
        raw = ex.to_bytes()
        check(ex, raw)
        (outdir / ex.file).write_bytes(raw)
        labels.append({"file": ex.file, "intents": ex.intents, "language": ex.language})
    with (outdir / "labels.jsonl").open("w", encoding="utf-8", newline="\n") as fh:
        for row in labels:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(labels)} messages and labels.jsonl to {outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
