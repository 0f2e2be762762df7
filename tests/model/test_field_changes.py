"""When a person last changed each field: the tracker keeps this tool's writes out of it."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pandas as pd

from crm_hygiene.model import Entity
from crm_hygiene.model.field_changes import changed_at_frame, track_field_changes

T0 = pd.Timestamp("2026-01-01T00:00:00Z")
T1 = pd.Timestamp("2026-03-01T00:00:00Z")
T2 = pd.Timestamp("2026-06-01T00:00:00Z")


def _snapshot(rows: list[dict[str, object]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for name in ("first_name", "last_name", "email", "phone", "title", "company_id", "company_name"):
        if name not in frame:
            frame[name] = None
    for name in ("street", "city", "region", "postcode", "country"):
        frame[name] = None
    frame["updated_at"] = pd.to_datetime(frame["updated_at"], utc=True)
    return frame


def _track(
    conn: duckdb.DuckDBPyConnection, snapshot: pd.DataFrame, first: bool, writes: pd.DataFrame
) -> pd.DataFrame:
    conn.register("snap", snapshot)
    track_field_changes(
        conn,
        Entity.CONTACT,
        snapshot="snap",
        previous=None if first else "changes",
        target="changes_next",
        tool_writes=writes,
        seen_at=datetime.now(UTC),
    )
    conn.execute("CREATE OR REPLACE TABLE changes AS SELECT * FROM changes_next")
    conn.unregister("snap")
    seen = changed_at_frame(conn.execute("SELECT * FROM changes").fetch_df())
    # The frame holds naive datetime64 values meaning UTC; compared here with aware times.
    return seen.apply(lambda column: column.dt.tz_localize("UTC"))


def test_a_persons_edit_is_dated_and_this_tools_writes_are_not() -> None:
    conn = duckdb.connect()
    no_writes = pd.DataFrame(columns=["record_id", "field", "value"])
    first = _snapshot(
        [
            {"id": "A", "phone": "+1 555 0100", "company_id": "K1", "updated_at": T0},
            {"id": "B", "phone": "+1 555 0200", "company_id": "K2", "updated_at": T0},
            {"id": "C", "phone": "+1 555 0300", "company_id": "K1", "updated_at": T0},
        ]
    )
    seen = _track(conn, first, True, no_writes)
    assert (seen["phone"] == T0).all() and (seen["company_id"] == T0).all()

    later = _snapshot(
        [
            # A rep corrected A's phone.
            {"id": "A", "phone": "+1 555 0199", "company_id": "K1", "updated_at": T1},
            # This tool re-pointed B to its company's survivor: updated_at moved, nobody edited.
            {"id": "B", "phone": "+1 555 0200", "company_id": "K9", "updated_at": T2},
            # Untouched fields of C, though something bumped its updated_at.
            {"id": "C", "phone": "+1 555 0300", "company_id": "K1", "updated_at": T2},
            # A record loaded since.
            {"id": "D", "phone": "+1 555 0400", "company_id": "K1", "updated_at": T1},
        ]
    )
    writes = pd.DataFrame([{"record_id": "B", "field": "company_id", "value": "K9"}])
    seen = _track(conn, later, False, writes)
    assert seen.at["A", "phone"] == T1 and seen.at["A", "company_id"] == T0
    assert seen.at["B", "company_id"] == T0 and seen.at["B", "phone"] == T0
    assert seen.at["C", "phone"] == T0
    assert seen.at["D", "phone"] == T1

    # The next run: nothing changed, so nothing moves, even with the tool's write no longer
    # in the window; and a value the tool did not write is a person's.
    again = later.assign(updated_at=pd.Timestamp("2026-07-01T00:00:00Z"))
    again.loc[again["id"] == "C", "company_id"] = "K5"
    seen = _track(conn, again, False, pd.DataFrame(columns=["record_id", "field", "value"]))
    assert seen.at["B", "company_id"] == T0
    assert seen.at["C", "company_id"] == pd.Timestamp("2026-07-01T00:00:00Z")


def test_an_incremental_update_gives_the_table_a_whole_comparison_gives(tmp_path) -> None:
    # An incremental run compares only the records its snapshot found new, changed or gone;
    # every other row must come out as the whole comparison would make it, seen_at included.
    from crm_hygiene import tables
    from crm_hygiene.demo import DemoConfig, generate_demo_crm
    from crm_hygiene.ledger import Ledger
    from crm_hygiene.model.snapshot import prepare_snapshot
    from crm_hygiene.pipeline.field_changes import update_field_changes
    from crm_hygiene.warehouse import read_table, write_table

    raw = generate_demo_crm(DemoConfig(contacts=400, companies=80, seed=3, tenant="t")).records[
        Entity.CONTACT
    ]
    before = prepare_snapshot(Entity.CONTACT, raw)
    after_raw = raw.copy()
    edited = after_raw.index[10:30]
    after_raw.loc[edited, "title"] = "Head of Data"
    after_raw.loc[edited[:5], "phone"] = None
    after_raw.loc[edited, "updated_at"] = "2026-12-01T09:00:00+00:00"
    gone = after_raw["id"].iloc[40:45]
    added = after_raw.iloc[50:53].assign(id=["N1", "N2", "N3"])
    after_raw = pd.concat([after_raw[~after_raw["id"].isin(gone)], added], ignore_index=True)
    after = prepare_snapshot(Entity.CONTACT, after_raw)
    changed = pd.concat([raw.loc[edited, "id"], gone, added["id"]], ignore_index=True)

    seen_before, seen_after = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 2, tzinfo=UTC)
    results = []
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.sqlite'}") as ledger:
        for incremental in (False, True):
            conn = duckdb.connect()
            write_table(conn, "t", tables.snapshot(Entity.CONTACT), before)
            update_field_changes(conn, "t", Entity.CONTACT, ledger, now=seen_before)
            write_table(conn, "t", tables.snapshot(Entity.CONTACT), after)
            update_field_changes(
                conn, "t", Entity.CONTACT, ledger, now=seen_after, changed=changed if incremental else None
            )
            results.append(
                read_table(conn, "t", tables.field_changes(Entity.CONTACT))
                .sort_values("id")
                .reset_index(drop=True)
            )
    whole, incremental_table = results
    assert len(whole) == len(after) and not whole["id"].isin(gone).any()
    pd.testing.assert_frame_equal(whole, incremental_table)
    # The edits are dated by the edit, the untouched fields of edited records keep their time.
    by_id = whole.set_index("id")
    assert (by_id.loc[raw.loc[edited, "id"], "t_title"] == pd.Timestamp("2026-12-01T09:00:00Z")).all()
    assert (by_id["seen_at"] == pd.Timestamp(seen_after)).all()
