"""Address lines: postcodes in each country's format, street lines with their parts, city names.

- `normalize_postcodes(values, country)`: the postcode as the national post office writes it
  (POSTCODE_FORMATS); a value that cannot be one is invalid with the expected format as reason.
- `parse_street(values, country)`: the street line cleaned (blanks, the case of all-capital or
  all-lower text, street types spelled out: "Main St" → "Main Street", "Hauptstr." →
  "Hauptstraße", a unit "# 4" → "Apt. 4" at confidence 0.7) plus `street_number`,
  `street_name`, `unit` and `parsed`. US lines are parsed with `usaddress`; other lines are split at a leading
  ("12 Main Road", "31, rue Dufour") or trailing ("Hauptstraße 5", "Feira Rios, 86") house
  number, with a unit ("Flat 24", "Suite 106") taken from either end. A line without digits is
  a street name alone; a line with digits that fits neither shape has `parsed` False and no parts.
- `normalize_cities(values)`: blanks collapsed; casing fixed only for all-capital or all-lower
  input ("NEW YORK" → "New York", "são paulo" → "São Paulo"); other text is kept as typed.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import pandas as pd
import usaddress

from crm_hygiene.normalize.base import BASE_COLUMNS, changed, invalid, per_distinct

POSTCODE_COLUMNS: tuple[str, ...] = BASE_COLUMNS
STREET_PARTS: tuple[str, ...] = ("street_number", "street_name", "unit", "parsed")
STREET_COLUMNS: tuple[str, ...] = (*BASE_COLUMNS, *STREET_PARTS)
CITY_COLUMNS: tuple[str, ...] = BASE_COLUMNS

CLEANUP_CONFIDENCE = 0.99  # blanks and invisible characters only
CASE_CONFIDENCE = 0.9
FORMAT_CONFIDENCE = 0.99  # spacing and case of a postcode that matches its country's pattern
LEADING_ZERO_CONFIDENCE = 0.8
ABBREVIATION_CONFIDENCE = 0.9
UNIT_SIGN_CONFIDENCE = 0.7  # "#" could be any kind of unit; we write it as an apartment
SHARP_S_CONFIDENCE = 0.85


# --- text cleanup and casing, shared by the address fields and regions ---------------------------

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_FORMULA_START = ("=", "+", "@")


def clean_text(text: str) -> str:
    """Control and zero-width characters dropped, runs of blanks made one space, ends stripped."""
    text = text.translate(_INVISIBLE)
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        # Tabs and line breaks separate words; NUL, BEL, ESC and the like are pasted noise.
        text = "".join(ch for ch in text if ch.isspace() or unicodedata.category(ch) != "Cc")
    return " ".join(text.split())


def looks_like_formula(text: str) -> bool:
    """Text a spreadsheet would run as a formula: no place name or street starts like this."""
    return text.startswith(_FORMULA_START)


def single_case(text: str) -> bool:
    """True when the text has cased letters and they are all capital or all lower case."""
    return text.isupper() or text.islower()


# Words kept lower case inside a place name ("Frankfurt am Main", "Aix-en-Provence", "Capelle
# aan den IJssel", "Rio de Janeiro", "Stratford-upon-Avon"); the first word is always capitalized.
PARTICLES: frozenset[str] = frozenset({
    "aan", "am", "an", "and", "au", "aux", "bei", "bij", "d", "da", "das", "de", "dei", "del", "della",
    "den", "der", "des", "di", "do", "dos", "du", "en", "et", "het", "im", "in", "l", "la", "las", "le",
    "les", "lès", "los", "of", "on", "op", "sous", "sur", "ter", "the", "to", "uit", "und", "upon", "van",
    "von", "zu", "zum", "zur",
})  # fmt: skip
# A letter run plus the combining marks some lower-case letters turn into ("İ".lower() is i + dot).
_LETTERS = re.compile(r"(?:[^\W\d_]|[\u0300-\u036f])+")


def _capitalized(word: str) -> str:
    first = word[0].upper()
    # "ß".upper() is "SS": a letter that does not stay one letter keeps its case.
    return (first if len(first) == 1 else word[0]) + word[1:]


def smart_case(text: str, keep_upper: frozenset[str] = frozenset()) -> str:
    """Text in title case the way place names are written, for input typed all in one case.

    Letters after a digit stay lower ("5th"), particles stay lower except first ("Rio de
    Janeiro"), one letter after an apostrophe stays lower ("John's") while longer runs are
    capitalized ("O'Fallon", "d'Azur"), Dutch "ij" is capitalized as a pair ("IJmuiden"), "Mc"
    names get their second capital ("McAllen"), and words in `keep_upper` stay capital ("NW").
    """
    lowered = text.lower()

    def word_case(match: re.Match[str]) -> str:
        word, start = match.group(0), match.start()
        before = lowered[start - 1] if start else " "
        after = lowered[match.end()] if match.end() < len(lowered) else " "
        if word.upper() in keep_upper and not before.isalnum() and not after.isalnum():
            return word.upper()
        if before.isdigit():
            return word
        if before in "'’" and len(word) == 1:
            return word
        if start and word in PARTICLES and before in " -" and (len(word) > 1 or after in "'’"):
            return word
        if word.startswith("ij") and len(word) > 2:
            return "IJ" + word[2:]
        if word.startswith("mc") and len(word) > 3:
            return "Mc" + _capitalized(word[2:])
        return _capitalized(word)

    return unicodedata.normalize("NFC", _LETTERS.sub(word_case, lowered))


def _country_code(country: Any) -> str | None:
    if not isinstance(country, str):
        return None
    code = country.strip().upper()
    return code if len(code) == 2 and code.isascii() and code.isalpha() else None


# --- postcodes --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PostcodeFormat:
    """A country's postcode: a pattern over the compact form and where its one separator goes."""

    pattern: str  # over the compact form: upper case, ASCII digits, no blanks or hyphens
    example: str  # shown in the reason when a value does not fit
    split: int = 0  # index of the separator in the compact form (negative: from the end); 0: none
    separator: str = ""

    def write(self, compact: str) -> str:
        if not self.split or (self.split > 0 and len(compact) <= self.split):
            return compact
        return compact[: self.split] + self.separator + compact[self.split :]


_FIVE_DIGITS = PostcodeFormat(r"\d{5}", "12345")
_FOUR_DIGITS = PostcodeFormat(r"\d{4}", "1234")
_SIX_DIGITS = PostcodeFormat(r"\d{6}", "123456")
POSTCODE_FORMATS: dict[str, PostcodeFormat] = {
    "US": PostcodeFormat(r"\d{5}(?:\d{4})?", "12345 or 12345-6789", 5, "-"),
    "GB": PostcodeFormat(r"[A-Z]{1,2}\d[A-Z\d]?\d[A-Z]{2}", "SW1A 1AA", -3, " "),
    "CA": PostcodeFormat(r"[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z]\d[ABCEGHJ-NPRSTV-Z]\d", "K1A 0B1", 3, " "),
    "NL": PostcodeFormat(r"[1-9]\d{3}[A-Z]{2}", "1234 AB", 4, " "),
    "IE": PostcodeFormat(r"(?:[AC-FHKNPRTV-Y]\d{2}|D6W)[\dAC-FHKNPRTV-Y]{4}", "D02 X285", 3, " "),
    "BR": PostcodeFormat(r"\d{8}", "01310-100", 5, "-"),
    "JP": PostcodeFormat(r"\d{7}", "100-0001", 3, "-"),
    "PT": PostcodeFormat(r"\d{7}", "1000-001", 4, "-"),
    "PL": PostcodeFormat(r"\d{5}", "00-950", 2, "-"),
    "SE": PostcodeFormat(r"\d{5}", "113 51", 3, " "),
    "IN": _SIX_DIGITS,
    "CN": _SIX_DIGITS,
    "RU": _SIX_DIGITS,
    "SG": _SIX_DIGITS,
    **dict.fromkeys(("DE", "FR", "IT", "ES", "MX", "FI", "KR"), _FIVE_DIGITS),
    **dict.fromkeys(("AU", "AT", "BE", "CH", "DK", "NO", "NZ", "ZA"), _FOUR_DIGITS),
}
# Elsewhere a postcode is letters and digits, optionally with one blank or hyphen inside.
_ANY_POSTCODE = re.compile(r"[A-Z0-9]+(?:[ -][A-Z0-9]+)?")
_POSTCODE_MAX_CHARS = 10
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—]+")
# ZIP codes whose leading zeros a spreadsheet dropped: 4 digits (0xxxx), or 3 digits from the
# only range that starts with "00" (006-009: Puerto Rico and the Virgin Islands), each with or
# without the +4.
_LOST_ZEROS = re.compile(r"(?:\d{4}|[6-9]\d\d)(?:\d{4})?", re.ASCII)
_SPREADSHEET_NUMBER = re.compile(r"\d+\.0")  # a code stored as a number comes back as "2134.0"


def _ascii_digits(text: str) -> str:
    """Digits of any script ("１２３", "١٢٣") as ASCII digits."""
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)


def normalize_postcode(text: str, country: Any) -> dict[str, Any]:
    """One postcode in its country's format (see POSTCODE_FORMATS)."""
    code = _country_code(country)
    typed = _ascii_digits(unicodedata.normalize("NFKC", clean_text(text))).upper().removeprefix("〒").strip()
    if _SPREADSHEET_NUMBER.fullmatch(typed):
        typed = typed[:-2]
    fmt = POSTCODE_FORMATS.get(code or "")
    if fmt is None:
        if len(typed) <= _POSTCODE_MAX_CHARS and _ANY_POSTCODE.fullmatch(typed):
            return changed(text, typed, "postcode_format", FORMAT_CONFIDENCE)
        return invalid("not a postcode: expected letters and digits")
    compact = _SEPARATORS.sub("", typed)
    if re.fullmatch(fmt.pattern, compact, re.ASCII):
        return changed(text, fmt.write(compact), "postcode_format", FORMAT_CONFIDENCE)
    if code == "US" and _LOST_ZEROS.fullmatch(compact):
        # A spreadsheet round trip drops the leading zeros of New England, New Jersey and
        # Puerto Rico ("00718") ZIP codes.
        padded = compact.zfill(5 if len(compact) < 5 else 9)
        return changed(text, fmt.write(padded), "postcode_leading_zero", LEADING_ZERO_CONFIDENCE)
    return invalid(f"not a {code} postcode: expected {fmt.example}")


def normalize_postcodes(values: pd.Series, country: pd.Series) -> pd.DataFrame:
    """Postcodes in the format of each record's country (ISO alpha-2), once per distinct pair."""
    return per_distinct(values, normalize_postcode, POSTCODE_COLUMNS, context=country)


# --- street lines -----------------------------------------------------------------------------------

_STREET_UPPER = frozenset({"NE", "NW", "SE", "SW", "PO", "US", "II", "III", "IV"})
# Countries whose street lines are written in English, where "St" after a name is "Street".
_ENGLISH_STREETS = frozenset({"US", "CA", "AU", "GB", "IE", "NZ", "IN", "ZA", "SG"})
_SHARP_S_STREETS = frozenset({"DE", "AT"})  # Switzerland and Liechtenstein write "strasse"
STREET_TYPES: dict[str, str] = {
    "st": "Street", "ave": "Avenue", "av": "Avenue", "rd": "Road", "blvd": "Boulevard", "dr": "Drive",
    "ln": "Lane", "ct": "Court", "pl": "Place", "sq": "Square", "ter": "Terrace", "terr": "Terrace",
    "pkwy": "Parkway", "hwy": "Highway", "cir": "Circle", "cres": "Crescent", "expy": "Expressway",
    "fwy": "Freeway", "trl": "Trail", "pde": "Parade", "plz": "Plaza",
}  # fmt: skip
_UNIT_WORDS = r"(?:Apt|Apartment|Suite|Ste|Unit|Fl|Floor|Bldg|Building|Rm|Room)\b"
# A street type is only spelled out where it ends the street name: at the end of the line, before
# a comma, a trailing direction or a unit. "St Albans Rd" keeps its saint.
_STREET_TYPE = re.compile(
    r"(?<=[^\W\d_] )(?P<abbr>" + "|".join(STREET_TYPES) + r")\.?"
    r"(?=\s*(?:,|$)|\s+(?:N|S|E|W|NE|NW|SE|SW)\.?\s*(?:,|$)|\s+" + _UNIT_WORDS + r"|\s*#)",
    re.IGNORECASE,
)
_SUITE = re.compile(r"\bSte\.?(?= #?\d)", re.IGNORECASE)
_APT = re.compile(r"\bApt\b(?!\.)(?= #?\w)", re.IGNORECASE)
_UNIT_SIGN = re.compile(r"(?<=\w )# ?(?=[\w-]*\d[\w-]*$)")
_STR_ABBREVIATION = re.compile(r"(?:(?<=\w)(?P<low>str)|(?P<cap>Str))\.(?=\s|,|$)")
_STRASSE = re.compile(r"(?i)(s)trasse")
# French writes the kind of street in lower case ("12, rue de la Paix").
_FRENCH_STREET_TYPE = re.compile(
    r"\b(?:Rue|Avenue|Chemin|Boulevard|Place|Allée|Impasse|Route|Quai|Cours|Passage|Sentier|Voie)\b"
)


def _english_abbreviations(line: str) -> tuple[str, list[tuple[str, float]]]:
    steps = []
    expanded = _STREET_TYPE.sub(lambda m: STREET_TYPES[m.group("abbr").lower()], line)
    expanded = _SUITE.sub("Suite", expanded)
    expanded = _APT.sub("Apt.", expanded)
    if expanded != line:
        steps.append(("street_abbreviation", ABBREVIATION_CONFIDENCE))
    signed = _UNIT_SIGN.sub("Apt. ", expanded)
    if signed != expanded:
        steps.append(("street_unit", UNIT_SIGN_CONFIDENCE))
    return signed, steps


_US_NUMBER = ("AddressNumberPrefix", "AddressNumber", "AddressNumberSuffix")
_US_NAME = (
    "StreetNamePreModifier", "StreetNamePreDirectional", "StreetNamePreType", "StreetName",
    "StreetNamePostType", "StreetNamePostDirectional", "StreetNamePostModifier",
)  # fmt: skip
_US_UNIT = ("OccupancyType", "OccupancyIdentifier", "SubaddressType", "SubaddressIdentifier")
_UNPARSED: dict[str, Any] = {"street_number": None, "street_name": None, "unit": None, "parsed": False}


def _parts(number: str | None, name: str | None, unit: str | None) -> dict[str, Any]:
    return {
        "street_number": number or None,
        "street_name": name or None,
        "unit": unit or None,
        "parsed": True,
    }


def _parse_us(line: str) -> dict[str, Any]:
    found: dict[str, list[str]] = {"number": [], "name": [], "unit": []}
    for token, label in usaddress.parse(line):
        token = token.strip(",;")
        if label in _US_NUMBER:
            found["number"].append(token)
        elif label in _US_NAME:
            found["name"].append(token)
        elif label in _US_UNIT:
            found["unit"].append(token)
        else:  # a city, a PO box, an intersection: more or other than a street line
            return _UNPARSED
    if not found["name"]:
        return _UNPARSED
    return _parts(*(" ".join(found[key]) for key in ("number", "name", "unit")))


_UNIT = r"(?:Apt|Apartment|Suite|Ste|Unit|Flat|Studio|Room|App|Bus)\b\.?\s?[\w/-]*\d[\w/-]*"
_LEADING_UNIT = re.compile(rf"(?P<unit>{_UNIT}),?\s+(?P<rest>.+)", re.IGNORECASE)
_TRAILING_UNIT = re.compile(rf"(?P<rest>.+?),?\s+(?P<unit>{_UNIT})", re.IGNORECASE)
_HOUSE_NUMBER = r"\d+\s?[A-Za-z]?(?:\s?[-/]\s?\d+\s?[A-Za-z]?)?"
_LEADING_NUMBER = re.compile(rf"(?:H\.?\s?No\.?\s?|No\.?\s?)?(?P<number>{_HOUSE_NUMBER}),?\s+(?P<name>\D+)")
_TRAILING_NUMBER = re.compile(rf"(?P<name>\D+?),?\s+(?:No\.?\s?)?(?P<number>{_HOUSE_NUMBER})")


def _parse_other(line: str) -> dict[str, Any]:
    unit = None
    match = _LEADING_UNIT.fullmatch(line) or _TRAILING_UNIT.fullmatch(line)
    if match and any(ch.isalpha() for ch in match.group("rest")):
        unit, line = match.group("unit"), match.group("rest")
    if not any(ch.isdigit() for ch in line):
        return _parts(None, line, unit)
    match = _LEADING_NUMBER.fullmatch(line) or _TRAILING_NUMBER.fullmatch(line)
    if match is None:
        return _UNPARSED
    return _parts(match.group("number"), match.group("name").strip(" ,"), unit)


def normalize_street(text: str, country: Any) -> dict[str, Any]:
    """One street line cleaned and split into number, name and unit (see the module docstring)."""
    code = _country_code(country)
    line = clean_text(text)
    steps: list[tuple[str, float]] = []
    if line != text:
        steps.append(("whitespace", CLEANUP_CONFIDENCE))
    if looks_like_formula(line):
        return invalid("looks like a spreadsheet formula", STREET_PARTS, parsed=False)
    if not any(ch.isalpha() for ch in line):
        return invalid("no street name: no letters", STREET_PARTS, parsed=False)
    if single_case(line):
        cased = smart_case(line, _STREET_UPPER)
        if code == "FR":
            cased = _FRENCH_STREET_TYPE.sub(lambda m: m.group(0).lower(), cased)
        if code in _SHARP_S_STREETS and _STRASSE.search(cased):
            # Capitals cannot show "ß"; in Germany and Austria a street is a "straße".
            cased = _STRASSE.sub(lambda m: m.group(1) + "traße", cased)
            steps.append(("street_case", SHARP_S_CONFIDENCE))
        if cased != line:
            steps.append(("street_case", CASE_CONFIDENCE))
        line = cased
    if code in _ENGLISH_STREETS:
        line, more = _english_abbreviations(line)
        steps += more
    elif code in _SHARP_S_STREETS:
        spelled = _STR_ABBREVIATION.sub(lambda m: "straße" if m.group("low") else "Straße", line)
        if spelled != line:
            steps.append(("street_abbreviation", ABBREVIATION_CONFIDENCE))
            line = spelled
    parts = _parse_us(line) if code == "US" else _parse_other(line)
    if not steps:
        return changed(text, line, "", 1.0, **parts)  # nothing changed: the line is as typed
    rule, confidence = min(steps, key=lambda step: step[1])
    return changed(text, line, rule, confidence, **parts)


def parse_street(values: pd.Series, country: pd.Series) -> pd.DataFrame:
    """Street lines cleaned and split into parts, once per distinct (line, country) pair."""
    return per_distinct(values, normalize_street, STREET_COLUMNS, context=country)


# --- cities -----------------------------------------------------------------------------------------

_MAX_ABBREVIATION = 3  # "NYC", "LA": a short all-capital name is an abbreviation, not a shout


def normalize_city(text: str) -> dict[str, Any]:
    """One city name: blanks collapsed, case fixed only when typed all in one case."""
    name = clean_text(text)
    if looks_like_formula(name):
        return invalid("looks like a spreadsheet formula")
    if not any(ch.isalpha() for ch in name):
        return invalid("no letters: not a place name")
    if not single_case(name) or (name.isupper() and " " not in name and len(name) <= _MAX_ABBREVIATION):
        return changed(text, name, "whitespace", CLEANUP_CONFIDENCE)
    return changed(text, smart_case(name), "city_case", CASE_CONFIDENCE)


def normalize_cities(values: pd.Series) -> pd.DataFrame:
    """City names cleaned, once per distinct value."""
    return per_distinct(values, normalize_city, CITY_COLUMNS)


# --- street match keys ------------------------------------------------------------------------------

# Words that say what kind of street it is, not which one: "Main St", "Main Street" and "Main"
# are one street to a matcher. English, German, French, Spanish, Dutch forms.
_STREET_TYPE_WORDS = frozenset(
    {
        *STREET_TYPES,
        *(name.lower() for name in STREET_TYPES.values()),
        "str", "strasse", "straße", "weg", "platz", "gasse", "allee",
        "rue", "chemin", "boulevard", "allée", "impasse", "route", "quai",
        "calle", "avenida", "straat", "laan", "plein",
    }
)  # fmt: skip
_DIRECTIONS = {"north": "n", "south": "s", "east": "e", "west": "w", "northeast": "ne", "northwest": "nw"}
_DIRECTIONS |= {"southeast": "se", "southwest": "sw"}
# Where the street ends and a unit, floor, building or a description of the corner begins
# ("2450 Broadway between 90th and 91st Sts.", "156 2nd Ave. at 10th St.").
_UNIT_START = frozenset(
    [
        "apt",
        "apartment",
        "flat",
        "suite",
        "ste",
        "unit",
        "fl",
        "floor",
        "bldg",
        "building",
        "rm",
        "room",
        "ground",
        "#",
    ]
)
_STREET_END = _UNIT_START | {"between", "btwn", "at", "off", "near", "corner", "and", "&"}
# Numbered streets written as words: "Seventh Ave." is "7th Ave.", keyed as its number.
_ORDINALS = dict(
    zip(
        [
            "first",
            "second",
            "third",
            "fourth",
            "fifth",
            "sixth",
            "seventh",
            "eighth",
            "ninth",
            "tenth",
            "eleventh",
            "twelfth",
        ],
        [str(n) for n in range(1, 13)],
        strict=True,
    )
)
_NUMBER = re.compile(r"\d+[a-z]?")
_NUMBERED_STREET = re.compile(r"(\d+)(?:st|nd|rd|th)?")
_DIRECTION_KEYS = frozenset(_DIRECTIONS.values())
_ORDINAL_SUFFIXES = frozenset({"st", "nd", "rd", "th"})
_HOUSE_RANGE = re.compile(r"\s*\d+[a-z]?\s*-\s*\d+\b", re.IGNORECASE)
_WORDS = re.compile(r"[#]|[^\W_]+")


def street_key(line: str | None) -> tuple[str | None, str | None]:
    """A street line as (house number, street key).

    "7419 South Cottage Grove Ave." -> ("7419", "cottagegrove"); "Hauptstraße 5" -> ("5",
    "hauptstrasse"); "Flat 3, 12 Main St" -> ("12", "main"). The key is the street's words in
    lower case, a leading direction left out, numbered streets as their number ("seventh",
    "7th" -> "7"), street types and everything after the street's type, a unit word or a
    corner ("between ...", "at ...") left out, run together; a unit written first ("Flat 3,
    ...") is skipped. The number is the first number of the street (or, in a line that starts
    with a word, the last). Either part is None when absent.
    """
    if line is None:
        return None, None
    words = _WORDS.findall(unicodedata.normalize("NFKC", line).casefold())
    while len(words) >= 2 and words[0] in _UNIT_START:
        words = words[2:]
    number: str | None = None
    if words and _NUMBER.fullmatch(words[0]):
        number, words = words[0], words[1:]
        if words and _HOUSE_RANGE.match(line):  # "3012-16 E. 92nd St.": the range's end
            words = words[1:]
    kept: list[str] = []
    for word in words:
        if word in _UNIT_START or (word in _STREET_END and kept):
            break
        if word in _ORDINAL_SUFFIXES and kept and kept[-1].isdigit():
            continue  # "24 th Blvd" is "24th Blvd"
        if word in _STREET_TYPE_WORDS:
            if any(k not in _DIRECTION_KEYS for k in kept):
                # The street's name ends at its type: what follows describes the place ("Peachtree
                # Rd. Peachtree Square Shopping Center") or is a quadrant ("Peachtree Rd. NE").
                break
            continue  # "S. Ave. H": a direction is not yet the street's name
        if number is None and _NUMBER.fullmatch(word):
            number = word
            continue
        kept.append(_ORDINALS.get(word) or _numbered(word) or _DIRECTIONS.get(word, word))
    if number is None:  # "St Albans Rd 4": the number after the street
        number = next((w for w in reversed(words) if _NUMBER.fullmatch(w)), None)
    # A leading direction is often left out ("1326 S. Avers" / "1326 Avers"); it stays where it
    # is all the name has ("W. North Ave.").
    named = list(itertools.dropwhile(lambda k: k in _DIRECTION_KEYS, kept))
    return number, ("".join(named or kept) or None)


def _numbered(word: str) -> str | None:
    """ "113th", "113" and the typo "93th" of "93rd": a numbered street is its number."""
    found = _NUMBERED_STREET.fullmatch(word)
    return found.group(1) if found else None


def street_keys(values: pd.Series) -> pd.DataFrame:
    """`street_key` of every line, once per distinct line: columns street_number, street_key."""
    text = values.astype(object).where(values.notna(), None)
    distinct = pd.unique(text.dropna().to_numpy(dtype=object))
    parts = {line: street_key(str(line)) for line in distinct}
    numbers = text.map(lambda v: None if v is None else parts[v][0])
    keys = text.map(lambda v: None if v is None else parts[v][1])
    return pd.DataFrame(
        {"street_number": numbers.astype(object), "street_key": keys.astype(object)}, index=values.index
    )
