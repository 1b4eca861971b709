"""The one form of the case file over real HTTP: staff add answer files to a waiting draft as a
browser sends them (multipart/form-data, a Japanese name in raw UTF-8). The files become a new
revision audited with their SHA-256 by the uploader, the older revision can no longer be
approved; a form from another site, another session or another revision is the same 403 and
stores nothing; too big, dangerous or late is refused on the page, and nothing is stored."""

from __future__ import annotations

import hashlib
import html as markup
import logging
import re
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from case_file_desk import ALICE, APPROVER, MAX_BYTES, PDF, Answer, WebDesk, serving
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from support import english, zip_of

from bot.replies import ReplyError
from bot.web.pages import forbidden_page
from bot.words import words
from storage.models import AuditEvent, Draft, DraftFile

FORBIDDEN = forbidden_page(words("en"))
CSV_NAME = "開示データ_田中.csv"
CSV = "\ufeff項目,内容\r\n氏名,田中一郎\r\n会員番号,HK-778812\r\n".encode()
PDF_NAME = "access-log-2026.pdf"
BOUNDARY = "----WebKitFormBoundaryq3Vd8dZ0pLr2YtXk"


@pytest.fixture
def desk(engine: Engine, slack: Any) -> Iterator[WebDesk]:
    """The pages in English (PD_STAFF_LANGUAGE=en): these tests read the refusals' English;
    test_case_file_pages and the zip tests read the Japanese ones."""
    with serving(engine, slack, language="en") as served:
        yield served


@pytest.fixture
def draft(desk: WebDesk) -> int:
    """A disclosure answer waiting for approval, prepared by Alice (revision 1, no files)."""
    made = desk.replies.draft(
        desk.ref,
        "disclosure_answer",
        {"method": "file", "items": ["会員登録情報（氏名・会員番号）", "ログイン履歴"]},
        editor=ALICE,
    )
    assert made.id is not None and made.revision == 1
    return made.id


@dataclass(frozen=True)
class Form:
    action: str
    fields: dict[str, str]  # the hidden fields, as the page holds them


def forms(page: Answer) -> dict[int, Form]:
    """The upload forms of a case page, by draft, read as a browser reads them."""
    found = {}
    for attributes, inner in re.findall(
        r"<form class=\"upload\"([^>]*)>(.*?)</form>", page.text, re.S
    ):
        assert 'method="post"' in attributes and 'enctype="multipart/form-data"' in attributes
        action = markup.unescape(re.search(r'action="([^"]+)"', attributes)[1])  # type: ignore[index]
        hidden = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', inner)
        assert '<input type="file" name="files" multiple required>' in inner
        number = int(re.fullmatch(r"/cases/PD-\d{4}-\d{6}/drafts/(\d+)/files", action)[1])  # type: ignore[index]
        found[number] = Form(action, {name: markup.unescape(value) for name, value in hidden})
    return found


def browser_body(fields: dict[str, str], files: list[tuple[str, bytes]]) -> bytes:
    """multipart/form-data as Chromium sends a form: its fields in order, then each file under
    its name in raw UTF-8 (a quote and line breaks percent-encoded)."""
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
        )
    for filename, data in files:
        quoted = filename.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")
        parts.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; '
            f'filename="{quoted}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
            + data
            + b"\r\n"
        )
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def upload(
    desk: WebDesk,
    form: Form,
    files: list[tuple[str, bytes]],
    *,
    cookie: str | None,
    fields: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    path: str | None = None,
) -> Answer:
    sent = {
        "Origin": desk.origin,
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        **(headers or {}),
    }
    sent = {name: value for name, value in sent.items() if value}  # "" leaves a header out
    body = browser_body(form.fields if fields is None else fields, files)
    return desk.request("POST", path or form.action, cookie=cookie, body=body, headers=sent)


def stored(desk: WebDesk, draft_id: int) -> tuple[int, list[str], list[AuditEvent]]:
    """The draft's revision, its files' names and the "files attached" events."""
    with Session(desk.engine) as session:
        row = session.get(Draft, draft_id)
        assert row is not None
        names = [f.name for f in session.exec(select(DraftFile).order_by(col(DraftFile.id)))]
        attached = list(
            session.exec(
                select(AuditEvent)
                .where(AuditEvent.action == "files attached")
                .order_by(col(AuditEvent.id))
            )
        )
        return row.revision, names, attached


def refused_on_the_page(answer: Answer, status: int, reason: str) -> None:
    assert answer.status == status, answer.text[:500]
    assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
    [said] = re.findall(r'<p class="refused" role="alert">(.*?)</p>', answer.text, re.S)
    assert "nothing was stored" in said and reason in markup.unescape(said), said


def test_two_files_become_a_new_revision_audited_with_their_hashes(
    desk: WebDesk, draft: int
) -> None:
    cookie = desk.session(ALICE)
    page = desk.get(f"/cases/{desk.ref}", cookie=cookie)
    offered = forms(page)
    assert list(offered) == [draft]  # the deletion draft sends no files: no form for it
    form = offered[draft]
    assert form.fields["revision"] == "1" and form.fields["csrf"]

    answer = upload(desk, form, [(CSV_NAME, CSV), (PDF_NAME, PDF)], cookie=cookie)
    assert answer.status == 303, answer.text[:500]
    assert answer.headers["Location"] == f"{desk.origin}/cases/{desk.ref}#draft-{draft}"

    revision, names, [attached] = stored(desk, draft)
    assert revision == 2 and names == [CSV_NAME, PDF_NAME]
    assert attached.actor == ALICE and attached.detail["revision"] == 2
    assert attached.detail["files"] == [
        {"name": CSV_NAME, "size": len(CSV), "sha256": hashlib.sha256(CSV).hexdigest()},
        {"name": PDF_NAME, "size": len(PDF), "sha256": hashlib.sha256(PDF).hexdigest()},
    ]

    # The page the browser is sent back to shows the files, hashes and the new revision.
    after = desk.get(f"/cases/{desk.ref}", cookie=cookie).text
    for name, data in ((CSV_NAME, CSV), (PDF_NAME, PDF)):
        assert name in after and hashlib.sha256(data).hexdigest() in after
    assert f"#{draft} · disclosure_answer · Japanese · rev. 2" in after
    assert f"・{CSV_NAME}" in after and f"・{PDF_NAME}" in after  # the letter names both

    # What the approver read before is no longer what would go; what they see now is.
    with pytest.raises(ReplyError, match="you saw revision 1, it is now revision 2"):
        desk.replies.approve(draft, approver=APPROVER, revision=1)
    desk.replies.mark_verified(desk.ref, actor=APPROVER, how="会員IDと登録電話番号")
    assert desk.replies.approve(draft, approver=APPROVER, revision=2).outcome == "queued"


def test_any_staff_may_upload_and_the_file_is_theirs_in_the_trail(
    desk: WebDesk, draft: int
) -> None:
    """Attaching prepares a draft, which any staff may do; approval stays with approvers."""
    cookie = desk.session(APPROVER)
    form = forms(desk.get(f"/cases/{desk.ref}", cookie=cookie))[draft]
    # A browser that sends no Origin says where the form was with Referer instead.
    referer = {"Origin": "", "Referer": f"{desk.origin}/cases/{desk.ref}"}
    answer = upload(desk, form, [(CSV_NAME, CSV)], cookie=cookie, headers=referer)
    assert answer.status == 303
    _, names, [attached] = stored(desk, draft)
    assert names == [CSV_NAME] and attached.actor == APPROVER


def test_a_browser_under_no_referrer_posts_with_origin_null_and_is_let_in_by_sec_fetch_site(
    desk: WebDesk, draft: int
) -> None:
    """The pages send Referrer-Policy: no-referrer, under which a browser posts the form with
    ``Origin: null``; it also says ``Sec-Fetch-Site: same-origin``, which no page can forge."""
    cookie = desk.session(ALICE)
    form = forms(desk.get(f"/cases/{desk.ref}", cookie=cookie))[draft]
    as_chromium_sends_it = {"Origin": "null", "Sec-Fetch-Site": "same-origin"}
    answer = upload(desk, form, [(CSV_NAME, CSV)], cookie=cookie, headers=as_chromium_sends_it)
    assert answer.status == 303
    _, names, _ = stored(desk, draft)
    assert names == [CSV_NAME]


def test_a_form_not_of_this_session_revision_or_origin_is_the_403_and_stores_nothing(
    desk: WebDesk, draft: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    cookie = desk.session(ALICE)
    form = forms(desk.get(f"/cases/{desk.ref}", cookie=cookie))[draft]
    token = form.fields["csrf"]
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    other_session = desk.session(APPROVER)  # staff too, but the token was made for Alice's
    files = [(CSV_NAME, CSV)]
    attempts = {
        "no token": upload(desk, form, files, cookie=cookie, fields={"revision": "1"}),
        "an altered token": upload(
            desk, form, files, cookie=cookie, fields={"csrf": flipped, "revision": "1"}
        ),
        "another revision": upload(
            desk, form, files, cookie=cookie, fields={"csrf": token, "revision": "2"}
        ),
        "another session's cookie": upload(desk, form, files, cookie=other_session),
        "no cookie": upload(desk, form, files, cookie=None),
        "another origin": upload(
            desk, form, files, cookie=cookie, headers={"Origin": "http://evil.example"}
        ),
        "another port": upload(
            desk, form, files, cookie=cookie, headers={"Origin": f"{desk.origin}0"}
        ),
        "an opaque origin": upload(desk, form, files, cookie=cookie, headers={"Origin": "null"}),
        "a browser that says another site sent it": upload(
            desk,
            form,
            files,
            cookie=cookie,
            headers={"Origin": "null", "Sec-Fetch-Site": "cross-site"},
        ),
        "a browser that says the user typed it": upload(
            desk, form, files, cookie=cookie, headers={"Sec-Fetch-Site": "none"}
        ),
        "another site's page as referer": upload(
            desk,
            form,
            files,
            cookie=cookie,
            headers={"Origin": "", "Referer": f"http://evil.example/cases/{desk.ref}"},
        ),
        "neither origin nor referer": upload(
            desk, form, files, cookie=cookie, headers={"Origin": ""}
        ),
        "another draft's address": upload(
            desk, form, files, cookie=cookie, path=f"/cases/{desk.ref}/drafts/{draft + 1}/files"
        ),
        "another case's address": upload(
            desk,
            form,
            files,
            cookie=cookie,
            path=form.action.replace(desk.ref, desk.other_ref),
        ),
        "a link instead of the cookie": upload(
            desk, form, files, cookie=None, path=f"{form.action}?t={desk.token(ALICE)}"
        ),
        "not a form": desk.request(
            "POST",
            form.action,
            cookie=cookie,
            body=f"csrf={token}&revision=1".encode(),
            headers={"Origin": desk.origin, "Content-Type": "application/x-www-form-urlencoded"},
        ),
    }
    desk.clock.advance(hours=8)  # the session is over; the form with it
    attempts["an expired session"] = upload(desk, form, files, cookie=cookie)
    for what, answer in attempts.items():
        assert answer.status == 403, what
        assert answer.text == FORBIDDEN, what
    assert stored(desk, draft) == (1, [], [])
    logged = caplog.text
    assert desk.ref in logged
    for secret in (token, cookie.split(".")[2], CSV_NAME, "evil.example"):
        assert secret not in logged


def test_too_big_dangerous_or_late_files_are_refused_on_the_page_and_nothing_is_stored(
    desk: WebDesk, draft: int
) -> None:
    cookie = desk.session(ALICE)
    form = forms(desk.get(f"/cases/{desk.ref}", cookie=cookie))[draft]
    half = b"%PDF-1.4\n" + b"0" * (MAX_BYTES // 2)
    cases = [
        (
            [("huge.pdf", b"%PDF-1.4\n" + b"0" * MAX_BYTES)],
            413,
            "huge.pdf: over PD_ATTACHMENT_MAX_BYTES",
        ),
        (
            [("a.pdf", half), ("b.pdf", half)],
            413,
            "the files together: over PD_ATTACHMENT_MAX_BYTES",
        ),
        ([("setup.exe", b"MZ\x90\x00")], 422, ".exe files are not sent"),
        ([("請求書.pdf", b"MZ\x90\x00" + PDF)], 422, "is a Windows program by its content"),
        ([("report.pdf", b"<html><script>alert(1)</script></html>")], 422, "holds HTML or script"),
        ([(CSV_NAME, CSV), ("empty.txt", b"")], 422, "empty.txt is empty"),
    ]
    for files, status, reason in cases:
        answer = upload(desk, form, files, cookie=cookie)
        refused_on_the_page(answer, status, reason)
        assert forms(answer) == {draft: forms(answer)[draft]}  # the form is there to try again
    assert stored(desk, draft) == (1, [], [])

    # Edited after the page was opened: the form of revision 1 is refused, the text unseen.
    desk.replies.edit(draft, subject="開示のご請求について", body="・" + CSV_NAME, editor=APPROVER)
    refused_on_the_page(
        upload(desk, form, [(CSV_NAME, CSV)], cookie=cookie),
        409,
        "you saw revision 1, it is now revision 2",
    )
    # No longer waiting: the form of its current revision is refused, and no form is shown.
    current = forms(desk.get(f"/cases/{desk.ref}", cookie=cookie))[draft]
    desk.replies.discard(draft, actor=APPROVER)
    answer = upload(desk, current, [(CSV_NAME, CSV)], cookie=cookie)
    refused_on_the_page(answer, 409, f"draft {draft} is discarded; it can no longer change")
    assert forms(answer) == {}
    assert stored(desk, draft) == (2, [], [])


def test_a_huge_upload_is_refused_without_being_held_in_memory(desk: WebDesk, draft: int) -> None:
    """64 MiB sent against a 1 MiB limit, streamed and chunked (no Content-Length to trust):
    the desk answers 413, and at no moment does it hold more than a few MiB of it."""
    cookie = desk.session(ALICE)
    form = forms(desk.get(f"/cases/{desk.ref}", cookie=cookie))[draft]
    head = browser_body(form.fields, [("dump.bin", b"")]).rpartition(b"\r\n--")[0]
    block = b"\0" * (1024 * 1024)

    def body() -> Iterator[bytes]:
        yield head
        for _ in range(64):
            yield block
        yield f"\r\n--{BOUNDARY}--\r\n".encode()

    tracemalloc.start()  # every thread's allocations, the server's included
    answer = desk.request(
        "POST",
        form.action,
        cookie=cookie,
        body=body(),
        headers={
            "Origin": desk.origin,
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        },
    )  # an iterable body without a length: http.client sends it chunked
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, f"held {peak} bytes at the peak"
    refused_on_the_page(answer, 413, "dump.bin: over PD_ATTACHMENT_MAX_BYTES")
    assert stored(desk, draft) == (1, [], [])


def test_an_archive_refused_on_the_page_is_said_in_the_staff_language(
    engine: Engine, slack: Any
) -> None:
    """PD_STAFF_LANGUAGE unset (Japanese): an uploaded ZIP archive holding a program is refused
    on the page in Japanese, naming the archive and what it holds; nothing is stored."""
    with serving(engine, slack) as japanese:
        made = japanese.replies.draft(
            japanese.ref, "disclosure_answer", {"method": "file", "items": ["ログイン履歴"]},
            editor=ALICE,
        )  # fmt: skip
        assert made.id is not None
        cookie = japanese.session(ALICE)
        form = forms(japanese.get(f"/cases/{japanese.ref}", cookie=cookie))[made.id]
        archive = zip_of({CSV_NAME: CSV, "tools/setup.exe": b"MZ\x90\x00" + bytes(64)})
        answer = upload(japanese, form, [("開示データ.zip", archive)], cookie=cookie)
        assert answer.status == 422
        [said] = re.findall(r'<p class="refused" role="alert">(.*?)</p>', answer.text, re.S)
        said = markup.unescape(said)
        assert said.startswith(f"下書き #{made.id} にファイルを添付できませんでした"), said
        assert "開示データ.zip の中身: tools/setup.exe: 拡張子 .exe のファイルは送れません" in said
        assert not english(said), said
        assert stored(japanese, made.id) == (1, [], [])
