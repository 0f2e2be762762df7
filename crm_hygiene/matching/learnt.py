"""What training learnt, checked and said: the prior from several estimates, the EM blocks, the
strongest levels.

The prior (the probability that two random records are the same entity) decides how much
evidence a pair needs. Splink's tutorial estimates it from deterministic rules and their
expected recall; where every true duplicate carries some error, those rules find few pairs and
the prior comes out many times too low, so that at 0.99 almost nothing merges. EM gives
estimates of its own: each EM run learns the share of duplicates among its block's pairs
(lambda), and dividing the block's odds by the Bayes factor of the levels the block implies
(first name exact and last name exact, for the first+last block) gives the prior over all
pairs. A file adds two estimates over the model's own predictions: the prior that agrees with
the scores of the blocked pairs (`predicted_estimate`), and the pairs inside the clusters at
0.5 (`clustered_estimate`), which count the duplicates blocking did not pair.

`settle_prior` uses the last of those where there is one, else the median in log space of the
deterministic and the usable EM estimates, and warns when the deterministic one and the chosen
one disagree by more than `DISAGREEMENT` times.

An EM estimate is unusable when its block's lambda is at or above `MAX_BLOCK_LAMBDA` (a block
of duplicates only: its odds, and the estimate, have no upper bound) or below
`MIN_BLOCK_LAMBDA` (a block of non-duplicates only: nothing was learnt about duplicates), or
when the block implies no comparison level at all.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from splink import Linker

DISAGREEMENT = 5.0
PRIOR_ITERATIONS = 200
MAX_BLOCK_LAMBDA = 0.99
MIN_BLOCK_LAMBDA = 0.01
# The levels shown as the strongest: by absolute match weight, this many per direction.
STRONGEST = 5


@dataclass(frozen=True)
class PriorEstimate:
    """One estimate of the prior: from the deterministic rules, or from one EM block."""

    source: str  # "deterministic rules" or the EM block's SQL
    value: float | None  # None: unusable (see `reason`)
    block_lambda: float | None = None  # an EM block's learnt share of duplicates
    reason: str = ""


@dataclass(frozen=True)
class Learnt:
    """The summary `train` stores in the model and the commands print."""

    prior: float
    chosen_by: str
    estimates: tuple[PriorEstimate, ...]
    em_blocks: tuple[str, ...]
    strongest: tuple[dict[str, Any], ...]
    warning: str = ""
    labels_used: bool = False  # m was estimated from reviewers' labelled matches too
    # The u as sampled, before the duplicates were taken out (files only): the correction is
    # made again once the prior is settled on the predictions. Not part of the stored summary.
    measured_u: dict[tuple[str, str], float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "prior": self.prior,
            "prior_from": self.chosen_by,
            "prior_estimates": [asdict(e) for e in self.estimates],
            "em_blocks": list(self.em_blocks),
            "strongest_levels": [dict(s) for s in self.strongest],
            "warning": self.warning,
            "labels_used": self.labels_used,
        }

    def lines(self) -> list[str]:
        """What a user reads on stderr: the prior and its estimates, the blocks, the levels."""
        shown = ", ".join(
            f"{e.source} {e.value:.3g}" if e.value is not None else f"{e.source} unusable ({e.reason})"
            for e in self.estimates
        )
        out = [f"prior {self.prior:.3g}, from {self.chosen_by} (estimates: {shown})"]
        if self.warning:
            out.append(f"warning: {self.warning}")
        out.append("EM blocks: " + ("; ".join(self.em_blocks) or "none"))
        out.append(
            "strongest levels: "
            + "; ".join(f"{s['comparison']}: {s['level']} {s['weight']:+.1f} bits" for s in self.strongest)
        )
        return out


def em_estimates(linker: Linker) -> list[PriorEstimate]:
    """The prior each EM run of `linker` implies, with the final m and u of every level."""
    settings = linker._settings_obj  # Splink keeps the trained parameters only here
    levels = {
        (c.output_column_name, level.label_for_charts): level
        for c in settings.comparisons
        for level in c.comparison_levels
    }
    out = []
    for session in linker._em_training_sessions:
        source = f"EM on {session._blocking_rule_for_training.blocking_rule_sql}"
        history = session._core_model_settings_history
        if not history:
            out.append(PriorEstimate(source, None, reason="EM did not run"))
            continue
        lam = float(history[-1].probability_two_random_records_match)
        implied = session._comparison_levels_to_reverse_blocking_rule
        if not implied:
            out.append(PriorEstimate(source, None, lam, "the block implies no comparison level"))
            continue
        if lam >= MAX_BLOCK_LAMBDA:
            out.append(PriorEstimate(source, None, lam, f"its pairs are all duplicates (lambda {lam:.3f})"))
            continue
        if lam < MIN_BLOCK_LAMBDA:
            out.append(PriorEstimate(source, None, lam, f"its pairs hold no duplicates (lambda {lam:.3g})"))
            continue
        log_bf = 0.0
        for info in implied:
            level = levels.get((info["comparison"].output_column_name, info["level"].label_for_charts))
            if level is None or not level.m_probability or not level.u_probability:
                log_bf = math.nan
                break
            log_bf += math.log(float(level.m_probability) / float(level.u_probability))
        if math.isnan(log_bf):
            out.append(PriorEstimate(source, None, lam, "a level it implies has no m or u"))
            continue
        log_odds = math.log(lam / (1.0 - lam)) - log_bf
        value = 1.0 / (1.0 + math.exp(-log_odds))
        out.append(PriorEstimate(source, value, lam))
    return out


def settle_prior(
    deterministic: float | None,
    em: Sequence[PriorEstimate],
    later: Sequence[PriorEstimate] = (),
    *,
    deterministic_votes: bool = True,
) -> tuple[float | None, str, tuple[PriorEstimate, ...], str]:
    """The prior to use, how it was chosen, every estimate, and a warning (or "").

    The last usable of the `later` estimates (over the model's own predictions) wins where
    there is one, else the median (in log space) of the usable deterministic and EM estimates
    (of the EM ones alone unless `deterministic_votes`: a file's columns are seldom those the
    CRM rules were written for, and the deterministic estimate missed most on files); None
    when none is usable.
    The warning says when the deterministic rules and the chosen estimate differ by more than
    DISAGREEMENT times: the rules then found only part of the duplicates, or a column they
    read is mostly empty or wrongly mapped.
    """
    usable_det = deterministic is not None and 0.0 < deterministic < 1.0
    first = PriorEstimate(
        "deterministic rules",
        deterministic if usable_det else None,
        reason="" if usable_det else "no pair found",
    )
    estimates = (first, *em, *later)
    em_values = sorted(e.value for e in em if e.value is not None)
    final = [e for e in later if e.value is not None]
    if final:
        chosen, how = float(final[-1].value), final[-1].source  # type: ignore[arg-type]
    elif em_values:
        # The deterministic estimate is one voice among EM's: alone against two EM estimates
        # that agree, it is outvoted; against one, they meet halfway (in log space).
        voters = [first.value] if first.value is not None and deterministic_votes else []
        values = sorted([*em_values, *voters])
        logs = [math.log(v) for v in values]
        middle = len(logs) // 2
        chosen = math.exp(logs[middle] if len(logs) % 2 else (logs[middle - 1] + logs[middle]) / 2.0)
        how = (
            "the median of the deterministic and EM estimates" if voters else "the median of the EM estimates"
        )
    elif first.value is not None:
        chosen, how = first.value, first.source
    else:
        return None, "", estimates, ""
    warning = ""
    if first.value is not None and max(first.value, chosen) > DISAGREEMENT * min(first.value, chosen):
        warning = (
            f"the deterministic rules estimate the prior at {first.value:.3g}, {how} at {chosen:.3g} "
            f"({max(first.value, chosen) / min(first.value, chosen):.0f} times apart); using {chosen:.3g}. "
            "The rules find only the duplicates that agree exactly on their columns: check that the "
            "mapping fills those columns"
        )
    return chosen, how, estimates, warning


def predicted_estimate(log2_bayes_factors: np.ndarray, total_pairs: float, start: float) -> PriorEstimate:
    """The prior that agrees with the model's own scores of the blocked pairs.

    The expected number of duplicates is the sum of the match probabilities, and those depend
    on the prior: iterate prior = sum(p(prior)) / all pairs to its fixed point (EM on the prior
    alone, m and u held). Pairs no blocking rule made count as non-duplicates, so where
    blocking misses duplicates this errs low, the cautious side.
    """
    source = "the predicted pairs"
    if total_pairs < 1 or len(log2_bayes_factors) == 0:
        return PriorEstimate(source, None, reason="no pair was predicted")
    factors = np.exp2(np.clip(log2_bayes_factors, -200.0, 200.0))
    prior = min(max(start, 1e-12), 0.5)
    for _ in range(PRIOR_ITERATIONS):
        odds = prior / (1.0 - prior) * factors
        updated = float(np.sum(odds / (1.0 + odds))) / total_pairs
        if updated <= 0.0:
            return PriorEstimate(source, None, reason="every predicted pair is a non-duplicate")
        updated = min(updated, 0.5)
        if abs(updated - prior) <= 1e-6 * prior:
            prior = updated
            break
        prior = updated
    return PriorEstimate(source, prior)


def clustered_estimate(inside_pairs: float, total_pairs: float, threshold: float) -> PriorEstimate:
    """The prior the clusters at `threshold` imply: the pairs inside them over all pairs.

    Where blocking pairs only part of a large entity's records (patstat: 676 records of one
    applicant, 44% of its pairs blocked), the pairs scored miss duplicates that clustering
    joins through others, and the estimate over the scored pairs errs low; the clusters at
    "more likely than not" count them. In a link, pairs are those across the two tables.
    """
    source = f"the clusters at {threshold:g}"
    if total_pairs < 1 or inside_pairs <= 0:
        return PriorEstimate(source, None, reason="no two records are clustered")
    return PriorEstimate(source, min(inside_pairs / total_pairs, 0.5))


def strongest_levels(linker: Linker, count: int = STRONGEST) -> tuple[dict[str, Any], ...]:
    """The levels with the largest match weights for and against, with their m and u."""
    settings = linker._settings_obj
    rows = []
    for comparison in settings.comparisons:
        for level in comparison.comparison_levels:
            if level.is_null_level or not (level._m_is_trained and level._u_is_trained):
                continue  # Splink's defaults stand for columns the table does not have
            if not level.m_probability or not level.u_probability:
                continue
            m, u = float(level.m_probability), float(level.u_probability)
            rows.append(
                {
                    "comparison": comparison.output_column_name,
                    "level": level.label_for_charts,
                    "m": round(m, 6),
                    "u": round(u, 8),
                    "weight": round(math.log2(m / u), 2),
                }
            )
    rows.sort(key=lambda r: r["weight"])
    against = rows[:count]
    towards = rows[::-1][:count]
    return tuple(towards + [r for r in against if r not in towards])


def settle(
    linker: Linker,
    deterministic: float | None,
    say: Callable[[str], None] | None = None,
    later: Sequence[PriorEstimate] = (),
    *,
    deterministic_votes: bool = True,
) -> Learnt:
    """Set `linker`'s prior to the settled estimate (unless none is usable) and summarise."""
    settings = linker._settings_obj
    prior, how, estimates, warning = settle_prior(
        deterministic, em_estimates(linker), later, deterministic_votes=deterministic_votes
    )
    if prior is not None:
        settings._probability_two_random_records_match = prior
    learnt = Learnt(
        prior=float(settings._probability_two_random_records_match),
        chosen_by=how or "Splink's default",
        estimates=estimates,
        em_blocks=tuple(
            f"{s._blocking_rule_for_training.blocking_rule_sql}" for s in linker._em_training_sessions
        ),
        strongest=strongest_levels(linker),
        warning=warning,
    )
    if say is not None:
        for line in learnt.lines():
            say(line)
    return learnt


# `remove_matches_from_u` never makes a level more than this many times stronger than the
# sampled u said (a factor of 20 is 4.3 bits): the correction rests on estimated m and prior.
MAX_U_CORRECTION = 20.0


def remove_matches_from_u(
    linker: Linker,
    say: Callable[[str], None] | None = None,
    measured: dict[tuple[str, str], float] | None = None,
) -> None:
    """Take the true duplicates out of every u: u = (u_sampled - prior * m) / (1 - prior).

    u is sampled (or counted) over random pairs, and a random pair is a duplicate with
    probability `prior`, so what was measured is prior * m + (1 - prior) * u. In a CRM table
    the prior is tiny and this changes nothing; in a file where a few entities hold much of
    the rows (patstat: Philips holds 676 of 2,379, a random pair is a duplicate 1 time in 10)
    the agreement of duplicates made "same name" look common among non-duplicates and worth
    almost nothing.

    `measured` (`measured_u(linker)` taken before) is the u as sampled, so that the correction
    can be made again with a better prior instead of on an already corrected u.
    """
    settings = linker._settings_obj  # see model.keep_prior_usable
    prior = float(settings._probability_two_random_records_match)
    if not 0.0 < prior < 1.0:
        return
    changed = []
    for comparison in settings.comparisons:
        for level in comparison.comparison_levels:
            if level.is_null_level or not (level._m_is_trained and level._u_is_trained):
                continue
            key = (comparison.output_column_name, level.label_for_charts)
            u = (
                float(level.u_probability)
                if measured is None
                else measured.get(key, float(level.u_probability))
            )
            m = float(level.m_probability)
            corrected = max((u - prior * m) / (1.0 - prior), u / MAX_U_CORRECTION)
            if corrected < u * 0.99:
                changed.append(
                    f"{comparison.output_column_name}: {level.label_for_charts} {u:.3g} -> {corrected:.3g}"
                )
            level._u_probability = corrected
    if changed and say is not None:
        say(f"u without the duplicates among random pairs (prior {prior:.3g}): " + "; ".join(changed))


def measured_u(linker: Linker) -> dict[tuple[str, str], float]:
    """The u of every trained level, by (comparison, level label)."""
    return {
        (comparison.output_column_name, level.label_for_charts): float(level.u_probability)
        for comparison in linker._settings_obj.comparisons
        for level in comparison.comparison_levels
        if not level.is_null_level and level._u_is_trained
    }


# When EM saw no duplicate with different first names in its blocks, Splink would fall back to
# a default m for that level, about as likely as not; at most this share of the duplicates of
# people is assumed to differ so (nicknames are folded into the name key before).
UNSEEN_DIFFERENT_NAMES_M = 0.01


def different_names_weigh_against(
    linker: Linker, comparison: str, say: Callable[[str], None] | None = None
) -> None:
    """Give the `comparison`'s else level (different first names) a small m if EM left it untrained."""
    for candidate in linker._settings_obj.comparisons:
        if candidate.output_column_name != comparison:
            continue
        levels = [level for level in candidate.comparison_levels if not level.is_null_level]
        last = levels[-1] if levels else None
        if last is None or not last._is_else_level or last._m_is_trained:
            return
        # A deliberate value: it counts as trained from here on and is stored with the model.
        last._m_probability = UNSEEN_DIFFERENT_NAMES_M
        if say is not None:
            say(
                f"no duplicate in the EM blocks differs in {comparison.replace('_', ' ')}: "
                f"m of that level set to {UNSEEN_DIFFERENT_NAMES_M}"
            )
