"""The match model a tenant's entity is matched with: the stored version, or one trained now.

Fewer live records than the policy's `merge.min_training_records`, or data Splink cannot
train on, leave the entity unmatched for the run with the reason, never a failed run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pandas as pd
from splink.internals.exceptions import SplinkException

from crm_hygiene.ledger.registry import DedupRegistry
from crm_hygiene.matching.inputs import is_match_input, match_input
from crm_hygiene.matching.model import DEFAULT_MAX_PAIRS, TrainedModel, train
from crm_hygiene.matching.settings import settings_fingerprint
from crm_hygiene.model.records import Entity, Status
from crm_hygiene.policy.schema import MergePolicy

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelChoice:
    """The model an entity is matched with in this run, or None and why."""

    entity: Entity
    model: TrainedModel | None
    version: int | None
    trained_now: bool = False
    note: str = ""


def live_count(normalized: pd.DataFrame) -> int:
    """Records not merged away: what the policy's `merge.min_training_records` counts."""
    return int((normalized["status"].astype(object) != Status.MERGED.value).sum()) if len(normalized) else 0


def train_and_store(
    registry: DedupRegistry,
    tenant: str,
    entity: Entity,
    normalized: pd.DataFrame,
    *,
    reason: str = "asked",
    max_pairs: int = DEFAULT_MAX_PAIRS,
    labels: pd.DataFrame | None = None,
    label_threshold: float | None = None,
) -> ModelChoice:
    """Train on the tenant's records and store the parameters as the next model version.

    `labels` are reviewers' pairwise labels (`labels.reviewer_labels`), see `model.train`.

    Raises what training raises (ValueError for fewer than two records, Splink's errors for
    data it cannot learn from): a person asked for this model and should see why it failed.
    """
    entity = Entity(entity)
    # Merged-away records take part: each is a known duplicate of its survivor (see match_input).
    inputs = (
        normalized
        if is_match_input(entity, normalized)
        else match_input(entity, normalized, include_merged=True)
    )
    model = train(entity, inputs, max_pairs=max_pairs, labels=labels, label_threshold=label_threshold)
    version = registry.save_match_model(
        tenant,
        entity.value,
        model.to_dict(),
        settings_fingerprint=model.settings_fingerprint,
        trained_on=int(model.metadata["records"]),
        metrics={
            "untrained_levels": len(model.metadata.get("untrained_levels", [])),
            "seconds": model.metadata.get("seconds"),
            **(
                {"reviewer_labels": model.metadata["reviewer_labels"]}
                if "reviewer_labels" in model.metadata
                else {}
            ),
        },
    )
    note = f"trained and stored version {version} on {model.metadata['records']} records ({reason})"
    logger.info("match model %s/%s: %s", tenant, entity.value, note)
    return ModelChoice(entity, model, version, trained_now=True, note=note)


def model_for(
    registry: DedupRegistry,
    tenant: str,
    entity: Entity,
    normalized: pd.DataFrame,
    *,
    retrain: bool = False,
    min_records: int = MergePolicy().min_training_records,
    max_pairs: int = DEFAULT_MAX_PAIRS,
) -> ModelChoice:
    """The stored model, or a new one trained and stored when none fits (see the module docstring)."""
    entity = Entity(entity)
    stored = registry.load_match_model(tenant, entity.value)
    expected = settings_fingerprint(entity)
    if retrain:
        reason = "retraining asked"
    elif stored is None:
        reason = "no stored model"
    elif stored.settings_fingerprint != expected:
        reason = (
            f"settings changed since version {stored.version} ({stored.settings_fingerprint} -> {expected})"
        )
    else:
        try:
            model = TrainedModel.from_dict(stored.parameters)
        except (KeyError, TypeError, ValueError) as exc:
            reason = f"stored version {stored.version} is unreadable ({exc})"
        else:
            return ModelChoice(entity, model, stored.version, note=f"stored version {stored.version}")
    live = live_count(normalized)
    if live < min_records:
        note = f"{reason}; {live} live records are too few to train on (at least {min_records})"
        logger.info("match model %s/%s: %s: not matched this run", tenant, entity.value, note)
        return ModelChoice(entity, None, None, note=note)
    try:
        return train_and_store(registry, tenant, entity, normalized, reason=reason, max_pairs=max_pairs)
    except (SplinkException, ValueError) as exc:
        note = f"{reason}; training failed: {str(exc).splitlines()[0][:300]}"
        logger.info("match model %s/%s: %s: not matched this run", tenant, entity.value, note)
        return ModelChoice(entity, None, None, note=note)
