"""Render an HTML mail body to plain text, setting aside the quoted history mail clients nest in it."""

from __future__ import annotations

import re
from collections.abc import Iterator

from lxml import etree, html

# Elements that mail clients use to wrap quoted or forwarded history: (tag, "." class | "#" id).
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
_DROP = {"script", "style", "head", "title", "meta", "template"}
_BLOCKS = {
    "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol",
    "section", "article", "header", "footer", "pre", "hr", "dt", "dd", "address", "blockquote",
}  # fmt: skip
_CELLS = {"td", "th"}  # a table's cells: a tab after each keeps a row's words apart
# Characters libxml2 refuses in text (C0 controls but tab, line feed and carriage return).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")

Selector = tuple[str, str, str]


def _selector(text: str) -> Selector:
    m = re.fullmatch(r"([a-z0-9]+)(?:([.#])([\w-]+))?", text)
    if m is None:
        raise ValueError(f"unsupported selector {text!r}")
    return m.group(1), m.group(2) or "", m.group(3) or ""


_QUOTES = tuple(_selector(s) for s in QUOTE_SELECTORS)
_CUTS = tuple(_selector(s) for s in CUT_SELECTORS)


def _matches(element: etree._Element, selectors: tuple[Selector, ...]) -> bool:
    for name, kind, value in selectors:
        if element.tag != name:
            continue
        if not kind:
            return True
        if kind == "#" and element.get("id") == value:
            return True
        if kind == "." and value in (element.get("class") or "").split():
            return True
    return False


def html_to_text(source: str) -> tuple[str, str]:
    """Return (text outside quotes, quoted text) of an HTML body."""
    cleaned = _CONTROL.sub("", _XML_DECLARATION.sub("", source))
    if not cleaned.strip():
        return "", ""
    try:
        root = html.document_fromstring(cleaned)
    except (etree.ParserError, ValueError):
        # libxml2 found nothing it could call a document: keep the words, lose the markup.
        return _squeeze(re.sub(r"<[^>]*>", " ", cleaned)), ""
    drop: list[etree._Element] = []
    quotes: list[etree._Element] = []
    marks: list[etree._Element] = []
    for element in root.iter():
        # Comments and processing instructions have a function, not a string, as their tag.
        if not isinstance(element.tag, str) or element.tag in _DROP:
            drop.append(element)
        elif _matches(element, _QUOTES):
            quotes.append(element)
        elif _matches(element, _CUTS):
            marks.append(element)
    for element in drop:
        _remove(element)
    quoted_parts: list[str] = []
    # Wrapped quotes first: an Outlook mark inside a quote then goes with it, and cannot cut off
    # text written below the quote.
    for element in quotes:
        if _attached(element, root):
            quoted_parts.append(_text(element))
            _remove(element)
    live_marks = [m for m in marks if _attached(m, root)]
    if live_marks:
        quoted_parts.extend(_cut_from(live_marks[0]))
    return _text(root), "\n".join(p for p in quoted_parts if p)


def _attached(element: etree._Element, root: etree._Element) -> bool:
    """Still in the document (an ancestor may have been removed already)."""
    node: etree._Element | None = element
    while node is not None and node is not root:
        node = node.getparent()
    return node is root


def _remove(element: etree._Element) -> None:
    """Take an element out of the tree, keeping the text that follows it (its tail)."""
    parent = element.getparent()
    if parent is None:
        return
    tail = element.tail
    previous = element.getprevious()
    parent.remove(element)
    if tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail


def _cut_from(mark: etree._Element) -> list[str]:
    """Remove ``mark`` and everything after it in document order; return the removed text."""
    removed: list[str] = []
    node = mark
    first = True
    while node.getparent() is not None:
        parent = node.getparent()
        assert parent is not None
        following = list(node.itersiblings())
        if first:
            removed.append(_text(node))
        if node.tail and node.tail.strip():
            removed.append(node.tail.strip())
        node.tail = None
        for sibling in following:
            removed.append(_text(sibling))
            if sibling.tail and sibling.tail.strip():
                removed.append(sibling.tail.strip())
            parent.remove(sibling)
        if first:
            parent.remove(node)
            first = False
        node = parent
    return removed


_END = object()


def _walk(element: etree._Element) -> Iterator[str]:
    """Text of ``element`` (not its tail), with a line break around every block element."""
    stack: list[object] = [element]
    while stack:
        item = stack.pop()
        if item is _END:
            yield "\n"
            continue
        if isinstance(item, str):
            yield item
            continue
        assert isinstance(item, etree._Element)
        block = item.tag in _BLOCKS
        if block or item.tag == "br":
            yield "\n"
        if item.text:
            yield item.text
        # Children in order, each followed by its tail; the block's closing break last.
        pending: list[object] = []
        for child in item:
            pending.append(child)
            if child.tail:
                pending.append(child.tail)
        if block:
            pending.append(_END)
        elif item.tag in _CELLS:
            pending.append("\t")  # "Newsletter<tab>Stop", not "NewsletterStop"
        stack.extend(reversed(pending))


def _text(element: etree._Element) -> str:
    return _squeeze("".join(_walk(element)))


def _squeeze(text: str) -> str:
    text = text.replace("\xa0", " ")
    text = re.sub(r"[ \t\r\f\v]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()
