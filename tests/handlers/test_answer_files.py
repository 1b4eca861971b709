"""What files an answer may carry, and whether its text tells the truth about them."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from support import encrypted, lying_about_size, zip_of

from bot.words import words
from handlers import answer_files
from handlers.answer_files import (
    MAX_FILES,
    ZIP_MAX_ENTRIES,
    Problem,
    claims_files,
    clean_name,
    mime_type,
    refusal,
    set_refusal,
    text_refusal,
)

LIMIT = 1000


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("setup.exe", b"anything"),
        ("README.PDF.EXE", b"%PDF-1.7"),  # the last suffix counts, in any case
        ("tool.exe.", b"%PDF-1.7"),  # Windows drops a trailing dot
        ("page.htm", b"hello"),
        ("macro.xlsm", b"PK\x03\x04"),
        ("invoice.pdf", b"MZ\x90\x00"),  # a Windows program by its first bytes
        ("data.csv", b"\x7fELF\x02\x01"),
        ("run.txt", b"#!/bin/sh\nrm -rf ~\n"),
        ("letter.txt", b"\xef\xbb\xbf\r\n  <!DOCTYPE html><p>hi"),
        ("notes.csv", b"a,b\n<SCRIPT src=x>"),
        ("report.pdf", b"\xfe\xed\xfa\xcf\x01\x00"),  # a big-endian Mach-O program
        ("shortcut.url", b"[InternetShortcut]\r\nURL=file:///c:/x.exe"),
        ("disk.vhdx", b"vhdxfile"),
    ],
)
def test_programs_scripts_and_web_pages_are_refused(name: str, data: bytes) -> None:
    problem = refusal(name, data, max_bytes=LIMIT)
    assert problem is not None and problem.startswith(name)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("開示データ_田中.csv", "氏名,田中太郎\r\n".encode()),
        ("scan.pdf", b"%PDF-1.7\n" + bytes(range(256))),
        ("export.zip", zip_of({"会員情報.csv": "氏名\r\n田中太郎\r\n".encode()})),  # a real one
        ("records.xml", b"<?xml version='1.0'?><records/>"),
    ],
)
def test_documents_and_data_may_go(name: str, data: bytes) -> None:
    assert refusal(name, data, max_bytes=LIMIT) is None


def test_size_limits_hold_for_each_file_and_for_all_together() -> None:
    assert refusal("a.csv", b"", max_bytes=LIMIT) == "a.csv is empty"
    assert "over PD_ATTACHMENT_MAX_BYTES (1000)" in str(
        refusal("a.csv", b"x" * 1001, max_bytes=LIMIT)
    )
    assert refusal("a.csv", b"x" * 1000, max_bytes=LIMIT) is None
    assert set_refusal(["a", "b"], [500, 500], max_bytes=LIMIT) is None
    assert "1001 bytes together" in str(set_refusal(["a", "b"], [500, 501], max_bytes=LIMIT))
    assert "two files named a" in str(set_refusal(["a", "a"], [1, 1], max_bytes=LIMIT))
    names = [f"{n}.csv" for n in range(MAX_FILES + 1)]
    assert "at most" in str(set_refusal(names, [1] * len(names), max_bytes=LIMIT))


def test_a_name_is_one_line_without_folders() -> None:
    assert clean_name("C:\\Users\\yamada\\開示データ.csv") == "開示データ.csv"
    assert clean_name("../../etc/passwd") == "passwd"
    assert clean_name("report\r\nBcc: x@y.jp.pdf") == "report Bcc: x@y.jp.pdf"
    assert clean_name(".hidden") == "hidden"
    # NFC: a name typed on a Mac (decomposed) is the name the letter lists.
    assert clean_name("テ\u3099ータ.csv") == "データ.csv"


def test_types_follow_the_name() -> None:
    assert mime_type("開示データ_田中.csv") == "text/csv"
    assert mime_type("scan.PDF") == "application/pdf"
    assert mime_type("data.csv.gz") == "application/gzip"
    assert mime_type("noextension") == "application/octet-stream"


def test_a_claim_of_files_counts_outside_the_quoted_values_only() -> None:
    letter = "ご請求の内容は以下のとおりです。\n・添付書類の受付記録\n"
    assert claims_files(letter, []) is True
    assert claims_files(letter, ["添付書類の受付記録"]) is False  # staff's words, quoted
    assert claims_files("Please find the files ATTACHED.", []) is True
    assert claims_files("本メールにて開示いたします。", []) is False


def test_a_letter_names_every_file_and_claims_none_it_lacks() -> None:
    claims = "本メールに添付したファイルにて開示いたします。"
    assert text_refusal(claims, [], []) == "its text says files are attached, but it carries none"
    assert text_refusal("開示いたします。", [], []) is None
    assert text_refusal(f"{claims}\n・a.csv\n", [], ["a.csv", "b.pdf"]) == (
        "its text does not name the attached b.pdf"
    )
    assert text_refusal(f"{claims}\n・a.csv\n・b.pdf\n", [], ["a.csv", "b.pdf"]) is None


def test_a_program_by_its_content_is_named_for_what_it_is() -> None:
    assert "is a Windows program by its content" in str(refusal("a.pdf", b"MZ", max_bytes=LIMIT))
    assert "is a macOS program" in str(refusal("a.pdf", b"\xfe\xed\xfa\xce", max_bytes=LIMIT))
    assert "is a script" in str(refusal("a.txt", b"#!/usr/bin/env python", max_bytes=LIMIT))


# ---- ZIP archives: looked into, never unpacked to disk -------------------------------------

ZIP_LIMIT = 25 * 1024 * 1024  # PD_ATTACHMENT_MAX_BYTES's default
CSV = "氏名,会員番号\r\n田中太郎,HK-778812\r\n".encode()
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 4 + b"\n%%EOF\n"


def refused_archive(name: str, data: bytes) -> Problem:
    problem = refusal(name, data, max_bytes=ZIP_LIMIT)
    assert isinstance(problem, Problem), f"{name} was not refused"
    assert problem.startswith(name), problem  # one line that names the file
    assert "\n" not in problem
    return problem


def test_an_archive_of_data_goes_and_so_does_one_inside_it() -> None:
    inner = zip_of({"ログイン履歴.csv": CSV, "access-log.pdf": PDF})
    assert refusal("開示データ.zip", zip_of({"会員情報.csv": CSV}), max_bytes=ZIP_LIMIT) is None
    outer = zip_of({"会員情報.csv": CSV, "履歴/": b"", "履歴/logs.zip": inner})
    assert refusal("開示データ.zip", outer, max_bytes=ZIP_LIMIT) is None
    document = zip_of({"[Content_Types].xml": b"<?xml version='1.0'?><Types/>",
                       "word/document.xml": b"<?xml version='1.0'?><w:document/>"})  # fmt: skip
    assert refusal("回答書.docx", document, max_bytes=ZIP_LIMIT) is None


@pytest.mark.parametrize(
    ("entries", "named"),
    [
        ({"会員情報.csv": CSV, "setup.exe": b"harmless bytes"}, "setup.exe"),  # by its name
        ({"invoice.pdf": b"MZ\x90\x00" + bytes(64)}, "invoice.pdf"),  # by its first bytes
        ({"run.txt": b"#!/bin/sh\nrm -rf ~\n"}, "run.txt"),
        ({"notes.txt": b"\xef\xbb\xbf  <script>alert(1)</script>"}, "notes.txt"),
        ({"icon.svg": b"<svg/>"}, "icon.svg"),
        ({"docs/macro.xlsm": b"PK\x03\x04"}, "docs/macro.xlsm"),
    ],
)
def test_an_archive_holding_a_dangerous_type_is_refused(
    entries: dict[str, bytes], named: str
) -> None:
    problem = refused_archive("開示データ.zip", zip_of(entries))
    assert problem.key == "zip_holds" and named in problem
    # one level down it is found just the same
    nested = refused_archive("all.zip", zip_of({"part.zip": zip_of(entries)}))
    assert named in nested


def test_an_encrypted_entry_is_refused() -> None:
    problem = refused_archive("secret.zip", encrypted(zip_of({"会員情報.csv": CSV})))
    assert problem.key == "zip_encrypted" and "会員情報.csv" in problem


def test_archives_nested_beyond_one_level_or_unreadable_inside_are_refused() -> None:
    third = zip_of({"a.zip": zip_of({"b.zip": zip_of({"会員情報.csv": CSV})})})
    problem = refused_archive("nested.zip", third)
    inner = problem.values["problem"]  # nested.zip holds a.zip, which holds...
    assert problem.key == inner.key == "zip_holds"  # type: ignore[attr-defined]
    assert inner.values["problem"].key == "zip_nested"  # type: ignore[attr-defined]
    assert "b.zip, an archive inside an archive inside an archive" in problem
    gzip = refused_archive("logs.zip", zip_of({"logs.csv.gz": b"\x1f\x8b\x08\x00" + bytes(32)}))
    assert gzip.values["problem"].key == "zip_opaque" and "logs.csv.gz" in gzip
    broken = refused_archive("broken.zip", b"PK\x03\x04" + bytes(40))
    assert broken.key == "zip_unreadable"


def test_an_archive_of_too_many_files_is_refused() -> None:
    many = zip_of({f"{n:04}.csv": b"a" for n in range(ZIP_MAX_ENTRIES + 1)})
    assert refused_archive("many.zip", many).key == "zip_too_many"
    assert (
        refusal("enough.zip", zip_of({f"{n}.csv": b"a" for n in range(50)}), max_bytes=ZIP_LIMIT)
        is None
    )


def test_a_zip_bomb_is_refused_whatever_its_header_says() -> None:
    """32 MiB of zeros pack into some 32 KB: unpacked in chunks, the archive is refused once it
    has given out a hundred times its own size, before the rest is unpacked; the same bomb
    whose headers claim it unpacks to 1,000 bytes (so a check of the headers alone would let it
    through) is refused too."""
    bomb = zip_of({"data.csv": bytes(32 * 1024 * 1024)})
    assert len(bomb) < 64 * 1024
    problem = refused_archive("data.zip", bomb)
    assert problem.key == "zip_bomb" and "zip bomb" in problem
    liar = lying_about_size(bomb, 1000)
    with zipfile.ZipFile(io.BytesIO(liar)) as archive:
        assert sum(i.file_size for i in archive.infolist()) == 1000  # what the header says
    problem = refused_archive("data.zip", liar)
    assert problem.key in ("zip_bomb", "zip_damaged") and "zip bomb" in problem


def test_every_key_of_a_problem_has_its_staff_text() -> None:
    source = Path(answer_files.__file__).read_text("utf-8")
    keys = set(re.findall(r'"((?:zip|files?|program)_\w+)"', source))
    assert {"zip_bomb", "zip_holds", "file_suffix", "files_claimed", "program_windows"} <= keys
    for language in ("ja", "en"):
        known = words(language).keys()
        assert sorted(k for k in keys if f"refusal.{k}" not in known) == [], language
