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

Extra identifiers (`extra_exact`): a file or a CRM may hold identifiers the canonical model
has no field for (date of birth, LEI, a national id number). Each becomes one more comparison
on its own input column `id_<name>` (exact, optionally near levels: a few typos, similar
text), one more blocking rule, a deterministic rule (with the entity's name) for the prior
and an EM rule; a list identifier (`split`) only the comparison (shared items).
Every function here takes them as `extra_exact=()`; with none, settings, rules and
fingerprint are exactly those of the entity alone, and with some the fingerprint covers them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import SettingsCreator, block_on

from crm_hygiene.matching.inputs import INPUT_VERSION
from crm_hygiene.matching.name_grams import dice_sql
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
    # Set when the second non-null level is equality on this column, reached only by pairs
    # the first level (equality on `counted_u_column`) did not take: the mailbox name at
    # another domain. Sampling almost never sees it either, so its u is counted too.
    counted_u_second_column: str | None = None

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
    # People: the first-name column by which an EM block is checked for households and
    # offices (`em_blocks.co_located`); None for companies.
    person_name: str | None = None


def _custom(
    name: str,
    description: str,
    levels: list[tuple[ComparisonLevelCreator, str | None]],
    *,
    counted_u_column: str | None = None,
    counted_u_second_column: str | None = None,
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
        counted_u_second_column,
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


def fix_counted_u(comparison: Comparison, u: float, *, level: int = 0) -> None:
    """Fix the u of `comparison`'s first (or `level`-th) non-null level before training.

    Splink's CustomComparison hands back the very level objects it was built from, so the
    configuration sticks to `comparison.creator`.
    """
    non_null = [lv for lv in comparison.creator.create_comparison_levels() if not lv.is_null_level]
    non_null[level].configure(u_probability=u, fix_u_probability=True)


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


def _person_name(
    column: str, name: str, noun: str, plural: str, *, swapped_with: str | None = None, swap: str = ""
) -> Comparison:
    """Splink's NameComparison (exact with TF, then Jaro-Winkler .92 / .88 / .7), renamed so the
    output columns read mw_first_name rather than mw_first_name_key.

    `swapped_with` adds a level for first and last name written the other way round ("Thomas
    Gabriel" / "Gabriel Thomas"): `swap="level"` (the first name's comparison) counts it as
    evidence, `swap="null"` (the last name's) weighs it nothing, so that the swap is counted
    once instead of as two different names."""
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
    if swapped_with is not None:
        reversed_ = _swapped(column, swapped_with)
        if swap == "null":
            reversed_.configure(is_null_level=True, label_for_charts="first and last name swapped")
            levels.insert(1, reversed_)
        else:
            reversed_.configure(label_for_charts="first and last name swapped")
            levels.insert(2, reversed_)
            phrases.insert(1, "first and last name swapped")
    return Comparison(
        cl.CustomComparison(
            comparison_levels=levels,
            output_column_name=name,
            comparison_description=f"{name}: NameComparison on {column}",
        ),
        tuple(phrases),
    )


# --- contacts -------------------------------------------------------------------------------------

# First names below this Jaro-Winkler similarity are not one name mistyped: "Marian" and
# "Miriam" (0.82) are two relatives, "Catherine" and "Cathrine" (0.98) one person.
DIFFERENT_FIRST_NAMES = 0.88


def _swapped(column: str, other: str) -> ComparisonLevelCreator:
    """Each side's `column` like the other side's `other`, both ways: a swap of first and last
    name that may carry a typo too ("White Theo" / "Theo Wheti"). Alike as first names are
    (`DIFFERENT_FIRST_NAMES`)."""
    return cll.CustomLevel(
        f"jaro_winkler_similarity({column}_l, {other}_r) >= {DIFFERENT_FIRST_NAMES} "
        f"and jaro_winkler_similarity({other}_l, {column}_r) >= {DIFFERENT_FIRST_NAMES}",
        f"{column} and {other} swapped",
    )


def shared_by_others(
    column: str | ComparisonLevelCreator, noun: str, *, unknown_name_is_other: bool = True
) -> ComparisonLevelCreator:
    """A null level for a contact point shared by two people whose first names are not alike.

    Relatives share a home address and phone, colleagues a switchboard and an office address,
    a family a mailbox. Counted as identity, the shared line and address outweighed the
    different first names, and relatives merged; as a null level it weighs nothing, and the
    names decide. A first name missing on either side counts as not alike: "? Ortiz" and
    "Jose Ortiz" on one home line may be Jose or his wife (the demo's relatives merged so).
    Not so for a personal e-mail address (`unknown_name_is_other=False`): one address with
    a name missing on one side is one person far more often than a family's mailbox.
    """
    # `first_name_guard` holds the first name key under another name (see `inputs`).
    similarity = "jaro_winkler_similarity(first_name_guard_l, first_name_guard_r)"
    not_alike = cll.CustomLevel(
        f"NOT coalesce({similarity} >= {DIFFERENT_FIRST_NAMES}, false)"
        if unknown_name_is_other
        else f"{similarity} < {DIFFERENT_FIRST_NAMES}",
        "first names not alike",
    )
    same = cll.ExactMatchLevel(column) if isinstance(column, str) else column
    return cll.And(same, not_alike).configure(
        is_null_level=True, label_for_charts=f"same {noun}, first names not alike"
    )


def shared_across_sites(column: str, noun: str) -> ComparisonLevelCreator:
    """A null level for a company contact point at two different street addresses.

    An organisation's switchboard or head-office number is shared by its sites; counted as
    identity, it merged sites at different addresses (Chicago's early-childhood centres). A
    company that moved keeps its name and website to decide. Pairs with a street missing on
    either side are not caught.
    """
    other_address = cll.CustomLevel(
        "site_key_l IS NOT NULL AND site_key_r IS NOT NULL AND NOT (coalesce(site_number_l = "
        "site_number_r, site_number_l IS NULL AND site_number_r IS NULL) AND "
        "jaro_winkler_similarity(site_key_l, site_key_r) >= 0.88)",
        "at different street addresses",
    )
    return cll.And(cll.ExactMatchLevel(column), other_address).configure(
        is_null_level=True, label_for_charts=f"same {noun}, different street addresses"
    )


def _same_address() -> ComparisonLevelCreator:
    return cll.And(cll.ExactMatchLevel("street_number"), cll.ExactMatchLevel("street_key"))


def _street(*, person: bool) -> Comparison:
    """The street line as house number and street key (`inputs`): one address written two
    ways agrees on both; another number on the same street is another building (a second
    site of one organisation, a neighbour). For people, an address shared with a colleague
    (same company) or a relative (different first names) weighs nothing, as the city."""
    shared: list[tuple[ComparisonLevelCreator, str | None]] = []
    if person:
        colleagues = cll.And(_same_address(), _same_company()).configure(
            is_null_level=True, label_for_charts="same street address and same company"
        )
        shared = [(colleagues, None), (shared_by_others(_same_address(), "street address"), None)]
    return _custom(
        "street",
        "street: (shared: null) / same number and street / same number, street alike / same street / else",
        [
            (cll.NullLevel("street_key"), None),
            *shared,
            (_same_address(), "same street address"),
            (
                cll.And(cll.ExactMatchLevel("street_number"), cll.JaroWinklerLevel("street_key", 0.88)),
                "same house number, street written alike",
            ),
            (cll.ExactMatchLevel("street_key"), "same street, another or no house number"),
            (cll.ElseLevel(), "different street"),
        ],
    )


def _same_company() -> ComparisonLevelCreator:
    return cll.Or(cll.ExactMatchLevel("company_id"), cll.ExactMatchLevel("company_key"))


def _contact_postcode() -> Comparison:
    """The postcode, except where colleagues (same company) or relatives (different first
    names) share it, as the city and street."""
    colleagues = cll.And(cll.ExactMatchLevel("postcode"), _same_company()).configure(
        is_null_level=True, label_for_charts="same postcode and same company"
    )
    return _custom(
        "postcode",
        "postcode: (shared: null) / exact / same head / else",
        [
            (cll.NullLevel("postcode"), None),
            (colleagues, None),
            (shared_by_others("postcode", "postcode"), None),
            (cll.ExactMatchLevel("postcode"), "same postcode"),
            (cll.ExactMatchLevel("postcode_head"), "same postcode area"),
            (cll.ElseLevel(), "different postcode"),
        ],
    )


def _contact_comparisons() -> list[Comparison]:
    email = _custom(
        "email",
        "email: exact key / same handle, other domain / (same name-made local part: null) / two edits / else",
        [
            (cll.NullLevel("email_key"), None),
            (shared_by_others("email_key", "email", unknown_name_is_other=False), None),
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
            # A typo in an address: at most two edits (gabriel.t54@nichols.info /
            # gabriel.t54@nnichls.info), and first names that do not differ. Similarity alone
            # was too loose: colleagues (henry.west@x / henry.reed@x) and namesakes
            # (maiyoshida2002@gmail.com / maiyoshida69@gmail.com) have alike addresses.
            (
                cll.And(
                    # A cheap test first, so that the edit distance is computed for few pairs:
                    # a typo leaves either the domain or the first three letters as they were.
                    cll.CustomLevel(
                        "(split_part(email_key_l, '@', 2) = split_part(email_key_r, '@', 2) OR "
                        "substr(email_key_l, 1, 3) = substr(email_key_r, 1, 3)) AND "
                        "abs(length(email_key_l) - length(email_key_r)) <= 2",
                        "same domain or start, lengths within two",
                    ),
                    cll.DamerauLevenshteinLevel("email_key", 2),
                    cll.CustomLevel(
                        "NOT coalesce(jaro_winkler_similarity(first_name_guard_l, first_name_guard_r) "
                        f"< {DIFFERENT_FIRST_NAMES}, false)",
                        "first names not different",
                    ),
                    # Letters that differ: a typo. Addresses whose letters agree and whose digits
                    # or dots differ are two mailboxes (remydelannoy@x / remydelannoy3@x: a
                    # namesake colleague; daviddavis3@gmail / david_davis@gmail).
                    cll.CustomLevel(
                        "regexp_replace(email_key_l, '[^a-z]', '', 'g') <> "
                        "regexp_replace(email_key_r, '[^a-z]', '', 'g')",
                        "letters differ",
                    ),
                ),
                "emails a typo apart",
            ),
            (cll.ElseLevel(), "different email"),
        ],
        counted_u_column="email_key",
        counted_u_second_column="email_handle",
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
        _person_name(
            "first_name_key",
            "first_name",
            "first name",
            "first names",
            swapped_with="last_name_key",
            swap="level",
        ),
        _person_name(
            "last_name_key",
            "last_name",
            "last name",
            "last names",
            swapped_with="first_name_key",
            swap="null",
        ),
        _custom(
            "phone",
            "phone: (same, different first names: null) / exact / else",
            [
                (cll.NullLevel("phone"), None),
                (shared_by_others("phone", "phone"), None),
                (cll.ExactMatchLevel("phone"), "same phone"),
                (cll.ElseLevel(), "different phone"),
            ],
            counted_u_column="phone",
        ),
        company,
        _exact_or_similar("title", "title", "title", "titles", threshold=0.9),
        _contact_city(),
        _street(person=True),
        _contact_postcode(),
    ]


def _contact_city() -> Comparison:
    """City, except where the company agrees too: colleagues share the office's city, so
    there the city repeats what the company comparison counted already. Counted twice, the
    same last name + company + city made two colleagues with different first names score
    >= 0.99 in a large table; as a null level the shared city weighs nothing there."""
    same_company = _same_company()
    return _custom(
        "city",
        "city: (same city and same company: null) / exact (tf) / jaro-winkler >= 0.9 / else",
        [
            (cll.NullLevel("city"), None),
            (
                cll.And(cll.ExactMatchLevel("city"), same_company).configure(
                    is_null_level=True, label_for_charts="same city and same company"
                ),
                None,
            ),
            (cll.ExactMatchLevel("city").configure(tf_adjustment_column="city"), "same city"),
            (cll.JaroWinklerLevel("city", 0.9), "cities similar"),
            (cll.ElseLevel(), "different city"),
        ],
    )


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
    person_name="first_name_key",
)


# --- companies ------------------------------------------------------------------------------------


# Company names below this Jaro-Winkler similarity, sharing no word, have nothing in common.
DIFFERENT_NAMES = 0.88


def shared_by_other_names(column: str, noun: str) -> ComparisonLevelCreator:
    """A null level for a company contact point shared by two names with nothing in common:
    the restaurants of one hotel, the tenants of one office answer on its switchboard. The
    company-side `shared_by_others`: the names decide, not the number. A name missing on
    either side is not caught (a rebrand keeps its number and loses nothing)."""
    # `name_guard_key` and `name_guard_tokens` hold the name under other names (see `inputs`).
    unlike = cll.CustomLevel(
        "NOT list_has_any(name_guard_tokens_l, name_guard_tokens_r) AND "
        f"jaro_winkler_similarity(name_guard_key_l, name_guard_key_r) < {DIFFERENT_NAMES}",
        "names with nothing in common",
    )
    return cll.And(cll.ExactMatchLevel(column), unlike).configure(
        is_null_level=True, label_for_charts=f"same {noun}, names with nothing in common"
    )


# Names with the same words but a typo are at least this Jaro-Winkler-similar as whole keys;
# below it, the word-by-word check is not run (it costs a lambda per pair).
TYPO_GATE = 0.7


def _same_words_but_typos(column: str, key: str) -> ComparisonLevelCreator:
    """As many words on both sides, each with a partner on the other side that is the same
    word or one edit away from it (words of four letters or more).

    Jaro-Winkler over the whole name cannot tell "electronics koninkl philips" from
    "electronics koninklijke philips": both start alike, and so does every other name that
    starts with a common word. Word by word, a typo is one edit in one word; another company
    has another word."""

    def covered(a: str, b: str) -> str:
        return (
            f"list_bool_and(list_transform({a}, lambda x: list_bool_or(list_transform({b}, "
            "lambda y: x = y or (least(length(x), length(y)) >= 4 and damerau_levenshtein(x, y) <= 1)))))"
        )

    left, right = f"{column}_l", f"{column}_r"
    # Word by word costs a lambda per pair: cheap conditions first, which a name of several
    # words passes only if it shares a word as written (two typos in a two-word name are
    # another name more often than not).
    # CASE, not AND: DuckDB evaluates both sides of an AND for every row, a THEN only for
    # the rows its WHEN selects.
    one_word = (
        f"CASE WHEN len({left}) = 1 AND len({right}) = 1 THEN least(length({left}[1]), "
        f"length({right}[1])) >= 4 AND damerau_levenshtein({left}[1], {right}[1]) <= 1 ELSE false END"
    )
    words = (
        f"CASE WHEN len({left}) > 1 AND len({left}) = len({right}) AND jaro_winkler_similarity("
        f"{key}_l, {key}_r) >= {TYPO_GATE} THEN CASE WHEN list_has_any({left}, {right}) "
        f"THEN {covered(left, right)} AND {covered(right, left)} ELSE false END ELSE false END"
    )
    return cll.CustomLevel(f"{one_word} OR {words}", "the same words, each as written or one edit off")


def _names_written_alike(at_least: float) -> ComparisonLevelCreator:
    """The letter trigrams of the two names' words overlap by a Dice coefficient of `at_least`
    (`name_grams`): the same words in another order, run together or split, one word more or
    a few letters off, which whole-name Jaro-Winkler and word-by-word equality miss."""
    return cll.CustomLevel(dice_sql("name_grams", at_least), f"name trigrams: Dice >= {at_least}")


def _company_comparisons() -> list[Comparison]:
    name = _custom(
        "name",
        "name: exact key / same words with typos / similar key / trigrams alike / loosely alike / "
        "same rarest token (tf) / shared token / else",
        [
            (cll.NullLevel("name_key"), None),
            (cll.ExactMatchLevel("name_key"), "same name"),
            (_same_words_but_typos("name_tokens", "name_key"), "same words but a typo"),
            (cll.JaroWinklerLevel("name_key", 0.92), "names similar"),
            (_names_written_alike(0.8), "names written alike"),
            (_names_written_alike(0.65), "names written loosely alike"),
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
        _custom(
            "phone",
            "phone: (same, different street addresses: null) / exact / else",
            [
                (cll.NullLevel("phone"), None),
                (shared_across_sites("phone", "phone"), None),
                (shared_by_other_names("phone", "phone"), None),
                (cll.ExactMatchLevel("phone"), "same phone"),
                (cll.ElseLevel(), "different phone"),
            ],
            counted_u_column="phone",
        ),
        postcode,
        _street(person=False),
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
    # Another name at the same address (a rebrand, a parent's name first).
    block_on("street_number", "street_key"),
)

COMPANY_TRAINING = TrainingRules(
    deterministic=(block_on("name_key", "country"), block_on("website"), block_on("phone")),
    recall=0.8,
    em=(block_on("name_key"), block_on("website"), block_on("street_number", "street_key")),
)


# --- extra identifiers ----------------------------------------------------------------------------

_IDENTIFIER_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


@dataclass(frozen=True)
class ExtraIdentifier:
    """An identifier outside the entity's canonical fields, compared on input column `id_<name>`.

    `typos` > 0 adds a level for values at most that many edits apart (Damerau-Levenshtein):
    a date of birth or a reference number typed with one wrong digit is still strong evidence,
    which a bare exact comparison would count as a disagreement. `similar` adds a level for
    values at least that Jaro-Winkler-similar, for longer free text used as a key (a street
    address written "10001 S Woodlawn" and "10001 S. Woodlawn Ave"). EM learns what each
    level is worth, so a loose level costs nothing where it does not help.

    `split` makes the identifier a list instead of one value: the cell is split at that text
    into items (co-applicants "A**B**C", class codes), and the comparison counts shared items:
    two or more / one / none. A list has no blocking, prior or EM rule of its own (Splink
    cannot block EM on a list); its m is learned on the pairs the other rules bring.

    `date` makes it a calendar date, held as YYYY-MM-DD text (`file_records.date_keys`) and
    compared the way dates are mistyped: exact / one digit off / day and month swapped /
    within a month / same year / within a year / within ten years / else.

    `initial` makes it a name part that may be written out or as its initial (a middle name:
    "Ann", "A."): the same name / the same initial (one side or both an initial) / else. It
    is evidence, not an identity, so like a list it has no blocking, prior or EM rule of its
    own, and a common value is not blanked (`is_key` is False).
    """

    name: str
    typos: int = 0
    similar: float | None = None
    split: str | None = None
    date: bool = False
    initial: bool = False

    def __post_init__(self) -> None:
        if not _IDENTIFIER_NAME.fullmatch(self.name):
            raise ValueError(
                f"an extra identifier name must be lower-case letters, digits and _, starting with a "
                f"letter, at most 40 characters; got {self.name!r}"
            )
        if not 0 <= self.typos <= 3:
            raise ValueError(f"identifier {self.name!r}: typos must be 0, 1, 2 or 3, got {self.typos}")
        if self.similar is not None and not 0.5 <= self.similar < 1.0:
            raise ValueError(
                f"identifier {self.name!r}: similar is a Jaro-Winkler threshold in [0.5, 1), got {self.similar}"
            )
        if self.split is not None:
            if not isinstance(self.split, str) or not self.split:
                raise ValueError(
                    f"identifier {self.name!r}: split must be a non-empty text, got {self.split!r}"
                )
            if self.typos or self.similar is not None:
                raise ValueError(f"identifier {self.name!r}: a list (split) takes neither typos nor similar")
        if self.initial and (self.date or self.split is not None or self.typos or self.similar is not None):
            raise ValueError(
                f"identifier {self.name!r}: an initial (a middle name) has its own levels and takes no "
                "typos, similar, split or date"
            )
        if self.date and (self.split is not None or self.typos or self.similar is not None):
            raise ValueError(
                f"identifier {self.name!r}: a date has its own levels (one digit off, day and month "
                "swapped, ...) and takes no typos, similar or split"
            )

    @property
    def column(self) -> str:
        """The match-input column; prefixed so that no identifier can shadow a canonical column."""
        return f"id_{self.name}"

    @property
    def is_key(self) -> bool:
        """Whether it is a key: blocked on, trained on, and blanked where too many records hold it."""
        return self.split is None and not self.initial


ExtraExact = Sequence[str | ExtraIdentifier]


def extra_identifiers(extra_exact: ExtraExact = ()) -> tuple[ExtraIdentifier, ...]:
    """`extra_exact` as ExtraIdentifier objects (a bare name is exact only); names must not repeat."""
    identifiers = tuple(i if isinstance(i, ExtraIdentifier) else ExtraIdentifier(str(i)) for i in extra_exact)
    names = [i.name for i in identifiers]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"extra identifiers repeat: {repeated}")
    return identifiers


def _within_edits(column: str, edits: int) -> ComparisonLevelCreator:
    """Splink's Damerau-Levenshtein level, computed only where it can hold.

    The distance is the costliest function of a comparison and u sampling runs it on millions
    of random pairs. Values `edits` apart differ in length by at most that much, and one edit
    leaves the first or the last character as it was (in values of three or more characters;
    shorter ones are compared in full)."""
    left, right = f'"{column}_l"', f'"{column}_r"'
    possible = f"abs(length({left}) - length({right})) <= {edits}"
    if edits == 1:
        possible += (
            f" AND (least(length({left}), length({right})) < 3 OR left({left}, 1) = left({right}, 1)"
            f" OR right({left}, 1) = right({right}, 1))"
        )
    return cll.CustomLevel(
        f"CASE WHEN {possible} THEN damerau_levenshtein({left}, {right}) <= {edits} ELSE false END",
        f"Damerau-Levenshtein distance of {column} <= {edits}",
    )


def _one_digit_off(column: str) -> ComparisonLevelCreator:
    """Two YYYY-MM-DD dates one edit apart: a digit (or two neighbours) of the year, or of the
    month and day, so one of the two parts agrees; the distance is computed only then."""
    left, right = f'"{column}_l"', f'"{column}_r"'
    possible = f"substr({left}, 1, 4) = substr({right}, 1, 4) OR substr({left}, 6, 5) = substr({right}, 6, 5)"
    return cll.CustomLevel(
        f"CASE WHEN {possible} THEN damerau_levenshtein({left}, {right}) <= 1 ELSE false END",
        f"Damerau-Levenshtein distance of {column} <= 1",
    )


def _date_comparison(column: str, noun: str) -> Comparison:
    """Levels for a YYYY-MM-DD date typed by hand: the errors people make, closest first."""
    swapped = (
        f'substr("{column}_l", 1, 4) = substr("{column}_r", 1, 4) AND '
        f'substr("{column}_l", 6, 2) = substr("{column}_r", 9, 2) AND '
        f'substr("{column}_l", 9, 2) = substr("{column}_r", 6, 2)'
    )
    same_year = f'substr("{column}_l", 1, 4) = substr("{column}_r", 1, 4)'
    return _custom(
        column,
        f"{column}: date exact / one digit / day-month swapped / 1 month / same year / 1 year / 10 years / else",
        [
            (cll.NullLevel(column), None),
            (cll.ExactMatchLevel(column), f"same {noun}"),
            (_one_digit_off(column), f"{noun} one digit off"),
            (
                cll.CustomLevel(swapped, f"{column} day and month swapped"),
                f"{noun} with day and month swapped",
            ),
            (
                cll.AbsoluteDateDifferenceLevel(column, input_is_string=True, threshold=1, metric="month"),
                f"{noun} within a month",
            ),
            (cll.CustomLevel(same_year, f"{column} same year"), f"{noun} in the same year"),
            (
                cll.AbsoluteDateDifferenceLevel(column, input_is_string=True, threshold=1, metric="year"),
                f"{noun} within a year",
            ),
            (
                cll.AbsoluteDateDifferenceLevel(column, input_is_string=True, threshold=10, metric="year"),
                f"{noun} within ten years",
            ),
            (cll.ElseLevel(), f"different {noun}"),
        ],
        counted_u_column=column,
    )


def _extra_comparison(identifier: ExtraIdentifier, entity: Entity | None = None) -> Comparison:
    """A value two people with different first names share (an address, a line) weighs
    nothing (`shared_by_others`), nor one two company records at different street addresses
    share (a switchboard: `shared_across_sites`); dates and lists keep their levels (twins
    share a birthday, and their different names already weigh against)."""
    column, noun = identifier.column, identifier.name.replace("_", " ")
    if identifier.date:
        return _date_comparison(column, noun)
    if identifier.initial:
        initial_agrees = cll.CustomLevel(
            f'substr("{column}_l", 1, 1) = substr("{column}_r", 1, 1) AND '
            f'(length("{column}_l") = 1 OR length("{column}_r") = 1)',
            f"{column} initial agrees",
        )
        return _custom(
            column,
            f"{column}: same name / same initial, one written as its initial / else",
            [
                (cll.NullLevel(column), None),
                (cll.ExactMatchLevel(column), f"same {noun}"),
                (initial_agrees, f"{noun} initial agrees"),
                (cll.ElseLevel(), f"different {noun}"),
            ],
        )
    if identifier.split is not None:
        return _custom(
            column,
            f"{column}: list overlap >= 2 / >= 1 / else",
            [
                (cll.NullLevel(column), None),
                (cll.ArrayIntersectLevel(column, 2), f"share two or more {noun} items"),
                (cll.ArrayIntersectLevel(column, 1), f"share one {noun} item"),
                (cll.ElseLevel(), f"no {noun} item in common"),
            ],
        )
    levels: list[tuple[ComparisonLevelCreator, str | None]] = [
        (cll.NullLevel(column), None),
        *([(shared_by_others(column, noun), None)] if entity is Entity.CONTACT else []),
        *([(shared_across_sites(column, noun), None)] if entity is Entity.COMPANY else []),
        # No TF adjustment, as for e-mail and phone: an identifier shared by a duplicate pair is
        # not a common value; identifiers held by very many records are nulled upstream instead.
        (cll.ExactMatchLevel(column), f"same {noun}"),
    ]
    near = ""
    if identifier.typos:
        edits = "one edit" if identifier.typos == 1 else f"{identifier.typos} edits"
        levels.append((_within_edits(column, identifier.typos), f"{noun} {edits} apart"))
        near += f" / damerau-levenshtein <= {identifier.typos}"
    if identifier.similar is not None:
        levels.append((cll.JaroWinklerLevel(column, identifier.similar), f"{noun} similar"))
        near += f" / jaro-winkler >= {identifier.similar}"
    levels.append((cll.ElseLevel(), f"different {noun}"))
    return _custom(column, f"{column}: exact{near} / else", levels, counted_u_column=column)


# The name columns an extra identifier is paired with in the deterministic (prior) rules: an
# identifier alone may be shared by namesakes-to-be (a date of birth), with the name it is not.
_NAME_ANCHOR: dict[Entity, tuple[str, ...]] = {
    Entity.CONTACT: ("first_name_key", "last_name_key"),
    Entity.COMPANY: ("name_key",),
}


# --- per entity -----------------------------------------------------------------------------------

_COMPARISONS = {Entity.CONTACT: _contact_comparisons, Entity.COMPANY: _company_comparisons}
_BLOCKING = {Entity.CONTACT: CONTACT_BLOCKING, Entity.COMPANY: COMPANY_BLOCKING}
_TRAINING = {Entity.CONTACT: CONTACT_TRAINING, Entity.COMPANY: COMPANY_TRAINING}


def _checked(entity: Entity | str) -> Entity:
    entity = Entity(entity)
    if entity not in _COMPARISONS:
        raise ValueError(f"no matching is defined for {entity.value} records")
    return entity


def comparisons(entity: Entity, extra_exact: ExtraExact = ()) -> list[Comparison]:
    """Fresh comparison objects (Splink's creators are mutable: `.configure()` changes them)."""
    extras = [_extra_comparison(i, _checked(entity)) for i in extra_identifiers(extra_exact)]
    return _COMPARISONS[_checked(entity)]() + extras


def blocking_rules(entity: Entity, extra_exact: ExtraExact = ()) -> list[BlockingRuleCreator]:
    # An identifier is a key few records share (the guard of `inputs` nulls widely shared values).
    extras = [block_on(i.column) for i in extra_identifiers(extra_exact) if i.is_key]
    return list(_BLOCKING[_checked(entity)]) + extras


def training_rules(entity: Entity, extra_exact: ExtraExact = ()) -> TrainingRules:
    """The entity's rules, plus per extra identifier a deterministic rule (with the name) and an
    EM rule: a file without e-mail addresses or websites still has pairs to learn from."""
    rules = _TRAINING[_checked(entity)]
    identifiers = tuple(i for i in extra_identifiers(extra_exact) if i.is_key)
    if not identifiers:
        return rules
    anchor = _NAME_ANCHOR[entity]
    return TrainingRules(
        deterministic=(*rules.deterministic, *(block_on(*anchor, i.column) for i in identifiers)),
        recall=rules.recall,
        em=(*rules.em, *(block_on(i.column) for i in identifiers)),
        person_name=rules.person_name,
    )


def match_settings(
    entity: Entity,
    *,
    creators: list[ComparisonCreator] | None = None,
    extra_exact: ExtraExact = (),
    extra_blocking: Sequence[BlockingRuleCreator] = (),
    link_type: str = "dedupe_only",
) -> SettingsCreator:
    """Settings without parameters; `creators` replaces the comparisons (configured copies);
    `extra_blocking` adds prediction blocking rules (`blocking.affordable_rules`);
    `link_type="link_only"` scores pairs across two tables only (`matching.link`)."""
    entity = _checked(entity)
    return SettingsCreator(
        link_type=link_type,
        comparisons=(
            list(creators) if creators is not None else [c.creator for c in comparisons(entity, extra_exact)]
        ),
        blocking_rules_to_generate_predictions=[*blocking_rules(entity, extra_exact), *extra_blocking],
        # Per-comparison weights (mw_*) and TF columns are needed for explanations.
        retain_intermediate_calculation_columns=True,
        # Values (_l/_r) are not returned by predict; callers join them back by id if needed.
        retain_matching_columns=True,
        unique_id_column_name="unique_id",
    )


def level_phrases(entity: Entity, extra_exact: ExtraExact = ()) -> dict[str, tuple[str, ...]]:
    """Per comparison name, the phrase of each non-null level in level order."""
    return {c.name: c.phrases for c in comparisons(entity, extra_exact)}


def tf_columns(entity: Entity) -> list[str]:
    """Input columns with term-frequency adjustments (each needs a TF table to predict)."""
    columns: list[str] = []
    for c in comparisons(entity):
        for level in c.creator.create_comparison_dict(FINGERPRINT_DIALECT)["comparison_levels"]:
            column = level.get("tf_adjustment_column")
            if column and column not in columns:
                columns.append(column)
    return columns


def settings_fingerprint(entity: Entity, extra_exact: ExtraExact = ()) -> str:
    """A hash of what trained parameters mean (see the module docstring), 16 hex digits.

    Extra identifiers enter as the comparisons they add, so with none the hash is unchanged.
    """
    entity = _checked(entity)
    described = [
        _without_parameters(c.creator.create_comparison_dict(FINGERPRINT_DIALECT))
        for c in comparisons(entity, extra_exact)
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
