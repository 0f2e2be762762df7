"""Pairwise precision, recall and F1 of a clustering against true entity labels.

A clustering is scored by the record pairs it puts together. A pair is *predicted* when both
records share a predicted cluster, *true* when both share a truth label and *correct* when both
hold. Pairs are counted from group sizes, never enumerated: a group of n records holds
n*(n-1)/2 pairs, and the correct pairs are the pairs inside each cell of the
predicted-cluster × truth-label contingency table.

Conventions:
- Both inputs are Series of labels indexed by record id. The truth defines the records being
  scored: every record id in `predicted` must appear in `truth`.
- A record that is absent from `predicted`, or whose predicted label is missing (NaN/None),
  is a singleton: it is paired with nothing.
- With no predicted pairs, precision is 1.0 (nothing claimed, nothing wrong). With no true
  pairs, recall is 1.0 (nothing to find). F1 is 0.0 when precision and recall are both 0.
  So predicting all singletons scores precision 1.0 and recall 0.0 (F1 0.0) on data with
  duplicates, and 1.0 across the board on data without any.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class PairwiseScores:
    """Pair counts and the scores derived from them."""

    precision: float
    recall: float
    f1: float
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int


def count_pairs(group_sizes: pd.Series | np.ndarray) -> int:
    """The number of unordered pairs inside groups of the given sizes: sum of n*(n-1)/2."""
    sizes = np.asarray(group_sizes, dtype=np.int64)
    return int((sizes * (sizes - 1) // 2).sum())


def scores_from_counts(true_pairs: int, predicted_pairs: int, correct_pairs: int) -> PairwiseScores:
    """Precision, recall and F1 from pair counts, with the module's conventions for empty sets."""
    if not 0 <= correct_pairs <= min(true_pairs, predicted_pairs):
        raise ValueError(
            f"correct_pairs={correct_pairs} must lie between 0 and min(true_pairs={true_pairs}, "
            f"predicted_pairs={predicted_pairs})"
        )
    precision = correct_pairs / predicted_pairs if predicted_pairs else 1.0
    recall = correct_pairs / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PairwiseScores(
        precision=precision,
        recall=recall,
        f1=f1,
        true_pairs=true_pairs,
        predicted_pairs=predicted_pairs,
        correct_pairs=correct_pairs,
    )


def pairwise_scores(predicted: pd.Series, truth: pd.Series) -> PairwiseScores:
    """Score predicted cluster labels against true entity labels, both indexed by record id.

    Raises ValueError when either index has duplicates, when `truth` has missing labels, or
    when `predicted` names records that `truth` does not hold.
    """
    if truth.index.has_duplicates:
        raise ValueError("truth: record ids (the index) must be unique")
    if predicted.index.has_duplicates:
        raise ValueError("predicted: record ids (the index) must be unique")
    if truth.isna().any():
        raise ValueError(f"truth: {int(truth.isna().sum())} record(s) have no label")
    unknown = predicted.index.difference(truth.index)
    if len(unknown):
        raise ValueError(f"predicted: {len(unknown)} record id(s) are not in truth, e.g. {list(unknown[:5])}")

    frame = pd.DataFrame(
        {"truth": truth.to_numpy(), "predicted": predicted.reindex(truth.index).to_numpy()},
        index=truth.index,
    )
    true_pairs = count_pairs(frame.groupby("truth", sort=False, observed=True).size())
    # groupby drops missing keys, so records without a predicted cluster count as singletons.
    predicted_pairs = count_pairs(frame.groupby("predicted", sort=False, observed=True).size())
    correct_pairs = count_pairs(frame.groupby(["predicted", "truth"], sort=False, observed=True).size())
    return scores_from_counts(true_pairs, predicted_pairs, correct_pairs)
