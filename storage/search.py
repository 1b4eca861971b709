"""Full-text search over what requesters wrote (subjects, bodies, names), Japanese included, on
SQLite and PostgreSQL alike: a character-bigram index queried as phrases.

Why bigrams. Japanese has no spaces between words and most of its words and surnames are two
characters (田中, 削除). SQLite's FTS5 trigram tokenizer finds nothing under three characters;
PostgreSQL's word parser under the C.UTF-8 locale of our servers takes a whole run of kana and
kanji as one "word" (``to_tsvector('simple', '田中太郎さんの削除')`` is one lexeme), and
``pg_trgm`` (an extension to create, with rights the desk's role may not have) cannot turn a
two-character ``LIKE`` pattern into trigrams, so it reads its whole index for the most common
Japanese query. So every text is indexed as its overlapping character bigrams ("田中太郎" ->
田中 中太 太郎) and a query is searched as the PHRASE of its bigrams: exact substring semantics,
any language, any length from two characters.

How. A text is NFKC-normalised and case-folded, its runs of white space made one space, then
cut into chunks of ``CHUNK`` characters that overlap by ``MAX_QUERY - 1`` (so every query fits in
one chunk, and PostgreSQL's limits on positions — 16,383, and 256 per lexeme — are never
reached). Each bigram becomes one token spelled with the letters a–p (the nibbles of its UTF-8
bytes), which every tokenizer keeps as one word and which no query can turn into FTS syntax:
``"``, ``*``, ``NEAR``, ``%`` and ``'`` in a query are characters to find like any other. On
SQLite the tokens go into a contentless FTS5 table (``searchchunk_fts``, ``tokenize=ascii``) whose
rowid is the chunk's id; on PostgreSQL into the chunk's ``tsv`` column (``to_tsvector('simple',
...)``, a GIN index) queried with ``phraseto_tsquery``. A one-character query is searched as the
prefix of a bigram, for wide (CJK) characters only: a one-letter Latin query would match
everything, so it is refused (``QueryError``).

What is indexed, keyed by message so a message moved to another case (link, merge) is found
under its new case (the case is joined at query time): each inbound message's subject, its
newest text with its signature (``body``) and its quoted history (``quoted``), at most
``MAX_TEXT`` characters of each; and each case's requester name (keyed by case). A requester's
address is never indexed: it matches only whole, in the requester field (a masked address must
not be recoverable a character at a time). The reference matches as a part.

Ranking: cases with a hit in the reference, the requester, the name or a subject first; then
more hits (fields and chunks that match) first; then the newest received. A word found in more
than ``CANDIDATES`` chunks (or references) is ranked among its newest ``CANDIDATES`` matches
only, and its total is the cases among them, said as a floor (``Found.capped``: "at least N"):
counting and ranking every case that holds a common word cost seconds at 100,000 cases, and a
query of more words finds fewer, all of them ranked. Matches are taken newest first by chunk id,
the order mail was indexed in. A reference is looked for only when the query could be part of
one (``PD-2026-000123``), in its index; an address only whole, in the index on
``lower(requester)`` (migration 0019).

Measured (``bench/search.py``, 100,000 cases, on a shared 2-core machine with a load of 10-15):
every query, common words included, answers in 1-110 ms on SQLite and 4-300 ms on PostgreSQL
(median), where ranking every match took 0.9-1.7 s and 1.4-4 s. See that file for the figures.

The index holds the requester's words in a form the text can be rebuilt from, in the clear
(``PD_RAW_KEYS`` encrypts raw mail, not the index), so it is purged with its case
(``forget_case``); on SQLite each chunk keeps its normalised text, because a contentless FTS5 row
is deleted by naming its tokens again.
"""

from __future__ import annotations

import math
import operator
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
)
from sqlmodel import Session

from storage.models import Case, MailMessage, SearchChunk

MAX_QUERY = 100  # characters of a query (normalised); longer ones are cut
CHUNK = 2000  # characters per indexed chunk
MAX_TEXT = 200_000  # characters of one field of one message that are indexed
FTS = "searchchunk_fts"  # SQLite's FTS5 table (and its shadow tables, FTS + "_...")
# Matching chunks (and references) ranked at most, the newest: a word found in half the desk is
# answered in the time of a rarer one, its total then a floor ("at least N").
CANDIDATES = 1000
PG_PROBE = 101  # matches PostgreSQL takes first, in any order, to see how a word is spread

BODY, QUOTED, SUBJECT, NAME = "body", "quoted", "subject", "name"
REF, REQUESTER = "reference", "requester"
# Where a hit can be: each one bit of the ``fields`` mask the query sums (distinct) per case.
FIELDS: dict[str, int] = {REF: 1, REQUESTER: 2, NAME: 4, SUBJECT: 8, BODY: 16, QUOTED: 32}
STRONG = (REF, REQUESTER, NAME, SUBJECT)  # a hit here ranks above any number in bodies

_NIBBLES = str.maketrans("0123456789abcdef", "abcdefghijklmnop")
_SPACE = re.compile(r"\s+")
_DIGITS = re.compile(r"[0-9]")
REFERENCE_SHAPE = "PD-9999-999999"  # storage.repo.next_reference, every digit written 9


class QueryError(ValueError):
    """A query that cannot be searched (empty, or one Latin character): said to the user."""


def normalise(value: str) -> str:
    """The form texts and queries are compared in: NFKC, case-folded, one space per run of white
    space, no space at either end."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", value).casefold()).strip()


def _letters(ch: str) -> str:
    return ch.encode("utf-8", "surrogatepass").hex().translate(_NIBBLES)


class _Spelling(dict[str, str]):
    """Each character's letters, worked out once: indexing spells millions of characters."""

    def __missing__(self, ch: str) -> str:
        self[ch] = spelt = _letters(ch)
        return spelt


_SPELT = _Spelling()


def tokens(value: str) -> list[str]:
    """The bigram tokens of an already normalised text, in order."""
    spelt = list(map(_SPELT.__getitem__, value))
    return list(map(operator.add, spelt, spelt[1:]))


def chunks(value: str) -> list[str]:
    """A normalised text cut into overlapping chunks, each ended by a space (so a last
    character still starts a bigram, for the one-character search)."""
    value = value[:MAX_TEXT]
    if not value:
        return []
    step = CHUNK - (MAX_QUERY - 1)
    return [value[i : i + CHUNK] + " " for i in range(0, max(len(value) - MAX_QUERY + 1, 1), step)]


@dataclass(frozen=True)
class Document:
    """One field of a message (``message_id``) or of a case (``case_id``: its requester name)."""

    field: str
    value: str
    message_id: int | None = None
    case_id: int | None = None


def message_documents(
    message_id: int, *, subject: str, newest: str, signature: str, quoted: str
) -> list[Document]:
    """What of an inbound message is indexed."""
    body = "\n".join(part for part in (newest, signature) if part)
    return [
        Document(field, value, message_id=message_id)
        for field, value in ((SUBJECT, subject), (BODY, body), (QUOTED, quoted))
        if value
    ]


def rows(documents: Iterable[Document]) -> list[dict[str, Any]]:
    """The chunk rows of ``documents``, tokens included (``tokens`` is not a column: it goes to
    FTS5 or into ``to_tsvector``)."""
    found = []
    for doc in documents:
        for piece in chunks(normalise(doc.value)):
            found.append(
                {
                    "message_id": doc.message_id,
                    "case_id": doc.case_id,
                    "field": doc.field,
                    "text": piece,
                    "tokens": " ".join(tokens(piece)),
                }
            )
    return found


_CHUNKS: Table = SearchChunk.__table__  # type: ignore[attr-defined]
_MESSAGES: Table = MailMessage.__table__  # type: ignore[attr-defined]
_CASES: Table = Case.__table__  # type: ignore[attr-defined]


def _dialect(bind: Session | Connection) -> str:
    return bind.get_bind().dialect.name if isinstance(bind, Session) else bind.dialect.name


def write(bind: Session | Connection, documents: Iterable[Document]) -> int:
    """Add ``documents`` to the index; how many chunks."""
    found = rows(documents)
    if not found:
        return 0
    conn = bind.connection() if isinstance(bind, Session) else bind
    if _dialect(bind) == "postgresql":
        conn.execute(
            insert(_CHUNKS).values(
                tsv=func.to_tsvector(text("'simple'::regconfig"), bindparam("tokens")),
                text="",
            ),
            found,
        )
        return len(found)
    ids = conn.execute(
        insert(_CHUNKS).returning(_CHUNKS.c.id, sort_by_parameter_order=True),
        [{k: v for k, v in row.items() if k != "tokens"} for row in found],
    ).scalars()
    conn.execute(
        text(f"INSERT INTO {FTS} (rowid, tokens) VALUES (:id, :tokens)"),
        [{"id": i, "tokens": row["tokens"]} for i, row in zip(ids, found, strict=True)],
    )
    return len(found)


def _forget(bind: Session | Connection, where: Any) -> int:
    """Delete the chunks ``where`` selects (and on SQLite their FTS5 rows); how many."""
    conn = bind.connection() if isinstance(bind, Session) else bind
    if _dialect(bind) != "postgresql":
        gone = conn.execute(select(_CHUNKS.c.id, _CHUNKS.c.text).where(where)).all()
        if not gone:
            return 0
        conn.execute(
            text(f"INSERT INTO {FTS} ({FTS}, rowid, tokens) VALUES ('delete', :id, :tokens)"),
            [{"id": i, "tokens": " ".join(tokens(value))} for i, value in gone],
        )
    result = conn.execute(delete(_CHUNKS).where(where))
    return int(result.rowcount)


def add_message(
    bind: Session | Connection,
    message_id: int,
    *,
    subject: str,
    newest: str = "",
    signature: str = "",
    quoted: str = "",
) -> None:
    """Index an inbound message just stored (or of an index just cleared)."""
    write(
        bind,
        message_documents(
            message_id, subject=subject, newest=newest, signature=signature, quoted=quoted
        ),
    )


def index_name(bind: Session | Connection, case_id: int, name: str) -> None:
    """(Re)index a case's requester name: call it whenever the name changes."""
    _forget(bind, (_CHUNKS.c.case_id == case_id) & (_CHUNKS.c.field == NAME))
    write(bind, [Document(NAME, name, case_id=case_id)])


def forget_messages(bind: Session | Connection, message_ids: Sequence[int]) -> int:
    return _forget(bind, _CHUNKS.c.message_id.in_(list(message_ids))) if message_ids else 0


def forget_case(bind: Session | Connection, case_id: int) -> int:
    """Delete everything indexed of a case: its name and its messages' texts; how many chunks."""
    messages = select(_MESSAGES.c.id).where(_MESSAGES.c.case_id == case_id)
    return _forget(bind, (_CHUNKS.c.case_id == case_id) | _CHUNKS.c.message_id.in_(messages))


def clear(bind: Session | Connection) -> None:
    """Empty the index (before a full reindex)."""
    conn = bind.connection() if isinstance(bind, Session) else bind
    if _dialect(bind) != "postgresql":
        conn.execute(text(f"INSERT INTO {FTS} ({FTS}) VALUES ('delete-all')"))
    conn.execute(delete(_CHUNKS))


def is_empty(bind: Session | Connection) -> bool:
    conn = bind.connection() if isinstance(bind, Session) else bind
    return conn.execute(select(_CHUNKS.c.id).limit(1)).first() is None


def lacks_stored_mail(bind: Session | Connection) -> bool:
    """Whether stored inbound mail is missing from the index: the oldest message with a subject
    to index (a purge blanks it) has no chunk, or the index is empty while there is inbound
    mail. So it is for a database that had mail before the index was made and upgraded in
    place: its new mail is indexed, its old mail only by a reindex. Two short indexed reads."""
    conn = bind.connection() if isinstance(bind, Session) else bind
    inbound = _MESSAGES.c.direction == "in"
    oldest = select(_MESSAGES.c.id, _MESSAGES.c.subject).where(inbound, _MESSAGES.c.subject != "")
    for message_id, subject in conn.execute(oldest.order_by(_MESSAGES.c.id).limit(5)):
        if normalise(subject):
            found = select(_CHUNKS.c.id).where(_CHUNKS.c.message_id == message_id).limit(1)
            return conn.execute(found).first() is None
    stored = conn.execute(select(_MESSAGES.c.id).where(inbound).limit(1)).first()
    return stored is not None and is_empty(bind)


def indexed(bind: Session | Connection, case_id: int) -> int:
    """How many chunks of the index belong to a case (its name, its messages now): for checks."""
    conn = bind.connection() if isinstance(bind, Session) else bind
    messages = select(_MESSAGES.c.id).where(_MESSAGES.c.case_id == case_id)
    query = select(func.count()).where(
        (_CHUNKS.c.case_id == case_id) | _CHUNKS.c.message_id.in_(messages)
    )
    return int(conn.execute(query).scalar_one())


# ---- the query ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    case_id: int
    fields: tuple[str, ...]  # where it matched, in the order of FIELDS
    hits: int  # fields and chunks that matched


@dataclass(frozen=True)
class Found:
    hits: list[Hit]  # the best first, at most ``limit``
    total: int  # cases that match in all; when ``capped``, those ranked: at least that many match
    capped: bool = False  # more matched than ``CANDIDATES``: the newest were ranked


def _match(dialect: str, query: str) -> tuple[str, dict[str, str]]:
    """The condition on a chunk (``searchchunk`` on PostgreSQL, the FTS5 table on SQLite)
    matching ``query`` (normalised, 1 character or more), and its parameters: the phrase of its
    bigrams, or for one character the bigrams it starts."""
    if len(query) == 1:
        if dialect == "postgresql":
            return "tsv @@ to_tsquery('simple', :q)", {"q": _letters(query) + ":*"}
        return f"{FTS} MATCH :q", {"q": _letters(query) + "*"}
    phrase = " ".join(tokens(query))
    if dialect == "postgresql":
        return "tsv @@ phraseto_tsquery('simple', :q)", {"q": phrase}
    return f"{FTS} MATCH :q", {"q": f'"{phrase}"'}


def _newest_chunks(conn: Connection, dialect: str, query: str, cap: int) -> tuple[list[int], bool]:
    """The ids of the newest chunks matching ``query``, at most ``cap``, and whether more match.

    SQLite's FTS5 walks a phrase's matches newest first and stops at the cap. PostgreSQL's GIN
    index yields the rows that hold all of a query's bigrams, in the table's order; a phrase of
    several is then checked against each row's tsvector (the costly part: a row read). So a
    few matches in any order (``PG_PROBE``) are asked for first: fewer are all there is (a rare
    word). Otherwise the span of ids they took (the table's order is mostly the ids') says how
    densely the word is spread: densely, the newest are found by walking the primary key
    backwards, checking rows until ``cap`` match. Thinly (or when the walk found fewer), up to
    ``cap + 1`` matches in any order say whether there are more than ``cap``, and if so all the
    index's candidates are sorted (checked, for a phrase). Either way reads at most about
    sqrt(cap x rows) rows (the choice is made where both cost that); the walk stops after four
    times that. ``SET LOCAL`` steers the planner to the plan chosen.
    """
    where, params = _match(dialect, query)
    newest = f"ORDER BY {'rowid' if dialect != 'postgresql' else 'id'} DESC LIMIT :n"
    if dialect != "postgresql":
        sql = f"SELECT rowid FROM {FTS} WHERE {where} {newest}"
        ids = list(conn.execute(text(sql), {**params, "n": cap + 1}).scalars())
        return ids[:cap], len(ids) > cap
    some = f"SELECT id FROM searchchunk WHERE {where} LIMIT :n"
    probe = min(cap + 1, PG_PROBE)
    ids = sorted(conn.execute(text(some), {**params, "n": probe}).scalars())
    if len(ids) < probe:
        return ids[::-1], False
    top = int(conn.execute(select(func.max(_CHUNKS.c.id))).scalar_one())
    reads = math.isqrt(cap * top)
    capped: dict[str, Any] = {**params, "n": cap}
    # the span of the first nine tenths: a few new rows fill the holes of old ones
    span = ids[len(ids) * 9 // 10] - ids[0]
    if span * cap <= reads * (len(ids) * 9 // 10):
        with _planner_without(conn, "enable_bitmapscan", "enable_seqscan"):
            walk = f"SELECT id FROM searchchunk WHERE id > :floor AND {where} {newest}"
            found = list(conn.execute(text(walk), {**capped, "floor": top - 4 * reads}).scalars())
        if len(found) == cap:
            return found, True
    if probe <= cap:
        ids = list(conn.execute(text(some), {**params, "n": cap + 1}).scalars())
        if len(ids) <= cap:
            return sorted(ids, reverse=True), False
    with _planner_without(conn, "enable_indexscan", "enable_seqscan"):
        sql = f"SELECT id FROM searchchunk WHERE {where} {newest}"
        return list(conn.execute(text(sql), capped).scalars()), True


@contextmanager
def _planner_without(conn: Connection, *settings: str) -> Iterator[None]:
    """PostgreSQL's planner without some of its plans for the statements run inside."""
    for setting in settings:
        conn.exec_driver_sql(f"SET LOCAL {setting} = off")
    try:
        yield
    finally:
        for setting in settings:
            conn.exec_driver_sql(f"SET LOCAL {setting} TO DEFAULT")


def _in_reference(query: str) -> ColumnElement[bool] | None:
    """The condition on a case whose reference (``PD-2026-000123``, stored upper-cased) holds
    ``query``, or None for a query that can be no part of one (a word: no scan). A whole
    reference is looked up; a part is looked for in the references' index, not the table."""
    wanted = query.strip().upper()
    shape = _DIGITS.sub("9", wanted)
    if not wanted or shape not in REFERENCE_SHAPE:
        return None
    if shape == REFERENCE_SHAPE:
        return _CASES.c.ref == wanted
    return _CASES.c.ref.like(f"%{wanted}%")


def prepare(query: str) -> str:
    """The query as searched (normalised, cut to ``MAX_QUERY``); ``QueryError`` when it cannot
    be searched."""
    wanted = normalise(query)[:MAX_QUERY].strip()
    if not wanted:
        raise QueryError("say what to search for")
    if len(wanted) == 1 and unicodedata.east_asian_width(wanted) not in ("W", "F"):
        raise QueryError("search for at least two characters (one only for a CJK character)")
    return wanted


def find(session: Session, query: str, *, limit: int, candidates: int | None = None) -> Found:
    """The cases matching ``query``, ranked (see the module's docstring) among the newest
    ``candidates`` (``CANDIDATES``) matching chunks and references."""
    wanted = prepare(query)
    cap = CANDIDATES if candidates is None else candidates
    dialect = _dialect(session)
    conn = session.connection()
    chunk_ids, capped = _newest_chunks(conn, dialect, wanted, cap)
    found: list[tuple[int | None, str]] = []
    if chunk_ids:
        # The covering index spares reading each matching chunk's row (its text) to learn its
        # field and message: SQLite would take the primary key unless told. The message's case
        # is looked up per chunk: joined, PostgreSQL would read every message to hash them.
        hint = " INDEXED BY ix_searchchunk_hit" if dialect == "sqlite" else ""
        case_of = "(SELECT m.case_id FROM message AS m WHERE m.id = s.message_id)"
        sql = (
            f"SELECT COALESCE({case_of}, s.case_id), s.field FROM searchchunk AS s{hint} "
            "WHERE s.id IN :ids"
        )
        statement = text(sql).bindparams(bindparam("ids", expanding=True))
        found += [
            (case_id, field) for case_id, field in conn.execute(statement, {"ids": chunk_ids})
        ]
    in_reference = _in_reference(query)
    if in_reference is not None:
        # newest first: a reference's year and number grow with time (and its index is read)
        refs = select(_CASES.c.id).where(in_reference).order_by(_CASES.c.ref.desc())
        ids = list(conn.execute(refs.limit(cap + 1)).scalars())
        capped = capped or len(ids) > cap
        found += [(i, REF) for i in ids[:cap]]
    stripped = query.strip()
    if "@" in stripped and " " not in stripped:
        address = select(_CASES.c.id).where(func.lower(_CASES.c.requester) == stripped.lower())
        found += [(i, REQUESTER) for i in conn.execute(address).scalars()]
    ranked = _rank(conn, found)
    return Found(ranked[:limit], len(ranked), capped)


def _rank(conn: Connection, found: Iterable[tuple[int | None, str]]) -> list[Hit]:
    """The cases of ``found`` (case, field) hits, best first: hits in strong fields, then more
    hits, then the newest received (then the newest case)."""
    fields: dict[int, set[str]] = {}
    strong: dict[int, int] = {}
    hits: dict[int, int] = {}
    for case_id, field in found:
        if case_id is None:  # a message in no case (quarantined without one)
            continue
        fields.setdefault(case_id, set()).add(field)
        strong[case_id] = strong.get(case_id, 0) + (field in STRONG)
        hits[case_id] = hits.get(case_id, 0) + 1
    if not fields:
        return []
    of = select(_CASES.c.id, _CASES.c.received_at).where(_CASES.c.id.in_(list(fields)))
    received = {case_id: at for case_id, at in conn.execute(of)}
    order = sorted(received, key=lambda i: (strong[i], hits[i], received[i], i), reverse=True)
    return [Hit(i, tuple(f for f in FIELDS if f in fields[i]), hits[i]) for i in order]


def compact(bind: Session | Connection) -> None:
    """Rewrite SQLite's FTS5 index without the entries of deleted rows (a delete only marks them
    until segments merge), so a purge leaves no tokens behind; PostgreSQL's VACUUM does this for
    the GIN index."""
    if _dialect(bind) != "postgresql":
        conn = bind.connection() if isinstance(bind, Session) else bind
        conn.execute(text(f"INSERT INTO {FTS} ({FTS}) VALUES ('optimize')"))
