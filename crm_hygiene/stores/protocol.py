"""The one protocol every CRM record store implements, and the value types it speaks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

import pandas as pd

from crm_hygiene.model import Entity, Reference


class Outcome(StrEnum):
    APPLIED = "applied"
    # The record already holds the new value (a re-run after a crash, or someone made the same fix).
    ALREADY_APPLIED = "already_applied"
    # The record changed since the snapshot: reps win, the change goes back to review.
    CONFLICT = "conflict"
    MISSING = "missing"
    REJECTED = "rejected"
    # Part of an all-or-nothing group in which another change could not be applied.
    ROLLED_BACK = "rolled_back"


@dataclass(frozen=True)
class FieldChange:
    """Set `field` of one record from `old_value` to `new_value`.

    The write happens only if the record still holds `old_value` and, when given, is still
    at `expected_version`; otherwise the result is a conflict and nothing is written.
    """

    entity: Entity
    record_id: str
    field: str
    old_value: str | None
    new_value: str | None
    expected_version: int | None = None
    change_id: str | None = None


@dataclass(frozen=True)
class ChangeResult:
    change: FieldChange
    outcome: Outcome
    current_value: str | None = None
    current_version: int | None = None
    version_after: int | None = None
    reason: str = ""

    @property
    def written(self) -> bool:
        return self.outcome is Outcome.APPLIED


# A value stored otherwise than given: a character the store cannot hold was replaced.
REPLACED_COLUMNS = ["entity", "record_id", "field", "original", "stored"]


@dataclass(frozen=True)
class InsertReport:
    """Records added per entity, and the values stored with a character replaced
    (REPLACED_COLUMNS; the records are flagged `text_replaced:<field>`)."""

    counts: dict[Entity, int]
    replaced: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=REPLACED_COLUMNS))


@dataclass(frozen=True)
class ApplyReport:
    results: list[ChangeResult] = field(default_factory=list)

    def by_outcome(self, outcome: Outcome) -> list[ChangeResult]:
        return [r for r in self.results if r.outcome is outcome]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.results:
            out[r.outcome.value] = out.get(r.outcome.value, 0) + 1
        return out

    @property
    def ok(self) -> bool:
        return all(r.outcome in (Outcome.APPLIED, Outcome.ALREADY_APPLIED) for r in self.results)


class StoreError(RuntimeError):
    """A store cannot be opened or read; the message says which store, table and record."""


class UnreadableTableError(StoreError):
    """One table of a store cannot be read (a damaged sheet, a sheet without ids) while the
    others may be: a run can hold that table back and go on (policy `snapshot.on_unreadable_table`)."""

    def __init__(self, message: str, entity: Entity) -> None:
        super().__init__(message)
        self.entity = entity

    def __reduce__(self) -> tuple[object, ...]:
        # Picklable with its entity, as Dagster's multiprocess executor needs.
        return (type(self), (str(self), self.entity))


@runtime_checkable
class RecordStore(Protocol):
    """Where CRM records live. Nothing here deletes a record: merges and flags are field writes."""

    description: str

    def tenants(self) -> list[str]: ...

    def snapshot(self, tenant: str, entity: Entity) -> pd.DataFrame:
        """Every record of the tenant, as stored: canonical columns, then any unknown columns."""
        ...

    def read(self, tenant: str, entity: Entity, ids: Sequence[str]) -> pd.DataFrame:
        """The current rows for `ids` (unknown ids are absent from the result)."""
        ...

    def versions(self, tenant: str, entity: Entity) -> pd.DataFrame | None:
        """Every record's `id`, `version` and `updated_at` as stored (text), for an incremental
        snapshot to read only what changed; None when the store cannot list them more cheaply
        than a whole snapshot (a spreadsheet is read whole anyway)."""
        ...

    def find_references(self, tenant: str, reference: Reference, ids: Sequence[str]) -> pd.DataFrame:
        """Rows of `reference.entity` whose `reference.field` is one of `ids`: columns id, version, value."""
        ...

    def count(self, tenant: str, entity: Entity) -> int: ...

    def insert_records(self, tenant: str, entity: Entity, records: pd.DataFrame) -> int:
        """Add new records (loading a CRM export or the demo). Existing ids are an error."""
        ...

    def insert_tenant(self, tenant: str, records: Mapping[Entity, pd.DataFrame]) -> InsertReport:
        """Add new records of several entities, all or none: a failure (an existing id, a
        value that cannot be written) leaves the store as it was, never half a tenant."""
        ...

    def apply_changes(
        self, tenant: str, changes: Sequence[FieldChange], *, all_or_nothing: bool = False
    ) -> ApplyReport:
        """Write field changes with optimistic concurrency, one version bump per record."""
        ...

    def apply_change_frame(self, tenant: str, changes: pd.DataFrame) -> pd.DataFrame:
        """Write a batch of changes (`stores.changes.CHANGE_COLUMNS`) judged all at once
        (`stores.changes.judge`): one version bump per record, each `group_id` all-or-nothing.
        Returns the changes with their outcome, reason and version after the write."""
        ...
