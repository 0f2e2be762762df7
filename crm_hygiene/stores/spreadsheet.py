"""A spreadsheet acting as a CRM: a folder of CSV files or one XLSX workbook.

One sheet per entity (contacts, companies, employment). Every cell is read as text and
written back as text, so columns the model does not know, and their order, survive a
round trip. Canonical columns missing from a sheet are appended on the first write.
"""

from __future__ import annotations

import fcntl
import os
import stat
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from crm_hygiene.model import Entity, Reference, spec
from crm_hygiene.stores.changes import (
    change_frame,
    judge,
    normalized_changes,
    record_writes,
    results_of,
    with_versions_after,
    written_fields,
)
from crm_hygiene.stores.protocol import ApplyReport, FieldChange, StoreError
from crm_hygiene.stores.records_frame import prepare_new_records, utc_now_text


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
        entity_spec = spec(entity)
        if self.is_workbook:
            frame = self._load_book().get(entity_spec.table)
        else:
            csv_path = self._csv_path(entity)
            frame = None
            if csv_path.exists():
                try:
                    # utf-8-sig: a byte-order mark (Excel's "CSV UTF-8") is not part of the first header.
                    frame = pd.read_csv(csv_path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
                except pd.errors.EmptyDataError as exc:
                    # Not even a header row: more likely a file cut short than a sheet meant empty.
                    raise StoreError(
                        f"{self.description}: cannot read {csv_path.name}: the file is empty (no header row)"
                    ) from exc
                except (pd.errors.ParserError, UnicodeDecodeError) as exc:
                    raise StoreError(f"{self.description}: cannot read {csv_path.name}: {exc}") from exc
        if frame is None:
            frame = pd.DataFrame(columns=list(entity_spec.fields), dtype=object)
        # A team's own sheet has no bookkeeping columns: every row starts as an active version 1.
        defaults = {"tenant": self.default_tenant, "version": "1", "status": "active", "flags": "[]"}
        for name in entity_spec.fields:
            if name not in frame.columns:
                frame[name] = defaults.get(name, "")
        frame["tenant"] = frame["tenant"].where(frame["tenant"] != "", self.default_tenant)
        return frame

    def _save(self, entity: Entity, frame: pd.DataFrame) -> None:
        text = frame.astype(object).where(frame.notna(), "")
        if self.is_workbook:
            book = self._load_book()
            book[spec(entity).table] = text
            self._atomic_write(self.path, lambda target: _write_book(book, target))
        else:
            path = self._csv_path(entity)
            # A file that began with a byte-order mark keeps it: the program it came from reads it so.
            encoding = "utf-8-sig" if _has_bom(path) else "utf-8"
            self._atomic_write(path, lambda target: text.to_csv(target, index=False, encoding=encoding))

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

    def insert_records(self, tenant: str, entity: Entity, records: pd.DataFrame) -> int:
        frame = prepare_new_records(tenant, entity, records)
        with self._locked():
            existing = self._load(entity)
            clash = set(existing.loc[existing["tenant"] == tenant, "id"]) & set(frame["id"])
            if clash:
                raise StoreError(
                    f"{self.description}: {entity} ids already exist: {', '.join(sorted(clash)[:10])}"
                )
            frame = frame.astype(object).where(frame.notna(), "")
            frame["version"] = frame["version"].astype(str)
            # Columns the new rows bring that the sheet lacks are appended after the existing ones.
            self._save(entity, pd.concat([existing, frame], ignore_index=True).fillna(""))
        return len(frame)

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
            sheets = {name: self._load(Entity(name)) for name in pd.unique(frame["entity"])}
            current = {
                name: sheet[sheet["tenant"] == tenant].set_index("id", drop=False)
                for name, sheet in sheets.items()
            }
            judged = judge(frame, current)
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
                self._save(Entity(name), sheet)
        return with_versions_after(judged)


def _write_book(book: dict[str, pd.DataFrame], target: Path) -> None:
    with pd.ExcelWriter(target, engine="openpyxl") as writer:
        for name, frame in book.items():
            frame.to_excel(writer, sheet_name=name, index=False)


_BOM = b"\xef\xbb\xbf"


def _has_bom(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(len(_BOM)) == _BOM
    except FileNotFoundError:
        return False


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
