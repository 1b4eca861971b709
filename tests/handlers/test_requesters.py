"""A requester's phone and name as keys: written many ways, compared as one."""

from __future__ import annotations

import pytest

from handlers.requesters import name_key, phone_key, requester_phone


@pytest.mark.parametrize(
    "written",
    ["090-1234-5678", "０９０（１２３４）５６７８", "+81 90-1234-5678", "+81-(0)90 1234 5678"],
)
def test_one_phone_written_four_ways_is_one_key(written: str) -> None:
    assert phone_key(written) == "09012345678"


def test_too_short_to_be_a_phone_is_no_key() -> None:
    assert phone_key("03-1234") == ""


def test_the_first_phone_of_the_requesters_own_text_that_is_not_ours() -> None:
    texts = [
        "御社の 0120-123-456 に電話しましたが",
        "佐藤 花子\nTEL 03-1111-2222\n携帯 090-1234-5678",
    ]
    assert requester_phone(texts, ours=["0120-123-456"]) == "0311112222"
    assert requester_phone(["お電話ください"]) == ""


@pytest.mark.parametrize("name", ["佐藤 花子", "佐藤花子 様", "佐藤　花子さん", "佐藤・花子"])
def test_one_name_written_with_spaces_and_honorifics_is_one_key(name: str) -> None:
    assert name_key(name) == "佐藤花子"


def test_latin_names_fold_case() -> None:
    assert name_key("Hanako  SATO") == name_key("hanako sato") != name_key("Sato Hanako")
    assert name_key("") == ""
