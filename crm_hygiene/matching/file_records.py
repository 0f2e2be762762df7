"""From a file's rows to records: cell texts, mapped fields, record ids, match input."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from crm_hygiene.matching.file_mapping import FULL_NAME, DedupeInputError, Mapping, Source
from crm_hygiene.matching.inputs import MAX_SHARED, match_input
from crm_hygiene.matching.settings import ExtraIdentifier
from crm_hygiene.model.records import Entity, Status
from crm_hygiene.model.snapshot import prepare_snapshot
from crm_hygiene.normalize.records import normalize_companies, normalize_contacts

# The tenant every file record is given: the snapshot and normalizers expect one.
FILE_TENANT = "file"


# --- from rows to records --------------------------------------------------------------------------


def cell_texts(values: pd.Series, missing: frozenset[str] = frozenset()) -> pd.Series:
    """A column as stripped text, None where empty or listed in `missing`.

    Parquet columns may be numbers or dates: a whole float is written without ".0", a date
    (or a midnight timestamp) as YYYY-MM-DD. A list or mapping in a cell cannot be a field
    value; DedupeInputError names its row (1-based, as in "row 1" = the first record).
    """
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values.to_numpy(dtype=object)):
        out[i] = _cell_text(value, values.name, i)
    text = pd.Series(out, index=values.index, dtype=object)
    blank = text.isna() | (text == "")
    if missing:
        blank |= text.isin(missing)
    return text.where(~blank, None)


def _cell_text(value: Any, column: Any, row: int) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float | np.floating):
        return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))
    if isinstance(value, datetime | pd.Timestamp):
        moment = pd.Timestamp(value)
        return moment.date().isoformat() if moment == moment.normalize() else moment.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple | dict | np.ndarray | MappingABC):
        raise DedupeInputError(
            f"row {row + 1}, column {column!r}: holds a {type(value).__name__}, not a single value; "
            "map a text column instead"
        )
    return str(value).strip()


def _resolve(table: pd.DataFrame, source: Source, missing: dict[str, frozenset[str]]) -> pd.Series:
    """One canonical column from `source` (see `Source`): text or None per row."""
    if source.how == "value":
        return pd.Series(source.value or None, index=table.index, dtype=object)
    parts = _part_texts(table, source, missing)
    if source.how == "date":
        return _date_from_parts(parts)
    if source.how == "join":
        joined = pd.concat(parts, axis=1).apply(
            lambda row: source.sep.join(v for v in row if v is not None) or None, axis=1
        )
        return joined.astype(object)
    out = parts[0]
    for part in parts[1:]:
        out = out.where(out.notna(), part)
    return out


def _part_texts(table: pd.DataFrame, source: Source, missing: dict[str, frozenset[str]]) -> list[pd.Series]:
    """The cell texts of each column `source` reads, with its `missing` texts as empty."""
    return [
        cell_texts(table[c], missing.get(c, frozenset()) | missing.get("*", frozenset()))
        for c in source.columns
    ]


def _date_from_parts(parts: list[pd.Series]) -> pd.Series:
    """YYYY-MM-DD from year, month and day texts, zero-padded; None unless all three are
    whole numbers (a date of 1967-1-12 and one of 1967-11-2 must not share one key)."""
    year, month, day = (pd.to_numeric(part, errors="coerce") for part in parts)
    whole = (
        year.between(1, 9999)
        & month.between(1, 12)
        & day.between(1, 31)
        & (year % 1 == 0)
        & (month % 1 == 0)
        & (day % 1 == 0)
    )
    text = (
        year.where(whole, 0).astype(int).astype(str).str.zfill(4)
        + "-"
        + month.where(whole, 0).astype(int).astype(str).str.zfill(2)
        + "-"
        + day.where(whole, 0).astype(int).astype(str).str.zfill(2)
    )
    return text.where(whole, None).astype(object)


_YMD = re.compile(r"(\d{4})[-/. ](\d{1,2})[-/. ](\d{1,2})(?:[T ].*)?")
_XXY = re.compile(r"(\d{1,2})[-/. ](\d{1,2})[-/. ](\d{4})")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")


def date_key(text: str | None, day_first: bool = False) -> str | None:
    """A written date as YYYY-MM-DD, or None when it is none.

    Year first ("1967-1-12", "1967/01/12", "19670112", an ISO timestamp) is year-month-day;
    "12/01/1967" is month first unless `day_first`, or unless one reading is impossible
    ("25/12/1967"). Any year of four digits counts (historical records hold 1650); a month
    above 12 or a day above 31 is not a date. Only the numbers are checked, not the calendar:
    a 30 February is a mistyped date, and still worth comparing digit by digit.
    """
    if text is None:
        return None
    text = text.strip()
    found = _YMD.fullmatch(text) or _COMPACT.fullmatch(text)
    if found:
        year, month, day = (int(g) for g in found.groups())
    else:
        found = _XXY.fullmatch(text)
        if not found:
            return None
        first, second, year = (int(g) for g in found.groups())
        month, day = (second, first) if day_first else (first, second)
        if month > 12 and day <= 12:
            month, day = day, month
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def date_keys(values: pd.Series, day_first: bool = False) -> pd.Series:
    """`date_key` of every cell, parsed once per distinct text."""
    distinct = values.dropna().unique()
    keys = {text: date_key(text, day_first) for text in distinct}
    return values.map(keys).astype(object).where(values.notna(), None)


@dataclass
class MappedFile:
    """The file as records: the raw snapshot frame for the normalizer and identifier keys by id."""

    ids: pd.Series  # record id (text) per row
    id_values: pd.Series  # the same ids as written in the file, for ordering and output
    raw: pd.DataFrame  # id, tenant, version, status and the mapped canonical fields
    identifiers: pd.DataFrame  # one column per extra identifier (`id_<name>`), keyed text
    # What mapping left out, to be said on stderr ("identifier dob: 3 values are not dates").
    notes: tuple[str, ...] = ()


def map_rows(table: pd.DataFrame, mapping: Mapping) -> MappedFile:
    """Apply `mapping` to the file's rows: ids checked, fields and identifiers resolved."""
    ids, id_values = _record_ids(table, mapping)
    fields: dict[str, pd.Series] = {
        name: _resolve(table, source, mapping.missing) for name, source in mapping.fields.items()
    }
    if FULL_NAME in fields:
        full = fields.pop(FULL_NAME)
        nothing = pd.Series([None] * len(table), index=table.index, dtype=object)
        first = fields.get("first_name", nothing)
        last = fields.get("last_name", nothing)
        no_parts = first.isna() & last.isna()
        fields["first_name"] = first.where(~no_parts, full).astype(object)
        fields["first_name"] = fields["first_name"].where(fields["first_name"].notna(), None)
    raw = pd.DataFrame(
        {
            "id": ids.to_numpy(dtype=object),
            "tenant": FILE_TENANT,
            "version": "1",
            "status": Status.ACTIVE.value,
            "flags": "[]",
            **{name: values.to_numpy(dtype=object) for name, values in fields.items()},
        }
    )
    columns: dict[str, np.ndarray] = {}
    notes: list[str] = []
    for spec_ in mapping.identifiers:
        if spec_.source.how == "date":
            parts = _part_texts(table, spec_.source, mapping.missing)
            keys = _date_from_parts(parts)
            unread = pd.concat(parts, axis=1).notna().any(axis=1) & keys.isna()
        else:
            written = _resolve(table, spec_.source, mapping.missing)
        if spec_.identifier.date:
            if spec_.source.how != "date":
                keys = date_keys(written, spec_.day_first)
                unread = written.notna() & keys.isna()
            if unread.any():
                example = _first_text(table, spec_.source, unread)
                notes.append(
                    f"identifier {spec_.identifier.name}: {int(unread.sum()):,} value(s) are not dates "
                    f"and are compared as missing, e.g. {row_list(np.flatnonzero(unread.to_numpy()), 3)}"
                    f" ({example!r})"
                )
        elif spec_.identifier.split is None:
            keys = identifier_keys(written)
        else:
            keys = identifier_lists(written, spec_.identifier.split)
        columns[spec_.identifier.column] = keys.to_numpy(dtype=object)
    identifiers = pd.DataFrame(columns, index=pd.RangeIndex(len(table)))
    identifiers.index = ids.to_numpy(dtype=object)
    return MappedFile(ids=ids, id_values=id_values, raw=raw, identifiers=identifiers, notes=tuple(notes))


def _first_text(table: pd.DataFrame, source: Source, rows: pd.Series) -> str:
    """The first flagged row's cells as written (parts joined by "-")."""
    position = int(np.flatnonzero(rows.to_numpy())[0])
    return "-".join(str(table[c].iloc[position]) for c in source.columns)


def identifier_lists(values: pd.Series, split: str) -> pd.Series:
    """Cells split at `split` into sorted lists of distinct item keys (as `identifier_keys`);
    no item left -> None. "A B**a-b**C" with "**" -> ["ab", "c"]."""
    items = values.map(lambda text: None if text is None else text.split(split)).explode()
    keys = identifier_keys(items.where(items.notna(), None)).dropna()
    lists = keys.groupby(level=0).agg(lambda ks: sorted(set(ks)))
    out = pd.Series([None] * len(values), index=values.index, dtype=object)
    out[lists.index] = lists.to_numpy()
    return out


def identifier_keys(values: pd.Series) -> pd.Series:
    """Identifiers compared on letters and digits alone, case-folded: "DE 123-456" = "de123456".

    Spacing, dashes and dots are how an identifier is written, not what it is; for a date
    "1971-06-24" and "1971/06/24" agree. Nothing left -> None.
    """

    def key(text: str | None) -> str | None:
        if text is None:
            return None
        folded = unicodedata.normalize("NFKC", text).casefold()
        kept = "".join(ch for ch in folded if ch.isalnum())
        return kept or None

    return values.map(key).astype(object)


def _record_ids(table: pd.DataFrame, mapping: Mapping) -> tuple[pd.Series, pd.Series]:
    """Record ids as text and as written; row numbers (1, 2, ...) without an id column.

    Raises DedupeInputError naming the rows of empty ids and the repeated ids with their rows.
    """
    if mapping.id_column is None:
        numbers = pd.Series(np.arange(1, len(table) + 1), index=table.index)
        return numbers.astype(str).astype(object), numbers
    column = mapping.id_column
    values = table[column]
    text = cell_texts(values)
    empty = text.isna()
    if empty.any():
        rows = row_list(np.flatnonzero(empty.to_numpy()))
        raise DedupeInputError(f"column {column!r} (the id) is empty in {rows}")
    repeated = text[text.duplicated(keep=False)]
    if not repeated.empty:
        groups = repeated.groupby(repeated, sort=False).groups
        shown = [
            f"{value!r} in {row_list(table.index.get_indexer(index))}"
            for value, index in list(groups.items())[:5]
        ]
        more = f" and {len(groups) - 5} more" if len(groups) > 5 else ""
        raise DedupeInputError(
            f"column {column!r} (the id) repeats {len(groups)} id(s): " + "; ".join(shown) + more
        )
    return text, values


def row_list(positions: Sequence[int] | np.ndarray, limit: int = 5) -> str:
    """ "row 3" / "rows 3, 9 and 12 more" (1-based: row 1 is the first record)."""
    numbers = [int(p) + 1 for p in positions]
    shown = ", ".join(map(str, numbers[:limit]))
    more = f" and {len(numbers) - limit} more" if len(numbers) > limit else ""
    return f"row{'s' if len(numbers) > 1 else ''} {shown}{more}"


def _unshare(values: pd.Series, max_shared: int = MAX_SHARED) -> pd.Series:
    """NULL for identifier values held by more than `max_shared` records (see `inputs`)."""
    counts = values.map(values.value_counts(dropna=True))
    return values.where(~(counts.to_numpy(dtype=float, na_value=np.nan) > max_shared), None).astype(object)


# The canonical keys `inputs.match_input` blanks where too many records hold one value, with
# the normalized column they come from: named on stderr when it happens.
SHARED_GUARDED: dict[Entity, tuple[tuple[str, str], ...]] = {
    Entity.CONTACT: (("email_key", "email"), ("phone_e164", "phone")),
    Entity.COMPANY: (("website", "website"), ("phone_e164", "phone")),
}


def file_match_input(
    mapped: MappedFile,
    entity: Entity,
    say: Callable[[str], None] | None = None,
    identifiers: Sequence[ExtraIdentifier] = (),
) -> pd.DataFrame:
    """The match input of the file's records: normalized fields plus the identifier keys.

    `say` hears every key (e-mail, phone, website) and identifier whose values were blanked
    because too many records hold them; `identifiers` (the mapping's) say which are evidence
    rather than keys, and never blanked.
    """
    snapshot = prepare_snapshot(entity, mapped.raw)
    normalize = normalize_contacts if entity is Entity.CONTACT else normalize_companies
    normalized = normalize(snapshot).frame
    inputs = match_input(entity, normalized)
    # Identifiers that are evidence, not keys (`ExtraIdentifier.initial`): never blanked.
    evidence = {i.column for i in identifiers if i.initial}
    if say is not None:
        for source, name in SHARED_GUARDED[entity]:
            counts = normalized[source].value_counts(dropna=True)
            over = counts[counts > MAX_SHARED]
            if len(over):
                # Counts only: the values are e-mail addresses and phone numbers.
                say(
                    f"{name}: {len(over):,} value(s) held by more than {MAX_SHARED:,} records each are no "
                    f"identity (a placeholder, a switchboard) and are left out ({int(over.sum()):,} record(s))"
                )
    for column in mapped.identifiers.columns:
        keys = pd.Series(
            mapped.identifiers[column].reindex(inputs["unique_id"].to_numpy()).to_numpy(dtype=object),
            index=inputs.index,
        )
        is_list = keys.map(lambda v: isinstance(v, list)).any()
        if column in evidence:
            # A middle initial held by thousands is still evidence: not blanked.
            inputs[column] = keys
            continue
        inputs[column] = _unshare_items(keys) if is_list else _unshare(keys)
        blanked = int(keys.notna().sum() - inputs[column].notna().sum())
        if blanked and say is not None:
            what = "list items" if is_list else "values"
            say(
                f"identifier {column.removeprefix('id_')}: {what} held by more than {MAX_SHARED:,} records "
                f"are no identity and are left out ({blanked:,} record(s) lose them)"
            )
    return inputs


def _unshare_items(lists: pd.Series, max_shared: int = MAX_SHARED) -> pd.Series:
    """Lists without the items held by more than `max_shared` records (an empty list -> None)."""
    items = lists.explode().dropna()
    shared = set(items.value_counts().loc[lambda c: c > max_shared].index)
    if not shared:
        return lists
    kept = lists.map(lambda v: [i for i in v if i not in shared] if isinstance(v, list) else None)
    return kept.map(lambda v: v or None).astype(object)
