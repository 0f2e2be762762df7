"""Company names' letter trigrams as bit signatures: deterministic, and as alike as the sets."""

from __future__ import annotations

import duckdb
import pandas as pd

from crm_hygiene.matching.name_grams import WORDS, dice_sql, signature, signatures, trigrams

NAMES = [
    "philips gloeilampenfabrieken", "philipsgloeilampenfabrieken", "electronics konink philips",
    "electronic philips", "gloeilampenfab philips", "carole robertson center learning",
    "carole robertson center roosevelt", "dsm", "dsm ip assets", "easter seals", "salvation army",
    "chicago public schools bethune mary mcleod", "chicago public schools beethoven ludwig v",
    "ritz carlton cafe buckhead", "dining room ritz carlton buckhead", "a", "unilever", "unilver",
]  # fmt: skip


def test_trigrams_pad_each_word() -> None:
    assert trigrams(["dsm"]) == {" ds", "dsm", "sm "}
    assert trigrams(["ab", "cd"]) == {" ab", "ab ", " cd", "cd "}


def test_signatures_are_the_same_in_every_process_and_fit_in_int64() -> None:
    # crc32, not Python's hash(): a signature stored or compared elsewhere must not change.
    assert signature(["dsm"]) == signature(["dsm"])
    assert len(signature(["dsm"])) == WORDS
    assert all(-(1 << 63) <= word < 1 << 63 for name in NAMES for word in signature(name.split()))
    assert sum(bin(w & ((1 << 64) - 1)).count("1") for w in signature(["dsm"])) == 3


def _dice_at_least(a: str, b: str, at_least: float) -> bool:
    return duckdb.sql(
        f"SELECT {dice_sql('g', at_least)} FROM (SELECT $1::BIGINT[] AS g_l, $2::BIGINT[] AS g_r)",
        params=[signature(a.split()), signature(b.split())],
    ).fetchall()[0][0]


def test_the_dice_of_signatures_is_close_to_the_dice_of_the_trigram_sets() -> None:
    # Two trigrams at one position make names look a little more (or, counted once in a
    # name's size, less) alike: within 0.2 for the names here, most within 0.05.
    for a in NAMES:
        for b in NAMES:
            left, right = trigrams(a.split()), trigrams(b.split())
            exact = 2 * len(left & right) / (len(left) + len(right))
            assert _dice_at_least(a, b, exact - 0.2), (a, b, exact)
            assert not _dice_at_least(a, b, exact + 0.2), (a, b, exact)


def test_signatures_per_row_once_per_name() -> None:
    tokens = pd.Series([["dsm"], None, ["dsm"], []], dtype=object)
    out = signatures(tokens)
    assert out[0] == signature(["dsm"]) and out[2] == out[0]
    assert out[1] is None and out[3] is None


def test_long_names_do_not_overflow_the_bit_counts() -> None:
    # Each bit count is a TINYINT in DuckDB; two names of 80 trigrams sum past 127.
    long_name = " ".join(f"word{i}x{i}" for i in range(20))
    assert _dice_at_least(long_name, long_name, 0.99)
