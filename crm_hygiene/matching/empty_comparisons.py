"""Comparisons a file gives nothing to compare on, left out of its model.

A file maps a few of an entity's fields; the comparisons of the others (a contact file without
street or phone) put every pair on their null level, which weighs nothing. Splink still
samples u, runs EM and predicts on them, one pass over the pairs each: on a thousand-record
file half the training time went to five comparisons of empty columns. Leaving them out gives
the same score to every pair, because a comparison's first null level holds for any pair in
which one record has none of that level's columns (`tests/matching/test_empty_comparisons.py`
checks this for every comparison of both entities).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import duckdb

from crm_hygiene.matching.settings import Comparison

DIALECT = "duckdb"


def null_level_columns(comparison: Comparison) -> tuple[str, ...]:
    """The input columns of the comparison's first null level (empty if it has none)."""
    # A copy: building a Splink comparison changes its creator (a date level wraps its column
    # in the parse again on every build).
    built = copy.deepcopy(comparison.creator).get_comparison(DIALECT)
    for level in built.comparison_levels:
        if level.is_null_level:
            return tuple(column.input_name for column in level._input_columns_used_by_sql_condition)
    return ()


def split_empty(
    con: duckdb.DuckDBPyConnection, table: str, candidates: Sequence[Comparison]
) -> tuple[list[Comparison], list[str]]:
    """The comparisons at least two records of `table` have a value for, and the names of the rest.

    One scan of the table counts, per comparison, the records with any column of its first
    null level set; a comparison with fewer than two such records compares no pair.
    """
    columns = [null_level_columns(c) for c in candidates]
    counted = [i for i, names in enumerate(columns) if names]
    if not counted:
        return list(candidates), []
    counts = ", ".join(
        "count(*) FILTER (WHERE " + " OR ".join(f'"{name}" IS NOT NULL' for name in columns[i]) + ")"
        for i in counted
    )
    # fetchall: DuckDB keeps a result read with fetchone open and refuses the next statement.
    (row,) = con.execute(f"SELECT {counts} FROM {table}").fetchall()
    empty = {i for i, n in zip(counted, row, strict=True) if n < 2}
    kept = [c for i, c in enumerate(candidates) if i not in empty]
    return kept, [candidates[i].name for i in sorted(empty)]
