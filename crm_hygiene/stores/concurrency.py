"""Optimistic-concurrency judgement shared by every store: which changes may be written."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from crm_hygiene.model import spec
from crm_hygiene.model.records import STORE_MANAGED_FIELDS
from crm_hygiene.stores.protocol import ChangeResult, FieldChange, Outcome


def canonical(value: object) -> str | None:
    """The comparable form of a stored value: missing (None, NaN, empty) is None, the rest is text."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    text = str(value)
    return text if text != "" else None


def as_version(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


@dataclass
class RecordPlan:
    """What to do with one record: the results so far and the fields to write."""

    record_id: str
    current_version: int | None
    results: list[ChangeResult]
    to_set: dict[str, str | None]


def group_by_record(changes: Iterable[FieldChange]) -> dict[tuple[str, str], list[FieldChange]]:
    grouped: dict[tuple[str, str], list[FieldChange]] = {}
    for change in changes:
        grouped.setdefault((change.entity.value, change.record_id), []).append(change)
    return grouped


def plan_record(changes: Sequence[FieldChange], current: Mapping[str, object] | None) -> RecordPlan:
    """Judge the changes to one record against its current row (None if it does not exist)."""
    record_id = changes[0].record_id
    if current is None:
        results = [
            ChangeResult(c, Outcome.MISSING, reason=f"{c.entity} {record_id} does not exist") for c in changes
        ]
        return RecordPlan(record_id, None, results, {})
    version = as_version(current.get("version"))
    fields = set(spec(changes[0].entity).fields)
    results: list[ChangeResult] = []
    to_set: dict[str, str | None] = {}
    for change in changes:
        now_value = canonical(current.get(change.field))
        base = {"current_value": now_value, "current_version": version}
        if change.field not in fields or change.field in STORE_MANAGED_FIELDS:
            reason = f"{change.entity} {record_id}: field {change.field!r} cannot be changed"
            results.append(ChangeResult(change, Outcome.REJECTED, reason=reason, **base))
        elif now_value == canonical(change.new_value):
            # Nothing to overwrite, whatever the version: a re-run after a crash converges here.
            results.append(ChangeResult(change, Outcome.ALREADY_APPLIED, **base))
        elif change.expected_version is not None and change.expected_version != version:
            reason = (
                f"{change.entity} {record_id} is at version {version}, expected {change.expected_version}: "
                "edited since the snapshot"
            )
            results.append(ChangeResult(change, Outcome.CONFLICT, reason=reason, **base))
        elif now_value != canonical(change.old_value):
            reason = (
                f"{change.entity} {record_id}.{change.field} holds {now_value!r}, "
                f"expected {canonical(change.old_value)!r}: edited since the snapshot"
            )
            results.append(ChangeResult(change, Outcome.CONFLICT, reason=reason, **base))
        elif change.field in to_set and to_set[change.field] != canonical(change.new_value):
            reason = f"{change.entity} {record_id}.{change.field}: two different new values in one batch"
            results.append(ChangeResult(change, Outcome.CONFLICT, reason=reason, **base))
        else:
            to_set[change.field] = canonical(change.new_value)
            results.append(ChangeResult(change, Outcome.APPLIED, **base))
    return RecordPlan(record_id, version, results, to_set)


def blocks_group(plans: Iterable[RecordPlan]) -> bool:
    """True if any change in an all-or-nothing group cannot be applied."""
    return any(r.outcome not in (Outcome.APPLIED, Outcome.ALREADY_APPLIED) for p in plans for r in p.results)


def rolled_back(plans: Iterable[RecordPlan]) -> list[ChangeResult]:
    out: list[ChangeResult] = []
    for plan in plans:
        for r in plan.results:
            if r.outcome is Outcome.APPLIED:
                out.append(
                    ChangeResult(
                        r.change,
                        Outcome.ROLLED_BACK,
                        r.current_value,
                        r.current_version,
                        reason="not written: another change of its group could not be applied",
                    )
                )
            else:
                out.append(r)
    return out


def written(plan: RecordPlan, version_after: int) -> list[ChangeResult]:
    """The plan's results once its fields were written at `version_after`."""
    return [
        ChangeResult(r.change, r.outcome, r.current_value, r.current_version, version_after, r.reason)
        if r.outcome is Outcome.APPLIED
        else r
        for r in plan.results
    ]


def lost_race(plan: RecordPlan) -> list[ChangeResult]:
    """The record changed between our read and our guarded write."""
    return [
        ChangeResult(
            r.change,
            Outcome.CONFLICT,
            r.current_value,
            r.current_version,
            reason=f"{r.change.entity} {plan.record_id} changed while being written",
        )
        if r.outcome is Outcome.APPLIED
        else r
        for r in plan.results
    ]
