"""Act on merge proposals: `auto` ones are merged through the audited writer, `review` ones queued.

`apply_merge_proposals(writer, proposals, tenant=...)` takes the frame
`crm_hygiene.matching.proposals.tenant_merge_proposals` builds, companies first (a company merge
re-points the contacts whose own merge follows), and for each row:

- `review`: records the merge's defining change (the loser's `merged_into`, the change id the
  proposal carries) with its evidence and puts it in the review queue. A proposal already
  decided, applied or undone keeps its status: queuing is insert-if-absent.
- `auto`: skipped when the pair became do-not-link since the proposals were built (read again
  here, never trusted from the frame), or when the merge is already in effect and audited (a
  re-run); in effect but not audited (a crash came between the store write and the audit),
  it is completed from the proposals recorded before the store write
  (`AuditedWriter.complete_interrupted_merge`);
  otherwise the survivor is read from the store and each survivorship value is written only
  if the survivor still holds what the snapshot showed (timestamps compared as instants,
  since the store may spell them differently). A survivor edited since goes to review as a
  conflict, like the writer's own conflicts. The merge, its re-pointed references and the
  survivor's new values are one all-or-nothing group with one audit entry per write, carrying
  the run id, the policy version and the evidence (probability and explanation).

Merges never cross tenants: every proposal must belong to `tenant` (ValueError otherwise),
and the store reads and writes within that tenant only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from crm_hygiene.apply.audited import AuditedWriter
from crm_hygiene.ledger import ChangeKind, Proposal, ProposalStatus
from crm_hygiene.matching.decisions import AUTO, REVIEW
from crm_hygiene.matching.records import ENTITIES
from crm_hygiene.model import Entity, Status
from crm_hygiene.model.records import TIMESTAMP_FIELDS
from crm_hygiene.model.snapshot import parse_timestamps
from crm_hygiene.stores import StoreError
from crm_hygiene.stores.concurrency import as_version, canonical

Progress = Callable[[str], None]


OUTCOMES = ("merged", "already_merged", "conflict", "queued_for_review", "skipped_do_not_link")
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

    def add(self, row: pd.Series, outcome: str, group_id: str | None = None, detail: str = "") -> None:
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


def evidence_of(row: pd.Series) -> dict[str, Any]:
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
) -> MergeOutcome:
    """Merge the `auto` proposals and queue the `review` ones (see the module docstring)."""
    outcome = MergeOutcome()
    if proposals.empty:
        return outcome
    strangers = proposals.loc[proposals["tenant"] != tenant, "tenant"].unique()
    if len(strangers):
        raise ValueError(f"merge proposals for tenant {tenant!r} hold rows of {sorted(map(str, strangers))}")
    order = {e.value: i for i, e in enumerate(ENTITIES)}
    ordered = proposals.assign(_order=proposals["entity"].map(order)).sort_values(
        ["_order", "cluster", "loser_id"], kind="stable"
    )
    review = ordered[ordered["decision"] == REVIEW]
    outcome.newly_queued += _queue(writer, review)
    for _, row in review.iterrows():
        outcome.add(row, "queued_for_review", detail=str(row["reason"]))
    auto = ordered[ordered["decision"] == AUTO]
    done = writer.ledger.applied_change_ids(auto["change_id"])
    for entity_name, rows in auto.groupby("entity", sort=False):
        entity = Entity(entity_name)
        forbidden = writer.ledger.registry.do_not_link_pairs(tenant, entity.value)
        blocked = set(zip(forbidden["record_id_l"], forbidden["record_id_r"], strict=True))
        for _, row in rows.iterrows():
            survivor, loser = str(row["survivor_id"]), str(row["loser_id"])
            if (min(survivor, loser), max(survivor, loser)) in blocked:
                outcome.add(row, "skipped_do_not_link", detail="a reviewer kept these records apart")
            elif row["change_id"] in done:
                outcome.add(row, "already_merged")
            else:
                _merge(writer, tenant, entity, row, outcome)
        progress(f"merges {tenant}/{entity.value}: {outcome.counts()}")
    return outcome


def _merge(writer: AuditedWriter, tenant: str, entity: Entity, row: pd.Series, outcome: MergeOutcome) -> None:
    survivor, loser = str(row["survivor_id"]), str(row["loser_id"])
    current = writer.store.read(tenant, entity, [survivor, loser])
    current = current.set_index(current["id"].astype(str))
    if loser in current.index and canonical(current.at[loser, "merged_into"]) == survivor:
        completed = writer.complete_interrupted_merge(tenant, entity, survivor, loser)
        if completed is not None:
            outcome.add(row, "merged", completed.group_id, detail="completed: the audit a crash interrupted")
            outcome.audit_entries += len(completed.applied)
            return
        # Merged already by a person (or by a run that audited it): nothing to do.
        outcome.add(row, "already_merged", detail="the store holds the merge already")
        return
    values, problem = _survivor_values(current, survivor, json.loads(row["field_values"] or "[]"))
    if problem is None:
        try:
            summary = writer.merge(
                tenant,
                entity,
                survivor,
                loser,
                evidence=evidence_of(row),
                survivor_values=values,
                confidence=float(row["match_probability"]),
                loser_version=_decided_version(writer, tenant, entity, current, loser, row["loser_version"]),
            )
        except StoreError as exc:
            problem = str(exc)
        else:
            outcome.add(row, "merged", summary.group_id)
            outcome.audit_entries += len(summary.applied)
            return
    outcome.add(row, "conflict", detail=problem)
    outcome.newly_queued += _queue(writer, row.to_frame().T, reason=f"conflict: {problem}")


def _decided_version(
    writer: AuditedWriter, tenant: str, entity: Entity, current: pd.DataFrame, loser: str, snapshot: object
) -> int | None:
    """The loser's version the merge must find: the snapshot's, the one the decision was made
    on, moved on only by this tool's own audited writes (a company merge re-pointing the
    contact's `company_id` bumps its version and is no rep's edit). A version no audit entry
    explains is someone's edit: the merge then conflicts and goes to review."""
    if pd.isna(snapshot):
        return None
    decided = int(snapshot)  # type: ignore[call-overload]
    if loser not in current.index:
        return decided
    now = as_version(current.at[loser, "version"])
    if now is None or now <= decided:
        return decided
    ours = {
        e.version_after
        for e in writer.ledger.audit_entries(tenant=tenant, entity=entity.value, record_id=loser)
    }
    return now if set(range(decided + 1, now + 1)) <= ours else decided


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
    if name in TIMESTAMP_FIELDS:
        moments = parse_timestamps(pd.Series([stored, seen], dtype=object))
        return bool(moments.notna().all() and moments.iloc[0] == moments.iloc[1])
    return stored == seen


def _queue(writer: AuditedWriter, rows: pd.DataFrame, *, reason: str | None = None) -> int:
    """Record each row's defining change, put it in the review queue with its reason; returns
    how many items were newly queued."""
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
        for _, row in rows.iterrows()
    ]
    ids = [p.change_id for p in proposals]
    ledger = writer.ledger
    ledger.record_proposals(proposals)
    # Only fresh proposals become `queued`: one applied, rejected or undone keeps its history.
    fresh = ledger.proposals(proposals[0].tenant, status=ProposalStatus.PROPOSED, change_ids=ids)
    ledger.set_status([p.change_id for p in fresh], ProposalStatus.QUEUED)
    by_reason: dict[str, list[str]] = {}
    for proposal, (_, row) in zip(proposals, rows.iterrows(), strict=True):
        by_reason.setdefault(reason or f"merge review: {row['reason']}", []).append(proposal.change_id)
    return sum(ledger.enqueue_review(change_ids, text) for text, change_ids in by_reason.items())
