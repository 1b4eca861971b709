"""Signed, expiring case-file links, and the session cookie a link is exchanged for.

A link is ``{PD_PUBLIC_URL}/cases/{REF}?t=TOKEN``: the token is ``USER.EXPIRY.MAC``, the MAC an
HMAC-SHA256 keyed with ``PD_LINK_SECRET`` over the reference, the Slack user ID and the expiry
(Unix seconds), so nobody without the key can make one, change its case, its user or its time,
and every replica (sharing the key) accepts it. The first request exchanges it for a session
cookie ``USER.EXPIRY.MAC`` whose MAC is over the user and its own expiry, under another label, so
a token is never a cookie nor the reverse. Checks compare in constant time and answer only "who"
or None: why a token failed is nobody's business (the page answers the same 403 for all).

A form on a page (the upload of answer files) carries a token of its own: an HMAC under a third
label over the session cookie it was made for, the case, the draft and its revision, so it is
good only in that session, for that revision, and dies with the cookie (``form_token``).

Nothing here reads a clock of its own: ``clock`` is injected (tests move time instead of
sleeping).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from bot.slack.ids import is_user_id

REF = re.compile(r"PD-\d{4}-\d{6}")
COOKIE = "pd_case_file"
# How long a session lasts once a link was exchanged: a working day. Staff status is asked of
# Slack at every request, so someone who leaves the channel loses access at once regardless.
SESSION = timedelta(hours=8)
_LINK, _SESSION, _FORM = b"pd-case-link", b"pd-case-session", b"pd-case-form"
_PART = re.compile(r"([A-Z0-9]{2,32})\.(\d{1,12})\.([A-Za-z0-9_-]{43})")

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Links:
    """Makes and checks the case-file links of one desk (``bot.wiring.case_file_links``)."""

    secret: str
    public_url: str  # no trailing slash
    ttl: timedelta
    session: timedelta = SESSION
    clock: Clock = _now

    def __repr__(self) -> str:  # the key never reaches a log or a traceback
        return f"Links(public_url={self.public_url!r}, ttl={self.ttl})"

    @property
    def secure(self) -> bool:
        """Whether browsers reach the desk over HTTPS (the cookie is then ``Secure``)."""
        return self.public_url.startswith("https:")

    @property
    def base_path(self) -> str:
        """The path PD_PUBLIC_URL puts before the desk's own (behind a proxy's prefix)."""
        return urlsplit(self.public_url).path.rstrip("/")

    @property
    def cookie_path(self) -> str:
        """The cookie goes only with the case-file pages."""
        return f"{self.base_path}/cases"

    def page_url(self, ref: str) -> str:
        return f"{self.public_url}/cases/{ref}"

    def url(self, ref: str, user: str) -> str:
        """The link that lets ``user`` open case ``ref`` until the link's lifetime is over."""
        expiry = int((self.clock() + self.ttl).timestamp())
        return f"{self.page_url(ref)}?t={self._signed(_LINK, ref, user, expiry)}"

    def user_of_token(self, token: str, ref: str) -> str | None:
        """Who ``token`` lets open ``ref`` now, or None (unsigned, altered, expired, another
        case's)."""
        return self._check(_LINK, token, ref)

    def cookie(self, user: str) -> tuple[str, int]:
        """A session cookie's value for ``user``, and its lifetime in seconds."""
        expiry = int((self.clock() + self.session).timestamp())
        return self._signed(_SESSION, "", user, expiry), int(self.session.total_seconds())

    def user_of_cookie(self, value: str) -> str | None:
        """Whose session ``value`` is, while it lasts; None otherwise."""
        return self._check(_SESSION, value, "")

    @property
    def origin(self) -> str:
        """PD_PUBLIC_URL's origin (``scheme://host[:port]``), as a browser sends it in ``Origin``."""
        return origin_of(self.public_url) or ""

    def form_token(self, cookie: str, ref: str, draft: int, revision: int) -> str:
        """The token a page's form for draft ``draft`` at ``revision`` carries in the session
        whose cookie value is ``cookie``."""
        return self._digest(_FORM, cookie, ref, str(draft), str(revision))

    def form_token_ok(self, token: str, cookie: str, ref: str, draft: int, revision: int) -> bool:
        """Whether ``token`` was made for this session, case, draft and revision (constant
        time; the cookie itself is checked by ``user_of_cookie``)."""
        wanted = self.form_token(cookie, ref, draft, revision)
        return hmac.compare_digest(token.encode(), wanted.encode())

    def _mac(self, label: bytes, ref: str, user: str, expiry: int) -> str:
        return self._digest(label, ref, user, str(expiry))

    def _digest(self, label: bytes, *parts: str) -> str:
        said = b"\0".join((label, *(p.encode() for p in parts)))
        digest = hmac.new(self.secret.encode(), said, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def _signed(self, label: bytes, ref: str, user: str, expiry: int) -> str:
        if not is_user_id(user):
            raise ValueError("a case-file link is for a Slack user ID")
        if label == _LINK and not REF.fullmatch(ref):
            raise ValueError("a case-file link names a case reference")
        return f"{user}.{expiry}.{self._mac(label, ref, user, expiry)}"

    def _check(self, label: bytes, value: str, ref: str) -> str | None:
        found = _PART.fullmatch(value or "")
        if found is None:
            return None
        user, expiry, mac = found[1], int(found[2]), found[3]
        wanted = self._mac(label, ref, user, expiry)
        if not hmac.compare_digest(mac.encode(), wanted.encode()):
            return None
        if self.clock().timestamp() >= expiry or not is_user_id(user):
            return None
        return user


def origin_of(url: str) -> str | None:
    """The origin of ``url`` as browsers serialise it (lower-case scheme and host, the port
    only when it is not the scheme's own), or None for anything but an http(s) URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in ("http", "https") or not host:
        return None
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    default = 443 if scheme == "https" else 80
    return f"{scheme}://{host}" + (f":{port}" if port not in (None, default) else "")
