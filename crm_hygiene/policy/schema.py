"""The policy document as typed, validated models: every rule that decides what runs unattended.

Unknown keys are errors (`extra="forbid"`), so a typo such as `auto_merge_treshold` can never
leave a rule at its default unnoticed. Field names are `entity.field` and must exist in the
canonical model.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from crm_hygiene.ledger.types import ChangeKind
from crm_hygiene.matching.survivorship import (
    DEFAULT_FIELD_RULES,
    DEFAULT_SURVIVOR_CRITERIA,
    NEVER_PROPOSED,
    Rule,
    SurvivorCriterion,
    SurvivorshipPolicy,
)
from crm_hygiene.model.records import SPECS, Entity

Probability = Annotated[float, Field(ge=0.0, le=1.0)]

# The change kinds judged by `confidence` thresholds; merges are judged by `merge`.
CONFIDENCE_KINDS: tuple[str, ...] = ("standardize", "enrich", "flag", "relationship")


class Outcome(StrEnum):
    """What the policy does with a change, given its confidence."""

    APPLY = "apply"
    REVIEW = "review"
    DROP = "drop"


class WriteMode(StrEnum):
    FILL_IF_BLANK = "fill_if_blank"
    MAY_OVERWRITE = "may_overwrite"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def check_field_name(name: str) -> str:
    """`entity.field` of the canonical model, or ValueError saying what is expected."""
    entity, _, field = name.partition(".")
    try:
        spec = SPECS[Entity(entity)]
    except ValueError:
        raise ValueError(
            f"{name!r} is not ENTITY.FIELD with ENTITY one of {', '.join(e.value for e in Entity)}"
        ) from None
    if field not in spec.fields:
        raise ValueError(f"{entity} has no field {field!r} (fields: {', '.join(spec.fields)})")
    return name


# ENTITY.FIELD of the canonical model, checked wherever a policy names a field.
FieldName = Annotated[str, AfterValidator(check_field_name)]


def _outcome(confidence: float, apply: float, review: float) -> Outcome:
    if confidence >= apply:
        return Outcome.APPLY
    if confidence >= review:
        return Outcome.REVIEW
    return Outcome.DROP


class FieldThresholds(_Strict):
    """A field's own thresholds; one left out is the kind's."""

    apply: Probability | None = None
    review: Probability | None = None


class KindThresholds(_Strict):
    apply: Probability
    review: Probability
    fields: dict[FieldName, FieldThresholds] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _ordered(self) -> KindThresholds:
        if self.review > self.apply:
            raise ValueError(f"review ({self.review}) must not be above apply ({self.apply})")
        for name in self.fields:
            apply, review = self.for_field(name)
            if review > apply:
                raise ValueError(f"fields.{name}: review ({review}) must not be above apply ({apply})")
        return self

    def for_field(self, name: str | None) -> tuple[float, float]:
        """(apply, review) for one field, falling back to the kind's."""
        own = self.fields.get(name or "")
        if own is None:
            return self.apply, self.review
        return (
            self.apply if own.apply is None else own.apply,
            self.review if own.review is None else own.review,
        )


_KIND_DEFAULTS: dict[str, dict[str, float]] = {
    "standardize": {"apply": 0.9, "review": 0.6},
    "enrich": {"apply": 0.9, "review": 0.5},
    "flag": {"apply": 0.95, "review": 0.5},
    "relationship": {"apply": 0.9, "review": 0.6},
}


def _over_defaults(value: object, defaults: dict[str, object]) -> object:
    """A section's map given in part keeps the defaults of what it leaves out."""
    return {**defaults, **value} if isinstance(value, dict) else value


class ConfidencePolicy(_Strict):
    standardize: KindThresholds = KindThresholds(**_KIND_DEFAULTS["standardize"])
    enrich: KindThresholds = KindThresholds(**_KIND_DEFAULTS["enrich"])
    flag: KindThresholds = KindThresholds(**_KIND_DEFAULTS["flag"])
    relationship: KindThresholds = KindThresholds(**_KIND_DEFAULTS["relationship"])

    @model_validator(mode="before")
    @classmethod
    def _partial_kinds(cls, data: object) -> object:
        # `enrich: {fields: {...}}` alone keeps enrich's apply and review thresholds.
        if not isinstance(data, dict):
            return data
        return {
            k: _over_defaults(v, _KIND_DEFAULTS[k]) if k in _KIND_DEFAULTS else v for k, v in data.items()
        }


class MergePolicy(_Strict):
    auto_merge_threshold: Probability = 0.99
    review_threshold: Probability = 0.5
    max_auto_cluster_size: int = Field(default=10, ge=2)
    min_training_records: int = Field(default=50, ge=2)

    @model_validator(mode="after")
    def _ordered(self) -> MergePolicy:
        if self.review_threshold > self.auto_merge_threshold:
            raise ValueError(
                f"review_threshold ({self.review_threshold}) must not be above "
                f"auto_merge_threshold ({self.auto_merge_threshold})"
            )
        return self


_WRITE_DEFAULTS: dict[str, object] = {
    "contact.title": WriteMode.MAY_OVERWRITE,
    "contact.last_activity_at": WriteMode.MAY_OVERWRITE,
    "company.last_activity_at": WriteMode.MAY_OVERWRITE,
}


class WritesPolicy(_Strict):
    default: WriteMode = WriteMode.FILL_IF_BLANK
    fields: dict[FieldName, WriteMode] = Field(default_factory=lambda: dict(_WRITE_DEFAULTS))

    @field_validator("fields", mode="before")
    @classmethod
    def _partial(cls, value: object) -> object:
        return _over_defaults(value, _WRITE_DEFAULTS)

    def mode(self, name: str) -> WriteMode:
        return self.fields.get(name, self.default)


class ProtectedPolicy(_Strict):
    human_edit_days: int = Field(default=30, ge=0)
    fields: list[FieldName] = Field(default_factory=list)


class ListsPolicy(_Strict):
    never_enrich_domains: list[str] = Field(default_factory=list)
    never_merge_records: list[str] = Field(default_factory=list)
    disabled_providers: list[str] = Field(default_factory=list)

    @field_validator("never_enrich_domains")
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        # Compared with normalized domains, which are lower-case without a leading "www." or "@".
        return [v.strip().lower().removeprefix("@").removeprefix("www.") for v in value]


class StalenessPolicy(_Strict):
    contact_days: int = Field(default=365, ge=1)
    company_days: int = Field(default=730, ge=1)
    employment_days: int = Field(default=365, ge=1)


class SurvivorshipSection(_Strict):
    survivor: list[SurvivorCriterion] = Field(
        default_factory=lambda: list(DEFAULT_SURVIVOR_CRITERIA), min_length=1
    )
    default_rule: Rule = Rule.MOST_RECENT
    fields: dict[str, Rule] = Field(default_factory=lambda: dict(DEFAULT_FIELD_RULES))
    source_ranking: list[str] = Field(default_factory=list)
    source_column: str = "source"

    @field_validator("fields", mode="before")
    @classmethod
    def _partial(cls, value: object) -> object:
        # Naming the rule of one field keeps every other field's default rule.
        return _over_defaults(value, dict(DEFAULT_FIELD_RULES))

    @field_validator("fields")
    @classmethod
    def _proposable(cls, value: dict[str, Rule]) -> dict[str, Rule]:
        forbidden = sorted(NEVER_PROPOSED & value.keys())
        if forbidden:
            raise ValueError(f"{', '.join(forbidden)}: bookkeeping fields are never set by a merge")
        return value

    def to_survivorship(self) -> SurvivorshipPolicy:
        return SurvivorshipPolicy(
            survivor_criteria=tuple(self.survivor),
            field_rules=dict(self.fields),
            default_rule=self.default_rule,
            source_ranking=tuple(self.source_ranking),
            source_column=self.source_column,
        )


class PiiPolicy(_Strict):
    fields: list[str] = Field(default_factory=lambda: ["email", "phone"])


class OnUnreadable(StrEnum):
    HOLD = "hold"
    STOP = "stop"


class SnapshotPolicy(_Strict):
    on_unreadable_table: OnUnreadable = OnUnreadable.HOLD


class Policy(_Strict):
    """One tenant's rules. `Policy()` is the shipped default (crm_hygiene/policy/default.yaml)."""

    policy_format: Literal[1] = 1
    merge: MergePolicy = MergePolicy()
    confidence: ConfidencePolicy = ConfidencePolicy()
    writes: WritesPolicy = WritesPolicy()
    protected: ProtectedPolicy = ProtectedPolicy()
    lists: ListsPolicy = ListsPolicy()
    staleness: StalenessPolicy = StalenessPolicy()
    survivorship: SurvivorshipSection = SurvivorshipSection()
    pii: PiiPolicy = PiiPolicy()
    snapshot: SnapshotPolicy = SnapshotPolicy()

    def thresholds(self, kind: ChangeKind | str, field: str | None = None) -> tuple[float, float]:
        """(apply, review) for a change of `kind` to `field` (ENTITY.FIELD)."""
        kind = ChangeKind(kind)
        if kind is ChangeKind.MERGE:
            return self.merge.auto_merge_threshold, self.merge.review_threshold
        if kind.value not in CONFIDENCE_KINDS:
            raise ValueError(f"the policy does not judge {kind.value} changes")
        section: KindThresholds = getattr(self.confidence, kind.value)
        return section.for_field(field)

    def decide(self, kind: ChangeKind | str, confidence: float, field: str | None = None) -> Outcome:
        """Apply, review or drop a change of `kind` to `field` with this confidence."""
        apply, review = self.thresholds(kind, field)
        return _outcome(confidence, apply, review)

    def survivorship_policy(self) -> SurvivorshipPolicy:
        return self.survivorship.to_survivorship()
