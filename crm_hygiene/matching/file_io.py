"""Reading and writing the files `crm-hygiene dedupe` works on: CSV (any delimiter), TSV, Parquet."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow as pa

from crm_hygiene.matching.file_mapping import DedupeInputError
from crm_hygiene.stores.csv_sheet import SheetError, new_layout, render_sheet
from crm_hygiene.stores.csv_sheet import decode as decode_sheet

# --- reading and writing ---------------------------------------------------------------------------


def file_format(path: str | Path) -> str:
    """ "csv", "tsv" or "parquet", from the file name's extension (a .gz after csv/tsv is fine)."""
    suffixes = [s.casefold() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] in (".gz", ".bz2", ".zst", ".xz", ".zip"):
        suffixes = suffixes[:-1]
    last = suffixes[-1] if suffixes else ""
    formats = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}
    if last not in formats:
        raise DedupeInputError(
            f"{str(path)!r}: cannot tell the format from the extension {last or '(none)'!r}; "
            "use .csv, .tsv or .parquet"
        )
    return formats[last]


# Delimiters a CSV file may use; the one that splits the header into the most columns wins.
DELIMITERS = (",", ";", "\t", "|")


def read_table(path: str | Path, *, sep: str | None = None) -> pd.DataFrame:
    """The file's rows: CSV cells as text exactly as written ("" when empty), Parquet as typed.

    `sep` is the CSV delimiter; without it a .tsv file is tab-separated and a .csv file's
    delimiter is detected from its header (`DELIMITERS`). Raises DedupeInputError for a
    missing or empty file, a header without rows, a header that repeats a column name (the
    output could not keep both), and a row with more or fewer cells than the header, named by
    its row number: such a row's values cannot be put in the right columns.
    """
    path = Path(path)
    kind = file_format(path)
    if not path.is_file():
        raise DedupeInputError(f"{str(path)!r} does not exist")
    if path.stat().st_size == 0:
        raise DedupeInputError(f"{str(path)!r} is empty: no header row, no records")
    if kind == "parquet":
        try:
            table = pd.read_parquet(path)
        except (OSError, pa.ArrowException) as exc:
            raise DedupeInputError(f"{str(path)!r} is not a readable Parquet file: {exc}") from None
        header = [str(c) for c in table.columns]
    else:
        if sep is not None and len(sep) != 1:
            raise DedupeInputError(f"--sep must be one character, not {sep!r}")
        encoding = _text_encoding(path)
        sep = sep or ("\t" if kind == "tsv" else detect_delimiter(path, encoding))
        header = _csv_header(path, sep, encoding)
        if not header or all(not h.strip() for h in header):
            raise DedupeInputError(f"{str(path)!r} is empty: no header row, no records")
        _check_header(path, header)
        table = _read_csv(path, sep, header, encoding)
    _check_header(path, header)
    if table.empty:
        raise DedupeInputError(f"{str(path)!r} has a header but no records")
    return table.reset_index(drop=True)


def _check_header(path: Path, header: list[str]) -> None:
    counts = Counter(header)
    repeated = sorted(h for h, n in counts.items() if n > 1)
    if repeated:
        raise DedupeInputError(f"{str(path)!r}: the header repeats columns {repeated}")


def _open_bytes(path: Path) -> pa.NativeFile:
    """The file's bytes, decompressed when its extension says so."""
    suffix = path.suffix.casefold()
    if suffix == ".zip":
        import zipfile

        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if not n.endswith("/")]
            if len(names) != 1:
                raise DedupeInputError(f"{str(path)!r}: a .zip must hold exactly one file, not {len(names)}")
            return pa.BufferReader(archive.read(names[0]))
    if suffix == ".xz":
        import lzma

        return pa.BufferReader(lzma.open(path).read())
    return pa.input_stream(str(path), compression="detect")


def _text_encoding(path: Path) -> str:
    """UTF-8 (with or without a byte-order mark), or what the sheet store reads otherwise:
    UTF-16 by its mark, else Windows-1252 or Latin-1 (Excel's "CSV (Comma delimited)")."""
    if path.suffix.casefold() not in (".csv", ".tsv"):
        return "utf-8-sig"  # compressed: read as UTF-8
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        data.decode("utf-8")
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    try:
        return decode_sheet(data)[1]
    except SheetError as exc:
        raise DedupeInputError(f"{str(path)!r}: {exc}") from None


def _read_csv(path: Path, sep: str, header: list[str], encoding: str = "utf-8-sig") -> pd.DataFrame:
    """Every cell as text; rows with another number of cells than the header are an error."""
    from pyarrow import csv as arrow_csv

    bad: list[tuple[int | None, int, str]] = []

    def invalid(row: arrow_csv.InvalidRow) -> str:
        bad.append((row.number, row.actual_columns, row.text))
        return "skip"

    def read(threads: bool) -> pa.Table:
        with _open_bytes(path) as stream:
            return arrow_csv.read_csv(
                stream,
                read_options=arrow_csv.ReadOptions(
                    use_threads=threads,
                    column_names=header,
                    skip_rows=1,
                    encoding="utf8" if encoding.startswith("utf-8") else encoding,
                ),
                parse_options=arrow_csv.ParseOptions(
                    delimiter=sep, newlines_in_values=True, invalid_row_handler=invalid
                ),
                convert_options=arrow_csv.ConvertOptions(
                    column_types=dict.fromkeys(header, pa.string()),
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )

    try:
        table = read(threads=True)
        if bad and any(number is None for number, _, _ in bad):
            # Threaded reading does not know row numbers; read again, one thread, to name them.
            bad.clear()
            read(threads=False)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise DedupeInputError(f"{str(path)!r} is not a readable CSV file: {exc}") from None
    if bad:
        number, cells, text = bad[0]
        # Arrow counts physical lines from 1 with the header; rows are counted after the header.
        row = f"row {number - 1}" if number else "a row"
        more = f" ({len(bad) - 1} more such rows)" if len(bad) > 1 else ""
        shown = text if len(text) <= 80 else text[:77] + "..."
        raise DedupeInputError(
            f"{str(path)!r}: {row} has {cells} cells but the header has {len(header)} "
            f"(delimiter {sep!r}): {shown!r}{more}; fix the row or give the right --sep"
        )
    return table.to_pandas()


def detect_delimiter(path: Path, encoding: str = "utf-8-sig") -> str:
    """The delimiter of DELIMITERS that splits the header into the most columns (comma on a tie)."""
    best, best_count = ",", 1
    for candidate in DELIMITERS:
        count = len(_csv_header(path, candidate, encoding))
        if count > best_count:
            best, best_count = candidate, count
    return best


def _csv_header(path: Path, sep: str, encoding: str = "utf-8-sig") -> list[str]:
    """The first CSV record as written (pandas would rename repeated names to "a.1")."""
    import gzip

    opener = gzip.open if path.suffix.casefold() == ".gz" else open
    try:
        with opener(path, "rt", encoding=encoding, newline="") as handle:
            return next(csv.reader(handle, delimiter=sep), [])
    except UnicodeDecodeError as exc:
        raise DedupeInputError(f"{str(path)!r} is not UTF-8 text: {exc}") from None


def write_table(frame: pd.DataFrame, path: str | Path) -> None:
    """CSV, TSV or Parquet by the extension of `path`."""
    path = Path(path)
    kind = file_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "parquet":
        frame.to_parquet(path, index=False)
    else:
        # The sheet writer quotes a cell holding a bare CR; pandas' to_csv does not, and the
        # next reader would split the record there.
        layout = new_layout()
        layout.delimiter = "\t" if kind == "tsv" else ","
        path.write_bytes(render_sheet(frame, layout))


def default_output(path: str | Path) -> Path:
    """`people.csv` -> `people.deduped.csv`, next to the input."""
    path = Path(path)
    name = path.name
    for suffix in (".csv.gz", ".tsv.gz", ".csv", ".tsv", ".parquet", ".pq"):
        if name.casefold().endswith(suffix):
            return path.with_name(name[: -len(suffix)] + ".deduped" + name[-len(suffix) :])
    return path.with_name(name + ".deduped.csv")
