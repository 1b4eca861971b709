"""Bytes in and out: parsing and decoding mail (mailbox watching and sending come later)."""

from mail.parse import Address, Attachment, Limits, ParsedMessage, parse_message

__all__ = ["Address", "Attachment", "Limits", "ParsedMessage", "parse_message"]
