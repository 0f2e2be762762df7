"""Bulk inserts of whole frames: COPY on PostgreSQL, executemany elsewhere.

A batch writes hundreds of thousands of rows (proposals, intents, audit entries, staged
record values). Rendered as multi-row INSERT statements by the client they cost more in
Python than in the database; PostgreSQL's COPY takes them as one CSV stream, written by
Arrow. SQLite runs in process, where `executemany` is already a loop in C.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

# Rows per executemany call: bounds memory, and each call is one statement for the driver.
ROWS_PER_CALL = 10_000


def insert_frame(
    connection: sa.Connection,
    table: sa.Table,
    rows: pd.DataFrame,
    *,
    conflict_key: Sequence[str] | None = None,
) -> int:
    """Insert `rows` (columns named as `table`'s) into `table`; with `conflict_key`, rows
    whose key is already there are skipped. Returns how many rows were inserted."""
    if rows.empty:
        return 0
    if connection.dialect.name == "postgresql":
        return _copy_into(connection, table, rows, conflict_key)
    statement: sa.Insert = (
        insert_ignoring(connection, table, conflict_key) if conflict_key else sa.insert(table)
    )
    return execute_many(connection, statement.values({c: sa.bindparam(f"b_{c}") for c in rows.columns}), rows)


def execute_many(connection: sa.Connection, statement: sa.Executable, rows: pd.DataFrame) -> int:
    """Run one statement per row of `rows` (parameter `b_<column>` bound to each column) through
    the driver's `executemany`, in this connection's transaction; returns the rows affected.

    The statement is compiled once and the rows handed over as tuples of plain Python values:
    SQLAlchemy's per-row parameter processing would cost more than SQLite's own work.
    """
    compiled = statement.compile(dialect=connection.dialect)
    constants = compiled.params
    values = [
        _plain(rows[name[len("b_") :]], connection.dialect.name)
        if name.startswith("b_")
        else [constants[name]] * len(rows)  # a literal of the statement (version + 1)
        for name in compiled.positiontup or []
    ]
    data = list(zip(*values, strict=True)) if values else []
    affected = 0
    for start in range(0, len(data), ROWS_PER_CALL):
        result = connection.exec_driver_sql(str(compiled), data[start : start + ROWS_PER_CALL])
        affected += max(result.rowcount, 0)
    return affected


def _plain(column: pd.Series, dialect: str) -> list[object]:
    """A column as plain Python values for the driver: missing is None; on SQLite a timestamp is
    naive UTC text, as SQLAlchemy's DATETIME stores it there."""
    if dialect == "sqlite" and isinstance(column.dtype, pd.DatetimeTZDtype):
        # A batch stamps its rows with one or a few instants: format each once.
        codes, moments = pd.factorize(column)
        text = pd.Index(moments).tz_convert("UTC").strftime("%Y-%m-%d %H:%M:%S.%f")
        column = pd.Series(np.asarray(text, dtype=object)[codes], index=column.index).where(codes >= 0)
    return column.astype(object).where(column.notna(), None).tolist()


def copy_into(connection: sa.Connection, qualified_name: str, rows: pd.DataFrame) -> None:
    """COPY `rows` into a PostgreSQL table named in SQL (quoted, schema included)."""
    columns = ", ".join(connection.dialect.identifier_preparer.quote(c) for c in rows.columns)
    buffer = io.BytesIO()
    # Every value quoted, NULLs left as bare empty fields: COPY's CSV tells "" from NULL so.
    pacsv.write_csv(
        pa.Table.from_pandas(rows, preserve_index=False),
        buffer,
        pacsv.WriteOptions(include_header=False, quoting_style="all_valid"),
    )
    buffer.seek(0)
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.copy_expert(f"COPY {qualified_name} ({columns}) FROM STDIN WITH (FORMAT csv)", buffer)
    finally:
        cursor.close()


def qualified(connection: sa.Connection, table: sa.Table) -> str:
    """The table's name in SQL as this connection's schema translation places it."""
    preparer = connection.dialect.identifier_preparer
    schema = table.schema
    translate = connection.get_execution_options().get("schema_translate_map") or {}
    schema = translate.get(schema, schema)
    name = preparer.quote(table.name)
    return f"{preparer.quote_schema(schema)}.{name}" if schema else name


def _copy_into(
    connection: sa.Connection, table: sa.Table, rows: pd.DataFrame, conflict_key: Sequence[str] | None
) -> int:
    target = qualified(connection, table)
    if not conflict_key:
        copy_into(connection, target, rows)
        return len(rows)
    # COPY cannot skip conflicts: stage the rows in a temporary table of the same columns, then
    # one INSERT ... SELECT ... ON CONFLICT DO NOTHING.
    preparer = connection.dialect.identifier_preparer
    stage = preparer.quote(f"crm_hygiene_copy_{uuid.uuid4().hex[:12]}")
    columns = ", ".join(preparer.quote(c) for c in rows.columns)
    connection.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {stage} ON COMMIT DROP AS SELECT {columns} FROM {target} WITH NO DATA"
    )
    copy_into(connection, stage, rows)
    # A fresh temporary table has no statistics; the join that reads it is planned on them.
    connection.exec_driver_sql(f"ANALYZE {stage}")
    key = ", ".join(preparer.quote(c) for c in conflict_key)
    result = connection.exec_driver_sql(
        f"INSERT INTO {target} ({columns}) SELECT {columns} FROM {stage} ON CONFLICT ({key}) DO NOTHING"
    )
    return int(result.rowcount)


def insert_ignoring(connection: sa.Connection, table: sa.Table, key: Sequence[str]) -> sa.Insert:
    """An INSERT that skips rows whose `key` is already there, in this connection's dialect."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing(index_elements=list(key))


def update_where_in(
    connection: sa.Connection, table: sa.Table, key: str, keys: Sequence[str], values: dict[str, object]
) -> int:
    """`UPDATE table SET values WHERE key IN keys` for any number of keys; returns rows updated.

    PostgreSQL: the keys copied into a temporary table and joined; SQLite: one UPDATE per key
    through `executemany`.
    """
    unique = pd.Series(list(dict.fromkeys(keys)), dtype=object, name=key)
    if unique.empty:
        return 0
    if connection.dialect.name != "postgresql":
        statement = sa.update(table).where(table.c[key] == sa.bindparam(f"b_{key}")).values(values)
        return execute_many(connection, statement, unique.to_frame())
    preparer = connection.dialect.identifier_preparer
    stage = preparer.quote(f"crm_hygiene_keys_{uuid.uuid4().hex[:12]}")
    column = preparer.quote(key)
    connection.exec_driver_sql(f"CREATE TEMPORARY TABLE {stage} ({column} text PRIMARY KEY) ON COMMIT DROP")
    copy_into(connection, stage, unique.to_frame())
    connection.exec_driver_sql(f"ANALYZE {stage}")
    staged = sa.table(stage.strip('"'), sa.column(key))
    statement = sa.update(table).where(table.c[key] == staged.c[key]).values(values)
    return int(connection.execute(statement).rowcount)
