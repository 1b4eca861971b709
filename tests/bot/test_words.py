"""The staff texts (bot/words): one file per language, the same keys in each."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest


def test_staff_texts_have_the_same_keys_and_placeholders_in_every_language() -> None:
    from bot.words import LANGUAGES, words
    from handlers.intents import PRIVACY

    ja, *others = (words(lang) for lang in LANGUAGES)
    assert {f"intent.{i}" for i in PRIVACY} <= ja.keys()
    for other in others:
        assert other.keys() == ja.keys()
        for key in sorted(ja.keys()):
            assert other.placeholders(key) == ja.placeholders(key), key
    with pytest.raises(ValueError, match="ja, en"):
        words("fr")


def test_a_day_reads_in_the_staff_language_with_its_weekday_in_tokyo() -> None:
    from bot.words import words

    late_evening_utc = datetime(2026, 12, 3, 20, 0, tzinfo=UTC)  # Friday morning in Tokyo
    assert words("ja").day(late_evening_utc) == "2026-12-04（金）"
    assert words("en").day(late_evening_utc) == "2026-12-04 (Fri)"
    assert words("en").day(date(2026, 12, 6)) == "2026-12-06 (Sun)"
