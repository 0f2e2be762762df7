"""Flag, merge and unmerge expressed as field changes, so they share one audited write path."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence

from crm_hygiene.model import REFERENCES_TO, Entity, Reference, Status
from crm_hygiene.stores.concurrency import as_version, canonical
from crm_hygiene.stores.protocol import ChangeResult, FieldChange, Outcome, RecordStore, StoreError


def parse_flags(value: object, *, record: str = "") -> list[str]:
    """The flag codes stored in a record's `flags` field (a JSON list; legacy text is one flag)."""
    text = canonical(value)
    if text is None:
        return []
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        return [text]
    if isinstance(parsed, list):
        return [str(item) for item in parsed]
    return [str(parsed)]


def flag_changes(entity: Entity, current: Mapping[str, object], code: str) -> list[FieldChange]:
    """Add flag `code` to a record (and mark an active record flagged); nothing if already there."""
    record_id = str(current["id"])
    flags = parse_flags(current.get("flags"), record=record_id)
    if code in flags:
        return []
    version = as_version(current.get("version"))
    changes = [
        FieldChange(
            entity, record_id, "flags", canonical(current.get("flags")), json.dumps([*flags, code]), version
        )
    ]
    if canonical(current.get("status")) in (None, Status.ACTIVE.value):
        changes.append(
            FieldChange(
                entity, record_id, "status", canonical(current.get("status")), Status.FLAGGED.value, version
            )
        )
    return changes


def merge_changes(
    store: RecordStore,
    tenant: str,
    entity: Entity,
    survivor_id: str,
    loser_id: str,
    *,
    loser_version: int | None = None,
) -> list[FieldChange]:
    """The writes that merge `loser_id` into `survivor_id`: mark the loser, re-point every reference.

    The loser's writes expect `loser_version`, the version the decision was made on (the
    snapshot's), when given: a rep's edit to the loser since then (a corrected phone, a new
    e-mail, a status of their own) makes the merge a conflict instead of burying the edit in
    a merged-away record. Without it, the version read now.

    Raises StoreError naming the records when the merge makes no sense (same record, missing
    record, or a side that is already merged away).
    """
    if entity is Entity.EMPLOYMENT:
        raise StoreError("employment rows are not merged; merge the contacts or companies they link")
    if survivor_id == loser_id:
        raise StoreError(f"cannot merge {entity} {survivor_id} into itself")
    rows = store.read(tenant, entity, [survivor_id, loser_id]).set_index("id")
    for record_id in (survivor_id, loser_id):
        if record_id not in rows.index:
            raise StoreError(f"{entity} {record_id} does not exist for tenant {tenant!r}")
        if canonical(rows.at[record_id, "status"]) == Status.MERGED.value:
            target = canonical(rows.at[record_id, "merged_into"])
            raise StoreError(f"{entity} {record_id} is already merged into {target}")
    loser = rows.loc[loser_id]
    version = as_version(loser["version"]) if loser_version is None else loser_version
    changes = [
        FieldChange(entity, loser_id, "status", canonical(loser["status"]), Status.MERGED.value, version),
        FieldChange(entity, loser_id, "merged_into", canonical(loser["merged_into"]), survivor_id, version),
    ]
    # Records merged into the loser earlier follow it, so no chain of merges is ever left behind.
    references = (*REFERENCES_TO[entity], Reference(entity, "merged_into"))
    for reference in references:
        pointing = store.find_references(tenant, reference, [loser_id])
        for record_id in pointing["id"]:
            if reference.entity is entity and record_id == loser_id:
                continue
            changes.append(
                FieldChange(reference.entity, str(record_id), reference.field, loser_id, survivor_id)
            )
    return changes


def inverse_changes(results: Iterable[ChangeResult]) -> list[FieldChange]:
    """The writes that undo applied results, each guarded by the value the undo expects to find."""
    inverse: list[FieldChange] = []
    for result in results:
        if result.outcome is not Outcome.APPLIED:
            continue
        change = result.change
        inverse.append(
            FieldChange(change.entity, change.record_id, change.field, change.new_value, change.old_value)
        )
    return inverse


def require_all_applied(results: Sequence[ChangeResult], action: str) -> None:
    failed = [r for r in results if r.outcome not in (Outcome.APPLIED, Outcome.ALREADY_APPLIED)]
    if failed:
        reasons = "; ".join(r.reason or r.outcome.value for r in failed[:5])
        raise StoreError(f"{action} not applied: {reasons}")


def merge(
    store: RecordStore, tenant: str, entity: Entity, survivor_id: str, loser_id: str
) -> list[ChangeResult]:
    """Merge in one all-or-nothing write; raises StoreError if any part could not be written."""
    report = store.apply_changes(
        tenant, merge_changes(store, tenant, entity, survivor_id, loser_id), all_or_nothing=True
    )
    require_all_applied(report.results, f"merge of {entity} {loser_id} into {survivor_id}")
    return report.results


def unmerge(store: RecordStore, tenant: str, merge_results: Sequence[ChangeResult]) -> list[ChangeResult]:
    """Undo a merge from its results: every field it wrote goes back to its value before the merge."""
    report = store.apply_changes(tenant, inverse_changes(merge_results), all_or_nothing=True)
    require_all_applied(report.results, "unmerge")
    return report.results


def flag(store: RecordStore, tenant: str, entity: Entity, record_id: str, code: str) -> list[ChangeResult]:
    rows = store.read(tenant, entity, [record_id])
    if rows.empty:
        raise StoreError(f"{entity} {record_id} does not exist for tenant {tenant!r}")
    report = store.apply_changes(
        tenant, flag_changes(entity, rows.iloc[0].to_dict(), code), all_or_nothing=True
    )
    require_all_applied(report.results, f"flag {code!r} on {entity} {record_id}")
    return report.results
