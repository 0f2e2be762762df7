"""Person names: the two boxes of a contact split, cased and keyed the way the person writes them.

`normalize_person_names(first, last)` reads the two boxes of a contact together
(`normalize_name_pair`), because a whole name typed into the first-name box belongs in both. It
reads each distinct pair once; when distinct pairs outnumber distinct names, as they do in a
CRM, a pair of plain parts (one word, or a last name of such words, that nothing moves between
the boxes) is put together from its two parts, each read once. It returns, aligned to the index:

- the base columns (see `base.py`) for the pair: `value` is the display name (`full_name`),
  `valid` is False when either part is invalid and None when both are missing, `rule` the least
  certain rule applied to either part, `confidence` the lower of the two parts';
- `first_name`, `last_name`: the canonical parts; `honorific` (Dr, Mr, Ms, Prof, Herr, Mme ...)
  and `suffix` (Jr, Sr, III, PhD ...) taken out of them;
- `first_rule`, `last_rule`, `first_confidence`, `last_confidence`, `first_valid`, `last_valid`:
  the contract's columns per part (`reason` names the part it is about);
- `first_key`, `last_key`: match keys in lower case, accents of Latin letters folded, periods and
  apostrophes dropped, hyphens read as spaces, particles kept ("van der berg"). In `first_key`
  nicknames and variant spellings become the formal name (Bill, Billy, Will -> "william"; see
  `data/names_nicknames.csv`). The stored first name keeps the nickname: Bill may want to be Bill.

Splitting a full name uses `nameparser.HumanName` ("John Smith", "Smith, John", "Dr. John Smith
Jr."); for names in Han script it reads the family name first, as people writing in it do.

Casing is repaired only when a part is written all upper or all lower case, and only in Latin
script (日本 太郎, Владимир, محمد stay as typed; mixed case is what the person typed):

- every word and hyphenated piece capitalized: Smith-Jones, Jean-Luc;
- "Mc" names: McDonald. "Mac" names stay plain (Macdonald, Mackenzie): both spellings are common
  and Mac begins many names that are no patronymic (Mack, Macy, Machado), so no rule is right;
- one letter and an apostrophe: O'Neil, D'Angelo; a leading apostrophe stays lower
  ('s Gravensande, van 't Riet);
- particles (van, von, der, de, da, di, le, la, du, dos, bin, al ...) followed by more of a last
  name stay lower case: van der Berg, de la Cruz, al-Rashid; except Le and La at its start, which
  French surnames capitalize (Le Roux).

A part is invalid (kept out of the canonical columns, with a reason) when it has no letters
("12345", "😀"), digits, symbols or punctuation no name uses (=, ;, <, emoji), starts like a
spreadsheet formula, or is longer than a name (MAX_NAME_CHARS). Control characters and stray
blanks are removed, not held against the name.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from nameparser import HumanName

from crm_hygiene.normalize.base import BASE_COLUMNS, MAX_PARSE_CHARS, per_distinct
from crm_hygiene.normalize.typed_text import tidy

EXTRA_COLUMNS: tuple[str, ...] = (
    "first_name", "last_name", "honorific", "suffix", "first_rule", "last_rule", "first_confidence",
    "last_confidence", "first_valid", "last_valid", "first_key", "last_key",
)  # fmt: skip
COLUMNS: tuple[str, ...] = (*BASE_COLUMNS, *EXTRA_COLUMNS)

NICKNAMES_FILE = Path(__file__).parent / "data" / "names_nicknames.csv"
MAX_NAME_CHARS = 100

Step = tuple[str, float]
# Rules, from most to least certain; a part changed by several reports the least certain one.
WHITESPACE: Step = ("name_whitespace", 0.99)
UNICODE: Step = ("name_unicode", 0.99)  # composed (NFC) form
CONTROL: Step = ("name_control_character", 0.95)
HONORIFIC: Step = ("name_honorific", 0.95)
CASE: Step = ("name_case", 0.9)
SUFFIX: Step = ("name_suffix", 0.9)
REPEATED_LAST: Step = ("name_full_name", 0.9)  # "John Smith" | "Smith"
FULL_NAME_COMMA: Step = ("name_full_name", 0.9)  # "Smith, John": the comma says where the cut is
FULL_NAME: Step = ("name_full_name", 0.8)  # "John Smith"
FULL_NAME_LONG: Step = ("name_full_name", 0.6)  # "Anna Maria Smith": where given names end is a guess
INITIAL_OR_HONORIFIC: Step = ("name_honorific", 0.7)  # "M. Dupont": Monsieur, or an initial

# Lower-cased, without periods -> canonical. Those marked with a dot count only when written with
# one ("Hon." is an honorific, Hon a given name; "M." Monsieur).
HONORIFICS: dict[str, str] = {
    "mr": "Mr", "mister": "Mr", "mrs": "Mrs", "ms": "Ms", "miss": "Miss", "mx": "Mx",
    "dr": "Dr", "doctor": "Dr", "prof": "Prof", "professor": "Prof", "sir": "Sir", "dame": "Dame",
    "rev": "Rev", "revd": "Rev", "reverend": "Rev", "herr": "Herr", "frau": "Frau", "mme": "Mme",
    "madame": "Mme", "mlle": "Mlle", "mademoiselle": "Mlle", "monsieur": "M.", "sra": "Sra",
    "srta": "Srta", "m.": "M.", "hon.": "Hon", "ing.": "Ing", "dott.": "Dott", "sig.": "Sig",
}  # fmt: skip
SUFFIXES: dict[str, str] = {
    "jr": "Jr", "jnr": "Jr", "sr": "Sr", "snr": "Sr", "ii": "II", "iii": "III", "iv": "IV",
    "phd": "PhD", "md": "MD", "mba": "MBA", "esq": "Esq", "cpa": "CPA", "dds": "DDS", "jd": "JD",
    "dvm": "DVM", "rn": "RN", "cfa": "CFA", "msc": "MSc", "bsc": "BSc", "pmp": "PMP", "obe": "OBE",
    "mbe": "MBE", "cbe": "CBE",
}  # fmt: skip
PARTICLES: frozenset[str] = frozenset({
    "van", "von", "der", "den", "de", "da", "di", "le", "la", "du", "dos", "das", "do", "del",
    "della", "dei", "degli", "bin", "binti", "al", "ter", "ten", "te", "zu", "zum", "zur", "vom",
    "het", "op", "und", "y", "e",
})  # fmt: skip
CAPITALIZED_AT_START: frozenset[str] = frozenset({"le", "la"})

_APOSTROPHES = "'’ʼ‘"
_HYPHENS = "-‐‑"
# Punctuation a name may carry: apostrophes, hyphens, initials' periods, middle dots (Catalan l·l,
# Japanese katakana names), the Hawaiian okina.
_NAME_PUNCTUATION = frozenset(_APOSTROPHES + _HYPHENS + ".·・ʻ")
_FORMULA_START = "=+-@"
_LEADING_HONORIFIC = re.compile(r"^([^\W\d_]+\.?)\s+(?=\S)")
_TRAILING_SUFFIX = re.compile(r"^(.*?[^\W\d_]\.?)[\s,]+([A-Za-z.]+)$")
_MC = re.compile(r"^mc(\w{2,})$")
_KEY_DROP = re.compile(r"[.,'’ʼ‘`´]")
_KEY_SPACES = re.compile(r"[\s\-‐‑]+")
_FOLD_EXTRA = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "æ": "ae", "œ": "oe", "þ": "th", "ı": "i"})


def normalize_person_names(first: pd.Series, last: pd.Series) -> pd.DataFrame:
    """Canonical first and last names, honorific, suffix and match keys per row (see the module doc)."""
    if not first.index.equals(last.index):
        raise ValueError("normalize_person_names: `first` and `last` must share one index")
    given, family = _texts(first), _texts(last)
    given_codes, given_uniques = pd.factorize(np.asarray(given, dtype=object))
    family_codes, family_uniques = pd.factorize(np.asarray(family, dtype=object))
    # Pairs are nearly unique per person while first and last names repeat: when there are more
    # distinct pairs than distinct parts, normalizing each part once is the smaller job.
    pair_codes = given_codes.astype(np.int64) * (len(family_uniques) + 1) + family_codes + 1
    if len(pd.unique(pair_codes)) <= len(given_uniques) + len(family_uniques):
        return _by_pairs(given, family, first.index)
    return _by_parts(given, family, given_codes, given_uniques, family_codes, family_uniques, first.index)


def _by_pairs(given: list[str | None], family: list[str | None], index: pd.Index) -> pd.DataFrame:
    """`normalize_name_pair` once per distinct (first, last) pair: the reference for every row."""
    pairs = pd.Series(list(zip(given, family, strict=True)), index=index, dtype=object)
    # per_distinct skips a missing value without a call, but a pair with an empty first name still
    # has a last name to normalize: the pair's code is the value, the pair itself is looked up.
    codes, distinct = pd.factorize(pairs.to_numpy())
    out = per_distinct(
        pd.Series(codes, index=index), lambda code: normalize_name_pair(*distinct[int(code)]), COLUMNS
    )
    for column in ("first_confidence", "last_confidence"):
        out[column] = out[column].astype(float)
    return out


# The fast path, for when pairs outnumber parts. A pair's parts interact only where
# normalize_name_pair moves text between them or reports on both: a whole name split out of the
# first-name box (needs a blank or comma in it and an empty last-name box), a last name typed into
# both boxes (needs more words in the first name than in the last), honorifics and suffixes, and
# invalid parts (their reasons share `reason`). After `_clean` it reads only the cleaned text; the
# raw text only decides whether the part itself changed. Take a first name whose cleaned text is
# one word of letters, marks, apostrophes, hyphens and periods (`_one_word`: no blank, no comma),
# and a last name made of such words ("van der Berg"), each part either missing or coming out
# valid without an honorific or a suffix: there is nowhere to split, one word never holds more
# words than the last name, an honorific needs a blank after it and a suffix a blank or comma
# before it. Such a pair triggers none of the interactions, so each part comes out of it exactly
# as out of normalize_name_pair(first, None) or normalize_name_pair(None, last), and the pair's
# own columns are `_row`'s combination of the two, done here on whole columns. Every other row
# goes through normalize_name_pair as before.
_PART_FIELDS: tuple[str, ...] = ("name", "valid", "rule", "confidence", "key")
_MISSING_PART: tuple[Any, ...] = (None, None, None, 1.0, None)  # `_Part(None).result()`, no key
_ONE_WORD_PUNCTUATION = frozenset(_APOSTROPHES + _HYPHENS + ".")


def _by_parts(
    given: list[str | None],
    family: list[str | None],
    given_codes: np.ndarray,
    given_uniques: np.ndarray,
    family_codes: np.ndarray,
    family_uniques: np.ndarray,
    index: pd.Index,
) -> pd.DataFrame:
    """Rows whose parts are both simple (or missing) from per-part results; the rest by pairs."""
    # One slot per distinct part, and a last one for a missing part: code -1 indexes it.
    given_parts = [_simple_part(text, is_last=False) for text in given_uniques] + [_MISSING_PART]
    family_parts = [_simple_part(text, is_last=True) for text in family_uniques] + [_MISSING_PART]
    fast = (
        np.array([part is not None for part in given_parts])[given_codes]
        & np.array([part is not None for part in family_parts])[family_codes]
    )
    columns: dict[str, np.ndarray] = {column: np.full(len(given), None, dtype=object) for column in COLUMNS}
    for column in ("confidence", "first_confidence", "last_confidence"):
        columns[column] = np.full(len(given), np.nan)
    for side, parts, codes in (("first", given_parts, given_codes), ("last", family_parts, family_codes)):
        for position, field_name in enumerate(_PART_FIELDS):
            values = [_MISSING_PART[position] if part is None else part[position] for part in parts]
            column = f"{side}_{field_name}"
            columns[column][fast] = np.asarray(values, dtype=columns[column].dtype)[codes[fast]]
    _combine(columns, fast)
    slow = np.flatnonzero(~fast)
    if len(slow):
        reference = _by_pairs([given[i] for i in slow], [family[i] for i in slow], pd.RangeIndex(len(slow)))
        for column in COLUMNS:
            columns[column][slow] = reference[column].to_numpy()
    return pd.DataFrame(columns, index=index, columns=list(COLUMNS))


def _combine(columns: dict[str, np.ndarray], rows: np.ndarray) -> None:
    """`_row`'s pair columns from the part columns, for `rows` whose parts are valid or missing."""
    first_name, last_name = columns["first_name"][rows], columns["last_name"][rows]
    has_first, has_last = first_name != None, last_name != None  # noqa: E711 (element-wise)
    value = np.where(has_first, first_name, last_name)
    both = has_first & has_last
    value[both] = first_name[both] + " " + last_name[both]
    columns["value"][rows] = value
    # Neither part is invalid here: valid is None when both are missing, True otherwise.
    columns["valid"][rows] = np.where(has_first | has_last, True, None)
    first_rule, last_rule = columns["first_rule"][rows], columns["last_rule"][rows]
    first_confidence = columns["first_confidence"][rows]
    last_confidence = columns["last_confidence"][rows]
    has_first_rule, has_last_rule = first_rule != None, last_rule != None  # noqa: E711
    # The least certain rule; on a tie the first name's, as min() in `_row` keeps the first.
    first_wins = has_first_rule & (~has_last_rule | (first_confidence <= last_confidence))
    columns["rule"][rows] = np.where(first_wins, first_rule, np.where(has_last_rule, last_rule, None))
    columns["confidence"][rows] = np.minimum(first_confidence, last_confidence)


def _simple_part(text: str, *, is_last: bool) -> tuple[Any, ...] | None:
    """(name, valid, rule, confidence, key) of a part the fast path may take, else None."""
    if len(text) > MAX_PARSE_CHARS:
        return None
    # The pair logic reads only the cleaned text (the raw one only decides whether the part
    # changed), so stray blanks and control characters around a word keep a part simple.
    cleaned = _cleaned(text)[0]
    if not (all(_one_word(word) for word in cleaned.split(" ")) if is_last else _one_word(cleaned)):
        return None
    row = normalize_name_pair(None, text) if is_last else normalize_name_pair(text, None)
    side = "last" if is_last else "first"
    name = row[f"{side}_name"]
    # Checked, not assumed: a part that came out invalid, with an honorific or a suffix, or with
    # blanks where `_combine` joins the display name, takes the pair path.
    if (
        row[f"{side}_valid"] is not True
        or row["reason"] is not None
        or row["honorific"] is not None
        or row["suffix"] is not None
        or not isinstance(name, str)
        or (name.strip() != name or not name if is_last else name.split() != [name])
    ):
        return None
    return tuple(row[f"{side}_{field_name}"] for field_name in _PART_FIELDS)


def _one_word(text: str) -> bool:
    """A single word of letters (any script) with combining marks, apostrophes, hyphens and
    periods; starting with a letter, no longer than a name, and no honorific or suffix."""
    if not text or len(text) > MAX_NAME_CHARS or not text[0].isalpha():
        return False
    for ch in text:
        if not (ch.isalpha() or ch in _ONE_WORD_PUNCTUATION or unicodedata.category(ch)[0] == "M"):
            return False
    return _honorific(text) is None and text.replace(".", "").lower() not in SUFFIXES


def full_name(first: str | None, last: str | None) -> str | None:
    """The display name "First Last": the part there is when one is missing, None when both are."""
    parts = [p.strip() for p in (first, last) if isinstance(p, str) and p.strip()]
    return " ".join(parts) or None


@dataclass
class _Part:
    raw: str | None
    text: str | None = None
    steps: list[Step] = field(default_factory=list)
    reason: str | None = None

    def result(self) -> tuple[str | None, bool | None, str | None, float]:
        """(value, valid, rule, confidence) by the contract of `base.py`."""
        if self.reason is not None:
            return None, False, None, 0.0
        if self.text is None:
            return None, None, None, 1.0
        if self.text == self.raw or not self.steps:
            return self.text, True, None, 1.0
        rule, confidence = min(self.steps, key=lambda step: step[1])
        return self.text, True, rule, confidence


def normalize_name_pair(first: str | None, last: str | None) -> dict[str, Any]:
    """One row of `normalize_person_names` for the two boxes as typed."""
    given, family = _Part(first), _Part(last)
    for part in (given, family):
        _clean(part)
    honorifics: list[str] = []
    suffixes: list[str] = []
    if given.text is not None:
        _take_honorifics(given, honorifics)
    if family.text is not None:
        _take_suffixes(family, suffixes)
    whole_name = (
        given.text is not None
        and family.text is None
        and family.reason is None
        and (" " in given.text or "," in given.text)
    )
    for part in (given, family):
        if part.text is not None and part.reason is None:
            part.reason = _invalid_reason(part.text, allow_comma=whole_name and part is given)
    if whole_name and given.reason is None:
        _split_whole_name(given, family, honorifics, suffixes)
        if family.text is not None:  # split: "Smith, Dr. John" has its honorific in the middle
            _take_honorifics(given, honorifics)
            _take_suffixes(family, suffixes)
    if given.text is not None and family.text is not None and given.reason is None and family.reason is None:
        _drop_repeated_last(given, family)
    for part, is_last in ((given, False), (family, True)):
        if part.text is not None and part.reason is None:
            _case(part, is_last)
    return _row(given, family, honorifics, suffixes)


def _row(given: _Part, family: _Part, honorifics: list[str], suffixes: list[str]) -> dict[str, Any]:
    first_name, first_valid, first_rule, first_confidence = given.result()
    last_name, last_valid, last_rule, last_confidence = family.result()
    reasons = [
        f"{label}: {p.reason}" for label, p in (("first_name", given), ("last_name", family)) if p.reason
    ]
    if first_valid is False or last_valid is False:
        valid: bool | None = False
    elif first_valid is None and last_valid is None:
        valid = None
    else:
        valid = True
    ranked = [(r, c) for r, c in ((first_rule, first_confidence), (last_rule, last_confidence)) if r]
    rule = min(ranked, key=lambda step: step[1])[0] if ranked else None
    return {
        "value": full_name(first_name, last_name),
        "valid": valid,
        "reason": "; ".join(reasons) or None,
        "rule": rule,
        "confidence": min(first_confidence, last_confidence),
        "first_name": first_name,
        "last_name": last_name,
        "honorific": " ".join(dict.fromkeys(honorifics)) or None,
        "suffix": ", ".join(dict.fromkeys(suffixes)) or None,
        "first_rule": first_rule,
        "last_rule": last_rule,
        "first_confidence": first_confidence,
        "last_confidence": last_confidence,
        "first_valid": first_valid,
        "last_valid": last_valid,
        "first_key": first_key(first_name) if first_name else None,
        "last_key": last_key(last_name) if last_name else None,
    }


def _texts(values: pd.Series) -> list[str | None]:
    text = values.astype(object).where(values.notna(), None)
    return [v if v is None or isinstance(v, str) else str(v) for v in text]


def _clean(part: _Part) -> None:
    """Control characters out, blanks collapsed; `text` stays None for a missing or blank box."""
    raw = part.raw
    if raw is None:
        return
    if len(raw) > MAX_PARSE_CHARS:
        part.reason = f"{len(raw)} characters: too long to parse"
        return
    text, steps = _cleaned(raw)
    part.text, part.steps = (text or None), list(steps)


@lru_cache(maxsize=65536)
def _cleaned(raw: str) -> tuple[str, tuple[Step, ...]]:
    text, steps = tidy(raw, unicode=UNICODE, control=CONTROL, whitespace=WHITESPACE)
    return text, tuple(steps)


def _take_honorifics(part: _Part, honorifics: list[str]) -> None:
    """Leading honorifics ("Dr. Anna", "Prof. Dr. Hans") out of the text; a lone one is no name."""
    assert part.text is not None
    text = part.text
    while match := _LEADING_HONORIFIC.match(text):
        canonical = _honorific(match.group(1))
        if canonical is None:
            break
        honorifics.append(canonical)
        part.steps.append(INITIAL_OR_HONORIFIC if canonical == "M." else HONORIFIC)
        text = text[match.end() :]
    part.text = text
    if " " not in text and (canonical := _honorific(text)) is not None and canonical != "M.":
        honorifics.append(canonical)
        part.reason = "an honorific, not a name"


def _honorific(word: str) -> str | None:
    lower = word.lower()
    if lower.endswith(".") and lower in HONORIFICS:
        return HONORIFICS[lower]
    return HONORIFICS.get(lower.rstrip("."))


def _take_suffixes(part: _Part, suffixes: list[str]) -> None:
    """Trailing generational and academic suffixes ("Smith Jr.", "Smith, PhD") out of the text."""
    assert part.text is not None
    text = part.text
    taken: list[str] = []
    while match := _TRAILING_SUFFIX.match(text):
        canonical = SUFFIXES.get(match.group(2).replace(".", "").lower())
        if canonical is None:
            break
        taken.insert(0, canonical)
        text = match.group(1)
    if taken:
        suffixes.extend(taken)
        part.text = text
        part.steps.append(SUFFIX)


def _invalid_reason(text: str, *, allow_comma: bool) -> str | None:
    """Why the text is no name, or None."""
    if len(text) > MAX_NAME_CHARS:
        return f"{len(text)} characters: longer than a name"
    if text[0] in _FORMULA_START:
        return f"starts with {text[0]!r}: looks like a spreadsheet formula"
    letters = digits = 0
    others: list[str] = []
    for ch in text:
        category = unicodedata.category(ch)
        if category[0] == "L":
            letters += 1
        elif category[0] == "M" or ch == " " or ch in _NAME_PUNCTUATION or (ch == "," and allow_comma):
            continue
        elif category[0] == "N":
            digits += 1
        elif ch not in others:
            others.append(ch)
    if not letters:
        return "a number, not a name" if digits and not others else "no letters"
    if others:
        return "contains characters no name uses: " + " ".join(repr(ch) for ch in others[:5])
    if digits:
        return "contains digits"
    return None


def _split_whole_name(given: _Part, family: _Part, honorifics: list[str], suffixes: list[str]) -> None:
    """A whole name typed into the first-name box, the last-name box empty: both parts from it."""
    assert given.text is not None
    name = HumanName(given.text)
    first = " ".join(p for p in (name.first, name.middle) if p)
    last = name.last
    if not first or not last or any(_invalid_reason(p, allow_comma=False) for p in (first, last)):
        # "Judge Judy", "King Charles", "A .": no safe cut; a comma left over has no place in a name.
        if "," in given.text:
            given.reason = "contains a comma"
        return
    if "," in given.text:
        step = FULL_NAME_COMMA
    elif name.middle:
        step = FULL_NAME_LONG
    else:
        step = FULL_NAME
    if name.title:
        honorifics.append(_honorific(name.title) or name.title.rstrip("."))
    if name.suffix:
        for suffix in (s.strip() for s in name.suffix.split(",")):
            if suffix:
                suffixes.append(SUFFIXES.get(suffix.replace(".", "").lower(), suffix))
    given.text = first
    given.steps.append(step)
    family.text = last
    family.steps.append(step)


def _drop_repeated_last(given: _Part, family: _Part) -> None:
    """ "John Smith" | "Smith": the last name typed into both boxes."""
    assert given.text is not None and family.text is not None
    words = given.text.split(" ")
    last = [w.casefold() for w in family.text.split(" ")]
    while len(words) > len(last) and [w.casefold() for w in words[-len(last) :]] == last:
        words = words[: -len(last)]
    text = " ".join(words)
    if text != given.text and _honorific(text) is None and _invalid_reason(text, allow_comma=False) is None:
        given.text = text
        given.steps.append(REPEATED_LAST)


def _case(part: _Part, is_last: bool) -> None:
    assert part.text is not None
    cased = proper_case(part.text, is_last=is_last)
    if cased != part.text:
        part.text = cased
        part.steps.append(CASE)


@lru_cache(maxsize=65536)
def proper_case(text: str, *, is_last: bool) -> str:
    """The name capitalized by the module's rules when written all upper or all lower case in Latin
    script; otherwise the text unchanged."""
    if not _is_latin(text) or not _single_case(text):
        return text
    words = _lower(text).split(" ")
    # Pieces of the whole name in order, so a particle knows whether more of the name follows.
    pieces = [(w, p) for w, word in enumerate(words) for p in _split_keep(word, _HYPHENS)]
    out: list[str] = []
    for i, (w, piece) in enumerate(pieces):
        followed = i + 1 < len(pieces) and piece not in _HYPHENS
        particle = is_last and followed and piece in PARTICLES
        if piece in _HYPHENS or (particle and not (i == 0 and piece in CAPITALIZED_AT_START)):
            out.append(piece)
        else:
            out.append(_capitalize_piece(piece))
        if i + 1 < len(pieces) and pieces[i + 1][0] != w:
            out.append(" ")
    return "".join(out)


def _capitalize_piece(piece: str) -> str:
    if piece[0] in _APOSTROPHES:
        return piece  # 's Gravensande, van 't Riet
    if len(piece) > 2 and piece[1] in _APOSTROPHES:
        return _capitalize(piece[0]) + piece[1] + _capitalize(piece[2:])  # O'Neil, D'Angelo
    if match := _MC.match(piece):
        return "Mc" + _capitalize(match.group(1))
    return _capitalize(piece)


def _lower(text: str) -> str:
    # Per letter, so a letter whose lower case is two (İ -> i̇) keeps its length and its case.
    return "".join(ch if len(low := ch.lower()) != 1 else low for ch in text)


def _capitalize(word: str) -> str:
    # Letters whose upper case is two letters (ß -> SS) keep their case: "SS" would read as all
    # upper again and change once more on the next run.
    first = word[:1].upper()
    return (first if len(first) == 1 else word[:1]) + word[1:]


def _split_keep(word: str, separators: str) -> list[str]:
    out, start = [], 0
    for i, ch in enumerate(word):
        if ch in separators:
            if i > start:
                out.append(word[start:i])
            out.append(ch)
            start = i + 1
    if start < len(word):
        out.append(word[start:])
    return out


def _is_latin(text: str) -> bool:
    return all(_is_latin_letter(ch) for ch in text if ch.isalpha())


def _is_latin_letter(ch: str) -> bool:
    code = ord(ch)
    return code < 0x250 or 0x1E00 <= code <= 0x1EFF


def _single_case(text: str) -> bool:
    lower = text.lower()
    # Both tests: a letter whose lower case is longer (İ -> i̇) does not count as lower case.
    return text == text.upper() or (text == lower and len(lower) == len(text))


def fold(text: str) -> str:
    """Lower case with the accents of Latin letters removed; other scripts keep their marks."""
    if text.isascii():
        return text.lower()
    out: list[str] = []
    latin = False
    for ch in unicodedata.normalize("NFKD", text):
        if unicodedata.combining(ch):
            if not latin:
                out.append(ch)
            continue
        latin = _is_latin_letter(ch)
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out)).casefold().translate(_FOLD_EXTRA)


@lru_cache(maxsize=65536)
def first_key(name: str) -> str:
    """Match key of a first name: folded, each word's nickname replaced by its formal name."""
    table = nicknames()
    words = [table.get(word, word) for word in _KEY_DROP.sub("", fold(name)).split()]
    return _KEY_SPACES.sub(" ", " ".join(words)).strip()


@lru_cache(maxsize=65536)
def last_key(name: str) -> str:
    """Match key of a last name: folded, particles kept ("van der berg")."""
    return _KEY_SPACES.sub(" ", _KEY_DROP.sub("", fold(name))).strip()


@cache
def nicknames() -> dict[str, str]:
    """Folded nickname or variant spelling -> folded formal name, chains followed."""
    table: dict[str, str] = {}
    header_seen = False
    with NICKNAMES_FILE.open(encoding="utf-8", newline="") as handle:
        for number, line in enumerate(handle, start=1):
            if line.startswith("#") or not line.strip():
                continue
            row = next(csv.reader([line]))
            if not header_seen:
                if row != ["nickname", "formal"]:
                    raise ValueError(
                        f"{NICKNAMES_FILE}:{number}: expected the header 'nickname,formal', got {row}"
                    )
                header_seen = True
                continue
            if len(row) != 2 or not all(cell.strip() for cell in row):
                raise ValueError(f"{NICKNAMES_FILE}:{number}: expected 'nickname,formal', got {row}")
            table.setdefault(fold(row[0].strip()), fold(row[1].strip()))
    return {nickname: _formal(nickname, table) for nickname in table}


def _formal(name: str, table: dict[str, str]) -> str:
    seen = {name}
    while (name := table.get(name, name)) not in seen:
        seen.add(name)
    return name
