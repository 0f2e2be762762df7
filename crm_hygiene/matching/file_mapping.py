"""The mapping of a file's columns onto an entity's canonical fields (`crm-hygiene dedupe --mapping`).

The YAML format is documented in docs/dedupe.md and in `crm_hygiene.matching.files`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from crm_hygiene.matching.settings import ExtraIdentifier
from crm_hygiene.model.records import Entity, spec

Progress = Callable[[str], None]

ENTITIES = (Entity.CONTACT, Entity.COMPANY)

# A contact's whole name in one column: it goes into the first-name box, whose normalizer
# splits a whole name typed there ("Jane Doe", "Doe, Jane") into both parts.
FULL_NAME = "full_name"


class DedupeInputError(ValueError):
    """The file, the mapping or the options cannot be used; the message says where and why."""


# --- mapping ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """Where one canonical field (or identifier) comes from in the file.

    `how` is "first" (the first non-empty of `columns`; one column is the common case), "join"
    (the non-empty values of `columns` joined by `sep`), "value" (the text `value` for every row)
    or "date" (a date built from the year, month and day `columns`, zero-padded: 1967, 1, 12 ->
    1967-01-12).
    """

    how: str
    columns: tuple[str, ...] = ()
    sep: str = " "
    value: str | None = None

    def describe(self) -> str:
        if self.how == "value":
            return f"the value {self.value!r}"
        if self.how == "join":
            return f"{' + '.join(self.columns)} joined"
        if self.how == "date":
            return f"the date of {', '.join(self.columns)} (year, month, day)"
        return " or ".join(self.columns)


@dataclass(frozen=True)
class IdentifierSpec:
    identifier: ExtraIdentifier
    source: Source
    # A date written with numbers only and both ways readable ("03/04/1967") is day first.
    day_first: bool = False


@dataclass(frozen=True)
class Mapping:
    """How a file's columns become an entity's canonical fields, its ids and extra identifiers."""

    entity: Entity
    fields: dict[str, Source]
    id_column: str | None = None
    identifiers: tuple[IdentifierSpec, ...] = ()
    # Cell texts read as empty: for every column under "*", else per column.
    missing: dict[str, frozenset[str]] = field(default_factory=dict)

    @property
    def extra_exact(self) -> tuple[ExtraIdentifier, ...]:
        return tuple(spec.identifier for spec in self.identifiers)

    def columns_used(self) -> list[str]:
        """Every file column the mapping reads, in mapping order, without repeats."""
        named = [self.id_column] if self.id_column else []
        for source in [*self.fields.values(), *(s.source for s in self.identifiers)]:
            named += list(source.columns)
        return list(dict.fromkeys(named))

    def check_columns(self, columns: Sequence[str], truth_column: str | None = None) -> None:
        """Raise DedupeInputError naming every mapped column the file lacks (or the truth column)."""
        present = set(columns)
        problems = []
        if self.id_column and self.id_column not in present:
            problems.append(f"id: column {self.id_column!r} is not in the file")
        for name, source in self.fields.items():
            problems += [
                f"{name}: column {c!r} is not in the file" for c in source.columns if c not in present
            ]
        for spec_ in self.identifiers:
            problems += [
                f"identifiers.{spec_.identifier.name}: column {c!r} is not in the file"
                for c in spec_.source.columns
                if c not in present
            ]
        if problems:
            raise DedupeInputError(
                "the mapping names missing columns: "
                + "; ".join(problems)
                + f". The file has: {list(columns)}"
            )
        if truth_column and truth_column in self.columns_used():
            raise DedupeInputError(
                f"the truth column {truth_column!r} is mapped; the model must not see the truth, "
                "so leave it out of the mapping"
            )

    def describe(self) -> str:
        parts = [f"{name} <- {source.describe()}" for name, source in self.fields.items()]
        parts += [
            f"identifier {s.identifier.name} <- {s.source.describe()}"
            + (" (date" + (", day first)" if s.day_first else ")") if s.identifier.date else "")
            + (" (name or initial)" if s.identifier.initial else "")
            + (f" (typos {s.identifier.typos})" if s.identifier.typos else "")
            + (f" (similar {s.identifier.similar})" if s.identifier.similar is not None else "")
            for s in self.identifiers
        ]
        ids = f"id <- {self.id_column}" if self.id_column else "id <- row number"
        return "; ".join([ids, *parts]) if parts else f"{ids}; no column maps to a field"


def mappable_fields(entity: Entity) -> tuple[str, ...]:
    """The canonical fields a file column may map to (the entity's business fields)."""
    names = spec(entity).business_fields
    return (*names, FULL_NAME) if Entity(entity) is Entity.CONTACT else names


_MAPPING_KEYS = {"entity", "id", "fields", "identifiers", "missing"}
_SOURCE_KEYS = {"column", "first", "join", "value"}


def load_mapping(path: str | Path, entity: Entity | str) -> Mapping:
    """Read and check a mapping YAML file (format: module docstring and docs/dedupe.md)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DedupeInputError(f"mapping file {str(path)!r} does not exist") from None
    except yaml.YAMLError as exc:
        # One line: the parser's own message spans three, with a caret under the spot.
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or " ".join(str(exc).split())
        raise DedupeInputError(f"mapping file {str(path)!r} is not valid YAML{where}: {problem}") from None
    try:
        return parse_mapping(data, entity)
    except DedupeInputError as exc:
        raise DedupeInputError(f"mapping file {str(path)!r}: {exc}") from None


def parse_mapping(data: Any, entity: Entity | str) -> Mapping:
    """A Mapping from the parsed YAML document `data` (a dict), for records of `entity`."""
    entity = checked_entity(entity)
    if not isinstance(data, dict):
        raise DedupeInputError("the mapping must be a YAML mapping with a `fields:` section")
    unknown = sorted(set(map(str, data)) - _MAPPING_KEYS)
    if unknown:
        raise DedupeInputError(f"unknown keys {unknown}; expected some of {sorted(_MAPPING_KEYS)}")
    if "entity" in data and str(data["entity"]) != entity.value:
        raise DedupeInputError(f"it is for {data['entity']!r} records, not {entity.value!r}")
    id_column = data.get("id")
    if id_column is not None and (not isinstance(id_column, str) or not id_column):
        raise DedupeInputError(f"id: expected one column name, got {id_column!r}")

    raw_fields = data.get("fields") or {}
    if not isinstance(raw_fields, dict):
        raise DedupeInputError("fields: expected `canonical field: source` entries")
    allowed = mappable_fields(entity)
    fields: dict[str, Source] = {}
    for name, raw in raw_fields.items():
        if name not in allowed:
            raise DedupeInputError(
                f"fields: {name!r} is not a {entity.value} field; expected one of {list(allowed)}"
            )
        source, options = _source(f"fields.{name}", raw)
        if options:
            raise DedupeInputError(f"fields.{name}: unknown keys {sorted(options)}")
        fields[str(name)] = source

    identifiers = _identifiers(data.get("identifiers"))
    return Mapping(
        entity=entity,
        fields=fields,
        id_column=id_column,
        identifiers=identifiers,
        missing=_missing(data.get("missing")),
    )


def _identifiers(raw: Any) -> tuple[IdentifierSpec, ...]:
    """`identifiers:` as a list of column names (each its own identifier) or `name: source`."""
    if raw is None:
        return ()
    if isinstance(raw, list):
        raw = {str(column): column for column in raw}
    if not isinstance(raw, dict):
        raise DedupeInputError("identifiers: expected a list of columns or `name: source` entries")
    out = []
    for name, value in raw.items():
        where = f"identifiers.{name}"
        if isinstance(value, dict) and isinstance(value.get("date"), dict):
            source = _date_parts(where, value["date"])
            options: dict[str, Any] = {str(k): v for k, v in value.items() if k != "date"}
            is_date: Any = True
        else:
            source, options = _source(where, value)
            is_date = options.pop("date", False)
        if not isinstance(is_date, bool):
            raise DedupeInputError(
                f"{where}: date must be true, or {{year: C, month: C, day: C}} to build the date "
                f"from three columns; got {is_date!r}"
            )
        initial = options.pop("initial", False)
        if not isinstance(initial, bool):
            raise DedupeInputError(f"{where}: initial must be true or false, got {initial!r}")
        day_first = options.pop("day_first", False)
        if not isinstance(day_first, bool):
            raise DedupeInputError(f"{where}: day_first must be true or false, got {day_first!r}")
        if day_first and not is_date:
            raise DedupeInputError(f"{where}: day_first belongs to a date (date: true)")
        typos = options.pop("typos", 0)
        similar = options.pop("similar", None)
        split = options.pop("split", None)
        if options:
            raise DedupeInputError(
                f"{where}: unknown keys {sorted(options)}; an identifier takes typos, similar, split, "
                "date, day_first and initial"
            )
        if split is not None and (not isinstance(split, str) or not split):
            raise DedupeInputError(f"{where}: split must be a non-empty text such as ';', got {split!r}")
        if not isinstance(typos, int) or isinstance(typos, bool):
            raise DedupeInputError(f"{where}: typos must be a whole number, got {typos!r}")
        if similar is not None and (not isinstance(similar, int | float) or isinstance(similar, bool)):
            raise DedupeInputError(f"{where}: similar must be a number such as 0.9, got {similar!r}")
        try:
            identifier = ExtraIdentifier(
                _identifier_name(str(name)),
                typos,
                None if similar is None else float(similar),
                split,
                date=is_date,
                initial=initial,
            )
        except ValueError as exc:
            raise DedupeInputError(f"{where}: {exc}") from None
        out.append(IdentifierSpec(identifier, source, day_first=day_first))
    names = [s.identifier.name for s in out]
    if len(set(names)) != len(names):
        raise DedupeInputError(f"identifiers: names repeat once written as identifiers: {names}")
    return tuple(out)


_DATE_PARTS = ("year", "month", "day")


def _date_parts(where: str, raw: dict[Any, Any]) -> Source:
    """`date: {year: C, month: C, day: C}`: the three columns a date is built from."""
    if sorted(map(str, raw)) != sorted(_DATE_PARTS) or not all(
        isinstance(raw[k], str) and raw[k] for k in _DATE_PARTS
    ):
        raise DedupeInputError(
            f"{where}: date from parts takes one column each for year, month and day, "
            f"e.g. {{year: birth_year, month: birth_month, day: birth_day}}; got {raw!r}"
        )
    return Source("date", tuple(raw[k] for k in _DATE_PARTS))


def _identifier_name(name: str) -> str:
    """A column name as an identifier name: lower case, runs of other characters as `_`."""
    cleaned = re.sub(r"[^a-z0-9]+", "_", name.casefold()).strip("_")
    return cleaned if cleaned[:1].isalpha() else f"x_{cleaned}"


def _source(where: str, raw: Any) -> tuple[Source, dict[str, Any]]:
    """One source, and the keys of its dict form that are not about the source (options)."""
    if isinstance(raw, str) and raw:
        return Source("first", (raw,)), {}
    if isinstance(raw, list):
        return Source("first", _column_list(where, raw)), {}
    if not isinstance(raw, dict):
        raise DedupeInputError(
            f"{where}: expected a column name, a list of columns, or one of "
            f"{{column: C}}, {{first: [C, ...]}}, {{join: [C, ...], sep: ' '}}, {{value: TEXT}}; got {raw!r}"
        )
    kinds = [k for k in raw if k in _SOURCE_KEYS]
    if len(kinds) != 1:
        raise DedupeInputError(f"{where}: give exactly one of {sorted(_SOURCE_KEYS)}, got {sorted(raw)}")
    kind = kinds[0]
    options = {str(k): v for k, v in raw.items() if k != kind and k != "sep"}
    if "sep" in raw and kind != "join":
        raise DedupeInputError(f"{where}: `sep` belongs to `join` only")
    if kind == "value":
        value = raw["value"]
        if value is None or isinstance(value, list | dict):
            raise DedupeInputError(f"{where}: value must be a text, got {value!r}")
        return Source("value", value=str(value)), options
    if kind == "column":
        if not isinstance(raw["column"], str) or not raw["column"]:
            raise DedupeInputError(f"{where}: column must be one column name, got {raw['column']!r}")
        return Source("first", (raw["column"],)), options
    columns = _column_list(where, raw[kind] if isinstance(raw[kind], list) else [raw[kind]])
    sep = raw.get("sep", " ")
    if not isinstance(sep, str):
        raise DedupeInputError(f"{where}: sep must be a text, got {sep!r}")
    return Source(kind, columns, sep=sep), options


def _column_list(where: str, raw: list[Any]) -> tuple[str, ...]:
    if not raw or not all(isinstance(c, str) and c for c in raw):
        raise DedupeInputError(f"{where}: expected a non-empty list of column names, got {raw!r}")
    return tuple(raw)


def _missing(raw: Any) -> dict[str, frozenset[str]]:
    if raw is None:
        return {}
    if isinstance(raw, list):
        return {"*": frozenset(str(v).strip() for v in raw)}
    if isinstance(raw, dict) and all(isinstance(v, list) for v in raw.values()):
        return {str(k): frozenset(str(v).strip() for v in values) for k, values in raw.items()}
    raise DedupeInputError(f"missing: expected a list of texts or `column: [texts]`, got {raw!r}")


# Header names (lower case, other characters as "_") that mean a canonical field, in order of
# preference: when a file has several, the first non-empty of them is used, row by row.
_COMMON_SYNONYMS: dict[str, tuple[str, ...]] = {
    "phone": ("phone", "telephone", "tel", "phone_number", "telephone_number", "mobile", "mobile_phone"),
    "street": ("street", "street_address", "address", "address_line_1", "address1", "addr"),
    "city": ("city", "town", "locality"),
    "region": ("region", "state", "province", "county"),
    "postcode": ("postcode", "post_code", "postal_code", "zip", "zip_code", "zipcode"),
    "country": ("country", "country_code", "country_name"),
}
SYNONYMS: dict[Entity, dict[str, tuple[str, ...]]] = {
    Entity.CONTACT: {
        "first_name": ("first_name", "firstname", "given_name", "givenname", "forename", "given", "first"),
        "last_name": ("last_name", "lastname", "surname", "family_name", "familyname", "last"),
        FULL_NAME: ("full_name", "fullname", "name", "person_name", "contact_name"),
        "email": ("email", "e_mail", "email_address", "mail"),
        "title": ("title", "job_title", "jobtitle", "position"),
        "company_name": ("company_name", "company", "organisation", "organization", "employer", "account_name"),
        "company_id": ("company_id", "account_id"),
        **_COMMON_SYNONYMS,
    },
    Entity.COMPANY: {
        "name": (
            "name", "company_name", "company", "organisation", "organization", "org_name",
            "organisation_name", "organization_name", "legal_name", "business_name", "account_name",
        ),
        "website": ("website", "web_site", "web", "url", "homepage", "domain"),
        "industry": ("industry", "sector"),
        **_COMMON_SYNONYMS,
    },
}  # fmt: skip
ID_SYNONYMS = ("id", "unique_id", "record_id", "uid")
# Well-known identifiers that are dates (compared as dates when picked up by name).
DATE_IDENTIFIERS = frozenset({"dob"})
# Well-known identifiers picked up by name when there is no mapping (name, typos, synonyms).
IDENTIFIER_SYNONYMS: dict[Entity, tuple[tuple[str, int, tuple[str, ...]], ...]] = {
    Entity.CONTACT: (
        ("dob", 1, ("dob", "date_of_birth", "birth_date", "birthdate", "birthday")),
        ("national_id", 0, ("national_id", "ssn", "social_security_number", "nino", "national_insurance_number")),
    ),
    Entity.COMPANY: (
        ("lei", 0, ("lei", "lei_code")),
        ("vat", 0, ("vat", "vat_number", "vat_id", "tax_id")),
        ("duns", 0, ("duns", "duns_number")),
        ("company_number", 0, ("company_number", "registration_number", "company_registration_number")),
    ),
}  # fmt: skip


def header_key(column: str) -> str:
    """A header as compared with the synonyms: lower case, runs of other characters as "_"."""
    return re.sub(r"[^a-z0-9]+", "_", str(column).casefold()).strip("_")


def default_mapping(columns: Sequence[str], entity: Entity | str, *, exclude: Sequence[str] = ()) -> Mapping:
    """The mapping of a file without a mapping file: canonical names and common synonyms.

    `exclude` (the truth column) is never used. A header matching several fields is used for
    the first in `SYNONYMS` order only.
    """
    entity = checked_entity(entity)
    by_key: dict[str, list[str]] = {}
    for column in columns:
        if column not in exclude:
            by_key.setdefault(header_key(column), []).append(column)
    taken: set[str] = set()

    def pick(synonyms: Sequence[str]) -> tuple[str, ...]:
        found = [c for s in synonyms for c in by_key.get(s, []) if c not in taken]
        taken.update(found)
        return tuple(dict.fromkeys(found))

    id_columns = pick(ID_SYNONYMS)
    fields = {}
    for name, synonyms in SYNONYMS[entity].items():
        found = pick(synonyms)
        if found:
            fields[name] = Source("first", found)
    identifiers = []
    for name, typos, synonyms in IDENTIFIER_SYNONYMS[entity]:
        found = pick(synonyms)
        if found:
            identifier = (
                ExtraIdentifier(name, date=True) if name in DATE_IDENTIFIERS else ExtraIdentifier(name, typos)
            )
            identifiers.append(IdentifierSpec(identifier, Source("first", found)))
    return Mapping(
        entity=entity,
        fields=fields,
        id_column=id_columns[0] if id_columns else None,
        identifiers=tuple(identifiers),
    )


def checked_entity(entity: Entity | str) -> Entity:
    try:
        value = Entity(entity)
    except ValueError:
        value = None
    if value not in ENTITIES:
        raise DedupeInputError(
            f"unknown entity {entity!r}: files can be deduplicated as {[e.value for e in ENTITIES]}"
        )
    return value
