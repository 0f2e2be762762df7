"""An XLSX workbook edited in place: only the cells the store changed are written.

Rewriting a workbook from its values (pandas' `to_excel`) loses what a team put in it besides
values: formulas (in every sheet, ours or not), styles, column widths, frozen panes,
validation; and it writes any text starting with `=` as a formula. So the workbook is opened
with openpyxl as it is, the changed cells of our sheets are set (text as text, never as a
formula), added columns and new records are appended, and everything else is saved untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
from openpyxl.cell.cell import Cell
from openpyxl.worksheet.worksheet import Worksheet


@dataclass
class XlsxLayout:
    """What was read from one sheet: its columns (as the frame names them) and row count."""

    columns: list[str]
    rows: int
    baseline: pd.DataFrame | None = None  # the values as read, to tell which cells changed


def write_sheets(
    source: Path, target: Path, sheets: dict[str, tuple[pd.DataFrame, XlsxLayout | None]]
) -> None:
    """Save `source` (or a new workbook) to `target` with each named sheet brought up to its frame.

    A frame holds the rows read, in their order, then new ones; its columns are the ones read,
    then new ones. Row i of a frame is sheet row i + 2 (row 1 is the header)."""
    if source.exists():
        book = openpyxl.load_workbook(source, keep_vba=source.suffix.lower() == ".xlsm")
    else:
        book = openpyxl.Workbook()
        book.remove(book.active)
    for name, (frame, layout) in sheets.items():
        if name in book.sheetnames and layout is not None:
            _update(book[name], frame.reset_index(drop=True), layout)
        else:
            if name in book.sheetnames:
                book.remove(book[name])
            _fill(book.create_sheet(name), frame.reset_index(drop=True))
    book.save(target)


def _update(sheet: Worksheet, frame: pd.DataFrame, layout: XlsxLayout) -> None:
    read, n_read = layout.columns, layout.rows
    text = {name: _text(frame[name]) for name in frame.columns}
    baseline = layout.baseline
    for j, name in enumerate(read, start=1):
        now = text[name][:n_read]
        before = baseline[name].to_numpy(dtype=object) if baseline is not None else now
        for i in np.flatnonzero(now != before):
            _set(sheet.cell(row=int(i) + 2, column=j), now[i])
    for j, name in enumerate(frame.columns[len(read) :], start=len(read) + 1):
        _set(sheet.cell(row=1, column=j), str(name))
        for i, value in enumerate(text[name][:n_read]):
            _set(sheet.cell(row=i + 2, column=j), value)
    for i in range(n_read, len(frame)):
        for j, name in enumerate(frame.columns, start=1):
            _set(sheet.cell(row=i + 2, column=j), text[name][i])


def _fill(sheet: Worksheet, frame: pd.DataFrame) -> None:
    for j, name in enumerate(frame.columns, start=1):
        _set(sheet.cell(row=1, column=j), str(name))
    text = {name: _text(frame[name]) for name in frame.columns}
    for i in range(len(frame)):
        for j, name in enumerate(frame.columns, start=1):
            _set(sheet.cell(row=i + 2, column=j), text[name][i])


def _text(column: pd.Series) -> np.ndarray:
    out = column.astype(object)
    return out.where(out.notna(), "").astype(str).to_numpy(dtype=object)


def _set(cell: Cell, value: str) -> None:
    if value == "":
        if cell.value is not None:
            cell.value = None
        return
    cell.value = value
    # openpyxl takes any text starting with "=" for a formula; ours is text.
    if value.startswith("="):
        cell.data_type = "s"
