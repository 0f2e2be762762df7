"""From the rows a store returns to a typed snapshot in which every malformed row is kept and flagged.

A snapshot never fails because of one row: each problem becomes a reason in the row's
`issues`, the original text of any value that could not be typed is kept in `raw_values`,
and columns the model does not know are carried in `extra`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from dateutil import parser as date_parser
from pandas.errors import OutOfBoundsDatetime

from crm_hygiene.model.records import TIMESTAMP_FIELDS, Entity, Status, spec

# Longer values are flagged: no real name, email or title is this long, and such values are
# usually pasted documents or attacks that downstream parsers should not be fed blindly.
MAX_FIELD_CHARS = 4096
_CONTROL_CHARS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
_STATUSES = {s.value for s in Status}
SNAPSHOT_EXTRA_COLUMNS = ("extra", "raw_values", "issues", "malformed")


# Issues that leave a row without an id of its own: it stays in the snapshot with its reason,
# and normalization, matching and writes leave it out (a change could not name its record).
ID_MISSING = "id: missing"
ID_REPEATED = "id: repeated in the snapshot"
# A regular expression for pandas and DuckDB alike: the texts hold no metacharacters.
UNKEYED_PATTERN = f"{ID_MISSING}|{ID_REPEATED}"


@lru_cache(maxsize=65536)
def _parse_free_date(text: str) -> pd.Timestamp | None:
    """Parse one non-ISO date text; cached because CRM exports repeat the same few formats."""
    try:
        value = pd.Timestamp(date_parser.parse(text, dayfirst=False))
    except (ValueError, OverflowError, TypeError):
        return None
    if value.tzinfo is None:
        value = value.tz_localize("UTC")
    return value.tz_convert("UTC")


# A date, or a timestamp with seconds and an explicit offset ("Z" or "+01:00"): nothing to rewrite.
CANONICAL_TIMESTAMP = r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2}))?"
_ISO_OFFSET = r"(?:Z|[+-]\d\d(?::?\d\d)?)$"


def parse_timestamps(values: pd.Series) -> pd.Series:
    """ISO-8601 vectorized; other formats parsed once per distinct value; failures are NaT."""
    text = values.astype(object).where(values.notna(), None)
    # pandas reads an offset-less ISO value with the offset of the value before it, so values
    # with and without an explicit offset are parsed apart (offset-less ones are taken as UTC).
    has_offset = text.str.contains(_ISO_OFFSET, regex=True, na=False).astype(bool)
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
    for part in (has_offset, ~has_offset & text.notna()):
        if part.any():
            parsed.loc[part] = pd.to_datetime(text[part], errors="coerce", utc=True, format="ISO8601")
    retry = parsed.isna() & text.notna()
    if retry.any():
        distinct = text[retry].astype(str).unique()
        lookup = {value: _in_range(_parse_free_date(value.strip())) for value in distinct}
        parsed.loc[retry] = text[retry].astype(str).map(lookup).astype("datetime64[ns, UTC]")
    return parsed.astype("datetime64[ns, UTC]")


def _in_range(value: pd.Timestamp | None) -> pd.Timestamp | None:
    """The value if a nanosecond timestamp can hold it (1677 to 2262), else None."""
    if value is None:
        return None
    try:
        return value.as_unit("ns")
    except (OverflowError, OutOfBoundsDatetime):
        return None


def out_of_range(values: pd.Series) -> pd.Series:
    """Which texts are dates a typed column cannot hold (before 1677 or after 2262), such as
    the open end 9999-12-31 of an employment row; checked once per distinct text."""
    text = values.astype(object).where(values.notna(), None)
    present = text.dropna().astype(str)
    beyond = {value: _beyond_range(value.strip()) for value in present.unique()}
    return present.map(beyond).reindex(text.index, fill_value=False).astype(bool)


def _beyond_range(text: str) -> bool:
    value = _parse_free_date(text)
    return value is not None and _in_range(value) is None


def _arrow_text(values: pd.Series) -> tuple[pa.Array, bool]:
    """The column as Arrow strings, missing and empty as null, and whether it held text only.

    One conversion, then Arrow's C++ kernels do the checks.
    """
    items = values.to_numpy(dtype=object)
    try:
        array, text_only = pa.array(items, type=pa.string(), from_pandas=True), True
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # Stores return text; a number from a spreadsheet library, say, is spelled out.
        spelled = [None if v is None or (isinstance(v, float) and v != v) else str(v) for v in items]
        array, text_only = pa.array(spelled, type=pa.string()), False
    return pc.if_else(pc.equal(array, ""), pa.scalar(None, pa.string()), array), text_only


def _as_objects(array: pa.Array, original: pd.Series, text_only: bool) -> pd.Series:
    """Back to pandas text: the original string objects where present (no copies), None elsewhere."""
    if text_only:
        valid = pc.is_valid(array).to_numpy(zero_copy_only=False)
        out = np.where(valid, original.to_numpy(dtype=object), None)
    else:
        out = array.to_numpy(zero_copy_only=False)
    return pd.Series(out, index=original.index, dtype=object)


def _text(values: pd.Series) -> pd.Series:
    """Text or None: missing and empty are None, anything else is spelled out as a string."""
    array, text_only = _arrow_text(values)
    return _as_objects(array, values, text_only)


def _series(array: pa.Array, index: pd.Index) -> pd.Series:
    return pd.Series(array.to_numpy(zero_copy_only=False), index=index)


class _Issues:
    """Accumulates per-row reasons without a Python loop over rows."""

    def __init__(self, index: pd.Index) -> None:
        self.text = pd.Series("", index=index, dtype=object)

    def add(self, mask: pd.Series, reason: str | Callable[[pd.Series], pd.Series]) -> None:
        """Append `reason` to the rows in `mask`; a callable builds per-row text for those rows only."""
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            return
        addition = reason(mask) if callable(reason) else reason
        self.text.loc[mask] = self.text.loc[mask] + addition + "; "


def prepare_snapshot(entity: Entity, raw: pd.DataFrame) -> pd.DataFrame:
    """Typed canonical columns plus `extra`, `raw_values`, `issues` and `malformed`.

    `raw_values` (JSON per row) holds the text of values that could not be typed, and of
    timestamps not written the ISO way ("03/05/2024"), as they were stored.
    """
    entity_spec = spec(entity)
    fields = list(entity_spec.fields)
    frame = raw.reset_index(drop=True)
    for name in fields:
        if name not in frame.columns:
            frame[name] = None
    unknown = [c for c in frame.columns if c not in fields]
    issues = _Issues(frame.index)
    raw_values: dict[str, pd.Series] = {}
    out = pd.DataFrame(index=frame.index)

    for name in fields:
        if name == "version" or name in TIMESTAMP_FIELDS:
            continue
        array, text_only = _arrow_text(frame[name])
        control = pc.fill_null(pc.match_substring_regex(array, _CONTROL_CHARS), False)
        issues.add(_series(control, frame.index), f"{name}: control characters")
        lengths = _series(pc.fill_null(pc.utf8_length(array), 0), frame.index)
        issues.add(
            lengths > MAX_FIELD_CHARS,
            lambda rows, n=name, lengths=lengths: (
                f"{n}: " + lengths[rows].astype(str) + f" characters (limit {MAX_FIELD_CHARS})"
            ),
        )
        out[name] = _as_objects(array, frame[name], text_only)

    ids = out["id"]
    issues.add(ids.isna(), ID_MISSING)
    issues.add(ids.notna() & ids.duplicated(keep=False), ID_REPEATED)

    version_text = _text(frame["version"])
    version = pd.to_numeric(version_text, errors="coerce")
    bad_version = version_text.notna() & (version.isna() | (version < 1) | (version % 1 != 0))
    issues.add(
        bad_version,
        lambda rows: "version: not a positive integer " + version_text[rows].astype(str).str.slice(0, 40),
    )
    issues.add(version_text.isna(), "version: missing")
    raw_values["version"] = version_text.where(bad_version, None)
    out["version"] = version.where(~bad_version).astype("Int64")

    for name in sorted(TIMESTAMP_FIELDS & set(fields)):
        text = _text(frame[name])
        parsed = parse_timestamps(text)
        bad = text.notna() & parsed.isna()
        beyond = out_of_range(text.where(bad, None)) if bad.any() else bad
        issues.add(
            bad & ~beyond,
            lambda rows, n=name, text=text: (
                f"{n}: unparseable date " + text[rows].astype(str).str.slice(0, 40).map(repr)
            ),
        )
        # Read, but no typed column holds it: kept as written (raw_values), typed as missing.
        issues.add(
            beyond,
            lambda rows, n=name, text=text: (
                f"{n}: date outside 1677-2262, kept as written "
                + text[rows].astype(str).str.slice(0, 40).map(repr)
            ),
        )
        # The typed value loses how it was written; text not already written the ISO way is
        # kept, so standardization can propose rewriting it (and nothing typed by hand is lost).
        written_iso = text.str.fullmatch(CANONICAL_TIMESTAMP, na=False).astype(bool)
        raw_values[name] = text.where(bad | (text.notna() & ~written_iso), None)
        out[name] = parsed

    status = out["status"]
    issues.add(status.notna() & ~status.isin(_STATUSES), "status: not one of active, merged, flagged")
    issues.add(status.isna(), "status: missing")
    issues.add(
        (status == Status.MERGED.value) & out["merged_into"].isna(),
        "merged_into: missing for a merged record",
    )
    flags = out["flags"]
    # Per distinct value: almost every record carries "[]" or one of a few flag lists.
    flag_ok = {value: _is_json_list(value) for value in flags.dropna().unique()}
    well_formed = flags.map(flag_ok).astype("boolean").fillna(True).astype(bool)
    issues.add(flags.notna() & ~well_formed, "flags: not a JSON list")

    out = out[fields]
    out["extra"] = _json_rows(frame[unknown]) if unknown else None
    raw_frame = pd.DataFrame(raw_values)
    out["raw_values"] = _json_rows(raw_frame) if not raw_frame.empty else None
    out["issues"] = issues.text.str.rstrip("; ")
    out["malformed"] = out["issues"] != ""
    return out


def restore_snapshot_dtypes(entity: Entity, frame: pd.DataFrame) -> pd.DataFrame:
    """Give a snapshot read back from the warehouse (all or some of its columns) the dtypes
    `prepare_snapshot` produced."""
    out = frame.copy()
    if "version" in out:
        out["version"] = pd.to_numeric(out["version"], errors="coerce").astype("Int64")
    for name in TIMESTAMP_FIELDS & set(spec(entity).fields) & set(out.columns):
        out[name] = pd.to_datetime(out[name], utc=True).astype("datetime64[ns, UTC]")
    for name in out.columns:
        if out[name].dtype == object:
            out[name] = out[name].where(out[name].notna(), None)
    if "malformed" in out:
        out["malformed"] = out["malformed"].astype(bool)
    return out


def _is_json_list(value: str) -> bool:
    try:
        return isinstance(json.loads(value), list)
    except (json.JSONDecodeError, TypeError):
        return False


def _json_rows(frame: pd.DataFrame) -> pd.Series:
    """One JSON object per row of the non-missing values, None where a row has none."""
    values = frame.astype(object).where(frame.notna(), None)
    keep = values.notna().any(axis=1)
    out = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    if keep.any():
        # Rows as arrays, not to_dict: a sheet of 100,000 columns would take seconds a row.
        columns = list(values.columns)
        out.loc[keep] = np.array(
            [
                json.dumps(
                    {k: v for k, v in zip(columns, row, strict=True) if v is not None}, ensure_ascii=False
                )
                for row in values[keep].to_numpy(dtype=object)
            ],
            dtype=object,
        )
    return out
