"""Job titles: abbreviations spelled out, one word order per kind of title, seniority and function.

`normalize_titles(values)` returns the base columns (see `base.py`) plus:

- `seniority`: owner_founder, c_level, vp, director, manager, individual_contributor or unknown;
- `function`: sales, marketing, engineering, product, finance, hr, operations, it, legal,
  customer_success, executive, data, design or other.

Both come from keyword rules on the canonical title (`SENIORITY_RULES`, `FUNCTION_RULES`: the first
rule that matches wins), and are None where the title is missing or invalid.

The canonical title is spelled out, as the demo ground truth stores titles:

- abbreviations expanded: Sr./Snr -> Senior, Mgr -> Manager, Dir. -> Director, Acct -> Account,
  Exec -> Executive, Ops -> Operations, Mktg -> Marketing, Asst -> Assistant, Rep -> Representative;
  Eng. is Engineer at the end of a title (Software Eng.) and Engineering elsewhere (VP Eng., Eng
  Manager); Dev likewise Developer or Development (Software Dev, Sales Dev. Rep.);
- acronyms of roles expanded too, so that "CEO" and "Chief Executive Officer" are one value:
  CEO, CFO, CTO, COO, CMO, CIO, CRO, CHRO, CISO; VP, SVP (Senior Vice President), EVP (Executive
  Vice President), AVP; SWE, SDR, BDR, CSM, HR; and, with less confidence because they have other
  readings, MD (Managing Director), GM, AE, EA and PM (Product Manager, or Project Manager).
  Acronyms that name several roles (CPO, CDO, CCO, CSO) are kept. "Information Technology" becomes
  IT, the one acronym the canonical titles keep;
- one word order per kind of title: "Vice President, <Function>" (VP Sales, VP of Sales, Vice
  President - Sales), "Director of <Function>" and "Head of <Function>" (Marketing Director,
  Dir. Marketing, Director, Marketing), "<Function> <Role>" for other roles (Mgr, Procurement ->
  Procurement Manager);
- Chief Finance/Operations/Technical Officer -> Chief Financial/Operating/Technology Officer;
- title case for titles typed all upper or all lower case (small words such as "of" lower, known
  acronyms upper: IT, QA, UX, EMEA, SaaS ...); mixed case is kept as typed.

A title is invalid when it has no letters, starts like a spreadsheet formula, holds characters no
title uses (; < > = { } emoji ...) or is longer than MAX_TITLE_CHARS.
"""

from __future__ import annotations

import re
import unicodedata

import pandas as pd

from crm_hygiene.normalize.base import BASE_COLUMNS, Result, changed, invalid, missing, per_distinct
from crm_hygiene.normalize.typed_text import tidy

EXTRA_COLUMNS: tuple[str, ...] = ("seniority", "function")
COLUMNS: tuple[str, ...] = (*BASE_COLUMNS, *EXTRA_COLUMNS)
MAX_TITLE_CHARS = 200

Step = tuple[str, float]
# Rules, from most to least certain; a title changed by several reports the least certain one.
WHITESPACE: Step = ("title_whitespace", 0.99)
UNICODE: Step = ("title_unicode", 0.99)
PUNCTUATION: Step = ("title_punctuation", 0.99)  # ", " after commas, stray separators at the ends
CONTROL: Step = ("title_control_character", 0.95)
CASE: Step = ("title_case", 0.9)
ABBREVIATION: Step = ("title_abbreviation", 0.9)
ACRONYM: Step = ("title_acronym", 0.9)
WORD_ORDER: Step = ("title_word_order", 0.9)
SYNONYM: Step = ("title_synonym", 0.8)
AMBIGUOUS_ACRONYM: Step = ("title_acronym", 0.7)
PM_ACRONYM: Step = ("title_acronym", 0.6)  # Product or Project Manager

# Key: the word lower-cased without its periods ("Sr." -> "sr", "C.E.O." -> "ceo").
ABBREVIATIONS: dict[str, str] = {
    "sr": "Senior", "snr": "Senior", "jr": "Junior", "jnr": "Junior", "mgr": "Manager",
    "mngr": "Manager", "mgmt": "Management", "dir": "Director", "engr": "Engineer",
    "acct": "Account", "acctg": "Accounting", "exec": "Executive", "ops": "Operations",
    "mktg": "Marketing", "mkt": "Marketing", "mkting": "Marketing", "asst": "Assistant",
    "assoc": "Associate", "rep": "Representative", "cust": "Customer", "pres": "President",
    "hd": "Head", "coord": "Coordinator", "intl": "International", "natl": "National",
    "dept": "Department", "svc": "Service", "svcs": "Services", "supv": "Supervisor",
    "revops": "Revenue Operations", "salesops": "Sales Operations", "bizdev": "Business Development",
}  # fmt: skip
ACRONYMS: dict[str, str] = {
    "ceo": "Chief Executive Officer", "cfo": "Chief Financial Officer",
    "cto": "Chief Technology Officer", "coo": "Chief Operating Officer",
    "cmo": "Chief Marketing Officer", "cio": "Chief Information Officer",
    "cro": "Chief Revenue Officer", "chro": "Chief Human Resources Officer",
    "ciso": "Chief Information Security Officer", "vp": "Vice President",
    "svp": "Senior Vice President", "evp": "Executive Vice President",
    "avp": "Assistant Vice President", "vpe": "Vice President Engineering",
    "swe": "Software Engineer", "sde": "Software Development Engineer",
    "sdr": "Sales Development Representative", "bdr": "Business Development Representative",
    "csm": "Customer Success Manager",
}  # fmt: skip
# Two letters that are also words or initials: only when written in capitals (or the whole
# title is in lower case).
CAPITAL_ACRONYMS: dict[str, tuple[str, Step]] = {
    "hr": ("Human Resources", ACRONYM),
    "md": ("Managing Director", AMBIGUOUS_ACRONYM),
    "gm": ("General Manager", AMBIGUOUS_ACRONYM),
    "ae": ("Account Executive", AMBIGUOUS_ACRONYM),
    "ea": ("Executive Assistant", AMBIGUOUS_ACRONYM),
    "pm": ("Product Manager", PM_ACRONYM),
}
# Written this way whatever the case of the rest of the title.
KEEP_AS: dict[str, str] = {
    word.lower(): word
    for word in (
        "IT", "QA", "UX", "UI", "AI", "ML", "BI", "SEO", "SEM", "PR", "EMEA", "APAC", "AMER", "LATAM",
        "DACH", "US", "UK", "EU", "B2B", "B2C", "GTM", "ERP", "CRM", "SAP", "AWS", "SRE", "HSE", "EHS",
        "PMO", "SDET", "CPO", "CDO", "CCO", "CSO", "R&D", "FP&A", "M&A", "ESG", "IoT", "SaaS", "DevOps",
        "iOS", "PhD", "MBA", "CPA", "II", "III", "IV",
    )
}  # fmt: skip
SMALL_WORDS: frozenset[str] = frozenset(
    {"of", "and", "the", "for", "to", "in", "at", "on", "a", "an", "by", "with"}
)

# Function phrases that make "<X> Director", "Director <X>", "<X> Head" ... a title of the kinds
# rewritten into one word order. Longer phrases first, so the longest one matches.
FUNCTIONS: tuple[str, ...] = tuple(sorted((
    "Sales", "Marketing", "Engineering", "Operations", "Finance", "Product", "Product Management",
    "Product Marketing", "IT", "Information Technology", "Human Resources", "People", "Procurement",
    "Purchasing", "Customer Success", "Customer Support", "Customer Experience", "Customer Service",
    "Business Development", "Technology", "Data", "Data Science", "Analytics", "Design", "Legal",
    "Security", "Information Security", "Research", "Research and Development", "R&D",
    "Communications", "Partnerships", "Revenue Operations", "Sales Operations", "Marketing Operations",
    "Growth", "Support", "Infrastructure", "Strategy", "Talent", "Talent Acquisition", "Recruiting",
    "Accounting", "Facilities", "Logistics", "Supply Chain", "Quality", "Quality Assurance",
    "Compliance", "Software Engineering", "Software Development", "Demand Generation", "Digital",
    "E-Commerce", "Content", "Brand", "Training", "Administration", "Platform", "Architecture",
    "Investor Relations", "Public Relations", "Treasury", "Tax", "Risk", "Audit", "Innovation",
    "Manufacturing", "Production", "Development", "Sales Engineering", "Solutions",
    "Professional Services", "Account Management", "Inside Sales", "Channel Sales", "Enterprise Sales",
), key=len, reverse=True))  # fmt: skip

# (label, pattern on the lower-cased canonical title); the first match wins.
SENIORITY_RULES: tuple[tuple[str, str], ...] = (
    ("owner_founder", r"\b(co-?founder|founder|owner|proprietor)\b(?<!product owner)(?<!process owner)"
                      r"|^(managing |founding |senior )?partner$"),
    ("vp", r"\bvice president\b|\b[sea]?vp\b"),
    ("c_level", r"\bchief\b.*\bofficer\b|\b(ceo|cfo|cto|coo|cmo|cio|cro|cpo|cdo|cco|cso|ciso|chro)\b"
                r"|\bpresident\b|\bmanaging director\b|\bchair(man|woman|person)?\b"),
    ("director", r"\bdirector\b|\bhead\b|\bgeneral manager\b|\bchief of staff\b"),
    ("manager", r"\bmanager\b|\bsupervisor\b|\bteam lead(er)?\b|\bforeman\b"),
    ("individual_contributor",
     r"\b(engineer|developer|analyst|representative|executive|assistant|specialist|consultant"
     r"|coordinator|associate|designer|scientist|administrator|accountant|architect|officer|agent"
     r"|advisor|adviser|technician|intern|trainee|recruiter|writer|editor|strategist|lead|programmer"
     r"|tester|planner|buyer|controller|clerk|partner|counsel|attorney|lawyer|paralegal|nurse"
     r"|teacher|researcher|receptionist|secretary|operator|auditor|bookkeeper|owner)\b"),
)  # fmt: skip
FUNCTION_RULES: tuple[tuple[str, str], ...] = (
    ("it", r"\bit\b|information technology|information officer|\bcio\b|information security|\bciso\b"
           r"|system administrator|systems administrator|sysadmin|help ?desk|network"),
    ("hr", r"human resources|\bhr\b|\bpeople\b|talent|recruit|payroll|compensation|benefits|\bchro\b"),
    ("legal", r"legal|counsel|attorney|lawyer|paralegal|compliance"),
    ("finance", r"financ|accounting|accountant|controller|treasur|fp&a|audit|\btax\b|bookkeep"
                r"|investor relations|\bcfo\b"),
    ("data", r"\bdata\b|analytics|business intelligence|\bbi\b|machine learning|\bml\b|\bai\b"),
    ("design", r"design|\bux\b|\bui\b|creative|\bart director\b"),
    ("customer_success", r"customer success|customer support|customer service|customer experience"
                         r"|client success|\bsupport\b|onboarding|implementation"),
    ("marketing", r"marketing|\bbrand\b|content|\bseo\b|growth|communications|\bpr\b|public relations"
                  r"|demand generation|\bcmo\b"),
    ("product", r"\bproduct\b"),
    ("operations", r"revenue operations|operations|operating officer|procurement|purchasing"
                   r"|supply chain|logistics|facilities|\bcoo\b"),
    ("sales", r"sales|account executive|account manager|business development|\bsdr\b|\bbdr\b|revenue"
              r"|partnerships|channel"),
    ("engineering", r"engineer|developer|software|technology|technical|devops|architect|\bqa\b"
                    r"|\bcto\b|programmer"),
    ("executive", r"chief executive|\bceo\b|president|managing director|founder|owner|general manager"
                  r"|chair(man|woman|person)?|chief of staff"),
)  # fmt: skip
_SENIORITY = tuple((label, re.compile(pattern)) for label, pattern in SENIORITY_RULES)
_FUNCTION = tuple((label, re.compile(pattern)) for label, pattern in FUNCTION_RULES)

# Words that make a following "Eng" or "Dev" name a function (Engineering), not a role (Engineer).
_FUNCTION_SLOT = frozenset({"vp", "vice", "svp", "evp", "avp", "dir", "director", "head", "hd", "of"})
_FINANCIAL_BEFORE = frozenset(
    {"analyst", "advisor", "adviser", "planner", "planning", "controller", "analysis"}
)
_MANAGING_BEFORE = frozenset({"director", "dir", "partner", "editor", "consultant"})

_SPACES = re.compile(r" +")
_ALLOWED_PUNCTUATION = frozenset(",.-–—/&'’()+#:|@!?\"·")
_FORMULA_START = "=+-@"
_WORD = re.compile(r"[^\W_](?:[\w&'’+#]|[.\-](?=[^\W_]))*\.?")
_DOTTED = re.compile(r"(?:[a-z]\.)+[a-z]\.?")
_VOWELS = frozenset("aeiou")
_COMMA = re.compile(r"\s*,\s*")
_ENDS = ",;:/|-–— "
_FULL_STOP = re.compile(r"[^\W\d_]{5,}\.$")

_F = "|".join(re.escape(f) for f in FUNCTIONS)
_FUNCS = rf"(?:{_F})(?:\s*(?:,|&|and)\s*(?:{_F}))*"
_MODS = (
    r"(?P<mod>(?:(?:Senior|Executive|Assistant|Associate|Deputy|Regional|Group|Global|Area|Corporate"
    r"|Interim|Acting|Junior)\s+)*)"
)
_SEP = r"\s*[,:\-–—]\s*"
_NOT_CONJUNCTION = r"(?!(?:and|&|or|/|\()(?:\b|\s|$))"
_ROLES = r"Manager|Analyst|Engineer|Specialist|Coordinator|Consultant|Representative|Administrator|Architect|Scientist|Designer|Developer|Assistant"
# (pattern, replacement template), tried in order: "Vice President, <Function>", "Director of
# <Function>", "Head of <Function>", and "<Function> <Role>" for other roles (Manager, Procurement).
WORD_ORDER_RULES: tuple[tuple[str, str], ...] = (
    (rf"^{_MODS}Vice President(?:{_SEP}(?:of\s+)?|\s+of\s+|\s+){_NOT_CONJUNCTION}(?P<rest>[^\W_].*)$",
     "{mod}Vice President, {rest}"),
    (rf"^{_MODS}(?P<rest>{_FUNCS})\s+Vice President$", "{mod}Vice President, {rest}"),
    (rf"^{_MODS}(?P<role>Director|Head)(?:{_SEP}(?:of\s+)?|\s+of\s+){_NOT_CONJUNCTION}(?P<rest>[^\W_].*)$",
     "{mod}{role} of {rest}"),
    (rf"^{_MODS}(?P<role>Director|Head)\s+(?P<rest>{_FUNCS})$", "{mod}{role} of {rest}"),
    (rf"^{_MODS}(?P<rest>{_FUNCS})\s+(?P<role>Director|Head)$", "{mod}{role} of {rest}"),
    (rf"^(?P<role>{_ROLES})\s*,\s*(?!.*\b(?:President|Director|Head|Chief)\b)(?P<rest>[^\W\d_][^,()]*)$",
     "{rest} {role}"),
    (rf"^(?P<role>Manager)\s+of\s+(?P<rest>{_FUNCS})$", "{rest} {role}"),
)  # fmt: skip
_WORD_ORDER = tuple((re.compile(p, re.IGNORECASE), r) for p, r in WORD_ORDER_RULES)
SYNONYMS: dict[str, str] = {
    "chief finance officer": "Chief Financial Officer",
    "chief operations officer": "Chief Operating Officer",
    "chief technical officer": "Chief Technology Officer",
}
_SYNONYMS = re.compile("|".join(rf"\b{re.escape(k)}\b" for k in SYNONYMS), re.IGNORECASE)
_INFORMATION_TECHNOLOGY = re.compile(r"\bInformation Technology\b", re.IGNORECASE)


def normalize_titles(values: pd.Series) -> pd.DataFrame:
    """Canonical job titles with seniority and function (see the module doc)."""
    return per_distinct(values, normalize_title, COLUMNS)


def normalize_title(text: str) -> Result:
    """One row of `normalize_titles` for a title as typed."""
    cleaned, steps = _clean(text)
    if not cleaned:
        return missing(EXTRA_COLUMNS)  # nothing but control characters and blanks
    reason = _invalid_reason(cleaned)
    if reason is not None:
        return invalid(reason, EXTRA_COLUMNS)
    value = _canonical(cleaned, steps)
    reason = _invalid_reason(value)  # ",@x": a separator stripped from the front uncovers a formula
    if reason is not None:
        return invalid(reason, EXTRA_COLUMNS)
    rule, confidence = min(steps, key=lambda step: step[1]) if steps else PUNCTUATION
    return changed(text, value, rule, confidence, seniority=seniority(value), function=function(value))


def seniority(title: str) -> str:
    """The seniority of a canonical title by SENIORITY_RULES; "unknown" when no rule matches."""
    lower = title.lower()
    return next((label for label, pattern in _SENIORITY if pattern.search(lower)), "unknown")


def function(title: str) -> str:
    """The function of a canonical title by FUNCTION_RULES; "other" when no rule matches."""
    lower = title.lower()
    return next((label for label, pattern in _FUNCTION if pattern.search(lower)), "other")


def _clean(raw: str) -> tuple[str, list[Step]]:
    return tidy(raw, unicode=UNICODE, control=CONTROL, whitespace=WHITESPACE)


def _invalid_reason(text: str) -> str | None:
    if not text:
        return "no letters"
    if len(text) > MAX_TITLE_CHARS:
        return f"{len(text)} characters: longer than a job title"
    if text[0] in _FORMULA_START:
        return f"starts with {text[0]!r}: looks like a spreadsheet formula"
    letters = False
    others: list[str] = []
    for ch in text:
        category = unicodedata.category(ch)
        if category[0] == "L":
            letters = True
        elif category[0] in "MN" or ch == " " or ch in _ALLOWED_PUNCTUATION:
            continue
        elif ch not in others:
            others.append(ch)
    if not letters:
        return "no letters"
    if others:
        return "contains characters no job title uses: " + " ".join(repr(ch) for ch in others[:5])
    return None


def _canonical(text: str, steps: list[Step]) -> str:
    """The canonical spelling of a cleaned, valid title; the rules used are added to `steps`."""
    words = [m.group() for m in _WORD.finditer(text)]
    gaps = _WORD.split(text)  # the text around the words: len(words) + 1 pieces
    if not words:
        return text
    single_case = _single_case(text)
    keys = [_key(word) for word in words]
    out: list[str] = []
    for i, word in enumerate(words):
        expanded = _expand(keys, i, word, single_case, steps)
        out.append(expanded if expanded is not None else _cased(word, keys[i], i, text, single_case, steps))
    joined = _join(out, gaps, steps)
    return _word_order(joined, steps)


def _key(word: str) -> str:
    lower = word.lower()
    return lower.replace(".", "") if _DOTTED.fullmatch(lower) else lower.rstrip(".")


def _expand(keys: list[str], i: int, word: str, single_case: bool, steps: list[Step]) -> str | None:
    """The spelled-out form of the word at `i`, or None when it is not an abbreviation."""
    key = keys[i]
    following = keys[i + 1] if i + 1 < len(keys) else None
    expansion: str | None = None
    step = ABBREVIATION
    if key in ABBREVIATIONS:
        expansion = ABBREVIATIONS[key]
    elif key in ACRONYMS:
        expansion, step = ACRONYMS[key], ACRONYM
    elif key in CAPITAL_ACRONYMS and (word.replace(".", "").isupper() or (single_case and word.islower())):
        expansion, step = CAPITAL_ACRONYMS[key]
    elif key in ("eng", "dev"):
        as_function = following is not None or any(k in _FUNCTION_SLOT for k in keys[:i])
        expansion = {
            ("eng", False): "Engineer", ("eng", True): "Engineering",
            ("dev", False): "Developer", ("dev", True): "Development",
        }[key, as_function]  # fmt: skip
    elif key == "fin":
        expansion = "Financial" if following in _FINANCIAL_BEFORE else "Finance"
    elif key == "mng":
        expansion = "Managing" if following in _MANAGING_BEFORE else "Manager"
    elif key == "rev" and following in ("ops", "operations"):
        expansion = "Revenue"
    elif key == "bus" and (word.endswith(".") or following in ("dev", "development")):
        expansion = "Business"
    if expansion is None:
        return None
    steps.append(step)
    return expansion


def _cased(word: str, key: str, i: int, text: str, single_case: bool, steps: list[Step]) -> str:
    """The word in title case when the whole title was typed in one case; else as typed."""
    if not single_case:
        return word
    if key in KEEP_AS:
        cased = KEEP_AS[key] + ("." if word.endswith(".") and not KEEP_AS[key].endswith(".") else "")
    elif key in SMALL_WORDS and i > 0:
        cased = word.lower()
    elif text.isupper() and len(key) <= 4 and key.isalpha() and not _VOWELS & set(key):
        cased = word  # NYC, CRM: an unknown acronym typed in capitals stays in capitals
    else:
        cased = "-".join(_capitalize(piece) for piece in word.split("-"))
    if cased != word and CASE not in steps:
        steps.append(CASE)
    return cased


def _capitalize(word: str) -> str:
    # Per letter, so letters whose case changes their length (ß, İ) keep their own.
    first = word[:1].upper()
    rest = "".join(ch if len(low := ch.lower()) != 1 else low for ch in word[1:])
    return (first if len(first) == 1 else word[:1]) + rest


def _single_case(text: str) -> bool:
    latin = all(ord(ch) < 0x250 or 0x1E00 <= ord(ch) <= 0x1EFF for ch in text if ch.isalpha())
    return latin and (text == text.upper() or text == text.lower())


def _join(words: list[str], gaps: list[str], steps: list[Step]) -> str:
    """Words and the text between them, commas followed by one blank, no separator at the ends."""
    as_typed = gaps[0] + "".join(w + g for w, g in zip(words, gaps[1:], strict=True))
    text = _COMMA.sub(", ", as_typed.strip(_ENDS))
    if _FULL_STOP.search(text):
        text = text[:-1]  # "Sales Manager." (a period after an abbreviation, "Co.", stays)
    if text != as_typed:
        steps.append(PUNCTUATION)
    return text


def _word_order(text: str, steps: list[Step]) -> str:
    contracted = _INFORMATION_TECHNOLOGY.sub("IT", text)
    if contracted != text:
        steps.append(ABBREVIATION)
    text = contracted
    synonym = _SYNONYMS.sub(lambda m: SYNONYMS[m.group().lower()], text)
    if synonym != text:
        steps.append(SYNONYM)
    text = synonym
    # Until nothing changes, so that the result is in canonical order itself; a few passes at most.
    for _ in range(len(_WORD_ORDER)):
        rewritten = _reorder(text)
        if rewritten == text:
            break
        if WORD_ORDER not in steps:
            steps.append(WORD_ORDER)
        text = rewritten
    return text


def _reorder(text: str) -> str:
    for pattern, template in _WORD_ORDER:
        if match := pattern.match(text):
            groups = {k: v or "" for k, v in match.groupdict().items()}
            return _SPACES.sub(" ", template.format(**groups)).strip()
    return text
