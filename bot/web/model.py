"""What the case-file pages show, taken from the case file's read model (``bot.casefile``): the
values the case page renders, which attachments it may show inline, and a search result."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.casefile import Attachment, CaseFile
from bot.slack.blocks import INTENT_LABELS
from handlers.attachments import RASTER_TYPES


@dataclass(frozen=True)
class Found:
    """One case a search found, as the results list shows it."""

    ref: str
    status: str
    received_at: datetime
    subject: str


def may_show_inline(attachment: Attachment) -> bool:
    """Declared a raster image and flagged for nothing (a content that contradicts its type is
    flagged): the page may show it as a picture. The bytes are checked again when it is served
    (``handlers.attachments.raster_type``), so a lie in the mail never reaches an ``<img>``."""
    return attachment.type in RASTER_TYPES and not attachment.flagged


def page_values(found: CaseFile) -> dict[str, Any]:
    """The values ``templates/web/case.html.j2`` renders."""
    facts = found.facts
    return {
        "case": facts,
        "intents": ", ".join(INTENT_LABELS.get(i, i) for i in facts.intents),
        "addresses": [a for a in facts.addresses if a != facts.requester],
        "verification": found.verification,
        "pauses": found.pauses,
        "others": found.history,  # the requester's other cases (ref, status, received_at)
        "messages": found.messages,
        "inline": {a.n for a in found.attachments if may_show_inline(a)},
        "drafts": found.drafts,
        "notes": found.notes,
        "events": found.events,
    }
