"""Pairwise precision/recall/F1: hand-computed cases, edge conventions, and brute-force agreement."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_hygiene.matching.evaluate import PairwiseScores, count_pairs, pairwise_scores, scores_from_counts


def labels(mapping: dict[object, object]) -> pd.Series:
    return pd.Series(mapping, dtype=object)


# --- hand-computed -------------------------------------------------------------------------------


def test_hand_computed_overlap() -> None:
    # truth {1,2,3} {4,5}: 3 + 1 = 4 true pairs.
    # predicted {1,2} {3,4,5}: 1 + 3 = 4 predicted pairs; correct (1,2) and (4,5).
    truth = labels({1: "a", 2: "a", 3: "a", 4: "b", 5: "b"})
    predicted = labels({1: "x", 2: "x", 3: "y", 4: "y", 5: "y"})
    assert pairwise_scores(predicted, truth) == PairwiseScores(
        precision=0.5, recall=0.5, f1=0.5, true_pairs=4, predicted_pairs=4, correct_pairs=2
    )


def test_hand_computed_unequal_precision_and_recall() -> None:
    # truth {1,2,3,4}: 6 true pairs. predicted {1,2} {3,4} {5,6}: 3 pairs, 2 of them correct.
    truth = labels({1: 7, 2: 7, 3: 7, 4: 7, 5: 8, 6: 9})
    predicted = labels({1: 0, 2: 0, 3: 1, 4: 1, 5: 2, 6: 2})
    scores = pairwise_scores(predicted, truth)
    assert (scores.true_pairs, scores.predicted_pairs, scores.correct_pairs) == (6, 3, 2)
    assert scores.precision == pytest.approx(2 / 3)
    assert scores.recall == pytest.approx(1 / 3)
    assert scores.f1 == pytest.approx(2 * (2 / 3) * (1 / 3) / (2 / 3 + 1 / 3))


def test_missing_and_null_predictions_are_singletons() -> None:
    truth = labels({"r1": "a", "r2": "a", "r3": "a", "r4": "b"})
    # r3 is absent and r4 has no label: only (r1, r2) is predicted.
    predicted = labels({"r1": "c1", "r2": "c1", "r4": None})
    scores = pairwise_scores(predicted, truth)
    assert (scores.true_pairs, scores.predicted_pairs, scores.correct_pairs) == (3, 1, 1)
    assert scores.precision == 1.0
    assert scores.recall == pytest.approx(1 / 3)


def test_index_order_does_not_matter() -> None:
    truth = labels({1: "a", 2: "a", 3: "b", 4: "b", 5: "b"})
    predicted = labels({1: "x", 2: "x", 3: "x", 4: "y", 5: "y"})
    shuffled = predicted.sample(frac=1.0, random_state=3)
    assert pairwise_scores(shuffled, truth) == pairwise_scores(predicted, truth)


# --- perfect and degenerate clusterings ------------------------------------------------------------


def test_perfect_clustering_with_different_label_names() -> None:
    truth = labels({1: "a", 2: "a", 3: "b", 4: "c", 5: "c", 6: "c"})
    predicted = labels({1: 10, 2: 10, 3: 11, 4: 12, 5: 12, 6: 12})
    assert pairwise_scores(predicted, truth) == PairwiseScores(1.0, 1.0, 1.0, 4, 4, 4)


def test_all_singletons_predicted_gives_precision_one_recall_zero() -> None:
    truth = labels({1: "a", 2: "a", 3: "b", 4: "b"})
    predicted = labels({1: 1, 2: 2, 3: 3, 4: 4})
    assert pairwise_scores(predicted, truth) == PairwiseScores(1.0, 0.0, 0.0, 2, 0, 0)
    # An empty prediction is the same clustering.
    assert pairwise_scores(labels({}), truth) == PairwiseScores(1.0, 0.0, 0.0, 2, 0, 0)


def test_no_duplicates_in_truth_and_none_predicted_is_perfect() -> None:
    truth = labels({1: "a", 2: "b", 3: "c"})
    assert pairwise_scores(labels({}), truth) == PairwiseScores(1.0, 1.0, 1.0, 0, 0, 0)


def test_no_duplicates_in_truth_but_pairs_predicted() -> None:
    truth = labels({1: "a", 2: "b", 3: "c"})
    predicted = labels({1: "x", 2: "x", 3: "y"})
    assert pairwise_scores(predicted, truth) == PairwiseScores(0.0, 1.0, 0.0, 0, 1, 0)


def test_everything_in_one_cluster() -> None:
    truth = labels({1: "a", 2: "a", 3: "b", 4: "b", 5: "b"})
    predicted = labels(dict.fromkeys(truth.index, "all"))
    scores = pairwise_scores(predicted, truth)
    assert (scores.true_pairs, scores.predicted_pairs, scores.correct_pairs) == (4, 10, 4)
    assert scores.precision == pytest.approx(0.4)
    assert scores.recall == 1.0


def test_empty_input() -> None:
    assert pairwise_scores(labels({}), labels({})) == PairwiseScores(1.0, 1.0, 1.0, 0, 0, 0)


def test_categorical_labels_count_only_observed_groups() -> None:
    truth = pd.Series(pd.Categorical(["a", "a", "b"], categories=["a", "b", "c", "d"]), index=[1, 2, 3])
    predicted = pd.Series(pd.Categorical(["x", "x", "x"], categories=["x", "y"]), index=[1, 2, 3])
    scores = pairwise_scores(predicted, truth)
    assert (scores.true_pairs, scores.predicted_pairs, scores.correct_pairs) == (1, 3, 1)


# --- invalid input ---------------------------------------------------------------------------------


def test_rejects_predicted_records_unknown_to_truth() -> None:
    with pytest.raises(ValueError, match="not in truth"):
        pairwise_scores(labels({1: "x", 99: "x"}), labels({1: "a", 2: "a"}))


def test_rejects_duplicate_record_ids() -> None:
    duplicated = pd.Series(["a", "a"], index=[1, 1])
    with pytest.raises(ValueError, match="truth"):
        pairwise_scores(labels({}), duplicated)
    with pytest.raises(ValueError, match="predicted"):
        pairwise_scores(duplicated, labels({1: "a"}))


def test_rejects_missing_truth_labels() -> None:
    with pytest.raises(ValueError, match="no label"):
        pairwise_scores(labels({}), labels({1: "a", 2: None}))


def test_scores_from_counts_rejects_impossible_counts() -> None:
    with pytest.raises(ValueError):
        scores_from_counts(true_pairs=1, predicted_pairs=5, correct_pairs=2)


def test_count_pairs() -> None:
    assert count_pairs(np.array([1, 2, 3, 4])) == 0 + 1 + 3 + 6
    assert count_pairs(pd.Series([], dtype="int64")) == 0
    # Large groups stay exact (no float rounding).
    assert count_pairs(np.array([3_000_000])) == 3_000_000 * 2_999_999 // 2


# --- property: agrees with brute-force pair enumeration --------------------------------------------


def brute_force(predicted: dict[int, int | None], truth: dict[int, int]) -> tuple[int, int, int]:
    true_pairs = predicted_pairs = correct_pairs = 0
    for a, b in combinations(sorted(truth), 2):
        same_truth = truth[a] == truth[b]
        pa, pb = predicted.get(a), predicted.get(b)
        same_predicted = pa is not None and pa == pb
        true_pairs += same_truth
        predicted_pairs += same_predicted
        correct_pairs += same_truth and same_predicted
    return true_pairs, predicted_pairs, correct_pairs


@st.composite
def labelings(draw: st.DrawFn) -> tuple[dict[int, int | None], dict[int, int]]:
    n = draw(st.integers(min_value=0, max_value=14))
    ids = draw(st.lists(st.integers(-1000, 1000), min_size=n, max_size=n, unique=True))
    truth = {i: draw(st.integers(0, 4)) for i in ids}
    # Each record is predicted into one of a few clusters, given no label, or left out.
    predicted: dict[int, int | None] = {}
    for i in ids:
        choice = draw(st.integers(-2, 4))
        if choice == -2:
            continue
        predicted[i] = None if choice == -1 else choice
    return predicted, truth


@settings(max_examples=300, deadline=None)
@given(labelings())
def test_matches_brute_force_enumeration(case: tuple[dict[int, int | None], dict[int, int]]) -> None:
    predicted, truth = case
    scores = pairwise_scores(labels(predicted), labels(truth))
    expected = scores_from_counts(*brute_force(predicted, truth))
    assert scores == expected
    assert 0.0 <= scores.precision <= 1.0
    assert 0.0 <= scores.recall <= 1.0
    assert 0.0 <= scores.f1 <= 1.0
