"""The two decisions a merge proposal can carry, and the probability bands reported per run.

The thresholds themselves are the tenant's policy (`merge.auto_merge_threshold`,
`merge.review_threshold`); nothing here fixes them.
"""

from __future__ import annotations

from itertools import pairwise

from crm_hygiene.policy.schema import MergePolicy

AUTO = "auto"
REVIEW = "review"


def bands(rules: MergePolicy) -> tuple[tuple[str, float, float], ...]:
    """Probability bands from the review threshold up; the last one is what auto-merge may act on."""
    review, auto = rules.review_threshold, rules.auto_merge_threshold
    edges = sorted({review, *(e for e in (0.8, 0.95) if review < e < auto), auto})
    out = [(f"{low:.2f}-{high:.2f}", low, high) for low, high in pairwise(edges)]
    out.append((f"{auto:.2f}-1.00", auto, 1.0 + 1e-12))
    return tuple(out)
