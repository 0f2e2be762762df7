"""Survivorship: per duplicate cluster, which record survives the merge and what each field holds after it.

Deduplication hands over clusters of records of one entity type. A merge (see
`crm_hygiene.stores.operations.merge_changes`) deletes nothing: each loser is marked
`merged_into` the survivor and references are re-pointed. What a bare merge would lose is the
losers' information (a newer phone, a fuller address), so this module plans, per cluster, the
survivor and the value each field of the survivor should hold afterwards, and where it came from.

Conventions, chosen so the plan is safe to apply and easy to review:

- Values are compared and proposed as text, the way stores hold them; timestamps are written
  "YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00" (UTC), as standardization writes them.
- A value is *empty* when missing or blank. Empty values are never candidates, so a merge never
  clears a field that some record of the cluster fills.
- With a normalized frame, a value whose `f_valid` is True is replaced by its canonical form:
  spelling variants of one value ("ACME inc" / "Acme Inc.") are one value, so they are neither a
  conflict nor a change. Rewriting the survivor's own value into canonical form is left to
  standardization; the plan compares against the survivor's canonical value. A value that
  normalization rejected (`f_valid` False) stays a candidate but ranks below every valid value,
  whatever the rule: an old valid email beats a new typo.
- Every ranking ends with "the survivor's value first, then the smallest record id", so the plan
  is a function of the data and never of row order.
- Records with status `merged` are already losers of an earlier merge: they are neither survivors,
  losers nor sources of values (their data was merged when they were), and are listed in
  `MergePlan.already_merged` so the caller sees that deduplication clustered them.

Everything is computed over whole frames: candidate values are melted into one long frame,
ranked with integer sort keys in one lexsort, and the first row per (cluster, field) is taken.
A dedup run yields ~1e5 clusters; a Python loop per cluster would take minutes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crm_hygiene.model.records import SPECS, Status


class Rule(StrEnum):
    """How the value of one field is chosen among the non-empty values of a cluster's records."""

    # The value of the record updated most recently (updated_at): the latest edit is the best guess.
    MOST_RECENT = "most_recent"
    # The value from the highest-ranked source; ties (or no source information) → most recent.
    MOST_TRUSTED_SOURCE = "most_trusted_source"
    # The longest value; ties → most recent. "Acme Industries Inc." says more than "Acme".
    MOST_COMPLETE = "most_complete"
    # The survivor's own value unless it is empty, then the most recent one.
    SURVIVOR = "survivor"
    # Multi-valued fields stored as JSON lists (flags): the sorted union, without duplicates.
    UNION = "union"
    # The greatest value (for timestamps: the latest); ties → most recent. For last_activity_at,
    # whose merged value is the latest activity of any of the records, not of the latest edit.
    LATEST = "latest"


class SurvivorCriterion(StrEnum):
    """One criterion of the survivor ordering; every criterion puts missing timestamps last."""

    # Most non-empty business fields: the record that needs the fewest values copied into it.
    MOST_COMPLETE = "most_complete"
    # Latest last_activity_at: the record reps actually work with.
    LATEST_ACTIVITY = "latest_activity"
    # Latest updated_at.
    LATEST_UPDATE = "latest_update"
    # Earliest created_at: the original record, the one external links most likely point at.
    OLDEST = "oldest"
    # Highest-ranked source (skipped when the records carry no source column or no ranking is set).
    TRUSTED_SOURCE = "trusted_source"


# Bookkeeping the store or the merge itself writes: no survivorship rule may propose them.
# source_system_id is the record's key in the system it was imported from, unique per record:
# copying it onto the survivor would make two records claim the same external record.
NEVER_PROPOSED: frozenset[str] = frozenset(
    {"id", "tenant", "source_system_id", "version", "created_at", "updated_at", "status", "merged_into"}
)

# Fields of every entity in the canonical model, and those that carry business information.
MODEL_FIELDS: frozenset[str] = frozenset(f for s in SPECS.values() for f in s.fields)
BUSINESS_FIELDS: frozenset[str] = frozenset(f for s in SPECS.values() for f in s.business_fields)

_ADDRESS = ("street", "city", "region", "postcode", "country")

DEFAULT_FIELD_RULES: Mapping[str, Rule] = MappingProxyType(
    {
        # Contact details and names change over time: the latest edit is most likely current.
        **dict.fromkeys(("first_name", "last_name", "email", "phone", "title"), Rule.MOST_RECENT),
        # Company names, websites and addresses get abbreviated or half-typed, rarely outdated.
        **dict.fromkeys(("company_name", "name", "website", *_ADDRESS), Rule.MOST_COMPLETE),
        "flags": Rule.UNION,
        # Ownership stays with the surviving record's rep.
        "owner": Rule.SURVIVOR,
        "last_activity_at": Rule.LATEST,
    }
)

DEFAULT_SURVIVOR_CRITERIA: tuple[SurvivorCriterion, ...] = (
    SurvivorCriterion.MOST_COMPLETE,
    SurvivorCriterion.LATEST_ACTIVITY,
    SurvivorCriterion.OLDEST,
)


@dataclass(frozen=True)
class SurvivorshipPolicy:
    """How a cluster's survivor and its merged field values are chosen.

    - `survivor_criteria`: ordering of the candidates, first criterion first; the smallest id
      always breaks the last tie, so the choice is deterministic. Default: most non-empty
      business fields, then latest activity, then oldest created_at.
    - `field_rules`: the rule of each field (the whole map: use `with_rules` to change a few
      fields and keep the defaults of the others); fields not in it follow `default_rule`.
    - `source_ranking`: source names, most trusted first, read from the `source_column` of the
      records. Sources not ranked (or missing) rank after all ranked ones. Without that column,
      or with an empty ranking, `most_trusted_source` falls back to `most_recent`.
    """

    survivor_criteria: tuple[SurvivorCriterion, ...] = DEFAULT_SURVIVOR_CRITERIA
    # Left out of the hash (a mapping has none), so a policy can still key a cache.
    field_rules: Mapping[str, Rule] = field(default_factory=lambda: DEFAULT_FIELD_RULES, hash=False)
    default_rule: Rule = Rule.MOST_RECENT
    source_ranking: tuple[str, ...] = ()
    source_column: str = "source"

    def __post_init__(self) -> None:
        # Accept plain strings (from YAML config, say) but fail early on unknown names.
        try:
            criteria = tuple(SurvivorCriterion(c) for c in self.survivor_criteria)
            rules = {str(k): Rule(v) for k, v in self.field_rules.items()}
            default = Rule(self.default_rule)
        except ValueError as exc:
            raise ValueError(f"SurvivorshipPolicy: {exc}") from None
        forbidden = sorted(NEVER_PROPOSED & rules.keys())
        if forbidden:
            raise ValueError(f"SurvivorshipPolicy: fields {forbidden} are never proposed by a merge")
        ranking = tuple(str(s) for s in self.source_ranking)
        repeated = sorted({s for s in ranking if ranking.count(s) > 1})
        if repeated:
            raise ValueError(f"SurvivorshipPolicy: sources ranked twice: {repeated}")
        object.__setattr__(self, "survivor_criteria", criteria)
        object.__setattr__(self, "field_rules", MappingProxyType(rules))
        object.__setattr__(self, "default_rule", default)
        object.__setattr__(self, "source_ranking", ranking)

    def rule_for(self, name: str) -> Rule:
        return self.field_rules.get(name, self.default_rule)

    def with_rules(self, **rules: Rule | str) -> SurvivorshipPolicy:
        """This policy with the rules of some fields replaced, the others kept."""
        return replace(self, field_rules={**self.field_rules, **rules})


SURVIVOR_COLUMNS = ("cluster", "survivor_id", "loser_ids", "size")
FIELD_COLUMNS = (
    "cluster",
    "survivor_id",
    "field",
    "value",
    "current_value",
    "from_record_id",
    "rule",
    "conflict",
)
ALREADY_MERGED_COLUMNS = ("cluster", "record_id", "merged_into")


@dataclass(frozen=True)
class MergePlan:
    """What merging every cluster would do.

    - `survivors`: one row per cluster with at least two live records: `survivor_id`, the
      `loser_ids` (a list, by id) to merge into it, and `size` (1 + number of losers).
    - `fields`: per cluster and field, the merged `value` (text), the survivor's `current_value`
      (canonical when valid; None when empty), the record it came from (`from_record_id`, None for
      a union), the `rule` applied and `conflict` (the live records held more than one distinct
      non-empty value). Only rows where the value changes or where there was a conflict.
    - `already_merged`: records with status `merged` found in clusters of two or more records.
    """

    survivors: pd.DataFrame
    fields: pd.DataFrame
    already_merged: pd.DataFrame


def plan_merges(
    records: pd.DataFrame,
    clusters: pd.DataFrame,
    policy: SurvivorshipPolicy | None = None,
    *,
    normalized: pd.DataFrame | None = None,
    changed_at: pd.DataFrame | None = None,
) -> MergePlan:
    """Plan the merge of every cluster of two or more live records.

    `records` is a snapshot frame of one entity (`prepare_snapshot`); `clusters` has columns
    `record_id` and `cluster` (a missing cluster means the record was not clustered);
    `normalized` is the normalized frame of the same entity, matched to records by id;
    `changed_at` (`model.field_changes.changed_at_frame`: indexed by id, a column per field)
    says when a person last changed each field. Without it a record's `updated_at` stands for
    all its fields, and then this tool's own writes (a re-pointed reference) look like edits.
    Raises ValueError naming the offending ids for duplicate record ids, cluster members that
    are not in `records`, or a record placed in two clusters.
    """
    policy = policy or SurvivorshipPolicy()
    ids = _record_ids(records, "records")
    normalized_ids = None if normalized is None else _record_ids(normalized, "normalized")
    members = _members(clusters, ids)
    if members.empty:
        return _empty_plan()

    position = pd.Index(ids).get_indexer(members["record_id"].to_numpy())
    rows = records.iloc[position].reset_index(drop=True)
    rows["id"] = members["record_id"].to_numpy()
    cluster_code, labels = _cluster_codes(members["cluster"])
    multi = np.bincount(cluster_code)[cluster_code] >= 2

    merged = _text(_column(rows, "status")) == Status.MERGED.value
    already = pd.DataFrame(
        {
            "cluster": labels[cluster_code[multi & merged]],
            "record_id": rows["id"].to_numpy()[multi & merged],
            "merged_into": _text(_column(rows, "merged_into"))[multi & merged],
        }
    )
    already = _sorted(already, cluster_code[multi & merged], "record_id")

    live = ~merged
    live_size = np.bincount(cluster_code[live], minlength=len(labels))
    keep = live & (live_size[cluster_code] >= 2)
    rows = rows[keep].reset_index(drop=True)
    cluster_code = cluster_code[keep]
    if rows.empty:
        return MergePlan(_empty(SURVIVOR_COLUMNS), _empty(FIELD_COLUMNS), already)

    context = _Context.build(rows, cluster_code, policy, changed_at)
    survivor = _choose_survivors(context, rows, policy)
    survivors = _survivor_frame(context, labels, survivor)
    position = None if normalized_ids is None else pd.Index(normalized_ids).get_indexer(context.record_id)
    fields = _field_plan(context, rows, labels, survivor, policy, normalized, position)
    return MergePlan(survivors, fields, already.reset_index(drop=True))


# --- inputs --------------------------------------------------------------------------------------


def _few(values: np.ndarray | list[str], limit: int = 10) -> str:
    shown = ", ".join(repr(str(v)) for v in list(values)[:limit])
    more = len(values) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def _record_ids(frame: pd.DataFrame, name: str) -> np.ndarray:
    """The ids of a frame as text; ValueError for a missing column, missing or duplicate ids."""
    if "id" not in frame.columns:
        raise ValueError(f"{name} has no 'id' column")
    ids = _text(frame["id"])
    missing = int(pd.isna(ids).sum())
    if missing:
        raise ValueError(f"{name}: {missing} rows have no id")
    dupes = pd.Series(ids)[pd.Series(ids).duplicated()].unique()
    if len(dupes):
        raise ValueError(f"{name} hold duplicate ids: {_few(np.sort(dupes.astype(str)))}")
    return ids.astype(object)


def _members(clusters: pd.DataFrame, ids: np.ndarray) -> pd.DataFrame:
    """Cluster membership, validated: known record ids, each record in at most one cluster."""
    absent = [c for c in ("record_id", "cluster") if c not in clusters.columns]
    if absent:
        raise ValueError(f"clusters needs columns record_id and cluster; missing: {absent}")
    members = pd.DataFrame({"record_id": _text(clusters["record_id"]), "cluster": clusters["cluster"]})
    if members["record_id"].isna().any():
        raise ValueError(f"clusters: {int(members['record_id'].isna().sum())} rows have no record_id")
    members = members[members["cluster"].notna()].drop_duplicates()
    unknown = members.loc[~members["record_id"].isin(ids), "record_id"].unique()
    if len(unknown):
        raise ValueError(f"clusters reference records not in records: {_few(np.sort(unknown.astype(str)))}")
    twice = members.loc[members["record_id"].duplicated(), "record_id"].unique()
    if len(twice):
        raise ValueError(f"records placed in more than one cluster: {_few(np.sort(twice.astype(str)))}")
    return members.reset_index(drop=True)


def _cluster_codes(labels: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes in label order (so output order never depends on row order) and the labels."""
    try:
        codes, uniques = pd.factorize(labels, sort=True)
    except TypeError:  # mixed label types: order them by their text
        text = labels.astype(str)
        codes, _ = pd.factorize(text, sort=True)
        first = pd.Series(labels.to_numpy(dtype=object)).groupby(codes).first()
        return codes.astype(np.int64), first.to_numpy(dtype=object)
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return frame[name]
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


def _text(values: pd.Series) -> np.ndarray:
    """Text or None per value: missing and blank are None; timestamps in canonical UTC form.

    Arrow kernels do the blank check: this runs over every candidate value of a run.
    """
    if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(values):
        return _timestamp_text(values)
    items = values.to_numpy(dtype=object)
    try:
        array = pa.array(items, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        spelled = [None if v is None or (isinstance(v, float) and v != v) else str(v) for v in items]
        array = pa.array(spelled, type=pa.string())
    blank = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(array), ""), True).to_numpy(zero_copy_only=False)
    out = array.to_numpy(zero_copy_only=False).astype(object)
    out[blank] = None
    return out


def _timestamp_text(values: pd.Series) -> np.ndarray:
    """Timestamps as standardization writes them ("YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00"); None for NaT."""
    stamps = pd.to_datetime(values, utc=True).dt.tz_convert("UTC").dt.tz_localize(None)
    moments = stamps.to_numpy(dtype="datetime64[us]")
    whole = moments.astype("datetime64[s]") == moments
    text = np.where(
        whole,
        np.datetime_as_string(moments, unit="s"),
        np.datetime_as_string(moments, unit="us"),
    ).astype(object)
    out = text + "+00:00"
    out[np.isnat(moments)] = None
    return out


def _latest_first(values: pd.Series) -> np.ndarray:
    """A sort key putting later timestamps first and missing ones last."""
    ns = _nanoseconds(values)
    return np.where(ns == _NAT, np.iinfo(np.int64).max, -ns)


def _earliest_first(values: pd.Series) -> np.ndarray:
    ns = _nanoseconds(values)
    return np.where(ns == _NAT, np.iinfo(np.int64).max, ns)


_NAT = np.iinfo(np.int64).min


def _nanoseconds(values: pd.Series) -> np.ndarray:
    if values.isna().all():
        return np.full(len(values), _NAT, dtype=np.int64)
    stamps = pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")
    return stamps.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]").view(np.int64)


# --- survivors -----------------------------------------------------------------------------------


@dataclass
class _Context:
    """Per live member of a merge cluster: the sort keys every ranking shares."""

    cluster: np.ndarray  # cluster code
    record_id: np.ndarray  # text
    id_rank: np.ndarray  # position of the id in id order: the final tie-break
    updated: np.ndarray  # latest person's change first
    source_rank: np.ndarray | None  # None when sources cannot be ranked
    # Per field, latest person's change of that field first (fields without one use `updated`).
    field_updated: dict[str, np.ndarray]

    def recency(self, name: str) -> np.ndarray:
        return self.field_updated.get(name, self.updated)

    @classmethod
    def build(
        cls,
        rows: pd.DataFrame,
        cluster: np.ndarray,
        policy: SurvivorshipPolicy,
        changed_at: pd.DataFrame | None = None,
    ) -> _Context:
        record_id = rows["id"].to_numpy(dtype=object)
        id_rank, _ = pd.factorize(record_id, sort=True)
        source_rank = None
        if policy.source_ranking and policy.source_column in rows.columns:
            rank = {name: i for i, name in enumerate(policy.source_ranking)}
            sources = pd.Series(_text(rows[policy.source_column]))
            source_rank = sources.map(rank).fillna(len(rank)).to_numpy(dtype=np.int64)
        updated = _latest_first(_column(rows, "updated_at"))
        field_updated: dict[str, np.ndarray] = {}
        if changed_at is not None and len(changed_at.columns):
            known = changed_at.reindex(pd.Index(record_id.astype(str)))
            for name in changed_at.columns:
                keys = _latest_first(known[name].reset_index(drop=True))
                # A record the tracker has not seen (loaded since) keeps its updated_at.
                field_updated[name] = np.where(known[name].isna().to_numpy(), updated, keys)
            # The record as a whole: the latest change a person made to any of its fields.
            updated = np.min(np.vstack(list(field_updated.values())), axis=0)
        return cls(cluster, record_id, id_rank.astype(np.int64), updated, source_rank, field_updated)


def _choose_survivors(context: _Context, rows: pd.DataFrame, policy: SurvivorshipPolicy) -> np.ndarray:
    """A boolean mask of the survivor rows: the first member per cluster in the policy's order."""
    keys: list[np.ndarray] = []
    for criterion in policy.survivor_criteria:
        if criterion is SurvivorCriterion.MOST_COMPLETE:
            business = [c for c in rows.columns if c in BUSINESS_FIELDS]
            filled = sum((pd.notna(_text(rows[c])).astype(np.int64) for c in business), np.zeros(len(rows)))
            keys.append(-np.asarray(filled, dtype=np.int64))
        elif criterion is SurvivorCriterion.LATEST_ACTIVITY:
            keys.append(_latest_first(_column(rows, "last_activity_at")))
        elif criterion is SurvivorCriterion.LATEST_UPDATE:
            keys.append(context.updated)
        elif criterion is SurvivorCriterion.OLDEST:
            keys.append(_earliest_first(_column(rows, "created_at")))
        elif criterion is SurvivorCriterion.TRUSTED_SOURCE and context.source_rank is not None:
            keys.append(context.source_rank)
    order = np.lexsort([context.id_rank, *reversed(keys), context.cluster])
    survivor = np.zeros(len(rows), dtype=bool)
    survivor[order[_group_starts(context.cluster[order])]] = True
    return survivor


def _group_starts(sorted_groups: np.ndarray) -> np.ndarray:
    """Positions where a new group begins in an array sorted by group."""
    starts = np.ones(len(sorted_groups), dtype=bool)
    starts[1:] = sorted_groups[1:] != sorted_groups[:-1]
    return starts


def _survivor_frame(context: _Context, labels: np.ndarray, survivor: np.ndarray) -> pd.DataFrame:
    order = np.lexsort([context.id_rank[~survivor], context.cluster[~survivor]])
    codes, loser_ids = _grouped_lists(context.cluster[~survivor][order], context.record_id[~survivor][order])
    # Every cluster planned has at least one loser, so `codes` are exactly the planned clusters.
    survivor_of = np.empty(len(labels), dtype=object)
    survivor_of[context.cluster[survivor]] = context.record_id[survivor]
    return pd.DataFrame(
        {
            "cluster": labels[codes],
            "survivor_id": survivor_of[codes],
            "loser_ids": pd.Series(loser_ids.to_pylist(), dtype=object),
            "size": pc.list_value_length(loser_ids).to_numpy().astype(np.int64) + 1,
        }
    )


def _grouped_lists(groups: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, pa.ListArray]:
    """The distinct groups of an array sorted by group, and per group the list of its values.

    Built by Arrow from offsets, so no Python code runs per group.
    """
    starts = np.flatnonzero(_group_starts(groups))
    offsets = pa.array(np.append(starts, len(groups)).astype(np.int64), type=pa.int64())
    items = pa.array(values.astype(object), type=pa.string(), from_pandas=True)
    return groups[starts], pa.LargeListArray.from_arrays(offsets, items)


# --- fields --------------------------------------------------------------------------------------


def _proposed_fields(rows: pd.DataFrame, policy: SurvivorshipPolicy) -> list[str]:
    """Model fields (and fields the policy names) present in the records, minus bookkeeping."""
    known = MODEL_FIELDS | set(policy.field_rules)
    return sorted(c for c in rows.columns if c in known and c not in NEVER_PROPOSED)


def _candidates(
    rows: pd.DataFrame,
    name: str,
    rule: Rule,
    normalized: pd.DataFrame | None,
    position: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """(value, invalid) per row for one field: canonical where normalization accepted the value.

    List fields are compared as their sorted distinct items, so '["b","a"]' and '["a", "b"]' agree.
    """
    value = _text(rows[name])
    invalid = np.zeros(len(rows), dtype=bool)
    if rule is Rule.UNION or name == "flags":
        return _flag_sets(value), invalid
    if normalized is None or position is None or name not in normalized or f"{name}_valid" not in normalized:
        return value, invalid
    found = position >= 0
    at = np.where(found, position, 0)
    canonical = _text(normalized[name])[at]
    valid = normalized[f"{name}_valid"].astype("boolean")
    accepted = found & valid.fillna(False).to_numpy(dtype=bool)[at] & pd.notna(canonical)
    rejected = found & (~valid).fillna(False).to_numpy(dtype=bool)[at]
    value = np.where(accepted, canonical, value)
    invalid = rejected & pd.notna(value)
    return value, invalid


def _flag_list(text: str) -> list[str]:
    """The flags a stored value holds: a JSON list, or legacy text holding one flag.

    The same reading as `crm_hygiene.stores.operations.parse_flags`, kept here so matching does
    not import the store layer.
    """
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        return [text]
    if isinstance(parsed, list):
        return [str(item) for item in parsed if item is not None and str(item) != ""]
    return [str(parsed)]


def _flag_sets(values: np.ndarray) -> np.ndarray:
    """Each flags value as the JSON of its sorted distinct flags, None when it holds none.

    Parsed once per distinct value: almost every record carries "[]" or one of a few lists.
    """
    series = pd.Series(values, dtype=object)
    lookup = {}
    for text in series.dropna().unique():
        flags = sorted(set(_flag_list(str(text))))
        lookup[text] = json.dumps(flags, ensure_ascii=False) if flags else None
    return series.map(lookup).to_numpy(dtype=object)


def _field_plan(
    context: _Context,
    rows: pd.DataFrame,
    labels: np.ndarray,
    survivor: np.ndarray,
    policy: SurvivorshipPolicy,
    normalized: pd.DataFrame | None,
    position: np.ndarray | None,
) -> pd.DataFrame:
    """The long frame of candidate values, ranked; the winner of each (cluster, field) kept where
    it changes the survivor or where the records disagreed. `position`: each row's normalized row."""
    names = _proposed_fields(rows, policy)
    if not names:
        return _empty(FIELD_COLUMNS)

    # Melt: one row per (member, field) holding a non-empty value.
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("member", "field", "value", "invalid", "recency")}
    for code, name in enumerate(names):
        value, invalid = _candidates(rows, name, policy.rule_for(name), normalized, position)
        present = np.flatnonzero(pd.notna(value))
        parts["member"].append(present)
        parts["field"].append(np.full(len(present), code, dtype=np.int64))
        parts["value"].append(value[present].astype(object))
        parts["invalid"].append(invalid[present])
        parts["recency"].append(context.recency(name)[present])
    member = np.concatenate(parts["member"])
    field_code = np.concatenate(parts["field"])
    value = np.concatenate(parts["value"]).astype(object)
    invalid = np.concatenate(parts["invalid"])
    recency = np.concatenate(parts["recency"])
    if len(member) == 0:
        return _empty(FIELD_COLUMNS)

    rules = np.array([policy.rule_for(n).value for n in names], dtype=object)
    rule = rules[field_code]
    cluster = context.cluster[member]
    group = cluster * len(names) + field_code  # one (cluster, field) pair

    order = _rank_candidates(context, member, value, invalid, rule, group, survivor, recency)
    starts = _group_starts(group[order])
    winner = order[starts]
    # Conflict: more than one distinct value in a group, i.e. two neighbours of one group differ
    # in the group-sorted order (if all neighbours agree, all values agree).
    ranked = value[order]
    differs = np.zeros(len(order), dtype=bool)
    differs[1:] = (ranked[1:] != ranked[:-1]) & ~starts[1:]
    conflict_groups = group[order][differs]
    conflict_groups = conflict_groups[_group_starts(conflict_groups)]  # sorted: drop repeats
    union = rule == Rule.UNION.value
    chosen = pd.DataFrame(
        {
            "group": group[winner],
            "value": value[winner],
            "from_record_id": context.record_id[member[winner]],
        }
    )
    if union.any():
        chosen = _apply_unions(chosen, union[winner], group, value, union, conflict_groups)

    survivor_value = pd.Series(value[survivor[member]], index=group[survivor[member]])
    current = survivor_value.reindex(chosen["group"].to_numpy()).to_numpy(dtype=object)
    chosen["current_value"] = np.where(pd.notna(current), current, None)
    chosen["conflict"] = np.isin(chosen["group"].to_numpy(), conflict_groups)
    changed = chosen["value"].to_numpy(dtype=object) != chosen["current_value"].to_numpy(dtype=object)
    chosen = chosen[changed | chosen["conflict"].to_numpy()]

    codes = chosen["group"].to_numpy() // len(names)
    survivor_of = np.full(len(labels), None, dtype=object)
    survivor_of[context.cluster[survivor]] = context.record_id[survivor]
    out = pd.DataFrame(
        {
            "cluster": labels[codes],
            "survivor_id": survivor_of[codes],
            "field": np.asarray(names, dtype=object)[chosen["group"].to_numpy() % len(names)],
            "value": chosen["value"].to_numpy(dtype=object),
            "current_value": chosen["current_value"].to_numpy(dtype=object),
            "from_record_id": chosen["from_record_id"].to_numpy(dtype=object),
            "rule": rules[chosen["group"].to_numpy() % len(names)],
            "conflict": chosen["conflict"].to_numpy(dtype=bool),
        }
    )
    out = out.iloc[np.argsort(chosen["group"].to_numpy(), kind="stable")]
    return out.reset_index(drop=True)


def _rank_candidates(
    context: _Context,
    member: np.ndarray,
    value: np.ndarray,
    invalid: np.ndarray,
    rule: np.ndarray,
    group: np.ndarray,
    survivor: np.ndarray,
    recency: np.ndarray,
) -> np.ndarray:
    """The candidates in rank order: by (cluster, field) group, the winner of each group first.

    Keys, most significant first: group, invalid last, the rule's own key, the latest change a
    person made to the field first (`recency`), survivor first, smallest id. The rule key is 0
    where a rule has none (most recent).
    """
    primary = np.zeros(len(member), dtype=np.int64)
    trusted = rule == Rule.MOST_TRUSTED_SOURCE.value
    if trusted.any() and context.source_rank is not None:
        primary[trusted] = context.source_rank[member[trusted]]
    complete = rule == Rule.MOST_COMPLETE.value
    if complete.any():
        primary[complete] = -pd.Series(value[complete], dtype=object).str.len().to_numpy(dtype=np.int64)
    own = rule == Rule.SURVIVOR.value
    primary[own] = np.where(survivor[member[own]], 0, 1)
    latest = rule == Rule.LATEST.value
    if latest.any():
        # Canonical timestamps are UTC text of one shape, so text order is time order.
        order, _ = pd.factorize(value[latest], sort=True)
        primary[latest] = -order.astype(np.int64)
    # Pairs of keys folded into one integer each: fewer keys, faster lexsort.
    last = np.where(survivor[member], 0, len(context.id_rank)) + context.id_rank[member]
    return np.lexsort([last, recency, primary, group * 2 + invalid])


def _apply_unions(
    chosen: pd.DataFrame,
    chosen_union: np.ndarray,
    group: np.ndarray,
    value: np.ndarray,
    union: np.ndarray,
    conflict_groups: np.ndarray,
) -> pd.DataFrame:
    """Union fields: where the records hold one distinct list it is the union already; elsewhere
    the flags of all lists are exploded, deduplicated, sorted and written back as one list."""
    rows = union & np.isin(group, conflict_groups)
    # A union comes from several records, not one.
    chosen.loc[chosen_union, "from_record_id"] = None
    if not rows.any():
        return chosen
    lists = pd.Series(value[rows], dtype=object)
    parsed = {text: json.loads(text) for text in lists.unique()}
    flags = pd.DataFrame({"group": group[rows], "flag": lists.map(parsed).to_numpy()})
    flags = flags.explode("flag").dropna().drop_duplicates().sort_values(["group", "flag"])
    # Each flag written as JSON once, then joined per group: the text json.dumps gives the list.
    written = flags["flag"].map({f: json.dumps(f, ensure_ascii=False) for f in flags["flag"].unique()})
    groups, items = _grouped_lists(flags["group"].to_numpy(), written.to_numpy(dtype=object))
    joined = pc.binary_join_element_wise("[", pc.binary_join(items, ", "), "]", "")
    merged = pd.Series(joined.to_numpy(zero_copy_only=False), index=groups, dtype=object)
    at = chosen["group"].isin(merged.index).to_numpy()
    chosen.loc[at, "value"] = merged.reindex(chosen.loc[at, "group"].to_numpy()).to_numpy()
    return chosen


# --- output helpers ------------------------------------------------------------------------------


def _empty(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=bool if c == "conflict" else object) for c in columns})


def _empty_plan() -> MergePlan:
    return MergePlan(_empty(SURVIVOR_COLUMNS), _empty(FIELD_COLUMNS), _empty(ALREADY_MERGED_COLUMNS))


def _sorted(frame: pd.DataFrame, codes: np.ndarray, by: str) -> pd.DataFrame:
    order = np.lexsort([frame[by].to_numpy(dtype=str) if len(frame) else np.array([], dtype=str), codes])
    return frame.iloc[order].reset_index(drop=True)
