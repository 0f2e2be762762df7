"""A company name's letter trigrams as a bit signature, for comparing names written differently.

Whole-name Jaro-Winkler is fooled by word order and a shared first word; word-by-word equality
misses a word run together with the next, split in two, or one word more ("Carole Robertson
Center for Learning" / "Carole Robertson Center Roosevelt", "Philips Gloeilampenfabrieken" /
"Philips' Gloeilampen Fabrieken"). The letter trigrams of the words (each word padded with a
blank, so its first and last letters count) are shared by such names whatever the word order
and wherever the blanks fall, and the Dice coefficient of the two sets measures how much.

Comparing sets of text costs a list intersection per pair, which u sampling pays on millions
of random pairs. Each trigram is hashed instead to one of `BITS` positions, and the set is
held as `WORDS` 64-bit integers (a Bloom filter with one hash, as privacy-preserving record
linkage compares names): two names' overlap is then a few AND and bit counts per pair, some
thirty times faster. Two trigrams that share a position make two names look a little more
alike than they are: with 512 positions, names of up to 40 trigrams each seldom gain more
than 0.1 of Dice, well below the thresholds the comparison uses.
"""

from __future__ import annotations

import zlib

import pandas as pd

# Positions of the signature, as this many 64-bit words (a list column of int64).
BITS = 512
WORDS = BITS // 64


def trigrams(tokens: list[str]) -> set[str]:
    """The distinct letter trigrams of the words, each word padded with a blank on both sides."""
    out: set[str] = set()
    for word in tokens:
        padded = f" {word} "
        out.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return out


def signature(tokens: list[str]) -> list[int]:
    """The trigrams of `tokens` as `WORDS` signed 64-bit integers (bit i of the set is bit i % 64
    of word i // 64). crc32 keeps the positions the same in every process and on every run."""
    words = [0] * WORDS
    for gram in trigrams(tokens):
        position = zlib.crc32(gram.encode("utf-8")) % BITS
        words[position // 64] |= 1 << (position % 64)
    # Signed, as Arrow's int64 holds them: the top bit becomes the sign.
    return [w - (1 << 64) if w >= 1 << 63 else w for w in words]


def signatures(tokens: pd.Series) -> pd.Series:
    """Per row, the signature of its token list (`inputs` name tokens); None without tokens.
    Computed once per distinct name: most names repeat."""
    keys = tokens.map(lambda ts: " ".join(ts) if isinstance(ts, list) and ts else None)
    distinct = keys.dropna().unique()
    by_key = {key: signature(key.split(" ")) for key in distinct}
    return keys.map(lambda key: by_key.get(key) if key is not None else None).astype(object)


def dice_sql(column: str, at_least: float) -> str:
    """DuckDB: the Dice coefficient of the two signatures in `column` is at least `at_least`,
    that is 2 |l & r| >= at_least (|l| + |r|), counted in bits."""
    left, right = f'"{column}_l"', f'"{column}_r"'
    # bit_count gives a TINYINT: summed as such, a long name's count overflows at 127.
    shared = " + ".join(f"bit_count({left}[{i}] & {right}[{i}])::INTEGER" for i in range(1, WORDS + 1))
    sizes = " + ".join(
        f"bit_count({left}[{i}])::INTEGER + bit_count({right}[{i}])::INTEGER" for i in range(1, WORDS + 1)
    )
    return f"2 * ({shared}) >= {at_least:.4g} * ({sizes})"
