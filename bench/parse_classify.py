"""Measure how many typical privacy-desk messages one core parses (and classifies) per second.

    python bench/parse_classify.py [--n N] [--size BYTES] [--seed SEED]

Generates N messages of about SIZE bytes, deterministically from SEED, in the mix the desk sees:
Japanese in ISO-2022-JP, UTF-8 base64 and Shift_JIS, English quoted-printable, HTML-only mail,
replies with quoted history and messages with a small attachment. Parsing is timed alone, then
parsing followed by the rules alone (``handlers.classify.classify_rules``), then by
``handlers.classify.classify`` (the rules with the learned model, as intake runs it). Peak RSS
comes from ``resource.getrusage`` and includes the generated messages held in memory; the
model's own arrays are counted apart.
"""

from __future__ import annotations

import argparse
import base64
import os
import quopri
import random
import resource
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mail.parse import ParsedMessage, parse_message

CRLF = b"\r\n"

JA_REQUESTS = [
    "登録されている私の個人情報をすべて開示してください。",
    "退会しましたので、保有している個人データを削除してください。",
    "登録住所が古いままになっています。訂正をお願いします。",
    "ダイレクトメールの送付を停止し、利用を停止してください。",
    "第三者への提供を停止してください。提供先の一覧も教えてください。",
    "個人情報の取り扱いについて苦情を申し上げます。対応が遅すぎます。",
    "プライバシーポリシーの第5条について質問があります。",
]
JA_FILLER = [
    "会員番号は{n}です。",
    "お手数をおかけしますが、よろしくお願いいたします。",
    "先月、貴社のサービスを解約いたしました。",
    "本人確認書類が必要であればお知らせください。",
    "ご対応の期限についても教えていただけますと幸いです。",
    "メールアドレスは登録時のものから変更していません。",
    "以前にもお問い合わせしましたが、まだ回答をいただいておりません。",
]
EN_REQUESTS = [
    "Please send me a copy of all personal data you hold about me.",
    "I closed my account last month. Please delete all of my personal information.",
    "My address on file is wrong; please correct it.",
    "Please stop using my data for marketing and stop sending me offers.",
    "Do not sell or share my personal information with third parties.",
    "I want to complain about how my data was handled.",
    "I have a question about section 5 of your privacy policy.",
]
EN_FILLER = [
    "My customer number is {n}.",
    "Thank you for your help with this matter.",
    "I look forward to hearing from you within the legal deadline.",
    "Let me know if you need proof of identity.",
    "I registered with this email address several years ago.",
    "I wrote to you before and have not received an answer yet.",
    "Please confirm once this has been done.",
]

KINDS = (
    ("ja-iso2022jp", 0.16),
    ("ja-utf8-base64", 0.12),
    ("ja-shift_jis", 0.06),
    ("en-qp", 0.10),
    ("alternative", 0.26),  # text and HTML of the same words: what Gmail and Outlook send
    ("html-only", 0.06),
    ("reply-with-history", 0.16),
    ("with-attachment", 0.08),
)


def _body_text(rng: random.Random, ja: bool, chars: int) -> str:
    requests, filler = (JA_REQUESTS, JA_FILLER) if ja else (EN_REQUESTS, EN_FILLER)
    lines = ["山田様" if ja else "Dear Privacy Team,", "", rng.choice(requests)]
    while sum(len(x) for x in lines) < chars:
        lines.append(rng.choice(filler).format(n=rng.randrange(10**7, 10**8)))
        if rng.random() < 0.2:
            lines.append("")
    lines += ["", "山田 太郎" if ja else "Taro Yamada"]
    return "\n".join(lines)


def _history(ja: bool) -> str:
    if ja:
        head = "2026年11月1日(土) 10:00 個人情報窓口 <privacy@example.co.jp>:"
        old = "お問い合わせありがとうございます。ご本人確認のため、以下の書類をお送りください。"
    else:
        head = "On Sat, Nov 1, 2026 at 10:00 AM Privacy Desk <privacy@example.co.jp> wrote:"
        old = "Thank you for your request. To verify your identity, please send the following."
    return "\n".join([head, *(f"> {old}" for _ in range(8))])


def _trace(rng: random.Random, i: int) -> list[bytes]:
    """The delivery headers real mail carries (about 1.5 KB): relays, authentication, DKIM."""
    stamp = b"Sat, %d Nov 2026 %02d:%02d:%02d +0900" % (
        rng.randrange(1, 29),
        rng.randrange(24),
        rng.randrange(60),
        rng.randrange(60),
    )
    signature = base64.b64encode(rng.randbytes(192))
    body_hash = base64.b64encode(rng.randbytes(32))
    relays = []
    for hop in range(3):
        relays.append(
            b"Received: from mail-%d.example.jp (mail-%d.example.jp [192.0.2.%d])"
            % (hop, rng.randrange(99), rng.randrange(1, 255))
            + CRLF + b"\tby mx%d.example.co.jp (Postfix) with ESMTPS id %X" % (hop, rng.getrandbits(40))
            + CRLF + b"\tfor <privacy@example.co.jp>; " + stamp
        )  # fmt: skip
    return [
        b"Return-Path: <user%d@example.jp>" % i,
        b"Delivered-To: privacy@example.co.jp",
        *relays,
        b"Authentication-Results: mx0.example.co.jp;" + CRLF
        + b"\tdkim=pass header.d=example.jp header.s=s1 header.b=" + signature[:8] + b";" + CRLF
        + b"\tspf=pass smtp.mailfrom=user%d@example.jp;" % i + CRLF
        + b"\tdmarc=pass (p=NONE) header.from=example.jp",
        b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.jp; s=s1;" + CRLF
        + b"\th=from:to:subject:date:message-id:mime-version; bh=" + body_hash + b";" + CRLF
        + b"\tb=" + signature[:76] + CRLF + b"\t " + signature[76:152] + CRLF + b"\t " + signature[152:],
        b"X-Mailer: Microsoft Outlook 16.0",
        b"Thread-Index: " + base64.b64encode(rng.randbytes(22)),
        b"Content-Language: ja-JP",
    ]  # fmt: skip


def _headers(rng: random.Random, i: int, subject: bytes, ctype: bytes) -> list[bytes]:
    return [
        *_trace(rng, i),
        b"From: =?UTF-8?B?"
        + base64.b64encode("山田 太郎".encode())
        + b"?= <user%d@example.jp>" % i,
        b"To: privacy@example.co.jp",
        b"Subject: " + subject,
        b"Date: Sat, %d Nov 2026 %02d:%02d:00 +0900"
        % (rng.randrange(1, 29), rng.randrange(24), rng.randrange(60)),
        b"Message-ID: <%d.%d@mail.example.jp>" % (i, rng.randrange(10**9)),
        b"MIME-Version: 1.0",
        b"Content-Type: " + ctype,
    ]


def _join(headers: list[bytes], body: bytes) -> bytes:
    return CRLF.join(headers) + CRLF + CRLF + body


def _crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


def _b64(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", CRLF)


def make_message(rng: random.Random, i: int, kind: str, chars: int) -> bytes:
    """One message of ``kind`` whose body text has about ``chars`` characters."""
    ja = kind.startswith("ja") or (kind not in ("en-qp",) and rng.random() < 0.6)
    text = _body_text(rng, ja, chars)
    subject_text = "個人情報の開示請求" if ja else "Personal data request"
    subject_b64 = b"=?UTF-8?B?" + base64.b64encode(subject_text.encode()) + b"?="
    if kind == "ja-iso2022jp":
        subject = b"=?ISO-2022-JP?B?" + base64.b64encode(subject_text.encode("iso2022_jp")) + b"?="
        body = _crlf(text).encode("iso2022_jp")
        headers = _headers(rng, i, subject, b"text/plain; charset=ISO-2022-JP")
        return _join([*headers, b"Content-Transfer-Encoding: 7bit"], body)
    if kind == "ja-utf8-base64":
        headers = _headers(rng, i, subject_b64, b"text/plain; charset=UTF-8")
        return _join([*headers, b"Content-Transfer-Encoding: base64"], _b64(_crlf(text).encode()))
    if kind == "ja-shift_jis":
        headers = _headers(rng, i, subject_text.encode("cp932"), b"text/plain; charset=Shift_JIS")
        return _join([*headers, b"Content-Transfer-Encoding: 8bit"], _crlf(text).encode("cp932"))
    if kind == "en-qp":
        body = quopri.encodestring(_crlf(text).encode())
        headers = _headers(rng, i, subject_b64, b'text/plain; charset="utf-8"')
        return _join([*headers, b"Content-Transfer-Encoding: quoted-printable"], body)
    if kind == "alternative":
        boundary = b"=_alt_%d" % i
        paragraphs = "".join(f"<p>{line}</p>" if line else "<br>" for line in text.split("\n"))
        html = f"<html><body><div dir='ltr'>{paragraphs}</div></body></html>"
        parts = [
            b"Content-Type: text/plain; charset=UTF-8" + CRLF
            + b"Content-Transfer-Encoding: base64" + CRLF + CRLF + _b64(_crlf(text).encode()),
            b"Content-Type: text/html; charset=UTF-8" + CRLF
            + b"Content-Transfer-Encoding: quoted-printable" + CRLF + CRLF
            + quopri.encodestring(html.encode()),
        ]  # fmt: skip
        body = (
            b"".join(b"--" + boundary + CRLF + p + CRLF for p in parts) + b"--" + boundary + b"--"
        )
        ctype = b'multipart/alternative; boundary="' + boundary + b'"'
        return _join(_headers(rng, i, subject_b64, ctype), body)
    if kind == "html-only":
        paragraphs = "".join(f"<p>{line}</p>" if line else "<br>" for line in text.split("\n"))
        quote = (
            '<div class="gmail_quote"><blockquote class="gmail_quote">'
            + _history(ja).replace("\n", "<br>")
            + "</blockquote></div>"
        )
        html = f"<html><body><div dir='ltr'>{paragraphs}</div>{quote}</body></html>"
        headers = _headers(rng, i, subject_b64, b"text/html; charset=UTF-8")
        return _join([*headers, b"Content-Transfer-Encoding: base64"], _b64(html.encode()))
    if kind == "reply-with-history":
        reply = "Re: " + subject_text
        subject = b"=?UTF-8?B?" + base64.b64encode(reply.encode()) + b"?="
        full = text + "\n\n" + _history(ja)
        headers = _headers(rng, i, subject, b"text/plain; charset=UTF-8")
        headers.insert(6, b"In-Reply-To: <PD-2026-%06d.1@desk.example.co.jp>" % i)
        return _join([*headers, b"Content-Transfer-Encoding: base64"], _b64(_crlf(full).encode()))
    # with-attachment: the text plus a small PDF-like attachment, about a quarter of the size
    boundary = b"=_bench_%d" % i
    name = "本人確認書類.pdf" if ja else "id-document.pdf"
    attachment = b"%PDF-1.4\n" + rng.randbytes(max(256, chars))
    parts = [
        b"Content-Type: text/plain; charset=UTF-8" + CRLF
        + b"Content-Transfer-Encoding: base64" + CRLF + CRLF
        + _b64(_crlf(text[: len(text) * 2 // 3]).encode()),
        b"Content-Type: application/pdf" + CRLF
        + b"Content-Disposition: attachment; filename*=UTF-8''"
        + "".join(f"%{b:02X}" for b in name.encode()).encode() + CRLF
        + b"Content-Transfer-Encoding: base64" + CRLF + CRLF + _b64(attachment),
    ]  # fmt: skip
    body = b"".join(b"--" + boundary + CRLF + p + CRLF for p in parts) + b"--" + boundary + b"--"
    headers = _headers(rng, i, subject_b64, b'multipart/mixed; boundary="' + boundary + b'"')
    return _join(headers, body)


def generate(n: int, size: int, seed: int) -> list[tuple[str, bytes]]:
    """N messages of about ``size`` bytes each; the same arguments give the same bytes."""
    names = [k for k, _ in KINDS]
    weights = [w for _, w in KINDS]
    kinds = random.Random(seed).choices(names, weights, k=n)
    corpus: list[tuple[str, bytes]] = []
    for i, kind in enumerate(kinds):
        # Encodings differ in how many bytes a character takes: scale the text until it fits.
        chars = size // 3
        for _ in range(3):
            raw = make_message(random.Random(f"{seed}:{i}"), i, kind, chars)
            chars = max(20, round(chars * size / len(raw)))
        corpus.append((kind, make_message(random.Random(f"{seed}:{i}"), i, kind, chars)))
    return corpus


def _peak_rss_mib() -> float:
    # ru_maxrss is KiB on Linux (bytes on macOS).
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _load_classifier() -> Callable[[ParsedMessage], Any] | None:
    try:
        from handlers.classify import classify
    except ImportError:
        return None
    return classify


def _load_rules() -> Callable[[ParsedMessage], Any] | None:
    try:
        from handlers.classify import classify_rules
    except ImportError:
        return None
    return lambda msg: classify_rules(
        msg.subject, msg.newest_text, machine_signals=msg.machine_signals
    )


def _model_summary() -> str:
    try:
        from handlers.model import active
    except ImportError:
        return "no learned model in this version"
    model = active()
    if model is None:
        return "no learned model: rules alone"
    arrays = (model.vocabulary, model.idf, model.weights, model.bias, model.platt)
    size = sum(a.nbytes for a in arrays) / 2**20
    return f"model {model.version}: {len(model.vocabulary):,} features, arrays {size:.1f} MiB"


def _time(messages: Sequence[bytes], classify: Callable[[ParsedMessage], Any] | None) -> float:
    start = time.perf_counter()
    for raw in messages:
        parsed = parse_message(raw)
        if classify is not None:
            classify(parsed)
    return time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5000, help="number of messages (5000)")
    parser.add_argument("--size", type=int, default=5000, help="approximate bytes each (5000)")
    parser.add_argument("--seed", type=int, default=20261101, help="generator seed")
    parser.add_argument(
        "--corpus",
        type=Path,
        metavar="DIR",
        help="time the .eml files of DIR instead (cycled to N messages), e.g. ../shared/corpus/dev",
    )
    args = parser.parse_args(argv)
    if args.n < 1 or args.size < 500:
        parser.error("--n must be at least 1 and --size at least 500")

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core

    if args.corpus is not None:
        files = sorted(args.corpus.glob("*.eml"))
        if not files:
            parser.error(f"{args.corpus}: no .eml files")
        raws = [f.read_bytes() for f in files]
        corpus = [("corpus", raws[i % len(raws)]) for i in range(args.n)]
    else:
        corpus = generate(args.n, args.size, args.seed)
    messages = [raw for _, raw in corpus]
    rss_generated = _peak_rss_mib()
    total = sum(len(m) for m in messages)
    counts: dict[str, int] = {}
    for kind, _ in corpus:
        counts[kind] = counts.get(kind, 0) + 1

    _time(messages[:50], None)  # warm up imports and compiled patterns
    parse_seconds = _time(messages, None)
    rss_parse = _peak_rss_mib()

    rules = _load_rules()
    rules_seconds: float | None = None
    if rules is not None:
        _time(messages[:50], rules)
        rules_seconds = _time(messages, rules)
    rss_rules = _peak_rss_mib()

    classify = _load_classifier()
    both_seconds: float | None = None
    if classify is not None:
        _time(messages[:50], classify)
        both_seconds = _time(messages, classify)
    rss_all = _peak_rss_mib()

    print(
        f"{args.n} messages, {total / args.n:,.0f} bytes on average ({total / 2**20:.1f} MiB), seed {args.seed}"
    )
    if args.corpus is not None:
        print(f"from {args.corpus} ({len(set(m for m in messages))} distinct files)")
    else:
        print("mix: " + ", ".join(f"{k} {counts.get(k, 0)}" for k, _ in KINDS))
    print()
    rows = [("parse", parse_seconds, rss_parse)]
    if rules_seconds is not None:
        rows.append(("parse + rules", rules_seconds, rss_rules))
    if both_seconds is not None:
        rows.append(("parse + classify", both_seconds, rss_all))
    print(f"{'stage':<18}{'seconds':>9}{'msg/s':>10}{'ms/msg':>9}{'MiB/s':>8}{'peak RSS MiB':>14}")
    for stage, seconds, rss in rows:
        print(
            f"{stage:<18}{seconds:>9.2f}{args.n / seconds:>10,.0f}{1000 * seconds / args.n:>9.3f}"
            f"{total / 2**20 / seconds:>8.1f}{rss:>14.1f}"
        )
    if both_seconds is not None:
        extra = both_seconds - parse_seconds
        print(
            f"{'classify alone':<18}{extra:>9.2f}{args.n / max(extra, 1e-9):>10,.0f}{1000 * extra / args.n:>9.3f}"
        )
    else:
        print("classify: handlers.classify not available, skipped")
    if rules_seconds is not None and both_seconds is not None:
        extra = both_seconds - rules_seconds
        print(
            f"{'model alone':<18}{extra:>9.2f}{args.n / max(extra, 1e-9):>10,.0f}{1000 * extra / args.n:>9.3f}"
        )
    print(f"\n{_model_summary()}")
    print(f"peak RSS after generating the messages: {rss_generated:.1f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
