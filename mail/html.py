"""Render an HTML mail body to plain text, setting aside the quoted history mail clients nest in it."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Tag
from bs4.element import CData, NavigableString, PageElement

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
_DROP = {"script", "style", "head", "title", "meta"}
_BLOCKS = {
    "p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol",
    "section", "article", "header", "footer", "pre", "hr", "dt", "dd", "address",
}  # fmt: skip
_TEXT_TYPES = (NavigableString, CData)  # what get_text() reads: not comments, not <template>

# The selectors above are simple ones ("tag", "tag.class", "tag#id"); matching them ourselves in
# one walk over the tree is many times faster than one CSS query per selector.
Selector = tuple[str, str, str]


def _selector(text: str) -> Selector:
    m = re.fullmatch(r"([a-z0-9]+)(?:([.#])([\w-]+))?", text)
    if m is None:
        raise ValueError(f"unsupported selector {text!r}")
    return m.group(1), m.group(2) or "", m.group(3) or ""


_QUOTES = tuple(_selector(s) for s in QUOTE_SELECTORS)
_CUTS = tuple(_selector(s) for s in CUT_SELECTORS)


def _matches(tag: Tag, selectors: tuple[Selector, ...]) -> bool:
    for name, kind, value in selectors:
        if tag.name != name:
            continue
        if not kind:
            return True
        if kind == "#" and tag.get("id") == value:
            return True
        if kind == "." and value in (tag.get("class") or ()):
            return True
    return False


def html_to_text(html: str) -> tuple[str, str]:
    """Return (text outside quotes, quoted text) of an HTML body."""
    soup = BeautifulSoup(html, "html.parser")
    drop: list[Tag] = []
    quotes: list[Tag] = []
    marks: list[Tag] = []
    for tag in soup.find_all(True):
        if tag.name in _DROP:
            drop.append(tag)
        elif _matches(tag, _QUOTES):
            quotes.append(tag)
        elif _matches(tag, _CUTS):
            marks.append(tag)
    for tag in drop:
        if not tag.decomposed:
            tag.decompose()
    quoted_parts: list[str] = []
    # Wrapped quotes first: an Outlook mark inside a quote then goes with it, and cannot cut off
    # text written below the quote.
    for node in quotes:
        if not node.decomposed:
            quoted_parts.append(_text(node))
            node.decompose()
    live_marks = [m for m in marks if not m.decomposed]
    if live_marks:
        quoted_parts.extend(_cut_from(live_marks[0]))
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
            elif type(element) in _TEXT_TYPES:
                removed.append(str(element).strip())
            element.extract()
        node = parent
    return removed


_BLOCK_END = object()


def _text(node: Tag) -> str:
    """The text of ``node`` with a line break around every block element."""
    out: list[str] = []
    stack: list[PageElement | object] = list(reversed(node.contents))
    while stack:
        item = stack.pop()
        if item is _BLOCK_END:
            out.append("\n")
        elif isinstance(item, Tag):
            if item.name == "br":
                out.append("\n")
            elif item.name in _BLOCKS:
                out.append("\n")
                stack.append(_BLOCK_END)
                stack.extend(reversed(item.contents))
            else:
                stack.extend(reversed(item.contents))
        elif type(item) in _TEXT_TYPES:
            out.append(str(item))
    text = "".join(out).replace("\xa0", " ")
    text = re.sub(r"[ \t\r\f\v]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()
