"""Contact data taken out of text from mail before it is shown where more people read it (the
case channel): e-mail addresses, phone numbers, postal codes and account or member numbers.

Pure functions over strings. Japanese mail writes these many ways, so the patterns take
full-width digits and letters (``０９０－１２３４－５６７８``), the many hyphens and dashes
(``-‐‑–—−ー－``), ``〒``, parentheses around an area code and spaces (ASCII and ideographic). What
is redacted becomes a bracketed word saying what was there (``[phone]``); the words around it
stay. Each pattern is linear: no nested repetition.
"""

from __future__ import annotations

import re

EMAIL = "[email]"
PHONE = "[phone]"
POSTAL = "[postal code]"
NUMBER = "[number]"

_D = r"[0-9０-９]"  # a digit, half- or full-width (not other scripts' digits)
_H = r"[\-‐‑‒–—―−ーｰ－﹣]"  # a hyphen as people type it in Japanese and English mail
_S = r"[ \t\u3000]"  # a space, ASCII or ideographic
_ALNUM = r"[A-Za-z0-9Ａ-Ｚａ-ｚ０-９]"

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9Ａ-Ｚａ-ｚ０-９._%+\-＿．＋－])"  # from the start of a word: linear
    r"[A-Za-z0-9Ａ-Ｚａ-ｚ０-９._%+\-＿．＋－]+"
    r"\s?[@＠]\s?"
    r"[A-Za-z0-9Ａ-Ｚａ-ｚ０-９\-－]+(?:[.．][A-Za-z0-9Ａ-Ｚａ-ｚ０-９\-－]+)+"
)
# A label that says an account, member or customer number follows, then that number (letters
# and digits with at least one digit, hyphens inside).
_LABELLED = re.compile(
    r"(?P<label>(?:会員|お客様|顧客|契約|口座|注文|ご?利用者|ユーザー?|アカウント|カード|ポイントカード)"
    r"(?:番号|ＩＤ|ID|Ｎｏ|No|コード)|ログインID|会員ID|"
    r"\b(?:account|member(?:ship)?|customer|client|user|order|card)"
    r"(?:[ \t]*(?:no\.?|number|id|#))|\bID|ＩＤ|\bNo\.?|Ｎｏ．?)"
    rf"(?P<gap>{_S}*(?:[:：#＃.．=]|は)?{_S}*)"
    rf"(?P<value>(?:{_ALNUM}|{_H})*{_D}(?:{_ALNUM}|{_H})*)",
    re.IGNORECASE,
)
_SEP = rf"(?:{_S}*(?:{_H}|[()（）]){_S}*|{_S}+)"  # between the groups of a phone number
_INTERNATIONAL = re.compile(
    rf"[+＋]{_S}?{_D}{{1,3}}(?:(?:{_S}|{_H}|[.()（）]){{0,2}}{_D}){{6,13}}(?![0-9０-９])"
)
# 03-1234-5678, 090-1234-5678, 0120-123-456, 03(1234)5678, (03) 1234-5678, 03 1234 5678
_JAPANESE = re.compile(
    rf"(?<![0-9０-９])[(（]?[0０]{_D}{{1,4}}{_SEP}{_D}{{1,4}}{_SEP}{_D}{{3,4}}(?![0-9０-９])"
)
_POSTAL = re.compile(
    rf"〒{_S}*{_D}{{3}}{_S}*{_H}?{_S}*{_D}{{4}}(?![0-9０-９])"
    rf"|(?<![0-9０-９])[0-9０-９]{{3}}{_H}{_D}{{4}}(?![0-9０-９]|{_H}{_D})"
)
# A bare run of seven or more digits (a mobile number typed without hyphens, a member or card
# number), or four-digit groups as card numbers are written.
_DIGITS = re.compile(
    rf"(?<![0-9０-９]){_D}{{7,}}(?![0-9０-９])"
    rf"|(?<![0-9０-９]){_D}{{4}}(?:(?:{_S}|{_H}){_D}{{4}}){{2,3}}(?![0-9０-９])"
)


def phone_numbers(text: str) -> list[str]:
    """The phone numbers of ``text`` as written, in order (the patterns ``redact_contacts``
    takes out as ``[phone]``)."""
    found = [*_INTERNATIONAL.finditer(text), *_JAPANESE.finditer(text)]
    return [m.group(0) for m in sorted(found, key=lambda m: m.start())]


def redact_contacts(text: str) -> str:
    """``text`` with every e-mail address, phone number, postal code and account or member
    number replaced by a word saying what was there."""
    text = _EMAIL.sub(EMAIL, text)
    text = _LABELLED.sub(lambda m: f"{m['label']}{m['gap']}{NUMBER}", text)
    text = _INTERNATIONAL.sub(PHONE, text)
    text = _JAPANESE.sub(PHONE, text)
    text = _POSTAL.sub(POSTAL, text)
    return _DIGITS.sub(NUMBER, text)
