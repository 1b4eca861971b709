"""``handlers.redact``: contact data in Japanese and English mail, however typed, is taken out;
the words around it and the desk's own case references stay."""

from __future__ import annotations

import pytest
from support import growth

from handlers.redact import EMAIL, NUMBER, PHONE, POSTAL, redact_contacts


@pytest.mark.parametrize(
    ("text", "gone", "said"),
    [
        ("連絡先はhanako.sato@example.jpです。", "hanako.sato@example.jp", EMAIL),
        ("Mail me at Taro+desk@mail.example.co.jp, thanks", "Taro+desk@mail.example.co.jp", EMAIL),
        ("ｈａｎａｋｏ＠ｅｘａｍｐｌｅ．ｊｐ まで", "ｈａｎａｋｏ＠ｅｘａｍｐｌｅ．ｊｐ", EMAIL),
        ("電話番号は090-1234-5678です", "090-1234-5678", PHONE),
        ("電話：０９０－１２３４－５６７８", "０９０－１２３４－５６７８", PHONE),
        ("TEL 03(1234)5678 まで", "03(1234)5678", PHONE),
        ("（03）1234-5678", "03）1234-5678", PHONE),
        ("03 1234 5678", "03 1234 5678", PHONE),
        ("フリーダイヤル0120-123-456", "0120-123-456", PHONE),
        ("携帯 090ー1234ー5678", "090ー1234ー5678", PHONE),
        ("call +81-90-1234-5678 today", "+81-90-1234-5678", PHONE),
        ("+81 3 1234 5678", "+81 3 1234 5678", PHONE),
        ("+1 (415) 555-0100", "+1 (415) 555-0100", PHONE),
        ("携帯09012345678です", "09012345678", NUMBER),
        ("〒150-0001 東京都渋谷区", "150-0001", POSTAL),
        ("〒１５０－０００１", "１５０－０００１", POSTAL),
        ("〒1500001", "1500001", POSTAL),
        ("住所 150-0001 東京都", "150-0001", POSTAL),
        ("会員番号：12345678", "12345678", NUMBER),
        ("会員番号 A-1234", "A-1234", NUMBER),
        ("お客様番号は１２３４５６です", "１２３４５６", NUMBER),
        ("顧客ID: AB12345", "AB12345", NUMBER),
        ("ID：987654", "987654", NUMBER),
        ("Member No. 552211", "552211", NUMBER),
        ("account number: 00123", "00123", NUMBER),
        ("カード 4111 1111 1111 1111", "4111 1111 1111 1111", NUMBER),
        ("口座 1234567", "1234567", NUMBER),
    ],
)
def test_contact_data_is_redacted(text: str, gone: str, said: str) -> None:
    redacted = redact_contacts(text)
    assert gone not in redacted, redacted
    assert said in redacted, redacted


def test_words_around_and_references_stay() -> None:
    text = (
        "PD-2026-000123 について。2026年3月10日に申し込みました。"
        "会員番号：12345678、電話 090-1234-5678、hanako@example.jp、〒150-0001。"
    )
    assert redact_contacts(text) == (
        "PD-2026-000123 について。2026年3月10日に申し込みました。"
        f"会員番号：{NUMBER}、電話 {PHONE}、{EMAIL}、〒{POSTAL}。".replace(f"〒{POSTAL}", POSTAL)
    )
    assert redact_contacts("Please delete my data by 2026-03-31.") == (
        "Please delete my data by 2026-03-31."
    )
    assert redact_contacts("個人情報を削除してください。") == "個人情報を削除してください。"


def test_long_input_is_linear() -> None:
    # Ten times the text costs about ten times the work (measured 6-17x); a pattern that goes
    # back over the text from every position costs about a hundred times (measured 71x from 2,000
    # to 20,000 characters). 2,000 -> 20,000 first, so such a pattern fails within seconds, then
    # 20,000 -> 200,000 characters.
    for unit in ("a", "1", "-1", "ID", "0-"):
        for chars in (2_000, 20_000):
            times = growth(lambda n, unit=unit: redact_contacts(unit * (n // len(unit))), chars)
            assert times < 40, (unit, chars, times)
