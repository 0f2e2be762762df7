"""A CSV sheet read with the dialect it was written in, and written back byte for byte.

A team's CSV comes from Excel, Google Sheets, an export script or a text editor: comma or
semicolon, CRLF or LF, a byte-order mark or none, UTF-8 or Windows-1252, cells quoted when
needed or always. The store changes a few cells of a few rows; everything else must come back
exactly as it was, or the team's diff of the file shows noise and their other tools break.

So the reader keeps, beside the cell values, the raw text of every record (with its line
ending and any blank lines before it) and the dialect it found. The writer emits an untouched
record's raw text unchanged; a touched record keeps the raw text of its untouched cells and
re-quotes only the changed ones; new records and new columns use the file's own dialect.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

# A cell may hold a pasted document: the csv module's default limit (128 KiB) would refuse a
# sheet that Excel reads (it holds 32,767 characters a cell, other tools more).
csv.field_size_limit(2**31 - 1)

# Delimiters a sheet may use; the one that splits the header into the most cells wins.
DELIMITERS = (",", ";", "\t", "|")
QUOTE = '"'
_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


class SheetError(ValueError):
    """A sheet that cannot be read or written as it stands; the message names line and column."""


@dataclass
class CsvLayout:
    """How a sheet was written, and the raw text of each of its records."""

    encoding: str
    bom: bytes
    delimiter: str
    terminator: str  # the first record's line ending: what new records get
    header: list[str]  # the header cells as written
    header_raw: str  # the header line as written, with its line ending
    columns: list[str]  # the frame's column names: the header, repeated names made unique
    raw: list[str]  # each data record as written, with its line ending (the last may lack one)
    prefix: list[str]  # blank lines written before each data record
    tail: str  # blank lines after the last record
    quote_all: bool = False  # every header cell quoted: the exporter quotes every cell
    baseline: pd.DataFrame | None = None  # the values as read, to tell which cells changed


def read_sheet(data: bytes) -> tuple[pd.DataFrame, CsvLayout]:
    """Every cell as text ("" when empty), in columns named by the header.

    Raises SheetError for a file with no header row, a record with another number of cells
    than the header (an unbalanced quote or a stray delimiter), or a quote closed mid-cell.
    """
    bom, encoding, text = decode(data)
    if not text.strip("\r\n"):
        raise SheetError("the file is empty (no header row)")
    terminator = _terminator(text)
    text, restore = _protect_line_breaks(text, terminator)
    lines = list(io.StringIO(text, newline=""))
    # The header decides the delimiter: the first line that is not blank.
    delimiter = _delimiter(next((line for line in lines if line.strip("\r\n")), lines[0]))
    reader = csv.reader(iter(lines), delimiter=delimiter, quotechar=QUOTE, strict=True)
    records: list[list[str]] = []
    raw: list[str] = []
    prefix: list[str] = []
    blank = ""
    header: list[str] | None = None
    header_raw = ""
    done = 0
    try:
        for record in reader:
            written = "".join(lines[done : reader.line_num])
            done = reader.line_num
            if not record:
                blank += written
                continue
            if header is None:
                header, header_raw = record, blank + written
                blank = ""
                continue
            if len(record) != len(header):
                raise SheetError(
                    f"line {reader.line_num}: {len(record)} cells where the header has {len(header)} "
                    f"(an unbalanced quote or a stray {_name(delimiter)}?)"
                )
            records.append(record)
            raw.append(written)
            prefix.append(blank)
            blank = ""
    except csv.Error as exc:
        raise SheetError(f"line {reader.line_num}: {exc} (an unbalanced quote?)") from None
    if header is None:
        raise SheetError("the file is empty (no header row)")
    if restore:
        raw, prefix = [_restore(r, restore) for r in raw], [_restore(p, restore) for p in prefix]
        header = [_restore(h, restore) for h in header]
        header_raw, blank = _restore(header_raw, restore), _restore(blank, restore)
    columns = _unique(header)
    # One 2-D array, not a Series per column: a sheet may have 100,000 columns.
    cells = np.empty((len(records), len(columns)), dtype=object)
    if records:
        cells[:] = records
    if restore:
        cells = np.vectorize(lambda v: _restore(v, restore), otypes=[object])(cells) if cells.size else cells
    frame = pd.DataFrame(cells, columns=pd.Index(columns, dtype=object))
    header_cells = _raw_cells(_body(header_raw.lstrip("\r\n"))[0], delimiter) or []
    layout = CsvLayout(
        quote_all=bool(header_cells) and all(c.startswith(QUOTE) for c in header_cells),
        encoding=encoding,
        bom=bom,
        delimiter=delimiter,
        terminator=terminator,
        header=header,
        header_raw=header_raw,
        columns=columns,
        raw=raw,
        prefix=prefix,
        tail=blank,
    )
    return frame, layout


def new_layout() -> CsvLayout:
    """The layout of a sheet that does not exist yet: UTF-8, comma, LF."""
    return CsvLayout("utf-8", b"", ",", "\n", [], "", [], [], [], "")


def render_sheet(frame: pd.DataFrame, layout: CsvLayout) -> bytes:
    """The sheet's bytes: untouched records and cells as read, the rest in the sheet's dialect.

    `frame` holds the records read, in their order, then any new ones; its columns are the
    ones read, then any new ones. Raises SheetError naming the record and column of a value
    the file's encoding cannot hold.
    """
    frame = frame.reset_index(drop=True)
    read_columns = layout.columns
    n_read = len(layout.raw)
    if list(frame.columns[: len(read_columns)]) != read_columns or len(frame) < n_read:
        # Columns reordered or records dropped: nothing can be kept as read.
        layout = new_layout()
        read_columns, n_read = [], 0
    added = list(frame.columns[len(read_columns) :])
    d, term, always = layout.delimiter, layout.terminator, layout.quote_all

    if read_columns:
        header, ending = _body(layout.header_raw)
        header += "".join(d + _quote_one(str(a), d, always) for a in added) + (ending or term)
    else:
        header = d.join(_quote_one(str(c), d) for c in frame.columns) + term
    parts = [header]
    if n_read:
        parts.append(_read_records(frame.iloc[:n_read], added, layout, more=len(frame) > n_read))
    if len(frame) > n_read:
        new = frame.iloc[n_read:]
        # Joined row by row: adding column after column would copy each row's text once per
        # column, quadratic in a wide sheet (100,000 columns took minutes).
        # All cells quoted in one pass, not a pass per column: a sheet may have 100,000 columns.
        flat = _quote(_text(pd.Series(new.to_numpy(dtype=object).ravel())), d, always).to_numpy(dtype=object)
        cells = flat.reshape(len(new), len(frame.columns)).tolist()
        parts.append("".join(d.join(row) + term for row in cells))
    parts.append(layout.tail)
    text = "".join(parts)
    try:
        return layout.bom + text.encode(layout.encoding)
    except UnicodeEncodeError:
        raise SheetError(_unencodable(frame, layout.encoding)) from None


def _read_records(old: pd.DataFrame, added: list[str], layout: CsvLayout, *, more: bool) -> str:
    """The records that were read: as written, but for their changed cells and added columns."""
    d, always = layout.delimiter, layout.quote_all
    baseline = layout.baseline if layout.baseline is not None else old
    current = {name: _text(old[name]).to_numpy() for name in layout.columns}
    differs = {name: current[name] != baseline[name].to_numpy() for name in layout.columns}
    changed = np.flatnonzero(np.logical_or.reduce(list(differs.values())))
    raw = pd.Series(layout.raw, dtype=object)
    prefix = pd.Series(layout.prefix, dtype=object)
    if not added and not len(changed) and (not more or _body(layout.raw[-1])[1]):
        return "".join(prefix + raw)
    endings = raw.str.extract(r"(\r\n|\n|\r)\Z", expand=False).fillna("")
    bodies = raw.str.replace(r"(\r\n|\n|\r)\Z", "", regex=True).to_numpy()
    if more or layout.tail:
        # The last record of a file without a final line break gets one before what follows.
        endings = endings.where(endings != "", layout.terminator)
    # The changed cells, row by row: (row, column) pairs in row order.
    rows, columns = np.nonzero(np.column_stack([differs[name] for name in layout.columns])[changed])
    by_row: dict[int, list[int]] = {}
    for row, column in zip(changed[rows].tolist(), columns.tolist(), strict=True):
        by_row.setdefault(row, []).append(column)
    names = layout.columns
    for i, touched in by_row.items():
        body = bodies[i]
        cells = _raw_cells(body, d)
        if cells is None or len(cells) != len(names):
            cells, touched = [""] * len(names), list(range(len(names)))
        for j in touched:
            cells[j] = _quote_one(current[names[j]][i], d, always)
        bodies[i] = d.join(cells)
    joined = pd.Series(bodies, dtype=object)
    for name in added:
        joined = joined + d + _quote(_text(old[name]), d, always)
    return "".join(prefix + joined + endings)


def _text(column: pd.Series) -> pd.Series:
    """Cells as text: missing is ""."""
    out = column.astype(object)
    missing = out.isna()
    if missing.any():
        out = out.where(~missing, "")
    return out.astype(str)


# -- reading ----------------------------------------------------------------------------------


def decode(data: bytes) -> tuple[bytes, str, str]:
    """(byte-order mark, encoding, text): UTF-8 or UTF-16 by its mark, else UTF-8, else
    Windows-1252 or Latin-1; SheetError for bytes that are no text (NUL and not UTF-8)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return bom, encoding, data[len(bom) :].decode(encoding)
            except UnicodeDecodeError as exc:
                raise SheetError(f"not {encoding.upper()} text despite its byte-order mark: {exc}") from None
    try:
        return b"", "utf-8", data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if b"\x00" in data[:4096]:
            raise SheetError(
                f"not a text file (NUL bytes and not UTF-8: {exc.reason} at byte {exc.start})"
            ) from None
    # Excel's "CSV (Comma delimited)" writes Windows-1252; Latin-1 holds the five bytes it leaves undefined.
    for encoding in ("cp1252", "latin-1"):
        try:
            return b"", encoding, data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes any byte")  # pragma: no cover


def _terminator(text: str) -> str:
    found = re.search(r"\r\n|\n|\r", text)
    return found.group(0) if found else "\n"


def _protect_line_breaks(text: str, terminator: str) -> tuple[str, dict[str, str]]:
    """Hide the line breaks that do not end records from the CSV reader.

    In a file of LF or CRLF records, a bare CR in a cell is text (a Mac-made note pasted in),
    not a record break: the reader would split the record there. In a file of CR records, an
    LF is text. Each is replaced by a character the text does not hold, restored after.
    """
    loose = "\r(?!\n)" if terminator in ("\n", "\r\n") else "\n"
    if not re.search(loose, text):
        return text, {}
    stand_in = next(chr(c) for c in range(0xE000, 0xF900) if chr(c) not in text)
    original = "\r" if loose.startswith("\r") else "\n"
    return re.sub(loose, stand_in, text), {stand_in: original}


def _restore(value: str, restore: dict[str, str]) -> str:
    for stand_in, original in restore.items():
        value = value.replace(stand_in, original)
    return value


def _delimiter(header_line: str) -> str:
    best, best_count = ",", 1
    for candidate in DELIMITERS:
        try:
            count = len(next(csv.reader([header_line], delimiter=candidate), []))
        except csv.Error:
            continue  # a header this delimiter cannot split; the reader names the line later
        if count > best_count:
            best, best_count = candidate, count
    return best


def _unique(header: list[str]) -> list[str]:
    """Column names: a repeated or empty header gets a name of its own; the first keeps its name."""
    seen: set[str] = set()
    out: list[str] = []
    for position, name in enumerate(header, start=1):
        candidate = name if name.strip() else f"column {position}"
        if candidate in seen:
            candidate = f"{name or 'column'} (column {position})"
        seen.add(candidate)
        out.append(candidate)
    return out


def _name(delimiter: str) -> str:
    return {"\t": "tab", ",": "comma", ";": "semicolon", "|": "bar"}.get(delimiter, repr(delimiter))


# -- writing ----------------------------------------------------------------------------------


def _body(record: str) -> tuple[str, str]:
    """A record's text without its line ending, and the ending."""
    for ending in ("\r\n", "\n", "\r"):
        if record.endswith(ending):
            return record[: -len(ending)], ending
    return record, ""


def _raw_cells(body: str, delimiter: str) -> list[str] | None:
    """A record's cells as written (quotes included), or None if it does not split cleanly.

    Pieces between delimiters are joined again while the quotes of a cell are unbalanced: a
    quoted cell holding the delimiter. A stray quote in an unquoted cell (`ab"c`) unbalances
    the rest; the caller then writes the record from its values."""
    pieces = body.split(delimiter)
    if QUOTE not in body:
        return pieces
    cells: list[str] = []
    open_cell: str | None = None
    for piece in pieces:
        if open_cell is not None:
            open_cell += delimiter + piece
            if open_cell.count(QUOTE) % 2 == 0:
                cells.append(open_cell)
                open_cell = None
        elif piece.count(QUOTE) % 2:
            open_cell = piece
        else:
            cells.append(piece)
    return None if open_cell is not None else cells


def _needs_quotes(delimiter: str) -> re.Pattern[str]:
    return re.compile(f'[{re.escape(delimiter)}"\r\n]')


def _quote_one(value: str, delimiter: str, always: bool = False) -> str:
    if always or _needs_quotes(delimiter).search(value):
        return QUOTE + value.replace(QUOTE, QUOTE * 2) + QUOTE
    return value


def _quote(column: pd.Series, delimiter: str, always: bool = False) -> pd.Series:
    """Each value as a cell: quoted when it holds the delimiter, a quote or a line break, or always."""
    text = column.astype(str)
    if always:
        return QUOTE + text.str.replace(QUOTE, QUOTE * 2, regex=False) + QUOTE
    needs = text.str.contains(_needs_quotes(delimiter).pattern, regex=True)
    if not needs.any():
        return text
    return text.where(~needs, QUOTE + text.str.replace(QUOTE, QUOTE * 2, regex=False) + QUOTE)


def _unencodable(frame: pd.DataFrame, encoding: str) -> str:
    for name in frame.columns:
        for position, value in enumerate(frame[name]):
            try:
                value.encode(encoding)
            except UnicodeEncodeError as exc:
                return (
                    f"record {position + 1}, column {name!r}: {value[exc.start : exc.end]!r} cannot be "
                    f"written in the sheet's encoding ({encoding})"
                )
    return f"a value cannot be written in the sheet's encoding ({encoding})"
