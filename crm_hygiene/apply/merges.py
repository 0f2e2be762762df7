"""Act on merge proposals: `auto` ones are merged through the audited writer, `review` ones queued.

`apply_merge_proposals(writer, proposals, tenant=...)` takes the frame
`crm_hygiene.matching.proposals.tenant_merge_proposals` builds, companies first (a company merge
re-points the contacts whose own merge follows), and for each row:

- `review`: records the merge's defining change (the loser's `merged_into`, the change id the
  proposal carries) with its evidence and puts it in the review queue. A proposal already
  decided, applied or undone keeps its status: queuing is insert-if-absent.
- `auto`: held, and proposed again by a later run, when the snapshot could not read a table
  the merge would write (`held`: the entity's own, or one that refers to it).
  Skipped when the pair became do-not-link since the proposals were built (read again
  here, never trusted from the frame), or when the merge is already in effect and audited (a
  re-run). A batch a crash interrupted (the store written, the audit not, or only some sheets
  of a spreadsheet folder replaced) is completed first from its intent in the ledger
  (`apply.batch.recover`); its merges are reported `merged`, "completed".
  The rest go in batches (`merges_per_batch`): survivors and losers are read from the store
  once per batch, each survivorship value is written only if the survivor still holds what
  the snapshot showed (timestamps compared as instants, since the store may spell them
  differently), the loser is expected at the version the decision was made on (moved on only
  by this tool's own audited writes), and every reference to a loser is found with one query
  per kind of reference. A survivor or loser edited since goes to review as a conflict. Each
  merge (the loser marked, its references re-pointed, the survivor's new values) is one
  all-or-nothing group with one audit entry per write, carrying the run id, the policy
  version and the evidence (probability and explanation); the batch is one store write.

Merges never cross tenants: every proposal must belong to `tenant` (ValueError otherwise),
and the store reads and writes within that tenant only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from crm_hygiene.apply.audited import AuditedWriter, group_name
from crm_hygiene.apply.batch import BatchOutcome, empty_changes
from crm_hygiene.ledger import AuditAction, ChangeKind, Proposal, ProposalStatus
from crm_hygiene.ledger.change_id import make_change_ids
from crm_hygiene.ledger.codec import dumps
from crm_hygiene.matching.decisions import AUTO, REVIEW
from crm_hygiene.matching.records import ENTITIES
from crm_hygiene.model import REFERENCES_TO, Entity, Reference, Status, spec
from crm_hygiene.model.records import TIMESTAMP_FIELDS
from crm_hygiene.model.snapshot import parse_timestamps
from crm_hygiene.stores.concurrency import as_version, canonical

Progress = Callable[[str], None]

# Merges per store batch: one transaction (or one rewrite of each sheet) and a few ledger
# statements per batch, while memory stays bounded at a million contacts.
MERGES_PER_BATCH = 20_000
COMPLETED = "completed: the audit a crash interrupted"


OUTCOMES = ("merged", "already_merged", "conflict", "queued_for_review", "skipped_do_not_link", "held")
OUTCOME_COLUMNS = ("change_id", "entity", "survivor_id", "loser_id", "outcome", "group_id", "detail")


@dataclass
class MergeOutcome:
    """What applying one run's merge proposals did: one row per proposal (see `OUTCOMES`).

    `group_id` names an applied merge for `AuditedWriter.unmerge`; `newly_queued` counts
    review items this call opened (a proposal already in the queue is not queued twice).
    """

    rows: list[dict[str, object]] = field(default_factory=list)
    audit_entries: int = 0
    newly_queued: int = 0

    def add(
        self, row: Mapping[str, Any], outcome: str, group_id: str | None = None, detail: str = ""
    ) -> None:
        self.rows.append(
            {
                "change_id": str(row["change_id"]),
                "entity": str(row["entity"]),
                "survivor_id": str(row["survivor_id"]),
                "loser_id": str(row["loser_id"]),
                "outcome": outcome,
                "group_id": group_id,
                "detail": detail,
            }
        )

    def change_ids(self, outcome: str) -> list[str]:
        return [str(r["change_id"]) for r in self.rows if r["outcome"] == outcome]

    @property
    def group_ids(self) -> list[str]:
        """The applied merges, in the order they were applied (undo them in reverse)."""
        return [str(r["group_id"]) for r in self.rows if r["outcome"] == "merged"]

    def counts(self) -> dict[str, int]:
        counted = dict.fromkeys(OUTCOMES, 0)
        for row in self.rows:
            counted[str(row["outcome"])] += 1
        return {**counted, "newly_queued": self.newly_queued, "audit_entries": self.audit_entries}

    def table(self) -> pd.DataFrame:
        if not self.rows:
            return pd.DataFrame({c: pd.Series([], dtype=object) for c in OUTCOME_COLUMNS})
        return pd.DataFrame(self.rows, columns=list(OUTCOME_COLUMNS))


def evidence_of(row: Mapping[str, Any]) -> dict[str, Any]:
    """The evidence a merge carries into the ledger: why the matcher thinks these are one."""
    return {
        "match_probability": float(row["match_probability"]),
        "weakest_probability": float(row["weakest_probability"]),
        "explanation": row["explanation"],
        "evidence_pair": row["evidence_pair"],
        "cluster": str(row["cluster"]),
        "cluster_size": int(row["cluster_size"]),
        "entity_id": None if pd.isna(row["entity_id"]) else str(row["entity_id"]),
        "decision": row["decision"],
        "reason": row["reason"],
        "model_version": None if pd.isna(row["model_version"]) else int(row["model_version"]),
        "field_values": json.loads(row["field_values"] or "[]"),
    }


def apply_merge_proposals(
    writer: AuditedWriter,
    proposals: pd.DataFrame,
    *,
    tenant: str,
    progress: Progress = lambda _: None,
    merges_per_batch: int = MERGES_PER_BATCH,
    held: Mapping[Entity, str] | None = None,
) -> MergeOutcome:
    """Merge the `auto` proposals and queue the `review` ones (see the module docstring)."""
    outcome = MergeOutcome()
    if proposals.empty:
        return outcome
    strangers = proposals.loc[proposals["tenant"] != tenant, "tenant"].unique()
    if len(strangers):
        raise ValueError(f"merge proposals for tenant {tenant!r} hold rows of {sorted(map(str, strangers))}")
    # A batch a crash interrupted is completed before anything else is judged.
    completed = _completed_heads(writer.recover(tenant))
    order = {e.value: i for i, e in enumerate(ENTITIES)}
    ordered = proposals.assign(_order=proposals["entity"].map(order)).sort_values(
        ["_order", "cluster", "loser_id"], kind="stable"
    )
    review = ordered[ordered["decision"] == REVIEW]
    outcome.newly_queued += _queue(writer, review)
    for row in review.to_dict("records"):
        outcome.add(row, "queued_for_review", detail=str(row["reason"]))
    auto = ordered[ordered["decision"] == AUTO]
    latest = writer.ledger.writes.latest_actions(auto["change_id"])
    done = set(latest.loc[latest["action"] == AuditAction.APPLY.value, "change_id"])
    for entity_name, rows in auto.groupby("entity", sort=False):
        entity = Entity(entity_name)
        forbidden = writer.ledger.registry.do_not_link_pairs(tenant, entity.value)
        blocked = set(zip(forbidden["record_id_l"], forbidden["record_id_r"], strict=True))
        todo = []
        unwritable = _unwritable(entity, held or {})
        for row in rows.to_dict("records"):
            survivor, loser = str(row["survivor_id"]), str(row["loser_id"])
            if (min(survivor, loser), max(survivor, loser)) in blocked:
                outcome.add(row, "skipped_do_not_link", detail="a reviewer kept these records apart")
            elif row["change_id"] in completed:
                outcome.add(row, "merged", completed[row["change_id"]], detail=COMPLETED)
            elif row["change_id"] in done:
                outcome.add(row, "already_merged")
            elif unwritable:
                outcome.add(row, "held", detail=unwritable)
            else:
                todo.append(row)
        for start in range(0, len(todo), merges_per_batch):
            _merge_batch(writer, tenant, entity, todo[start : start + merges_per_batch], outcome)
            progress(
                f"merges {tenant}/{entity.value}: {min(start + merges_per_batch, len(todo)):,} of "
                f"{len(todo):,} judged and written; {outcome.counts()}"
            )
    return outcome


def _unwritable(entity: Entity, held: Mapping[Entity, str]) -> str:
    """Why a merge of `entity` cannot be written this run ("" when it can): it writes the
    entity's table and re-points every table that refers to it."""
    touched = [entity, *(r.entity for r in REFERENCES_TO[entity])]
    for table in dict.fromkeys(touched):
        if table in held:
            return f"{spec(table).table} could not be read this run: {held[table]}"
    return ""


def _completed_heads(recovered: list[BatchOutcome]) -> dict[str, str]:
    """The merges completed from an interrupted batch: head change id -> group id."""
    heads: dict[str, str] = {}
    for batch in recovered:
        rows = batch.changes
        written = rows[rows["group_id"].notna() & rows["field"].eq("merged_into") & rows["audited"]]
        heads.update(zip(written["change_id"], written["group_id"].astype(str), strict=True))
    return heads


def _merge_batch(
    writer: AuditedWriter, tenant: str, entity: Entity, merges: list[dict[str, Any]], outcome: MergeOutcome
) -> None:
    """Judge a batch of merges against the store's current rows, then write the good ones as
    one batch of all-or-nothing groups (one per merge)."""
    ids = dict.fromkeys(str(m[k]) for m in merges for k in ("survivor_id", "loser_id"))
    current = writer.store.read(tenant, entity, list(ids))
    current = current.set_index(current["id"].astype(str), drop=False)
    merged_into = current["merged_into"].map(canonical).to_dict()
    planned: list[tuple[dict[str, Any], dict[str, tuple[str | None, str | None]]]] = []
    conflicts: list[tuple[dict[str, Any], str]] = []
    # Per merge (by change id): outcome, group, detail; reported in the proposals' order.
    results: dict[str, tuple[str, str | None, str]] = {}
    for merge in merges:
        survivor, loser = str(merge["survivor_id"]), str(merge["loser_id"])
        if merged_into.get(loser) == survivor:
            # Merged already by a person (or by a run that audited it): nothing to do.
            results[merge["change_id"]] = ("already_merged", None, "the store holds the merge already")
            continue
        values, problem = _survivor_values(current, survivor, json.loads(merge["field_values"] or "[]"))
        problem = problem or _sides_problem(current, merge, survivor, loser)
        if problem is None:
            planned.append((merge, values))
        else:
            conflicts.append((merge, problem))
            results[merge["change_id"]] = ("conflict", None, problem)
    versions = _decided_versions(writer, tenant, entity, current, [m for m, _ in planned])
    changes, groups = _merge_changes(writer, tenant, entity, current, planned, versions)
    if planned:
        written = writer.apply_frame(tenant, changes, reapply_reverted=True)
        audited = written.changes.groupby("group_id")["audited"].sum()
        for merge, _ in planned:
            group = groups[str(merge["change_id"])]
            if written.group_written(group):
                results[merge["change_id"]] = ("merged", group, "")
                outcome.audit_entries += int(audited.get(group, 0))
            else:
                # The writer queued the merge with its reason (a rep's edit since the snapshot).
                results[merge["change_id"]] = ("conflict", None, written.failed_groups[group])
                outcome.newly_queued += 1
    for merge in merges:
        kind, group, detail = results[merge["change_id"]]
        outcome.add(merge, kind, group, detail=detail)
    if conflicts:
        frame = pd.DataFrame([merge for merge, _ in conflicts])
        outcome.newly_queued += _queue(writer, frame, reasons=[f"conflict: {p}" for _, p in conflicts])


def _sides_problem(current: pd.DataFrame, merge: Mapping[str, Any], survivor: str, loser: str) -> str | None:
    """Why the two records cannot be merged as they stand, or None."""
    entity, tenant = str(merge["entity"]), str(merge["tenant"])
    if survivor == loser:
        return f"cannot merge {entity} {survivor} into itself"
    for record_id in (survivor, loser):
        if record_id not in current.index:
            return f"{entity} {record_id} does not exist for tenant {tenant!r}"
        if canonical(current.at[record_id, "status"]) == Status.MERGED.value:
            return f"{entity} {record_id} is already merged into {canonical(current.at[record_id, 'merged_into'])}"
    return None


def _merge_changes(
    writer: AuditedWriter,
    tenant: str,
    entity: Entity,
    current: pd.DataFrame,
    planned: list[tuple[dict[str, Any], dict[str, tuple[str | None, str | None]]]],
    versions: dict[str, int | None],
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The change frame of a batch of merges and each merge's group id (by its change id).

    Per merge, in order: the loser's `merged_into` (the head, which names the merge), its
    status, every reference to the loser re-pointed (records merged into it earlier too, so
    no chain is left), and the survivor's new values.
    """
    if not planned:
        return empty_changes(), {}
    generations = writer.ledger.writes.revert_counts(str(m["change_id"]) for m, _ in planned)
    heads = pd.DataFrame(
        {
            "order": np.arange(len(planned)),
            "survivor": [str(m["survivor_id"]) for m, _ in planned],
            "loser": [str(m["loser_id"]) for m, _ in planned],
            "group_id": [group_name("merge", str(m["change_id"]), generations) for m, _ in planned],
            "confidence": [float(m["match_probability"]) for m, _ in planned],
            "evidence": [
                dumps({"survivor": str(m["survivor_id"]), "loser": str(m["loser_id"]), **evidence_of(m)})
                for m, _ in planned
            ],
        }
    )
    heads["version"] = pd.array([versions.get(loser) for loser in heads["loser"]], dtype="Int64")
    status = current["status"].map(canonical)
    merged_into = current["merged_into"].map(canonical)
    # Parts of a merge in their order: 0 the head, 1 the status, 2 re-points, 3 survivor values.
    parts = [
        heads.assign(
            part=0, entity=entity.value, record_id=heads["loser"], field="merged_into",
            old_value=merged_into.reindex(heads["loser"]).to_numpy(), new_value=heads["survivor"],
            expected_version=heads["version"],
        ),
        heads.assign(
            part=1, entity=entity.value, record_id=heads["loser"], field="status",
            old_value=status.reindex(heads["loser"]).to_numpy(), new_value=Status.MERGED.value,
            expected_version=heads["version"],
        ),
    ]  # fmt: skip
    for reference in (*REFERENCES_TO[entity], Reference(entity, "merged_into")):
        found = writer.store.find_references(tenant, reference, heads["loser"].tolist())
        found = found.assign(id=found["id"].astype(str), value=found["value"].astype(str))
        if reference.entity is entity:
            found = found[found["id"] != found["value"]]
        pointing = heads.merge(found[["id", "value"]], left_on="loser", right_on="value")
        parts.append(
            pointing.assign(
                part=2, entity=reference.entity.value, record_id=pointing["id"], field=reference.field,
                old_value=pointing["loser"], new_value=pointing["survivor"],
                expected_version=pd.array([None] * len(pointing), dtype="Int64"),
            )
        )  # fmt: skip
    values = pd.DataFrame(
        [(i, name, old, new) for i, (_, chosen) in enumerate(planned) for name, (old, new) in chosen.items()],
        columns=["order", "field", "old_value", "new_value"],
    )
    if len(values):
        valued = heads.drop(columns=["version"]).merge(values, on="order")
        parts.append(
            valued.assign(
                part=3, entity=entity.value, record_id=valued["survivor"],
                expected_version=pd.array([None] * len(valued), dtype="Int64"),
            )
        )  # fmt: skip
    columns = ["entity", "record_id", "field", "old_value", "new_value", "expected_version"]
    frame = (
        pd.concat([p[["order", "part", *columns, "evidence", "confidence", "group_id"]] for p in parts])
        .sort_values(["order", "part"], kind="stable")
        .drop(columns=["order", "part"])
        .reset_index(drop=True)
    )
    frame["tenant"] = tenant
    frame["kind"] = ChangeKind.MERGE.value
    frame["source"] = "merge"
    frame["change_id"] = make_change_ids(frame)
    groups = dict(zip((str(m["change_id"]) for m, _ in planned), heads["group_id"], strict=True))
    return frame, groups


def _decided_versions(
    writer: AuditedWriter, tenant: str, entity: Entity, current: pd.DataFrame, plan: list[dict[str, Any]]
) -> dict[str, int | None]:
    """Per loser, the version its merge must find: the snapshot's, the one the decision was
    made on, moved on only by this tool's own audited writes (a company merge re-pointing the
    contact's `company_id` bumps its version and is no rep's edit). A version no audit entry
    explains is someone's edit: the merge then conflicts and goes to review."""
    decided: dict[str, int | None] = {}
    moved: dict[str, tuple[int, int]] = {}
    for loser, snapshot in ((str(m["loser_id"]), m["loser_version"]) for m in plan):
        if pd.isna(snapshot):
            decided[loser] = None
            continue
        decided[loser] = int(snapshot)
        now = as_version(current.at[loser, "version"]) if loser in current.index else None
        if now is not None and now > int(snapshot):
            moved[loser] = (int(snapshot), now)
    if moved:
        ours = writer.ledger.writes.versions_written(tenant, entity.value, list(moved))
        written = ours.groupby("record_id")["version_after"].agg(lambda v: {int(x) for x in v}).to_dict()
        for loser, (snapshot, now) in moved.items():
            if set(range(snapshot + 1, now + 1)) <= written.get(loser, set()):
                decided[loser] = now
    return decided


def _survivor_values(
    current: pd.DataFrame, survivor: str, values: list[dict[str, Any]]
) -> tuple[dict[str, tuple[str | None, str | None]], str | None]:
    """The survivor's writes as (value in the store now, new value), or why they cannot be made."""
    if survivor not in current.index:
        return {}, f"survivor {survivor} no longer exists"
    if canonical(current.at[survivor, "status"]) == Status.MERGED.value:
        return {}, f"survivor {survivor} was merged into {canonical(current.at[survivor, 'merged_into'])}"
    out: dict[str, tuple[str | None, str | None]] = {}
    for item in values:
        if not item.get("write"):
            continue
        name = str(item["field"])
        if name not in current.columns:
            return {}, f"the store has no field {name!r}"
        now = canonical(current.at[survivor, name])
        if not _same(name, now, item.get("old")):
            return {}, f"survivor {survivor}.{name} was edited since the snapshot"
        out[name] = (now, None if item.get("new") is None else str(item["new"]))
    return out, None


def _same(name: str, stored: str | None, snapshot: object) -> bool:
    """Whether the store still holds the value the snapshot saw."""
    seen = canonical(snapshot)
    if stored is None or seen is None:
        return stored is None and seen is None
    if stored == seen:
        return True
    if name in TIMESTAMP_FIELDS:
        moments = parse_timestamps(pd.Series([stored, seen], dtype=object))
        return bool(moments.notna().all() and moments.iloc[0] == moments.iloc[1])
    return stored == seen


def _queue(writer: AuditedWriter, rows: pd.DataFrame, *, reasons: list[str] | None = None) -> int:
    """Record each row's defining change, put it in the review queue with its reason (the
    row's own, or `reasons` in row order); returns how many items were newly queued."""
    if rows.empty:
        return 0
    proposals = [
        Proposal.new(
            str(row["tenant"]),
            str(row["entity"]),
            str(row["loser_id"]),
            "merged_into",
            None,
            str(row["survivor_id"]),
            ChangeKind.MERGE,
            "dedupe",
            evidence_of(row),
            min(max(float(row["match_probability"]), 0.0), 1.0),
            writer.policy_version,
            writer.run_id,
            None if pd.isna(row["loser_version"]) else int(row["loser_version"]),
        )
        for row in rows.to_dict("records")
    ]
    ids = [p.change_id for p in proposals]
    ledger = writer.ledger
    ledger.record_proposals(proposals)
    # Only fresh proposals become `queued`: one applied, rejected or undone keeps its history.
    statuses = ledger.writes.statuses(ids)
    ledger.writes.set_status(
        [c for c in ids if statuses.get(c) == ProposalStatus.PROPOSED.value], ProposalStatus.QUEUED.value
    )
    texts = reasons or [f"merge review: {r}" for r in rows["reason"]]
    items = [(p.change_id, p.tenant, text) for p, text in zip(proposals, texts, strict=True)]
    return ledger.writes.enqueue_review_rows(items, reopen=False)
