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
more hits (fields and chunks that match) first; then the newest received. Counting is exact
(every matching case), so ``total`` is true.

Measured (``bench/search.py``, 100,000 cases, README "Measured"): a rare word or a surname is
answered in a fraction of a second on both databases; the cost grows with the number of
matching cases, since every one is counted and ranked, so a word found in half the desk takes
longer (on PostgreSQL most, where a phrase of common bigrams is checked against each candidate
row's tsvector). The FTS5 index is about half the size of the texts it holds.

The index holds the requester's words in a form the text can be rebuilt from, in the clear
(``PD_RAW_KEYS`` encrypts raw mail, not the index), so it is purged with its case
(``forget_case``); on SQLite each chunk keeps its normalised text, because a contentless FTS5 row
is deleted by naming its tokens again.
"""

from __future__ import annotations

import operator
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, func, insert, select, text
from sqlmodel import Session

from storage.models import MailMessage, SearchChunk

MAX_QUERY = 100  # characters of a query (normalised); longer ones are cut
CHUNK = 2000  # characters per indexed chunk
MAX_TEXT = 200_000  # characters of one field of one message that are indexed
FTS = "searchchunk_fts"  # SQLite's FTS5 table (and its shadow tables, FTS + "_...")

BODY, QUOTED, SUBJECT, NAME = "body", "quoted", "subject", "name"
REF, REQUESTER = "reference", "requester"
# Where a hit can be: each one bit of the ``fields`` mask the query sums (distinct) per case.
FIELDS: dict[str, int] = {REF: 1, REQUESTER: 2, NAME: 4, SUBJECT: 8, BODY: 16, QUOTED: 32}
STRONG = (REF, REQUESTER, NAME, SUBJECT)  # a hit here ranks above any number in bodies

_NIBBLES = str.maketrans("0123456789abcdef", "abcdefghijklmnop")
_SPACE = re.compile(r"\s+")
_REFERENCE_PART = re.compile(r"[A-Za-z0-9-]+")


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
    total: int  # cases that match in all


def _match(dialect: str, query: str) -> tuple[str, dict[str, str]]:
    """The SQL that yields the ids of the chunks matching ``query`` (normalised, 1 character
    or more), and its parameters: the phrase of its bigrams, or for one character the bigrams
    it starts."""
    if len(query) == 1:
        if dialect == "postgresql":
            where = "tsv @@ to_tsquery('simple', :q)"
            return f"SELECT id FROM searchchunk WHERE {where}", {"q": _letters(query) + ":*"}
        return f"SELECT rowid AS id FROM {FTS} WHERE {FTS} MATCH :q", {"q": _letters(query) + "*"}
    phrase = " ".join(tokens(query))
    if dialect == "postgresql":
        where = "tsv @@ phraseto_tsquery('simple', :q)"
        return f"SELECT id FROM searchchunk WHERE {where}", {"q": phrase}
    return f"SELECT rowid AS id FROM {FTS} WHERE {FTS} MATCH :q", {"q": f'"{phrase}"'}


def _like(value: str) -> str:
    r"""A LIKE pattern for ``value`` anywhere, its ``%``, ``_`` and ``\`` taken literally."""
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def prepare(query: str) -> str:
    """The query as searched (normalised, cut to ``MAX_QUERY``); ``QueryError`` when it cannot
    be searched."""
    wanted = normalise(query)[:MAX_QUERY].strip()
    if not wanted:
        raise QueryError("say what to search for")
    if len(wanted) == 1 and unicodedata.east_asian_width(wanted) not in ("W", "F"):
        raise QueryError("search for at least two characters (one only for a CJK character)")
    return wanted


def find(session: Session, query: str, *, limit: int) -> Found:
    """The cases matching ``query``, ranked (see the module's docstring)."""
    wanted = prepare(query)
    dialect = _dialect(session)
    matching, params = _match(dialect, wanted)
    bits = {f"bit_{name}": bit for name, bit in FIELDS.items()}
    # The covering index spares reading each matching chunk's row (its text) to learn its
    # field and message: SQLite would take the primary key unless told.
    chunk = "searchchunk AS s" + (" INDEXED BY ix_searchchunk_hit" if dialect == "sqlite" else "")
    parts = [
        f"SELECT COALESCE(m.case_id, s.case_id) AS case_id, s.field AS field "
        f"FROM ({matching}) AS f JOIN {chunk} ON s.id = f.id "
        f"LEFT JOIN message AS m ON m.id = s.message_id"
    ]
    stripped = query.strip()
    if _REFERENCE_PART.fullmatch(stripped):
        parts.append(f"SELECT id, '{REF}' FROM \"case\" WHERE upper(ref) LIKE :ref ESCAPE '\\'")
        params["ref"] = _like(stripped.upper())
    if "@" in stripped and " " not in stripped:
        parts.append(f"SELECT id, '{REQUESTER}' FROM \"case\" WHERE lower(requester) = :address")
        params["address"] = stripped.lower()
    # one MAX per field rather than SUM(DISTINCT ...), which sorts each case's hits
    fields = " + ".join(
        f"MAX(CASE WHEN field = '{name}' THEN :bit_{name} ELSE 0 END)" for name in FIELDS
    )
    strong = ", ".join(f"'{name}'" for name in STRONG)
    sql = f"""
        WITH hit AS ({" UNION ALL ".join(parts)}),
        scored AS (
            SELECT case_id,
                   {fields} AS fields,
                   SUM(CASE WHEN field IN ({strong}) THEN 1 ELSE 0 END) AS strong,
                   COUNT(*) AS hits
            FROM hit WHERE case_id IS NOT NULL GROUP BY case_id
        )
        SELECT sc.case_id, sc.fields, sc.hits, COUNT(*) OVER () AS total
        FROM scored AS sc JOIN "case" AS c ON c.id = sc.case_id
        ORDER BY sc.strong DESC, sc.hits DESC, c.received_at DESC, c.id DESC
        LIMIT :limit
    """
    result = session.connection().execute(text(sql), {**params, **bits, "limit": limit})
    hits: list[Hit] = []
    total = 0
    for case_id, mask, count, every in result:
        names = tuple(name for name, bit in FIELDS.items() if int(mask) & bit)
        hits.append(Hit(int(case_id), names, int(count)))
        total = int(every)
    return Found(hits, total)


def compact(bind: Session | Connection) -> None:
    """Rewrite SQLite's FTS5 index without the entries of deleted rows (a delete only marks them
    until segments merge), so a purge leaves no tokens behind; PostgreSQL's VACUUM does this for
    the GIN index."""
    if _dialect(bind) != "postgresql":
        conn = bind.connection() if isinstance(bind, Session) else bind
        conn.execute(text(f"INSERT INTO {FTS} ({FTS}) VALUES ('optimize')"))
