"""Mail as bytes in and out: watching the mailbox (IMAP, or Maildir/mbox/.eml sources), parsing and
decoding what arrives, recognising machine mail, and composing and sending what leaves (SMTP).

It decides nothing about a case; ``handlers/`` does.
"""

from mail.parse import Address, Attachment, Limits, ParsedMessage, parse_message

__all__ = ["Address", "Attachment", "Limits", "ParsedMessage", "parse_message"]
