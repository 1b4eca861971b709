"""Attachments staff must be warned about are flagged with a reason they can read; only real
raster pictures may be shown inline."""

from __future__ import annotations

import pytest

from handlers.attachments import flags, is_raster_image, raster_type

MiB = 1024 * 1024
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF"
GIF = b"GIF89a\x01\x00\x01\x00"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 "
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00"
ELF = b"\x7fELF\x02\x01\x01\x00"
ZIP = b"PK\x03\x04\x14\x00\x00\x00word/document.xml"
DOCM = b"PK\x03\x04\x14\x00\x00\x00word/vbaProject.bin"
HTML_PAGE = b"\xef\xbb\xbf  <!DOCTYPE html><html><script>alert(1)</script>"
SVG_IMAGE = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>'
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.mark.parametrize(
    ("name", "declared", "data", "expected"),
    [
        ("本人確認書類.png", "image/png", PNG, []),
        ("scan.jpg", "image/jpeg", JPEG, []),
        ("申請書.pdf", "application/pdf", PDF, []),
        ("report.docx", DOCX, ZIP, []),
        ("photo.png", "application/octet-stream", PNG, []),
        ("invoice.exe", "application/octet-stream", EXE, ["executable"]),
        ("invoice.pdf", "application/pdf", EXE, ["executable", "type mismatch"]),
        ("readme.txt", "text/plain", b"#!/bin/sh\nrm -rf ~\n", ["script", "type mismatch"]),
        ("tool", "application/octet-stream", ELF, ["executable"]),
        ("run.bat", "text/plain", b"@echo off\r\n", ["script"]),
        ("page.html", "text/html", HTML_PAGE, ["html"]),
        ("note.txt", "text/plain", HTML_PAGE, ["html", "type mismatch"]),
        ("logo.svg", "image/svg+xml", SVG_IMAGE, ["svg"]),
        ("logo.png", "image/png", SVG_IMAGE, ["svg", "type mismatch"]),
        ("data.xml", "application/xml", b'<?xml version="1.0"?><a/>', ["xml"]),
        ("budget.xlsm", "application/vnd.ms-excel.sheet.macroEnabled.12", ZIP, ["macro"]),
        ("letter.docx", DOCX, DOCM, ["macro"]),
        ("files.zip", "application/zip", ZIP, ["archive"]),
        ("files.7z", "application/octet-stream", b"7z\xbc\xaf\x27\x1c\x00\x04", ["archive"]),
        ("id.png", "image/png", PDF, ["type mismatch"]),
        ("id.jpg", "image/jpeg", PNG, ["type mismatch"]),
    ],
)
def test_flags(name: str, declared: str, data: bytes, expected: list[str]) -> None:
    assert flags(name, declared, data, size=len(data), max_bytes=25 * MiB) == expected


def test_an_attachment_over_the_limit_is_flagged_oversized() -> None:
    assert flags("scan.pdf", "application/pdf", PDF, size=26 * MiB, max_bytes=25 * MiB) == [
        "oversized"
    ]
    assert flags("scan.pdf", "application/pdf", PDF, size=25 * MiB, max_bytes=25 * MiB) == []


def test_an_attachment_without_name_or_content_is_not_flagged_for_that() -> None:
    assert flags(None, "application/octet-stream", b"", size=0, max_bytes=1) == []


@pytest.mark.parametrize(
    ("data", "expected"),
    [(PNG, "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif"), (WEBP, "image/webp")],
)
def test_raster_images_are_recognised_by_their_bytes(data: bytes, expected: str) -> None:
    assert raster_type(data) == expected
    assert is_raster_image(data)


@pytest.mark.parametrize(
    "data",
    [SVG_IMAGE, b"<svg onload='x'>", HTML_PAGE, PDF, EXE, ZIP, b"RIFF\x00\x00\x00\x00WAVE", b""],
)
def test_nothing_else_is_a_raster_image(data: bytes) -> None:
    assert not is_raster_image(data)
    assert raster_type(data) is None
