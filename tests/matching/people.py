"""Small generated files of people with known truth, one per failure class of deduplication.

Every person has a first and last name, a date of birth, a home address (street and
postcode), a home phone and sometimes an e-mail address; each has one to three records. The
options choose what makes a set hard:

- `every_duplicate_errs`: every record after a person's first carries an error in the first
  name, the last name or the date of birth, so no duplicate pair agrees exactly on the
  columns the deterministic rules read;
- `households`: people live together in households of two to four relatives, who share the
  last name, the address and the home phone and differ in first name and date of birth;
- `date_errors`: the date of birth of a duplicate is mistyped the way dates are: one digit
  off, or day and month swapped.

Names come from fixed lists, spread wide enough that namesakes are rare but do occur.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

FIRST = [
    "aaron",
    "abigail",
    "adam",
    "adrian",
    "agnes",
    "aidan",
    "alan",
    "albert",
    "alice",
    "amber",
    "amelia",
    "andrea",
    "angela",
    "anita",
    "anton",
    "arthur",
    "astrid",
    "audrey",
    "barbara",
    "basil",
    "beatrice",
    "benedict",
    "bernard",
    "bianca",
    "boris",
    "brenda",
    "bruno",
    "caleb",
    "camille",
    "carmen",
    "caroline",
    "cecil",
    "celia",
    "charlotte",
    "chester",
    "clara",
    "claude",
    "colin",
    "cora",
    "cyril",
    "daisy",
    "damian",
    "daphne",
    "darius",
    "deborah",
    "denise",
    "derek",
    "diana",
    "dominic",
    "doris",
    "dorothy",
    "edgar",
    "edith",
    "edmund",
    "eileen",
    "elaine",
    "eleanor",
    "elias",
    "elsa",
    "emil",
    "enid",
    "erica",
    "ernest",
    "esther",
    "eugene",
    "evelyn",
    "fabian",
    "felix",
    "fiona",
    "florence",
    "floyd",
    "frances",
    "gareth",
    "gemma",
    "gerald",
    "gilbert",
    "gloria",
    "gordon",
    "grace",
    "gregory",
    "greta",
    "harold",
    "harriet",
    "hector",
    "helena",
    "herbert",
    "hilda",
    "horace",
    "hugo",
    "ida",
    "imogen",
    "ingrid",
    "irene",
    "isaac",
    "ivan",
    "jasper",
    "jemima",
    "jerome",
    "joanna",
    "josephine",
    "judith",
    "julian",
    "justine",
    "keith",
    "kenneth",
    "lavinia",
    "leonard",
    "leopold",
    "lillian",
    "lionel",
    "lorna",
    "lucius",
    "lydia",
    "magnus",
    "malcolm",
    "marcel",
    "margot",
    "marian",
    "marvin",
    "matilda",
    "maurice",
    "maxine",
    "melvin",
    "mildred",
    "miriam",
    "morgan",
    "muriel",
    "nadia",
    "nigel",
    "noel",
    "norma",
    "octavia",
    "olga",
    "oscar",
    "otto",
    "pamela",
    "percival",
    "phoebe",
    "quentin",
    "rachel",
    "reginald",
    "rhoda",
    "rosalind",
    "rufus",
    "sabrina",
    "selma",
    "sidney",
    "silvia",
    "stanley",
    "stella",
    "sylvia",
    "thea",
    "theodore",
    "tobias",
    "ursula",
    "valentin",
    "vera",
    "victor",
    "violet",
    "walter",
    "wendy",
    "wilfred",
    "winifred",
    "xavier",
    "yvonne",
    "zachary",
    "zelda",
]
LAST = [
    "abbott",
    "acheson",
    "adair",
    "ainsworth",
    "albright",
    "aldridge",
    "ashby",
    "atherton",
    "babcock",
    "bainbridge",
    "balfour",
    "barnaby",
    "bateman",
    "beckett",
    "bellamy",
    "birkett",
    "blackwood",
    "blythe",
    "bosworth",
    "bramwell",
    "brinkley",
    "brockway",
    "buckley",
    "burnham",
    "calloway",
    "carrington",
    "cartwright",
    "chadwick",
    "chamberlain",
    "chesterton",
    "clayborne",
    "colfax",
    "coventry",
    "crawley",
    "cromwell",
    "dalton",
    "darnell",
    "davenport",
    "dempsey",
    "draycott",
    "dunmore",
    "eastwood",
    "edgeworth",
    "ellington",
    "fairfax",
    "falconer",
    "farnsworth",
    "fenwick",
    "fitzroy",
    "fletcher",
    "fordham",
    "gainsborough",
    "galloway",
    "garrick",
    "gillespie",
    "goodwin",
    "grantham",
    "greaves",
    "hadley",
    "halloway",
    "hargreaves",
    "hartley",
    "hathaway",
    "hawthorne",
    "heathcote",
    "hennessy",
    "holloway",
    "hornsby",
    "huxley",
    "ingram",
    "jardine",
    "keating",
    "kendrick",
    "kingsley",
    "lancaster",
    "langley",
    "latimer",
    "lockhart",
    "lyndon",
    "mallory",
    "marlowe",
    "merriweather",
    "montague",
    "mortimer",
    "northcott",
    "oakley",
    "ormsby",
    "pemberton",
    "pendleton",
    "prescott",
    "quimby",
    "radcliffe",
    "ravenscroft",
    "rochester",
    "rutherford",
    "salisbury",
    "sedgwick",
    "sheffield",
    "sinclair",
    "stanhope",
    "thackeray",
    "thornbury",
    "treadwell",
    "underhill",
    "vance",
    "wakefield",
    "waverley",
    "whitcombe",
    "winslow",
    "wolcott",
    "yardley",
]
STREETS = [
    "acacia avenue",
    "baker street",
    "cherry lane",
    "dover road",
    "elm grove",
    "fern close",
    "garden row",
    "harbour view",
    "ivy crescent",
    "juniper way",
    "kings road",
    "laurel drive",
    "mill lane",
    "north street",
    "orchard place",
    "park avenue",
    "queens walk",
    "river road",
    "station road",
    "tower hill",
]
DOMAINS = ("mail.example", "post.example", "inbox.example")


@dataclass(frozen=True)
class People:
    """A generated file and its truth column."""

    table: pd.DataFrame  # id, first_name, surname, dob, street, postcode, phone, email, person
    truth: str = "person"

    def csv(self, path: str) -> str:
        self.table.to_csv(path, index=False)
        return path


def _typo(rng: np.random.Generator, word: str) -> str:
    """One edit a hand makes: a letter dropped, doubled, replaced or two swapped."""
    if len(word) < 4:
        return word + word[-1]
    i = int(rng.integers(1, len(word) - 1))
    kind = int(rng.integers(4))
    if kind == 0:
        return word[:i] + word[i + 1 :]
    if kind == 1:
        return word[:i] + word[i] + word[i:]
    if kind == 2:
        letter = "aeiou"[int(rng.integers(5))] if word[i] not in "aeiou" else "rstln"[int(rng.integers(5))]
        return word[:i] + letter + word[i + 1 :]
    return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]


def _date_typo(rng: np.random.Generator, dob: str) -> str:
    """Day and month swapped (where both readings are dates), or one digit of the year, month
    or day off by one."""
    year, month, day = (int(part) for part in dob.split("-"))
    if day <= 12 and day != month and rng.random() < 0.5:
        return f"{year:04d}-{day:02d}-{month:02d}"
    which = int(rng.integers(3))
    if which == 0:
        year += 1 if year % 10 < 9 else -1
    elif which == 1:
        month += 1 if month % 10 < 9 and month < 12 else -1
    else:
        day += 1 if day % 10 < 9 and day < 28 else -1
    return f"{year:04d}-{month:02d}-{day:02d}"


def people(
    persons: int = 600,
    *,
    seed: int = 3,
    every_duplicate_errs: bool = False,
    households: bool = False,
    date_errors: bool = False,
    email_share: float = 0.3,
) -> People:
    """One to three records per person (see the module docstring for the options)."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, str | None]] = []
    person = 0
    while person < persons:
        size = int(rng.choice([2, 3, 4])) if households else 1
        last = str(rng.choice(LAST))
        street = f"{int(rng.integers(1, 200))} {rng.choice(STREETS)}"
        postcode = f"{rng.choice(list('ABCDEFGH'))}{int(rng.integers(1, 30))} {int(rng.integers(1, 9))}{rng.choice(list('ABDEFG'))}{rng.choice(list('HJLNPQ'))}"
        phone = f"+4420{int(rng.integers(10_000_000, 99_999_999))}"
        firsts = rng.choice(FIRST, size=size, replace=False)
        for first in firsts:
            if person >= persons:
                break
            surname = last if households else str(rng.choice(LAST))
            year, month, day = (
                int(rng.integers(1940, 2000)),
                int(rng.integers(1, 13)),
                int(rng.integers(1, 29)),
            )
            dob = f"{year:04d}-{month:02d}-{day:02d}"
            email = (
                f"{first}.{surname}{int(rng.integers(10, 99))}@{rng.choice(DOMAINS)}"
                if rng.random() < email_share
                else None
            )
            own_street, own_postcode, own_phone = (
                (street, postcode, phone)
                if households
                else (
                    f"{int(rng.integers(1, 200))} {rng.choice(STREETS)}",
                    f"{rng.choice(list('ABCDEFGH'))}{int(rng.integers(1, 30))} 1AA",
                    f"+4420{int(rng.integers(10_000_000, 99_999_999))}",
                )
            )
            copies = int(rng.choice([1, 2, 3], p=[0.4, 0.4, 0.2]))
            for copy in range(copies):
                f, s, d = str(first), surname, dob
                if copy > 0:
                    if every_duplicate_errs:
                        kind = int(rng.integers(3))
                        f, s = (_typo(rng, f), s) if kind == 0 else (f, _typo(rng, s) if kind == 1 else s)
                        d = _date_typo(rng, d) if kind == 2 else d
                    elif rng.random() < 0.2:
                        f = _typo(rng, f)
                    if date_errors and rng.random() < 0.5:
                        d = _date_typo(rng, d)
                rows.append(
                    {
                        "first_name": f.title(),
                        "surname": s.title(),
                        "dob": d,
                        "street": own_street.title(),
                        "postcode": own_postcode,
                        "phone": own_phone if rng.random() < 0.8 else None,
                        "email": email if copy == 0 or rng.random() < 0.5 else None,
                        "person": f"p{person}",
                    }
                )
            person += 1
    table = pd.DataFrame(rows)
    table = table.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    table.insert(0, "id", [str(i + 1) for i in range(len(table))])
    return People(table)
