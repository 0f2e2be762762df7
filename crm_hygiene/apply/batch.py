"""The audited write path, one batch at a time: intent, guarded store write, audit, review.

`write_batch(writer, tenant, changes)` takes a frame of changes (`CHANGE_FRAME`; evidence as
JSON text) and, for an apply:

1. records the proposals (insert-if-absent), which are the changes' lasting record;
2. skips the changes in effect already (their latest audit entry is an apply) and those a
   person reverted, unless the caller re-applies them (a merge made again);
3. records the batch's intent in the ledger (`write_batches`, `write_intents`) before the
   store is touched;
4. writes the store in one guarded batch (`RecordStore.apply_change_frame`): each record at
   the version the decision was made on, each field still holding the value it expects;
   changes sharing a group (a merge, a flag) are all-or-nothing;
5. writes one audit entry per applied change in bulk (`already_in_place` when the value was
   there), the proposals' status, and one review item per change or group that could not be
   written (a rep's edit wins: the change goes to review as a conflict);
6. closes the batch.

A crash anywhere between 3 and 6 leaves the batch open. `recover(writer, tenant)`, which every
batch runs first, completes it: the store judges the intent again, what is in place is
audited as already in place, what is not is written (or goes to review if a person edited
the record meanwhile), then the batch closes. Nothing is applied twice: the store write is
guarded by values and versions, the audit is unique per (change, action, group).

A revert batch (`action="revert"`) undoes audit entries the same way; its audit entries are
`revert`s and its changes become `reverted`; what cannot be undone is reported, not queued.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from crm_hygiene.ledger import AuditAction, ChangeKind, ProposalStatus
from crm_hygiene.ledger.codec import dumps, dumps_many, loads, utc_now
from crm_hygiene.stores import Outcome

if TYPE_CHECKING:
    from crm_hygiene.apply.audited import AuditedWriter

# A change frame's columns: what the proposal says, plus the group it belongs to.
CHANGE_FRAME = (
    "change_id",
    "tenant",
    "entity",
    "record_id",
    "field",
    "old_value",
    "new_value",
    "kind",
    "source",
    "evidence",
    "confidence",
    "expected_version",
    "group_id",
)

# Outcomes the writer adds to the store's (`stores.Outcome`).
SKIPPED_APPLIED = "skipped_already_applied"
SKIPPED_REVERTED = "skipped_reverted"
# The same change in two groups of one batch (a survivor's value in two merges of one cluster):
# the first group that is written carries it, as a sequence of single merges would.
DUPLICATE = "duplicate"

_WRITTEN = (Outcome.APPLIED.value, Outcome.ALREADY_APPLIED.value)
_FAILED = (Outcome.CONFLICT.value, Outcome.REJECTED.value, Outcome.MISSING.value, Outcome.ROLLED_BACK.value)
_STORE_COLUMNS = (
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


@dataclass
class BatchOutcome:
    """What one batch did: the changes with `outcome`, `reason`, `version_after` and whether
    an audit entry records them (`audited`); per failed group, the reason it failed."""

    changes: pd.DataFrame
    batch_id: str | None = None
    failed_groups: dict[str, str] = field(default_factory=dict)

    def ids(self, *outcomes: str) -> list[str]:
        return self.changes.loc[self.changes["outcome"].isin(outcomes), "change_id"].tolist()

    @property
    def audited(self) -> list[str]:
        return self.changes.loc[self.changes["audited"], "change_id"].tolist()

    def group_written(self, group_id: str) -> bool:
        return group_id not in self.failed_groups


def empty_changes() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in CHANGE_FRAME})


def write_batch(
    writer: AuditedWriter,
    tenant: str,
    changes: pd.DataFrame,
    *,
    action: AuditAction = AuditAction.APPLY,
    reapply_reverted: bool = False,
    atomic: bool = True,
) -> BatchOutcome:
    """Apply (or revert) a frame of one tenant's changes; see the module docstring."""
    recover(writer, tenant)
    frame = _prepared(changes, tenant)
    frame["outcome"] = None
    # Whether some change of the batch may have an audit entry already (a rerun, a re-merge):
    # if none can, the audit rows go in without looking for ones to skip.
    audited_before = True
    if action is AuditAction.APPLY and len(frame):
        log = writer.ledger.writes
        statuses = log.statuses(frame["change_id"])
        known = frame["change_id"].isin(list(statuses))
        log.record_proposal_rows(_proposal_rows(writer, frame[~known]), new=True)
        # Every audit entry is written after its proposal: a change the ledger did not know
        # has none, and only the known ones are looked up.
        latest = log.latest_actions(frame.loc[known, "change_id"])
        audited_before = not latest.empty
        live = set(latest.loc[latest["action"] == AuditAction.APPLY.value, "change_id"])
        frame.loc[frame["change_id"].isin(live), "outcome"] = SKIPPED_APPLIED
        if not reapply_reverted:
            reverted = {c for c, s in statuses.items() if s == ProposalStatus.REVERTED.value}
            frame.loc[frame["outcome"].isna() & frame["change_id"].isin(reverted), "outcome"] = (
                SKIPPED_REVERTED
            )
    pending = frame[frame["outcome"].isna()]
    if pending.empty:
        return _outcome(frame, None, {})
    batch_id = uuid.uuid4().hex
    writer.ledger.writes.open_batch(
        batch_id,
        tenant=tenant,
        actor=writer.actor,
        run_id=writer.run_id,
        policy_version=writer.policy_version,
        action=action.value,
        atomic=atomic,
        intents=pending.assign(
            old_value=pending["old_json"],
            new_value=pending["new_json"],
            evidence=pending["evidence"] if action is AuditAction.REVERT else None,
        ),
    )
    identity = _Identity(writer.actor, writer.run_id, writer.policy_version)
    settled = _write_and_settle(
        writer, tenant, pending, identity, action, atomic, batch_id, audited_before=audited_before
    )
    skipped = frame["outcome"]
    frame = frame.drop(columns=["outcome"]).merge(
        settled.changes[["seq", "outcome", "reason", "version_after", "audited"]], on="seq", how="left"
    )
    frame["outcome"] = frame["outcome"].where(frame["outcome"].notna(), skipped.to_numpy())
    return _outcome(frame, batch_id, settled.failed_groups)


def recover(writer: AuditedWriter, tenant: str) -> list[BatchOutcome]:
    """Complete the tenant's batches a crash left open, oldest first (see the module docstring)."""
    done: list[BatchOutcome] = []
    for batch in writer.ledger.writes.open_batches(tenant):
        intents = writer.ledger.writes.intents(batch["batch_id"])
        action = AuditAction(batch["action"])
        frame = pd.DataFrame(
            {
                "seq": intents["seq"].astype("int64"),
                "change_id": intents["change_id"],
                "tenant": intents["tenant"],
                "entity": intents["entity"],
                "record_id": intents["record_id"],
                "field": intents["field"],
                "old_value": intents["old_value"].map(loads),
                "new_value": intents["new_value"].map(loads),
                "kind": ChangeKind.REVERT.value if action is AuditAction.REVERT else intents["kind"],
                "source": intents["source"],
                "evidence": intents["intent_evidence"].where(
                    intents["intent_evidence"].notna(), intents["evidence"]
                ),
                "confidence": intents["confidence"],
                "expected_version": intents["expected_version"],
                "group_id": intents["group_id"],
            }
        )
        frame = _prepared(frame, tenant)
        identity = _Identity(batch["actor"], batch["run_id"], batch["policy_version"])
        done.append(
            _write_and_settle(
                writer, tenant, frame, identity, action, bool(batch["atomic"]), batch["batch_id"]
            )
        )
    return done


@dataclass(frozen=True)
class _Identity:
    """Who a batch's audit entries name: the writer that announced it, also when completed later."""

    actor: str
    run_id: str | None
    policy_version: str


def _prepared(changes: pd.DataFrame, tenant: str) -> pd.DataFrame:
    missing = [c for c in CHANGE_FRAME if c not in changes.columns]
    if missing:
        raise ValueError(f"a change frame needs the columns {missing}")
    strangers = changes.loc[changes["tenant"] != tenant, "tenant"].unique()
    if len(strangers):
        raise ValueError(f"changes for tenant {tenant!r} hold rows of {sorted(map(str, strangers))}")
    frame = changes.reset_index(drop=True).copy()
    if "seq" not in frame:
        frame["seq"] = np.arange(len(frame), dtype="int64")
    frame["group_id"] = frame["group_id"].astype(object).where(frame["group_id"].notna(), None)
    frame["expected_version"] = pd.to_numeric(frame["expected_version"], errors="coerce").astype("Int64")
    frame["old_json"] = dumps_many(frame["old_value"])
    frame["new_json"] = dumps_many(frame["new_value"])
    return frame


def _proposal_rows(writer: AuditedWriter, frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "change_id": frame["change_id"],
            "tenant": frame["tenant"],
            "entity": frame["entity"],
            "record_id": frame["record_id"],
            "field": frame["field"],
            "old_value": frame["old_json"],
            "new_value": frame["new_json"],
            "kind": frame["kind"].astype(str),
            "source": frame["source"],
            "evidence": frame["evidence"],
            "confidence": frame["confidence"].astype(float),
            "policy_version": writer.policy_version,
            "run_id": writer.run_id,
            "expected_version": frame["expected_version"],
            "status": ProposalStatus.PROPOSED.value,
            "created_at": utc_now(),
        }
    ).drop_duplicates("change_id")


def _write_and_settle(
    writer: AuditedWriter,
    tenant: str,
    pending: pd.DataFrame,
    identity: _Identity,
    action: AuditAction,
    atomic: bool,
    batch_id: str,
    *,
    audited_before: bool = True,
) -> BatchOutcome:
    store_frame = pending[list(_STORE_COLUMNS)].copy()
    if not atomic:
        store_frame["group_id"] = None
    judged = writer.store.apply_change_frame(tenant, store_frame)
    result = pending.drop(columns=["outcome"], errors="ignore").merge(
        judged[["seq", "outcome", "reason", "version_after"]], on="seq", how="left"
    )
    written = result["outcome"].isin(_WRITTEN)
    # One audit entry per change: a change in two written groups of this batch is the first one's.
    first = result.index.isin(result[written].drop_duplicates("change_id", keep="first").index)
    result.loc[written & ~first, "outcome"] = DUPLICATE
    failed = _failed_groups(result) if atomic else {}
    if action is AuditAction.REVERT:
        # An undo that cannot be made whole leaves no trace: nothing of its group was written.
        first &= ~result["group_id"].isin(list(failed)).to_numpy()
    result["audited"] = first
    _settle(writer, result, identity, action, failed, audited_before)
    writer.ledger.writes.close_batch(batch_id)
    return BatchOutcome(result, batch_id, failed)


def _failed_groups(result: pd.DataFrame) -> dict[str, str]:
    """Per group that was not written, the first reason (a rolled-back change is no reason)."""
    grouped = result[result["group_id"].notna()]
    failing = grouped[grouped["outcome"].isin(_FAILED)]
    if failing.empty:
        return {}
    causes = failing[failing["outcome"] != Outcome.ROLLED_BACK.value].drop_duplicates("group_id")
    reasons = {
        str(g): _review_reason(o, r)
        for g, o, r in zip(causes["group_id"], causes["outcome"], causes["reason"], strict=True)
    }
    return {
        str(g): reasons.get(str(g), "conflict: " + Outcome.ROLLED_BACK.value)
        for g in failing["group_id"].unique()
    }


def _review_reason(outcome: str, reason: str) -> str:
    return f"conflict: {reason}" if outcome == Outcome.CONFLICT.value else f"{outcome}: {reason}"


def _settle(
    writer: AuditedWriter,
    result: pd.DataFrame,
    identity: _Identity,
    action: AuditAction,
    failed: dict[str, str],
    audited_before: bool,
) -> None:
    log = writer.ledger.writes
    audited = result[result["audited"]]
    log.record_audit_rows(_audit_rows(audited, identity, action), new=not audited_before)
    applied_ids = set(audited["change_id"])
    if action is AuditAction.REVERT:
        log.set_status(applied_ids, ProposalStatus.REVERTED.value)
        return
    log.set_status(applied_ids, ProposalStatus.APPLIED.value)
    not_written = ~result["change_id"].isin(applied_ids)
    conflict = result["outcome"].isin([Outcome.CONFLICT.value, Outcome.ROLLED_BACK.value]) & not_written
    rejected = result["outcome"].isin([Outcome.REJECTED.value, Outcome.MISSING.value]) & not_written
    log.set_status(result.loc[conflict, "change_id"], ProposalStatus.CONFLICT.value)
    log.set_status(result.loc[rejected, "change_id"], ProposalStatus.REJECTED.value)
    # One review item per change that stands alone, one per group (its first change) otherwise.
    alone = result[result["group_id"].isna() & result["outcome"].isin(_FAILED) & not_written]
    items = [
        (c, t, _review_reason(o, r))
        for c, t, o, r in zip(
            alone["change_id"], alone["tenant"], alone["outcome"], alone["reason"], strict=True
        )
    ]
    heads = result[result["group_id"].isin(list(failed))].drop_duplicates("group_id")
    items += [
        (c, t, failed[str(g)])
        for c, t, g in zip(heads["change_id"], heads["tenant"], heads["group_id"], strict=True)
    ]
    if items:
        log.enqueue_review_rows(items, reopen=True)


def _audit_rows(audited: pd.DataFrame, identity: _Identity, action: AuditAction) -> pd.DataFrame:
    in_place = (audited["outcome"] == Outcome.ALREADY_APPLIED.value).to_numpy()
    evidence = audited["evidence"].to_numpy(dtype=object).copy()
    for i in np.flatnonzero(in_place):
        # The value was there already: a rerun after a crash, or the same fix made by hand.
        evidence[i] = dumps({**(loads(evidence[i]) or {}), "already_in_place": True})
    return pd.DataFrame(
        {
            "change_id": audited["change_id"].to_numpy(),
            "tenant": audited["tenant"].to_numpy(),
            "entity": audited["entity"].to_numpy(),
            "record_id": audited["record_id"].to_numpy(),
            "field": audited["field"].to_numpy(),
            "before": audited["old_json"].to_numpy(),
            "after": audited["new_json"].to_numpy(),
            "actor": identity.actor,
            "run_id": identity.run_id,
            "policy_version": identity.policy_version,
            "evidence": evidence,
            "kind": ChangeKind.REVERT.value
            if action is AuditAction.REVERT
            else audited["kind"].astype(str).to_numpy(),
            "action": action.value,
            "group_id": audited["group_id"].where(audited["group_id"].notna(), "").to_numpy(),
            "version_after": audited["version_after"].astype("Int64").to_numpy(),
            "applied_at": utc_now(),
        }
    )


def _outcome(frame: pd.DataFrame, batch_id: str | None, failed: dict[str, str]) -> BatchOutcome:
    out = frame.copy()
    for name, default in (("reason", ""), ("version_after", pd.NA), ("audited", False)):
        if name not in out:
            out[name] = default
    out["reason"] = out["reason"].fillna("")
    out["audited"] = out["audited"].fillna(False).astype(bool)
    return BatchOutcome(out, batch_id, failed)
