"""A CSV sheet comes back byte for byte but for the cells the store changed.

Sheets are generated over the dialects teams' tools write (delimiter, line ending, byte-order
mark and encoding, cells quoted when needed or always, a final line break or none) and filled
with the cells that broke earlier write-back: NUL and other control characters, a bare CR in
a cell, quoted line breaks, quotes, a repeated header, blank lines.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd
import pytest

from crm_hygiene.model import Entity
from crm_hygiene.stores import FieldChange, Outcome, SpreadsheetRecordStore, StoreError

# Cell values as a team's sheet holds them; each must survive untouched.
HOSTILE = [
    "plain",
    "with\x00NUL",
    "bare\rCR",
    "quoted\r\nline break",
    'a "quote" inside',
    "emoji \U0001f600 and RTL \u05e9\u05dc\u05d5\u05dd",
    "=SUM(A1:A2)",
    "  padded  ",
    "\x1b[31mescape\x07",
    "",
]
DIALECTS = list(
    itertools.product(
        [",", ";", "\t"],
        ["\r\n", "\n"],
        [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("cp1252", b""), ("utf-16-le", b"\xff\xfe")],
        [False, True],  # quote every cell
        [True, False],  # a final line break
    )
)


def _cell(value: str, delimiter: str, quote_all: bool) -> str:
    if quote_all or any(ch in value for ch in (delimiter, '"', "\r", "\n")):
        return '"' + value.replace('"', '""') + '"'
    return value


def _sheet(
    delimiter: str, terminator: str, quote_all: bool, final: bool, encodable
) -> tuple[str, list[list[str]]]:
    header = ["id", "first_name", "email", "Notes", "email"]
    values = [v for v in HOSTILE if encodable(v)]
    rows = [
        [f"C{i}", "ann" if i == 0 else f"name{i}", "ANN@ACME.COM" if i == 0 else f"p{i}@x.com", value, value]
        for i, value in enumerate(values)
    ]
    # A bare CR is a record break in a file of bare-CR records only; these files use LF or CRLF.
    lines = [delimiter.join(_cell(c, delimiter, quote_all) for c in row) for row in [header, *rows]]
    text = terminator.join(lines[:2]) + terminator + terminator + terminator.join(lines[2:])
    return text + (terminator if final else ""), rows


@pytest.mark.parametrize(("delimiter", "terminator", "encoding", "quote_all", "final"), DIALECTS)
def test_untouched_cells_come_back_byte_for_byte(
    tmp_path: Path, delimiter: str, terminator: str, encoding: tuple[str, bytes], quote_all: bool, final: bool
) -> None:
    codec, bom = encoding

    def encodable(value: str) -> bool:
        try:
            value.encode(codec)
        except UnicodeEncodeError:
            return False
        return True

    text, rows = _sheet(delimiter, terminator, quote_all, final, encodable)
    folder = tmp_path / "crm"
    folder.mkdir()
    sheet = folder / "contacts.csv"
    sheet.write_bytes(bom + text.encode(codec))
    store = SpreadsheetRecordStore(folder, default_tenant="acme")

    snap = store.snapshot("acme", Entity.CONTACT)
    assert list(snap["id"]) == [r[0] for r in rows], "one record per row, none split or swallowed"
    assert list(snap["Notes"].fillna("")) == [r[3] for r in rows]
    assert list(snap["email (column 5)"].fillna("")) == [r[4] for r in rows]

    report = store.apply_changes(
        "acme", [FieldChange(Entity.CONTACT, "C0", "email", "ANN@ACME.COM", "ann@acme.com")]
    )
    assert report.results[0].outcome is Outcome.APPLIED
    data = sheet.read_bytes()
    assert data.startswith(bom)
    out = data[len(bom) :].decode(codec)
    expected_header = delimiter.join(
        _cell(c, delimiter, quote_all) for c in ["id", "first_name", "email", "Notes", "email"]
    )
    assert out.startswith(expected_header + delimiter), "the header as written, repeated name included"
    position = out.index(terminator) + len(terminator)
    for i, row in enumerate(rows):
        if i == 1:
            assert out.startswith(terminator, position), "the blank line is kept"
            position += len(terminator)
        cells = [_cell(c, delimiter, quote_all) for c in row]
        if i == 0:
            cells[2] = _cell("ann@acme.com", delimiter, quote_all)
        body = delimiter.join(cells)
        assert out.startswith(body + delimiter, position), (
            f"record {i} as written: {out[position : position + 80]!r}"
        )
        following = out.find(terminator, position + len(body))
        position = len(out) if following < 0 else following + len(terminator)
    assert position == len(out), "no record added or lost"
    assert out.endswith(terminator) is final, "a final line break is kept, its absence too"

    again = store.snapshot("acme", Entity.CONTACT)
    assert list(again["email"].fillna("")) == ["ann@acme.com", *[r[2] for r in rows[1:]]]
    assert list(again["Notes"].fillna("")) == [r[3] for r in rows]
    assert list(again["version"]) == ["2"] + ["1"] * (len(rows) - 1)


def test_a_sheet_with_the_bookkeeping_columns_changes_only_the_changed_cells(tmp_path: Path) -> None:
    folder = tmp_path / "crm"
    folder.mkdir()
    sheet = folder / "contacts.csv"
    original = (
        "id,version,updated_at,first_name,email,Notes\r\n"
        'C1,1,,ann,ANN@ACME.COM,"kept\x00as is"\r\n'
        'C2,1,,"Bob",bob@acme.com,"x ""y"" z"\r\n'
    )
    sheet.write_bytes(original.encode())
    store = SpreadsheetRecordStore(folder, default_tenant="acme")
    store.apply_changes("acme", [FieldChange(Entity.CONTACT, "C1", "email", "ANN@ACME.COM", "ann@acme.com")])
    lines = sheet.read_bytes().decode().split("\r\n")
    assert lines[0].startswith("id,version,updated_at,first_name,email,Notes,")
    changed = lines[1].split(",")
    assert changed[:2] == ["C1", "2"] and changed[3:6] == ["ann", "ann@acme.com", '"kept\x00as is"']
    assert lines[2].startswith('C2,1,,"Bob",bob@acme.com,"x ""y"" z",'), "untouched record as written"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            'id,first_name\nC1,"ann\nC2,bob\n',
            r"contacts\.csv: line 3: unexpected end of data \(an unbalanced quote\?\)",
        ),
        ('id,first_name\nC1,"ann"x\nC2,bob\n', r"contacts\.csv: line 2: ',' expected after '\"'"),
        ("id,first_name\nC1,ann,extra\nC2,bob\n", r"contacts\.csv: line 2: 3 cells where the header has 2"),
        ("id,first_name\nC1\nC2,bob\n", r"contacts\.csv: line 2: 1 cells where the header has 2"),
        (
            "first_name,email\nann,a@x.com\n",
            r"contacts has no 'id' column \(its columns: 'first_name', 'email'\)",
        ),
        ("", r"contacts\.csv: the file is empty \(no header row\)"),
        ("\r\n\r\n", r"contacts\.csv: the file is empty \(no header row\)"),
    ],
)
def test_a_malformed_sheet_is_one_line_naming_file_and_line_and_stays_as_it_was(
    tmp_path: Path, content: str, message: str
) -> None:
    folder = tmp_path / "crm"
    folder.mkdir()
    sheet = folder / "contacts.csv"
    sheet.write_bytes(content.encode())
    store = SpreadsheetRecordStore(folder, default_tenant="acme")
    with pytest.raises(StoreError, match=message) as caught:
        store.snapshot("acme", Entity.CONTACT)
    assert "\n" not in str(caught.value)
    with pytest.raises(StoreError):
        store.apply_changes("acme", [FieldChange(Entity.CONTACT, "C2", "first_name", "bob", "Bob")])
    assert sheet.read_bytes() == content.encode(), "nothing is written"


def test_a_binary_file_is_named_not_read_as_text(tmp_path: Path) -> None:
    folder = tmp_path / "crm"
    folder.mkdir()
    (folder / "contacts.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\xff\xfe")
    with pytest.raises(StoreError, match=r"contacts\.csv: not a text file"):
        SpreadsheetRecordStore(folder).snapshot("default", Entity.CONTACT)


def test_a_value_the_sheets_encoding_cannot_hold_is_refused_with_its_reason(tmp_path: Path) -> None:
    folder = tmp_path / "crm"
    folder.mkdir()
    sheet = folder / "contacts.csv"
    original = "id,first_name\r\nC1,Ren\xe9\r\n".encode("cp1252")
    sheet.write_bytes(original)
    store = SpreadsheetRecordStore(folder, default_tenant="acme")
    assert list(store.snapshot("acme", Entity.CONTACT)["first_name"]) == ["Ren\xe9"]
    report = store.apply_changes(
        "acme", [FieldChange(Entity.CONTACT, "C1", "first_name", "Ren\xe9", "\u0159en\xe9")]
    )
    assert report.results[0].outcome is Outcome.REJECTED
    assert report.results[0].reason == "'\u0159' cannot be written in the sheet's encoding (cp1252)"
    assert sheet.read_bytes() == original


def test_new_records_use_the_sheets_dialect(tmp_path: Path) -> None:
    folder = tmp_path / "crm"
    folder.mkdir()
    sheet = folder / "contacts.csv"
    sheet.write_bytes(b'"id";"first_name"\r\n"C1";"ann"')  # no final line break
    store = SpreadsheetRecordStore(folder, default_tenant="acme")
    store.insert_records("acme", Entity.CONTACT, pd.DataFrame({"id": ["C2"], "first_name": ["Bo;b"]}))
    lines = sheet.read_bytes().decode().split("\r\n")
    assert lines[1].startswith('"C1";"ann";"acme";'), "the last record gets its line break"
    assert lines[2].startswith('"C2";"Bo;b";"acme";')
    assert list(store.snapshot("acme", Entity.CONTACT)["first_name"]) == ["ann", "Bo;b"]


def test_blank_lines_before_the_header_do_not_hide_its_delimiter(tmp_path: Path) -> None:
    folder = tmp_path / "crm"
    folder.mkdir()
    sheet = folder / "contacts.csv"
    original = b"\r\n\r\nid;first_name;Notes\r\nC1;ann;a\rb\r\nC2;Bob;x\r\n"
    sheet.write_bytes(original)
    store = SpreadsheetRecordStore(folder, default_tenant="acme")
    snap = store.snapshot("acme", Entity.CONTACT)
    assert list(snap["Notes"]) == ["a\rb", "x"]
    store.apply_changes("acme", [FieldChange(Entity.CONTACT, "C2", "first_name", "Bob", "Robert")])
    lines = sheet.read_bytes().split(b"\r\n")
    assert lines[:2] == [b"", b""] and lines[2].startswith(b"id;first_name;Notes;")
    assert lines[3].startswith(b"C1;ann;a\rb;") and lines[4].startswith(b"C2;Robert;x;")
