"""Several processes share one ledger: decisions from many writers get distinct, ordered versions."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from crm_hygiene.ledger import Decision, Proposal

from .conftest import LedgerTarget

WRITERS = 4
DECISIONS_EACH = 5


def test_concurrent_writers_on_separate_connections(
    ledger_target: LedgerTarget, make_proposal: Callable[..., Proposal]
) -> None:
    proposal = make_proposal()
    with ledger_target.open() as setup:
        setup.record_proposals([proposal])
        setup.enqueue_review([proposal.change_id], "low confidence")

    def reviewer(number: int) -> list[Decision]:
        # Each writer opens its own ledger, as a separate process (sensor, run, UI) would.
        with ledger_target.open() as own:
            own.record_proposals([make_proposal(f"w-{number}")])
            return [
                own.record_decision(proposal.change_id, "approve", f"reviewer-{number}")
                for _ in range(DECISIONS_EACH)
            ]

    with ThreadPoolExecutor(WRITERS) as pool:
        made = [d for batch in pool.map(reviewer, range(WRITERS)) for d in batch]

    with ledger_target.open() as reader:
        paged = reader.decisions_after(0, limit=1_000)
        total = reader.counts("acme")["proposals_total"]
    assert total == WRITERS + 1
    assert sorted(d.version for d in made) == list(range(1, WRITERS * DECISIONS_EACH + 1))
    # Ids and versions advance together, so a sensor's cursor never skips a decision.
    assert [d.version for d in paged] == list(range(1, WRITERS * DECISIONS_EACH + 1))
    assert sorted(made, key=lambda d: d.id) == paged
