"""One pair of a file explained: `crm-hygiene dedupe FILE --explain ID1 ID2`.

The pair is scored by the trained model whether or not a blocking rule would have compared it
(`Linker.inference.score_pair`), so a user can ask why two records did *not* match as well as
why they did. The answer is a line in words (`explain.explain_with`: each comparison's level
and its match weight in bits, for before against, strongest first) with the prior and the
total, and Splink's waterfall chart of the same weights written as an HTML page.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from crm_hygiene.matching.explain import explain_with
from crm_hygiene.matching.file_mapping import DedupeInputError
from crm_hygiene.matching.settings import ExtraIdentifier, level_phrases
from crm_hygiene.model.records import Entity

if TYPE_CHECKING:
    from splink import Linker


@dataclass(frozen=True)
class PairExplanation:
    """Why two records score what they score."""

    ids: tuple[str, str]
    match_probability: float
    match_weight: float  # bits, the prior's included
    prior_weight: float  # bits: log2 of the prior odds
    text: str  # the comparisons in words
    chart: Path | None = None

    def line(self) -> str:
        return (
            f"{self.ids[0]} and {self.ids[1]}: match probability {self.match_probability:.4f} "
            f"(match weight {self.match_weight:+.1f} bits, of which the prior {self.prior_weight:+.1f}): {self.text}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "ids": list(self.ids),
            "match_probability": round(self.match_probability, 6),
            "match_weight": round(self.match_weight, 2),
            "explanation": self.text,
            "chart": None if self.chart is None else str(self.chart),
        }


def explain_pair(
    linker: Linker,
    entity: Entity,
    inputs: pd.DataFrame,
    identifiers: Sequence[ExtraIdentifier],
    ids: tuple[str, str],
    chart: Path | None = None,
) -> PairExplanation:
    """Score and explain the records `ids` (record ids as in `inputs.unique_id`)."""
    by_id = inputs.set_index("unique_id", drop=False)
    missing = [i for i in ids if i not in by_id.index]
    if missing:
        raise DedupeInputError(f"--explain: no record has the id {missing[0]!r}")
    if ids[0] == ids[1]:
        raise DedupeInputError("--explain takes the ids of two different records")
    left, right = (_record(by_id.loc[i]) for i in ids)
    scored = linker.inference.score_pair(left, right)
    rows = scored.as_record_list()
    scored.drop_table_from_database_and_remove_from_cache()
    row = rows[0]
    # A file's model leaves out the comparisons of empty columns (`empty_comparisons`).
    phrases = {name: p for name, p in level_phrases(entity, identifiers).items() if f"gamma_{name}" in row}
    text = explain_with(pd.DataFrame([row]), phrases).iloc[0]
    prior = float(linker._settings_obj._probability_two_random_records_match)
    written = None
    if chart is not None:
        figure = linker.visualisations.waterfall_chart([row], filter_nulls=True)
        chart.parent.mkdir(parents=True, exist_ok=True)
        # Inline: the page carries Splink's bundled Vega, so it opens offline and loads no
        # script from a CDN; Splink writes the data as JSON with <, > and & escaped.
        figure.save(str(chart), inline=True)
        written = chart
    return PairExplanation(
        ids=ids,
        match_probability=float(row["match_probability"]),
        match_weight=float(row["match_weight"]),
        prior_weight=math.log2(prior / (1.0 - prior)),
        text=str(text),
        chart=written,
    )


def _record(row: pd.Series) -> dict[str, Any]:
    """A match-input row as Splink takes one record: plain values, lists as lists, NULL as None."""
    out: dict[str, Any] = {}
    for column, value in row.items():
        if isinstance(value, list):
            out[str(column)] = value
        elif value is None or (isinstance(value, float) and math.isnan(value)):
            out[str(column)] = None
        else:
            out[str(column)] = value if isinstance(value, str) else str(value)
    return out
