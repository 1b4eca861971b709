"""Render an HTML mail body to plain text, setting aside the quoted history mail clients nest in it."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Tag
from bs4.element import NavigableString

# Elements that mail clients use to wrap quoted or forwarded history.
QUOTE_SELECTORS = (
    "blockquote",
    "div.gmail_quote",
    "div.gmail_extra",
    "div.yahoo_quoted",
    "div.moz-cite-prefix",
    "div.OutlookMessageHeader",
)
# Outlook does not wrap the quoted message: it marks where it starts and puts it after the mark,
# so everything from the first of these on (in document order) is history.
CUT_SELECTORS = (
    "div#appendonsend",
    "hr#stopSpelling",
    "div#divRplyFwdMsg",
    "div#mail-editor-reference-message-container",
)
_BLOCKS = {
    "p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol",
    "section", "article", "header", "footer", "pre", "hr", "dt", "dd", "address",
}  # fmt: skip


def html_to_text(html: str) -> tuple[str, str]:
    """Return (text outside quotes, quoted text) of an HTML body."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "head", "title", "meta"]):
        tag.decompose()
    quoted_parts: list[str] = []
    marks = soup.select(", ".join(CUT_SELECTORS))
    if marks:
        quoted_parts.extend(_cut_from(marks[0]))
    for selector in QUOTE_SELECTORS:
        for node in soup.select(selector):
            if isinstance(node, Tag) and node.parent is not None:
                quoted_parts.append(_text(node))
                node.decompose()
    return _text(soup), "\n".join(p for p in quoted_parts if p)


def _cut_from(mark: Tag) -> list[str]:
    """Remove ``mark`` and everything after it in document order; return the removed text."""
    removed: list[str] = []
    node: Tag | None = mark
    while node is not None and node.parent is not None:
        following = [node, *node.next_siblings] if node is mark else list(node.next_siblings)
        parent: Tag | None = node.parent
        for element in following:
            if isinstance(element, Tag):
                removed.append(_text(element))
            elif isinstance(element, NavigableString):
                removed.append(str(element).strip())
            element.extract()
        node = parent
    return removed


def _text(node: Tag) -> str:
    for br in node.find_all("br"):
        br.replace_with("\n")
    for block in node.find_all(_BLOCKS):
        if isinstance(block, Tag):
            block.insert_before("\n")
            block.insert_after("\n")
    text = node.get_text()
    text = text.replace("\xa0", " ")
    text = re.sub(r"[ \t\r\f\v]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()
