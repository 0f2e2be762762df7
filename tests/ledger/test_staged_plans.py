"""SQLite reads the registry's staged tables once per statement, never once per ledger row.

Joined to a staged table, the ledger's tables were put in the outer loop by SQLite's planner
(it has no statistics for either), which then scanned the staged table for every record of
the tenant: 3,000 changed records against 200,000 assignments took 40 s per statement. Each
statement the registry runs while assigning ids is explained here on the connection that runs
it, and no plan may scan a staged table inside a loop over another table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from crm_hygiene.ledger import Ledger
from crm_hygiene.matching.clusters import assign_ids
from crm_hygiene.model import Entity

from .test_registry_reference import _history

STAGED_PREFIX = "staged_"  # the registry's staged tables: staged_keys, staged_ids, ...


def _nested_staged_scans(plan: list[tuple[Any, ...]]) -> list[str]:
    """Plan lines that scan a whole table as the inner loop of a join: a SCAN after another
    loop of the same parent, which SQLite runs once per row of that loop."""
    bad = []
    loops_seen: set[int] = set()
    for _node, parent, _unused, detail in plan:
        text = str(detail)
        if not text.startswith(("SCAN ", "SEARCH ")):
            continue
        if text.startswith("SCAN ") and parent in loops_seen:
            bad.append(text)
        loops_seen.add(parent)
    return bad


def test_the_registry_never_scans_a_staged_table_once_per_ledger_row(tmp_path: Path) -> None:
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    explained: list[str] = []
    problems: list[tuple[str, list[str]]] = []

    def explain(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        if (
            executemany
            or STAGED_PREFIX not in statement
            or not statement.lstrip().upper().startswith(("SELECT", "UPDATE", "INSERT", "DELETE"))
        ):
            return
        plan = cursor.connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters).fetchall()
        explained.append(statement)
        bad = _nested_staged_scans(plan)
        if bad:
            problems.append((statement, bad))

    event.listen(ledger.engine, "before_cursor_execute", explain)
    try:
        previous = None
        for number, clusters in enumerate(_history(seed=3)[:4], start=1):
            ours = assign_ids(
                ledger.registry, "t", Entity.CONTACT, clusters, run_id=f"run-{number}", previous=previous
            )
            by_record = ours.set_index("record_id")["entity_id"]
            previous = clusters.assign(
                auto_cluster=clusters["cluster"],
                auto_size=clusters.groupby("cluster")["record_id"].transform("size"),
                entity_id=clusters["record_id"].map(by_record),
            )
    finally:
        event.remove(ledger.engine, "before_cursor_execute", explain)
        ledger.close()
    # The narrowed reads and the retirement of merged ids were among the statements explained.
    assert any("staged_keys" in s for s in explained), explained
    assert any("staged_ids" in s for s in explained), explained
    assert any("staged_successors" in s and s.lstrip().upper().startswith("UPDATE") for s in explained)
    assert problems == [], problems


def test_the_check_flags_a_join_that_scans_a_staged_table_per_row(tmp_path: Path) -> None:
    """The check above is not vacuous: the join it replaced is flagged."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        assert raw is not None
        raw.execute(
            "CREATE TABLE assignments (tenant TEXT, record_id TEXT, entity_id TEXT, PRIMARY KEY (tenant, record_id))"
        )
        raw.execute("CREATE INDEX ix_entity ON assignments (tenant, entity_id)")
        raw.execute("CREATE TEMP TABLE staged_keys (record_id TEXT NOT NULL)")
        joined = raw.execute(
            "EXPLAIN QUERY PLAN SELECT DISTINCT a.entity_id FROM assignments a, temp.staged_keys s "
            "WHERE a.tenant = 't' AND a.record_id = s.record_id"
        ).fetchall()
        narrowed = raw.execute(
            "EXPLAIN QUERY PLAN SELECT a.entity_id FROM assignments a WHERE a.tenant = 't' "
            "AND a.record_id IN (SELECT record_id FROM temp.staged_keys)"
        ).fetchall()
    assert _nested_staged_scans(joined), joined
    assert _nested_staged_scans(narrowed) == [], narrowed
