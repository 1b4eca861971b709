"""Separate the newest text of a message from the quoted history, forwarded parts and signature.

The markers are data (``HISTORY_MARKERS``, ``SIGNATURE_MARKERS``): each is one regular expression
over a single line (or two joined lines, for attributions a client wrapped), in the styles of
Japanese and English mail clients. Everything from the first history marker on is history;
``>``-quoted lines are history wherever they stand, so inline and bottom-posted replies work too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


def _compiled(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.IGNORECASE) for p in patterns)


# A line that opens quoted or forwarded history. Order does not matter; the first line that
# matches any of them ends the newest text. Attribution lines all end in a colon, which lets
# the search look only at such lines; separators are searched over the whole body.
ATTRIBUTION_MARKERS = _compiled(
    # English attribution lines: "On Mon, 3 Nov 2026 at 10:00, Taro <t@example.jp> wrote:"
    r"^\s*On\b.{0,300}\bwrote\s*:\s*$",
    r"^\s*.{0,200}\bwrote\s*:\s*$",
    # "2026年11月1日(土) 10:00 山田 <yamada@example.jp>:" and "2026/11/01 10:00、山田さんは書きました:"
    # (a time is required: "2026年11月1日に退会しましたが、次の情報が残っています:" is not one)
    r"^\s*\d{4}\s*[年/\-.]\s*\d{1,2}\s*[月/\-.]\s*\d{1,2}\s*日?.{0,100}\d{1,2}\s*[:：時]\s*\d{2}.{0,200}[:：]\s*$",
    r"^.{0,200}(?:さんは書きました|が書きました|のメッセージ|のメール|からのメール|wrote)\s*[:：]\s*$",
    r"^.{0,200}<[^<>\s]+@[^<>\s]+>\s*(?:さん)?\s*[:：]\s*$",
)
SEPARATOR_MARKERS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"^\s*-{2,}\s*Original Message\s*-{2,}",
        r"^\s*-{2,}\s*Forwarded message\s*-{2,}",
        r"^\s*Begin forwarded message\s*:",
        r"^\s*-{2,}\s*(?:Reply|Forwarded) (?:message|by)",
        # Japanese clients: "---- 元のメッセージ ----", "-----Original Message-----" translations
        r"^\s*[-－―ー=＝]{2,}\s*(?:元の|転送|オリジナル|返信元の?)\s*(?:メッセージ|メール)\s*[-－―ー=＝]{2,}",
        r"^\s*[-－―ー=＝]{2,}\s*(?:転送メッセージ|Forwarded Message|転送されたメッセージ)",
        # Outlook's rule line above its header block
        r"^\s*_{20,}\s*$",
    )
)
HISTORY_MARKERS = ATTRIBUTION_MARKERS + SEPARATOR_MARKERS

# Attributions a client wrapped over two lines: (how the first line starts, how the pair ends).
WRAPPED_ATTRIBUTIONS: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = (
    (re.compile(r"^\s*On\b", re.I), re.compile(r"\bwrote\s*:\s*$", re.I)),
    (
        re.compile(r"^\s*\d{4}\s*[年/\-.]\s*\d{1,2}\s*[月/\-.]\s*\d{1,2}"),
        re.compile(r"(?:<\s*[^<>\s]+@[^<>\s]+>\s*(?:さん)?|書きました)\s*[:：]\s*$"),
    ),
)

# Outlook and friends quote with a header block instead of an attribution line.
_HEADER_BLOCK_FIRST = re.compile(r"^\s*\**\s*(?:From|差出人|送信者|送信元)\s*\**\s*[:：]", re.I)
_HEADER_BLOCK_NEXT = re.compile(
    r"^\s*\**\s*(?:Sent|Date|To|Cc|Subject|送信日時|日時|日付|宛先|件名|CC)\s*\**\s*[:：]", re.I
)

# A line that opens a signature block, searched only near the end of the newest text.
SIGNATURE_MARKERS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p)
    for p in (
        r"^--\s*$",
        r"^\s*[-－―─━=＝_＿*＊~〜～・.…]{6,}\s*$",
        r"^\s*Sent from my \w+",
        r"^\s*(?:iPhone|iPad|Android)\s*から送信\s*$",
        r"^\s*Get Outlook for \w+",
    )
)
SIGNATURE_WINDOW = 15  # how many trailing lines a signature may span
# A rule line above a form's fields is not a signature: what follows it is what the person wrote
# ("【お問い合わせ内容】", "■ご相談内容", "Message:", "Comments:" on a line of its own or before the text).
FORM_CONTENT_FIELD = re.compile(
    r"^\s*(?:[【\[■◆●▼◇□]\s*)?(?:お問い?合わせ|ご?相談|ご?依頼|ご?要望|ご?請求|ご?質問|お問合せ)?"
    r"\s*(?:内容|本文|詳細|の内容)\s*(?:/\s*[A-Za-z ]{1,20})?(?:[】\]]|[:：]|$)"
    r"|^\s*(?:\[\s*)?(?:message|comments?|your message|inquiry|request details|details)\s*(?:\]|[:：])",
    re.IGNORECASE | re.MULTILINE,
)
# Nor is one above a form's options ("□ 開示", "[x] Access", "☑ 削除"; "■" alone also opens the
# headings of newsletters' footers): no signature has tick boxes, and a person who pastes a form
# they could not send writes their request in them.
FORM_OPTION = re.compile(r"^\s*(?:[□☐☑☒✅]|\[\s*[xX✓✔]?\s*\]|\(\s*[xX✓✔●]?\s*\))\s*\S")

# A line above a quote saying the answers are written in between its lines.
INLINE_ANSWERS = re.compile(
    r"本文中|文中に|行間に|インライン|各項目の下|下記に(?:回答|返信|記入)|以下に(?:回答|返信|記入)|"
    r"(?:質問|確認事項|項目|お尋ね|それぞれ)の(?:下|後|あと)に|"
    r"\banswered (?:below|inline|in between)\b|\b(?:answers?|replies) (?:are )?under each\b|"
    r"\b(?:answers?|replies|responses|comments) (?:are )?(?:inline|in-line|below each|between)\b|"
    r"\binline below\b|\bsee (?:my )?(?:answers|replies|comments) (?:inline|below)\b",
    re.IGNORECASE,
)
# A postscript's opening ("P.S.", "PS:", "P.P.S.", "追伸", "二伸").
POSTSCRIPT = re.compile(r"^\s*(?:p\.\s?(?:p\.\s?)?s\.?|ps\s*[:：]|ps\s|追伸|二伸)", re.IGNORECASE)

_QUOTED = re.compile(r"^\s*(?:>|＞|\|)")
_ANY_QUOTED = re.compile(r"^\s*(?:>|＞|\|)", re.MULTILINE)


@dataclass(frozen=True)
class Split:
    """The newest text of a body and what was set aside."""

    newest: str
    quoted: str
    signature: str


# The separators as one multi-line pattern: one search over the body finds the first.
_ANY_SEPARATOR = re.compile(
    "|".join(f"(?:{p.pattern})" for p in SEPARATOR_MARKERS), re.IGNORECASE | re.MULTILINE
)
_COLON_AT_END = re.compile(r"[:：][ \t\r]*$", re.MULTILINE)
# Lines that may start a two-line attribution or a header block, checked one by one.
_CANDIDATE_STARTS = re.compile(
    "|".join(f"(?:{start.pattern})" for start, _ in WRAPPED_ATTRIBUTIONS)
    + f"|(?:{_HEADER_BLOCK_FIRST.pattern})",
    re.IGNORECASE | re.MULTILINE,
)


def _line_of(text: str, match: re.Match[str]) -> int:
    """The line a match stands on (a leading ``\\s*`` may have run over blank lines first)."""
    found = match.group(0)
    return text.count("\n", 0, match.start() + len(found) - len(found.lstrip()))


def _is_structured_start(lines: list[str], i: int) -> bool:
    """A wrapped attribution or an Outlook header block starting at line ``i``."""
    line = lines[i]
    # A wrapped attribution: "On Mon, 3 Nov 2026 at 10:00, Taro Yamada" / "<t@example.jp> wrote:"
    if i + 1 < len(lines):
        joined = line + " " + lines[i + 1]
        for start, end in WRAPPED_ATTRIBUTIONS:
            if start.match(line) and end.search(joined):
                return True
    if _HEADER_BLOCK_FIRST.match(line):
        following = [ln for ln in lines[i + 1 : i + 6] if ln.strip()]
        return sum(1 for ln in following if _HEADER_BLOCK_NEXT.match(ln)) >= 2
    return False


def _history_start(text: str, lines: list[str], max_lines: int) -> int:
    """Index of the first line that opens quoted or forwarded history (len(lines) if none)."""
    cut = min(len(lines), max_lines)
    marker = _ANY_SEPARATOR.search(text)
    if marker:
        cut = min(cut, _line_of(text, marker))
    for colon in _COLON_AT_END.finditer(text):
        i = text.count("\n", 0, colon.start())
        if i >= cut:
            break
        if any(p.search(lines[i]) for p in ATTRIBUTION_MARKERS):
            cut = i
            break
    for candidate in _CANDIDATE_STARTS.finditer(text):
        i = _line_of(text, candidate)
        if i >= cut:
            break
        if _is_structured_start(lines, i):
            return i
    return cut if cut < min(len(lines), max_lines) else len(lines)


def _below_the_quote(history: list[str]) -> tuple[list[str], list[str]] | None:
    """A bottom-posted (or interleaved) reply: the sender's own lines written under the ">"
    lines of the mail they answer, as (own lines, history lines); None when nothing but history
    follows the quote. A further attribution or separator line outside the quote opens older
    history, which stays history."""
    first = next((i for i, line in enumerate(history) if _QUOTED.match(line)), None)
    if first is None:
        return None
    own: list[str] = []
    rest = history[:first]
    for i in range(first, len(history)):
        line = history[i]
        if _QUOTED.match(line):
            rest.append(line)
        elif any(p.search(line) for p in HISTORY_MARKERS) or _is_structured_start(history, i):
            rest += history[i:]
            break
        else:
            own.append(line)
    return (own, rest) if any(line.strip() for line in own) else None


def split_newest(text: str, *, max_lines: int = 20_000) -> Split:
    """Split a plain-text body into newest text, quoted history and signature; a reply written
    under the quote of the mail it answers (bottom-posted, nothing above it) is the newest text."""
    lines = text.split("\n")
    cut = _history_start(text, lines, max_lines)
    head, history = lines[:cut], lines[cut:]
    if history and (
        not any(line.strip() for line in head) or any(INLINE_ANSWERS.search(ln) for ln in head)
    ):
        # Nothing above the quote, or a line above it saying the answers are written in between
        # ("回答を本文中に書きました", "see my answers inline"): the lines under the quote are new.
        below = _below_the_quote(history)
        if below is not None and any(line.strip() for line in head):
            below = (head + [""] + below[0], below[1])
        if below is not None:
            head, history = below
    own: list[str] = []
    quoted: list[str] = []
    if _ANY_QUOTED.search(text):
        for line in head:
            (quoted if _QUOTED.match(line) else own).append(line)
    else:  # most mail has no ">" lines at all: skip the line-by-line look
        own = head
    own = _strip_trailing_blank(own)

    sig_start = len(own)
    for i in range(max(1, len(own) - SIGNATURE_WINDOW), len(own)):
        if (
            any(p.match(own[i]) for p in SIGNATURE_MARKERS)
            and any(ln.strip() for ln in own[:i])
            and not any(
                FORM_CONTENT_FIELD.match(ln) or FORM_OPTION.match(ln) for ln in own[i + 1 :]
            )
        ):
            sig_start = i
            break
    # A postscript under the signature ("P.S. please also delete my old account", "追伸") is the
    # person writing again: it joins the newest text, and only what is between stays signature.
    sig_end = next(
        (k for k in range(sig_start + 1, len(own)) if POSTSCRIPT.match(own[k])), len(own)
    )
    newest = "\n".join(_strip_trailing_blank(own[:sig_start])).strip("\n")
    if sig_end < len(own):
        newest = f"{newest}\n\n" + "\n".join(own[sig_end:]).strip("\n")
        newest = newest.strip("\n")
    signature = "\n".join(own[sig_start:sig_end]).strip("\n")
    return Split(
        newest=newest,
        quoted="\n".join(quoted + history).strip("\n"),
        signature=signature,
    )


def _strip_trailing_blank(lines: list[str]) -> list[str]:
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    return lines[:end]


# A line that opens a forwarded message (another person's mail passed on), as opposed to the
# history of a reply. Separators that do not say which ("-----Original Message-----", Outlook's
# rule line, a bare header block) open a forward when the subject says so (``FORWARD_SUBJECT``).
FORWARD_MARKERS = _compiled(
    r"^\s*-{2,}\s*Forwarded (?:message|by)",
    r"^\s*Begin forwarded message\s*:",
    r"^\s*[-－―ー=＝]{2,}\s*(?:転送|転送された)\s*(?:メッセージ|メール)",
)
FORWARD_SUBJECT = re.compile(r"^\s*(?:(?:re|aw|sv)\s*[:：]\s*)*(?:fwd?|tr|wg|転送)\s*[:：]", re.I)
FORWARD_ONLY_SUBJECT = re.compile(r"^\s*(?:fwd?|tr|wg|転送)\s*[:：]", re.I)  # not a reply to one
_QUOTE_MARK = re.compile(r"^\s*(?:>|＞|\|)\s?")  # the marks ``_QUOTED`` knows
_ANY_FORWARD = re.compile("|".join(f"(?:{p.pattern})" for p in FORWARD_MARKERS), re.IGNORECASE)
# The header block a client writes above a forwarded body ("From:", "件名:" ...), one field a line.
_FORWARD_HEADER = re.compile(
    r"^\s*\**\s*(?:From|Sent|Date|To|Cc|Subject|Reply-To|差出人|送信者|送信元|送信日時|日時|日付|"
    r"宛先|件名|CC)\s*\**\s*[:：]",
    re.IGNORECASE,
)
FORWARD_HEADER_LINES = 12  # more header lines than this are not a client's header block


def forwarded_text(history: str, subject: str = "") -> str:
    """The text of the message forwarded in ``history`` (what a body set aside as history):
    its own newest text, without the client's header block above it, its own quoted history and
    its signature. Empty when the history does not open with a forward (a reply's history is
    not one) or holds no text. ``subject`` (the forwarding mail's) tells a forward whose client
    wrote only an "Original Message" separator or a header block from a reply."""
    return forwarded_split(history, subject).newest


_NO_FORWARD = Split("", "", "")


def passed_on_split(history: str) -> Split:
    """What a mail that is not a reply quotes: a system's or a colleague's note over someone's
    words ("Marcus Lindqvist wrote:" and his ">"-quoted text; "お客様のお問い合わせ内容（原文）："
    and the customer's; a chat widget's "Visitor wrote:" and the words under it, unquoted). The
    attribution goes, one level of quote marks comes off, and the quoted text's own history and
    signature are set apart as any newest text's are."""
    lines = [line for line in history.split("\n") if line.strip()]
    if not lines:
        return _NO_FORWARD
    if not any(_QUOTED.match(line) for line in lines):
        # A system's or a colleague's attribution over words it did not quote ("Visitor
        # wrote:" and the chat below it): in mail that is not a reply, those words are passed on.
        if any(m.search(lines[0]) for m in ATTRIBUTION_MARKERS):
            return split_newest("\n".join(lines[1:]))
        return _NO_FORWARD
    if not _QUOTED.match(lines[0]) and any(m.search(lines[0]) for m in ATTRIBUTION_MARKERS):
        lines = lines[1:]
    return split_newest("\n".join(_QUOTE_MARK.sub("", line, count=1) for line in lines))


def forwarded_split(history: str, subject: str = "") -> Split:
    """``forwarded_text`` with the forwarded mail's own history and signature (a forward of a
    forward holds the mail passed on in its history). A mail quoted with ">" under a note counts
    as forwarded only when the subject says so (Fwd:, 転送:, not a reply to one)."""
    lines = history.split("\n")
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    if start == len(lines):
        return _NO_FORWARD
    first = lines[start]
    if _ANY_FORWARD.match(first):
        start += 1
    elif _QUOTED.match(first) and FORWARD_ONLY_SUBJECT.match(subject):
        lines = [_QUOTE_MARK.sub("", line, count=1) for line in lines[start:]]
        if not _FORWARD_HEADER.match(lines[0]):
            return split_newest("\n".join(lines))
        start = 0
    elif not FORWARD_SUBJECT.match(subject):
        return _NO_FORWARD
    elif _ANY_SEPARATOR.match(first):
        start += 1
    elif not _HEADER_BLOCK_FIRST.match(first):
        return _NO_FORWARD
    header_lines = 0
    while start < len(lines) and header_lines <= FORWARD_HEADER_LINES:
        line = lines[start]
        if _FORWARD_HEADER.match(line):
            header_lines += 1
        elif line.strip() and header_lines:
            break
        start += 1
    return split_newest("\n".join(lines[start:]))
