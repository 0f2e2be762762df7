"""Read one tenant's rows of a SQLite table as Arrow, through the ADBC SQLite driver.

The sqlite3 module hands a snapshot back as a Python tuple of Python objects per row (about
13 s per million contacts); the ADBC driver fills Arrow columns in C, and pandas then makes
each column's strings at once. DuckDB's SQLite scanner would do the same, but it is an
extension DuckDB downloads on first use, which an offline machine cannot.

The caller falls back to its own reader whenever this one returns None: the driver is not
installed, the database is not a file, or the driver refuses the data (SQLite is dynamically
typed, the driver infers one Arrow type per column).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa

# Rows per batch, and so the rows the driver looks at to choose a column's type: all of them
# (the driver allocates as rows come, and refuses 2**31 - 1). A column whose first rows are all
# NULL (merged_into, say) would otherwise be typed int64 and fail on its first text.
_BATCH_ROWS = 1 << 30


def read_tenant_rows(
    database: str, table: str, columns: list[str], tenant: str, *, text_columns: list[str]
) -> pd.DataFrame | None:
    """`columns` of `table` where tenant = `tenant`, ordered by id, as the sqlite3 module would
    give them to pandas (text as str or None in object columns); None if this reader cannot."""
    try:
        import adbc_driver_sqlite.dbapi as adbc_sqlite
    except ImportError:
        return None
    path = Path(database)
    if not path.is_file():
        return None
    names = ", ".join(f'"{c}"' for c in columns)
    query = f'SELECT {names} FROM "{table}" WHERE tenant = ? ORDER BY id'
    try:
        # Read-only: a reader never creates or changes the file.
        with adbc_sqlite.connect(path.resolve().as_uri() + "?mode=ro") as conn, conn.cursor() as cursor:
            cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(_BATCH_ROWS)})
            cursor.execute(query, (tenant,))
            rows = cursor.fetch_arrow_table()
    except Exception:
        # The driver refused (a column of mixed types, bytes that are not UTF-8, a lock):
        # the ordinary reader takes over.
        return None
    if rows.num_rows == 0:
        return None  # no rows, no types to read: the ordinary reader gives the empty frame's dtypes
    arrays = {}
    for name in columns:
        array = rows.column(name)
        if name in text_columns:
            if array.null_count == len(array):
                array = pa.nulls(len(array), pa.string())
            elif not pa.types.is_string(array.type) and not pa.types.is_large_string(array.type):
                return None  # a number or blob in a text column: the ordinary reader keeps its type
        elif not pa.types.is_integer(array.type) or array.null_count:
            return None  # an integer column (version) holding anything else
        arrays[name] = array
    # Text becomes object columns of str and None, as the sqlite3 module returns it.
    return pa.table(arrays).to_pandas()
