"""What staff must be told about an incoming attachment before they open it, and whether its
bytes are a picture a browser may show inline.

An attachment is never refused or dropped (the raw mail keeps it whatever it is); it is flagged,
with reasons staff can read: ``oversized`` (over ``PD_ATTACHMENT_MAX_BYTES``), ``executable``
and ``script`` (a program, by its name, declared type or content: ``MZ``, ``ELF``, ``#!``...),
``html``, ``svg`` and ``xml`` (markup a browser would run or render), ``macro`` (an Office format
that carries macros), ``archive`` (cannot be previewed; what is inside is unknown) and ``type
mismatch`` (the content is not what the declared type or the file name says). The tables below
are the policy; the functions only look things up in them. Content is recognised by its first
bytes only, never by running or rendering it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OVERSIZED = "oversized"
EXECUTABLE = "executable"
SCRIPT = "script"
HTML = "html"
SVG = "svg"
XML = "xml"
MACRO = "macro"
ARCHIVE = "archive"
TYPE_MISMATCH = "type mismatch"

GENERIC_TYPES = frozenset(
    {"application/octet-stream", "application/unknown", "binary/octet-stream"}
)


@dataclass(frozen=True)
class Magic:
    """Content that starts with ``prefix`` (at ``offset``) is of ``media_type``; ``flag`` is the
    reason it is flagged whatever it is called ("" when harmless)."""

    prefix: bytes
    media_type: str
    flag: str = ""
    offset: int = 0


# First bytes -> what the content is. WebP is RIFF....WEBP: its tag sits at offset 8.
MAGIC: tuple[Magic, ...] = (
    Magic(b"\x89PNG\r\n\x1a\n", "image/png"),
    Magic(b"\xff\xd8\xff", "image/jpeg"),
    Magic(b"GIF87a", "image/gif"),
    Magic(b"GIF89a", "image/gif"),
    Magic(b"WEBP", "image/webp", offset=8),
    Magic(b"%PDF-", "application/pdf"),
    Magic(b"MZ", "application/x-msdownload", EXECUTABLE),
    Magic(b"\x7fELF", "application/x-executable", EXECUTABLE),
    Magic(b"\xcf\xfa\xed\xfe", "application/x-mach-binary", EXECUTABLE),
    Magic(b"\xfe\xed\xfa\xce", "application/x-mach-binary", EXECUTABLE),
    Magic(b"\xfe\xed\xfa\xcf", "application/x-mach-binary", EXECUTABLE),
    Magic(b"\xce\xfa\xed\xfe", "application/x-mach-binary", EXECUTABLE),
    Magic(b"\xca\xfe\xba\xbe", "application/java-vm", EXECUTABLE),
    Magic(b"#!", "text/x-script", SCRIPT),
    Magic(b"PK\x03\x04", "application/zip", ARCHIVE),
    Magic(b"PK\x05\x06", "application/zip", ARCHIVE),
    Magic(b"Rar!\x1a\x07", "application/vnd.rar", ARCHIVE),
    Magic(b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed", ARCHIVE),
    Magic(b"\x1f\x8b", "application/gzip", ARCHIVE),
    Magic(b"BZh", "application/x-bzip2", ARCHIVE),
    Magic(b"\xfd7zXZ\x00", "application/x-xz", ARCHIVE),
    Magic(b"ustar", "application/x-tar", ARCHIVE, offset=257),
    Magic(b"MSCF", "application/vnd.ms-cab-compressed", ARCHIVE),
    Magic(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),
)

RASTER_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


def _each(flag: str, endings: str) -> dict[str, str]:
    return dict.fromkeys(endings.split(), flag)


# File name endings -> the reason they are flagged.
FLAGGED_EXTENSIONS: dict[str, str] = {
    **_each(EXECUTABLE, "exe com scr msi msix msp dll pif cpl sys app apk jar bin elf dmg pkg lnk"),
    **_each(EXECUTABLE, "deb rpm class drv ocx msc ipa"),
    **_each(SCRIPT, "bat cmd ps1 psm1 vb vbs vbe js jse mjs wsf wsh hta sh bash zsh csh py pl rb"),
    **_each(SCRIPT, "php reg scf inf cgi command ksh phar psd1 pyc pyw url"),
    **_each(HTML, "html htm xhtml shtml mht mhtml"),
    **_each(SVG, "svg svgz"),
    **_each(XML, "xml xsl xslt"),
    **_each(MACRO, "docm dotm xlsm xltm xlam xlsb pptm potm ppsm ppam sldm"),
    **_each(ARCHIVE, "zip rar 7z tar gz tgz bz2 xz lzh lha cab iso arj zst z img vhd vhdx"),
}

# Declared media types -> the reason they are flagged (besides the families below).
FLAGGED_TYPES: dict[str, str] = {
    "text/html": HTML,
    "application/xhtml+xml": HTML,
    "image/svg+xml": SVG,
    "text/xml": XML,
    "application/xml": XML,
    "application/x-msdownload": EXECUTABLE,
    "application/x-dosexec": EXECUTABLE,
    "application/x-executable": EXECUTABLE,
    "application/vnd.microsoft.portable-executable": EXECUTABLE,
    "application/java-archive": EXECUTABLE,
    "application/x-sh": SCRIPT,
    "application/javascript": SCRIPT,
    "text/javascript": SCRIPT,
    "application/x-javascript": SCRIPT,
    "application/hta": SCRIPT,
    "text/vbscript": SCRIPT,
    "application/zip": ARCHIVE,
    "application/x-zip-compressed": ARCHIVE,
    "application/vnd.rar": ARCHIVE,
    "application/x-rar-compressed": ARCHIVE,
    "application/x-7z-compressed": ARCHIVE,
    "application/gzip": ARCHIVE,
    "application/x-gzip": ARCHIVE,
    "application/x-tar": ARCHIVE,
    "application/x-bzip2": ARCHIVE,
}

# Formats that are a ZIP (or OLE) container by design: their content does not contradict them.
CONTAINER_FORMATS = (
    "application/vnd.openxmlformats",
    "application/vnd.oasis.opendocument",
    "application/vnd.ms-",  # Excel, Word, PowerPoint, their macro-enabled formats, Outlook
    "application/msword",
    "application/epub+zip",
)

# The same type under other names.
ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png"}

# File name endings -> the type they promise, where content can contradict it.
PROMISED_BY_NAME = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "pdf": "application/pdf",
}

# Markup at the start of text content (after a BOM and white space), lower-cased.
_MARKUP = re.compile(rb"^(?:\xef\xbb\xbf)?\s*(<(?:!doctype\s+html|html|head|body|script|iframe"
                     rb"|svg|\?xml)\b)")  # fmt: skip
_SVG_ROOT = re.compile(rb"<svg\b")
_MACRO_PROJECT = b"vbaProject.bin"
_SNIFF = 1024


def sniff(data: bytes) -> Magic | None:
    """What the content's first bytes say it is, or None when they say nothing known."""
    for magic in MAGIC:
        if data.startswith(magic.prefix, magic.offset):
            if magic.media_type == "image/webp" and not data.startswith(b"RIFF"):
                continue
            return magic
    found = _MARKUP.match(data[:_SNIFF].lower())
    if found is None:
        return None
    tag = found.group(1)
    if tag.startswith(b"<svg") or _SVG_ROOT.search(data[:_SNIFF].lower()):
        return Magic(b"", "image/svg+xml", SVG)
    if tag.startswith(b"<?xml"):
        return Magic(b"", "application/xml", XML)
    return Magic(b"", "text/html", HTML)


def raster_type(data: bytes) -> str | None:
    """The image type of ``data`` when it really is a PNG, JPEG, GIF or WebP picture (by its
    first bytes, whatever it is called or declared as), else None. Never SVG: a browser runs
    the scripts an SVG carries."""
    magic = sniff(data)
    return magic.media_type if magic and magic.media_type in RASTER_TYPES else None


def is_raster_image(data: bytes) -> bool:
    """Whether ``data`` may be shown inline as a picture (see :func:`raster_type`)."""
    return raster_type(data) is not None


def _extension(name: str | None) -> str:
    base = (name or "").strip().rstrip(". ").lower()
    return base.rpartition(".")[2] if "." in base else ""


def _container(declared: str) -> bool:
    return declared.startswith(CONTAINER_FORMATS)


def flags(name: str | None, declared: str, data: bytes, *, size: int, max_bytes: int) -> list[str]:
    """The reasons to warn staff about an attachment called ``name``, declared as ``declared``,
    whose content is ``data`` (``size`` bytes in all); empty when there are none."""
    declared = ALIASES.get(declared.strip().lower(), declared.strip().lower())
    ext = _extension(name)
    found: list[str] = []
    if size > max_bytes:
        found.append(OVERSIZED)
    if ext in FLAGGED_EXTENSIONS:
        found.append(FLAGGED_EXTENSIONS[ext])
    if declared in FLAGGED_TYPES:
        found.append(FLAGGED_TYPES[declared])
    if "macroenabled" in declared:
        found.append(MACRO)
    magic = sniff(data)
    if magic is not None:
        if magic.flag and not (magic.flag == ARCHIVE and _container(declared)):
            found.append(magic.flag)
        if magic.flag == ARCHIVE and _MACRO_PROJECT in data:
            found.append(MACRO)  # an Office file with a VBA project, whatever it is called
        if _contradicts(magic, declared, ext):
            found.append(TYPE_MISMATCH)
    return list(dict.fromkeys(found))


def _contradicts(magic: Magic, declared: str, ext: str) -> bool:
    """The content is something else than the declared type or the name's ending promise."""
    promised = [
        t for t in (declared, PROMISED_BY_NAME.get(ext, "")) if t and t not in GENERIC_TYPES
    ]
    for wanted in promised:
        if wanted == magic.media_type:
            continue
        if magic.flag and FLAGGED_TYPES.get(wanted) == magic.flag:
            continue  # a program declared as another kind of program, an archive as another
        if magic.flag == ARCHIVE and _container(wanted):
            continue  # a .docx is a ZIP
        if magic.media_type == "application/x-ole-storage" and _container(wanted):
            continue
        if wanted in PROMISED_BY_NAME.values() or magic.flag in (EXECUTABLE, SCRIPT, HTML, SVG):
            return True  # a picture or PDF that is not one; a program passed off as anything
    return False
