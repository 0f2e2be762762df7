"""One hostile case through one store: read it, change one cell, and compare what came back.

Each check returns an `Outcome`; the tests assert on it and `tests/hostile/report.py` counts
them into the table of docs/hostile-input.md. A check never hides an error: anything but a
`StoreError` (or the dedupe command's `DedupeInputError`) propagates and fails the test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pandas as pd
from openpyxl.utils.exceptions import IllegalCharacterError

from crm_hygiene.matching.file_io import read_table, write_table
from crm_hygiene.matching.file_mapping import DedupeInputError
from crm_hygiene.model import CONTACT, Entity
from crm_hygiene.pipeline.snapshot import take_snapshot
from crm_hygiene.stores import FieldChange, Outcome, RecordStore, SpreadsheetRecordStore, StoreError
from tests.hostile.corpus import CHANGED_FIELD, Case

TENANT = "t"
NEW_VALUE = "Changed"
# Cells a write to R1 moves besides the changed field.
MOVED = {CHANGED_FIELD, "version", "updated_at"}


@dataclass(frozen=True)
class Result:
    """What one store made of one case."""

    status: str  # "completed", "refused" (one clear line) or "not representable" in this store
    rows_before: int = 0  # records in the input
    rows_after: int = 0  # records the snapshot holds
    altered: int = 0  # cells or records outside the one change that came back different
    message: str = ""


def _refused(error: Exception, case: Case) -> Result:
    message = str(error)
    assert "\n" not in message, f"not one line: {message!r}"
    assert "contacts" in message, f"the file is not named: {message!r}"
    assert case.error in message, f"expected {case.error!r} in {message!r}"
    return Result("refused", case.records or 0, 0, 0, message)


def _change_r1(store: RecordStore, snapshot: pd.DataFrame) -> bool:
    """Change R1's last name when R1 is a record of its own; True if the change was applied."""
    r1 = snapshot[snapshot["id"] == "R1"]
    if len(r1) != 1 or r1.iloc[0]["issues"]:
        return False
    old = r1.iloc[0][CHANGED_FIELD]
    result = store.apply_changes(
        TENANT, [FieldChange(Entity.CONTACT, "R1", CHANGED_FIELD, None if pd.isna(old) else old, NEW_VALUE)]
    ).results[0]
    assert result.outcome is Outcome.APPLIED, result.reason
    return True


def _lines(data: bytes) -> list[str]:
    for bom, codec in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if data.startswith(bom):
            return re.split(r"\r\n|\n|\r", data[len(bom) :].decode(codec))
    # Latin-1 maps every byte to one character: a byte comparison, line by line.
    return re.split(r"\r\n|\n|\r", data.decode("latin-1"))


def check_csv(case: Case, folder: Path) -> Result:
    folder.mkdir(parents=True)
    sheet = folder / "contacts.csv"
    sheet.write_bytes(case.data)
    store = SpreadsheetRecordStore(folder, default_tenant=TENANT)
    try:
        snapshot = take_snapshot(store, TENANT)[Entity.CONTACT].frame
    except StoreError as error:
        assert case.records is None, f"refused a readable sheet: {error}"
        assert sheet.read_bytes() == case.data
        return _refused(error, case)
    assert case.records is not None, "read a sheet that should be refused"
    rows_after = len(snapshot)
    if not _change_r1(store, snapshot):
        altered = int(sheet.read_bytes() != case.data)
        return Result("completed", case.records, rows_after, altered)
    before, after = _lines(case.data), _lines(sheet.read_bytes())
    differing = [i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b]
    altered = abs(len(before) - len(after)) + sum(
        1 for i in differing if not before[i].lstrip('"\ufeff').startswith("R1")
    )
    assert len(differing) == 1, f"lines changed: {[before[i][:60] for i in differing]}"
    assert NEW_VALUE in after[differing[0]]
    return Result("completed", case.records, rows_after, altered)


def check_xlsx(case: Case, path: Path) -> Result:
    if case.rows is None:
        return Result("not representable", message="not a table of values")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "contacts"
    try:
        for row in [case.header, *case.rows]:
            sheet.append([v if v != "" else None for v in row])
    except IllegalCharacterError:
        return Result("not representable", message="XML cannot hold control characters")
    for cells in sheet.iter_rows():
        for cell in cells:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # text as a person typed it ('=...), not a formula
    book.save(path)
    original = [[c.value for c in row] for row in openpyxl.load_workbook(path)["contacts"].iter_rows()]
    store = SpreadsheetRecordStore(path, default_tenant=TENANT)
    try:
        snapshot = take_snapshot(store, TENANT)[Entity.CONTACT].frame
    except StoreError as error:
        return _refused(error, case)
    rows_after = len(snapshot)
    changed = _change_r1(store, snapshot)
    saved = [[c.value for c in row] for row in openpyxl.load_workbook(path)["contacts"].iter_rows()]
    moved = {case.header.index(name) for name in MOVED if name in case.header} if changed else set()
    altered = sum(
        1
        for r, row in enumerate(original)
        for c, value in enumerate(row)
        if not (r > 0 and row[0] == "R1" and c in moved) and saved[r][c] != value
    )
    return Result("completed", len(case.rows), rows_after, altered)


def check_sql(case: Case, store: RecordStore, tenant: str) -> Result:
    if case.rows is None or len(set(case.header)) != len(case.header) or "" in case.header:
        return Result("not representable", message="not a table a database holds")
    frame = pd.DataFrame(case.rows, columns=case.header, dtype=object)
    frame = frame[[c for c in frame.columns if c in CONTACT.fields]]
    try:
        report = store.insert_tenant(tenant, {Entity.CONTACT: frame})
    except StoreError as error:
        assert store.count(tenant, Entity.CONTACT) == 0, "a refused load left records behind"
        message = str(error)
        assert "\n" not in message
        return Result("refused", len(case.rows), 0, 0, message)
    snapshot = take_snapshot(store, tenant)[Entity.CONTACT].frame
    replaced = {(r.record_id, r.field) for r in report.replaced.itertuples(index=False)}
    if frame.empty:
        return Result("completed", 0, len(snapshot), 0)
    old = frame.iloc[0][CHANGED_FIELD]
    result = store.apply_changes(tenant, [FieldChange(Entity.CONTACT, "R1", CHANGED_FIELD, old, NEW_VALUE)])
    assert result.results[0].outcome is Outcome.APPLIED, result.results[0].reason
    after = store.snapshot(tenant, Entity.CONTACT).set_index("id")
    assert after.at["R1", CHANGED_FIELD] == NEW_VALUE
    # Every value given, as given (a character the database cannot hold: replaced and flagged).
    altered = sum(
        1
        for _, row in frame.iterrows()
        for name in frame.columns
        if name not in ("id", "tenant", *MOVED)
        and (row["id"], name) not in replaced
        # A record with a replaced value is flagged: its status and flags say so.
        and not (name in ("status", "flags") and any(r == row["id"] for r, _ in replaced))
        and not _same(row[name], after.at[row["id"], name])
    )
    return Result("completed", len(case.rows), len(snapshot), altered)


def _missing(value: object) -> bool:
    return value is None or value == "" or (isinstance(value, float) and pd.isna(value))


def _same(a: object, b: object) -> bool:
    return (_missing(a) and _missing(b)) or str(a) == str(b)


def check_dedupe_files(case: Case, folder: Path) -> Result:
    """The dedupe command's reading and writing of a file: cells come back as they were."""
    folder.mkdir(parents=True)
    source = folder / "contacts.csv"
    source.write_bytes(case.data)
    try:
        table = read_table(source)
    except DedupeInputError as error:
        message = str(error)
        assert "\n" not in message and "contacts.csv" in message, message
        return Result("refused", case.records or 0, 0, 0, message)
    output = folder / "out.csv"
    write_table(table, output)
    again = read_table(output)
    altered = int((again.to_numpy() != table.to_numpy()).sum()) if again.shape == table.shape else table.size
    if case.rows is not None and table.shape == (len(case.rows), len(case.header)):
        altered += int((table.to_numpy() != pd.DataFrame(case.rows).to_numpy()).sum())
    return Result("completed", case.records or len(table), len(table), altered)
