"""The flywheel: labelled examples in, a better model out, and every process using the same one.

``import_examples`` turns a labelled corpus folder (the LABELS.md format) into labelled examples,
as if staff had reclassified the messages, without opening a case. ``train`` fits a model on the
shipped training data plus every labelled example in the database, scores it and the model in use
on the shipped evaluation data (which neither is trained on), stores it, and makes it the active
one only when neither macro-F1 (beyond refitting noise, ``MACRO_F1_NOISE``) nor rights recall
(beyond ``RIGHTS_RECALL_NOISE_LABELS``, and never by a request no person is asked about) got
worse. ``install_active`` makes this process
classify with the database's active model (or the packaged one when there is none), and
``ModelWatch`` lets a long-running service pick up a newly trained one.

scikit-learn is imported only inside ``train``: the intake path never loads it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, delete, func, update
from sqlmodel import Session, col, select

from bot import threads
from handlers import model as learned
from handlers.classify import classify_read
from handlers.evaluate import CorpusError, load_labels
from handlers.intents import ALL_INTENTS
from mail.errors import ParseError
from mail.parse import parse_message
from storage import repo
from storage.db import writer
from storage.models import ClassifierModel, LabelledExample, MailMessage

if TYPE_CHECKING:
    from handlers.training import Example, Scores

log = logging.getLogger("privacy_desk.learning")

ACTIVE, RETIRED, REJECTED = "active", "retired", "rejected"
IMPORTED = "import"
WATCH_EVERY = 30.0  # seconds between looks at the database's active model (serve)


class LearningError(Exception):
    """A corpus that cannot be imported, or training that cannot run."""


# ---- which model this process uses ----------------------------------------------------------


def stored_active(session: Session) -> ClassifierModel | None:
    return session.exec(
        select(ClassifierModel)
        .where(ClassifierModel.status == ACTIVE)
        .order_by(col(ClassifierModel.activated_at).desc(), col(ClassifierModel.id).desc())
        .limit(1)
    ).first()


def active_version(engine: Engine) -> str | None:
    """The version of the database's active model; None when none was ever trained."""
    with Session(engine) as session:
        row = session.exec(
            select(ClassifierModel.version)
            .where(ClassifierModel.status == ACTIVE)
            .order_by(col(ClassifierModel.activated_at).desc(), col(ClassifierModel.id).desc())
            .limit(1)
        ).first()
    return row


def install_active(engine: Engine) -> str | None:
    """Classify in this process (and the intake workers it starts from now on) with the
    database's active model, or with the packaged one when the database has none; the version."""
    with Session(engine) as session:
        row = stored_active(session)
        if row is None:
            learned.use_packaged()
        elif row.version != learned.active_version():
            learned.use(learned.loads(row.data), data=row.data)
            log.info("classifier model %s in use", row.version)
    return learned.active_version()


class ModelWatch:
    """For ``serve``: look at the database's active model every ``every`` seconds and install
    it when it changed (the intake pool follows: ``bot.watch.IntakeSink``)."""

    def __init__(self, engine: Engine, *, every: float = WATCH_EVERY) -> None:
        self._engine = engine
        self._every = every

    async def serve(self, stop: asyncio.Event, report: Callable[[str, str], None]) -> None:
        while not stop.is_set():
            try:
                version = await threads.db(install_active, self._engine)
                report("ok", f"model {version or 'none: rules alone'}")
            except Exception as exc:  # the database failed, or a stored model is unreadable
                log.error("classifier model check failed (%s)", type(exc).__name__)
                report("degraded", f"model check failed: {type(exc).__name__}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._every)


# ---- labelled examples ----------------------------------------------------------------------


@dataclass(frozen=True)
class Imported:
    added: int
    updated: int  # the same mail imported before: its labels replaced
    unreadable: tuple[str, ...]


def import_examples(engine: Engine, folder: Path, *, actor: str, now: datetime) -> Imported:
    """The messages of a corpus folder as labelled examples (no case, no listing); audited."""
    try:
        labels = load_labels(folder)
    except CorpusError as exc:
        raise LearningError(str(exc)) from None
    added = updated = 0
    unreadable: list[str] = []
    with Session(writer(engine)) as session:
        for item in labels:
            path = folder / item.file
            try:
                raw = path.read_bytes()
                parse_message(raw)  # what cannot be parsed cannot be learned from
            except (OSError, ParseError) as exc:
                unreadable.append(f"{item.file}: {exc}")
                continue
            sha = hashlib.sha256(raw).hexdigest()
            intents = sorted(item.intents)
            existing = session.exec(
                select(LabelledExample).where(
                    LabelledExample.sha256 == sha, LabelledExample.source == IMPORTED
                )
            ).first()
            if existing is not None:
                existing.intents, existing.language = intents, item.language
                existing.labelled_by, existing.labelled_at = actor, now
                session.add(existing)
                updated += 1
                continue
            session.add(
                LabelledExample(
                    intents=intents,
                    language=item.language,
                    labelled_by=actor,
                    labelled_at=now,
                    source=IMPORTED,
                    sha256=sha,
                    raw=raw,
                )
            )
            added += 1
        repo.audit(
            session,
            None,
            actor,
            "examples imported",
            added=added,
            updated=updated,
            unreadable=len(unreadable),
        )
        session.commit()
    return Imported(added, updated, tuple(unreadable))


def database_examples(session: Session) -> list[Example]:
    """Every labelled example in the database with its mail still there, as training data: a
    staff label of a message (the latest wins) read from the message, an imported one from
    its own copy."""
    from handlers.training import Example

    latest: dict[str, tuple[LabelledExample, bytes]] = {}
    rows = session.exec(select(LabelledExample).order_by(col(LabelledExample.id)))
    for row in rows:
        if row.source == IMPORTED:
            if row.raw is not None:
                latest[f"import:{row.sha256}"] = (row, row.raw)
        elif row.message_id is not None:
            message = session.get(MailMessage, row.message_id)
            if message is not None and message.raw is not None:
                latest[f"message:{row.message_id}"] = (row, message.raw)
    found: list[Example] = []
    for key, (row, raw) in latest.items():
        try:
            msg = parse_message(raw)
        except ParseError:
            continue
        _, (subject, text) = classify_read(msg)
        found.append(
            Example(
                id=f"db:{key}",
                subject=subject,
                text=text,
                intents=frozenset(i for i in row.intents if i in ALL_INTENTS),
                language=row.language,
                machine=msg.machine_signals,
                group=f"db:{msg.sha256}",
            )
        )
    return found


def purge_imported(engine: Engine, cutoff: datetime, *, dry_run: bool = False) -> int:
    """Delete imported examples labelled at or before ``cutoff`` (retention); how many."""
    where = (col(LabelledExample.source) == IMPORTED, col(LabelledExample.labelled_at) <= cutoff)
    with Session(engine if dry_run else writer(engine)) as session:
        found = int(
            session.exec(select(func.count()).select_from(LabelledExample).where(*where)).one()
        )
        if found and not dry_run:
            session.execute(delete(LabelledExample).where(*where))
            repo.audit(
                session,
                None,
                "retention",
                "examples purged",
                examples=found,
                labelled_until=cutoff.isoformat(),
            )
            session.commit()
    return found


# ---- training -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trained:
    version: str
    examples: int  # shipped and from the database
    from_database: int
    scores: Scores  # the new model, with the rules, on the shipped evaluation data
    previous_version: str | None  # the model in use before (None: rules alone)
    previous_scores: Scores
    activated: bool

    @property
    def why_not(self) -> str:
        return "; ".join(_worse(self.scores, self.previous_scores))


# Refitting moves a macro-F1 over the shipped evaluation data by a message's decision or two
# (one message of an intent with 40 examples is 0.001 of macro-F1): adding 20 examples of an
# unrelated phrasing cost 0.0008. A new model is not worse for a drop this small.
MACRO_F1_NOISE = 0.002
# Rights recall moves too: adding the same 20 examples to the shipped training data of
# 2026-12-05 (18,016 examples) lost one of the 5,689 rights labels of the evaluation data, a
# borderline message the refit read the other way. A new model may lose this many labels, and
# only while every request it no longer reads is still sent to a person (recall counting triage
# does not drop): each of them keeps the strictest clock (DESIGN rule 6). Beyond that, or when a
# request would go silent, it is worse.
RIGHTS_RECALL_NOISE_LABELS = 2


def _worse(new: Scores, old: Scores) -> list[str]:
    """What got worse, as staff read it (empty: the new model may replace the old)."""
    worse = []
    if new.macro_f1 < old.macro_f1 - MACRO_F1_NOISE:
        worse.append(
            f"macro-F1 {new.macro_f1:.4f} < {old.macro_f1:.4f} - {MACRO_F1_NOISE} (refitting noise)"
        )
    if new.rights_recall < old.rights_recall:
        lost = round((old.rights_recall - new.rights_recall) * new.rights_labels)
        if lost > RIGHTS_RECALL_NOISE_LABELS:
            worse.append(
                f"rights recall {new.rights_recall:.4f} < {old.rights_recall:.4f} "
                f"({lost} of {new.rights_labels} requests; refitting noise is "
                f"{RIGHTS_RECALL_NOISE_LABELS})"
            )
        elif new.rights_covered < old.rights_covered:
            worse.append(
                f"rights recall {new.rights_recall:.4f} < {old.rights_recall:.4f}, and a request "
                f"no longer read is not sent to a person (recall counting triage "
                f"{new.rights_covered:.4f} < {old.rights_covered:.4f})"
            )
    return worse


# The steps of ``train``, as its ``on_step`` is told of them.
TRAIN_STEPS = ("reading examples", "fitting", "scoring it", "scoring the model in use", "storing")


def train(
    engine: Engine,
    *,
    actor: str,
    now: datetime,
    on_step: Callable[[int, str], None] | None = None,
) -> Trained:
    """Fit, measure against the model in use, store, and activate when not worse; audited.
    ``on_step(n, what)`` is told as each of the ``TRAIN_STEPS`` starts (a progress bar)."""
    from handlers import training

    def step(what: str) -> None:
        if on_step is not None:
            on_step(TRAIN_STEPS.index(what), what)

    step("reading examples")
    shipped = training.shipped("training")
    evaluation = training.shipped("evaluation")
    with Session(engine) as session:
        extra = database_examples(session)
    examples = shipped + extra
    version = training.version_of(now.strftime("%Y%m%d-%H%M%S"), examples)
    step("fitting")
    fitted = training.fit(examples, version=version, meta={"trained_by": actor})
    step("scoring it")
    scores = training.evaluate(fitted.model, evaluation)
    step("scoring the model in use")
    install_active(engine)
    previous = learned.active()
    previous_scores = training.evaluate(previous, evaluation)
    model = training.with_scores(fitted.model, scores)
    step("storing")
    activated = not _worse(scores, previous_scores)
    data = model.dumps()
    with Session(writer(engine)) as session:
        if activated:
            session.execute(
                update(ClassifierModel)
                .where(col(ClassifierModel.status) == ACTIVE)
                .values(status=RETIRED)
            )
        session.add(
            ClassifierModel(
                version=version,
                status=ACTIVE if activated else REJECTED,
                trained_by=actor,
                trained_at=now,
                activated_at=now if activated else None,
                examples=len(examples),
                scores={
                    "evaluation": scores.as_dict(),
                    "previous": {
                        "version": previous.version if previous else None,
                        **previous_scores.as_dict(),
                    },
                    "from_database": len(extra),
                },
                data=data,
            )
        )
        repo.audit(
            session,
            None,
            actor,
            "model trained",
            version=version,
            activated=activated,
            examples=len(examples),
            from_database=len(extra),
            macro_f1=round(scores.macro_f1, 4),
            rights_recall=round(scores.rights_recall, 4),
            previous=previous.version if previous else None,
            previous_macro_f1=round(previous_scores.macro_f1, 4),
            previous_rights_recall=round(previous_scores.rights_recall, 4),
        )
        session.commit()
    if activated:
        learned.use(model, data=data)
    return Trained(
        version=version,
        examples=len(examples),
        from_database=len(extra),
        scores=scores,
        previous_version=previous.version if previous else None,
        previous_scores=previous_scores,
        activated=activated,
    )
