"""Which files an answer may carry, and whether its text tells the truth about them.

Pure rules over names, bytes and text; ``bot.replies`` stores the files and applies these at
``draft --attach`` / ``attach`` and again at approval. A file that could run on the requester's
machine or in their browser (an executable, a script, HTML) is refused by its name and by its
first bytes, whatever it is called; sizes are held to ``PD_ATTACHMENT_MAX_BYTES``. A draft's text
must not say that files are attached when none are, and must name every file it carries, so a
letter never promises files it does not send nor sends files it does not mention.

A ZIP archive is looked into, never unpacked to disk: each entry is read in bounded chunks (its
header's sizes are not believed) and the archive is refused when an entry is of a type never sent
(by its name or its first bytes, as above), is encrypted (what it holds cannot be seen), is an
archive inside an archive inside it (one level is looked into, no more) or one the desk cannot
look into, when it holds more than ``ZIP_MAX_ENTRIES`` entries, or when it unpacks to more than
``ZIP_MAX_RATIO`` times its own size or ``ZIP_MAX_UNPACKED`` bytes (a zip bomb). Office and
OpenDocument files are ZIP archives too: they are held to the limits, not to the types.

Every refusal is a ``Problem``: English (it is a ``str``), with a key and values so staff can be
told it in their own language.
"""

from __future__ import annotations

import io
import mimetypes
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from handlers.attachments import (
    ARCHIVE,
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
    "application/x-msdownload": ("a Windows program", "program_windows"),
    "application/x-executable": ("a Linux program", "program_linux"),
    "application/x-mach-binary": ("a macOS program", "program_macos"),
    "application/java-vm": ("a macOS or Java program", "program_java"),
    "text/x-script": ("a script", "program_script"),
}
_MARKUP = re.compile(rb"<\s*(?:!doctype\s+html|html|script|iframe|svg)\b", re.IGNORECASE)
_SNIFF = 4096  # bytes of a file looked at for markup

# ZIP archives: what an answer's archive may hold and unpack to.
ZIP_MAX_ENTRIES = 1000  # entries, those of an archive inside it counted in
ZIP_MAX_DEPTH = 1  # an archive inside the archive is looked into; one inside that is refused
ZIP_MAX_UNPACKED = 256 * 1024 * 1024  # bytes all entries unpack to together, at most...
ZIP_MAX_RATIO = 100  # ...and at most this many times the archive's own size
_ZIP_FLOOR = 1024 * 1024  # a small archive may always unpack to this much (text packs well)
_ZIP_CHUNK = 64 * 1024  # bytes unpacked at a time
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_ENCRYPTED = 0x1 | 0x40  # general purpose flags: encrypted, strongly encrypted
# ZIP archives that are documents: held to the limits, not looked into for types.
DOCUMENT_SUFFIXES = frozenset(("docx", "xlsx", "pptx", "odt", "ods", "odp", "odg", "epub"))
ARCHIVE_SUFFIXES = frozenset(ext for ext, flag in FLAGGED_EXTENSIONS.items() if flag == ARCHIVE)

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


def refusal(name: str, data: bytes, *, max_bytes: int) -> Problem | None:
    """Why ``data`` under ``name`` cannot be sent to a requester, or None."""
    if not name:
        return Problem("a file needs a name", "file_unnamed")
    if len(name) > MAX_NAME:
        short = f"{name[:40]}…"
        text = f"{short}: a file name has at most {MAX_NAME} characters"
        return Problem(text, "file_name_long", name=short, most=MAX_NAME)
    if not data:
        return Problem(f"{name} is empty", "file_empty", name=name)
    if len(data) > max_bytes:
        text = f"{name} is {len(data)} bytes, over PD_ATTACHMENT_MAX_BYTES ({max_bytes})"
        return Problem(text, "file_over", name=name, size=len(data), limit=max_bytes)
    return _type_refusal(name, data) or _archive_refusal(name, data)


def _suffix(name: str) -> str:
    return name.rstrip(". ").rpartition(".")[2].lower() if "." in name else ""


def _type_refusal(name: str, head: bytes) -> Problem | None:
    """Why a file called ``name`` whose first bytes are ``head`` is of a type never sent."""
    suffix = _suffix(name)
    if suffix in REFUSED_SUFFIXES:
        text = f"{name}: .{suffix} files are not sent (programs, scripts and web pages never are)"
        return Problem(text, "file_suffix", name=name, suffix=suffix)
    magic = sniff(head)
    if magic is not None and magic.flag in (EXECUTABLE, SCRIPT):
        what = Problem(*_PROGRAM_NAMES.get(magic.media_type, ("a program", "program_other")))
        text = f"{name} is {what} by its content; programs and scripts are not sent"
        return Problem(text, "file_program", name=name, what=what)
    if _MARKUP.search(head[:_SNIFF].lstrip(b"\xef\xbb\xbf \t\r\n")):
        text = f"{name} holds HTML or script by its content; web pages are not sent"
        return Problem(text, "file_markup", name=name)
    return None


class _Budget:
    """What the entries of one archive (those of archives inside it included) may still take."""

    def __init__(self, size: int) -> None:
        self.unpacked = min(ZIP_MAX_UNPACKED, max(_ZIP_FLOOR, ZIP_MAX_RATIO * size))
        self.entries = ZIP_MAX_ENTRIES


def _archive_refusal(
    name: str, data: bytes, *, depth: int = 0, budget: _Budget | None = None
) -> Problem | None:
    """Why the ZIP archive ``data`` (called ``name``) cannot go, or None (also when it is no
    ZIP archive). Nothing is written to disk; each entry is unpacked in memory, a chunk at a
    time, and only while the budget of the outermost archive lasts."""
    if not data.startswith(_ZIP_MAGIC):
        return None
    budget = budget or _Budget(len(data))
    document = depth == 0 and _suffix(name) in DOCUMENT_SUFFIXES
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = [i for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError):
        return Problem(f"{name} is a ZIP archive that cannot be read", "zip_unreadable", name=name)
    budget.entries -= len(entries)
    if budget.entries < 0:
        text = f"{name} holds more than {ZIP_MAX_ENTRIES} files"
        return Problem(text, "zip_too_many", name=name, most=ZIP_MAX_ENTRIES)
    for info in entries:
        entry = " ".join(info.filename.split())[:MAX_NAME] or "?"
        if info.flag_bits & _ENCRYPTED:
            text = f"{name}: {entry} is encrypted, so what it holds cannot be seen"
            return Problem(text, "zip_encrypted", name=name, entry=entry)
        found = _unpack(archive, info, budget, whole=not document)
        if isinstance(found, Problem):
            return Problem(f"{name}: {entry} {found}", found.key, name=name, entry=entry)
        if document:
            continue
        problem = _type_refusal(entry, found[:_SNIFF]) or _inner_refusal(
            entry, found, depth, budget
        )
        if problem is not None:
            text = f"{name} holds {problem}"
            return Problem(text, "zip_holds", name=name, problem=problem)
    return None


def _inner_refusal(entry: str, data: bytes, depth: int, budget: _Budget) -> Problem | None:
    """An archive inside an archive: looked into while ``ZIP_MAX_DEPTH`` allows; an archive the
    desk cannot look into (RAR, 7z, gzip...) is refused, as what it holds is unknown."""
    magic = sniff(data[:_SNIFF])
    is_zip = data.startswith(_ZIP_MAGIC)
    named = _suffix(entry) in ARCHIVE_SUFFIXES
    if not is_zip and not named and (magic is None or magic.flag != ARCHIVE):
        return None
    if not is_zip:
        text = f"{entry}, an archive the desk cannot look into"
        return Problem(text, "zip_opaque", entry=entry)
    if depth + 1 > ZIP_MAX_DEPTH:
        text = f"{entry}, an archive inside an archive inside an archive"
        return Problem(text, "zip_nested", entry=entry)
    return _archive_refusal(entry, data, depth=depth + 1, budget=budget)


def _unpack(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: _Budget, *, whole: bool
) -> bytes | Problem:
    """The entry's bytes (its first ``_SNIFF`` only unless ``whole`` or it is an archive),
    counted against ``budget`` as they unpack; a ``Problem`` when the budget runs out (a zip
    bomb, whatever its header says) or the entry does not unpack as its header says."""
    kept = bytearray()
    keep_all = whole
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(_ZIP_CHUNK):
                budget.unpacked -= len(chunk)
                if budget.unpacked < 0:
                    return Problem(
                        "unpacks to far more than the archive's size (a zip bomb)", "zip_bomb"
                    )
                if not kept and whole:  # only an archive inside is kept whole
                    keep_all = chunk.startswith(_ZIP_MAGIC)
                if keep_all or len(kept) < _SNIFF:
                    kept += chunk if keep_all else chunk[: _SNIFF - len(kept)]
    except (zipfile.BadZipFile, ValueError, EOFError, OSError, NotImplementedError):
        return Problem(
            "does not unpack as its header says (a damaged archive or a zip bomb)", "zip_damaged"
        )
    return bytes(kept)


def set_refusal(names: Sequence[str], sizes: Sequence[int], *, max_bytes: int) -> Problem | None:
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


def text_refusal(text: str, quoted: Iterable[str], names: Sequence[str]) -> Problem | None:
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
