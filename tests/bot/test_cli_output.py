"""The command line's output helpers: tables aligned as a terminal shows them, Tokyo dates."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from bot.cli.output import left, mask, table, tokyo_day, tokyo_time, width


def test_japanese_takes_two_columns_and_combining_marks_none() -> None:
    assert width("abc") == 3
    assert width("削除依頼") == 8
    assert width("ｶﾅ") == 2  # halfwidth katakana is narrow
    assert width("e\u0301") == 1


def test_table_columns_line_up_on_screen_with_japanese_cells() -> None:
    out = io.StringIO()
    table(("case", "subject", "due"), [("PD-1", "削除のお願い", "x"), ("PD-22", "hello", "y")], out)
    lines = out.getvalue().splitlines()
    # the third column starts at the same screen column on every line
    starts = {width(line[: line.rindex(" ") + 1]) for line in lines}
    assert len(starts) == 1, lines
    assert lines[1] == "PD-1   削除のお願い  x"


def test_tokyo_dates_and_time_left() -> None:
    moment = datetime(2026, 3, 31, 16, 30, tzinfo=UTC)  # 01:30 on 1 April in Tokyo
    assert tokyo_day(moment.isoformat()) == "2026-04-01"
    assert tokyo_time(moment) == "2026-04-01 01:30 JST"
    assert tokyo_time(None) == "-" and tokyo_day(None) == ""
    assert left(moment, moment - timedelta(days=2)) == "2.0d left"
    assert left(moment, moment + timedelta(hours=36)) == "1.5d OVERDUE"


def test_mask_keeps_the_first_letter_and_the_domain() -> None:
    assert mask("mika@example.jp") == "m***@example.jp"
    assert mask("") == ""
