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
   random pairs with exact identifiers counted, m by EM), skipping a rule the file has no
   pairs for: a file without e-mail addresses cannot train on e-mail blocks. EM runs without
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

import csv
import json
import math
import re
import time
import unicodedata
from collections.abc import Callable, Sequence
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import yaml
from splink import Linker

from crm_hygiene.matching.evaluate import PairwiseScores, pairwise_scores
from crm_hygiene.matching.inputs import MATCH_COLUMNS, MAX_SHARED, as_arrow, match_input
from crm_hygiene.matching.model import DEFAULT_MAX_PAIRS, DEFAULT_SEED, fit_registered
from crm_hygiene.matching.predict import AUTO_MERGE_THRESHOLD
from crm_hygiene.matching.session import SplinkSession
from crm_hygiene.matching.settings import (
    ExtraIdentifier,
)
from crm_hygiene.model.records import Entity, Status, spec
from crm_hygiene.model.snapshot import prepare_snapshot
from crm_hygiene.normalize.records import normalize_companies, normalize_contacts

if TYPE_CHECKING:
    from splink.internals.splink_dataframe import SplinkDataFrame

Progress = Callable[[str], None]

ENTITIES = (Entity.CONTACT, Entity.COMPANY)
# The tenant every file record is given: the snapshot and normalizers expect one.
FILE_TENANT = "file"
# Pairs scoring below this are not kept at all; `match_probability` is empty for a record
# whose every candidate pair scored lower (or that no blocking rule paired).
PAIR_FLOOR = 0.01
OUTPUT_COLUMNS = ("cluster_id", "match_probability")

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
    (the non-empty values of `columns` joined by `sep`) or "value" (the text `value` for every row).
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
        return " or ".join(self.columns)


@dataclass(frozen=True)
class IdentifierSpec:
    identifier: ExtraIdentifier
    source: Source


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
        raise DedupeInputError(f"mapping file {str(path)!r} is not valid YAML: {exc}") from None
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
        source, options = _source(where, value)
        typos = options.pop("typos", 0)
        similar = options.pop("similar", None)
        split = options.pop("split", None)
        if options:
            raise DedupeInputError(
                f"{where}: unknown keys {sorted(options)}; an identifier takes typos, similar and split"
            )
        if split is not None and (not isinstance(split, str) or not split):
            raise DedupeInputError(f"{where}: split must be a non-empty text such as ';', got {split!r}")
        if not isinstance(typos, int) or isinstance(typos, bool):
            raise DedupeInputError(f"{where}: typos must be a whole number, got {typos!r}")
        if similar is not None and (not isinstance(similar, int | float) or isinstance(similar, bool)):
            raise DedupeInputError(f"{where}: similar must be a number such as 0.9, got {similar!r}")
        try:
            identifier = ExtraIdentifier(
                _identifier_name(str(name)), typos, None if similar is None else float(similar), split
            )
        except ValueError as exc:
            raise DedupeInputError(f"{where}: {exc}") from None
        out.append(IdentifierSpec(identifier, source))
    names = [s.identifier.name for s in out]
    if len(set(names)) != len(names):
        raise DedupeInputError(f"identifiers: names repeat once written as identifiers: {names}")
    return tuple(out)


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
            identifiers.append(IdentifierSpec(ExtraIdentifier(name, typos), Source("first", found)))
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


# --- reading and writing ---------------------------------------------------------------------------


def file_format(path: str | Path) -> str:
    """ "csv", "tsv" or "parquet", from the file name's extension (a .gz after csv/tsv is fine)."""
    suffixes = [s.casefold() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] in (".gz", ".bz2", ".zst", ".xz", ".zip"):
        suffixes = suffixes[:-1]
    last = suffixes[-1] if suffixes else ""
    formats = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}
    if last not in formats:
        raise DedupeInputError(
            f"{str(path)!r}: cannot tell the format from the extension {last or '(none)'!r}; "
            "use .csv, .tsv or .parquet"
        )
    return formats[last]


def read_table(path: str | Path) -> pd.DataFrame:
    """The file's rows: CSV cells as text exactly as written ("" when empty), Parquet as typed.

    Raises DedupeInputError for a missing or empty file, a header without rows, and a header
    that repeats a column name (the output could not keep both).
    """
    path = Path(path)
    kind = file_format(path)
    if not path.is_file():
        raise DedupeInputError(f"{str(path)!r} does not exist")
    if path.stat().st_size == 0:
        raise DedupeInputError(f"{str(path)!r} is empty: no header row, no records")
    if kind == "parquet":
        try:
            table = pd.read_parquet(path)
        except (OSError, pa.ArrowException) as exc:
            raise DedupeInputError(f"{str(path)!r} is not a readable Parquet file: {exc}") from None
        header = [str(c) for c in table.columns]
    else:
        sep = "\t" if kind == "tsv" else ","
        header = _csv_header(path, sep)
        if not header or all(not h.strip() for h in header):
            raise DedupeInputError(f"{str(path)!r} is empty: no header row, no records")
        try:
            table = pd.read_csv(
                path, sep=sep, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig"
            )
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise DedupeInputError(f"{str(path)!r} is not a readable CSV file: {exc}") from None
        table.columns = header
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise DedupeInputError(f"{str(path)!r}: the header repeats columns {repeated}")
    if table.empty:
        raise DedupeInputError(f"{str(path)!r} has a header but no records")
    return table.reset_index(drop=True)


def _csv_header(path: Path, sep: str) -> list[str]:
    """The first CSV record as written (pandas would rename repeated names to "a.1")."""
    import gzip

    opener = gzip.open if path.suffix.casefold() == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
            return next(csv.reader(handle, delimiter=sep), [])
    except UnicodeDecodeError as exc:
        raise DedupeInputError(f"{str(path)!r} is not UTF-8 text: {exc}") from None


def write_table(frame: pd.DataFrame, path: str | Path) -> None:
    """CSV, TSV or Parquet by the extension of `path`."""
    path = Path(path)
    kind = file_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False, sep="\t" if kind == "tsv" else ",")


def default_output(path: str | Path) -> Path:
    """`people.csv` -> `people.deduped.csv`, next to the input."""
    path = Path(path)
    name = path.name
    for suffix in (".csv.gz", ".tsv.gz", ".csv", ".tsv", ".parquet", ".pq"):
        if name.casefold().endswith(suffix):
            return path.with_name(name[: -len(suffix)] + ".deduped" + name[-len(suffix) :])
    return path.with_name(name + ".deduped.csv")


# --- from rows to records --------------------------------------------------------------------------


def cell_texts(values: pd.Series, missing: frozenset[str] = frozenset()) -> pd.Series:
    """A column as stripped text, None where empty or listed in `missing`.

    Parquet columns may be numbers or dates: a whole float is written without ".0", a date
    (or a midnight timestamp) as YYYY-MM-DD. A list or mapping in a cell cannot be a field
    value; DedupeInputError names its row (1-based, as in "row 1" = the first record).
    """
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values.to_numpy(dtype=object)):
        out[i] = _cell_text(value, values.name, i)
    text = pd.Series(out, index=values.index, dtype=object)
    blank = text.isna() | (text == "")
    if missing:
        blank |= text.isin(missing)
    return text.where(~blank, None)


def _cell_text(value: Any, column: Any, row: int) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float | np.floating):
        return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))
    if isinstance(value, datetime | pd.Timestamp):
        moment = pd.Timestamp(value)
        return moment.date().isoformat() if moment == moment.normalize() else moment.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple | dict | np.ndarray | MappingABC):
        raise DedupeInputError(
            f"row {row + 1}, column {column!r}: holds a {type(value).__name__}, not a single value; "
            "map a text column instead"
        )
    return str(value).strip()


def _resolve(table: pd.DataFrame, source: Source, missing: dict[str, frozenset[str]]) -> pd.Series:
    """One canonical column from `source` (see `Source`): text or None per row."""
    if source.how == "value":
        return pd.Series(source.value or None, index=table.index, dtype=object)
    parts = [
        cell_texts(table[c], missing.get(c, frozenset()) | missing.get("*", frozenset()))
        for c in source.columns
    ]
    if source.how == "join":
        joined = pd.concat(parts, axis=1).apply(
            lambda row: source.sep.join(v for v in row if v is not None) or None, axis=1
        )
        return joined.astype(object)
    out = parts[0]
    for part in parts[1:]:
        out = out.where(out.notna(), part)
    return out


@dataclass
class MappedFile:
    """The file as records: the raw snapshot frame for the normalizer and identifier keys by id."""

    ids: pd.Series  # record id (text) per row
    id_values: pd.Series  # the same ids as written in the file, for ordering and output
    raw: pd.DataFrame  # id, tenant, version, status and the mapped canonical fields
    identifiers: pd.DataFrame  # one column per extra identifier (`id_<name>`), keyed text


def map_rows(table: pd.DataFrame, mapping: Mapping) -> MappedFile:
    """Apply `mapping` to the file's rows: ids checked, fields and identifiers resolved."""
    ids, id_values = _record_ids(table, mapping)
    fields: dict[str, pd.Series] = {
        name: _resolve(table, source, mapping.missing) for name, source in mapping.fields.items()
    }
    if FULL_NAME in fields:
        full = fields.pop(FULL_NAME)
        nothing = pd.Series([None] * len(table), index=table.index, dtype=object)
        first = fields.get("first_name", nothing)
        last = fields.get("last_name", nothing)
        no_parts = first.isna() & last.isna()
        fields["first_name"] = first.where(~no_parts, full).astype(object)
        fields["first_name"] = fields["first_name"].where(fields["first_name"].notna(), None)
    raw = pd.DataFrame(
        {
            "id": ids.to_numpy(dtype=object),
            "tenant": FILE_TENANT,
            "version": "1",
            "status": Status.ACTIVE.value,
            "flags": "[]",
            **{name: values.to_numpy(dtype=object) for name, values in fields.items()},
        }
    )
    identifiers = pd.DataFrame(
        {
            spec_.identifier.column: _identifier_values(
                _resolve(table, spec_.source, mapping.missing), spec_.identifier
            ).to_numpy(dtype=object)
            for spec_ in mapping.identifiers
        },
        index=pd.RangeIndex(len(table)),
    )
    identifiers.index = ids.to_numpy(dtype=object)
    return MappedFile(ids=ids, id_values=id_values, raw=raw, identifiers=identifiers)


def _identifier_values(values: pd.Series, identifier: ExtraIdentifier) -> pd.Series:
    return identifier_keys(values) if identifier.split is None else identifier_lists(values, identifier.split)


def identifier_lists(values: pd.Series, split: str) -> pd.Series:
    """Cells split at `split` into sorted lists of distinct item keys (as `identifier_keys`);
    no item left -> None. "A B**a-b**C" with "**" -> ["ab", "c"]."""
    items = values.map(lambda text: None if text is None else text.split(split)).explode()
    keys = identifier_keys(items.where(items.notna(), None)).dropna()
    lists = keys.groupby(level=0).agg(lambda ks: sorted(set(ks)))
    out = pd.Series([None] * len(values), index=values.index, dtype=object)
    out[lists.index] = lists.to_numpy()
    return out


def identifier_keys(values: pd.Series) -> pd.Series:
    """Identifiers compared on letters and digits alone, case-folded: "DE 123-456" = "de123456".

    Spacing, dashes and dots are how an identifier is written, not what it is; for a date
    "1971-06-24" and "1971/06/24" agree. Nothing left -> None.
    """

    def key(text: str | None) -> str | None:
        if text is None:
            return None
        folded = unicodedata.normalize("NFKC", text).casefold()
        kept = "".join(ch for ch in folded if ch.isalnum())
        return kept or None

    return values.map(key).astype(object)


def _record_ids(table: pd.DataFrame, mapping: Mapping) -> tuple[pd.Series, pd.Series]:
    """Record ids as text and as written; row numbers (1, 2, ...) without an id column.

    Raises DedupeInputError naming the rows of empty ids and the repeated ids with their rows.
    """
    if mapping.id_column is None:
        numbers = pd.Series(np.arange(1, len(table) + 1), index=table.index)
        return numbers.astype(str).astype(object), numbers
    column = mapping.id_column
    values = table[column]
    text = cell_texts(values)
    empty = text.isna()
    if empty.any():
        rows = _row_list(np.flatnonzero(empty.to_numpy()))
        raise DedupeInputError(f"column {column!r} (the id) is empty in {rows}")
    repeated = text[text.duplicated(keep=False)]
    if not repeated.empty:
        groups = repeated.groupby(repeated, sort=False).groups
        shown = [
            f"{value!r} in {_row_list(table.index.get_indexer(index))}"
            for value, index in list(groups.items())[:5]
        ]
        more = f" and {len(groups) - 5} more" if len(groups) > 5 else ""
        raise DedupeInputError(
            f"column {column!r} (the id) repeats {len(groups)} id(s): " + "; ".join(shown) + more
        )
    return text, values


def _row_list(positions: Sequence[int] | np.ndarray, limit: int = 5) -> str:
    """ "row 3" / "rows 3, 9 and 12 more" (1-based: row 1 is the first record)."""
    numbers = [int(p) + 1 for p in positions]
    shown = ", ".join(map(str, numbers[:limit]))
    more = f" and {len(numbers) - limit} more" if len(numbers) > limit else ""
    return f"row{'s' if len(numbers) > 1 else ''} {shown}{more}"


def _unshare(values: pd.Series, max_shared: int = MAX_SHARED) -> pd.Series:
    """NULL for identifier values held by more than `max_shared` records (see `inputs`)."""
    counts = values.map(values.value_counts(dropna=True))
    return values.where(~(counts.to_numpy(dtype=float, na_value=np.nan) > max_shared), None).astype(object)


def file_match_input(mapped: MappedFile, entity: Entity) -> pd.DataFrame:
    """The match input of the file's records: normalized fields plus the identifier keys."""
    snapshot = prepare_snapshot(entity, mapped.raw)
    normalize = normalize_contacts if entity is Entity.CONTACT else normalize_companies
    inputs = match_input(entity, normalize(snapshot).frame)
    for column in mapped.identifiers.columns:
        keys = pd.Series(
            mapped.identifiers[column].reindex(inputs["unique_id"].to_numpy()).to_numpy(dtype=object),
            index=inputs.index,
        )
        is_list = keys.map(lambda v: isinstance(v, list)).any()
        inputs[column] = _unshare_items(keys) if is_list else _unshare(keys)
    return inputs


def _unshare_items(lists: pd.Series, max_shared: int = MAX_SHARED) -> pd.Series:
    """Lists without the items held by more than `max_shared` records (an empty list -> None)."""
    items = lists.explode().dropna()
    shared = set(items.value_counts().loc[lambda c: c > max_shared].index)
    if not shared:
        return lists
    kept = lists.map(lambda v: [i for i in v if i not in shared] if isinstance(v, list) else None)
    return kept.map(lambda v: v or None).astype(object)


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

    def summary(self) -> dict[str, Any]:
        """The JSON line: records, clusters, seconds, and with a truth column precision, recall, f1."""
        out: dict[str, Any] = {"records": self.records, "clusters": self.clusters}
        if self.scores is not None:
            out |= {
                "precision": round(self.scores.precision, 4),
                "recall": round(self.scores.recall, 4),
                "f1": round(self.scores.f1, 4),
            }
        out["seconds"] = round(self.seconds, 2)
        return out


def _arrow_with_identifiers(
    entity: Entity, inputs: pd.DataFrame, identifiers: Sequence[ExtraIdentifier]
) -> pa.Table:
    table = as_arrow(entity, inputs)
    for identifier in identifiers:
        kind = pa.string() if identifier.split is None else pa.list_(pa.string())
        table = table.append_column(
            identifier.column, pa.array(inputs[identifier.column].to_numpy(dtype=object), kind)
        )
    return table


def _fit(
    entity: Entity,
    records: SplinkDataFrame,
    session: SplinkSession,
    identifiers: Sequence[ExtraIdentifier],
    say: Progress,
    *,
    max_pairs: int,
    seed: int,
) -> Linker:
    """Train on the file as the nightly model does, with what a file needs besides: leniently
    (what cannot be learned is skipped), EM without term frequencies, and u corrected for the
    duplicates among random pairs (module docstring)."""
    linker, _ = fit_registered(
        entity,
        records,
        session,
        extra_exact=identifiers,
        max_pairs=max_pairs,
        seed=seed,
        em_without_term_frequencies=True,
        lenient=True,
        say=lambda message: say(f"training: {message}"),
    )
    remove_matches_from_u(linker, say)
    return linker


# `remove_matches_from_u` never makes a level more than this many times stronger than the
# sampled u said (a factor of 20 is 4.3 bits): the correction rests on estimated m and prior.
MAX_U_CORRECTION = 20.0


def remove_matches_from_u(linker: Linker, say: Progress | None = None) -> None:
    """Take the true duplicates out of every u: u = (u_sampled - prior * m) / (1 - prior).

    u is sampled (or counted) over random pairs, and a random pair is a duplicate with
    probability `prior`, so what was measured is prior * m + (1 - prior) * u. In a CRM table
    the prior is tiny and this changes nothing; in a file where a few entities hold much of
    the rows (patstat: Philips holds 676 of 2,379, a random pair is a duplicate 1 time in 10)
    the agreement of duplicates made "same name" look common among non-duplicates and worth
    almost nothing.
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
            u, m = float(level.u_probability), float(level.m_probability)
            corrected = max((u - prior * m) / (1.0 - prior), u / MAX_U_CORRECTION)
            if corrected < u * 0.99:
                changed.append(
                    f"{comparison.output_column_name}: {level.label_for_charts} {u:.3g} -> {corrected:.3g}"
                )
            level._u_probability = corrected
    if changed and say is not None:
        say(
            f"training: u without the duplicates among random pairs (prior {prior:.3g}): "
            + "; ".join(changed)
        )


def dedupe_table(
    table: pd.DataFrame,
    entity: Entity | str,
    mapping: Mapping | None = None,
    *,
    threshold: float = AUTO_MERGE_THRESHOLD,
    truth_column: str | None = None,
    progress: Progress | None = None,
    max_pairs: int = DEFAULT_MAX_PAIRS,
    seed: int = DEFAULT_SEED,
    started: float | None = None,
) -> DedupeResult:
    """Cluster the rows of `table` (a file read by `read_table`) as records of `entity`.

    `mapping` defaults to `default_mapping(table.columns)`. `started` (a perf_counter value)
    lets a caller count reading the file into `seconds`.
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
    say("normalizing")
    inputs = file_match_input(mapped, entity)
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

    if warnings or len(inputs) < 2:
        pairs_best = pd.Series(dtype=float)
        labels = pd.Series(inputs["unique_id"].to_numpy(), index=inputs["unique_id"].to_numpy())
    else:
        labels, pairs_best = _match(
            entity, inputs, identifiers, threshold, say, max_pairs=max_pairs, seed=seed
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
    return DedupeResult(output, len(output), clusters, seconds, scores, tuple(warnings))


def _match(
    entity: Entity,
    inputs: pd.DataFrame,
    identifiers: Sequence[ExtraIdentifier],
    threshold: float,
    say: Progress,
    *,
    max_pairs: int,
    seed: int,
) -> tuple[pd.Series, pd.Series]:
    """Cluster label (Splink's) per record id, and each record's best match probability."""
    with SplinkSession() as session:
        # DuckDB draws progress bars on the terminal for long queries; progress is ours to report.
        session.con.execute("SET enable_progress_bar = false")
        records = session.register(
            _arrow_with_identifiers(entity, inputs, identifiers), f"{entity.value}_file"
        )
        linker = _fit(entity, records, session, identifiers, say, max_pairs=max_pairs, seed=seed)
        say("predicting")
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
        best = session.con.sql(
            "SELECT id, max(p) AS p FROM ("
            f"SELECT CAST(unique_id_l AS VARCHAR) AS id, match_probability AS p FROM {predictions.physical_name} "
            f"UNION ALL SELECT CAST(unique_id_r AS VARCHAR), match_probability FROM {predictions.physical_name}"
            ") GROUP BY id"
        ).df()
    return (
        pd.Series(labels["cluster"].to_numpy(), index=labels["id"].to_numpy()),
        pd.Series(best["p"].to_numpy(dtype=float), index=best["id"].to_numpy()),
    )


def _truth(table: pd.DataFrame, column: str, ids: pd.Series) -> pd.Series:
    """True entity labels by record id; every row needs one."""
    labels = cell_texts(table[column])
    if labels.isna().any():
        rows = _row_list(np.flatnonzero(labels.isna().to_numpy()))
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
    threshold: float = AUTO_MERGE_THRESHOLD,
    progress: Progress | None = None,
    write: bool = True,
) -> DedupeResult:
    """Read `path`, dedupe it (`dedupe_table`) and write the result to `output`.

    `output` defaults to `default_output(path)`; `write=False` skips writing (benchmarks).
    """
    started = time.perf_counter()
    entity = checked_entity(entity)
    target = Path(output) if output is not None else default_output(path)
    if write:
        file_format(target)
        if target.resolve() == Path(path).resolve():
            raise DedupeInputError(f"the output {str(target)!r} would overwrite the input")
    mapping = load_mapping(mapping_path, entity) if mapping_path is not None else None
    table = read_table(path)
    result = dedupe_table(
        table,
        entity,
        mapping,
        threshold=threshold,
        truth_column=truth_column,
        progress=progress,
        started=started,
    )
    if write:
        write_table(result.output, target)
        if progress:
            progress(f"wrote {target}")
    return result


def summary_line(result: DedupeResult) -> str:
    return json.dumps(result.summary())
