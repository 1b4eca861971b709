"""Who a requester is, as plain keys that compare: their phone number and their name, written
the many ways people write them, folded so the same person's cases find each other.

Pure functions over strings. A phone number is taken from the requester's own text (the newest
text and the signature, never the quoted history, which holds our mail and others'), the first
one that is not the desk's own; it is kept as digits only, a Japanese ``+81`` written as the
domestic ``0`` (``+81 90-1234-5678`` and ``090（1234）5678`` are one key). A name is NFKC-folded,
case-folded and stripped of spaces and honorifics (``佐藤 花子 様`` and ``佐藤花子`` are one key).
Two cases are the same requester's when their addresses are equal, or when both their names and
their phones are: a name alone is never enough (many people share one).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from handlers.redact import phone_numbers

PHONE_MAX = 32  # digits kept: the storage column's width
_NOT_DIGIT = re.compile(r"\D")
_SPACE = re.compile(r"[\s\u3000・･.,]+")
_HONORIFICS = ("様", "さま", "さん", "殿")


def phone_key(written: str) -> str:
    """The digits of a phone number as written, ``+81`` folded to a leading ``0``; "" if too
    short to be one (fewer than 9 digits)."""
    digits = _NOT_DIGIT.sub("", unicodedata.normalize("NFKC", written))
    if written.lstrip().startswith(("+", "＋")) and digits.startswith("81"):
        digits = "0" + digits[2:].removeprefix("0")
    return digits[:PHONE_MAX] if len(digits) >= 9 else ""


def requester_phone(texts: Iterable[str], *, ours: Iterable[str] = ()) -> str:
    """The key of the first phone number in ``texts`` that is not one of ``ours`` (the desk's
    own numbers, which requesters quote); "" when there is none."""
    skip = {phone_key(p) for p in ours} - {""}
    for text in texts:
        for written in phone_numbers(text):
            key = phone_key(written)
            if key and key not in skip:
                return key
    return ""


def name_key(name: str) -> str:
    """A requester's name folded for comparison; "" for no name."""
    folded = _SPACE.sub("", unicodedata.normalize("NFKC", name).casefold())
    for honorific in _HONORIFICS:
        folded = folded.removesuffix(honorific)
    return folded
