"""Decide what intake does with one message: a pure function of the message, its classification
and what the database already knows about it.

The routing is a table (``ROUTES``) read top to bottom, Mailman-style: the first rule whose check
holds decides. Linking follows DESIGN rule 3: a message joins a case only through its thread
headers or a case reference AND from an address the case knows; another person's mail never lands
in someone else's case.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from handlers.intents import (
    AUTO_REPLY,
    PRIVACY,
    PROVIDER_CORRECTION,
    RATE_QUESTION,
    SPAM,
)

# The storage layer imports this module for its plain data: it needs neither the classifier's
# model (numpy) nor the parser.
if TYPE_CHECKING:
    from handlers.classify import Classification
    from mail.parse import ParsedMessage

REFERENCE = re.compile(r"\bPD-(\d{4})-(\d{6})\b", re.IGNORECASE)


MESSAGE_ID_REUSED = "message_id_reused"  # the flag of a mail whose Message-ID another one had
UNVERIFIED_BOUNCE = "unverified_bounce"  # a report of a failed delivery we cannot match
UNAUTHENTICATED = "unauthenticated"  # our MTA did not authenticate its From: (PD_AUTHSERV_ID)
DOUBTFUL_SENDER = "doubtful_sender"  # several From: addresses, or a phrase like an address


# Light-weight handling of mail that is not a data-rights request, as data.
ASSIGN_NEW_CASE: dict[str, str] = {"provider_correction": "content-team"}  # kind -> assignee


def references_in(text: str) -> list[str]:
    """Case references (``PD-2026-000123``) named in a subject or text, upper-cased, in order."""
    return list(dict.fromkeys(f"PD-{y}-{n}" for y, n in REFERENCE.findall(text)))


class Action(StrEnum):
    DUPLICATE = "duplicate"  # already stored: nothing to do
    LINK = "link"  # joins an existing case
    OPEN = "open"  # opens a new case
    BOUNCE = "bounce"  # a delivery failure of our own mail: attached to its case
    ARCHIVE = "archive"  # recorded, no case: machine mail, spam


@dataclass(frozen=True)
class KnownCase:
    """What intake needs to know of an existing case."""

    id: int
    ref: str
    kind: str
    status: str
    addresses: frozenset[str]


@dataclass(frozen=True)
class Known:
    """What storage found about a message before the decision."""

    duplicate: bool = False  # the same bytes came in already
    message_id_reused: bool = False  # another stored mail came in with the same Message-ID
    thread_cases: tuple[KnownCase, ...] = ()  # cases of stored messages its thread headers name
    reference_cases: tuple[KnownCase, ...] = ()  # cases its subject names by reference
    bounced_case: KnownCase | None = None  # the case whose outgoing mail this bounce reports


@dataclass(frozen=True)
class Decision:
    action: Action
    disposition: str  # stored on the message row
    case: KnownCase | None = None  # the case linked to or bounced from
    kind: str | None = None  # for OPEN: privacy | provider_correction | rate_question | other
    flags: tuple[str, ...] = ()
    reasons: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class _Facts:
    msg: ParsedMessage
    intents: frozenset[str]
    known: Known
    sender: str
    distrust: tuple[str, ...] = ()  # why its From: cannot be believed; () when it can


def _own_case(facts: _Facts) -> KnownCase | None:
    if facts.distrust:  # DESIGN rule 7: a sender not shown to be who they say joins nothing
        return None
    for case in (*facts.known.thread_cases, *facts.known.reference_cases):
        if facts.sender and facts.sender in case.addresses:
            return case
    return None


def _foreign_reference(facts: _Facts) -> bool:
    return any(
        facts.distrust or facts.sender not in case.addresses
        for case in (*facts.known.thread_cases, *facts.known.reference_cases)
    )


def _is_machine(facts: _Facts) -> bool:
    # The classifier already weighed the headers: a form relay from a no-reply sender is not
    # machine mail, an out-of-office without headers is.
    return AUTO_REPLY in facts.intents


def kind_of(intents: frozenset[str]) -> str:
    if intents & set(PRIVACY):
        return "privacy"
    if PROVIDER_CORRECTION in intents:
        return "provider_correction"
    if RATE_QUESTION in intents:
        return "rate_question"
    return "other"  # nothing recognised: a case of its own, sent to triage, never dropped


def _flags(facts: _Facts) -> tuple[str, ...]:
    flags = []
    if _foreign_reference(facts):
        flags.append("foreign_reference")
    if facts.msg.defects:
        flags.append("decoding_defects")
    if facts.known.message_id_reused:
        flags.append(MESSAGE_ID_REUSED)
    flags.extend(facts.distrust)
    return tuple(flags)


# (name, when it applies, what to do) — read top to bottom, the first that applies decides.
Route = tuple[str, Callable[[_Facts], bool], Callable[[_Facts], Decision]]
ROUTES: tuple[Route, ...] = (
    (
        "already stored",
        lambda f: f.known.duplicate,
        lambda f: Decision(Action.DUPLICATE, "duplicate", reasons=("the same mail is stored",)),
    ),
    (
        "bounce of our mail",
        lambda f: f.msg.is_bounce and f.known.bounced_case is not None,
        lambda f: Decision(
            Action.BOUNCE,
            "bounce",
            case=f.known.bounced_case,
            reasons=(f"reports a failed delivery of {f.msg.original_message_id}",),
        ),
    ),
    (
        # A report that is no true bounce of a mail we sent (``storage.repo.reported_mail``):
        # kept as machine mail and flagged, never filed into anyone's case (issue 16).
        "report naming no mail we sent",
        lambda f: f.msg.is_bounce or f.msg.is_dsn or f.msg.original_message_id is not None,
        lambda f: Decision(
            Action.ARCHIVE,
            "machine",
            flags=(UNVERIFIED_BOUNCE,),
            reasons=("a delivery report that names no mail of ours sent to its recipient",),
        ),
    ),
    (
        "machine mail",
        _is_machine,
        lambda f: Decision(
            Action.ARCHIVE,
            "machine",
            reasons=("machine-sent: " + ", ".join(f.msg.machine_signals or ("auto_reply",)),),
        ),
    ),
    (
        "spam",
        lambda f: SPAM in f.intents,
        lambda f: Decision(Action.ARCHIVE, "spam", reasons=("classified as spam",)),
    ),
    (
        "follow-up from the requester",
        lambda f: _own_case(f) is not None,
        lambda f: Decision(
            Action.LINK,
            "linked",
            case=_own_case(f),
            flags=_flags(f),
            reasons=("thread headers or case reference, from an address of the case",),
        ),
    ),
    (
        "new request",
        lambda f: True,
        lambda f: Decision(
            Action.OPEN,
            "case",
            kind=kind_of(f.intents),
            flags=_flags(f),
            reasons=(
                ("its sender is not authenticated: opened apart",)
                if f.distrust and _foreign_reference(f)
                else ("names another person's case: opened apart",)
                if _foreign_reference(f)
                else ("no case of this requester matches",)
            ),
        ),
    ),
)


def distrust(msg: ParsedMessage, *, authenticated: bool | None) -> tuple[str, ...]:
    """Why ``msg``'s From: cannot be believed: a doubtful From: header, or no authentication by
    our MTA (``authenticated`` False; None where ``PD_AUTHSERV_ID`` is not set). () if it can."""
    why: list[str] = []
    if msg.sender is None or msg.sender_doubtful:
        why.append(DOUBTFUL_SENDER)
    if authenticated is False:
        why.append(UNAUTHENTICATED)
    return tuple(why)


def decide(
    msg: ParsedMessage,
    classification: Classification,
    known: Known,
    *,
    distrusted: tuple[str, ...] = (),
) -> Decision:
    """What intake does with ``msg``; ``distrusted`` says why its sender is not believed
    (``distrust``): such a message opens a case of its own, flagged, and joins none."""
    facts = _Facts(
        msg=msg,
        intents=frozenset(classification.intents),
        known=known,
        sender=msg.sender.address.lower() if msg.sender else "",
        distrust=distrusted,
    )
    for _name, applies, act in ROUTES:
        if applies(facts):
            return act(facts)
    raise AssertionError("the last route always applies")  # pragma: no cover
