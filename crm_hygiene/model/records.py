"""The canonical CRM model: which entities exist, their fields, and how they point at each other."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Entity(StrEnum):
    CONTACT = "contact"
    COMPANY = "company"
    EMPLOYMENT = "employment"


class Status(StrEnum):
    ACTIVE = "active"
    MERGED = "merged"
    FLAGGED = "flagged"


# Bookkeeping every record carries, whatever its entity.
SYSTEM_FIELDS: tuple[str, ...] = (
    "id",
    "tenant",
    "source_system_id",
    "version",
    "created_at",
    "updated_at",
    "last_activity_at",
    "owner",
    "status",
    "merged_into",
    "flags",
)

# Fields the store manages itself: a proposed change may never target them directly.
STORE_MANAGED_FIELDS: frozenset[str] = frozenset({"id", "tenant", "version", "created_at", "updated_at"})

TIMESTAMP_FIELDS: frozenset[str] = frozenset(
    {"created_at", "updated_at", "last_activity_at", "valid_from", "valid_to"}
)


@dataclass(frozen=True)
class Reference:
    """A field of `entity` that holds the id of a record of another (or the same) entity."""

    entity: Entity
    field: str


@dataclass(frozen=True)
class EntitySpec:
    entity: Entity
    table: str
    business_fields: tuple[str, ...]

    @property
    def fields(self) -> tuple[str, ...]:
        return SYSTEM_FIELDS + self.business_fields

    @property
    def text_fields(self) -> tuple[str, ...]:
        return tuple(f for f in self.fields if f not in TIMESTAMP_FIELDS and f != "version")


CONTACT = EntitySpec(
    Entity.CONTACT,
    "contacts",
    (
        "first_name",
        "last_name",
        "email",
        "phone",
        "title",
        "company_id",
        "company_name",
        "street",
        "city",
        "region",
        "postcode",
        "country",
    ),
)
COMPANY = EntitySpec(
    Entity.COMPANY,
    "companies",
    ("name", "website", "phone", "industry", "street", "city", "region", "postcode", "country"),
)
EMPLOYMENT = EntitySpec(
    Entity.EMPLOYMENT,
    "employment",
    ("contact_id", "company_id", "title", "reports_to", "valid_from", "valid_to"),
)

SPECS: dict[Entity, EntitySpec] = {s.entity: s for s in (CONTACT, COMPANY, EMPLOYMENT)}

# Who points at a record of each entity: a merge re-points these, an unmerge points them back.
REFERENCES_TO: dict[Entity, tuple[Reference, ...]] = {
    Entity.COMPANY: (Reference(Entity.CONTACT, "company_id"), Reference(Entity.EMPLOYMENT, "company_id")),
    Entity.CONTACT: (Reference(Entity.EMPLOYMENT, "contact_id"), Reference(Entity.EMPLOYMENT, "reports_to")),
    Entity.EMPLOYMENT: (),
}


def spec(entity: Entity | str) -> EntitySpec:
    """The spec of an entity, from the enum or its name; a clear error for unknown names."""
    try:
        return SPECS[Entity(entity)]
    except ValueError:
        known = ", ".join(e.value for e in Entity)
        raise ValueError(f"unknown entity {entity!r}; expected one of: {known}") from None
