"""Match settings as code: comparisons, blocking rules and training rules per entity.

`match_settings(entity)` is a Splink `SettingsCreator` with no parameters (m, u, prior): those
come from training (`model.train`) and are put back by `model.configured_settings`. Every
comparison reads the columns of `inputs.match_input` and nothing else.

Each comparison level carries a short phrase ("same email", "last names similar", "different
phone") used by `explain`; the phrases live next to the levels so the two cannot drift apart.

Blocking keeps prediction near-linear: every rule is an equi-join on a key that few records
share (an e-mail key, a phone, a last name plus first initial, ...); `inputs` removes values
held by more than `inputs.MAX_SHARED` records, so no single key can explode into a
quadratic block.

`settings_fingerprint(entity)` hashes what trained parameters depend on: the comparisons and
their levels (as DuckDB SQL), the link type and `inputs.INPUT_VERSION`. Blocking rules are
left out on purpose: they choose which pairs get scored, not what a score means, so tuning
them must not invalidate a stored model.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import SettingsCreator, block_on

from crm_hygiene.matching.inputs import INPUT_VERSION
from crm_hygiene.model.records import Entity

if TYPE_CHECKING:
    # Splink exports these creator types only from its internals; used for type hints alone.
    from splink.internals.blocking_rule_creator import BlockingRuleCreator
    from splink.internals.comparison_creator import ComparisonCreator
    from splink.internals.comparison_level_creator import ComparisonLevelCreator

# The dialect the fingerprint is computed in: any fixed one would do; the hash only has to
# change when the comparisons do.
FINGERPRINT_DIALECT = "duckdb"


@dataclass(frozen=True)
class Comparison:
    """One Splink comparison and a phrase for each of its non-null levels, in level order."""

    creator: ComparisonCreator
    phrases: tuple[str, ...]
    # Set when the first non-null level is plain equality on this column (no TF). Its u, the
    # share of record pairs agreeing on the column, is then counted exactly instead of
    # sampled: a bounded random sample almost never holds two records with the same e-mail
    # address in a million-record table, leaving that u to Splink's default (see model.train).
    counted_u_column: str | None = None

    @property
    def name(self) -> str:
        name = self.creator.create_output_column_name()
        assert name, "every comparison here names its output column"
        return name


@dataclass(frozen=True)
class TrainingRules:
    """How `model.train` estimates parameters (Splink tutorial 04).

    `deterministic` rules pick pairs that are almost surely the same entity; with the
    expected `recall` of those rules they give the prior. EM runs once per `em` rule; a rule
    cannot train the comparisons on its own columns, so the rules must cover each other.
    """

    deterministic: tuple[BlockingRuleCreator | str, ...]
    recall: float
    em: tuple[BlockingRuleCreator, ...]


def _custom(
    name: str,
    description: str,
    levels: list[tuple[ComparisonLevelCreator, str | None]],
    *,
    counted_u_column: str | None = None,
) -> Comparison:
    """A CustomComparison from (level, phrase) pairs; the null level's phrase is None."""
    return Comparison(
        cl.CustomComparison(
            comparison_levels=[level for level, _ in levels],
            output_column_name=name,
            comparison_description=description,
        ),
        tuple(phrase for _, phrase in levels if phrase is not None),
        counted_u_column,
    )


def _exact(column: str, name: str, noun: str, *, tf: bool = False, counted_u: bool = False) -> Comparison:
    exact = cll.ExactMatchLevel(column)
    if tf:
        # A shared common value ("london", "ceo") is weaker evidence than a rare one.
        exact = exact.configure(tf_adjustment_column=column)
    return _custom(
        name,
        f"{name}: exact{' (tf)' if tf else ''} / else",
        [(cll.NullLevel(column), None), (exact, f"same {noun}"), (cll.ElseLevel(), f"different {noun}")],
        counted_u_column=column if counted_u and not tf else None,
    )


def fix_counted_u(comparison: Comparison, u: float) -> None:
    """Fix the u of `comparison`'s first non-null level (its identifier equality) before training.

    Splink's CustomComparison hands back the very level objects it was built from, so the
    configuration sticks to `comparison.creator`.
    """
    first = next(level for level in comparison.creator.create_comparison_levels() if not level.is_null_level)
    first.configure(u_probability=u, fix_u_probability=True)


def _exact_or_similar(column: str, name: str, noun: str, plural: str, *, threshold: float) -> Comparison:
    return _custom(
        name,
        f"{name}: exact (tf) / jaro-winkler >= {threshold} / else",
        [
            (cll.NullLevel(column), None),
            (cll.ExactMatchLevel(column).configure(tf_adjustment_column=column), f"same {noun}"),
            (cll.JaroWinklerLevel(column, threshold), f"{plural} similar"),
            (cll.ElseLevel(), f"different {noun}"),
        ],
    )


def _person_name(column: str, name: str, noun: str, plural: str) -> Comparison:
    # Splink's NameComparison (exact with TF, then Jaro-Winkler .92 / .88 / .7), renamed so the
    # output columns read mw_first_name rather than mw_first_name_key.
    levels = cl.NameComparison(column).create_comparison_levels()
    phrases = [
        f"same {noun}",
        f"{plural} similar",
        f"{plural} similar",
        f"{plural} loosely similar",
        f"different {plural}",
    ]
    non_null = [level for level in levels if not level.is_null_level]
    if len(non_null) != len(phrases):  # a Splink upgrade changed the levels: fail loudly, not mislabel
        raise RuntimeError(f"NameComparison has {len(non_null)} levels, expected {len(phrases)}")
    return Comparison(
        cl.CustomComparison(
            comparison_levels=levels,
            output_column_name=name,
            comparison_description=f"{name}: NameComparison on {column}",
        ),
        tuple(phrases),
    )


# --- contacts -------------------------------------------------------------------------------------


def _contact_comparisons() -> list[Comparison]:
    email = _custom(
        "email",
        "email: exact key (tf) / same handle, other domain / (same name-made local part: null) / else",
        [
            (cll.NullLevel("email_key"), None),
            # No TF adjustment on identifiers (e-mail, phone, website, name key): a value held by
            # two records (the duplicate pair itself) has a term frequency far above the average
            # u, so TF took 3-4 bits off every true e-mail match. Values held by very many
            # records are nulled by the shared-value guard of `inputs` instead.
            (cll.ExactMatchLevel("email_key"), "same email"),
            # leah89@gmail.com and leah89@yahoo.com: one person's chosen mailbox name.
            (cll.ExactMatchLevel("email_handle"), "same mailbox name, other domain"),
            # jane.doe@a.com and jane.doe@b.com repeat the name, which the name comparisons
            # count already; as a null level it weighs nothing rather than double-counting.
            (
                cll.ExactMatchLevel("email_local").configure(
                    is_null_level=True, label_for_charts="same name-made mailbox, other domain"
                ),
                None,
            ),
            (cll.ElseLevel(), "different email"),
        ],
        counted_u_column="email_key",
    )
    company_unknown = cll.And(
        cll.NullLevel("company_id"), cll.NullLevel("company_key"), cll.NullLevel("company_domain")
    ).configure(is_null_level=True, label_for_charts="no company to compare")
    company = _custom(
        "company",
        "company: same record / same name key (tf) / same work domain / similar name / else",
        [
            (company_unknown, None),
            (cll.ExactMatchLevel("company_id"), "same company"),
            (
                cll.ExactMatchLevel("company_key").configure(tf_adjustment_column="company_key"),
                "same company name",
            ),
            # Free-mail domains are NULL in company_domain: only a shared work domain counts,
            # and only weakly (colleagues share it too), which EM learns from the data.
            (cll.ExactMatchLevel("company_domain"), "same work email domain"),
            (cll.JaroWinklerLevel("company_key", 0.9), "company names similar"),
            (cll.ElseLevel(), "different company"),
        ],
    )
    return [
        email,
        _person_name("first_name_key", "first_name", "first name", "first names"),
        _person_name("last_name_key", "last_name", "last name", "last names"),
        _exact("phone", "phone", "phone", counted_u=True),
        company,
        _exact_or_similar("title", "title", "title", "titles", threshold=0.9),
        _exact_or_similar("city", "city", "city", "cities", threshold=0.9),
    ]


CONTACT_BLOCKING: tuple[BlockingRuleCreator, ...] = (
    block_on("email_key"),
    block_on("phone"),
    # Names pair with a second key, never alone or with an initial only: last name plus first
    # initial made 57 M comparisons for 1 M demo contacts (common names form huge blocks),
    # these rules together 8.8 M, for a recall ceiling of 98.6% instead of 97.7% on 20 k.
    block_on("first_name_key", "last_name_key"),
    # A typo or a change in one name: the other name at the same company or in the same city.
    block_on("first_name_key", "company_key"),
    block_on("first_name_key", "company_id"),
    block_on("last_name_key", "company_key"),
    block_on("last_name_key", "company_id"),
    block_on("last_name_key", "city"),
    block_on("first_name_key", "city"),
    # The same mailbox name at another domain (job change, private address).
    block_on("email_local", "substr(last_name_key, 1, 1)"),
)

CONTACT_TRAINING = TrainingRules(
    deterministic=(
        block_on("email_key"),
        block_on("first_name_key", "last_name_key", "phone"),
        block_on("first_name_key", "last_name_key", "company_key"),
    ),
    recall=0.8,
    em=(block_on("email_key"), block_on("first_name_key", "last_name_key")),
)


# --- companies ------------------------------------------------------------------------------------


def _company_comparisons() -> list[Comparison]:
    name = _custom(
        "name",
        "name: exact key / similar key / same rarest token (tf) / shared token / else",
        [
            (cll.NullLevel("name_key"), None),
            (cll.ExactMatchLevel("name_key"), "same name"),
            (cll.JaroWinklerLevel("name_key", 0.92), "names similar"),
            # The TF adjustment is taken against this level's own u (not the exact level's):
            # "vexvexzo" held by 2 records weighs far more than "oak" held by 40.
            (
                cll.ExactMatchLevel("name_rarest_token").configure(
                    tf_adjustment_column="name_rarest_token", disable_tf_exact_match_detection=True
                ),
                "same distinctive name word",
            ),
            (cll.ArrayIntersectLevel("name_tokens", 1), "share a name word"),
            (cll.ElseLevel(), "different name"),
        ],
        counted_u_column="name_key",
    )
    postcode = _custom(
        "postcode",
        "postcode: exact / same head (before blank or hyphen) / else",
        [
            (cll.NullLevel("postcode"), None),
            (cll.ExactMatchLevel("postcode"), "same postcode"),
            (cll.ExactMatchLevel("postcode_head"), "same postcode area"),
            (cll.ElseLevel(), "different postcode"),
        ],
    )
    return [
        name,
        _exact("website", "website", "website", counted_u=True),
        _exact("phone", "phone", "phone", counted_u=True),
        postcode,
        _exact_or_similar("city", "city", "city", "cities", threshold=0.9),
        _exact("country", "country", "country"),
    ]


COMPANY_BLOCKING: tuple[BlockingRuleCreator, ...] = (
    block_on("name_key"),
    block_on("name_rarest_token", "country"),
    block_on("website"),
    block_on("phone"),
    # A typo in the rarest word: the same start of the name in the same city.
    block_on("substr(name_key, 1, 4)", "city"),
)

COMPANY_TRAINING = TrainingRules(
    deterministic=(block_on("name_key", "country"), block_on("website"), block_on("phone")),
    recall=0.8,
    em=(block_on("name_key"), block_on("website")),
)


# --- per entity -----------------------------------------------------------------------------------

_COMPARISONS = {Entity.CONTACT: _contact_comparisons, Entity.COMPANY: _company_comparisons}
_BLOCKING = {Entity.CONTACT: CONTACT_BLOCKING, Entity.COMPANY: COMPANY_BLOCKING}
_TRAINING = {Entity.CONTACT: CONTACT_TRAINING, Entity.COMPANY: COMPANY_TRAINING}


def _checked(entity: Entity | str) -> Entity:
    entity = Entity(entity)
    if entity not in _COMPARISONS:
        raise ValueError(f"no matching is defined for {entity.value} records")
    return entity


def comparisons(entity: Entity) -> list[Comparison]:
    """Fresh comparison objects (Splink's creators are mutable: `.configure()` changes them)."""
    return _COMPARISONS[_checked(entity)]()


def blocking_rules(entity: Entity) -> list[BlockingRuleCreator]:
    return list(_BLOCKING[_checked(entity)])


def training_rules(entity: Entity) -> TrainingRules:
    return _TRAINING[_checked(entity)]


def match_settings(entity: Entity, *, creators: list[ComparisonCreator] | None = None) -> SettingsCreator:
    """Settings without parameters; `creators` replaces the comparisons (configured copies)."""
    entity = _checked(entity)
    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=list(creators) if creators is not None else [c.creator for c in comparisons(entity)],
        blocking_rules_to_generate_predictions=blocking_rules(entity),
        # Per-comparison weights (mw_*) and TF columns are needed for explanations.
        retain_intermediate_calculation_columns=True,
        # Values (_l/_r) are not returned by predict; callers join them back by id if needed.
        retain_matching_columns=True,
        unique_id_column_name="unique_id",
    )


def level_phrases(entity: Entity) -> dict[str, tuple[str, ...]]:
    """Per comparison name, the phrase of each non-null level in level order."""
    return {c.name: c.phrases for c in comparisons(entity)}


def tf_columns(entity: Entity) -> list[str]:
    """Input columns with term-frequency adjustments (each needs a TF table to predict)."""
    columns: list[str] = []
    for c in comparisons(entity):
        for level in c.creator.create_comparison_dict(FINGERPRINT_DIALECT)["comparison_levels"]:
            column = level.get("tf_adjustment_column")
            if column and column not in columns:
                columns.append(column)
    return columns


def settings_fingerprint(entity: Entity) -> str:
    """A hash of what trained parameters mean (see the module docstring), 16 hex digits."""
    entity = _checked(entity)
    described = [
        _without_parameters(c.creator.create_comparison_dict(FINGERPRINT_DIALECT))
        for c in comparisons(entity)
    ]
    payload = {
        "entity": entity.value,
        "input_version": INPUT_VERSION,
        "link_type": match_settings(entity).link_type,
        "comparisons": described,
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


_PARAMETER_KEYS = ("m_probability", "u_probability", "fix_m_probability", "fix_u_probability")


def _without_parameters(comparison: dict[str, Any]) -> dict[str, Any]:
    levels = [
        {k: v for k, v in level.items() if k not in _PARAMETER_KEYS}
        for level in comparison["comparison_levels"]
    ]
    return {**comparison, "comparison_levels": levels}
