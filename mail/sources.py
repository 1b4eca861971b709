"""Where messages come from on disk: ``.eml`` files, folders of them, mbox files and Maildirs."""

from __future__ import annotations

import mailbox
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path


class SourceError(ValueError):
    """A path that is not a message, a folder of messages, an mbox or a Maildir."""


@dataclass(frozen=True)
class Source:
    """One message to read: its name as the user will recognise it, and its bytes."""

    name: str
    raw: bytes


def _is_maildir(path: Path) -> bool:
    return all((path / sub).is_dir() for sub in ("cur", "new", "tmp"))


def _starts_like_mbox(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(5) == b"From "


def check(paths: Sequence[str]) -> None:
    """Raise ``SourceError`` for the first path that cannot be read, before anything is read."""
    for given in paths:
        path = Path(given)
        if path.is_dir():
            continue
        if not path.is_file():
            raise SourceError(f"{given}: no such file or folder")
        try:
            looks_mbox = _starts_like_mbox(path)
        except OSError as exc:
            raise SourceError(f"{given}: cannot read ({exc.strerror})") from None
        if path.suffix.lower() == ".mbox" and not looks_mbox:
            raise SourceError(f"{given}: not an mbox file (it does not start with a 'From ' line)")


def count(paths: Sequence[str]) -> int | None:
    """How many messages ``iter_sources`` will give, known before any is read (file names, and
    the ``From `` lines of an mbox counted in one pass); None when a path cannot be counted."""
    total = 0
    try:
        for given in paths:
            path = Path(given)
            if path.is_dir() and _is_maildir(path):
                total += len(mailbox.Maildir(path, factory=None, create=False))
            elif path.is_dir():
                total += sum(
                    1 for c in path.iterdir() if c.is_file() and c.suffix.lower() == ".eml"
                )
            elif path.suffix.lower() != ".eml" and _starts_like_mbox(path):
                total += _mbox_messages(path)
            else:
                total += 1
    except OSError:
        return None
    return total


def _mbox_messages(path: Path, chunk: int = 1 << 20) -> int:
    """The messages of an mbox: as ``mailbox.mbox`` reads it, every line that starts with
    ``From `` starts one (the file's first line does)."""
    found, tail = 0, b"\n"
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            found += (tail + block).count(b"\nFrom ")
            tail = block[-5:]  # a separator cut in two by the chunk boundary is found whole
    return found


def iter_sources(paths: Sequence[str]) -> Iterator[Source]:
    """Messages named by PATHs: ``.eml`` files, folders of them, mbox files or Maildirs."""
    check(paths)
    for given in paths:
        path = Path(given)
        if path.is_dir() and _is_maildir(path):
            box = mailbox.Maildir(path, factory=None, create=False)
            for key in sorted(box.iterkeys()):
                yield Source(f"{given}#{key}", box.get_bytes(key))
        elif path.is_dir():
            for child in sorted(path.iterdir()):
                if child.is_file() and child.suffix.lower() == ".eml":
                    yield Source(str(child), child.read_bytes())
        elif path.suffix.lower() != ".eml" and _starts_like_mbox(path):
            mbox = mailbox.mbox(path, create=False)
            try:
                for n, key in enumerate(mbox.iterkeys(), start=1):
                    yield Source(f"{given}#{n}", mbox.get_bytes(key))
            finally:
                mbox.close()
        else:
            yield Source(given, path.read_bytes())
