"""The audited writer: the one way the pipeline and the CLI change CRM records.

Every change is a proposal first; every write leaves an audit entry with before, after,
actor, run id, policy version and evidence; a change id already applied is a no-op; a
record edited since the snapshot is not overwritten and its change goes to review.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from crm_hygiene.apply.batch import (
    DUPLICATE,
    SKIPPED_APPLIED,
    SKIPPED_REVERTED,
    BatchOutcome,
    empty_changes,
    recover,
    write_batch,
)
from crm_hygiene.ledger import AuditAction, AuditEntry, ChangeKind, Ledger, Proposal
from crm_hygiene.ledger.change_id import make_change_id
from crm_hygiene.ledger.codec import dumps
from crm_hygiene.model import Entity
from crm_hygiene.stores import FieldChange, Outcome, RecordStore, StoreError
from crm_hygiene.stores.changes import ROLLED_BACK_REASON
from crm_hygiene.stores.operations import flag_changes, merge_changes

ACTOR_PIPELINE = "crm-hygiene"


@dataclass
class WriteSummary:
    """What one call did, by outcome, with the change ids sent to review."""

    applied: list[str] = field(default_factory=list)
    skipped_already_applied: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    skipped_reverted: list[str] = field(default_factory=list)
    group_id: str | None = None

    def counts(self) -> dict[str, int]:
        return {
            "applied": len(self.applied),
            "already_applied": len(self.skipped_already_applied),
            "conflicts": len(self.conflicts),
            "rejected": len(self.rejected),
            "skipped_reverted": len(self.skipped_reverted),
        }


def proposal_frame(proposals: Sequence[Proposal], *, group_id: str | None = None) -> pd.DataFrame:
    """A change frame (`batch.CHANGE_FRAME`) of proposals, all in `group_id` when given."""
    if not proposals:
        return empty_changes()
    return pd.DataFrame(
        {
            "change_id": [p.change_id for p in proposals],
            "tenant": [p.tenant for p in proposals],
            "entity": [p.entity for p in proposals],
            "record_id": [p.record_id for p in proposals],
            "field": [p.field for p in proposals],
            "old_value": [p.old_value for p in proposals],
            "new_value": [p.new_value for p in proposals],
            "kind": [p.kind.value for p in proposals],
            "source": [p.source for p in proposals],
            "evidence": [dumps(p.evidence) for p in proposals],
            "confidence": [float(p.confidence) for p in proposals],
            "expected_version": pd.array([p.expected_version for p in proposals], dtype="Int64"),
            "group_id": [group_id] * len(proposals),
        }
    )


def summary_of(outcome: BatchOutcome, group_id: str | None = None) -> WriteSummary:
    """The per-call summary of a batch (one group's rows when `group_id` is given)."""
    rows = outcome.changes
    if group_id is not None:
        rows = rows[rows["group_id"] == group_id]

    def ids(*names: str) -> list[str]:
        return rows.loc[rows["outcome"].isin(names), "change_id"].tolist()

    return WriteSummary(
        applied=rows.loc[rows["audited"], "change_id"].tolist(),
        skipped_already_applied=ids(SKIPPED_APPLIED, DUPLICATE),
        conflicts=ids(Outcome.CONFLICT.value, Outcome.ROLLED_BACK.value),
        rejected=ids(Outcome.REJECTED.value, Outcome.MISSING.value),
        skipped_reverted=ids(SKIPPED_REVERTED),
        group_id=group_id,
    )


class AuditedWriter:
    """Binds a store, a ledger and who is writing (actor, run id, policy version)."""

    def __init__(
        self,
        store: RecordStore,
        ledger: Ledger,
        *,
        actor: str = ACTOR_PIPELINE,
        run_id: str | None = None,
        policy_version: str = "manual",
    ) -> None:
        self.store = store
        self.ledger = ledger
        self.actor = actor
        self.run_id = run_id
        self.policy_version = policy_version

    # -- proposals -------------------------------------------------------------------------

    def apply(
        self,
        proposals: Sequence[Proposal],
        *,
        group_id: str | None = None,
        reapply_reverted: bool = False,
    ) -> WriteSummary:
        """Apply proposals with optimistic concurrency; conflicts go to review. With `group_id`
        they are one all-or-nothing group (a merge, a flag) and their audit entries name it."""
        summary = WriteSummary(group_id=group_id)
        for tenant in dict.fromkeys(p.tenant for p in proposals):
            mine = [p for p in proposals if p.tenant == tenant]
            outcome = self.apply_frame(
                tenant, proposal_frame(mine, group_id=group_id), reapply_reverted=reapply_reverted
            )
            part = summary_of(outcome)
            summary.applied += part.applied
            summary.skipped_already_applied += part.skipped_already_applied
            summary.conflicts += part.conflicts
            summary.rejected += part.rejected
            summary.skipped_reverted += part.skipped_reverted
        return summary

    def apply_frame(
        self, tenant: str, changes: pd.DataFrame, *, reapply_reverted: bool = False
    ) -> BatchOutcome:
        """Apply a whole frame of one tenant's changes as one batch (`apply.batch`)."""
        return write_batch(self, tenant, changes, reapply_reverted=reapply_reverted)

    def recover(self, tenant: str) -> list[BatchOutcome]:
        """Complete what a crash interrupted: the tenant's batches still open (`apply.batch`)."""
        return recover(self, tenant)

    def _proposals_for(
        self,
        tenant: str,
        changes: Sequence[FieldChange],
        kind: ChangeKind,
        source: str,
        evidence: dict,
        confidence: float = 1.0,
    ) -> list[Proposal]:
        return [
            Proposal.new(
                tenant,
                c.entity.value,
                c.record_id,
                c.field,
                c.old_value,
                c.new_value,
                kind,
                source,
                evidence,
                confidence,
                self.policy_version,
                self.run_id,
                c.expected_version,
            )
            for c in changes
        ]

    # -- flags and merges ----------------------------------------------------------------

    def flag(
        self, tenant: str, entity: Entity, record_id: str, code: str, *, reason: str = ""
    ) -> WriteSummary:
        self.recover(tenant)
        rows = self.store.read(tenant, entity, [record_id])
        if rows.empty:
            raise StoreError(f"{entity} {record_id} does not exist for tenant {tenant!r}")
        changes = flag_changes(entity, rows.iloc[0].to_dict(), code)
        if not changes:
            raise StoreError(f"{entity} {record_id} of tenant {tenant!r} already carries flag {code!r}")
        evidence = {"flag": code, "reason": reason}
        proposals = self._proposals_for(tenant, changes, ChangeKind.FLAG, "flag", evidence)
        # One flag is one group (its flags and status writes): reverting either reverts both.
        head = next(p for p in proposals if p.field == "flags")
        group_id = group_name("flag", head.change_id, self.ledger.writes.revert_counts([head.change_id]))
        return self.apply(proposals, group_id=group_id, reapply_reverted=True)

    def merge(
        self,
        tenant: str,
        entity: Entity,
        survivor_id: str,
        loser_id: str,
        *,
        evidence: dict | None = None,
        survivor_values: Mapping[str, tuple[str | None, str | None]] | None = None,
        confidence: float = 1.0,
        loser_version: int | None = None,
    ) -> WriteSummary:
        """Merge all-or-nothing; the summary's group_id names the merge for `unmerge`.

        `survivor_values` maps a field of the survivor to (value it holds now, value it gets):
        survivorship's choice among the merged records. The writes join the merge's group, so
        they succeed or fail with it and an unmerge puts them back too; each is guarded by the
        value it expects, so a rep's edit since the snapshot turns the merge into a conflict.
        `confidence` is the match probability for a matcher's merge (1.0 for a person's).
        `loser_version` is the loser's version the decision was made on (`merge_changes`).
        A merge a crash interrupted is completed first; asked for again, it is returned.
        """
        completed = self.recover(tenant)
        try:
            changes = merge_changes(
                self.store, tenant, entity, survivor_id, loser_id, loser_version=loser_version
            )
        except StoreError:
            head_id = make_change_id(
                tenant, entity.value, loser_id, "merged_into", survivor_id, ChangeKind.MERGE
            )
            for outcome in completed:
                heads = outcome.changes[
                    (outcome.changes["change_id"] == head_id) & outcome.changes["audited"]
                ]
                if len(heads):
                    return summary_of(outcome, str(heads["group_id"].iloc[0]))
            raise
        for name, (old, new) in (survivor_values or {}).items():
            changes.append(FieldChange(entity, survivor_id, name, old, new))
        proposals = self._proposals_for(
            tenant,
            changes,
            ChangeKind.MERGE,
            "merge",
            {"survivor": survivor_id, "loser": loser_id, **(evidence or {})},
            confidence,
        )
        # The merge is named by its defining change (the loser's merged_into), once per generation.
        head = next(p for p in proposals if p.field == "merged_into")
        proposals = [head, *(p for p in proposals if p is not head)]
        group_id = group_name("merge", head.change_id, self.ledger.writes.revert_counts([head.change_id]))
        summary = self.apply(proposals, group_id=group_id, reapply_reverted=True)
        if summary.conflicts or summary.rejected:
            raise StoreError(f"merge of {entity} {loser_id} into {survivor_id} not applied: see review queue")
        return summary

    # -- undo ------------------------------------------------------------------------------

    def unmerge(self, group_id: str) -> WriteSummary:
        """Undo a whole merge exactly, all-or-nothing; refused if a record changed since, or if
        the merge is not in effect (never made, already undone, or superseded by a later merge)."""
        return self.revert_group(group_id, what="merge")

    def revert_group(self, group_id: str, *, what: str = "change group") -> WriteSummary:
        """Undo every write of a group (a merge, a flag) still in effect, all-or-nothing."""
        applied = self.ledger.audit_entries(group_id=group_id, action=AuditAction.APPLY)
        if not applied:
            raise StoreError(f"no {what} {group_id!r} in the audit log")
        if self.ledger.writes.open_batches(applied[0].tenant):
            # Complete an interrupted write first: it may hold part of this group.
            self.recover(applied[0].tenant)
            applied = self.ledger.audit_entries(group_id=group_id, action=AuditAction.APPLY)
        # In effect: the change's latest entry is this group's apply (not a revert, nor a later
        # merge's apply of the same change after an unmerge and a re-merge).
        latest = self.ledger.latest_audit({e.change_id for e in applied})
        live = [e for e in applied if latest.get(e.change_id) == (AuditAction.APPLY.value, group_id)]
        if not live:
            undone = self.ledger.audit_entries(group_id=group_id, action=AuditAction.REVERT)
            when = (
                f" (undone {undone[-1].applied_at:%Y-%m-%d %H:%M} UTC)"
                if undone and undone[-1].applied_at
                else ""
            )
            raise StoreError(f"{what} {group_id!r} is not in effect: it was already undone{when}")
        return self._revert(live, group_id=group_id, all_or_nothing=True)

    def revert_change(self, change_id: str) -> WriteSummary:
        """Undo one change; a change that is part of a group (a merge, a flag) undoes its whole
        group, since half a merge or half a flag is a state no person made."""
        entries = self.ledger.audit_entries(change_id=change_id, action=AuditAction.APPLY)
        if not entries or change_id not in self.ledger.applied_change_ids([change_id]):
            raise StoreError(f"change {change_id!r} is not currently applied")
        last = entries[-1]
        if last.group_id:
            return self.revert_group(last.group_id)
        return self._revert(entries[-1:], group_id=None, all_or_nothing=True)

    def revert_run(self, run_id: str) -> WriteSummary:
        """Undo every change a run applied that is still applied; conflicts are reported, not forced."""
        entries = self.ledger.audit_entries(run_id=run_id, action=AuditAction.APPLY)
        if not entries:
            raise StoreError(f"run {run_id!r} applied no change (no such run in the audit log)")
        live = self.ledger.applied_change_ids(e.change_id for e in entries)
        pending = [e for e in entries if e.change_id in live]
        if not pending:
            raise StoreError(f"every change run {run_id!r} applied is already reverted")
        return self._revert(pending, group_id=f"revert-run-{run_id}", all_or_nothing=False)

    def _revert(
        self, entries: Sequence[AuditEntry], *, group_id: str | None, all_or_nothing: bool
    ) -> WriteSummary:
        summary = WriteSummary(group_id=group_id)
        for tenant in dict.fromkeys(e.tenant for e in entries):
            batch = [e for e in entries if e.tenant == tenant]
            frame = pd.DataFrame(
                {
                    "change_id": [e.change_id for e in batch],
                    "tenant": tenant,
                    "entity": [e.entity for e in batch],
                    "record_id": [e.record_id for e in batch],
                    "field": [e.field for e in batch],
                    "old_value": [e.after for e in batch],
                    "new_value": [e.before for e in batch],
                    "kind": ChangeKind.REVERT.value,
                    "source": "revert",
                    "evidence": [dumps({"reverts": e.id, "reverted_run": e.run_id}) for e in batch],
                    "confidence": 1.0,
                    "expected_version": pd.array([None] * len(batch), dtype="Int64"),
                    "group_id": [e.group_id for e in batch],
                }
            )
            outcome = write_batch(self, tenant, frame, action=AuditAction.REVERT, atomic=all_or_nothing)
            part = summary_of(outcome)
            failures = part.conflicts + part.rejected
            if all_or_nothing and failures:
                reasons = "; ".join(r for r in outcome.changes["reason"] if r and r != ROLLED_BACK_REASON)[
                    :500
                ]
                raise StoreError(f"revert of {group_id or 'change'} not applied: {reasons}")
            summary.applied += part.applied
            summary.conflicts += failures
        return summary


def group_name(kind: str, head_change_id: str, reverts: Mapping[str, int]) -> str:
    """`merge-<change id>-<generation>`: a merge made again after an unmerge is a new merge."""
    return f"{kind}-{head_change_id}-{reverts.get(head_change_id, 0)}"
