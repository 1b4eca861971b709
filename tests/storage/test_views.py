"""``storage.views.search``: a reference or subject matches by any part, a requester address only
as a whole (so a masked address cannot be recovered one character at a time)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from support import add_case

from storage import search, views

NOW = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)


def found(engine: Engine, text: str) -> list[str]:
    with Session(engine) as session:
        return [c.ref for c in views.search(session, text, limit=20).cases]


def test_the_requester_matches_only_by_the_whole_address(engine: Engine) -> None:
    with Session(engine) as session:
        ceo = add_case(session, "Ceo.Name@Example-Hikaku.co.jp", received=NOW, due=NOW)
        other = add_case(session, "hanako@example.jp", received=NOW - timedelta(days=1), due=NOW)
        session.commit()
    assert found(engine, "ceo.name@example-hikaku.co.jp") == [ceo]  # case insensitive
    assert found(engine, "  CEO.NAME@EXAMPLE-HIKAKU.CO.JP ") == [ceo]
    for part in ("ceo", "ceo.name@", "@example-hikaku.co.jp", "name@example-hikaku.co.j"):
        assert found(engine, part) == [], part  # no part of an address answers
    assert found(engine, "%%") == [] and found(engine, "__") == []
    for one in ("c", "%", "_"):  # one Latin character would match nearly everything
        with pytest.raises(search.QueryError):
            found(engine, one)
    assert found(engine, "hanako@example.jp") == [other]


def test_references_and_subjects_match_by_any_part(engine: Engine) -> None:
    with Session(engine) as session:
        ref = add_case(session, "a@example.jp", received=NOW, due=NOW, subject="開示請求の件")
        session.commit()
    assert found(engine, ref[-4:]) == [ref]
    assert found(engine, ref.lower()) == [ref]
    assert found(engine, "開示請求") == [ref]
    assert found(engine, "example") == []  # only in the address
