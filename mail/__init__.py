"""Mail as bytes in and out: watching the mailbox (IMAP, or Maildir/mbox/.eml sources), parsing and
decoding what arrives, recognising machine mail, and composing and sending what leaves (SMTP).

It decides nothing about a case; ``handlers/`` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mail.parse import Address, Attachment, Limits, ParsedMessage, parse_message

__all__ = ["Address", "Attachment", "Limits", "ParsedMessage", "parse_message"]


def __getattr__(name: str) -> Any:
    """The parser's names, imported when first asked for: ``mail.errors`` alone (the command
    line's parser imports it) does not load the parser."""
    if name in __all__:
        from mail import parse

        return getattr(parse, name)
    raise AttributeError(f"module 'mail' has no attribute {name!r}")
