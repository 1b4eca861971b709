"""Case-file links and sessions (``bot.web.links``) and their settings: only the key makes them,
nothing in them can be changed, they end, and a link is never a session nor the reverse; a
form's token is good for one session, case, draft and revision; origins as browsers send them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot import settings, wiring
from bot.settings import SettingsError
from bot.web.links import Links, origin_of

SECRET = "k" * 32
NOW = datetime(2026, 3, 3, 1, 0, tzinfo=UTC)
REF, OTHER = "PD-2026-000001", "PD-2026-000002"
ALICE, BOB = "U0ALICE001", "U0BOB00001"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def links(clock: Clock | None = None, secret: str = SECRET) -> Links:
    return Links(
        secret, "https://desk.example.jp/privacy", timedelta(minutes=15), clock=clock or Clock()
    )


def token_of(url: str) -> str:
    return url.partition("?t=")[2]


def test_a_link_names_its_case_and_user_and_ends() -> None:
    clock = Clock()
    signer = links(clock)
    url = signer.url(REF, ALICE)
    assert url.startswith(f"https://desk.example.jp/privacy/cases/{REF}?t=")
    token = token_of(url)
    assert signer.user_of_token(token, REF) == ALICE
    assert signer.user_of_token(token, OTHER) is None  # another case
    assert links(clock, secret="x" * 32).user_of_token(token, REF) is None  # another key
    clock.now += timedelta(minutes=14, seconds=59)
    assert signer.user_of_token(token, REF) == ALICE
    clock.now += timedelta(seconds=1)
    assert signer.user_of_token(token, REF) is None


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t.replace(ALICE, BOB),
        lambda t: ".".join([*t.split(".")[:1], str(int(t.split(".")[1]) + 60), t.split(".")[2]]),
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
        lambda t: t.rsplit(".", 1)[0],
        lambda t: t + "=",
        lambda t: "",
        lambda t: t.lower(),
    ],
)
def test_nothing_in_a_token_can_be_changed(change: object) -> None:
    signer = links()
    token = token_of(signer.url(REF, ALICE))
    assert signer.user_of_token(change(token), REF) is None  # type: ignore[operator]


def test_a_link_is_not_a_session_and_a_session_is_not_a_link() -> None:
    clock = Clock()
    signer = links(clock)
    token = token_of(signer.url(REF, ALICE))
    cookie, lifetime = signer.cookie(ALICE)
    assert signer.user_of_cookie(cookie) == ALICE and lifetime == 8 * 3600
    assert signer.user_of_cookie(token) is None
    assert signer.user_of_token(cookie, REF) is None
    assert signer.user_of_token(cookie, "") is None
    clock.now += timedelta(hours=8)
    assert signer.user_of_cookie(cookie) is None


def test_the_key_is_never_shown() -> None:
    signer = links()
    assert SECRET not in repr(signer) and SECRET not in str(signer)
    assert signer.secure and signer.cookie_path == "/privacy/cases"
    assert not Links(SECRET, "http://127.0.0.1:8080", timedelta(minutes=1)).secure


def test_links_are_made_only_for_users_and_references() -> None:
    with pytest.raises(ValueError):
        links().url(REF, "S0GROUP001")
    with pytest.raises(ValueError):
        links().url("PD-2026-1", ALICE)


GOOD = {"PD_PUBLIC_URL": "https://desk.example.jp/", "PD_LINK_SECRET": SECRET}


def test_settings_build_the_links() -> None:
    found = settings.read({**GOOD, "PD_LINK_TTL_MINUTES": "30"})
    assert found.http.public_url == "https://desk.example.jp"
    signer = wiring.case_file_links(found)
    assert signer is not None and signer.ttl == timedelta(minutes=30)
    assert SECRET not in repr(found.http)
    assert settings.read(GOOD).http.link_ttl_minutes == 15
    assert wiring.case_file_links(settings.read({})) is None


@pytest.mark.parametrize(
    ("values", "said"),
    [
        ({"PD_PUBLIC_URL": "https://desk.example.jp"}, "PD_PUBLIC_URL needs PD_LINK_SECRET"),
        ({**GOOD, "PD_LINK_SECRET": "short-secret"}, "PD_LINK_SECRET must be at least 32 bytes"),
        ({**GOOD, "PD_PUBLIC_URL": "ftp://desk.example.jp"}, "PD_PUBLIC_URL must be"),
        ({**GOOD, "PD_PUBLIC_URL": "https://desk.example.jp/?a=1"}, "without query"),
        ({**GOOD, "PD_PUBLIC_URL": "desk.example.jp"}, "PD_PUBLIC_URL must be"),
        ({**GOOD, "PD_LINK_TTL_MINUTES": "0"}, "PD_LINK_TTL_MINUTES must be"),
        ({**GOOD, "PD_LINK_TTL_MINUTES": "1441"}, "from 1 to 1440"),
        ({**GOOD, "PD_LINK_SECERT": SECRET}, "did you mean PD_LINK_SECRET"),
    ],
)
def test_bad_link_settings_are_refused_in_one_line(values: dict[str, str], said: str) -> None:
    with pytest.raises(SettingsError) as refused:
        settings.read(values)
    assert said in str(refused.value)
    assert "short-secret" not in str(refused.value)


def test_serve_wants_slack_to_hand_out_the_links() -> None:
    base = {
        "PD_MAILBOX": "imaps://desk@imap.example.jp/INBOX",
        "PD_IMAP_PASSWORD": "pw",
        "PD_SMTP_URL": "smtps://desk@smtp.example.jp",
        "PD_SMTP_PASSWORD": "pw",
        "PD_APPROVERS": "U0APPROVE1",
    }
    with pytest.raises(SettingsError, match="PD_PUBLIC_URL needs Slack"):
        settings.read({**base, **GOOD}, command="serve")
    slack = {"SLACK_BOT_TOKEN": "xoxb-1", "PD_SLACK_CHANNEL": "C0DESK0001"}
    settings.read({**base, **GOOD, **slack}, command="serve")


def test_a_form_token_is_good_for_its_session_case_draft_and_revision_only() -> None:
    signer = links()
    cookie, _ = signer.cookie(ALICE)
    other_cookie, _ = links(secret="o" * 32).cookie(ALICE)
    token = signer.form_token(cookie, REF, 7, 2)
    assert signer.form_token_ok(token, cookie, REF, 7, 2)
    for changed in (
        (other_cookie, REF, 7, 2),
        (cookie, OTHER, 7, 2),
        (cookie, REF, 8, 2),
        (cookie, REF, 7, 3),
    ):
        assert not signer.form_token_ok(token, *changed), changed
    assert not links(secret="o" * 32).form_token_ok(token, cookie, REF, 7, 2)
    assert not signer.form_token_ok("", cookie, REF, 7, 2)
    assert token not in (cookie, signer.url(REF, ALICE))


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://desk.example.jp/privacy", "https://desk.example.jp"),
        ("HTTPS://Desk.Example.JP:443/cases/PD-2026-000001", "https://desk.example.jp"),
        ("http://127.0.0.1:8080/cases", "http://127.0.0.1:8080"),
        ("http://[::1]:8080/", "http://[::1]:8080"),
        ("null", None),
        ("javascript:alert(1)", None),
        ("http://host:99999/", None),
    ],
)
def test_origins_are_compared_as_browsers_send_them(url: str, origin: str | None) -> None:
    assert origin_of(url) == origin
    assert links().origin == "https://desk.example.jp"
