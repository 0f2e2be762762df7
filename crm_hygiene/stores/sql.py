"""CRM record store in any SQLAlchemy database: a SQLite file by default, PostgreSQL for teams."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from crm_hygiene.model import Entity, Reference, spec
from crm_hygiene.stores.concurrency import (
    RecordPlan,
    blocks_group,
    group_by_record,
    lost_race,
    plan_record,
    rolled_back,
    written,
)
from crm_hygiene.stores.protocol import ApplyReport, ChangeResult, FieldChange, StoreError
from crm_hygiene.stores.records_frame import prepare_new_records, utc_now_text
from crm_hygiene.stores.sql_tables import build_metadata
from crm_hygiene.stores.sqlite_arrow import read_tenant_rows

# Bound on values per IN (...) list: SQLite's default variable limit is 32766.
_CHUNK = 2000


def _chunks(values: Sequence[str], size: int = _CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class _LostRace(Exception):
    """Raised inside an all-or-nothing transaction so the whole group rolls back."""

    def __init__(self, plans: list[RecordPlan], lost: RecordPlan) -> None:
        self.results = [r for p in plans for r in (lost_race(p) if p is lost else rolled_back([p]))]


class SqlRecordStore:
    """Records in three tables (contacts, companies, employment) of one SQL database or schema."""

    def __init__(self, url: str, *, schema: str | None = None, create: bool = True) -> None:
        parsed = sa.engine.make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url)
        if schema:
            engine = engine.execution_options(schema_translate_map={None: schema})
        self._engine = engine
        self._metadata = build_metadata()
        where = f" schema {schema}" if schema else ""
        self.description = f"sql:{parsed.render_as_string(hide_password=True)}{where}"
        if create:
            try:
                self._metadata.create_all(self._engine)
            except sa.exc.SQLAlchemyError as exc:
                raise StoreError(f"cannot prepare the CRM tables in {self.description}: {exc}") from exc

    def _table(self, entity: Entity) -> sa.Table:
        return self._metadata.tables[spec(entity).table]

    def close(self) -> None:
        self._engine.dispose()

    def tenants(self) -> list[str]:
        selects = [sa.select(t.c.tenant).distinct() for t in self._metadata.tables.values()]
        with self._engine.connect() as conn:
            rows = conn.execute(sa.union(*selects)).scalars().all()
        return sorted(rows)

    def snapshot(self, tenant: str, entity: Entity) -> pd.DataFrame:
        table = self._table(entity)
        frame = self._sqlite_snapshot(tenant, table)
        if frame is None:
            stmt = sa.select(table).where(table.c.tenant == tenant).order_by(table.c.id)
            with self._engine.connect() as conn:
                frame = pd.read_sql(stmt, conn)
        return frame[list(spec(entity).fields)]

    def _sqlite_snapshot(self, tenant: str, table: sa.Table) -> pd.DataFrame | None:
        """A SQLite file's rows read as Arrow (no Python object per value on the way), or None
        where that reader does not apply and `pd.read_sql` reads them."""
        url = self._engine.url
        if url.get_backend_name() != "sqlite" or not url.database or url.query:
            return None
        if self._engine.get_execution_options().get("schema_translate_map"):
            return None
        return read_tenant_rows(
            url.database,
            table.name,
            [c.name for c in table.columns],
            tenant,
            text_columns=[c.name for c in table.columns if isinstance(c.type, sa.Text)],
        )

    def read(self, tenant: str, entity: Entity, ids: Sequence[str]) -> pd.DataFrame:
        table = self._table(entity)
        with self._engine.connect() as conn:
            frames = [self._read(conn, table, tenant, chunk) for chunk in _chunks(list(ids))]
        if not frames:
            return pd.DataFrame(columns=list(spec(entity).fields))
        return pd.concat(frames, ignore_index=True)

    @staticmethod
    def _read(conn: sa.Connection, table: sa.Table, tenant: str, ids: Sequence[str]) -> pd.DataFrame:
        stmt = sa.select(table).where(table.c.tenant == tenant, table.c.id.in_(list(ids)))
        return pd.DataFrame(conn.execute(stmt).mappings().all(), columns=[c.name for c in table.columns])

    def find_references(self, tenant: str, reference: Reference, ids: Sequence[str]) -> pd.DataFrame:
        table = self._table(reference.entity)
        column = table.c[reference.field]
        rows: list[sa.Row] = []
        with self._engine.connect() as conn:
            for chunk in _chunks(list(ids)):
                stmt = (
                    sa.select(table.c.id, table.c.version, column.label("value"))
                    .where(table.c.tenant == tenant, column.in_(list(chunk)))
                    .order_by(table.c.id)
                )
                rows.extend(conn.execute(stmt).all())
        return pd.DataFrame(rows, columns=["id", "version", "value"])

    def count(self, tenant: str, entity: Entity) -> int:
        table = self._table(entity)
        with self._engine.connect() as conn:
            stmt = sa.select(sa.func.count()).select_from(table).where(table.c.tenant == tenant)
            return int(conn.execute(stmt).scalar_one())

    def insert_records(self, tenant: str, entity: Entity, records: pd.DataFrame) -> int:
        table = self._table(entity)
        unknown = [c for c in records.columns if c not in table.c]
        if unknown:
            raise StoreError(f"{self.description}: table {table.name} has no column(s) {', '.join(unknown)}")
        frame = prepare_new_records(tenant, entity, records)
        rows = frame[list(spec(entity).fields)].to_dict("records")
        try:
            with self._engine.begin() as conn:
                clash = [
                    record_id
                    for chunk in _chunks(list(frame["id"]))
                    for record_id in conn.execute(
                        sa.select(table.c.id).where(table.c.tenant == tenant, table.c.id.in_(list(chunk)))
                    ).scalars()
                ]
                if clash:
                    raise StoreError(
                        f"{self.description}: {entity} ids already exist for tenant {tenant!r}: "
                        f"{', '.join(sorted(clash)[:10])}"
                    )
                for start in range(0, len(rows), 10_000):
                    conn.execute(table.insert(), rows[start : start + 10_000])
        except sa.exc.IntegrityError as exc:
            raise StoreError(
                f"{self.description}: some {entity} ids already exist for tenant {tenant!r}: {exc.orig}"
            ) from exc
        return len(rows)

    def apply_changes(
        self, tenant: str, changes: Sequence[FieldChange], *, all_or_nothing: bool = False
    ) -> ApplyReport:
        if not changes:
            return ApplyReport([])
        try:
            with self._engine.begin() as conn:
                plans = self._plan(conn, tenant, changes)
                if all_or_nothing and blocks_group(plans):
                    return ApplyReport(rolled_back(plans))
                results: list[ChangeResult] = []
                for plan in plans:
                    if not self._write(conn, tenant, plan):
                        if all_or_nothing:
                            raise _LostRace(plans, plan)
                        results.extend(lost_race(plan))
                    else:
                        results.extend(
                            written(plan, (plan.current_version or 0) + 1) if plan.to_set else plan.results
                        )
                return ApplyReport(results)
        except _LostRace as race:
            return ApplyReport(race.results)

    def _plan(self, conn: sa.Connection, tenant: str, changes: Sequence[FieldChange]) -> list[RecordPlan]:
        grouped = group_by_record(changes)
        current: dict[tuple[str, str], dict] = {}
        by_entity: dict[str, list[str]] = {}
        for entity_name, record_id in grouped:
            by_entity.setdefault(entity_name, []).append(record_id)
        for entity_name, ids in by_entity.items():
            table = self._table(Entity(entity_name))
            for chunk in _chunks(ids):
                stmt = sa.select(table).where(table.c.tenant == tenant, table.c.id.in_(list(chunk)))
                for row in conn.execute(stmt).mappings():
                    current[(entity_name, row["id"])] = dict(row)
        return [plan_record(group, current.get(key)) for key, group in grouped.items()]

    def _write(self, conn: sa.Connection, tenant: str, plan: RecordPlan) -> bool:
        """Write the plan's fields guarded by its version; False if the record moved meanwhile."""
        if not plan.to_set:
            return True
        entity = plan.results[0].change.entity
        table = self._table(entity)
        stmt = (
            sa.update(table)
            .where(
                table.c.tenant == tenant,
                table.c.id == plan.record_id,
                table.c.version == plan.current_version,
            )
            .values(**plan.to_set, version=table.c.version + 1, updated_at=utc_now_text())
        )
        return conn.execute(stmt).rowcount == 1
