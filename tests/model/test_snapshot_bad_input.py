"""Malformed rows are kept and flagged with their reason; the snapshot never fails on one row."""

from __future__ import annotations

import json

import pandas as pd
import pandera.errors
import pytest

from crm_hygiene.model import CONTACT, Entity
from crm_hygiene.model.schemas import raw_snapshot_schema, snapshot_schema
from crm_hygiene.model.snapshot import MAX_FIELD_CHARS, prepare_snapshot, restore_snapshot_dtypes


def _raw(**columns: list[object]) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    base = {name: [None] * n for name in CONTACT.fields}
    base.update({"tenant": ["acme"] * n, "version": ["1"] * n, "status": ["active"] * n, "flags": ["[]"] * n})
    base["id"] = [f"C{i}" for i in range(n)]
    base.update(columns)
    return pd.DataFrame(base)


HOSTILE = [
    ("control characters", {"first_name": ["Ann\x00\x1b[31m"]}, "first_name: control characters"),
    ("100 kB string", {"title": ["x" * 100_000]}, f"title: 100000 characters (limit {MAX_FIELD_CHARS})"),
    (
        "unparseable date",
        {"last_activity_at": ["31/31/2020"]},
        "last_activity_at: unparseable date '31/31/2020'",
    ),
    ("date far out of range", {"created_at": ["99999-01-01"]}, "created_at: unparseable date"),
    (
        "open end in year 9999",
        {"created_at": ["9999-12-31"]},
        "created_at: date outside 1677-2262, kept as written '9999-12-31'",
    ),
    (
        "year 1 with a time",
        {"last_activity_at": ["0001-01-01T00:00:00Z"]},
        "last_activity_at: date outside 1677-2262, kept as written '0001-01-01T00:00:00Z'",
    ),
    ("wrong type version", {"version": ["two"]}, "version: not a positive integer two"),
    ("negative version", {"version": ["-3"]}, "version: not a positive integer -3"),
    ("unknown status", {"status": ["deleted"]}, "status: not one of active, merged, flagged"),
    ("merged without survivor", {"status": ["merged"]}, "merged_into: missing for a merged record"),
    ("flags not JSON", {"flags": ["{oops"]}, "flags: not a JSON list"),
    ("missing id", {"id": [None]}, "id: missing"),
]


@pytest.mark.parametrize(("label", "columns", "reason"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_each_hostile_value_is_kept_and_flagged(label: str, columns: dict, reason: str) -> None:
    good = _raw(first_name=["Bob"])
    bad = _raw(**columns)
    bad["id"] = bad["id"] if "id" in columns else ["C9"]
    raw = pd.concat([good, bad], ignore_index=True)
    snap = prepare_snapshot(Entity.CONTACT, raw)
    assert len(snap) == 2, "no row is dropped"
    assert not snap.loc[0, "malformed"]
    assert snap.loc[1, "malformed"]
    assert reason in snap.loc[1, "issues"]
    snapshot_schema(Entity.CONTACT).validate(snap, lazy=True)


def test_original_text_of_untypable_values_is_kept() -> None:
    snap = prepare_snapshot(Entity.CONTACT, _raw(last_activity_at=["yesterday-ish"], version=["v2"]))
    assert json.loads(snap.loc[0, "raw_values"]) == {"version": "v2", "last_activity_at": "yesterday-ish"}
    assert pd.isna(snap.loc[0, "last_activity_at"])


def test_common_non_iso_dates_parse_and_iso_is_utc() -> None:
    snap = prepare_snapshot(
        Entity.CONTACT,
        _raw(last_activity_at=["2024-03-05T10:00:00+02:00", "March 5, 2024", "2024-03-05", None]),
    )
    assert not snap["malformed"].any()
    assert str(snap.loc[0, "last_activity_at"]) == "2024-03-05 08:00:00+00:00"
    assert str(snap.loc[1, "last_activity_at"]) == "2024-03-05 00:00:00+00:00"
    assert pd.isna(snap.loc[3, "last_activity_at"])


def test_unknown_columns_are_carried_in_extra_and_repeated_ids_flagged() -> None:
    raw = _raw(first_name=["A", "B"])
    raw["id"] = ["C1", "C1"]
    raw["favourite_colour"] = ["red", None]
    snap = prepare_snapshot(Entity.CONTACT, raw)
    assert json.loads(snap.loc[0, "extra"]) == {"favourite_colour": "red"}
    assert snap.loc[1, "extra"] is None
    assert list(snap["issues"]) == ["id: repeated in the snapshot"] * 2


def test_sql_and_formula_looking_text_is_plain_data() -> None:
    values = ["Robert'); DROP TABLE contacts;--", '=HYPERLINK("http://x")', "12345", "🙂 Zoë"]
    snap = prepare_snapshot(Entity.CONTACT, _raw(first_name=values))
    assert list(snap["first_name"]) == values
    assert not snap["malformed"].any()


def test_snapshot_schema_catches_a_broken_frame() -> None:
    snap = prepare_snapshot(Entity.CONTACT, _raw(first_name=["A", "B"]))
    broken = snap.copy()
    broken.loc[1, "id"] = "C0"  # duplicate id on a row that claims to be well formed
    broken.loc[0, "issues"] = "made up"  # an issue without the malformed mark
    with pytest.raises(pandera.errors.SchemaErrors) as err:
        snapshot_schema(Entity.CONTACT).validate(broken, lazy=True)
    failed = set(err.value.failure_cases["check"].astype(str))
    assert "well_formed_rows_have_unique_ids" in failed
    assert "malformed_rows_say_why" in failed


def test_raw_schema_requires_every_canonical_column() -> None:
    raw = _raw(first_name=["A"]).drop(columns=["email"])
    with pytest.raises(pandera.errors.SchemaErrors, match="email"):
        raw_snapshot_schema(Entity.CONTACT).validate(raw, lazy=True)


def test_restore_dtypes_after_a_warehouse_round_trip() -> None:
    import duckdb

    snap = prepare_snapshot(Entity.CONTACT, _raw(last_activity_at=["2024-01-01", "bad"]))
    conn = duckdb.connect()
    conn.register("s", snap)
    back = restore_snapshot_dtypes(Entity.CONTACT, conn.execute("select * from s").fetch_df())
    snapshot_schema(Entity.CONTACT).validate(back, lazy=True)
    assert back["version"].dtype == "Int64"


def test_numbers_in_text_fields_are_spelled_out_not_lost() -> None:
    raw = _raw(first_name=[None] * 3, postcode=["02134", "", None])
    raw["first_name"] = pd.Series(
        [12345, 3.5, None], dtype=object
    )  # as a spreadsheet library hands them over
    snap = prepare_snapshot(Entity.CONTACT, raw)
    assert list(snap["first_name"]) == ["12345", "3.5", None]
    assert list(snap["postcode"]) == ["02134", None, None]
    assert not snap["malformed"].any()


def test_offsetless_timestamps_are_utc_whatever_comes_before_them() -> None:
    values = ["2024-03-05T11:30:00+01:00", "2024-03-05 10:00:00", "2024-03-05T10:00:00Z", "2024-03-05"]
    snap = prepare_snapshot(Entity.CONTACT, _raw(last_activity_at=values))
    assert [str(v) for v in snap["last_activity_at"]] == [
        "2024-03-05 10:30:00+00:00",
        "2024-03-05 10:00:00+00:00",
        "2024-03-05 10:00:00+00:00",
        "2024-03-05 00:00:00+00:00",
    ]


def test_timestamps_not_written_the_iso_way_keep_their_text() -> None:
    values = ["03/05/2024", "2024-03-05T10:00:00Z", "2024-03-05", "2024-03-05 10:00", "5 March 2024"]
    snap = prepare_snapshot(Entity.CONTACT, _raw(last_activity_at=values))
    kept = [json.loads(v)["last_activity_at"] if v else None for v in snap["raw_values"]]
    assert kept == ["03/05/2024", None, None, "2024-03-05 10:00", "5 March 2024"]
    assert snap["last_activity_at"].notna().all(), "the value is still typed"
    assert not snap["malformed"].any(), "a date written another way is not malformed"


def test_a_date_no_typed_column_holds_is_kept_as_written() -> None:
    # A nanosecond timestamp ends in 2262: 9999-12-31, the usual open end, is read and kept.
    snap = prepare_snapshot(Entity.CONTACT, _raw(created_at=["9999-12-31", "2024-01-02", "31/12/9999"]))
    assert json.loads(snap.loc[0, "raw_values"]) == {"created_at": "9999-12-31"}
    assert json.loads(snap.loc[2, "raw_values"]) == {"created_at": "31/12/9999"}
    assert pd.isna(snap.loc[0, "created_at"]) and pd.isna(snap.loc[2, "created_at"])
    assert not snap.loc[1, "malformed"]
