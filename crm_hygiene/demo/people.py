"""People and how their names end up in a CRM: wrong case, nicknames, honorifics, stray blanks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crm_hygiene.demo.mess import RecordBatch
from crm_hygiene.demo.pools import COUNTRIES, NATIVE_LOCALES, Pools
from crm_hygiene.demo.vectors import Strings, choose, isnone, nones, str_method, strings, typos, whitespace

# Formal given name -> the short forms people sign with.
NICKNAMES: dict[str, tuple[str, ...]] = {
    "William": ("Bill", "Will", "Billy"),
    "Robert": ("Bob", "Rob", "Bobby"),
    "Elizabeth": ("Liz", "Beth", "Betty", "Lisa"),
    "James": ("Jim", "Jimmy", "Jamie"),
    "Richard": ("Rick", "Rich", "Dick"),
    "Michael": ("Mike", "Mikey"),
    "Christopher": ("Chris",),
    "Jennifer": ("Jen", "Jenny"),
    "Katherine": ("Kate", "Kathy", "Katie"),
    "Catherine": ("Cathy", "Kate"),
    "Margaret": ("Maggie", "Peggy", "Meg"),
    "Thomas": ("Tom", "Tommy"),
    "Joseph": ("Joe", "Joey"),
    "Daniel": ("Dan", "Danny"),
    "Matthew": ("Matt",),
    "Anthony": ("Tony",),
    "Nicholas": ("Nick",),
    "Andrew": ("Andy", "Drew"),
    "Jonathan": ("Jon",),
    "Edward": ("Ed", "Eddie", "Ted"),
    "Samuel": ("Sam",),
    "Benjamin": ("Ben",),
    "Alexander": ("Alex",),
    "Patricia": ("Pat", "Patty", "Trish"),
    "Susan": ("Sue", "Susie"),
    "Deborah": ("Deb", "Debbie"),
    "Rebecca": ("Becky", "Becca"),
    "Jessica": ("Jess",),
    "Steven": ("Steve",),
    "Stephen": ("Steve",),
    "Timothy": ("Tim",),
    "Gregory": ("Greg",),
    "Kenneth": ("Ken", "Kenny"),
    "Ronald": ("Ron",),
    "Donald": ("Don",),
    "Charles": ("Charlie", "Chuck"),
    "Christine": ("Chris", "Chrissy"),
    "Victoria": ("Vicky", "Tori"),
    "Samantha": ("Sam",),
    "Abigail": ("Abby",),
    "Alexandra": ("Alex", "Sasha"),
    "Zachary": ("Zach",),
    "Jeffrey": ("Jeff",),
    "Joshua": ("Josh",),
    "Nathaniel": ("Nate", "Nathan"),
    "Frederick": ("Fred",),
    "Lawrence": ("Larry",),
    "Raymond": ("Ray",),
    "Peter": ("Pete",),
    "David": ("Dave",),
    "Johannes": ("Hans", "Jan"),
    "Katharina": ("Kathi", "Katja"),
    "Elisabeth": ("Lisa", "Sissi"),
    "Wolfgang": ("Wolf",),
    "Francisco": ("Chico",),
    "José": ("Zé",),
    "Cornelis": ("Kees",),
    "Gabriel": ("Gabe",),
    "Maximilian": ("Max",),
}
HONORIFICS_MALE: tuple[str, ...] = ("Mr ", "Mr. ", "Dr. ", "Dr ", "Prof. ", "Herr ", "M. ")
HONORIFICS_FEMALE: tuple[str, ...] = ("Ms ", "Ms. ", "Mrs. ", "Dr. ", "Dr ", "Prof. ", "Frau ", "Mme ")
NAME_SUFFIXES: tuple[str, ...] = (" Jr.", " Jr", " Sr.", " III", ", PhD", " MBA", " II")


@dataclass(frozen=True)
class People:
    """Persons (the true entities behind contact records): country, gender, script and name."""

    country: np.ndarray  # index into COUNTRIES
    female: np.ndarray
    given: np.ndarray  # index into pools.given
    family: np.ndarray  # index into pools.family
    first_name: Strings
    last_name: Strings

    def __len__(self) -> int:
        return len(self.country)

    def take(self, rows: np.ndarray) -> People:
        return People(
            self.country[rows],
            self.female[rows],
            self.given[rows],
            self.family[rows],
            self.first_name[rows],
            self.last_name[rows],
        )


def draw_people(pools: Pools, rng: np.random.Generator, country: np.ndarray) -> People:
    """Persons of the given countries; some in India and Japan are written in their own script."""
    n = len(country)
    female = rng.random(n) < 0.45
    given = pools.given.draw(rng, country * 2 + female)
    family = pools.family.draw(rng, country)
    native_countries = [COUNTRIES.index(code) for code in NATIVE_LOCALES]
    native = np.isin(country, native_countries) & (rng.random(n) < 0.35)
    first_name = np.where(native, pools.given.native[given], pools.given.latin[given])
    last_name = np.where(native, pools.family.native[family], pools.family.latin[family])
    return People(country, female, given, family, first_name, last_name)


def _nickname_table(given_names: Strings) -> tuple[Strings, np.ndarray]:
    """Per distinct pool entry, its nicknames (padded with None) and how many there are."""
    width = max(len(v) for v in NICKNAMES.values())
    table = np.full((len(given_names), width), None, dtype=object)
    count = np.zeros(len(given_names), dtype=np.int64)
    for i, name in enumerate(given_names):
        short = NICKNAMES.get(name, ())
        table[i, : len(short)] = short
        count[i] = len(short)
    return table, count


CONTROL_CHARACTERS = ("\x0c", "\x00", "\x1b")


def render_names(people: People, pools: Pools, batch: RecordBatch) -> tuple[Strings, Strings]:
    """Stored first and last names of contact records (`people` already indexed per record)."""
    rng = batch.rng
    table, count = _nickname_table(pools.given.latin)
    first_true, last_true = people.first_name, people.last_name
    # Case mistakes come from one typist (caps lock on), so they hit both names of a record.
    case = batch.mess({"upper": (0.04, 0.07), "lower": (0.04, 0.06)})
    first_kind = batch.mess(
        {
            "nickname": (0.06, 0.15),
            "whitespace": (0.03, 0.04),
            "honorific": (0.02, 0.03),
            "full_name": (0.01, 0.02),
            "initial": (0.01, 0.03),
            "typo": (0.0, 0.10),
            "missing": (0.02, 0.04),
            "control_character": (0.002, 0.004),
        }
    )
    last_kind = batch.mess(
        {"whitespace": (0.02, 0.03), "suffix": (0.01, 0.01), "typo": (0.0, 0.10), "missing": (0.01, 0.03)}
    )
    has_nick = (count[people.given] > 0) & (first_true == pools.given.latin[people.given])
    first_kind[(first_kind == "nickname") & ~has_nick] = None

    first = first_true.copy()
    rows = np.flatnonzero(first_kind == "nickname")
    g = people.given[rows]
    first[rows] = table[g, (rng.random(len(rows)) * count[g]).astype(np.int64)]
    rows = first_kind == "typo"
    first[rows] = typos(first_true[rows], rng)
    rows = np.flatnonzero(first_kind == "initial")
    first[rows] = str_method(first_true[rows], "slice", 0, 1) + choose(rng.random(len(rows)) < 0.6, ".", "")

    last = last_true.copy()
    rows = last_kind == "typo"
    last[rows] = typos(last_true[rows], rng)
    rows = last_kind == "suffix"
    last[rows] = (
        last_true[rows] + strings(NAME_SUFFIXES)[rng.integers(0, len(NAME_SUFFIXES), int(rows.sum()))]
    )

    for kind in ("upper", "lower"):
        rows = case == kind
        first[rows] = str_method(first[rows], kind)
        last[rows] = str_method(last[rows], kind)
        first_kind[rows & isnone(first_kind)] = kind
        last_kind[rows & isnone(last_kind)] = kind

    rows = np.flatnonzero(first_kind == "honorific")
    titles = np.where(
        people.female[rows],
        strings(HONORIFICS_FEMALE)[rng.integers(0, len(HONORIFICS_FEMALE), len(rows))],
        strings(HONORIFICS_MALE)[rng.integers(0, len(HONORIFICS_MALE), len(rows))],
    )
    first[rows] = titles + first[rows]
    # The whole name typed into the first-name box, the last-name box left empty.
    rows = first_kind == "full_name"
    first[rows] = first[rows] + " " + last[rows]
    last[rows] = None
    last_kind[rows] = "full_name"
    for stored, kinds in ((first, first_kind), (last, last_kind)):
        rows = kinds == "whitespace"
        stored[rows] = whitespace(stored[rows], rng)
        stored[kinds == "missing"] = None
    # Pasted from a PDF or a terminal: a form feed, NUL or escape rides along with the name.
    rows = first_kind == "control_character"
    first[rows] = (
        first[rows] + strings(CONTROL_CHARACTERS)[rng.integers(0, len(CONTROL_CHARACTERS), int(rows.sum()))]
    )
    batch.record("first_name", first_true, first, first_kind, default_kind="variant")
    batch.record("last_name", last_true, last, last_kind, default_kind="variant")
    return first, last


def full_names(first: Strings, last: Strings) -> Strings:
    """Display names "First Last" (for e-mail display names); None where a part is missing."""
    out = nones(len(first))
    both = ~isnone(first) & ~isnone(last)
    out[both] = first[both] + " " + last[both]
    return out
