"""Field changes as one frame, judged against the records' current rows in one pass.

Every store writes a batch of changes the same way: read the current rows of the records the
batch touches, judge every change at once (`judge`), then write the fields of each record
that is still to be written with one version bump (`record_writes`). The judgement is the
optimistic-concurrency rule of the whole project, for one change or a million:

missing record -> rejected field (unknown or store-managed) -> already applied (the value is in
place, whatever the version: a rerun converges) -> conflict (the record moved past the version
the decision was made on, or the field no longer holds the old value) -> conflict (another change
of the batch sets the same field to another value) -> applied.

Changes sharing a `group_id` are all-or-nothing (a merge, a flag): if any of them cannot be
written, the group's other writes are rolled back. Changes without a group stand alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from crm_hygiene.model import Entity, spec
from crm_hygiene.model.records import STORE_MANAGED_FIELDS
from crm_hygiene.stores.protocol import ChangeResult, FieldChange, Outcome

# The columns of a change frame; `seq` is the change's position, which decides ties.
CHANGE_COLUMNS = (
    "seq",
    "entity",
    "record_id",
    "field",
    "old_value",
    "new_value",
    "expected_version",
    "change_id",
    "group_id",
)
# What judging adds to each change.
RESULT_COLUMNS = ("outcome", "reason", "current_value", "current_version", "version_after")

ROLLED_BACK_REASON = "not written: another change of its group could not be applied"
# The group every change of an `all_or_nothing` call belongs to.
WHOLE_CALL = "__all_or_nothing__"


def canonical_text(values: pd.Series) -> pd.Series:
    """Stored values in comparable form: missing (None, NaN, "") is None, the rest is text."""
    out = values.astype(object)
    present = out.notna()
    out = out.where(present, None)
    text = out[present].astype(str)
    out[present] = text.where(text != "", None)
    return out


def as_versions(values: pd.Series) -> pd.Series:
    """Record versions as nullable integers (unreadable text is missing)."""
    return pd.to_numeric(values, errors="coerce").astype("Int64")


def change_frame(changes: Sequence[FieldChange], *, all_or_nothing: bool = False) -> pd.DataFrame:
    """A change frame from `FieldChange` objects; with `all_or_nothing` they form one group."""
    frame = pd.DataFrame(
        {
            "seq": np.arange(len(changes), dtype="int64"),
            "entity": [c.entity.value for c in changes],
            "record_id": [c.record_id for c in changes],
            "field": [c.field for c in changes],
            "old_value": [c.old_value for c in changes],
            "new_value": [c.new_value for c in changes],
            "expected_version": pd.array([c.expected_version for c in changes], dtype="Int64"),
            "change_id": [c.change_id for c in changes],
            "group_id": [WHOLE_CALL if all_or_nothing else None for _ in changes],
        },
        columns=list(CHANGE_COLUMNS),
    )
    return normalized_changes(frame)


def normalized_changes(changes: pd.DataFrame) -> pd.DataFrame:
    """The frame with every change column present, values canonical and `seq` in order."""
    missing = [c for c in ("entity", "record_id", "field", "old_value", "new_value") if c not in changes]
    if missing:
        raise ValueError(f"a change frame needs the columns {missing}")
    out = changes.copy()
    if "seq" not in out:
        out["seq"] = np.arange(len(out), dtype="int64")
    for name in ("expected_version",):
        out[name] = as_versions(out[name]) if name in out else pd.array([pd.NA] * len(out), dtype="Int64")
    for name in ("change_id", "group_id"):
        if name not in out:
            out[name] = None
        out[name] = out[name].astype(object).where(out[name].notna(), None)
    out["entity"] = out["entity"].astype(str)
    out["record_id"] = out["record_id"].astype(str)
    out["field"] = out["field"].astype(str)
    out["old_value"] = canonical_text(out["old_value"])
    out["new_value"] = canonical_text(out["new_value"])
    return out.sort_values("seq", kind="stable").reset_index(drop=True)


def judge(changes: pd.DataFrame, current: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Each change's outcome against `current` (entity value -> current rows indexed by id).

    Returns the change frame with `RESULT_COLUMNS` added; `version_after` is filled by
    `with_versions_after` once the write is done. A record whose id appears more than once in
    its table (a spreadsheet typed by hand) is rejected, never guessed.
    """
    out = changes.reset_index(drop=True).copy()
    n = len(out)
    outcome = np.full(n, Outcome.APPLIED.value, dtype=object)
    reason = np.full(n, "", dtype=object)
    current_value = np.full(n, None, dtype=object)
    current_version = np.full(n, np.nan)
    decided = np.zeros(n, dtype=bool)
    entity = out["entity"].to_numpy(dtype=object)
    record = out["record_id"].to_numpy(dtype=object)
    field = out["field"].to_numpy(dtype=object)
    old = out["old_value"].to_numpy(dtype=object)
    new = out["new_value"].to_numpy(dtype=object)

    def settle(
        mask: np.ndarray, value: Outcome, why: Callable[[np.ndarray], list[str]] | None = None
    ) -> None:
        # Reasons are built only for the changes this rule decides: most changes need none.
        todo = np.flatnonzero(mask & ~decided)
        outcome[todo] = value.value
        if why is not None and len(todo):
            reason[todo] = why(todo)
        decided[todo] = True

    for entity_name in pd.unique(entity):
        at = np.flatnonzero(entity == entity_name)
        rows = current.get(entity_name)
        if rows is None:
            rows = pd.DataFrame(columns=["version"])
        counts = rows.index.value_counts()
        repeated = counts[counts > 1]
        unique_rows = rows[~rows.index.duplicated(keep="first")]
        ids = pd.Index(record[at])
        exists = ids.isin(unique_rows.index)
        twice = ids.isin(repeated.index) if len(repeated) else np.zeros(len(at), dtype=bool)
        if "version" in unique_rows:
            current_version[at] = (
                as_versions(unique_rows["version"]).reindex(ids).to_numpy(dtype=float, na_value=np.nan)
            )
        for name in pd.unique(field[at]):
            on_field = at[field[at] == name]
            if name in unique_rows.columns:
                values = canonical_text(unique_rows[name]).reindex(pd.Index(record[on_field]))
                current_value[on_field] = values.to_numpy(dtype=object)
        mask = np.zeros(n, dtype=bool)
        mask[at[~exists & ~twice]] = True
        settle(mask, Outcome.MISSING, lambda i: [f"{entity[k]} {record[k]} does not exist" for k in i])
        mask = np.zeros(n, dtype=bool)
        mask[at[twice]] = True
        settle(
            mask,
            Outcome.REJECTED,
            lambda i, times=repeated: [
                f"{entity[k]} id {record[k]} appears {times[record[k]]} times in the sheet: "
                "give each row its own id"
                for k in i
            ],
        )
        allowed = set(spec(Entity(entity_name)).fields) - STORE_MANAGED_FIELDS
        mask = np.zeros(n, dtype=bool)
        mask[at[~pd.Index(field[at]).isin(list(allowed))]] = True
        settle(
            mask,
            Outcome.REJECTED,
            lambda i: [f"{entity[k]} {record[k]}: field {field[k]!r} cannot be changed" for k in i],
        )

    settle(_equal(current_value, new), Outcome.ALREADY_APPLIED)
    expected = out["expected_version"].to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        moved = ~np.isnan(expected) & ~(expected == current_version)
    settle(
        moved,
        Outcome.CONFLICT,
        lambda i: [
            f"{entity[k]} {record[k]} is at version {_version_text(current_version[k])}, "
            f"expected {_version_text(expected[k])}: edited since the snapshot"
            for k in i
        ],
    )
    settle(
        ~_equal(current_value, old),
        Outcome.CONFLICT,
        lambda i: [
            f"{entity[k]} {record[k]}.{field[k]} holds {current_value[k]!r}, "
            f"expected {old[k]!r}: edited since the snapshot"
            for k in i
        ],
    )
    # Two changes of the batch setting one field to different values: the first one wins.
    candidates = np.flatnonzero(~decided)
    if len(candidates):
        keys = pd.DataFrame(
            {"e": entity[candidates], "r": record[candidates], "f": field[candidates], "v": new[candidates]}
        )
        first = keys.groupby(["e", "r", "f"], sort=False)["v"].transform("first").to_numpy(dtype=object)
        clash = np.zeros(n, dtype=bool)
        clash[candidates] = ~_equal(first, keys["v"].to_numpy(dtype=object))
        settle(
            clash,
            Outcome.CONFLICT,
            lambda i: [
                f"{entity[k]} {record[k]}.{field[k]}: two different new values in one batch" for k in i
            ],
        )
    out["outcome"] = outcome
    out["reason"] = reason
    out["current_value"] = current_value
    out["current_version"] = pd.Series(current_version, index=out.index).astype("Int64")
    out["version_after"] = pd.array([pd.NA] * n, dtype="Int64")
    return roll_back_groups(out)


def _version_text(value: float) -> str:
    return "None" if np.isnan(value) else str(int(value))


def _equal(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Element-wise equality of two arrays of text where None equals None."""
    both_missing = pd.isna(left) & pd.isna(right)
    with np.errstate(invalid="ignore"):
        equal = np.asarray(left == right, dtype=bool)
    return equal | both_missing


def roll_back_groups(judged: pd.DataFrame) -> pd.DataFrame:
    """An all-or-nothing group with any change that cannot be written writes nothing."""
    grouped = judged["group_id"].notna()
    if not grouped.any():
        return judged
    ok = judged["outcome"].isin([Outcome.APPLIED.value, Outcome.ALREADY_APPLIED.value])
    failing = judged.loc[grouped & ~ok, "group_id"].unique()
    back = judged["group_id"].isin(failing) & (judged["outcome"] == Outcome.APPLIED.value)
    if not back.any():
        return judged
    out = judged.copy()
    out.loc[back, "outcome"] = Outcome.ROLLED_BACK.value
    out.loc[back, "reason"] = ROLLED_BACK_REASON
    return out


def reject(judged: pd.DataFrame, refused: np.ndarray | pd.Series, reasons: object) -> pd.DataFrame:
    """Changes judged applicable that a store cannot write after all (a value its encoding or
    type cannot hold, formula text in a sheet): rejected with `reasons` (one text, or one per
    refused change), their groups rolled back."""
    mask = np.asarray(refused, dtype=bool)
    if not mask.any():
        return judged
    out = judged.copy()
    out.loc[mask, "outcome"] = Outcome.REJECTED.value
    out.loc[mask, "reason"] = reasons
    return roll_back_groups(out)


def record_writes(judged: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per entity, one row per record to write, indexed by record id: `version` (as read) and,
    for every field the batch writes, its new value and `set:<field>` (whether this record
    gets it). Judged changes hold one value per field, so the pivot is unambiguous."""
    applied = judged[judged["outcome"] == Outcome.APPLIED.value].drop_duplicates(
        ["entity", "record_id", "field"], keep="first"
    )
    writes: dict[str, pd.DataFrame] = {}
    for entity_name, part in applied.groupby("entity", sort=False):
        values = part.pivot(index="record_id", columns="field", values="new_value")
        # A value may be None (a field cleared), so whether a record gets a field is kept apart.
        hits = part.assign(hit=True).pivot(index="record_id", columns="field", values="hit")
        wide = pd.DataFrame(index=values.index)
        wide["version"] = (
            part.groupby("record_id", sort=False)["current_version"].first().reindex(values.index)
        )
        for name in values.columns:
            wide[f"set:{name}"] = hits[name].eq(True)
            wide[name] = values[name].astype(object).where(values[name].notna(), None)
        writes[str(entity_name)] = wide
    return writes


def written_fields(wide: pd.DataFrame) -> list[str]:
    """The fields a `record_writes` frame sets."""
    return [c[len("set:") :] for c in wide.columns if c.startswith("set:")]


def with_versions_after(judged: pd.DataFrame) -> pd.DataFrame:
    """Fill `version_after` of the applied changes: their record's version plus one."""
    out = judged.copy()
    applied = (out["outcome"] == Outcome.APPLIED.value).to_numpy()
    out.loc[applied, "version_after"] = out.loc[applied, "current_version"].fillna(0) + 1
    return out


def results_of(judged: pd.DataFrame, changes: Sequence[FieldChange]) -> list[ChangeResult]:
    """`ChangeResult`s in the order of `changes` (for callers of the sequence API)."""
    ordered = judged.sort_values("seq")
    return [
        ChangeResult(
            change,
            Outcome(outcome),
            value,
            None if pd.isna(version) else int(version),
            None if pd.isna(after) else int(after),
            reason or "",
        )
        for change, outcome, value, version, after, reason in zip(
            changes,
            ordered["outcome"],
            ordered["current_value"],
            ordered["current_version"],
            ordered["version_after"],
            ordered["reason"],
            strict=True,
        )
    ]
