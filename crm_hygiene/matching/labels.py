"""What reviewers decided, as pairwise labels for training and for measuring the model.

A merge a reviewer approved says "these two records are one" (a match); one a reviewer
rejected, and every do-not-link pair (rejected merges become those, `reviews.learn_from_reviews`,
and a RevOps lead can add them by hand), says "these are two" (a non-match). Merges the
pipeline applied on its own are no labels: they are the model's own opinion.

`train` takes the labels when there are at least `MIN_MATCHES` matches: Splink estimates m
from labelled matches (`estimate_m_from_pairwise_labels`), one more estimate beside EM's, so
what reviewers saw weighs in. Whatever their number, the trained model's precision and recall
on all labels at the auto-merge threshold are reported (`label_scores`): measured on labels
it learnt from, so an upper bound, but the one figure a tenant has about its own data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from crm_hygiene.ledger.types import ChangeKind, DecisionKind
from crm_hygiene.model.records import Entity

if TYPE_CHECKING:
    from splink import Linker

    from crm_hygiene.ledger import Ledger

# Fewer labelled matches than this teach m nothing EM did not: m per level needs a few of each.
MIN_MATCHES = 20
LABEL_COLUMNS = ("record_id_l", "record_id_r", "match")


def reviewer_labels(ledger: Ledger, tenant: str, entity: Entity) -> pd.DataFrame:
    """record_id_l < record_id_r and match (1 approved merge, 0 rejected merge or do-not-link)."""
    entity = Entity(entity)
    merges = [
        p
        for p in ledger.proposals(tenant)
        if p.kind is ChangeKind.MERGE
        and p.field == "merged_into"
        and p.new_value
        and p.entity == entity.value
    ]
    decided = ledger.latest_decisions(p.change_id for p in merges)
    rows = [
        (p.record_id, str(p.new_value), 1 if decided[p.change_id].decision is DecisionKind.APPROVE else 0)
        for p in merges
        if p.change_id in decided
    ]
    do_not_link = ledger.registry.do_not_link_pairs(tenant, entity.value)
    rows += [
        (str(a), str(b), 0)
        for a, b in zip(do_not_link["record_id_l"], do_not_link["record_id_r"], strict=True)
    ]
    labels = pd.DataFrame(rows, columns=list(LABEL_COLUMNS))
    if labels.empty:
        return labels
    swap = labels["record_id_l"] > labels["record_id_r"]
    labels.loc[swap, ["record_id_l", "record_id_r"]] = labels.loc[
        swap, ["record_id_r", "record_id_l"]
    ].to_numpy()
    # A pair approved and later forbidden: the last word is the do-not-link, a non-match.
    return labels.groupby(["record_id_l", "record_id_r"], as_index=False)["match"].min()


@dataclass(frozen=True)
class LabelScores:
    """The model on reviewers' labels at one threshold."""

    matches: int
    non_matches: int
    used_for_m: bool
    threshold: float
    precision: float | None  # None: the model merged none of the labelled pairs
    recall: float | None  # None: no labelled match
    false_merges: int
    missed: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        def share(value: float | None) -> str:
            return "-" if value is None else f"{value:.3f}"

        used = (
            "m estimated from them too" if self.used_for_m else f"too few to learn m from (< {MIN_MATCHES})"
        )
        return (
            f"reviewer labels: {self.matches} matches, {self.non_matches} non-matches ({used}); at "
            f"{self.threshold}: precision {share(self.precision)}, recall {share(self.recall)} "
            f"({self.false_merges} would-be false merges, {self.missed} missed)"
        )


def usable(labels: pd.DataFrame, ids: pd.Series) -> pd.DataFrame:
    """The labels whose two records are both in `ids` (the records being trained on)."""
    present = set(ids.astype(str))
    keep = labels["record_id_l"].isin(present) & labels["record_id_r"].isin(present)
    return labels[keep & (labels["record_id_l"] != labels["record_id_r"])].reset_index(drop=True)


def learn_m(linker: Linker, labels: pd.DataFrame) -> bool:
    """Estimate m from the labelled matches when there are enough; whether it was done."""
    matches = labels[labels["match"] == 1]
    if len(matches) < MIN_MATCHES:
        return False
    table = linker.table_management.register_table(
        pd.DataFrame(
            {
                "unique_id_l": matches["record_id_l"].astype(str),
                "unique_id_r": matches["record_id_r"].astype(str),
            }
        ),
        "__reviewer_matches",
        overwrite=True,
    )
    linker.training.estimate_m_from_pairwise_labels(table)
    return True


def label_scores(linker: Linker, labels: pd.DataFrame, threshold: float, used_for_m: bool) -> LabelScores:
    """Precision and recall of `linker` on `labels` at `threshold` (each labelled pair scored)."""
    matches = int((labels["match"] == 1).sum())
    non_matches = int((labels["match"] == 0).sum())
    if labels.empty:
        return LabelScores(0, 0, used_for_m, threshold, None, None, 0, 0)
    registered = linker.table_management.register_table(
        pd.DataFrame(
            {
                "unique_id_l": labels["record_id_l"].astype(str),
                "unique_id_r": labels["record_id_r"].astype(str),
                "clerical_match_score": labels["match"].astype(float),
            }
        ),
        "__reviewer_labels",
        overwrite=True,
    )
    table = linker.table_management.register_labels_table(registered)
    errors = linker.evaluation.prediction_errors_from_labels_table(
        table, threshold_match_probability=threshold
    ).as_pandas_dataframe()
    false_merges = int((errors["clerical_match_score"] < 0.5).sum()) if not errors.empty else 0
    missed = int((errors["clerical_match_score"] >= 0.5).sum()) if not errors.empty else 0
    merged = matches - missed + false_merges
    precision = (matches - missed) / merged if merged else None
    recall = (matches - missed) / matches if matches else None
    return LabelScores(matches, non_matches, used_for_m, threshold, precision, recall, false_merges, missed)
