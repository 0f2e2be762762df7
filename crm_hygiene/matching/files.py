"""Deduplicate a CSV or Parquet file of any schema: map its columns, normalize, train, cluster.

`crm-hygiene dedupe INPUT --entity contact|company [--mapping MAP.yaml]` runs `dedupe_file`.
The steps, each the one the CRM pipeline uses:

1. read the file (`read_table`): CSV cells are kept as text exactly as written, so the output
   repeats them unchanged; Parquet keeps its types;
2. map its columns onto the entity's canonical fields (`Mapping`, from a YAML file or, without
   one, from column names and common synonyms) and build a snapshot-like frame: one record per
   row, id from the id column or the row number;
3. `prepare_snapshot` and the entity's normalizer, then `inputs.match_input`, plus one
   `id_<name>` column per extra identifier (`settings.ExtraIdentifier`);
4. train on the file itself as `model.train` does (prior from deterministic rules, u from
   random pairs with exact identifiers counted, m by EM on blocks checked for households),
   with the loose blocking rules the file affords (`blocking`), skipping a rule the file has
   no pairs for: a file without e-mail addresses cannot train on e-mail blocks; then settle
   the prior on the model's own predictions (`settle_on_predictions`). EM runs without
   term frequencies: in a file one entity may hold a large share of the rows (676 of 2,379
   in patstat), which makes its distinctive name word a common word of the file, and with
   term frequencies in the E-step EM took the pairs sharing it for non-matches and learnt
   an m of almost 0 for that level (-35 bits); prediction still applies term frequencies;
5. predict, cluster at `threshold` (connected components) and write the original columns plus
   `cluster_id` (the smallest record id of the cluster, so it is the same on every run that
   forms the same cluster) and `match_probability` (the record's best partner).

With a truth column, the clusters are scored pairwise (`evaluate.pairwise_scores`); the truth
column is never mapped, so the model cannot see it.

Mapping file (YAML; documented with examples in docs/dedupe.md):

    entity: contact              # optional; must agree with --entity
    id: unique_id                # optional; without it ids are row numbers 1, 2, ...
    missing: ["n/a", "-"]        # optional; cell texts read as empty (or {column: [texts]})
    fields:                      # canonical field: source
      first_name: [given, forename]          # first non-empty of these columns
      last_name: surname                     # one column
      street: {join: [house, street], sep: " "}   # non-empty values joined
      country: {value: GB}                   # the same text for every row
    identifiers:                 # extra comparisons: name: source (+ typos / similar)
      dob: {column: birth_date, typos: 1}    # exact, or one edit apart
      address: {column: addr, similar: 0.9}  # exact, or Jaro-Winkler >= 0.9
      lei: lei                               # exact only
      coauthors: {column: co, split: "**"}   # a list: items in common (2+ / 1 / none)
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
from splink import Linker
from splink.clustering import cluster_pairwise_predictions_at_threshold

from crm_hygiene.matching.blocking import affordable_rules
from crm_hygiene.matching.evaluate import PairwiseScores, pairwise_scores
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
from crm_hygiene.matching.inputs import MATCH_COLUMNS, as_arrow
from crm_hygiene.matching.learnt import (
    Learnt,
    clustered_estimate,
    predicted_estimate,
    remove_matches_from_u,
    settle,
)
from crm_hygiene.matching.model import DEFAULT_MAX_PAIRS, DEFAULT_SEED, fit_registered
from crm_hygiene.matching.pair_explanation import PairExplanation, explain_pair
from crm_hygiene.matching.session import SplinkSession
from crm_hygiene.matching.settings import ExtraIdentifier
from crm_hygiene.model.records import Entity
from crm_hygiene.policy.schema import MergePolicy

if TYPE_CHECKING:
    from splink.internals.splink_dataframe import SplinkDataFrame


# The shipped policy's auto-merge threshold: a file has no tenant, so no policy of its own.
DEFAULT_THRESHOLD = MergePolicy().auto_merge_threshold
# Pairs scoring below this are not kept at all; `match_probability` is empty for a record
# whose every candidate pair scored lower (or that no blocking rule paired).
PAIR_FLOOR = 0.01
OUTPUT_COLUMNS = ("cluster_id", "match_probability")


# --- training, prediction, clustering --------------------------------------------------------------


@dataclass(frozen=True)
class DedupeResult:
    """What `dedupe_table` found: the output rows and the figures the command prints."""

    output: pd.DataFrame  # the file's columns plus cluster_id and match_probability
    records: int
    clusters: int
    seconds: float
    scores: PairwiseScores | None = None
    warnings: tuple[str, ...] = ()
    explanation: PairExplanation | None = None

    def summary(self) -> dict[str, Any]:
        """The JSON line: records, clusters, seconds, and with a truth column precision, recall, f1;
        with --explain the pair's explanation."""
        out: dict[str, Any] = {"records": self.records, "clusters": self.clusters}
        if self.scores is not None:
            out |= {
                "precision": round(self.scores.precision, 4),
                "recall": round(self.scores.recall, 4),
                "f1": round(self.scores.f1, 4),
            }
        if self.explanation is not None:
            out["explain"] = self.explanation.to_dict()
        out["seconds"] = round(self.seconds, 2)
        return out


def arrow_with_identifiers(
    entity: Entity, inputs: pd.DataFrame, identifiers: Sequence[ExtraIdentifier]
) -> pa.Table:
    table = as_arrow(entity, inputs)
    for identifier in identifiers:
        kind = pa.string() if identifier.split is None else pa.list_(pa.string())
        table = table.append_column(
            identifier.column, pa.array(inputs[identifier.column].to_numpy(dtype=object), kind)
        )
    return table


# Random pairs sampled for u per record of a file, and at least this many: u is counted exactly
# for the exact levels, and for the fuzzy ones a small file's every pair (5.6 M at 3,337
# records) measures no better than a million of them, at five times the cost.
U_PAIRS_PER_RECORD = 100
MIN_U_PAIRS = 1_000_000


def u_pairs_for(records: int) -> int:
    """The random pairs a file's u is sampled from (at most the `max_pairs` asked for)."""
    return max(MIN_U_PAIRS, U_PAIRS_PER_RECORD * records)


def fit_file(
    entity: Entity,
    records: SplinkDataFrame,
    session: SplinkSession,
    identifiers: Sequence[ExtraIdentifier],
    say: Progress,
    *,
    max_pairs: int,
    seed: int,
    records_count: int,
    link_inputs: Sequence[SplinkDataFrame] = (),
) -> tuple[Linker, Learnt]:
    """Train on the file as the nightly model does, with what a file needs besides: leniently
    (what cannot be learned is skipped), EM without term frequencies, and u corrected for the
    duplicates among random pairs (module docstring). `link_inputs`: a link of two files,
    `records` being their union (`matching.link`)."""
    max_pairs = min(max_pairs, u_pairs_for(records_count))
    loose = affordable_rules(
        session.con, records.physical_name, entity, records_count, lambda message: say(f"training: {message}")
    )
    linker, _, learnt = fit_registered(
        entity,
        records,
        session,
        extra_exact=identifiers,
        extra_blocking=loose,
        max_pairs=max_pairs,
        seed=seed,
        em_without_term_frequencies=True,
        lenient=True,
        say=lambda message: say(f"training: {message}"),
        u_without_duplicates=True,
        report_learnt=False,
        link_inputs=link_inputs,
        drop_empty_comparisons=True,
    )
    return linker, learnt


def dedupe_table(
    table: pd.DataFrame,
    entity: Entity | str,
    mapping: Mapping | None = None,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    truth_column: str | None = None,
    progress: Progress | None = None,
    max_pairs: int = DEFAULT_MAX_PAIRS,
    seed: int = DEFAULT_SEED,
    started: float | None = None,
    explain_ids: tuple[str, str] | None = None,
    explain_chart: Path | None = None,
) -> DedupeResult:
    """Cluster the rows of `table` (a file read by `read_table`) as records of `entity`.

    `mapping` defaults to `default_mapping(table.columns)`. `started` (a perf_counter value)
    lets a caller count reading the file into `seconds`. `explain_ids` (two record ids) adds
    that pair's explanation (`pair_explanation`), and its waterfall chart at `explain_chart`.
    """
    started = time.perf_counter() if started is None else started
    say = progress or (lambda message: None)
    entity = checked_entity(entity)
    if not 0.0 < threshold <= 1.0:
        raise DedupeInputError(f"the threshold is a match probability in (0, 1], got {threshold}")
    if truth_column is not None and truth_column not in table.columns:
        raise DedupeInputError(f"the truth column {truth_column!r} is not in the file: {list(table.columns)}")
    if table.empty:
        raise DedupeInputError("the file has no records")
    if mapping is None:
        mapping = default_mapping(list(table.columns), entity, exclude=[truth_column] if truth_column else [])
    elif mapping.entity is not entity:
        raise DedupeInputError(f"the mapping is for {mapping.entity.value} records, not {entity.value}")
    mapping.check_columns(list(table.columns), truth_column)
    say(f"{len(table):,} rows as {entity.value} records: {mapping.describe()}")
    mapped = map_rows(table, mapping)
    truth = _truth(table, truth_column, mapped.ids) if truth_column else None
    for note in mapped.notes:
        say(f"warning: {note}")
    say("normalizing")
    inputs = file_match_input(mapped, entity, lambda message: say(f"warning: {message}"), mapping.extra_exact)
    identifiers = mapping.extra_exact
    warnings: list[str] = []
    compared = [c for c in (*MATCH_COLUMNS[entity], *(i.column for i in identifiers)) if c != "unique_id"]
    has_values = inputs[compared].notna().any(axis=0)
    if not has_values.any():
        warnings.append(
            "nothing to match on: every mapped column is empty or missing after normalization, "
            "so every record is its own cluster"
        )
    elif len(inputs) > 1 and not (inputs[compared].notna().sum(axis=1) > 0).sum() > 1:
        warnings.append("only one record has a value to compare: every record is its own cluster")
    for message in warnings:
        say(f"warning: {message}")

    explanation = None
    if warnings or len(inputs) < 2:
        if explain_ids is not None:
            raise DedupeInputError("--explain: there is no model to explain with (see the warnings above)")
        pairs_best = pd.Series(dtype=float)
        labels = pd.Series(inputs["unique_id"].to_numpy(), index=inputs["unique_id"].to_numpy())
    else:
        labels, pairs_best, explanation = _match(
            entity,
            inputs,
            identifiers,
            threshold,
            say,
            max_pairs=max_pairs,
            seed=seed,
            explain_ids=explain_ids,
            explain_chart=explain_chart,
        )

    output = _output(table, mapped, labels, pairs_best)
    clusters = int(output["cluster_id"].nunique())
    scores = None
    if truth is not None:
        predicted = pd.Series(output["cluster_id"].astype(str).to_numpy(), index=mapped.ids.to_numpy())
        scores = pairwise_scores(predicted, truth)
    seconds = time.perf_counter() - started
    say(
        f"{len(output):,} records in {clusters:,} clusters at match probability >= {threshold} ({seconds:.1f} s)"
    )
    return DedupeResult(output, len(output), clusters, seconds, scores, tuple(warnings), explanation)


def _match(
    entity: Entity,
    inputs: pd.DataFrame,
    identifiers: Sequence[ExtraIdentifier],
    threshold: float,
    say: Progress,
    *,
    max_pairs: int,
    seed: int,
    explain_ids: tuple[str, str] | None = None,
    explain_chart: Path | None = None,
) -> tuple[pd.Series, pd.Series, PairExplanation | None]:
    """Cluster label (Splink's) per record id, each record's best match probability, and the
    explanation of the `explain_ids` pair."""
    with SplinkSession() as session:
        # DuckDB draws progress bars on the terminal for long queries; progress is ours to report.
        session.con.execute("SET enable_progress_bar = false")
        records = session.register(
            arrow_with_identifiers(entity, inputs, identifiers), f"{entity.value}_file"
        )
        linker, learnt = fit_file(
            entity,
            records,
            session,
            identifiers,
            say,
            max_pairs=max_pairs,
            seed=seed,
            records_count=len(inputs),
        )
        say("predicting")
        settle_on_predictions(session, linker, learnt, len(inputs) * (len(inputs) - 1) / 2.0, say)
        predictions, labels = predict_and_cluster(session, linker, threshold, say)
        explanation = None
        if explain_ids is not None:
            explanation = explain_pair(linker, entity, inputs, identifiers, explain_ids, explain_chart)
            say(f"explain: {explanation.line()}")
            if explanation.chart is not None:
                say(f"explain: wrote the waterfall chart to {explanation.chart}")
        best = session.con.sql(
            "SELECT id, max(p) AS p FROM ("
            f"SELECT CAST(unique_id_l AS VARCHAR) AS id, match_probability AS p FROM {predictions.physical_name} "
            f"UNION ALL SELECT CAST(unique_id_r AS VARCHAR), match_probability FROM {predictions.physical_name}"
            ") GROUP BY id"
        ).df()
    return (
        pd.Series(labels["cluster"].to_numpy(), index=labels["id"].to_numpy()),
        pd.Series(best["p"].to_numpy(dtype=float), index=best["id"].to_numpy()),
        explanation,
    )


# The clusters that estimate the prior: pairs more likely duplicates than not.
PRIOR_CLUSTER_THRESHOLD = 0.5


def predict_and_cluster(
    session: SplinkSession, linker: Linker, threshold: float, say: Progress
) -> tuple[SplinkDataFrame, pd.DataFrame]:
    """The pairs scoring at least PAIR_FLOOR (or the threshold, if lower), and each record's
    cluster at `threshold` (columns id, cluster)."""
    predictions = linker.inference.predict(
        threshold_match_probability=min(PAIR_FLOOR, threshold), warning_mode="never"
    )
    say("clustering")
    clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=threshold
    )
    labels = session.con.sql(
        f"SELECT CAST(unique_id AS VARCHAR) AS id, CAST(cluster_id AS VARCHAR) AS cluster "
        f"FROM {clustered.physical_name}"
    ).df()
    return predictions, labels


def pairs_inside(clusters: str) -> str:
    """SQL: the record pairs inside the clusters of table `clusters` (a deduplication's pairs)."""
    return f"SELECT sum(n * (n - 1) / 2) FROM (SELECT count(*) AS n FROM {clusters} GROUP BY cluster_id)"


def settle_on_predictions(
    session: SplinkSession,
    linker: Linker,
    learnt: Learnt,
    total_pairs: float,
    say: Progress,
    *,
    inside: Callable[[str], str] = pairs_inside,
) -> None:
    """Settle the prior on the model's own predictions: first on its scores of every blocked
    pair (`learnt.predicted_estimate`), then on the clusters those scores make at 0.5
    (`learnt.clustered_estimate`), which count the duplicates blocking did not pair.
    `total_pairs` is every pair the prior is over, and `inside` the SQL counting those inside
    the clusters (a link counts only pairs across its two files)."""
    start = learnt.prior
    deterministic = learnt.estimates[0].value
    scored = linker.inference.predict(warning_mode="never")
    weights = session.con.sql(f"SELECT match_weight FROM {scored.physical_name}").fetchnumpy()["match_weight"]
    log2_factors = np.asarray(weights, dtype=float) - _log2_odds(start)
    predicted = predicted_estimate(log2_factors, total_pairs, start)
    settle(linker, deterministic, later=(predicted,))
    # The prior moves every pair's weight by one constant: the pairs at 0.5 under the new prior
    # are read off the scores already made instead of predicting every blocked pair again.
    shift = _log2_odds(float(linker._settings_obj._probability_two_random_records_match)) - _log2_odds(start)
    likely = session.register(
        session.con.sql(
            f"SELECT unique_id_l, unique_id_r, 1.0 / (1.0 + pow(2.0, -(match_weight + {shift!r}))) "
            f"AS match_probability FROM {scored.physical_name} WHERE match_weight + {shift!r} >= 0"
        ).to_arrow_table(),
        "likely",
    )
    scored.drop_table_from_database_and_remove_from_cache()
    nodes = session.register(
        session.con.sql(
            f"SELECT unique_id_l AS unique_id FROM {likely.physical_name} UNION "
            f"SELECT unique_id_r FROM {likely.physical_name}"
        ).to_arrow_table(),
        "likely_nodes",
    )
    clustered = cluster_pairwise_predictions_at_threshold(
        nodes, likely, session.db_api, "unique_id", threshold_match_probability=PRIOR_CLUSTER_THRESHOLD
    )
    ((counted,),) = session.con.sql(inside(clustered.physical_name)).fetchall()
    clustered.drop_table_from_database_and_remove_from_cache()
    from_clusters = clustered_estimate(float(counted or 0), total_pairs, PRIOR_CLUSTER_THRESHOLD)
    settle(linker, deterministic, later=(predicted, from_clusters))
    if learnt.measured_u is not None:
        # The duplicates among random pairs, taken out of u again with the settled prior.
        remove_matches_from_u(linker, None, learnt.measured_u)
    settle(linker, deterministic, lambda message: say(f"training: {message}"), (predicted, from_clusters))


def _log2_odds(probability: float) -> float:
    return float(np.log2(probability / (1.0 - probability)))


def _truth(table: pd.DataFrame, column: str, ids: pd.Series) -> pd.Series:
    """True entity labels by record id; every row needs one."""
    labels = cell_texts(table[column])
    if labels.isna().any():
        rows = row_list(np.flatnonzero(labels.isna().to_numpy()))
        raise DedupeInputError(f"the truth column {column!r} is empty in {rows}")
    return pd.Series(labels.to_numpy(), index=ids.to_numpy())


def _output(table: pd.DataFrame, mapped: MappedFile, labels: pd.Series, best: pd.Series) -> pd.DataFrame:
    """The file's rows in file order plus `cluster_id` (the cluster's smallest record id, compared
    as numbers when every id is a whole number) and `match_probability` (empty: no partner)."""
    ids = mapped.ids.to_numpy(dtype=object)
    label = labels.reindex(ids)
    # A record Splink did not return (none is expected) stays a cluster of its own.
    label = label.where(label.notna(), pd.Series(ids, index=label.index))
    order = _id_order(mapped.id_values)
    frame = pd.DataFrame(
        {"label": label.to_numpy(), "order": order, "id": mapped.id_values.to_numpy(dtype=object)}
    )
    smallest = frame.sort_values("order", kind="stable").groupby("label", sort=False)["id"].first()
    output = table.copy()
    for column in OUTPUT_COLUMNS:
        if column in output.columns:
            output = output.rename(columns={column: f"{column}_input"})
    output["cluster_id"] = frame["label"].map(smallest).to_numpy()
    output["match_probability"] = best.reindex(ids).round(6).to_numpy(dtype=float)
    return output


def _id_order(values: pd.Series) -> np.ndarray:
    """Sort keys for ids: numeric when every id is a whole number ("9" before "10"), else text."""
    text = values.astype(str).str.strip()
    if text.str.fullmatch(r"[+-]?\d{1,18}").all():
        return text.astype(np.int64).to_numpy()
    return pd.Series(text).rank(method="first").to_numpy()


# --- the command ------------------------------------------------------------------------------------


def dedupe_file(
    path: str | Path,
    entity: Entity | str,
    *,
    mapping_path: str | Path | None = None,
    output: str | Path | None = None,
    truth_column: str | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    progress: Progress | None = None,
    write: bool = True,
    sep: str | None = None,
    explain_ids: tuple[str, str] | None = None,
) -> DedupeResult:
    """Read `path`, dedupe it (`dedupe_table`) and write the result to `output`.

    `output` defaults to `default_output(path)`; `write=False` skips writing (benchmarks).
    With `explain_ids` the pair's waterfall chart goes next to the output (`explain_chart_path`).
    """
    started = time.perf_counter()
    entity = checked_entity(entity)
    target = Path(output) if output is not None else default_output(path)
    if write:
        file_format(target)
        if target.resolve() == Path(path).resolve():
            raise DedupeInputError(f"the output {str(target)!r} would overwrite the input")
    mapping = load_mapping(mapping_path, entity) if mapping_path is not None else None
    table = read_table(path, sep=sep)
    result = dedupe_table(
        table,
        entity,
        mapping,
        threshold=threshold,
        truth_column=truth_column,
        progress=progress,
        started=started,
        explain_ids=explain_ids,
        explain_chart=explain_chart_path(target, explain_ids) if explain_ids and write else None,
    )
    if write:
        write_table(result.output, target)
        if progress:
            progress(f"wrote {target}")
    return result


def explain_chart_path(output: Path, ids: tuple[str, str]) -> Path:
    """`people.deduped.csv` and ids 3, 17 -> `people.deduped.explain-3-17.html`."""
    safe = ["".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in i)[:40] for i in ids]
    name = output.name
    stem = name[: -len("".join(output.suffixes))] if output.suffixes else name
    return output.with_name(f"{stem}{''.join(output.suffixes[:-1])}.explain-{safe[0]}-{safe[1]}.html")


def summary_line(result: DedupeResult) -> str:
    return json.dumps(result.summary())
