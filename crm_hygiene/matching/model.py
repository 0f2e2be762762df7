"""Training, kept apart from prediction: a trained model is plain numbers, not a Splink object.

`train(entity, frame)` estimates, the way Splink's tutorial does:
1. the prior (probability that two random records match) from deterministic rules and their
   expected recall (`settings.training_rules`), then settled against EM's own estimates once
   EM has run (`learnt.settle`: the median, with a warning when they disagree);
2. u per level by random sampling of at most `max_pairs` pairs (hash-based, repeatable),
   except the u of exact-equality levels on columns like e-mail and phone, which is counted
   exactly over all records (`settings.Comparison.counted_u_column`): in a large table a
   bounded sample holds too few agreeing pairs to estimate it;
3. m per level by expectation maximisation on two blocking rules that cover each other,
   each on at most `em_max_pairs` blocked pairs (hash-based sample of larger blocks).

The result, `TrainedModel`, holds the entity, the fingerprint of the settings it was trained
with, the prior and, per comparison, m and u of every non-null level: a JSON-able dict with
no SQL in it. `configured_settings(model)` puts those numbers back into the settings built by
code, so prediction needs no training and could run on any Splink backend. A model whose
fingerprint differs from the code's is refused (`SettingsMismatchError`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from typing import TYPE_CHECKING, Any, NamedTuple

import duckdb
import pandas as pd
from splink import Linker, SettingsCreator

from crm_hygiene.matching.em_blocks import co_located
from crm_hygiene.matching.empty_comparisons import split_empty
from crm_hygiene.matching.inputs import as_arrow, ensure_match_input
from crm_hygiene.matching.labels import label_scores, learn_m, usable
from crm_hygiene.matching.learnt import (
    Learnt,
    different_names_weigh_against,
    measured_u,
    remove_matches_from_u,
    settle,
)
from crm_hygiene.matching.session import SplinkSession
from crm_hygiene.matching.settings import (
    Comparison,
    ExtraExact,
    comparisons,
    fix_counted_u,
    match_settings,
    settings_fingerprint,
    training_rules,
)
from crm_hygiene.model.records import Entity
from crm_hygiene.policy.schema import MergePolicy

if TYPE_CHECKING:
    from splink.internals.blocking_rule_creator import BlockingRuleCreator
    from splink.internals.settings import Settings
    from splink.internals.splink_dataframe import SplinkDataFrame

logger = logging.getLogger(__name__)

MODEL_FORMAT = 1
# u needs enough random pairs to see the rare agreeing levels; 5 M pairs take seconds in DuckDB.
DEFAULT_MAX_PAIRS = 5_000_000
# EM needs far fewer pairs than u: it estimates m from pairs a blocking rule already makes
# likely duplicates. At 1 M demo contacts the first+last name block holds 4 M pairs; EM on a
# 1 M sample of it halved training time with unchanged accuracy.
DEFAULT_EM_MAX_PAIRS = 1_000_000
DEFAULT_SEED = 42
# Rounds of settling the prior and taking the duplicates out of u (`fit_registered`).
U_ROUNDS = 3


class SettingsMismatchError(ValueError):
    """Stored parameters were trained with other comparisons than the code defines now."""


@dataclass(frozen=True)
class LevelParameters:
    """m and u of each non-null level of one comparison, in level order (as Splink orders them)."""

    labels: tuple[str, ...]
    m: tuple[float, ...]
    u: tuple[float, ...]

    def to_dict(self) -> dict[str, list[Any]]:
        return {"labels": list(self.labels), "m": list(self.m), "u": list(self.u)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LevelParameters:
        labels, m, u = tuple(data["labels"]), tuple(map(float, data["m"])), tuple(map(float, data["u"]))
        if not len(labels) == len(m) == len(u):
            raise ValueError(f"labels, m and u differ in length: {len(labels)}, {len(m)}, {len(u)}")
        return cls(labels, m, u)


@dataclass(frozen=True)
class TrainedModel:
    """What training learned, independent of Splink's dialect-specific model JSON."""

    entity: Entity
    settings_fingerprint: str
    prior: float
    comparisons: dict[str, LevelParameters]
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": MODEL_FORMAT,
            "entity": self.entity.value,
            "settings_fingerprint": self.settings_fingerprint,
            "prior": self.prior,
            "comparisons": {name: p.to_dict() for name, p in self.comparisons.items()},
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainedModel:
        if data.get("format") != MODEL_FORMAT:
            raise ValueError(f"unknown model format {data.get('format')!r}, expected {MODEL_FORMAT}")
        prior = float(data["prior"])
        if not 0.0 < prior < 1.0:
            raise ValueError(f"prior must lie strictly between 0 and 1, got {prior}")
        return cls(
            entity=Entity(data["entity"]),
            settings_fingerprint=str(data["settings_fingerprint"]),
            prior=prior,
            comparisons={name: LevelParameters.from_dict(p) for name, p in data["comparisons"].items()},
            metadata=dict(data.get("metadata", {})),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TrainedModel:
        return cls.from_dict(json.loads(text))


def train(
    entity: Entity,
    frame: pd.DataFrame,
    *,
    max_pairs: int = DEFAULT_MAX_PAIRS,
    seed: int = DEFAULT_SEED,
    con: duckdb.DuckDBPyConnection | None = None,
    em_max_pairs: int | None = None,
    labels: pd.DataFrame | None = None,
    label_threshold: float | None = None,
) -> TrainedModel:
    """Estimate prior, u and m on `frame` (a normalized frame of `entity`, or its match input).

    `labels` (`labels.reviewer_labels`: record_id_l, record_id_r, match) add an estimate of m
    from the labelled matches when there are enough, and the model's precision and recall on
    them at `label_threshold` go into the metadata (`reviewer_labels`).

    Sampling is hash-based, so the same records, `max_pairs` and `seed` give the same model.
    `max_pairs` bounds the random pairs of u sampling, `em_max_pairs` (default
    `DEFAULT_EM_MAX_PAIRS`, at most `max_pairs`) the pairs of each EM run.
    Raises ValueError with fewer than two live records (there is no pair to learn from).
    """
    entity = Entity(entity)
    inputs = ensure_match_input(entity, frame)
    if len(inputs) < 2:
        raise ValueError(f"train({entity.value}): need at least 2 live records, got {len(inputs)}")
    if max_pairs < 1:
        raise ValueError(f"max_pairs must be positive, got {max_pairs}")
    if em_max_pairs is not None and em_max_pairs < 1:
        raise ValueError(f"em_max_pairs must be positive, got {em_max_pairs}")
    em_pairs = em_pair_cap(max_pairs, em_max_pairs)
    started = time.perf_counter()
    with SplinkSession(con) as session:
        known = None if labels is None else usable(labels, inputs["unique_id"])
        linker, counted, learnt = fit_linker(
            entity, inputs, session, max_pairs=max_pairs, seed=seed, em_max_pairs=em_pairs, labels=known
        )
        # The parameters prediction would use now (see _parameters).
        prior, params, untrained = _parameters(linker._settings_obj)
        scored = None
        if known is not None:
            threshold = label_threshold if label_threshold is not None else MergePolicy().auto_merge_threshold
            scored = label_scores(linker, known, threshold, learnt.labels_used)
            logger.info("train %s: %s", entity.value, scored.line())
    seconds = time.perf_counter() - started
    if untrained:
        # Splink falls back to default m/u for these; the data held too few such pairs.
        logger.info("train %s: levels without trained m or u: %s", entity.value, "; ".join(untrained))
    logger.info("train %s: done in %.1f s, prior %.3g", entity.value, seconds, prior)
    return TrainedModel(
        entity=entity,
        settings_fingerprint=settings_fingerprint(entity),
        prior=prior,
        comparisons=params,
        metadata={
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "records": len(inputs),
            "seconds": round(seconds, 2),
            "max_pairs": max_pairs,
            "em_max_pairs": em_pairs,
            "seed": seed,
            "splink_version": version("splink"),
            "untrained_levels": untrained,
            "counted_u": counted,
            "learnt": learnt.to_dict(),
            **({"reviewer_labels": scored.to_dict()} if scored is not None else {}),
        },
    )


def fit_linker(
    entity: Entity,
    inputs: pd.DataFrame,
    session: SplinkSession,
    *,
    max_pairs: int = DEFAULT_MAX_PAIRS,
    seed: int = DEFAULT_SEED,
    em_max_pairs: int | None = None,
    labels: pd.DataFrame | None = None,
) -> Fit:
    """The trained Splink linker itself, on `session`, and the u values that were counted.

    `train` keeps only its numbers; this is for callers that want Splink's own view of the
    training (charts, predicting at once), and for checking that a stored model predicts
    exactly what the freshly trained linker does.
    """
    records = session.register(as_arrow(entity, inputs), f"{entity.value}_train")
    return fit_registered(
        entity, records, session, max_pairs=max_pairs, seed=seed, em_max_pairs=em_max_pairs, labels=labels
    )


def fit_registered(
    entity: Entity,
    records: SplinkDataFrame,
    session: SplinkSession,
    *,
    extra_exact: ExtraExact = (),
    max_pairs: int = DEFAULT_MAX_PAIRS,
    seed: int = DEFAULT_SEED,
    em_max_pairs: int | None = None,
    em_without_term_frequencies: bool = False,
    lenient: bool = False,
    say: Callable[[str], None] | None = None,
    extra_blocking: Sequence[BlockingRuleCreator] = (),
    u_without_duplicates: bool = False,
    report_learnt: bool = True,
    link_inputs: Sequence[SplinkDataFrame] = (),
    labels: pd.DataFrame | None = None,
    drop_empty_comparisons: bool = False,
) -> Fit:
    """Train on match input already registered on `session` (with any `extra_exact` columns).

    `lenient` trains what can be trained of a table Splink cannot fully learn from (a file
    someone asked to dedupe): a prior of 0 or above MAX_PRIOR is replaced, and an EM rule no
    two records agree on is skipped (checked before, not caught after: Splink's EM session
    changes the linker's settings when it starts and leaves them changed when it fails).
    Otherwise such a table raises, and the nightly run stores no model it could not learn.

    `link_inputs` (two tables) trains a link of them instead, scored across the tables only;
    `records` is then their union, which the counting and checking queries read.
    `u_without_duplicates` takes the duplicates out of the sampled u (`learnt.remove_matches_from_u`),
    for files where a few entities hold many rows; `extra_blocking` adds prediction blocking
    rules (`blocking.affordable_rules`). `drop_empty_comparisons` leaves out the comparisons no
    two records have a value for (`empty_comparisons`): a file's unmapped fields.
    """
    report = say or (lambda message: logger.info("train %s: %s", entity.value, message))
    rules = training_rules(entity, extra_exact)
    to_train = comparisons(entity, extra_exact)
    if drop_empty_comparisons:
        to_train, empty = split_empty(session.con, records.physical_name, to_train)
        if empty:
            report(f"not compared, no two records have a value: {', '.join(empty)}")
    counted = fix_counted_us(session.con, records.physical_name, to_train)
    report(f"counted u of exact levels: {counted}")
    settings = match_settings(
        entity,
        creators=[c.creator for c in to_train],
        extra_exact=extra_exact,
        extra_blocking=extra_blocking,
        link_type="link_only" if link_inputs else "dedupe_only",
    )
    # log_level=None: Splink must not reconfigure the application's logging.
    linker = Linker(list(link_inputs) if link_inputs else records, settings, log_level=None)
    report("estimating the prior from deterministic rules")
    linker.training.estimate_probability_two_random_records_match(
        list(rules.deterministic), recall=rules.recall
    )
    deterministic = float(linker._settings_obj._probability_two_random_records_match)
    if lenient:
        keep_prior_usable(linker, report)
    report(f"estimating u from up to {max_pairs:,} random pairs")
    linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
    em_runs = 0
    for rule in rules.em:
        sql = rule.get_blocking_rule("duckdb").blocking_rule_sql
        if not any_pair(session, records.physical_name, sql):
            # A CRM without street lines has no pairs on the street rule: nothing to learn there.
            report(f"EM on {sql} skipped: no two records agree on it")
            continue
        em_rule: BlockingRuleCreator | str = rule
        if rules.person_name is not None and rules.person_name not in sql:
            check = co_located(session.con, records.physical_name, sql, rules.person_name)
            if check.narrowed:
                report(check.message(sql))
                em_rule, sql = check.sql, check.sql
        report(f"EM on {sql}")
        linker.training.estimate_parameters_using_expectation_maximisation(
            em_rule,
            max_pairs=em_pair_cap(max_pairs, em_max_pairs),
            estimate_without_term_frequencies=em_without_term_frequencies,
        )
        em_runs += 1
    if not lenient and (em_runs == 0 or deterministic <= 0.0):
        # A model without m, or with a prior of 0, would score every pair alike: store none.
        raise ValueError(
            f"train {entity.value}: no two records agree on any training rule "
            f"({'no EM rule has pairs' if em_runs == 0 else 'the deterministic rules find no pair'})"
        )
    labels_used = labels is not None and learn_m(linker, labels)
    if labels_used:
        report(f"m also estimated from {int((labels['match'] == 1).sum())} matches reviewers approved")
    if rules.person_name is not None:
        different_names_weigh_against(linker, "first_name", report)
    if u_without_duplicates:
        # The correction of u rests on the prior, and EM's estimate of the prior on u: a few
        # rounds from the measured u settle both (the second round moved patstat's prior by
        # a tenth, the third by less than a hundredth).
        measured: dict[tuple[str, str], float] | None = measured_u(linker)
        for _ in range(U_ROUNDS):
            settle(linker, deterministic, deterministic_votes=False)
            remove_matches_from_u(linker, None, measured)
        remove_matches_from_u(linker, report, measured)
    else:
        measured = None
    # A file (u_without_duplicates) settles on EM alone here: see `learnt.settle_prior`.
    learnt = settle(
        linker, deterministic, report if report_learnt else None, deterministic_votes=not u_without_duplicates
    )
    learnt = dataclasses.replace(learnt, labels_used=labels_used, measured_u=measured)
    if lenient:
        keep_prior_usable(linker, report)
    return Fit(linker, counted, learnt)


class Fit(NamedTuple):
    """A trained linker, the u values that were counted, and what training learnt."""

    linker: Linker
    counted: dict[str, float]
    learnt: Learnt


# When the deterministic rules find no pair at all (a small table without exact duplicates, or
# without the columns they read), the data says nothing about the prior: Splink's own default
# is used, a sceptical one. Estimates of 1 and above (every pair of a tiny table agreeing) are
# capped: a prior of 1 leaves nothing for the evidence to decide.
FALLBACK_PRIOR = 0.0001
MAX_PRIOR = 0.5


def keep_prior_usable(linker: Linker, say: Callable[[str], None]) -> None:
    """Replace a prior of 0 (Splink's log-odds arithmetic fails on it) or above MAX_PRIOR."""
    settings = linker._settings_obj  # Splink keeps the trained prior only here (see _parameters)
    prior = float(settings._probability_two_random_records_match)
    if 0.0 < prior <= MAX_PRIOR:
        return
    replacement = FALLBACK_PRIOR if prior <= 0.0 else MAX_PRIOR
    say(f"the deterministic rules gave a prior of {prior:g}; using {replacement:g}")
    settings._probability_two_random_records_match = replacement


def any_pair(session: SplinkSession, table: str, rule_sql: str) -> bool:
    """Whether two records of `table` satisfy a blocking rule written with `l.` and `r.`."""
    found = session.con.sql(
        f'SELECT 1 FROM "{table}" AS l JOIN "{table}" AS r ON ({rule_sql}) AND l.unique_id < r.unique_id LIMIT 1'
    ).fetchall()
    return bool(found)


def em_pair_cap(max_pairs: int, em_max_pairs: int | None = None) -> int:
    """The pairs one EM run may use: `em_max_pairs` (default DEFAULT_EM_MAX_PAIRS), at most `max_pairs`."""
    return min(max_pairs, DEFAULT_EM_MAX_PAIRS if em_max_pairs is None else em_max_pairs)


def fix_counted_us(
    con: duckdb.DuckDBPyConnection, table: str, to_train: list[Comparison]
) -> dict[str, float]:
    """Count and fix the u of the exact-equality levels of `to_train` (see the module docstring);
    returns the counted values by comparison (a second level as `<name>[1]`)."""
    counted: dict[str, float] = {}
    for comparison in to_train:
        if not comparison.counted_u_column:
            continue
        u = _counted_u(con, table, comparison.counted_u_column)
        if u is not None:
            fix_counted_u(comparison, u)
            counted[comparison.name] = u
        if comparison.counted_u_second_column:
            second = _counted_u(
                con, table, comparison.counted_u_second_column, after=comparison.counted_u_column
            )
            if second is not None:
                fix_counted_u(comparison, second, level=1)
                counted[f"{comparison.name}[1]"] = second
    return counted


def _counted_u(
    con: duckdb.DuckDBPyConnection, table: str, column: str, *, after: str | None = None
) -> float | None:
    """Share of pairs of records (both with a value) that agree on `column`, counted exactly.

    Linear: one GROUP BY. Like random sampling it counts true duplicates too, so it is an
    upper bound of u among non-matches, a cautious one. None when no two records agree
    (Splink cannot take a u of 0; sampling then decides).

    With `after`, `column` is a later level than equality on `after`: only pairs agreeing on
    `column` but not on `after` count, and the pairs with a value of `after` are the whole.
    """
    if after is not None:
        return _counted_u_after(con, table, column, after)
    agreeing, present = con.sql(
        f'SELECT sum(n * (n - 1)), sum(n) FROM (SELECT count(*) AS n FROM "{table}" '
        f'WHERE "{column}" IS NOT NULL GROUP BY "{column}")'
    ).fetchall()[0]
    if not agreeing or not present or present < 2:
        return None
    return float(agreeing) / (float(present) * (float(present) - 1.0))


def _counted_u_after(con: duckdb.DuckDBPyConnection, table: str, column: str, after: str) -> float | None:
    both, agreeing_after, present = con.sql(
        f'SELECT (SELECT sum(n * (n - 1)) FROM (SELECT count(*) AS n FROM "{table}" '
        f'WHERE "{column}" IS NOT NULL AND "{after}" IS NOT NULL GROUP BY "{column}")), '
        f'(SELECT sum(n * (n - 1)) FROM (SELECT count(*) AS n FROM "{table}" '
        f'WHERE "{column}" IS NOT NULL AND "{after}" IS NOT NULL GROUP BY "{column}", "{after}")), '
        f'(SELECT count(*) FROM "{table}" WHERE "{after}" IS NOT NULL)'
    ).fetchall()[0]
    agreeing = (both or 0) - (agreeing_after or 0)
    if agreeing <= 0 or not present or present < 2:
        return None
    return float(agreeing) / (float(present) * (float(present) - 1.0))


def _parameters(settings: Settings) -> tuple[float, dict[str, LevelParameters], list[str]]:
    """The prior, the effective m/u per comparison, and the levels left untrained.

    Read from the live settings rather than Splink's model JSON on purpose: the JSON leaves
    out the m/u of levels training never saw, while prediction then uses Splink's defaults;
    storing what prediction uses makes stored-model predictions identical to fresh ones.
    """
    params: dict[str, LevelParameters] = {}
    untrained: list[str] = []
    for comparison in settings.comparisons:
        levels = [level for level in comparison.comparison_levels if not level.is_null_level]
        params[comparison.output_column_name] = LevelParameters(
            labels=tuple(level.label_for_charts for level in levels),
            m=tuple(float(level.m_probability) for level in levels),
            u=tuple(float(level.u_probability) for level in levels),
        )
        untrained += [
            f"{comparison.output_column_name}: {level.label_for_charts}"
            for level in levels
            if not (level._m_is_trained and level._u_is_trained)
        ]
    return float(settings._probability_two_random_records_match), params, untrained


def check_fingerprint(model: TrainedModel) -> None:
    """Raise SettingsMismatchError unless `model` was trained with the settings the code defines now."""
    expected = settings_fingerprint(model.entity)
    if model.settings_fingerprint != expected:
        raise SettingsMismatchError(
            f"the stored {model.entity.value} model was trained with settings {model.settings_fingerprint}, "
            f"but the code now defines {expected}: its m/u would be applied to other comparison levels. "
            "Retrain the model (crm_hygiene.matching.model.train)."
        )


def configured_settings(model: TrainedModel) -> SettingsCreator:
    """The code's settings for `model.entity` with the model's prior and m/u filled in."""
    check_fingerprint(model)
    creators = []
    for comparison in comparisons(model.entity):
        params = model.comparisons.get(comparison.name)
        if params is None:
            raise SettingsMismatchError(f"the model has no parameters for comparison {comparison.name!r}")
        comparison.creator.configure(m_probabilities=list(params.m), u_probabilities=list(params.u))
        creators.append(comparison.creator)
    settings = match_settings(model.entity, creators=creators)
    settings.probability_two_random_records_match = model.prior
    return settings
