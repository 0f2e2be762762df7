"""Why two records match, in plain words: "same email (+16.2), same last name (+9.0), different phone (-4.1)".

`explain(pairs, model)` reads the per-comparison weights (`mw_<name>`, in bits, TF
adjustment included) and levels (`gamma_<name>`) of `predict.predict_pairs` output and names
each comparison's level with the phrase `settings` keeps next to it. Evidence for a match
comes first, strongest first, then evidence against, strongest first. Comparisons that could
not be made (a value missing on either side: the null level) and levels that weigh nothing at
one decimal are left out.

Vectorized: the text is built once per distinct combination of levels and rounded weights
(a few hundred even for millions of pairs, since weights vary only by level and TF
adjustment) and mapped back to the rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from splink import SettingsCreator

from crm_hygiene.matching.model import TrainedModel
from crm_hygiene.matching.settings import level_phrases
from crm_hygiene.model.records import Entity

NO_EVIDENCE = "no comparable fields"


def explain(pairs: pd.DataFrame, model_or_settings: TrainedModel | Entity | SettingsCreator) -> pd.Series:
    """One explanation per row of `pairs`, on the same index."""
    return explain_with(pairs, _phrases(model_or_settings))


def explain_with(pairs: pd.DataFrame, phrases: dict[str, tuple[str, ...]]) -> pd.Series:
    """`explain` with the level phrases given (`settings.level_phrases(entity, extra_exact)`)."""
    missing = [f"{p}_{n}" for n in phrases for p in ("gamma", "mw") if f"{p}_{n}" not in pairs.columns]
    if missing:
        raise ValueError(f"explain: the pairs lack {missing}; pass the output of predict_pairs / predict_new")
    if pairs.empty:
        return pd.Series([], index=pairs.index, dtype=object, name="explanation")
    names = list(phrases)
    gammas = pairs[[f"gamma_{n}" for n in names]].to_numpy(dtype=np.int64)
    # One decimal is what the text shows; rounding first also makes the distinct rows few.
    weights = np.round(pairs[[f"mw_{n}" for n in names]].to_numpy(dtype=np.float64), 1)
    keys = pd.DataFrame(np.hstack([gammas, weights]))
    codes = keys.groupby(list(keys.columns), sort=False).ngroup().to_numpy()
    first_row = pd.Series(np.arange(len(codes))).groupby(codes).first().sort_index().to_numpy()
    texts = np.array(
        [_sentence(names, phrases, gammas[row], weights[row]) for row in first_row], dtype=object
    )
    return pd.Series(texts[codes], index=pairs.index, name="explanation")


def _sentence(
    names: list[str], phrases: dict[str, tuple[str, ...]], gammas: np.ndarray, weights: np.ndarray
) -> str:
    parts = []
    for name, gamma, weight in zip(names, gammas, weights, strict=True):
        levels = phrases[name]
        if gamma < 0 or weight == 0.0:
            continue
        # Splink numbers non-null levels from the last ("else" = 0) up to the first (k - 1).
        index = len(levels) - 1 - int(gamma)
        if not 0 <= index < len(levels):
            raise ValueError(f"explain: gamma_{name}={gamma} is not a level of {name} ({len(levels)} levels)")
        parts.append((weight, f"{levels[index]} ({weight:+.1f})"))
    if not parts:
        return NO_EVIDENCE
    # For before against; within each, strongest first.
    parts.sort(key=lambda p: (p[0] < 0, -abs(p[0])))
    return ", ".join(text for _, text in parts)


def _phrases(model_or_settings: TrainedModel | Entity | SettingsCreator) -> dict[str, tuple[str, ...]]:
    if isinstance(model_or_settings, TrainedModel):
        return level_phrases(model_or_settings.entity)
    if isinstance(model_or_settings, Entity | str):
        return level_phrases(Entity(model_or_settings))
    if isinstance(model_or_settings, SettingsCreator):
        return _generic_phrases(model_or_settings)
    raise TypeError(
        f"explain: expected a TrainedModel, an Entity or a SettingsCreator, got {type(model_or_settings)}"
    )


def _generic_phrases(settings: SettingsCreator) -> dict[str, tuple[str, ...]]:
    """For settings not defined here: same / similar / different by level position."""
    out: dict[str, tuple[str, ...]] = {}
    for creator in settings._as_creator_dict()["comparisons"]:
        name = creator.create_output_column_name()
        if not name:
            raise ValueError("explain: every comparison needs an output column name")
        k = creator.num_non_null_levels
        label = name.replace("_", " ")
        out[name] = tuple(
            f"same {label}" if i == 0 else f"different {label}" if i == k - 1 else f"{label} similar"
            for i in range(k)
        )
    return out
