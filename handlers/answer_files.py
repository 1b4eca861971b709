"""Which files an answer may carry, and whether its text tells the truth about them (the

Pure rules over names, bytes and text; ``bot.replies`` stores the files and applies these at
``draft --attach`` / ``attach`` and again at approval. A file that could run on the requester's
machine or in their browser (an executable, a script, HTML) is refused by its name and by its
first bytes, whatever it is called; sizes are held to ``PD_ATTACHMENT_MAX_BYTES``. A draft's text
must not say that files are attached when none are, and must name every file it carries, so a
letter never promises files it does not send nor sends files it does not mention.
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from handlers.attachments import (
    EXECUTABLE,
    FLAGGED_EXTENSIONS,
    HTML,
    MACRO,
    SCRIPT,
    SVG,
    sniff,
)

MAX_FILES = 20  # files on one answer
MAX_NAME = 200  # characters of a file's name

# What is never sent to a requester: what handlers.attachments flags as a program, a script, a
# web page, an SVG or a macro-carrying Office file (by its name or its first bytes), and disk
# images (which may hold programs) and XSL transforms (programs for XML), by name.
NEVER_SENT = (EXECUTABLE, SCRIPT, HTML, SVG, MACRO)
REFUSED_SUFFIXES = frozenset(
    ext for ext, flag in FLAGGED_EXTENSIONS.items() if flag in NEVER_SENT
) | frozenset(("iso", "img", "vhd", "vhdx", "dmg", "xsl", "xslt"))

# How a refusal names a program recognised by its first bytes (handlers.attachments.MAGIC).
_PROGRAM_NAMES = {
    "application/x-msdownload": "a Windows program",
    "application/x-executable": "a Linux program",
    "application/x-mach-binary": "a macOS program",
    "application/java-vm": "a macOS or Java program",
    "text/x-script": "a script",
}
_MARKUP = re.compile(rb"<\s*(?:!doctype\s+html|html|script|iframe|svg)\b", re.IGNORECASE)
_SNIFF = 4096  # bytes of a file looked at for markup

# What says "files come with this mail": 添付 (attached) in Japanese, attach… in English.
_CLAIM = re.compile(r"添付|attach", re.IGNORECASE)


class Problem(str):
    """Why files cannot go, in English (it is a ``str``), with a ``key`` and its ``values`` so
    that staff can be told it in their own language (``bot.replies.Reason``)."""

    key: str
    values: dict[str, object]

    def __new__(cls, text: str, key: str, **values: object) -> Problem:
        made = super().__new__(cls, text)
        made.key, made.values = key, values
        return made


@dataclass(frozen=True)
class FileFacts:
    """A file as an approver and the audit trail see it."""

    name: str
    size: int
    sha256: str


def clean_name(name: str) -> str:
    """The name the requester sees: the last path part, NFC, one line, no leading dots."""
    base = re.split(r"[\\/]", name)[-1]
    base = unicodedata.normalize("NFC", base)
    base = "".join(" " if unicodedata.category(c)[0] in "CZ" and c != " " else c for c in base)
    return " ".join(base.split()).lstrip(".").strip()


def refusal(name: str, data: bytes, *, max_bytes: int) -> str | None:
    """Why ``data`` under ``name`` cannot be sent to a requester, or None."""
    if not name:
        return "a file needs a name"
    if len(name) > MAX_NAME:
        return f"{name[:40]}…: a file name has at most {MAX_NAME} characters"
    if not data:
        return f"{name} is empty"
    if len(data) > max_bytes:
        return f"{name} is {len(data)} bytes, over PD_ATTACHMENT_MAX_BYTES ({max_bytes})"
    suffix = name.rstrip(". ").rpartition(".")[2].lower() if "." in name else ""
    if suffix in REFUSED_SUFFIXES:
        return f"{name}: .{suffix} files are not sent (programs, scripts and web pages never are)"
    magic = sniff(data)
    if magic is not None and magic.flag in (EXECUTABLE, SCRIPT):
        what = _PROGRAM_NAMES.get(magic.media_type, "a program")
        return f"{name} is {what} by its content; programs and scripts are not sent"
    if _MARKUP.search(data[:_SNIFF].lstrip(b"\xef\xbb\xbf \t\r\n")):
        return f"{name} holds HTML or script by its content; web pages are not sent"
    return None


def set_refusal(names: Sequence[str], sizes: Sequence[int], *, max_bytes: int) -> str | None:
    """Why a draft cannot carry these files together (all of them, old and new), or None."""
    if len(names) > MAX_FILES:
        text = f"an answer carries at most {MAX_FILES} files, not {len(names)}"
        return Problem(text, "files_too_many", most=MAX_FILES, count=len(names))
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        text = f"two files named {twice[0]}: give each its own name"
        return Problem(text, "files_same_name", name=twice[0])
    total = sum(sizes)
    if total > max_bytes:
        text = (
            f"the files come to {total} bytes together, over PD_ATTACHMENT_MAX_BYTES ({max_bytes})"
        )
        return Problem(text, "files_too_big", total=total, limit=max_bytes)
    return None


def mime_type(name: str) -> str:
    """The file's type by its name; ``application/octet-stream`` when none is known."""
    guessed, encoding = mimetypes.guess_type(name, strict=False)
    if guessed is None or encoding is not None:  # report.csv.gz is gzip, not csv
        return "application/gzip" if encoding == "gzip" else "application/octet-stream"
    return guessed


def claims_files(text: str, quoted: Iterable[str]) -> bool:
    """Whether ``text`` says files are attached, outside the ``quoted`` values (staff's or the
    requester's own words put into the letter, which may mention attachments of their own)."""
    for value in sorted((q for q in quoted if q), key=len, reverse=True):
        text = text.replace(value, " ")
    return _CLAIM.search(text) is not None


def text_refusal(text: str, quoted: Iterable[str], names: Sequence[str]) -> str | None:
    """Why a letter's text and its files disagree, or None: it claims files and has none, or
    it carries files it does not name."""
    if not names:
        if claims_files(text, quoted):
            return Problem("its text says files are attached, but it carries none", "files_claimed")
        return None
    unnamed = [n for n in names if n not in text]
    if unnamed:
        said = ", ".join(unnamed)
        return Problem(f"its text does not name the attached {said}", "files_unnamed", names=said)
    return None
