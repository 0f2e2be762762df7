"""What reviewers decided, fed back into matching: a rejected merge becomes a do-not-link pair."""

from __future__ import annotations

from crm_hygiene.ledger import ChangeKind, DecisionKind, Ledger, ProposalStatus


def learn_from_reviews(ledger: Ledger, tenant: str) -> int:
    """Turn merge proposals a reviewer rejected into do-not-link pairs; returns how many are new.

    A rejected proposal moves to status `rejected`, so each decision is learned once.
    """
    # Queued for review, or sent there by a conflict: either can be rejected by a reviewer.
    queued = [
        p
        for status in (ProposalStatus.QUEUED, ProposalStatus.CONFLICT)
        for p in ledger.proposals(tenant, status=status)
        if p.kind is ChangeKind.MERGE and p.field == "merged_into" and p.new_value
    ]
    if not queued:
        return 0
    decided = ledger.latest_decisions(p.change_id for p in queued)
    added = 0
    rejected = []
    for proposal in queued:
        decision = decided.get(proposal.change_id)
        if decision is None or decision.decision is not DecisionKind.REJECT:
            continue
        added += ledger.registry.add_do_not_link(
            tenant,
            proposal.entity,
            [(proposal.record_id, str(proposal.new_value))],
            reason=decision.note or "merge rejected in review",
            decided_by=decision.decided_by,
            run_id=proposal.run_id,
        )
        rejected.append(proposal.change_id)
    ledger.set_status(rejected, ProposalStatus.REJECTED)
    return added
