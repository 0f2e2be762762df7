"""Job titles by seniority, and the abbreviations people type instead of them."""

from __future__ import annotations

import numpy as np

from crm_hygiene.demo.mess import RecordBatch
from crm_hygiene.demo.vectors import Strings, str_method, strings, weighted_choice

# Canonical title -> ways it is written (with rough weights); the canonical spelling is among them.
TITLE_VARIANTS: dict[str, tuple[tuple[str, float], ...]] = {
    "Chief Executive Officer": (("CEO", 45), ("Chief Executive Officer", 25), ("C.E.O.", 3), ("ceo", 3),
                                ("Chief Exec. Officer", 2), ("CEO & Co-Founder", 5)),
    "Managing Director": (("Managing Director", 50), ("MD", 15), ("Managing Dir.", 10), ("Mng. Director", 5)),
    "President": (("President", 80), ("Pres.", 10), ("president", 5)),
    "Chief Technology Officer": (("CTO", 55), ("Chief Technology Officer", 35), ("C.T.O.", 3)),
    "Chief Financial Officer": (("CFO", 55), ("Chief Financial Officer", 35), ("Chief Finance Officer", 5)),
    "Chief Operating Officer": (("COO", 50), ("Chief Operating Officer", 40), ("Chief Operations Officer", 5)),
    "Chief Revenue Officer": (("CRO", 50), ("Chief Revenue Officer", 45)),
    "Vice President, Sales": (("VP Sales", 30), ("Vice President, Sales", 15), ("VP of Sales", 15), ("VP, Sales", 10),
                              ("V.P. Sales", 5), ("Vice President of Sales", 10), ("vp sales", 3), ("SVP Sales", 3)),
    "Vice President, Marketing": (("VP Marketing", 35), ("Vice President, Marketing", 15), ("VP of Marketing", 15),
                                  ("VP Mktg", 5), ("Vice President Marketing", 10)),
    "Vice President, Engineering": (("VP Engineering", 35), ("VP of Engineering", 20), ("VP Eng.", 10),
                                    ("Vice President, Engineering", 15), ("VPE", 3)),
    "Director of Marketing": (("Marketing Director", 30), ("Director of Marketing", 30), ("Dir. Marketing", 10),
                              ("Director, Marketing", 15), ("Mktg Director", 5)),
    "Director of Sales": (("Sales Director", 35), ("Director of Sales", 30), ("Dir. of Sales", 10),
                          ("Director, Sales", 15)),
    "Director of Operations": (("Director of Operations", 35), ("Operations Director", 30), ("Dir. Ops", 10),
                               ("Ops Director", 10)),
    "Head of Procurement": (("Head of Procurement", 50), ("Procurement Head", 10), ("Head of Purchasing", 15),
                            ("Hd. Procurement", 5)),
    "Head of IT": (("Head of IT", 55), ("IT Head", 10), ("Head of Information Technology", 15), ("IT Director", 10)),
    "Senior Software Engineer": (("Senior Software Engineer", 40), ("Sr. Software Engineer", 20),
                                 ("Sr Software Engineer", 10), ("Sr. Software Eng.", 10), ("Snr. Software Engineer", 5),
                                 ("Senior SWE", 5)),
    "Software Engineer": (("Software Engineer", 60), ("Software Eng.", 10), ("SWE", 10), ("Software Dev", 5),
                          ("software engineer", 5)),
    "Account Executive": (("Account Executive", 55), ("AE", 15), ("Account Exec", 15), ("Acct. Executive", 10)),
    "Sales Development Representative": (("Sales Development Representative", 35), ("SDR", 35),
                                         ("Sales Development Rep", 15), ("Sales Dev. Rep.", 10)),
    "Product Manager": (("Product Manager", 65), ("PM", 10), ("Product Mgr.", 10), ("Product Mgr", 10)),
    "Marketing Manager": (("Marketing Manager", 65), ("Marketing Mgr", 15), ("Mktg Manager", 10), ("Mktg. Mgr.", 5)),
    "Procurement Manager": (("Procurement Manager", 60), ("Procurement Mgr", 20), ("Mgr, Procurement", 10),
                            ("Purchasing Manager", 10)),
    "Operations Manager": (("Operations Manager", 60), ("Ops Manager", 20), ("Operations Mgr.", 10), ("Ops Mgr", 5)),
    "Customer Success Manager": (("Customer Success Manager", 55), ("CSM", 20), ("Cust. Success Mgr", 10),
                                 ("Customer Success Mgr", 10)),
    "Data Analyst": (("Data Analyst", 85), ("data analyst", 5), ("Analyst, Data", 5)),
    "Senior Data Analyst": (("Senior Data Analyst", 55), ("Sr. Data Analyst", 30), ("Sr Data Analyst", 15)),
    "Human Resources Manager": (("HR Manager", 50), ("Human Resources Manager", 30), ("HR Mgr", 15)),
    "Executive Assistant": (("Executive Assistant", 60), ("EA", 10), ("Exec. Assistant", 20), ("Exec Asst", 5)),
    "Revenue Operations Manager": (("Revenue Operations Manager", 35), ("RevOps Manager", 35),
                                   ("Rev Ops Mgr", 15), ("RevOps Mgr", 10)),
    "Financial Analyst": (("Financial Analyst", 75), ("Fin. Analyst", 15), ("Finance Analyst", 10)),
}  # fmt: skip

HEAD_TITLES: tuple[str, ...] = ("Chief Executive Officer", "Managing Director", "President")
MANAGER_TITLES: tuple[str, ...] = (
    "Chief Technology Officer", "Chief Financial Officer", "Chief Operating Officer", "Chief Revenue Officer",
    "Vice President, Sales", "Vice President, Marketing", "Vice President, Engineering", "Director of Marketing",
    "Director of Sales", "Director of Operations", "Head of Procurement", "Head of IT",
)  # fmt: skip
STAFF_TITLES: tuple[str, ...] = tuple(t for t in TITLE_VARIANTS if t not in HEAD_TITLES + MANAGER_TITLES)
_ALL = strings(list(TITLE_VARIANTS))


def draw_titles(rng: np.random.Generator, level: np.ndarray) -> np.ndarray:
    """A canonical title per person (index into TITLE_VARIANTS) fitting the level: 0 head, 1 manager, 2 staff."""
    out = np.zeros(len(level), dtype=np.int64)
    for lvl, titles in enumerate((HEAD_TITLES, MANAGER_TITLES, STAFF_TITLES)):
        rows = np.flatnonzero(level == lvl)
        index = np.asarray([list(TITLE_VARIANTS).index(t) for t in titles])
        out[rows] = index[rng.integers(0, len(index), len(rows))]
    return out


def canonical_titles(title: np.ndarray) -> Strings:
    return _ALL[title]


def write_titles(title: np.ndarray, rng: np.random.Generator) -> Strings:
    """Each title written one of the ways people write it."""
    out = strings([""] * len(title))
    for i, variants in enumerate(TITLE_VARIANTS.values()):
        rows = np.flatnonzero(title == i)
        spellings = strings([s for s, _ in variants])
        out[rows] = spellings[weighted_choice(rng, [w for _, w in variants], len(rows))]
    return out


def render_titles(
    true: np.ndarray, shown: np.ndarray, batch: RecordBatch, missing: tuple[float, float]
) -> Strings:
    """Stored titles: `shown` is the title the record shows (an old one for stale records), `true` the current."""
    kinds = batch.mess({"missing": missing, "upper": (0.02, 0.03), "lower": (0.01, 0.02)})
    stored = write_titles(shown, batch.rng)
    for kind in ("upper", "lower"):
        rows = kinds == kind
        stored[rows] = str_method(stored[rows], kind)
    stale = (shown != true) & (kinds != "missing")
    kinds[stale] = "stale_employer"
    stored[kinds == "missing"] = None
    batch.record("title", canonical_titles(true), stored, kinds, default_kind="abbreviation")
    return stored
