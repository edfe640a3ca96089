"""Personal data detection and masking: phones, ID numbers (check digit), bank cards (Luhn)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minxin.core.pii import (
    PiiKind,
    find_pii,
    is_valid_id_number,
    luhn_ok,
    mask_phone,
    mask_text,
    normalise_phone,
)


def with_id_check(first17: str) -> str:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return first17 + "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights, strict=True)) % 11]


def with_luhn(prefix: str) -> str:
    for d in "0123456789":
        if luhn_ok(prefix + d):
            return prefix + d
    raise AssertionError


VALID_ID = "11010519491231002X"  # the GB 11643 example
LIAONING_ID = with_id_check("21052119800229123")  # 1980-02-29 exists
CARD_19 = with_luhn("622202123456789012")
CARD_16 = "4111111111111111"


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (VALID_ID, True),
        (VALID_ID.lower(), True),
        (LIAONING_ID, True),
        (VALID_ID[:-1] + "1", False),  # wrong check digit
        (with_id_check("21052119810229123"), False),  # 1981-02-29 does not exist
        (with_id_check("20052119800101123"), False),  # no province 20
        ("210521800101123", True),  # 15-digit old form
        ("210521801301123", False),  # month 13
        ("202611260001234", False),  # date-prefixed order number
    ],
)
def test_id_number_validation(value: str, ok: bool) -> None:
    assert is_valid_id_number(value) is ok


def test_luhn() -> None:
    assert luhn_ok(CARD_16) and luhn_ok(CARD_19)
    assert not luhn_ok(CARD_16[:-1] + "2")


@pytest.mark.parametrize(
    ("text", "kind", "masked"),
    [
        ("电话13812345678", PiiKind.MOBILE, "138****5678"),
        ("电话 138 1234 5678 谢谢", PiiKind.MOBILE, "138****5678"),
        ("电话+86-138-1234-5678", PiiKind.MOBILE, "138****5678"),
        ("电话１３８１２３４５６７８", PiiKind.MOBILE, "138****5678"),
        ("座机024-23456789", PiiKind.LANDLINE, "024-****6789"),
        ("座机(0414)2345678", PiiKind.LANDLINE, "0414-***5678"),
        (f"身份证{VALID_ID}", PiiKind.ID_NUMBER, "110***********002X"),
        ("老身份证210521800101123", PiiKind.ID_NUMBER, "210********1123"),
        (f"卡号{CARD_16}", PiiKind.BANK_CARD, "4111********1111"),
        (
            f"卡号 {CARD_19[:4]} {CARD_19[4:8]} {CARD_19[8:12]} {CARD_19[12:16]} {CARD_19[16:]}",
            PiiKind.BANK_CARD,
            None,
        ),
    ],
)
def test_detect_and_mask(text: str, kind: PiiKind, masked: str | None) -> None:
    found = find_pii(text)
    assert [m.kind for m in found] == [kind]
    m = found[0]
    assert text[m.start : m.end].strip()
    out = mask_text(text)
    assert m.value not in out.replace(" ", "")
    if masked is not None:
        assert m.masked == masked and masked in out


@pytest.mark.parametrize(
    "text",
    [
        "工单号20261126000123已受理",  # 14-digit, date-prefixed order number
        "工单20261126000123456号",  # 17 digits
        "编号202611260001234",  # 15 digits, not an ID
        "欠费金额13812345678.50元",  # an amount, not a phone
        "共计1380元，面积123.45平方米",
        "电表读数00012345678",
        f"卡号{CARD_16[:-1]}2",  # fails Luhn
        f"证件{VALID_ID[:-1]}1",  # fails the check digit and Luhn-like cards start 3-6/9
        "订单号A13812345678B",  # glued to letters
        "95598 和 12345 热线",
    ],
)
def test_no_false_positives(text: str) -> None:
    assert find_pii(text) == []
    assert mask_text(text) == text


def test_mask_text_handles_several_and_keeps_the_rest() -> None:
    text = f"张先生（{VALID_ID}），电话13812345678，座机024-23456789，卡号{CARD_16}。"
    out = mask_text(text)
    assert out == "张先生（110***********002X），电话138****5678，座机024-****6789，卡号4111********1111。"
    assert mask_text(text, frozenset({PiiKind.MOBILE})).count("*") == 4


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812345678", "138****5678"),
        ("+86 138 1234 5678", "138****5678"),
        ("024-23456789", "024-****6789"),
        ("04142345678", "0414-***5678"),
        ("95598", "***98"),
        ("", ""),
        ("12", "**"),
    ],
)
def test_mask_phone(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


def test_normalise_phone() -> None:
    assert normalise_phone("+86 138-1234-5678") == normalise_phone("13812345678") == "13812345678"
    assert normalise_phone("００８６１３８１２３４５６７８") == "13812345678"


@given(st.text(max_size=80))
def test_masking_never_crashes_and_matches_do_not_overlap(text: str) -> None:
    found = find_pii(text)
    for a, b in itertools.pairwise(found):
        assert a.end <= b.start
    mask_text(text)
    mask_phone(text)
