"""What the case-file pages show, taken from the case file's read model (``bot.casefile``): the
values the case page renders (the files each draft carries, the upload forms and a refused
upload's reason among them), which attachments it may show inline, and a search result."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.casefile import Attachment, CaseFile
from bot.slack.blocks import intent_label
from bot.words import Words
from handlers.attachments import RASTER_TYPES


@dataclass(frozen=True)
class Found:
    """One case a search found, as the results list shows it."""

    ref: str
    status: str
    received_at: datetime
    subject: str


@dataclass(frozen=True)
class AnswerFile:
    """A file a draft carries, as the approver sees it before approving (never its bytes)."""

    name: str
    size: int
    sha256: str
    added_by: str
    added_at: datetime


@dataclass(frozen=True)
class Refusal:
    """Why files were not added to a draft, shown on the page the upload returns to."""

    draft: int
    reason: str


def may_show_inline(attachment: Attachment) -> bool:
    """Declared a raster image and flagged for nothing (a content that contradicts its type is
    flagged): the page may show it as a picture. The bytes are checked again when it is served
    (``handlers.attachments.raster_type``), so a lie in the mail never reaches an ``<img>``."""
    return attachment.type in RASTER_TYPES and not attachment.flagged


def page_values(
    found: CaseFile,
    *,
    w: Words,
    files: Mapping[int, Sequence[AnswerFile]] | None = None,
    forms: Mapping[int, str] | None = None,
    refusal: Refusal | None = None,
) -> dict[str, Any]:
    """The values ``templates/web/case.html.j2`` renders (intents named in ``w``'s language):
    ``files`` of each draft, the form
    token of each draft that takes an upload (``forms``), and why an upload was refused."""
    facts = found.facts
    return {
        "case": facts,
        "intents": w("blocks.list_separator").join(intent_label(i, w=w) for i in facts.intents),
        "addresses": [a for a in facts.addresses if a != facts.requester],
        "verification": found.verification,
        "pauses": found.pauses,
        "others": found.history,  # the requester's other cases (ref, status, received_at)
        "messages": found.messages,
        "inline": {a.n for a in found.attachments if may_show_inline(a)},
        "drafts": found.drafts,
        "files": files or {},
        "forms": forms or {},
        "refusal": refusal,
        "notes": found.notes,
        "events": found.events,
    }
