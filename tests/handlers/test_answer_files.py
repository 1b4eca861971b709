"""What files an answer may carry, and whether its text tells the truth about them."""

from __future__ import annotations

import pytest

from handlers.answer_files import (
    MAX_FILES,
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
        ("export.zip", b"PK\x03\x04" + bytes(50)),
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
