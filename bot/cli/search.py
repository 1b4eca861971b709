"""``privacy-desk search TEXT``: find cases by words of their mail, Japanese included, and
``privacy-desk db reindex``: rebuild the search index from the stored mail.

Search (``storage.search``) covers references (a part), subjects, the text of inbound mail
(newest and quoted) and requester names; a requester's address only whole. The best first,
with where each case matched and how many matched in all; the address masked as ``cases``
masks it. Not audited, like every reading command (``cases``, ``case``): whoever runs the
command line holds the database itself; the case-file web page, which staff reach from Slack,
audits its searches.

A word found in more cases than are ranked (``storage.search.CANDIDATES`` matches) shows the
newest of them, best first, and says "at least N" (``"capped": true`` in JSON).

``db reindex`` parses every stored inbound message again (decrypting it with ``PD_RAW_KEYS``
when it is sealed) and writes the index anew, in one transaction per batch; ``db upgrade`` runs
it when stored mail is missing from the index (a database upgraded to the revision that made
the index). A SQLite database upgrades itself when a command opens it, without filling the
index: ``search`` then says (on stderr) that the index lacks the mail stored before it, until
``db reindex``. A purged message has nothing left to index.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from bot.cli.context import Context, Subcommands
from bot.cli.output import Progress, mask, plural, table, tokyo_time
from bot.errors import UsageError

if TYPE_CHECKING:
    from sqlalchemy import Engine

UNINDEXED = "the search index lacks mail stored before it was made: run `privacy-desk db reindex`"
SUBJECT_SHOWN = 60  # characters of a subject in the table
REINDEX_BATCH = 200  # messages per transaction


def cmd_search(args: argparse.Namespace, ctx: Context) -> int:
    from sqlmodel import Session

    from storage import views
    from storage.search import QueryError

    limit = args.limit or 1_000_000_000  # 0: every match
    with ctx.database() as engine, Session(engine) as session:
        try:
            page = views.search(session, args.text, limit=limit)
        except QueryError as exc:
            raise UsageError(str(exc)) from None
        if needs_reindex(engine):
            # A SQLite database that upgraded itself to the index finds only new mail: say so.
            sys.stderr.write(f"privacy-desk: {UNINDEXED}\n")
        rows: list[dict[str, Any]] = [
            {
                "ref": case.ref,
                "status": case.status,
                "requester": mask(case.requester),
                "received_at": case.received_at.isoformat(),
                "subject": page.subjects.get(case.id, "") if case.id is not None else "",
                "matched": list(page.matched.get(case.id, ())) if case.id is not None else [],
            }
            for case in page.cases
        ]
    out = ctx.out
    if args.json:
        record = {"query": args.text, "total": page.total, "capped": page.capped, "cases": rows}
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        return 0
    table(
        ("case", "status", "requester", "received", "matched", "subject"),
        [
            (
                r["ref"],
                r["status"],
                r["requester"],
                tokyo_time(r["received_at"]),
                ", ".join(r["matched"]),
                _clip(r["subject"]),
            )
            for r in rows
        ],
        out,
    )
    out.write(matched_line(len(rows), page.total, capped=page.capped) + "\n")
    return 0


def matched_line(shown: int, total: int, *, capped: bool) -> str:
    """``2 cases matched``, ``1 of 2 cases matched``, or for a word found in more cases than
    are ranked, ``50 of at least 644 cases matched (the newest ranked; more words find fewer)``."""
    if capped:
        return (
            f"{shown:,} of at least {total:,} cases matched "
            "(the newest ranked; more words find fewer)"
        )
    counted = f"{shown:,} of {total:,}" if shown < total else f"{total:,}"
    return f"{counted} {'case' if total == 1 else 'cases'} matched"


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SUBJECT_SHOWN else text[: SUBJECT_SHOWN - 1] + "…"


def _limit(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise argparse.ArgumentTypeError(f"not a number of cases: {value!r} (0 for all)")
    return number


# ---- the index -----------------------------------------------------------------------------


def _inbound(engine: Engine, after: int) -> Iterator[list[tuple[int, bytes | None, str]]]:
    """Batches of (id, raw, subject) of the inbound messages after id ``after``."""
    from sqlmodel import Session, col, select

    from storage.models import MailMessage

    while True:
        with Session(engine) as session:
            batch = list(
                session.exec(
                    select(MailMessage.id, MailMessage.raw, MailMessage.subject)
                    .where(MailMessage.direction == "in", col(MailMessage.id) > after)
                    .order_by(col(MailMessage.id))
                    .limit(REINDEX_BATCH)
                )
            )
        if not batch:
            return
        yield [(int(i), raw, subject) for i, raw, subject in batch if i is not None]
        after = int(batch[-1][0] or 0)


def reindex(engine: Engine, progress: Progress | None = None) -> tuple[int, int]:
    """Write the search index anew from the stored mail: (messages, chunks) indexed."""
    from sqlmodel import Session, col, func, select

    from mail.parse import parse_message
    from storage import search
    from storage.db import writer
    from storage.models import Case, MailMessage

    bind = writer(engine)
    with Session(bind) as session:
        search.clear(session)
        names = session.exec(
            select(Case.id, Case.requester_name).where(col(Case.requester_name) != "")
        )
        chunks = search.write(
            session,
            [search.Document(search.NAME, name, case_id=i) for i, name in names if i is not None],
        )
        total = session.exec(
            select(func.count()).select_from(MailMessage).where(MailMessage.direction == "in")
        ).one()
        session.commit()
    if progress is not None:
        progress.update(0, int(total))
    messages = 0
    for batch in _inbound(engine, 0):
        documents: list[search.Document] = []
        for message_id, raw, subject in batch:
            texts: dict[str, Any] = {"subject": subject}
            if raw:
                parsed = parse_message(raw)
                texts.update(
                    newest=parsed.newest_text,
                    signature=parsed.signature,
                    quoted=parsed.quoted_text,
                )
            documents.extend(search.message_documents(message_id, **texts))
        with Session(bind) as session:
            chunks += search.write(session, documents)
            session.commit()
        messages += len(batch)
        if progress is not None:
            progress.advance(len(batch))
    return messages, chunks


def cmd_db_reindex(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.database() as engine, Progress(None) as progress:
        messages, chunks = reindex(engine, progress)
    ctx.out.write(f"search index rebuilt: {plural(messages, 'message')}, {chunks} chunks\n")
    return 0


def needs_reindex(engine: Engine) -> bool:
    """Stored inbound mail is missing from the index (a database that predates it, upgraded in
    place: its new mail is indexed, its old is not): ``storage.search.lacks_stored_mail``."""
    from sqlmodel import Session

    from storage import search

    with Session(engine) as session:
        return search.lacks_stored_mail(session)


def add_parsers(sub: Subcommands) -> None:
    p = sub.add_parser(
        "search",
        help="find cases by reference, words of their mail or requester name, or whole address",
    )
    p.add_argument("text", metavar="TEXT", help="what to find (two characters or more; one CJK)")
    p.add_argument("--json", action="store_true", help="one JSON object: total and cases")
    p.add_argument(
        "--limit", type=_limit, default=50, metavar="N", help="show at most N cases (50; 0: all)"
    )
    p.set_defaults(func=cmd_search)
