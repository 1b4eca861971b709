"""The case-file pages on the HTTP port: a case, its attachments, and search, for staff only.

Routes (under ``/cases``, the only path the session cookie is sent to)::

    GET /cases/{REF}?t=TOKEN     exchange a signed link for the session cookie, 303 to the page
    GET /cases/{REF}             the case file (facts, every message whole, drafts, notes, trail)
    GET /cases/{REF}/attachments/{N}   attachment N as a download
    GET /cases/{REF}/images/{N}  attachment N inline, only when its bytes are a raster image
    POST /cases/{REF}/drafts/{ID}/files   answer files for a waiting draft (the one form)
    GET /cases?q=TEXT            search
    GET /cases/desk.css          the pages' style sheet (no case data)

Every request but the style sheet must carry a valid token or cookie of a user Slack still says
is staff (``bot.slack.staff``, asked at every request); anything else gets ``forbidden_page``, the one
403 body, whatever was wrong. Every text is in the staff language (``PD_STAFF_LANGUAGE``, the
``[web]`` staff texts), the page's ``lang`` too. Pages are server-rendered (Jinja2, autoescaped), load nothing but
the desk's own style sheet, and are sent with ``PAGE_HEADERS``; attachments with
``FILE_HEADERS`` (a download, ``nosniff``, a sandboxing CSP). Every opening, attachment and
search is audited with the Slack user as actor. Logs carry the reference and the user ID, never a
token, a query, a file name or a word of a case.

The one form, the upload of answer files to a draft waiting for approval, does what ``privacy-desk
attach DRAFT_ID FILE... --as USER`` does (``Replies.attach``: a new revision, the files' names and
SHA-256 audited, the older revision's approval refused) and answers 303 back to the page. Beyond
the cookie's SameSite=Strict it must come from PD_PUBLIC_URL's origin (``Sec-Fetch-Site:
same-origin`` where the browser sends it, else ``Origin``, else ``Referer``) and carry the token of its session, case, draft and revision
(``Links.form_token``), read from the fields before any file's bytes; anything else is the 403.
The body is read as a stream: no file beyond PD_ATTACHMENT_MAX_BYTES, nor files beyond it
together, is held in memory (413). A refusal (too big, a dangerous type, a draft approved or
changed since) is the case page again with the reason, and nothing is stored.
"""

from __future__ import annotations

import hashlib
import html
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any, Protocol
from urllib.parse import quote

import jinja2
from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from sqlalchemy import Engine
from sqlmodel import Session

from bot import casefile, threads
from bot.casefile import CaseFile
from bot.replies import DraftChanged, NewFile, Replies, ReplyError, takes_files
from bot.slack.blocks import DRAFT_READ, said
from bot.slack.staff import AUDIT_ACTION, Verdict
from bot.web import model
from bot.web.links import COOKIE, REF, Links, origin_of
from bot.web.model import may_show_inline
from bot.words import DEFAULT, Words
from bot.words import words as staff_words
from handlers import answer_files
from handlers.attachments import raster_type
from handlers.clock import TOKYO
from storage import repo, views
from storage.db import writer
from storage.models import Draft

log = logging.getLogger("privacy_desk.web")

SEARCH_LIMIT = 100
STYLE = "desk.css"
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}
FILE_HEADERS = {
    **PAGE_HEADERS,
    "Content-Security-Policy": "sandbox; default-src 'none'; frame-ancestors 'none'",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def refused_page(status: int, text: str, *, w: Words) -> str:
    """A short page of one sentence in the staff language: the 403 every request that may not
    see a case gets (``web.forbidden``, whatever was wrong), or the 503 when Slack cannot say
    who is staff (``web.unsure``)."""
    return (
        f'<!doctype html><html lang="{w.language}"><meta charset=utf-8><title>{status}</title>'
        f"<p>{html.escape(text)}</p></html>\n"
    )


def forbidden_page(w: Words) -> str:
    return refused_page(403, w("web.forbidden"), w=w)


UPLOAD_CHUNK = 64 * 1024  # bytes of an upload read at a time
FORM_FIELD_MAX = 256  # bytes of the form's own fields (its token, the revision)
# What a form's body may carry beyond its files: boundaries and each part's headers.
FORM_OVERHEAD = 16 * 1024 + answer_files.MAX_FILES * 1024

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class StaffCheck(Protocol):
    """``bot.slack.staff.Staff``: whether a Slack user is staff, asked now."""

    async def check(self, user: str) -> Verdict: ...


class _Forbidden(Exception):
    """An upload that is not our own form in this session: answered with the one 403."""


class _TooLarge(Exception):
    """An upload beyond PD_ATTACHMENT_MAX_BYTES: answered 413, with the reason (in the staff
    language: ``said``), on the page."""

    def __init__(self, said: str) -> None:
        super().__init__(said)
        self.said = said


def _tokyo(value: datetime | None) -> str:
    return value.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M JST") if value else "—"


def _filesize(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    return f"{size / 1024:.1f} KB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MB"


@cache
def _environment() -> jinja2.Environment:
    """Jinja2 over ``templates/web`` (autoescaped: every value from mail is text, never markup)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("templates", "web"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["tokyo"] = _tokyo
    env.filters["filesize"] = _filesize
    return env


@cache
def _style() -> bytes:
    return (resources.files("templates") / "web" / STYLE).read_bytes()


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(
        status=status, text=text, content_type="text/html", charset="utf-8", headers=PAGE_HEADERS
    )


def _page(name: str, w: Words, status: int = 200, **values: Any) -> web.Response:
    """A page in the staff language (``w``: its texts, ``<html lang>``); ``said(table, name)`` in
    the templates names a status, a kind, an event... as the staff texts do, else as stored."""

    def named(table: str, name: object) -> str:
        return "" if name is None else said(w, f"{table}.{name}", str(name))

    text = _environment().get_template(name).render(w=w, said=named, **values)
    return _html(text, status)


def _disposition(kind: str, name: str | None, n: int) -> str:
    """RFC 6266: an ASCII fallback name and the real one (Japanese included) as ``filename*``."""
    name = (name or "").replace("\r", " ").replace("\n", " ").strip() or f"attachment-{n}"
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name
    )
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


@dataclass(frozen=True)
class CaseFileSite:
    """The case-file pages of one desk: its database, its links and who is staff."""

    engine: Engine
    links: Links
    staff: StaffCheck
    max_bytes: int  # PD_ATTACHMENT_MAX_BYTES: a larger attachment is flagged (and never inline)
    replies: Replies | None = None  # answer files are attached by it; None: no upload form
    words: Words = field(default_factory=lambda: staff_words(DEFAULT))  # PD_STAFF_LANGUAGE

    def forbidden(self) -> web.Response:
        """The one answer to every request that may not see a case: nothing about why."""
        return _html(forbidden_page(self.words), 403)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/cases", self._guarded(self.search)),
            web.get(f"/cases/{STYLE}", self.style),
            web.get("/cases/{ref}", self._guarded(self.case)),
            web.get("/cases/{ref}/attachments/{n}", self._guarded(self.attachment)),
            web.get("/cases/{ref}/images/{n}", self._guarded(self.image)),
            web.post("/cases/{ref}/drafts/{draft}/files", self._guarded(self.upload)),
        ]

    # ---- who asks ------------------------------------------------------------------------

    def _guarded(
        self, serve: Callable[[web.Request, str], Awaitable[web.StreamResponse]]
    ) -> Handler:
        """``serve(request, user)`` for staff holding a valid link or cookie; the 403 for anyone
        else, and a 500 without a traceback should the page itself fail."""

        async def handler(request: web.Request) -> web.StreamResponse:
            try:
                return await self._answer(request, serve)
            except web.HTTPException:
                raise
            except Exception as exc:  # never a traceback (which would carry the URL) in the log
                log.error("case-file page failed: %s", type(exc).__name__)
                return web.Response(status=500, text=self.words("web.failed") + "\n")

        return handler

    async def _answer(
        self,
        request: web.Request,
        serve: Callable[[web.Request, str], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        ref = request.match_info.get("ref")
        if ref is not None and not REF.fullmatch(ref):
            return self.forbidden()
        token = request.query.get("t")
        if token is not None and request.method != "GET":  # a link is exchanged only by GET
            log.warning("case-file request refused: a link used for a %s", request.method)
            return self.forbidden()
        if token is not None:  # a link: exchanged for the cookie, then the page without it
            user = self.links.user_of_token(token, ref) if ref is not None else None
        else:
            user = self.links.user_of_cookie(request.cookies.get(COOKIE, ""))
        if user is None:
            log.warning("case-file request refused: no valid link or session")
            return self.forbidden()
        verdict = await self.staff.check(user)
        if verdict is not Verdict.STAFF:
            log.warning("case-file request of %s refused: %s", user, verdict.value)
            await threads.db(_refused, self.engine, user)
            if verdict is Verdict.UNKNOWN:
                return _html(refused_page(503, self.words("web.unsure"), w=self.words), 503)
            return self.forbidden()
        if token is not None and ref is not None:
            value, lifetime = self.links.cookie(user)
            answer = web.Response(
                status=303, headers={**PAGE_HEADERS, "Location": self.links.page_url(ref)}
            )
            answer.set_cookie(
                COOKIE,
                value,
                max_age=lifetime,
                path=self.links.cookie_path,
                secure=self.links.secure,
                httponly=True,
                samesite="Strict",
            )
            log.info("%s: case-file link of %s exchanged for a session", ref, user)
            return answer
        return await serve(request, user)

    # ---- pages -----------------------------------------------------------------------------

    async def style(self, request: web.Request) -> web.Response:
        return web.Response(
            body=_style(), content_type="text/css", charset="utf-8", headers=PAGE_HEADERS
        )

    async def case(self, request: web.Request, user: str) -> web.StreamResponse:
        return await self._case_page(request, user)

    async def _case_page(
        self,
        request: web.Request,
        user: str,
        *,
        refusal: model.Refusal | None = None,
        status: int = 200,
    ) -> web.StreamResponse:
        ref = request.match_info["ref"]
        opened = await threads.db(
            _open_case, self.engine, ref, user, self.max_bytes, self.links.clock()
        )
        if opened is None:
            return _page(
                "missing.html.j2", self.words, base=self.links.base_path, query="", ref=ref
            )
        found, files = opened
        log.info("%s: case file opened by %s", ref, user)
        cookie = request.cookies.get(COOKIE, "")
        forms = {
            d.id: self.links.form_token(cookie, ref, d.id, d.revision)
            for d in found.drafts
            if self.replies is not None and d.status == "draft" and takes_files(d.template)
        }
        values = model.page_values(found, w=self.words, files=files, forms=forms, refusal=refusal)
        return _page(
            "case.html.j2", self.words, status, base=self.links.base_path, query="", **values
        )

    # ---- the upload of answer files ---------------------------------------------------------

    async def upload(self, request: web.Request, user: str) -> web.StreamResponse:
        """Files for a waiting draft, from the case page's form: 303 back to the page once
        they are attached; the page with the reason when they are refused; the 403 for
        anything that is not the form of this session."""
        ref, number = request.match_info["ref"], request.match_info["draft"]
        if self.replies is None or not number.isdigit() or len(number) > 9:
            return self.forbidden()
        draft = int(number)
        try:
            revision, files = await self._read_upload(request, ref, draft)
        except _Forbidden:
            log.warning("%s: upload refused", ref)
            return self.forbidden()
        except _TooLarge as exc:
            return await self._refused(request, user, draft, exc.said, 413)
        try:
            done = await threads.db(
                _attach, self.engine, self.replies, ref, draft, files, user, revision
            )
        except DraftChanged as exc:
            return await self._refused(request, user, draft, exc.said(self.words), 409)
        except ReplyError as exc:
            return await self._refused(request, user, draft, exc.said(self.words), 422)
        if done is None:  # a token is made only for a draft of its own case
            log.warning("%s: upload refused", ref)
            return self.forbidden()
        log.info("%s: %d files attached to draft %d by %s", ref, len(files), draft, user)
        return web.Response(
            status=303,
            headers={**PAGE_HEADERS, "Location": f"{self.links.page_url(ref)}#draft-{draft}"},
        )

    async def _refused(
        self, request: web.Request, user: str, draft: int, reason: str, status: int
    ) -> web.StreamResponse:
        log.info(
            "%s: files for draft %d refused (%d) to %s",
            request.match_info["ref"],
            draft,
            status,
            user,
        )
        refusal = model.Refusal(draft, reason)
        return await self._case_page(request, user, refusal=refusal, status=status)

    def _same_origin(self, request: web.Request) -> bool:
        """Whether the browser says the form was sent from a page of PD_PUBLIC_URL's origin.
        ``Sec-Fetch-Site``, which a page's scripts cannot set, when the browser sends it (under
        the pages' ``Referrer-Policy: no-referrer`` a browser posts the form with ``Origin:
        null``); else ``Origin``, else ``Referer``. ``Origin: null`` alone is refused."""
        fetched_from = request.headers.get("Sec-Fetch-Site")
        if fetched_from is not None:
            return fetched_from == "same-origin"
        said = request.headers.get("Origin")
        if said is None:
            referer = request.headers.get("Referer")
            said = origin_of(referer) if referer else None
        return said is not None and said == self.links.origin

    async def _read_upload(
        self, request: web.Request, ref: str, draft: int
    ) -> tuple[int, list[NewFile]]:
        """The revision the form was made for and its files, read as a stream: the token is
        checked before any file's bytes are read, and reading stops at the size limit."""
        if not self._same_origin(request) or request.content_type != "multipart/form-data":
            raise _Forbidden
        fields: dict[str, str] = {}
        files: list[NewFile] = []
        revision: int | None = None
        total = 0
        try:
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader):
                    raise _Forbidden
                if part.name in ("csrf", "revision") and revision is None:
                    if part.name in fields:
                        raise _Forbidden
                    value = await _read_part(part, FORM_FIELD_MAX)
                    if value is None:
                        raise _Forbidden
                    fields[part.name] = value.decode("ascii", "replace")
                    continue
                if part.name != "files":
                    raise _Forbidden
                if revision is None:
                    revision = self._form_revision(request, fields, ref, draft)
                    length = request.content_length or 0
                    if length > self.max_bytes + FORM_OVERHEAD:
                        raise _TooLarge(self._too_large(self.words("web.together")))
                name = part.filename or ""
                data = await _read_part(part, self.max_bytes)
                if data is None:
                    named = answer_files.clean_name(name) or self.words("web.a_file")
                    raise _TooLarge(self._too_large(named))
                if not name and not data:  # the file field left empty
                    continue
                total += len(data)
                if total > self.max_bytes:
                    raise _TooLarge(self._too_large(self.words("web.together")))
                if len(files) == answer_files.MAX_FILES:
                    raise _TooLarge(self.words("web.too_many", most=answer_files.MAX_FILES))
                files.append(NewFile(name, data))
        except (ValueError, HttpProcessingError):  # not a multipart body a browser would send
            raise _Forbidden from None
        if revision is None:
            revision = self._form_revision(request, fields, ref, draft)
        return revision, files

    def _form_revision(
        self, request: web.Request, fields: dict[str, str], ref: str, draft: int
    ) -> int:
        """The revision the form's token was made for in this session, or ``_Forbidden``."""
        said = fields.get("revision", "")
        if not said.isdigit() or len(said) > 9:
            raise _Forbidden
        cookie = request.cookies.get(COOKIE, "")
        if not self.links.form_token_ok(fields.get("csrf", ""), cookie, ref, draft, int(said)):
            raise _Forbidden
        return int(said)

    def _too_large(self, what: str) -> str:
        return self.words("web.too_big", what=what, limit=self.max_bytes)

    async def search(self, request: web.Request, user: str) -> web.StreamResponse:
        query = request.query.get("q", "").strip()[: views.SEARCH_MAX_CHARS]
        results: list[model.Found] = []
        total, capped = 0, False  # capped: more matched than were ranked, total is a floor
        if query:
            results, total, capped = await threads.db(_search, self.engine, query, user)
            log.info("case-file search by %s: %d found", user, total)
        return _page(
            "search.html.j2",
            self.words,
            base=self.links.base_path,
            query=query,
            results=results,
            total=total,
            capped=capped,
        )

    def _no_file(self) -> web.Response:
        return web.Response(
            status=404, text=self.words("web.no_attachment") + "\n", headers=FILE_HEADERS
        )

    async def attachment(self, request: web.Request, user: str) -> web.StreamResponse:
        return await self._file(request, user, inline=False)

    async def image(self, request: web.Request, user: str) -> web.StreamResponse:
        return await self._file(request, user, inline=True)

    async def _file(self, request: web.Request, user: str, *, inline: bool) -> web.StreamResponse:
        ref, n = request.match_info["ref"], request.match_info["n"]
        if not n.isdigit() or len(n) > 6:
            return self._no_file()
        found = await threads.db(_open_file, self.engine, ref, int(n), user, self.max_bytes, inline)
        if found is None:
            return self._no_file()
        name, data, image_type = found
        log.info("%s: attachment %s %s by %s", ref, n, "viewed" if inline else "downloaded", user)
        if inline:
            return web.Response(
                body=data,
                content_type=image_type,
                headers={
                    **FILE_HEADERS,
                    "Content-Disposition": _disposition("inline", name, int(n)),
                },
            )
        return web.Response(
            body=data,
            content_type="application/octet-stream",
            headers={
                **FILE_HEADERS,
                "Content-Disposition": _disposition("attachment", name, int(n)),
            },
        )


# ---- the database (in the pd-db threads) -------------------------------------------------------


def _refused(engine: Engine, user: str) -> None:
    with Session(writer(engine)) as session:
        repo.audit(session, None, user, AUDIT_ACTION, kind="web", asked="case file")
        session.commit()


async def _read_part(part: BodyPartReader, limit: int) -> bytes | None:
    """A part's bytes, or None as soon as there are more than ``limit`` (the rest unread)."""
    data = bytearray()
    while chunk := await part.read_chunk(UPLOAD_CHUNK):
        if len(data) + len(chunk) > limit:
            return None
        data += chunk
    return bytes(data)


def _attach(
    engine: Engine,
    replies: Replies,
    ref: str,
    draft_id: int,
    files: list[NewFile],
    user: str,
    revision: int,
) -> Draft | None:
    """``replies.attach`` for a draft of case ``ref``; None when the draft is not one of its."""
    with Session(engine) as session:
        case = repo.case_by_ref(session, ref)
        draft = session.get(Draft, draft_id)
    if case is None or draft is None or draft.case_id != case.id:
        return None
    return replies.attach(draft_id, files, editor=user, revision=revision)


def _open_case(
    engine: Engine, ref: str, user: str, max_bytes: int, now: datetime
) -> tuple[CaseFile, dict[int, list[model.AnswerFile]]] | None:
    """The case file and the files of each of its drafts, its opening audited."""
    with Session(engine) as session:
        found = casefile.load(session, ref, max_bytes=max_bytes, now=now)
        case = repo.case_by_ref(session, ref) if found is not None else None
        kept = repo.draft_files(session, [d.id for d in found.drafts] if found else [])
        revisions = {d.id: d.revision for d in found.drafts} if found else {}
        files = {
            draft: [
                model.AnswerFile(f.name, f.size, f.sha256, f.added_by, f.added_at)
                for f in rows
                if f.revision <= revisions[draft]
            ]
            for draft, rows in kept.items()
        }
    if case is not None and found is not None:
        with Session(writer(engine)) as session:
            repo.audit(session, case.id, user, "case file opened")
            # Each draft waiting for approval is shown whole on the page: that this person read
            # this revision is what lets them approve one too long for Slack's review modal.
            for draft in found.drafts:
                if draft.status == "draft":
                    repo.audit(
                        session, case.id, user, DRAFT_READ, draft=draft.id, revision=draft.revision
                    )
            session.commit()
    return (found, files) if found is not None else None


def _open_file(
    engine: Engine, ref: str, n: int, user: str, max_bytes: int, inline: bool
) -> tuple[str | None, bytes, str] | None:
    """(name, bytes, the raster type shown inline or the download's) of attachment ``n``, audited;
    None when there is none, or it is to be shown inline and its bytes are no raster image."""
    with Session(engine) as session:
        found = casefile.attachment(session, ref, n, max_bytes=max_bytes)
        case = repo.case_by_ref(session, ref) if found is not None else None
    if found is None or case is None:
        return None
    image_type = raster_type(found.data)
    if inline and (image_type is None or not may_show_inline(found.info)):
        return None
    with Session(writer(engine)) as session:
        digest = hashlib.sha256(found.data).hexdigest()
        action = "attachment viewed" if inline else "attachment downloaded"
        repo.audit(session, case.id, user, action, n=n, sha256=digest)
        session.commit()
    return found.info.name, found.data, image_type or "application/octet-stream"


def _search(engine: Engine, query: str, user: str) -> tuple[list[model.Found], int, bool]:
    with Session(engine) as session:
        page = views.search(session, query, limit=SEARCH_LIMIT)
        found = [
            model.Found(c.ref, c.status, c.received_at, page.subjects.get(c.id or 0, ""))
            for c in page.cases
        ]
    with Session(writer(engine)) as session:
        # Who searched and which cases that showed them; never what was typed (a name, say).
        repo.audit(
            session,
            None,
            user,
            "case file searched",
            found=[f.ref for f in found],
            total=page.total,
        )
        session.commit()
    return found, page.total, page.capped
