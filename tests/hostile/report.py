"""The corpus table of docs/hostile-input.md: what each store made of each category.

    python -m tests.hostile.report [--postgres URL]

Runs the same checks as tests/hostile/test_corpus.py and counts their outcomes."""

from __future__ import annotations

import argparse
import tempfile
import uuid
from collections import defaultdict
from pathlib import Path

import sqlalchemy as sa

from crm_hygiene.stores import SqlRecordStore
from tests.hostile import checks
from tests.hostile.corpus import cases

COLUMNS = [
    "cases",
    "completed",
    "refused in one line",
    "not representable",
    "rows before",
    "rows after",
    "cells altered",
    "failed",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", default="postgresql+psycopg2://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hostile_"))
    sqlite = SqlRecordStore(f"sqlite:///{work / 'crm.sqlite'}")
    schema = f"hostile_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(args.postgres)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    postgres = SqlRecordStore(args.postgres, schema=schema)
    table: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(COLUMNS, 0))
    try:
        for number, case in enumerate(cases()):
            for store in ("CSV", "XLSX", "SQLite", "PostgreSQL", "dedupe files"):
                row = table[(case.category, store)]
                row["cases"] += 1
                try:
                    if store == "CSV":
                        result = checks.check_csv(case, work / f"csv{number}")
                    elif store == "XLSX":
                        result = checks.check_xlsx(case, work / f"x{number}.xlsx")
                    elif store == "dedupe files":
                        result = checks.check_dedupe_files(case, work / f"d{number}")
                    else:
                        sql = sqlite if store == "SQLite" else postgres
                        result = checks.check_sql(case, sql, f"h{number}")
                except AssertionError:
                    row["failed"] += 1
                    continue
                key = {"completed": "completed", "refused": "refused in one line"}.get(
                    result.status, "not representable"
                )
                row[key] += 1
                row["rows before"] += result.rows_before
                row["rows after"] += result.rows_after
                row["cells altered"] += result.altered
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    print("| category | store | " + " | ".join(COLUMNS) + " |")
    print("|---|---|" + "---:|" * len(COLUMNS))
    for (category, store), row in table.items():
        print(f"| {category} | {store} | " + " | ".join(f"{row[c]:,}" for c in COLUMNS) + " |")


if __name__ == "__main__":
    main()
