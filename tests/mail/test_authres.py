"""Authentication-Results (RFC 8601): only our MTA's results count, DMARC first, DKIM aligned."""

from __future__ import annotations

import pytest

from mail.authres import authenticated, parse

OURS = "mx.example-hikaku.co.jp"


def test_a_header_is_read_with_comments_quotes_and_versions() -> None:
    got = parse(
        f'{OURS} 1; dkim=pass (2048-bit key) header.d=example.jp header.b="a=b;c"; '
        "spf=pass smtp.mailfrom=h@example.jp; dmarc=pass (p=reject (nested)) header.from=example.jp"
    )
    assert got is not None and got.authserv_id == OURS
    assert [(r.method, r.result) for r in got.results] == [
        ("dkim", "pass"),
        ("spf", "pass"),
        ("dmarc", "pass"),
    ]
    assert got.results[0].properties["header.b"] == "a=b;c"
    assert parse(f"{OURS}; none") is not None
    assert parse("") is None and parse(";") is None


@pytest.mark.parametrize(
    ("headers", "domain", "ok"),
    [
        ([f"{OURS}; dmarc=pass header.from=example.jp"], "example.jp", True),
        ([f"{OURS.upper()}; dmarc=pass header.from=Example.JP"], "example.jp", True),
        ([f"{OURS}; dmarc=pass header.from=other.example"], "example.jp", False),
        (
            [f"{OURS}; dmarc=fail header.from=example.jp; dkim=pass header.d=example.jp"],
            "example.jp",
            False,
        ),
        ([f"{OURS}; dkim=pass header.d=mail.example.jp"], "example.jp", True),
        ([f"{OURS}; dkim=pass header.d=jp"], "example.jp", False),
        ([f"{OURS}; dkim=fail header.d=example.jp"], "example.jp", False),
        (["mx.attacker.example; dmarc=pass header.from=example.jp"], "example.jp", False),
        ([f"{OURS}.evil; dmarc=pass header.from=example.jp"], "example.jp", False),
        ([f"(comment) {OURS}; spf=pass smtp.mailfrom=example.jp"], "example.jp", False),
        ([], "example.jp", False),
    ],
)
def test_only_our_mta_saying_dmarc_or_aligned_dkim_passed_authenticates(
    headers: list[str], domain: str, ok: bool
) -> None:
    given = [("Authentication-Results", h) for h in headers]
    assert authenticated(given, OURS, domain) is ok
