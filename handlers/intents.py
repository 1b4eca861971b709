"""The intents a message to the privacy address can carry (../shared/corpus/LABELS.md)."""

from __future__ import annotations

from typing import Final

DISCLOSURE: Final = "disclosure"
CORRECTION: Final = "correction"
DELETION: Final = "deletion"
STOP_USE: Final = "stop_use"
STOP_PROVISION: Final = "stop_provision"
COMPLAINT: Final = "complaint"
INQUIRY: Final = "inquiry"
PROVIDER_CORRECTION: Final = "provider_correction"
RATE_QUESTION: Final = "rate_question"
AUTO_REPLY: Final = "auto_reply"
SPAM: Final = "spam"

# Rights requests under APPI Art. 33-35, GDPR Art. 15-21 and the CCPA: missing one is the worst error.
RIGHTS: Final = (DISCLOSURE, CORRECTION, DELETION, STOP_USE, STOP_PROVISION)
PRIVACY: Final = (*RIGHTS, COMPLAINT, INQUIRY)
NOT_PRIVACY: Final = (PROVIDER_CORRECTION, RATE_QUESTION, AUTO_REPLY, SPAM)
ALL_INTENTS: Final = (*PRIVACY, *NOT_PRIVACY)
