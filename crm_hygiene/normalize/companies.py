"""Company names: the name apart from its legal form, each legal form spelled one way, match tokens.

`normalize_company_names(values, country=None)` keeps the contract of `normalize.base` and adds:

- `name`: the name without its legal form ("Acme");
- `legal_form`: the canonical spelling of the legal form ("Inc.", "GmbH", "N.V."), None if the
  name carries none;
- `legal_form_type`: the kind of legal form in cleanco's vocabulary ("Corporation", "Limited",
  "Limited Partnership", ...), None when unknown;
- `match_tokens`: lower-case, ASCII-folded words of `name` without stop words ("the", "and",
  "&", ...) and without the legal form, joined by one blank ("smith jones logistics");
- `match_key`: the same words joined without a blank ("smithjoneslogistics");
- `qualifier`: text typed after the legal form behind a comma or bracket ("DSM N.V., Heerlen"
  gives "Heerlen"); it is left out of `value`, so the change has confidence 0.8.

The canonical `value` is `name + " " + legal_form` ("Acme Inc.", "Siemens AG", "Philips N.V."),
or `name` alone. A leading "The" stays in `name` and `value` (it belongs to some registered
names: "The Home Depot"); only the match tokens drop it.

Legal forms are found at the end of the name (or, for the few written first, "N.V. Philips"
and "株式会社トヨタ", at the start) by comparing the last words with the spellings in
`LEGAL_FORMS` before any full stop is removed: "N.V.", "N. V.", "NV" and "N,V" all read as N.V.
Terms missing from that table are taken from cleanco's list, which is also given the text with
its punctuation. Canonical spellings are those of the demo CRM's ground truth; where a country
writes a form its own way, the record's country (ISO 3166-1 alpha-2, as the country normalizer
writes it; other text is ignored) chooses: "Ltd" in the United Kingdom and Australia but "Ltd."
in Canada and India, and "Co., Ltd." is K.K. in Japan.

Casing: a name typed all upper or all lower case is re-cased ("ACME WIDGETS" gives "Acme
Widgets"; "and", "of", "van", "de" stay small inside a name; vowel-less words such as "BMW" and
"HSBC", Roman numerals and "McDonald", "O'Neill" are written as such). Other names stay as
typed, and when an all-upper name comes with a legal form in small letters ("IBM Corp"), its
words of up to four letters are kept as acronyms. A Dutch or German name starting with a
particle is capitalized there ("Van Straaten-Heerschop B.V."), as Dutch writes a surname that
opens a name.

Rules, with their confidence: `tidy` (blanks and stray punctuation, 0.99), `legal_form`
(re-spelled or moved, 0.95), `recase` (0.9), `characters` (control characters, emoji and other
symbols dropped, 0.8), `qualifier` (0.8); several are joined with "+", the lowest confidence
counts. Invalid, with a reason: text without letters, spreadsheet formulas, SQL, markup, e-mail
addresses, placeholders ("N/A") and a legal form without a name.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, NamedTuple

import pandas as pd
from cleanco import basename, matches, typesources
from cleanco.clean import normalized, strip_punct, strip_tail

from crm_hygiene.normalize.base import changed, invalid, per_distinct

EXTRA_COLUMNS: tuple[str, ...] = (
    "name",
    "legal_form",
    "legal_form_type",
    "match_tokens",
    "match_key",
    "qualifier",
)
COLUMNS: tuple[str, ...] = ("value", "valid", "reason", "rule", "confidence", *EXTRA_COLUMNS)


@dataclass(frozen=True)
class LegalForm:
    """One legal form: its canonical spelling and the other ways people write it.

    Spellings are compared ignoring case, blanks, commas and brackets, and then also ignoring
    full stops, so "G.m.b.H." and "GMBH" need not be listed. `by_country` gives the canonical
    spelling where a country writes the form differently. A `guarded` form's abbreviation is
    also an ordinary word or code ("Spa", "PC", "CV"): written without its full stops or slash,
    it counts as a legal form only in a `home` country, or with an inner capital exactly as
    listed ("SpA"). `kind` overrides cleanco's classification where it has none or a wrong one.
    """

    canonical: str
    spellings: tuple[str, ...] = ()
    by_country: Mapping[str, str] = field(default_factory=dict)
    guarded: bool = False
    home: frozenset[str] = frozenset()
    kind: str | None = None


_DOTTED = {c: "Ltd." for c in ("US", "CA", "IN", "PK", "BD", "LK")}  # countries writing "Ltd." with a stop

# Longer forms first is not required: the longest run of trailing words that spells a form wins.
LEGAL_FORMS: tuple[LegalForm, ...] = (
    # United States, Canada
    LegalForm("Inc.", ("Inc", "Incorporated")),
    LegalForm("Corp.", ("Corp", "Corporation")),
    LegalForm("LLC", ("L.L.C.", "Limited Liability Company", "Ltd. Liability Co.")),
    LegalForm("LLP", ("L.L.P.", "Limited Liability Partnership")),
    LegalForm("LP", ("L.P.", "Limited Partnership")),
    LegalForm("PLLC", ("P.L.L.C.",)),
    LegalForm("P.C.", ("PC", "Professional Corporation"), guarded=True, home=frozenset({"US"})),
    # United Kingdom, Ireland, Commonwealth
    LegalForm("Ltd", ("Ltd.", "Limited", "Ltd"), by_country=_DOTTED, kind="Limited"),
    LegalForm("plc", ("PLC", "p.l.c.", "Public Limited Company", "Public Ltd Co")),
    LegalForm("Pty Ltd", ("Pty. Ltd.", "Pty Limited", "Proprietary Limited", "Pty. Limited", "(Pty) Ltd"),
              by_country={"ZA": "(Pty) Ltd"}),
    LegalForm("Pvt. Ltd.", ("Pvt Ltd", "Private Limited", "(P) Ltd", "P. Ltd.", "Pvt. Limited"),
              by_country={"SG": "Pte. Ltd.", "MY": "Sdn. Bhd."}, kind="Limited"),
    LegalForm("Pte. Ltd.", ("Pte Ltd", "Pte. Limited", "Pte Limited"), kind="Limited"),
    LegalForm("Sdn. Bhd.", ("Sdn Bhd", "Sendirian Berhad")),
    LegalForm("Bhd.", ("Bhd", "Berhad")),
    # East Asia
    LegalForm("Co., Ltd.", ("Co. Ltd.", "Co Ltd", "Company Limited", "Co., Limited", "Company Ltd"),
              by_country={"JP": "K.K."}, kind="Limited"),
    LegalForm("K.K.", ("KK", "Kabushiki Kaisha", "Kabushiki-Kaisha", "Kabushikigaisha", "株式会社"),
              kind="Corporation"),
    LegalForm("G.K.", ("GK", "Godo Kaisha", "Godo-Kaisha", "合同会社"), kind="Limited Liability Company"),
    LegalForm("Y.K.", ("YK", "Yugen Kaisha", "Yugen-Kaisha", "有限会社"), kind="Limited"),
    # Germany, Austria, Switzerland
    LegalForm("GmbH", ("mbH", "Ges.m.b.H.", "Gesellschaft mbH", "Gesellschaft mit beschränkter Haftung",
                       "Gesellschaft mit beschraenkter Haftung")),
    LegalForm("GmbH & Co. KG", ("GmbH u. Co. KG", "GmbH und Co. KG", "GmbH & Co. Kommanditgesellschaft",
                                "GmbH + Co. KG"), kind="Limited Partnership"),
    LegalForm("AG & Co. KG", ("AG u. Co. KG", "AG und Co. KG"), kind="Limited Partnership"),
    LegalForm("AG", ("Aktiengesellschaft", "Akt.-Ges.", "Aktienges.")),
    LegalForm("KGaA", ("Kommanditgesellschaft auf Aktien",), kind="Limited Partnership"),
    LegalForm("KG", ("Kommanditgesellschaft",)),
    LegalForm("OHG", ("oHG", "Offene Handelsgesellschaft"), kind="General Partnership"),
    LegalForm("UG (haftungsbeschränkt)", ("UG haftungsbeschränkt", "UG (haftungsbeschraenkt)", "UG"),
              kind="Limited"),
    LegalForm("e.K.", ("e.Kfm.", "e.Kfr.", "eingetragener Kaufmann"), guarded=True, home=frozenset({"DE"}),
              kind="Sole Proprietorship"),
    LegalForm("e.V.", ("eingetragener Verein",), guarded=True, home=frozenset({"DE"}), kind="Non-Profit"),
    LegalForm("SE", ("Societas Europaea",), kind="Corporation"),
    # France, Belgium, Luxembourg
    LegalForm("SAS", ("S.A.S.", "Société par actions simplifiée"), by_country={"IT": "S.a.s."},
              kind="Corporation"),
    LegalForm("SASU", ("S.A.S.U.",)),
    LegalForm("SARL", ("S.A.R.L.", "Société à responsabilité limitée")),
    LegalForm("S.à r.l.", ("Sàrl", "S.à.r.l.", "S. à r.l."), kind="Limited Liability Company"),
    LegalForm("EURL", ("E.U.R.L.",)),
    LegalForm("SNC", ("S.N.C.",), by_country={"IT": "S.n.c."}),
    LegalForm("BVBA", ("B.V.B.A.",)),
    # Spanish, Portuguese and Latin American forms
    LegalForm("S.A.", ("SA", "S/A", "S. A.", "Société anonyme", "Sociedad Anónima", "Sociedade Anônima")),
    LegalForm("S.A.B. de C.V.", ("SAB de CV", "S.A.B. de C.V"), kind="Corporation"),
    LegalForm("S.A. de C.V.", ("SA de CV", "S.A. de C.V", "S. A. de C. V."), kind="Corporation"),
    LegalForm("S. de R.L. de C.V.", ("S de RL de CV", "S. de R.L. de C.V"),
              kind="Limited Liability Company"),
    LegalForm("S.L.", ("SL", "Sociedad Limitada"), kind="Limited"),
    LegalForm("S.L.U.", ("SLU",), kind="Limited"),
    LegalForm("Ltda.", ("Ltda", "Limitada"), kind="Limited"),
    LegalForm("EIRELI", ("Eireli",), kind="Limited"),
    # Italy
    LegalForm("S.p.A.", ("SpA", "SPA", "S.P.A", "Società per azioni"), guarded=True, home=frozenset({"IT"}),
              by_country={"CL": "SpA"}),
    LegalForm("S.r.l.", ("SRL", "Srl", "S.R.L", "Società a responsabilità limitata")),
    # Netherlands, Belgium
    LegalForm("B.V.", ("BV", "Besloten Vennootschap")),
    LegalForm("N.V.", ("NV", "Naamloze Vennootschap", "Naamlooze Vennootschap")),
    LegalForm("V.O.F.", ("VOF", "Vennootschap onder firma")),
    LegalForm("C.V.", ("CV", "Commanditaire Vennootschap"), guarded=True, home=frozenset({"NL", "BE"})),
    # Nordic countries
    LegalForm("AB", ("Aktiebolag", "Aktiebolaget", "A.B.")),
    LegalForm("AB (publ)", ("AB publ", "AB (Publ.)")),
    LegalForm("A/S", ("Aktieselskab", "Aktieselskabet")),
    LegalForm("AS", ("Aksjeselskap",), by_country={"DK": "A/S"}),
    LegalForm("ASA", ("Allmennaksjeselskap",)),
    LegalForm("ApS", ("Anpartsselskab",)),
    LegalForm("I/S", ()),
    LegalForm("K/S", ()),
    LegalForm("P/S", ()),
    LegalForm("Oy", ("Osakeyhtiö",)),
    LegalForm("Oyj", ("Julkinen osakeyhtiö",)),
    LegalForm("Oy Ab", ("Oy AB", "Ab Oy")),
    LegalForm("HB", ("Handelsbolag",)),
    LegalForm("KB", ("Kommanditbolag",)),
    LegalForm("Ky", ("Kommandiittiyhtiö",)),
    # Central and Eastern Europe, Turkey
    LegalForm("Sp. z o.o.", ("Sp. z.o.o.", "Spółka z ograniczoną odpowiedzialnością", "Sp.z o.o.")),
    LegalForm("s.r.o.", ("spol. s r.o.", "s. r. o.")),
    LegalForm("a.s.", (), guarded=True, home=frozenset({"CZ", "SK"})),
    LegalForm("Kft.", ("Kft",)),
    LegalForm("Zrt.", ("Zrt",)),
    LegalForm("Nyrt.", ("Nyrt",)),
    LegalForm("d.o.o.", ("doo", "d.o.o")),
    LegalForm("OOO", ("ООО",)),
    LegalForm("A.Ş.", ("AŞ", "Anonim Şirketi")),
    LegalForm("Ltd. Şti.", ("Ltd. Sti.", "Ltd Şti", "Limited Şirketi"), kind="Limited"),
)  # fmt: skip

# Written before the name ("N.V. Philips' Gloeilampenfabrieken", "株式会社トヨタ"); full stops
# required for the Latin ones, since "NV Energy" is a name.
_PREFIX = re.compile(
    r"^(?:(?P<latin>[NB]\.\s?V(?:\.|(?=\s)))\s*(?=[^\W\d_]{2})|(?P<cjk>株式会社|有限会社|合同会社)\s*)",
    re.IGNORECASE,
)
# A qualifier after the legal form starts with a comma or a bracket: "DSM N.V., Heerlen", "Unilever N.V. (NL)".
_QUALIFIER = re.compile(r",\s*|\s*[(\[]")
# Japanese forms attach without a blank.
_CJK_SUFFIX = re.compile(r"(?<=\S)\s*(株式会社|有限会社|合同会社|㈱)$")
_CJK = {"株式会社": "K.K.", "㈱": "K.K.", "有限会社": "Y.K.", "合同会社": "G.K."}

# cleanco knows legal terms that are also ordinary words or codes; they are not taken from it alone.
_NOT_LEGAL_FORMS = frozenset({
    "co", "co.", "company", "& co", "& co.", "& company", "and company", "private", "unlimited", "sal", "sem",
    "sep", "ent.", "etat", "tov", "vat", "dat", "fie", "cio", "cic", "ans", "teo", "stg", "sca", "oe", "ok",
    "uk", "at",
})  # fmt: skip
_CONNECTORS = frozenset({"&", "+", "and", "und", "u", "et", "en", "e", "y"})
_STOP_WORDS = frozenset({"the", "and", "und", "et", "en", "y", "of"})
# Lower case inside a re-cased name; never as its first word.
_MINOR_WORDS = frozenset({
    "and", "of", "the", "for", "at", "by", "to", "in", "on", "und", "et", "van", "von", "der", "den", "het",
    "ter", "ten", "zu", "de", "da", "das", "do", "dos", "di", "del", "della", "des", "du",
})  # fmt: skip
_NOT_ACRONYMS = frozenset(
    {"st", "mr", "mrs", "dr", "jr", "sr", "mt", "ft", "pty", "pvt", "ltd", "llc", "bhd"}
)
_ROMAN = frozenset({"ii", "iii", "iv", "vi", "vii", "viii", "ix", "xi", "xii"})
_PLACEHOLDERS = frozenset(
    {"n/a", "na", "n.a.", "none", "null", "nil", "-", "--", "?", "unknown", "tbd", "test", "xxx", "company"}
)

_FORMULA = re.compile(r"^\s*(?:=|[+\-@]\s*[A-Za-z_][\w.]*\s*\()")
_SQL_TAUTOLOGY = re.compile(r"'\s*(?:or|and)\s+'?\w*'?\s*=", re.IGNORECASE)
_SQL_MARK = re.compile(r";|--|/\*")
_SQL_WORD = re.compile(
    r"\b(?:select|insert|update|delete|drop|alter|union|truncate|exec|create)\b", re.IGNORECASE
)
_MARKUP = re.compile(r"<\s*/?\s*[a-z][^>]*>", re.IGNORECASE)
_EMAIL = re.compile(r"^\S+@\S+\.\w+$")
# Each of the five patterns above needs one of these ("=" or "(" for a formula, "=" for a tautology,
# ";", "--" or "/*" for the SQL marks, "<" for markup, "@" for an e-mail): most names skip all five.
_SUSPECT = re.compile(r"[=(;<@]|--|/\*")
_LEAD = re.compile(r"^[\s*#·•,;:_\-–—]+")
_TRAIL_CHARACTER = re.compile(r"[\s*#·•,;:_\-–—/]")
_TRAIL = re.compile(rf"{_TRAIL_CHARACTER.pattern}+$")
_BLANKS = re.compile(r"\s+")
# Any blank but " ", or two in a row: without one, `_BLANKS.sub(" ", text)` is `text`.
_ODD_BLANKS = re.compile(r"[^\S ]|  ")
_GLUED_COMMA = re.compile(r",(?=[^\W\d_])")
_WORD = re.compile(r"[^\W\d_]+")
_ALNUM = re.compile(r"[^\W_]")
_INNER_CAPITAL = re.compile(r"[a-z][A-Z]")
_TOKEN = re.compile(r"[^\W_]+")
_APOSTROPHES = re.compile(r"['’`´]")
_VOWEL = re.compile(r"[aeiouy]")
_ASCII_LETTER = re.compile(r"[A-Za-z]")
# Printable ASCII but the modifier symbols "^" and "`": `_clean_characters` keeps all of it as is.
_PLAIN_ASCII = re.compile(r"[\x20-\x5d\x5f\x61-\x7e]*")
_FOLD = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i"})

CONFIDENCE = {"tidy": 0.99, "legal_form": 0.95, "recase": 0.9, "characters": 0.8, "qualifier": 0.8}


def normalize_company_names(values: pd.Series, country: pd.Series | None = None) -> pd.DataFrame:
    """Canonical company names split into name and legal form, with match tokens; once per distinct pair."""
    return per_distinct(values, _normalize_one, COLUMNS, context=country)


def _normalize_one(text: str, country: Any = None) -> dict[str, Any]:
    code = country.strip().upper() if isinstance(country, str) and len(country.strip()) == 2 else None
    cleaned, dropped = _clean_characters(text)
    work = _GLUED_COMMA.sub(", ", cleaned) if "," in cleaned else cleaned
    work = _BLANKS.sub(" ", work) if _ODD_BLANKS.search(work) else work
    work = _strip_trail(_LEAD.sub("", work).strip())
    # _garbage reads the stripped text, so a tidy name need not be read twice.
    problem = _garbage(cleaned) or (_garbage(work) if work != cleaned.strip() else None)
    if problem:
        return invalid(problem, EXTRA_COLUMNS)
    if _lookup(work, code) is not None:
        return invalid("only a legal form, no name", EXTRA_COLUMNS)
    split = _split(work, code)
    if not _ALNUM.search(split.base) or _lookup(split.base, code) is not None:
        return invalid("only a legal form, no name", EXTRA_COLUMNS)
    canonical = split.form.canonical if split.form else split.typed
    if split.form and code:
        canonical = split.form.by_country.get(code, canonical)
    # The legal form is the evidence of mixed-case typing only if it keeps its small letters.
    name, recased = _recase(split.base, _has_lower(split.typed) and _has_lower(canonical))
    name = unicodedata.normalize("NFC", name)  # "SS" + a combining accent re-cased: "Sś", not "Ss\u0301"
    value = f"{name} {canonical}" if canonical else name
    # "CO LTD LTD": the name was part of the legal form. (A value typed as is was looked up above.)
    if value != work and _lookup(value, code) is not None:
        return invalid("only a legal form, no name", EXTRA_COLUMNS)
    rules = []
    if dropped:
        rules.append("characters")
    if split.qualifier:
        rules.append("qualifier")
    if recased:
        rules.append("recase")
    if canonical is not None and (canonical != split.typed or not split.in_place):
        rules.append("legal_form")
    if not rules:
        rules.append("tidy")
    tokens = match_tokens(name)
    return changed(
        text,
        value,
        "+".join(rules),
        min(CONFIDENCE[r] for r in rules),
        name=name,
        legal_form=canonical,
        legal_form_type=_kind(split.form, canonical) if canonical else None,
        match_tokens=" ".join(tokens),
        match_key="".join(tokens),
        qualifier=_recase(split.qualifier, False)[0] if split.qualifier else None,
    )


def match_tokens(name: str) -> list[str]:
    """Lower-case ASCII-folded words of a name without stop words (letters without an ASCII form stay)."""
    folded = name.casefold()
    if not folded.isascii():  # ASCII needs no folding: _FOLD, NFKD and combining marks are beyond it
        folded = unicodedata.normalize("NFKD", folded.translate(_FOLD))
        folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    tokens = _TOKEN.findall(_APOSTROPHES.sub("", folded))
    return tokens if _STOP_WORDS.isdisjoint(tokens) else [t for t in tokens if t not in _STOP_WORDS]


def _clean_characters(text: str) -> tuple[str, bool]:
    """Text without control, format, emoji and private-use characters (blanks for line breaks and tabs)."""
    if _PLAIN_ASCII.fullmatch(text):  # most names: nothing to normalize, replace or drop
        return text, False
    out, dropped = [], False
    for ch in unicodedata.normalize("NFC", text):
        category = unicodedata.category(ch)
        if ch in "\t\n\r\v\f\u00a0\u2028\u2029" or category == "Zs":
            out.append(" ")
        elif category in ("Cc", "Cf", "Cs", "Co", "Cn", "So", "Sk") or (
            category[0] == "M" and (not out or out[-1] == " ")  # a mark with nothing to combine with
        ):
            dropped = True
        else:
            out.append(ch)
    return "".join(out), dropped


def _garbage(text: str) -> str | None:
    stripped = text.strip()
    if not _ASCII_LETTER.search(stripped) and not any(
        unicodedata.category(ch).startswith("L") for ch in stripped
    ):
        return "no letters"
    if _SUSPECT.search(stripped):
        if _FORMULA.match(stripped):
            return "looks like a spreadsheet formula"
        if _SQL_TAUTOLOGY.search(stripped) or (_SQL_MARK.search(stripped) and _SQL_WORD.search(stripped)):
            return "looks like SQL"
        if _MARKUP.search(stripped):
            return "contains markup"
        if _EMAIL.match(stripped):
            return "an e-mail address, not a company name"
    if stripped.casefold() in _PLACEHOLDERS:
        return f"placeholder {stripped!r}"
    return None


def _strip_trail(text: str) -> str:
    """`text` without trailing blanks and stray punctuation (`_TRAIL`), read only when it ends in one."""
    # `_TRAIL` matches only where the last character is one of its own (its "$" may stop before a
    # final line break, which is a blank it takes too), so most names skip the search.
    return _TRAIL.sub("", text) if _TRAIL_CHARACTER.match(text, len(text) - 1) else text


class _Split(NamedTuple):  # a tuple, not a frozen dataclass: several are built per name
    base: str  # the name as typed, without legal form
    typed: str | None = None  # the legal form as typed
    form: LegalForm | None = None  # None when only cleanco knows the term
    qualifier: str | None = None  # what followed the legal form: ", Eindhoven", "(NL)"
    in_place: bool = True  # the form was typed after the name, one blank apart


def _split(text: str, country: str | None) -> _Split:
    """The name and its legal form: written first, last, last before a qualifier, or known to cleanco."""
    prefix = _PREFIX.match(text)
    if prefix:
        typed = prefix.group("latin") or prefix.group("cjk")
        rest = _strip_trail(text[prefix.end() :].strip())
        again = _split_suffix(rest, country)  # "N.V. Philips N.V." has one legal form
        if again is not None:
            return _Split(again.base, again.typed, again.form, in_place=False)
        return _Split(rest, typed, _lookup(typed, country), in_place=False)
    cjk = _CJK_SUFFIX.search(text) if "社" in text or "㈱" in text else None  # every CJK form has one
    if cjk:
        form = _lookup(_CJK[cjk.group(1)], country)
        return _Split(_strip_trail(text[: cjk.start()].strip()), cjk.group(1), form, in_place=False)
    found = _split_suffix(text, country)
    if found is not None:
        return found
    for cut in _QUALIFIER.finditer(text):
        qualifier = text[cut.start() :].strip(" ,([])")
        if len(qualifier.split()) > 5 or not _WORD.search(qualifier):
            continue
        found = _split_suffix(_strip_trail(text[: cut.start()]), country)
        if found is not None:
            return _Split(found.base, found.typed, found.form, qualifier, in_place=False)
    return _split_with_cleanco(text)


def _split_suffix(text: str, country: str | None) -> _Split | None:
    """The longest run of last words (at most six) that spells a known legal form, if any."""
    words = text.split(" ")
    for k in range(min(len(words) - 1, 6), 0, -1):
        typed = " ".join(words[-k:])
        form = _lookup(typed, country)
        if form is None:
            continue
        base = _strip_trail(" ".join(words[:-k]))
        last = base.rsplit(" ", 1)[-1].casefold().rstrip(".")
        if last in _CONNECTORS:  # "Smith & Co Ltd": the "Co" belongs to the name
            continue
        in_place = text == f"{base} {typed}"
        # A single word leaves no name to put before a legal form: no need to look.
        again = _split_suffix(base, country) if " " in base else None
        if again is not None and again.form is form:  # "Akzo Nobel NV Naamlooze Vennootschap"
            return _Split(again.base, typed, form, in_place=False)
        return _Split(base, typed, form, in_place=in_place)
    return None


def _split_with_cleanco(text: str) -> _Split:
    # cleanco must see the punctuation: it is given the text before any full stop is removed.
    base = _basename(text)
    if not base or base == text or not text.startswith(base):
        return _Split(text)
    typed = text[len(base) :].strip(" ,")
    letters = sum(ch.isalpha() for ch in typed)
    known = _tables().loose.get(_loose_key(typed))
    if (
        typed.casefold() in _NOT_LEGAL_FORMS
        or (known is not None and known.guarded)  # refused above: "Day Spa"
        or not ("." in typed or "/" in typed or letters >= 3)
    ):
        return _Split(text)
    return _Split(_strip_trail(base), typed)


# cleanco's terms as word tuples: basename() removes nothing from a name whose last words spell none.
_CLEANCO_TERMS = frozenset(tuple(words) for _, words in basename.keywords["terms"])
_CLEANCO_SIZES = tuple(sorted({len(words) for words in _CLEANCO_TERMS}))


def _basename(text: str) -> str:
    """cleanco's `basename(text)`, without its walk through all ~300 terms when none ends the name.

    This repeats the first lines of cleanco's `custom_basename`; any match goes to cleanco itself.
    """
    name = strip_tail(text)
    # cleanco's `normalized` folds case, drops accents (NFKD) and maps a few non-ASCII letters:
    # for ASCII text that is case folding alone, without its walk through every character.
    folded = name.casefold() if name.isascii() else normalized(name)
    words = [strip_punct(w) for w in folded.split()]
    if words and not any(tuple(words[-size:]) in _CLEANCO_TERMS for size in _CLEANCO_SIZES):
        return strip_tail(" ".join(name.split()))
    return basename(text)


@dataclass(frozen=True)
class _Tables:
    strict: dict[str, LegalForm]
    loose: dict[str, LegalForm]
    exact: dict[str, LegalForm]
    kinds: dict[str, str]
    sources: list[tuple[str, str]]


@cache
def _tables() -> _Tables:
    strict: dict[str, LegalForm] = {}
    loose: dict[str, LegalForm] = {}
    exact: dict[str, LegalForm] = {}
    for form in LEGAL_FORMS:
        for spelling in (form.canonical, *form.spellings):
            strict.setdefault(_strict_key(spelling), form)
            loose.setdefault(_loose_key(spelling), form)
            exact.setdefault(_exact_key(spelling), form)
    sources = typesources()
    kinds: dict[str, str] = {}
    for kind, term in sources:
        kinds.setdefault(term.casefold(), kind)
    return _Tables(strict, loose, exact, kinds, sources)


def _exact_key(text: str) -> str:
    r"""`text` without blanks, commas and brackets: `re.sub(r"[\s,()]+", "", text)`, three times faster.

    `str.split()` and the `\s` of `re` take the same characters for blanks.
    """
    return "".join(text.split()).replace(",", "").replace("(", "").replace(")", "")


def _strict_key(text: str) -> str:
    return _exact_key(text).casefold()


def _loose_key(text: str) -> str:
    return _loosen(_strict_key(text))


def _loosen(strict: str) -> str:
    """The loose key from the strict one: accents and other combining marks, full stops and hyphens dropped."""
    if strict.isascii():  # NFKD leaves ASCII as is, and ASCII has no combining marks
        return strict.replace(".", "").replace("-", "")
    folded = unicodedata.normalize("NFKD", strict)
    return "".join(ch for ch in folded if not unicodedata.combining(ch) and ch not in ".-")


def _lookup(typed: str, country: str | None) -> LegalForm | None:
    tables = _tables()
    strict = _strict_key(typed)
    loose = _loosen(strict)  # both keys at once: the loose one no longer repeats the strict one's work
    form = tables.strict.get(strict) or tables.loose.get(loose)
    if form is None or not form.guarded or country in form.home:
        return form
    # A guarded abbreviation needs its stops or slash ("S.p.A.") or an inner capital ("SpA"):
    # re-casing never writes either, so a name re-cased once reads the same the second time.
    if "." in typed or "/" in typed or len(loose) > 4:
        return form
    if _INNER_CAPITAL.search(typed) and tables.exact.get(_exact_key(typed)) is form:
        return form
    return None


def _kind(form: LegalForm | None, canonical: str) -> str | None:
    if form is not None and form.kind:
        return form.kind
    tables = _tables()
    kind = tables.kinds.get(canonical.casefold())
    if kind:
        return kind
    found = matches(canonical, tables.sources)
    return found[0] if found else None


def _has_lower(text: str | None) -> bool:
    if text is None:
        return False
    if text.isascii():  # an ASCII letter is lower case when upper() changes it
        return text != text.upper()
    return any(ch.islower() for ch in text)


def _recase(name: str, mixed_case_form: bool) -> tuple[str, bool]:
    """The name re-cased when typed all upper or all lower case; otherwise as typed.

    An all-upper name followed by a legal form typed (and written) with small letters ("IBM
    Corp") was typed in mixed case on purpose: its words of up to four letters are acronyms.
    """
    if name.isascii():  # an ASCII letter is upper (lower) case when lower() (upper()) changes it
        has_upper, has_lower = name != name.lower(), name != name.upper()
    else:
        has_upper = any(ch.isupper() for ch in name)
        has_lower = any(ch.islower() for ch in name)
    if (has_upper and has_lower) or not (has_upper or has_lower):
        return name, False
    words = name.split(" ")
    if has_upper and mixed_case_form:
        out = " ".join(w if len(_letters(w)) <= 4 else _recase_word(w, i) for i, w in enumerate(words))
    elif has_upper and len(words) == 1 and len(_letters(name)) <= 3:
        out = name  # "IBM", "SAP" typed alone
    else:
        out = " ".join(_recase_word(w, i) for i, w in enumerate(words))
    return out, out != name


def _letters(word: str) -> str:
    return "".join(ch for ch in word if ch.isalpha())


def _recase_word(word: str, position: int) -> str:
    parts: list[str] = []
    end = 0
    for start, stop in _letter_runs(word):
        parts.append(word[end:start])
        before = word[:start]
        parts.append(_recase_run(word[start:stop], before, first=position == 0 and not _WORD.search(before)))
        end = stop
    parts.append(word[end:])
    return "".join(parts)


def _letter_runs(word: str) -> list[tuple[int, int]]:
    """(start, stop) of each run of letters with their combining marks ("İ" lower-cased is "i" + a dot)."""
    runs: list[tuple[int, int]] = []
    start = None
    for i, ch in enumerate(word):
        category = unicodedata.category(ch)
        if category[0] == "L" or (category[0] == "M" and start is not None):
            start = i if start is None else start
        elif start is not None:
            runs.append((start, i))
            start = None
    if start is not None:
        runs.append((start, len(word)))
    return runs


def _recase_run(run: str, before: str, *, first: bool) -> str:
    lower = run.lower()
    if before.endswith(("'", "’")):
        # O'Neill, D'Angelo; but McDonald's, Macy's
        previous = _WORD.findall(before)
        if previous and len(previous[-1]) == 1 and len(run) > 1:
            return _capitalized(run)
        return lower
    if before[-1:].isdigit():
        return lower if lower in ("st", "nd", "rd", "th") else run.upper()  # 1st, 3M
    if lower in _MINOR_WORDS and not first:
        return lower
    if lower in _ROMAN or len(run) == 1:
        return run.upper()
    if run.isascii() and 2 <= len(run) <= 4 and not _VOWEL.search(lower) and lower not in _NOT_ACRONYMS:
        return run.upper()  # no vowel: an acronym (BMW, HSBC, KPMG)
    if lower.startswith("mc") and len(run) > 4:
        return "Mc" + _capitalized(run[2:])
    return _capitalized(run)


def _capitalized(run: str) -> str:
    return run[:1].title() + run[1:].lower()  # title, not upper: "ß" becomes "Ss", not "SS"
