"""The audited writer: the one way the pipeline and the CLI change CRM records.

Every change is a proposal first; every write leaves an audit entry with before, after,
actor, run id, policy version and evidence; a change id already applied is a no-op; a
record edited since the snapshot is not overwritten and its change goes to review.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from crm_hygiene.ledger import (
    AuditAction,
    AuditEntry,
    ChangeKind,
    Ledger,
    Proposal,
    ProposalStatus,
)
from crm_hygiene.ledger.change_id import make_change_id
from crm_hygiene.model import Entity
from crm_hygiene.stores import ChangeResult, FieldChange, Outcome, RecordStore, StoreError
from crm_hygiene.stores.concurrency import canonical
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


def _change(proposal: Proposal) -> FieldChange:
    return FieldChange(
        Entity(proposal.entity),
        proposal.record_id,
        proposal.field,
        proposal.old_value,
        proposal.new_value,
        proposal.expected_version,
        proposal.change_id,
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
        all_or_nothing: bool = False,
        reapply_reverted: bool = False,
    ) -> WriteSummary:
        """Apply proposals (of any tenants) with optimistic concurrency; conflicts go to review."""
        summary = WriteSummary(group_id=group_id)
        self.ledger.record_proposals(proposals)
        done = self.ledger.applied_change_ids(p.change_id for p in proposals)
        summary.skipped_already_applied = [p.change_id for p in proposals if p.change_id in done]
        pending = [p for p in proposals if p.change_id not in done]
        if not reapply_reverted:
            # A change a person reverted is not put back by the next run proposing it again.
            reverted = self._reverted(pending)
            summary.skipped_reverted = [p.change_id for p in pending if p.change_id in reverted]
            pending = [p for p in pending if p.change_id not in reverted]
        by_tenant: dict[str, list[Proposal]] = defaultdict(list)
        for proposal in pending:
            by_tenant[proposal.tenant].append(proposal)
        for tenant, batch in by_tenant.items():
            index = {p.change_id: p for p in batch}
            report = self.store.apply_changes(
                tenant, [_change(p) for p in batch], all_or_nothing=all_or_nothing
            )
            self._settle(tenant, index, report.results, group_id, summary)
        return summary

    def _reverted(self, proposals: Sequence[Proposal]) -> set[str]:
        by_tenant: dict[str, list[str]] = defaultdict(list)
        for proposal in proposals:
            by_tenant[proposal.tenant].append(proposal.change_id)
        return {
            known.change_id
            for tenant, ids in by_tenant.items()
            for known in self.ledger.proposals(tenant, status=ProposalStatus.REVERTED, change_ids=ids)
        }

    def _settle(
        self,
        tenant: str,
        index: dict[str, Proposal],
        results: Iterable[ChangeResult],
        group_id: str | None,
        summary: WriteSummary,
    ) -> None:
        entries: list[AuditEntry] = []
        review: dict[str, list[str]] = defaultdict(list)
        for result in results:
            proposal = index[result.change.change_id or ""]
            if result.outcome in (Outcome.APPLIED, Outcome.ALREADY_APPLIED):
                evidence = dict(proposal.evidence)
                if result.outcome is Outcome.ALREADY_APPLIED:
                    # The value was in place already (a re-run after a crash, or the same fix by hand).
                    evidence["already_in_place"] = True
                entries.append(
                    self._entry(proposal, AuditAction.APPLY, group_id, result.version_after, evidence)
                )
                summary.applied.append(proposal.change_id)
            elif result.outcome is Outcome.CONFLICT:
                review[f"conflict: {result.reason}"].append(proposal.change_id)
                summary.conflicts.append(proposal.change_id)
            else:
                review[f"{result.outcome.value}: {result.reason}"].append(proposal.change_id)
                summary.rejected.append(proposal.change_id)
        self.ledger.record_audit(entries)
        self.ledger.set_status([e.change_id for e in entries], ProposalStatus.APPLIED)
        self.ledger.set_status(summary.conflicts, ProposalStatus.CONFLICT)
        self.ledger.set_status(summary.rejected, ProposalStatus.REJECTED)
        for reason, change_ids in review.items():
            # Reopen: an approved change that now conflicts needs a reviewer again.
            self.ledger.enqueue_review(change_ids, reason, reopen=True)

    def _entry(
        self,
        proposal: Proposal,
        action: AuditAction,
        group_id: str | None,
        version_after: int | None,
        evidence: dict,
        *,
        before: object = None,
        after: object = None,
        kind: ChangeKind | None = None,
    ) -> AuditEntry:
        forward = action is AuditAction.APPLY
        return AuditEntry(
            change_id=proposal.change_id,
            tenant=proposal.tenant,
            entity=proposal.entity,
            record_id=proposal.record_id,
            field=proposal.field,
            before=proposal.old_value if forward else before,
            after=proposal.new_value if forward else after,
            actor=self.actor,
            run_id=self.run_id,
            policy_version=self.policy_version,
            evidence=evidence,
            kind=kind or proposal.kind,
            action=action,
            group_id=group_id,
            version_after=version_after,
        )

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
        group_id = f"flag-{head.change_id}-{self._generation(head.change_id)}"
        return self.apply(proposals, group_id=group_id, all_or_nothing=True, reapply_reverted=True)

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
        """
        try:
            changes = merge_changes(
                self.store, tenant, entity, survivor_id, loser_id, loser_version=loser_version
            )
        except StoreError:
            # The loser merged already: by an attempt a crash cut short of its audit, or not.
            completed = self.complete_interrupted_merge(tenant, entity, survivor_id, loser_id)
            if completed is not None:
                return completed
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
        # A re-point an interrupted attempt wrote (one sheet replaced, the next not) is no longer
        # found by `merge_changes`; its recorded proposal joins the group, so it is audited
        # (as already in place) and an unmerge restores it.
        known = {p.change_id for p in proposals}
        proposals += [
            p
            for p in self.merge_intent(tenant, survivor_id, loser_id)
            if p.change_id not in known and p.record_id != loser_id and p.old_value == loser_id
        ]
        # The merge is named by its defining change (the loser's merged_into), once per generation.
        head = next(p for p in proposals if p.field == "merged_into")
        group_id = f"merge-{head.change_id}-{self._generation(head.change_id)}"
        summary = self.apply(proposals, group_id=group_id, all_or_nothing=True, reapply_reverted=True)
        if summary.conflicts or summary.rejected:
            raise StoreError(f"merge of {entity} {loser_id} into {survivor_id} not applied: see review queue")
        return summary

    def complete_interrupted_merge(
        self, tenant: str, entity: Entity, survivor_id: str, loser_id: str
    ) -> WriteSummary | None:
        """Finish a merge whose store write committed (in full, or the loser's sheet of a
        spreadsheet folder) and whose audit did not: a crash came between.

        The merge's proposals, recorded before the store write (`merge_intent`), are applied
        again as one group: what is in place is audited as already in place, what the crash
        left unwritten is written, and the proposals' status and the group id `unmerge` needs
        follow. None when the loser is not merged into the survivor, or when no intent is
        found (the merge was then made outside this tool, or is audited already).
        """
        current = self.store.read(tenant, entity, [loser_id])
        if current.empty or canonical(current.iloc[0]["merged_into"]) != survivor_id:
            return None
        head_id = make_change_id(tenant, entity.value, loser_id, "merged_into", survivor_id, ChangeKind.MERGE)
        heads = self.ledger.proposals(tenant, change_ids=[head_id])
        if not heads or heads[0].status in (ProposalStatus.APPLIED, ProposalStatus.REVERTED):
            return None
        members = [p for p in self.merge_intent(tenant, survivor_id, loser_id) if p.change_id != head_id]
        if not members and heads[0].evidence.get("loser") != loser_id:
            return None
        group_id = f"merge-{head_id}-{self._generation(head_id)}"
        summary = self.apply(
            [heads[0], *members], group_id=group_id, all_or_nothing=True, reapply_reverted=True
        )
        if summary.conflicts or summary.rejected:
            raise StoreError(
                f"merge of {entity} {loser_id} into {survivor_id} could not be completed: see review queue"
            )
        return summary if summary.applied else None

    def merge_intent(self, tenant: str, survivor_id: str, loser_id: str) -> list[Proposal]:
        """The proposals of a merge of `loser_id` into `survivor_id` recorded and not yet
        applied: what an attempt interrupted by a crash meant to write (`apply` records the
        proposals before it writes the store)."""
        pending = self.ledger.proposals(tenant, kind=ChangeKind.MERGE, status=ProposalStatus.PROPOSED)
        return [
            p
            for p in pending
            if p.evidence.get("survivor") == survivor_id and p.evidence.get("loser") == loser_id
        ]

    def _generation(self, change_id: str) -> int:
        """How many times this change was reverted: a re-merge after an unmerge is a new merge."""
        return len(self.ledger.audit_entries(change_id=change_id, action=AuditAction.REVERT))

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
        by_tenant: dict[str, list[AuditEntry]] = defaultdict(list)
        for entry in entries:
            by_tenant[entry.tenant].append(entry)
        for tenant, batch in by_tenant.items():
            changes = [
                FieldChange(Entity(e.entity), e.record_id, e.field, e.after, e.before, change_id=e.change_id)
                for e in batch
            ]
            report = self.store.apply_changes(tenant, changes, all_or_nothing=all_or_nothing)
            by_id = {e.change_id: e for e in batch}
            written: list[AuditEntry] = []
            for result in report.results:
                entry = by_id[result.change.change_id or ""]
                if result.outcome in (Outcome.APPLIED, Outcome.ALREADY_APPLIED):
                    written.append(
                        AuditEntry(
                            change_id=entry.change_id,
                            tenant=entry.tenant,
                            entity=entry.entity,
                            record_id=entry.record_id,
                            field=entry.field,
                            before=entry.after,
                            after=entry.before,
                            actor=self.actor,
                            run_id=self.run_id,
                            policy_version=self.policy_version,
                            evidence={"reverts": entry.id, "reverted_run": entry.run_id},
                            kind=ChangeKind.REVERT,
                            action=AuditAction.REVERT,
                            group_id=entry.group_id,
                            version_after=result.version_after,
                        )
                    )
                    summary.applied.append(entry.change_id)
                else:
                    summary.conflicts.append(entry.change_id)
            if all_or_nothing and summary.conflicts:
                reasons = "; ".join(r.reason for r in report.results if r.reason)[:500]
                raise StoreError(f"revert of {group_id or 'change'} not applied: {reasons}")
            self.ledger.record_audit(written)
            self.ledger.set_status([e.change_id for e in written], ProposalStatus.REVERTED)
        return summary
