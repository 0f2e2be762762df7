"""Link two files: which records of B are records of A (`crm-hygiene dedupe A B --link`).

The steps are those of `files.dedupe_table`, with two tables instead of one:

1. each file is mapped on its own (`--mapping`, and `--mapping-b` when B's columns differ);
   record ids are prefixed "a:" and "b:" inside, so the files may repeat each other's ids;
2. the records of both are normalized together, so that a name word's rarity and the guard
   on widely shared values count over both files;
3. the model is trained and predicts with Splink's `link_only`: only pairs of one record of A
   and one of B are compared, counted and scored; the prior is over the |A| x |B| pairs;
4. each record of B gets `match_id` (the id, as written in A, of its best-scoring record of
   A at or above the threshold) and `match_probability` (that pair's score), empty where it
   matches nothing. A record of B is one entity, so it is linked to that record of A only: a
   second record of A it also scores well with (the café of a hotel beside its restaurant,
   at one address and on one switchboard) is a neighbour it resembles less, not a second
   match. The link's groups are those pairs: a record of A with the records of B that chose
   it (`best_partner_groups`).

With a truth column in both files, the groups are scored on the pairs across the files only
(`cross_scores`), as a link is scored: exactly the pairs the output names.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from crm_hygiene.matching.evaluate import PairwiseScores, scores_from_counts
from crm_hygiene.matching.file_io import default_output, file_format, read_table, write_table
from crm_hygiene.matching.file_mapping import (
    DedupeInputError,
    Mapping,
    Progress,
    checked_entity,
    default_mapping,
    load_mapping,
)
from crm_hygiene.matching.file_records import MappedFile, cell_texts, file_match_input, map_rows, row_list
from crm_hygiene.matching.files import (
    DEFAULT_THRESHOLD,
    arrow_with_identifiers,
    fit_file,
    settle_on_predictions,
)
from crm_hygiene.matching.model import DEFAULT_MAX_PAIRS, DEFAULT_SEED
from crm_hygiene.matching.session import SplinkSession
from crm_hygiene.model.records import Entity

LINK_COLUMNS = ("match_id", "match_probability")
SIDES = ("a", "b")


@dataclass(frozen=True)
class LinkResult:
    """What `link_tables` found: B's rows with their matches, and the figures the command prints."""

    output: pd.DataFrame  # B's columns plus match_id and match_probability
    records_a: int
    records_b: int
    matched: int  # records of B with a match in A
    seconds: float
    scores: PairwiseScores | None = None

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "records_a": self.records_a,
            "records_b": self.records_b,
            "matched": self.matched,
        }
        if self.scores is not None:
            out |= {
                "precision": round(self.scores.precision, 4),
                "recall": round(self.scores.recall, 4),
                "f1": round(self.scores.f1, 4),
            }
        out["seconds"] = round(self.seconds, 2)
        return out


def _prefixed(mapped: MappedFile, side: str) -> MappedFile:
    ids = (side + ":" + mapped.ids.astype(str)).astype(object)
    raw = mapped.raw.copy()
    raw["id"] = ids.to_numpy(dtype=object)
    identifiers = mapped.identifiers.copy()
    identifiers.index = ids.to_numpy(dtype=object)
    return MappedFile(
        ids=ids,
        id_values=mapped.id_values,
        raw=raw,
        identifiers=identifiers,
        notes=mapped.notes,
    )


def _together(a: MappedFile, b: MappedFile) -> MappedFile:
    return MappedFile(
        ids=pd.concat([a.ids, b.ids], ignore_index=True),
        id_values=pd.concat([a.id_values, b.id_values], ignore_index=True),
        raw=pd.concat([a.raw, b.raw], ignore_index=True),
        identifiers=pd.concat([a.identifiers, b.identifiers]),
        notes=(*a.notes, *b.notes),
    )


def link_tables(
    table_a: pd.DataFrame,
    table_b: pd.DataFrame,
    entity: Entity | str,
    mapping: Mapping | None = None,
    mapping_b: Mapping | None = None,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    truth_column: str | None = None,
    progress: Progress | None = None,
    max_pairs: int = DEFAULT_MAX_PAIRS,
    seed: int = DEFAULT_SEED,
    started: float | None = None,
) -> LinkResult:
    """Link the rows of `table_b` to those of `table_a` (module docstring).

    `mapping_b` defaults to `mapping`, which defaults to each file's own `default_mapping`.
    Both mappings must name the same extra identifiers: those are compared across the files.
    """
    started = time.perf_counter() if started is None else started
    say = progress or (lambda message: None)
    entity = checked_entity(entity)
    if not 0.0 < threshold <= 1.0:
        raise DedupeInputError(f"the threshold is a match probability in (0, 1], got {threshold}")
    tables = {"a": table_a, "b": table_b}
    mappings: dict[str, Mapping] = {}
    for side, table in tables.items():
        if table.empty:
            raise DedupeInputError(f"file {side.upper()} has no records")
        if truth_column is not None and truth_column not in table.columns:
            raise DedupeInputError(f"the truth column {truth_column!r} is not in file {side.upper()}")
        chosen = (mapping_b or mapping) if side == "b" else mapping
        if chosen is None:
            chosen = default_mapping(
                list(table.columns), entity, exclude=[truth_column] if truth_column else []
            )
        elif chosen.entity is not entity:
            raise DedupeInputError(f"the mapping is for {chosen.entity.value} records, not {entity.value}")
        try:
            chosen.check_columns(list(table.columns), truth_column)
        except DedupeInputError as exc:
            raise DedupeInputError(f"file {side.upper()}: {exc}") from None
        mappings[side] = chosen
        say(f"file {side.upper()}: {len(table):,} rows as {entity.value} records: {chosen.describe()}")
    identifiers = mappings["a"].extra_exact
    if [i.name for i in mappings["b"].extra_exact] != [i.name for i in identifiers]:
        raise DedupeInputError(
            "the two mappings name different identifiers "
            f"({[i.name for i in identifiers]} and {[i.name for i in mappings['b'].extra_exact]}): "
            "an identifier is compared across the files, so both must have it"
        )
    mapped = {side: _prefixed(map_rows(tables[side], mappings[side]), side) for side in SIDES}
    for note in (*mapped["a"].notes, *mapped["b"].notes):
        say(f"warning: {note}")
    say("normalizing")
    inputs = file_match_input(
        _together(mapped["a"], mapped["b"]), entity, lambda m: say(f"warning: {m}"), identifiers
    )
    sides = inputs["unique_id"].str.slice(0, 1)
    counts = {side: int((sides == side).sum()) for side in SIDES}

    with SplinkSession() as session:
        session.con.execute("SET enable_progress_bar = false")
        union = session.register(arrow_with_identifiers(entity, inputs, identifiers), f"{entity.value}_both")
        parts = [
            session.register(
                arrow_with_identifiers(entity, inputs[sides == side].reset_index(drop=True), identifiers),
                f"{entity.value}_{side}",
            )
            for side in SIDES
        ]
        linker, learnt = fit_file(
            entity,
            union,
            session,
            identifiers,
            say,
            max_pairs=max_pairs,
            seed=seed,
            records_count=len(inputs),
            link_inputs=parts,
        )
        say("predicting")
        total = float(counts["a"]) * float(counts["b"])
        settle_on_predictions(session, linker, learnt, total, say, inside=_cross_pairs_inside)
        # Only pairs at or above the threshold are reported: none below it is kept.
        predictions = linker.inference.predict(threshold_match_probability=threshold, warning_mode="never")
        # Each record of B: its best-scoring record of A at or above the threshold.
        best = session.con.sql(
            "SELECT b, a, p FROM ("
            "SELECT CASE WHEN starts_with(unique_id_l, 'b:') THEN unique_id_l ELSE unique_id_r END AS b, "
            "CASE WHEN starts_with(unique_id_l, 'b:') THEN unique_id_r ELSE unique_id_l END AS a, "
            f"match_probability AS p FROM {predictions.physical_name} WHERE match_probability >= {threshold}"
            ") QUALIFY row_number() OVER (PARTITION BY b ORDER BY p DESC, a) = 1"
        ).df()
    output = _output(table_b, mapped, best)
    scores = None
    if truth_column is not None:
        scores = cross_scores(best_partner_groups(best), _truth(tables, mapped, truth_column))
    seconds = time.perf_counter() - started
    matched = int(output["match_id"].notna().sum())
    say(
        f"{matched:,} of {counts['b']:,} records of B match a record of A at >= {threshold} ({seconds:.1f} s)"
    )
    return LinkResult(output, len(table_a), len(table_b), matched, seconds, scores)


def best_partner_groups(best: pd.DataFrame) -> pd.Series:
    """The link's groups from each record of B's best record of A (columns b, a): the group of
    a record of A is its own id, shared by the records of B that chose it. Records in no pair
    are left out (each is a group of its own)."""
    chosen = pd.Series(best["a"].to_numpy(dtype=object), index=best["b"].to_numpy(dtype=object))
    partners = pd.Series(chosen.unique(), index=chosen.unique())
    return pd.concat([chosen, partners])


def _cross_pairs_inside(clusters: str) -> str:
    """SQL: the pairs of one record of A and one of B inside the clusters of table `clusters`."""
    return (
        "SELECT sum(a * b) FROM (SELECT count(*) FILTER (WHERE starts_with(unique_id, 'a:')) AS a, "
        "count(*) FILTER (WHERE starts_with(unique_id, 'b:')) AS b "
        f"FROM {clusters} GROUP BY cluster_id)"
    )


def _output(table_b: pd.DataFrame, mapped: dict[str, MappedFile], best: pd.DataFrame) -> pd.DataFrame:
    """B's rows in file order plus match_id (A's id as written) and match_probability."""
    written_a = pd.Series(mapped["a"].id_values.to_numpy(dtype=object), index=mapped["a"].ids.to_numpy())
    by_b = best.set_index("b")
    ids_b = mapped["b"].ids.to_numpy(dtype=object)
    output = table_b.copy()
    for column in LINK_COLUMNS:
        if column in output.columns:
            output = output.rename(columns={column: f"{column}_input"})
    output["match_id"] = by_b["a"].reindex(ids_b).map(written_a).to_numpy(dtype=object)
    output["match_probability"] = by_b["p"].reindex(ids_b).round(6).to_numpy(dtype=float)
    return output


def _truth(tables: dict[str, pd.DataFrame], mapped: dict[str, MappedFile], column: str) -> pd.Series:
    parts = []
    for side in SIDES:
        labels = cell_texts(tables[side][column])
        if labels.isna().any():
            raise DedupeInputError(
                f"the truth column {column!r} of file {side.upper()} is empty in "
                f"{row_list(labels.index[labels.isna()].to_numpy())}"
            )
        parts.append(pd.Series(labels.to_numpy(), index=mapped[side].ids.to_numpy()))
    return pd.concat(parts)


def cross_scores(predicted: pd.Series, truth: pd.Series) -> PairwiseScores:
    """Pairwise scores of a link: only pairs of a record of A ("a:" ids) and one of B count.

    Within a group of a records of A and b of B there are a*b such pairs; a record without a
    predicted cluster is a singleton.
    """
    frame = pd.DataFrame(
        {
            "truth": truth.to_numpy(),
            "predicted": predicted.reindex(truth.index).to_numpy(),
            "a": pd.Series(truth.index.astype(str)).str.startswith("a:").to_numpy(),
        }
    )
    frame["b"] = ~frame["a"]

    def cross(keys: list[str]) -> int:
        grouped = frame.dropna(subset=keys).groupby(keys, sort=False)[["a", "b"]].sum()
        return int((grouped["a"].astype("int64") * grouped["b"].astype("int64")).sum())

    return scores_from_counts(cross(["truth"]), cross(["predicted"]), cross(["predicted", "truth"]))


def link_files(
    path_a: str | Path,
    path_b: str | Path,
    entity: Entity | str,
    *,
    mapping_path: str | Path | None = None,
    mapping_b_path: str | Path | None = None,
    output: str | Path | None = None,
    truth_column: str | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    progress: Progress | None = None,
    write: bool = True,
    sep: str | None = None,
) -> LinkResult:
    """Read both files, link them (`link_tables`) and write B's rows with their matches.

    `output` defaults to `default_output(path_b)`.
    """
    started = time.perf_counter()
    entity = checked_entity(entity)
    target = Path(output) if output is not None else default_output(path_b)
    if write:
        file_format(target)
        for path in (path_a, path_b):
            if target.resolve() == Path(path).resolve():
                raise DedupeInputError(f"the output {str(target)!r} would overwrite an input")
    mapping = load_mapping(mapping_path, entity) if mapping_path is not None else None
    mapping_b = load_mapping(mapping_b_path, entity) if mapping_b_path is not None else None
    result = link_tables(
        read_table(path_a, sep=sep),
        read_table(path_b, sep=sep),
        entity,
        mapping,
        mapping_b,
        threshold=threshold,
        truth_column=truth_column,
        progress=progress,
        started=started,
    )
    if write:
        write_table(result.output, target)
        if progress:
            progress(f"wrote {target}")
    return result
