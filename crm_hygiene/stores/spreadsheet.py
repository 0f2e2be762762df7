"""A spreadsheet acting as a CRM: a folder of CSV files or one XLSX workbook.

One sheet per entity (contacts, companies, employment). Every cell is read as text. A CSV
sheet is written back in the dialect it was read in, byte for byte but for the cells the
store changed (`csv_sheet`), so columns the model does not know, their order, quoting, line
endings, byte-order mark and encoding survive. Canonical columns missing from a sheet are
appended on the first write. A sheet without an `id` column, a ragged record or an
unbalanced quote is refused in one line naming the file and line, before anything is written.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from crm_hygiene.model import Entity, Reference, spec
from crm_hygiene.stores.changes import (
    change_frame,
    judge,
    normalized_changes,
    record_writes,
    reject,
    results_of,
    with_versions_after,
    written_fields,
)
from crm_hygiene.stores.csv_sheet import CsvLayout, SheetError, new_layout, read_sheet, render_sheet
from crm_hygiene.stores.formula_text import refuse_formula_text
from crm_hygiene.stores.protocol import (
    ApplyReport,
    FieldChange,
    InsertReport,
    Outcome,
    StoreError,
    UnreadableTableError,
)
from crm_hygiene.stores.records_frame import prepare_new_records, utc_now_text
from crm_hygiene.stores.unstorable import WORKBOOK_CONTROL, Unstorable, refuse_unstorable, replace_unstorable
from crm_hygiene.stores.xlsx_sheet import XlsxLayout, write_sheets


class SpreadsheetRecordStore:
    """Records in `PATH/{contacts,companies,employment}.csv` or the sheets of `PATH.xlsx`."""

    def __init__(self, path: str | Path, *, default_tenant: str = "default") -> None:
        self.path = Path(path)
        self.is_workbook = self.path.suffix.lower() in (".xlsx", ".xlsm")
        self.default_tenant = default_tenant
        self.description = f"spreadsheet:{self.path}"
        if not self.is_workbook:
            self.path.mkdir(parents=True, exist_ok=True)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    # -- file access ---------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """One writer at a time: read-modify-write of a file is not atomic by itself."""
        lock_path = self.path.with_name(self.path.name + ".lock") if self.is_workbook else self.path / ".lock"
        with open(lock_path, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _csv_path(self, entity: Entity) -> Path:
        return self.path / f"{spec(entity).table}.csv"

    def _load_book(self) -> dict[str, pd.DataFrame]:
        if not self.path.exists():
            return {}
        try:
            return pd.read_excel(
                self.path, sheet_name=None, dtype=str, keep_default_na=False, engine="openpyxl"
            )
        except Exception as exc:  # openpyxl raises many types for a damaged file
            raise StoreError(f"{self.description}: cannot read the workbook: {exc}") from exc

    def _load(self, entity: Entity) -> pd.DataFrame:
        """The sheet as stored (all text), with canonical columns added at the end if missing."""
        return self._load_with_layout(entity)[0]

    def _load_with_layout(self, entity: Entity) -> tuple[pd.DataFrame, CsvLayout | XlsxLayout | None]:
        entity_spec = spec(entity)
        layout: CsvLayout | XlsxLayout | None = None
        if self.is_workbook:
            frame = self._load_book().get(entity_spec.table)
            if frame is not None:
                layout = XlsxLayout(list(frame.columns), len(frame))
        else:
            csv_path = self._csv_path(entity)
            frame = None
            if csv_path.exists():
                try:
                    frame, layout = read_sheet(csv_path.read_bytes())
                except (SheetError, OSError) as exc:
                    raise UnreadableTableError(
                        f"{self.description}: cannot read {csv_path.name}: {exc}", entity
                    ) from None
        if frame is None:
            frame = pd.DataFrame(columns=list(entity_spec.fields), dtype=object)
        elif "id" not in frame.columns:
            # Without ids no change can name its record: refuse before anything is written.
            shown = ", ".join(repr(c) for c in list(frame.columns)[:8])
            raise UnreadableTableError(
                f"{self.description}: {entity_spec.table} has no 'id' column (its columns: {shown})", entity
            )
        # A team's own sheet has no bookkeeping columns: every row starts as an active version 1.
        defaults = {"tenant": self.default_tenant, "version": "1", "status": "active", "flags": "[]"}
        for name in entity_spec.fields:
            if name not in frame.columns:
                frame[name] = defaults.get(name, "")
        frame["tenant"] = frame["tenant"].where(frame["tenant"] != "", self.default_tenant)
        if layout is not None:
            # What was read, defaults included: a cell that still holds it is written back as it was.
            layout.baseline = frame.copy()
        return frame, layout

    def _save(
        self, entity: Entity, frame: pd.DataFrame, layout: CsvLayout | XlsxLayout | None = None
    ) -> None:
        if self.is_workbook:
            assert layout is None or isinstance(layout, XlsxLayout)
            sheets = {spec(entity).table: (frame, layout)}
            self._atomic_write(self.path, lambda target: write_sheets(self.path, target, sheets))
        else:
            assert layout is None or isinstance(layout, CsvLayout)
            data = self._render(entity, frame, layout)
            self._atomic_write(self._csv_path(entity), lambda target: target.write_bytes(data))

    def _render(self, entity: Entity, frame: pd.DataFrame, layout: CsvLayout | None) -> bytes:
        try:
            return render_sheet(frame, layout or new_layout())
        except SheetError as exc:
            raise StoreError(
                f"{self.description}: cannot write {self._csv_path(entity).name}: {exc}"
            ) from None

    @staticmethod
    def _atomic_write(path: Path, write) -> None:
        # Write beside the target then rename, so a crash never leaves half a sheet.
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
        os.close(fd)
        try:
            write(Path(tmp))
            # mkstemp makes the file private (0600); the sheet keeps the mode it had, or gets
            # the one a new file gets under the process's umask.
            os.chmod(tmp, _mode_of(path))
            _keep_owner(path, Path(tmp))
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    # -- the protocol --------------------------------------------------------------------

    def tenants(self) -> list[str]:
        found: set[str] = set()
        for entity in Entity:
            found.update(self._load(entity)["tenant"].unique())
        return sorted(found)

    def snapshot(self, tenant: str, entity: Entity) -> pd.DataFrame:
        frame = self._load(entity)
        frame = frame[frame["tenant"] == tenant]
        canonical_cols = list(spec(entity).fields)
        unknown = [c for c in frame.columns if c not in canonical_cols]
        out = frame[canonical_cols + unknown].reset_index(drop=True)
        out[canonical_cols] = out[canonical_cols].replace("", None)
        return out

    def read(self, tenant: str, entity: Entity, ids: Sequence[str]) -> pd.DataFrame:
        snap = self.snapshot(tenant, entity)
        return snap[snap["id"].isin(list(ids))].reset_index(drop=True)

    def versions(self, tenant: str, entity: Entity) -> None:
        # A sheet is read whole to find any row: an incremental snapshot compares rows instead.
        return None

    def find_references(self, tenant: str, reference: Reference, ids: Sequence[str]) -> pd.DataFrame:
        snap = self.snapshot(tenant, reference.entity)
        hits = snap[snap[reference.field].isin(list(ids))]
        return pd.DataFrame(
            {"id": hits["id"], "version": hits["version"], "value": hits[reference.field]}
        ).reset_index(drop=True)

    def count(self, tenant: str, entity: Entity) -> int:
        return int((self._load(entity)["tenant"] == tenant).sum())

    @property
    def unstorable(self) -> Unstorable | None:
        return WORKBOOK_CONTROL if self.is_workbook else None

    def insert_records(self, tenant: str, entity: Entity, records: pd.DataFrame) -> int:
        return self.insert_tenant(tenant, {entity: records}).counts[entity]

    def insert_tenant(self, tenant: str, records: Mapping[Entity, pd.DataFrame]) -> InsertReport:
        """Every sheet is checked and rendered before the first is replaced: an existing id or
        a value a sheet cannot hold leaves every sheet as it was."""
        with self._locked():
            sheets: dict[Entity, tuple[pd.DataFrame, CsvLayout | XlsxLayout | None]] = {}
            replaced: list[pd.DataFrame] = []
            for entity, new in records.items():
                frame, found = replace_unstorable(
                    entity, prepare_new_records(tenant, entity, new), self.unstorable, where=self.description
                )
                replaced.append(found)
                existing, layout = self._load_with_layout(entity)
                clash = set(existing.loc[existing["tenant"] == tenant, "id"]) & set(frame["id"])
                if clash:
                    raise StoreError(
                        f"{self.description}: {entity} ids already exist: {', '.join(sorted(clash)[:10])}"
                    )
                frame = frame.astype(object).where(frame.notna(), "")
                frame["version"] = frame["version"].astype(str)
                # Columns the new rows bring that the sheet lacks are appended after the existing ones.
                sheets[entity] = (pd.concat([existing, frame], ignore_index=True).fillna(""), layout)
            if self.is_workbook:
                by_name = {spec(entity).table: (frame, layout) for entity, (frame, layout) in sheets.items()}
                self._atomic_write(self.path, lambda target: write_sheets(self.path, target, by_name))
            else:
                rendered = {
                    entity: self._render(entity, frame, layout if isinstance(layout, CsvLayout) else None)
                    for entity, (frame, layout) in sheets.items()
                }
                for entity, data in rendered.items():
                    self._atomic_write(
                        self._csv_path(entity), lambda target, data=data: target.write_bytes(data)
                    )
        return InsertReport(
            {entity: len(new) for entity, new in records.items()},
            pd.concat(replaced, ignore_index=True) if replaced else InsertReport({}).replaced,
        )

    def apply_changes(
        self, tenant: str, changes: Sequence[FieldChange], *, all_or_nothing: bool = False
    ) -> ApplyReport:
        if not changes:
            return ApplyReport([])
        judged = self.apply_change_frame(tenant, change_frame(changes, all_or_nothing=all_or_nothing))
        return ApplyReport(results_of(judged, changes))

    def apply_change_frame(self, tenant: str, changes: pd.DataFrame) -> pd.DataFrame:
        """Judge a whole batch under the file lock and rewrite each touched sheet once.

        Sheets are replaced one after the other (each atomically): a crash between two leaves
        part of the batch written, which the writer's intent in the ledger completes on rerun.
        """
        frame = normalized_changes(changes)
        if frame.empty:
            return judge(frame, {})
        with self._locked():
            loaded = {name: self._load_with_layout(Entity(name)) for name in pd.unique(frame["entity"])}
            sheets = {name: sheet for name, (sheet, _) in loaded.items()}
            current = {
                name: sheet[sheet["tenant"] == tenant].set_index("id", drop=False)
                for name, sheet in sheets.items()
            }
            judged = refuse_unstorable(_refuse_unwritable(judge(frame, current), loaded), self.unstorable)
            judged = refuse_formula_text(judged, sheets)
            now = utc_now_text()
            for name, wide in record_writes(judged).items():
                sheet = sheets[name]
                mine = sheet.index[sheet["tenant"] == tenant]
                # Sheet row labels of the records written (their ids are unique: judged so).
                at = pd.Series(mine, index=sheet.loc[mine, "id"].to_numpy()).loc[wide.index]
                for field in written_fields(wide):
                    chosen = wide[f"set:{field}"].to_numpy()
                    values = wide.loc[chosen, field]
                    sheet.loc[at[chosen].to_numpy(), field] = values.where(values.notna(), "").to_numpy()
                sheet.loc[at.to_numpy(), "version"] = (wide["version"].fillna(0) + 1).astype(str).to_numpy()
                sheet.loc[at.to_numpy(), "updated_at"] = now
                self._save(Entity(name), sheet, loaded[name][1])
        return with_versions_after(judged)


def _refuse_unwritable(
    judged: pd.DataFrame, loaded: dict[str, tuple[pd.DataFrame, CsvLayout | XlsxLayout | None]]
) -> pd.DataFrame:
    """A change whose value the sheet's encoding (Windows-1252, Latin-1) cannot hold is refused.

    Written anyway, the value would be replaced by "?" or stop the whole batch."""
    refused = pd.Series(False, index=judged.index)
    reasons = pd.Series("", index=judged.index, dtype=object)
    for name, (_, layout) in loaded.items():
        if not isinstance(layout, CsvLayout) or layout.encoding.startswith("utf"):
            continue
        todo = (
            (judged["entity"] == name)
            & (judged["outcome"] == Outcome.APPLIED.value)
            & judged["new_value"].notna()
        )
        for position, value in judged.loc[todo, "new_value"].items():
            try:
                str(value).encode(layout.encoding)
            except UnicodeEncodeError as exc:
                refused[position] = True
                reasons[position] = (
                    f"{str(value)[exc.start : exc.end]!r} cannot be written in the sheet's encoding ({layout.encoding})"
                )
    return reject(judged, refused, reasons[refused])


def _keep_owner(path: Path, replacement: Path) -> None:
    """The replacement belongs to whoever owned the sheet (a service account rewriting a
    team's shared file); only a privileged process may give a file away, so others skip it."""
    try:
        owner = path.stat()
    except FileNotFoundError:
        return
    mine = replacement.stat()
    # An unprivileged process cannot; the file is then the writer's, as any edit makes it.
    if (owner.st_uid, owner.st_gid) != (mine.st_uid, mine.st_gid):
        with contextlib.suppress(PermissionError):
            os.chown(replacement, owner.st_uid, owner.st_gid)


def _mode_of(path: Path) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return 0o666 & ~_umask()


def _umask() -> int:
    # Read, not set and restored: os.umask would change it for every thread for a moment.
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022
