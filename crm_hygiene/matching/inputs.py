"""The columns the matcher compares, derived from a normalized frame (`crm_hygiene.normalize.records`).

`match_input(entity, frame)` keeps one row per live record (`status` other than `merged`:
a merged-away record is no longer a candidate) with `unique_id` (the record id) and only the
comparison columns, each already in the form its comparison needs, so the Splink settings stay
plain column comparisons that any SQL backend can run.

Contacts: `email_key` (provider-aware key; NULL for invalid and role addresses: info@ or
sales@ is a team, not a person, so it never counts as identity), `email_local` (its local
part), `email_handle` (the local part when it is more than the person's name: "leah89",
not "jane.doe"), `first_name_key` / `last_name_key` (nickname-aware), `phone` (E.164),
`company_id` / `company_key` / `company_domain` (the domain of a work address; free-mail
domains are already NULL there, so two gmail users share nothing by domain), `title` and
`city` (lower case), and the address columns below.

Companies: `name_key`, `name_tokens` (array of words without legal form or stop words),
`name_rarest_token` (the word of the name held by the fewest records of the table, so that
"Vexvexzo Consulting" is matched on "vexvexzo", never on "consulting"), `name_other_tokens`
(the name's other words: a typo in the rarest word leaves them alike), `name_grams` (the
letter trigrams of the words as a bit signature, `name_grams`), `website`, `phone`,
`postcode`, `postcode_head` (the part before the first blank or hyphen: "06744" of
"06744-8606", "AB7E" of "AB7E 0SG"), `street_number` and `street_key` (the house number
and the street's words run together, `normalize.addresses.street_key`), `city`, `country`.

Two columns depend on the whole table, not on the record alone: the rarest token, and the
guard on shared values: an identity value (e-mail key, phone, website, rarest token) held by
more than `max_shared` records is a placeholder, a switchboard or a generic word, not an
identity, and it would make its blocking group quadratic; it is set NULL. Both are computed
over exactly the records passed in, so incremental matching passes existing and new records
together (see `predict.predict_new`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa

from crm_hygiene.matching.name_grams import signatures
from crm_hygiene.model.records import Entity, Status

# Part of every settings fingerprint: bump it whenever a column below changes meaning, so that
# parameters trained on the old inputs are refused rather than silently misapplied.
INPUT_VERSION = 5

# Above this many records one value is not an identity (see the module docstring). A block of
# n records costs n*(n-1)/2 comparisons: 1,000 records are 0.5 M pairs, still cheap.
MAX_SHARED = 1000

_STRING = pa.string()
MATCH_COLUMNS: dict[Entity, dict[str, pa.DataType]] = {
    Entity.CONTACT: {
        "unique_id": _STRING,
        "email_key": _STRING,
        "email_local": _STRING,
        "email_handle": _STRING,
        "first_name_key": _STRING,
        "last_name_key": _STRING,
        "phone": _STRING,
        "company_id": _STRING,
        "company_key": _STRING,
        "company_domain": _STRING,
        "title": _STRING,
        "city": _STRING,
        "postcode": _STRING,
        "postcode_head": _STRING,
        "street_number": _STRING,
        "street_key": _STRING,
        "first_name_guard": _STRING,
    },
    Entity.COMPANY: {
        "unique_id": _STRING,
        "name_key": _STRING,
        "name_tokens": pa.list_(_STRING),
        "name_rarest_token": _STRING,
        "name_other_tokens": _STRING,
        "name_grams": pa.list_(pa.int64()),
        "name_guard_key": _STRING,
        "name_guard_tokens": pa.list_(_STRING),
        "website": _STRING,
        "phone": _STRING,
        "postcode": _STRING,
        "postcode_head": _STRING,
        "street_number": _STRING,
        "street_key": _STRING,
        "site_number": _STRING,
        "site_key": _STRING,
        "city": _STRING,
        "country": _STRING,
    },
}

# The normalized columns each entity's input is built from.
SOURCE_COLUMNS: dict[Entity, tuple[str, ...]] = {
    Entity.CONTACT: (
        "id",
        "status",
        "email_key",
        "email_valid",
        "email_is_role",
        "first_name_key",
        "last_name_key",
        "phone_e164",
        "company_id",
        "company_key",
        "company_domain",
        "title",
        "city",
        "postcode",
        "street_number",
        "street_key",
    ),
    Entity.COMPANY: (
        "id",
        "status",
        "name_key",
        "name_tokens",
        "website",
        "phone_e164",
        "postcode",
        "street_number",
        "street_key",
        "city",
        "country",
    ),
}


def match_input(
    entity: Entity, frame: pd.DataFrame, *, max_shared: int = MAX_SHARED, include_merged: bool = False
) -> pd.DataFrame:
    """The comparison columns of every live record of `frame` (a normalized frame of `entity`).

    `include_merged` keeps the records merged away too: training wants them, because they
    are known duplicates of their survivors, and a CRM cleaned by earlier runs would
    otherwise hold too few duplicate pairs to learn from.
    """
    entity = Entity(entity)
    if entity not in MATCH_COLUMNS:
        raise ValueError(f"no matching is defined for {entity.value} records")
    missing = [c for c in SOURCE_COLUMNS[entity] if c not in frame.columns]
    if missing:
        raise ValueError(
            f"match_input({entity.value}): the frame lacks {missing}; pass the frame of "
            "crm_hygiene.normalize.records.normalize_tenant / normalize_contacts / normalize_companies"
        )
    live = frame if include_merged else frame[frame["status"].astype(object) != Status.MERGED.value]
    if live["id"].isna().any():
        raise ValueError(f"match_input({entity.value}): {int(live['id'].isna().sum())} record(s) have no id")
    if live["id"].duplicated().any():
        dupes = live.loc[live["id"].duplicated(), "id"].head(5).tolist()
        raise ValueError(f"match_input({entity.value}): record ids must be unique, e.g. {dupes} repeat")
    build = _contact_input if entity is Entity.CONTACT else _company_input
    out = build(live.reset_index(drop=True), max_shared)[list(MATCH_COLUMNS[entity])]
    # One missing-value marker everywhere: None (pandas' where() leaves NaN in object columns).
    return out.astype(object).where(out.notna(), None)


def is_match_input(entity: Entity, frame: pd.DataFrame) -> bool:
    """Whether `frame` is already a match input (has `unique_id` and every comparison column)."""
    return "unique_id" in frame.columns and all(c in frame.columns for c in MATCH_COLUMNS[Entity(entity)])


def ensure_match_input(entity: Entity, frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` itself when it is a match input, else `match_input(entity, frame)`.

    Lets callers that match one table several times (train, then predict) derive it once.
    """
    if "unique_id" in frame.columns:
        missing = [c for c in MATCH_COLUMNS[Entity(entity)] if c not in frame.columns]
        if missing:
            raise ValueError(f"a match input for {Entity(entity).value} records lacks {missing}")
        return frame
    return match_input(entity, frame)


def as_arrow(entity: Entity, inputs: pd.DataFrame) -> pa.Table:
    """`inputs` (from `match_input`) as an Arrow table with the declared types.

    DuckDB reads an all-NULL pandas object column as type NULL, on which string functions
    fail; a declared schema keeps every column typed whatever the values.
    """
    schema = pa.schema(list(MATCH_COLUMNS[Entity(entity)].items()))
    return pa.Table.from_pandas(inputs[schema.names], schema=schema, preserve_index=False)


# --- contacts -------------------------------------------------------------------------------------


def _contact_input(frame: pd.DataFrame, max_shared: int) -> pd.DataFrame:
    valid = frame["email_valid"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    role = frame["email_is_role"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    email_key = _text(frame["email_key"]).where(valid & ~role)
    email_key = _unshare(email_key, max_shared)
    local = _text(email_key.str.extract(r"^(.*)@[^@]*$", expand=False))
    first = _text(frame["first_name_key"], lower=True)
    last = _text(frame["last_name_key"], lower=True)
    return pd.DataFrame(
        {
            "unique_id": frame["id"].astype(str),
            "email_key": email_key,
            "email_local": local,
            "email_handle": local.where(_is_handle(local, first, last), None),
            "first_name_key": first,
            "last_name_key": last,
            # The same names for the levels that ask "do two people share this?"
            # (`settings.shared_by_others`): under its own name, so that EM on a block of
            # the first name still trains the comparisons that ask it.
            "first_name_guard": first,
            "phone": _unshare(_text(frame["phone_e164"]), max_shared),
            "company_id": _text(frame["company_id"]),
            "company_key": _text(frame["company_key"], lower=True),
            "company_domain": _text(frame["company_domain"], lower=True),
            "title": _text(frame["title"], lower=True),
            "city": _text(frame["city"], lower=True),
            **_address(frame),
        }
    )


def _is_handle(local: pd.Series, first: pd.Series, last: pd.Series) -> pd.Series:
    """Whether a mailbox name says more than the person's name: it has digits, or it provably
    holds neither the first nor the last name ("leah89", "bluefox"; not "jthomas", "jane.doe").

    A name-made mailbox shared at two domains only repeats what the name comparisons already
    count; counting it again made namesakes at different companies look like one person.
    A name that cannot be checked against the mailbox (no Latin letters: 聡太郎 and
    "sotaro.fujiwara") proves nothing, so such a mailbox is not a handle.
    """
    letters = _ascii_letters(local)
    has_digit = local.str.contains(r"[0-9]", regex=True, na=False).to_numpy(dtype=bool)
    holds_name = np.zeros(len(local), dtype=bool)
    checked = np.zeros(len(local), dtype=bool)
    for name in (first, last):
        part = _ascii_letters(name)
        usable = (part.str.len().ge(3).fillna(False) & letters.notna()).to_numpy(dtype=bool)
        if usable.any():
            contained = [p in whole for p, whole in zip(part[usable], letters[usable], strict=True)]
            holds_name[usable] |= np.asarray(contained, dtype=bool)
            checked |= usable
    handle = has_digit | (checked & ~holds_name)
    return local.notna() & pd.Series(handle, index=local.index)


def _ascii_letters(values: pd.Series) -> pd.Series:
    """Lower-case a-z only, accents folded ("Léger" -> "leger"); None stays None."""

    def fold(distinct: pd.Series) -> pd.Series:
        folded = distinct.str.normalize("NFKD").str.lower()
        return folded.str.replace(r"[^a-z]+", "", regex=True)

    return _per_value(values, fold)


# --- companies ------------------------------------------------------------------------------------


def _company_input(frame: pd.DataFrame, max_shared: int) -> pd.DataFrame:
    tokens = _token_lists(frame["name_tokens"])
    rarest, others = rarest_and_other_tokens(tokens)
    name_key = _text(frame["name_key"], lower=True)
    return pd.DataFrame(
        {
            "unique_id": frame["id"].astype(str),
            "name_key": name_key,
            "name_tokens": tokens,
            "name_rarest_token": _unshare(rarest, max_shared),
            "name_other_tokens": others,
            "name_grams": signatures(tokens),
            # The name again for `settings.shared_by_other_names`, under its own column names
            # so that EM on a block of the name still trains the phone comparison that asks it.
            "name_guard_key": name_key,
            "name_guard_tokens": tokens,
            "website": _unshare(_text(frame["website"], lower=True), max_shared),
            "phone": _unshare(_text(frame["phone_e164"]), max_shared),
            **_address(frame),
            **_sites(frame),
            "city": _text(frame["city"], lower=True),
            "country": _text(frame["country"], upper=True),
        }
    )


def _address(frame: pd.DataFrame) -> dict[str, pd.Series]:
    """Postcode, its head, and the street line's number and key (`addresses.street_key`)."""
    postcode = _text(frame["postcode"], upper=True)
    return {
        "postcode": postcode,
        "postcode_head": postcode.str.extract(r"^([^ \-]+)", expand=False),
        "street_number": _text(frame["street_number"], lower=True),
        "street_key": _text(frame["street_key"], lower=True),
    }


def _sites(frame: pd.DataFrame) -> dict[str, pd.Series]:
    """The street columns again, for `settings.shared_across_sites`: under their own names, so
    that EM on the street block still trains the phone comparison that asks them."""
    return {
        "site_number": _text(frame["street_number"], lower=True),
        "site_key": _text(frame["street_key"], lower=True),
    }


def _token_lists(values: pd.Series) -> pd.Series:
    """Space-joined tokens -> sorted lists of distinct lower-case tokens; none -> NULL."""
    text = _text(values, lower=True)
    lists = text.str.split().map(lambda ts: sorted(set(ts)) if isinstance(ts, list) and ts else None)
    return lists.astype(object)


def rarest_tokens(tokens: pd.Series) -> pd.Series:
    """Per row, the token with the lowest document frequency over all rows (ties: alphabetical)."""
    return rarest_and_other_tokens(tokens)[0]


def rarest_and_other_tokens(tokens: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Per row, the rarest token (as `rarest_tokens`) and the row's other tokens, sorted and
    space-joined (None when none is left, or one of fewer than four letters).

    The other tokens are a blocking key for a typo: a mistyped word is a word few records
    hold, so it is the rarest of its name, and the rest of the name stays as it was
    ("electronics koninkl philips" and "electronics konink philips" both leave
    "electronics philips").

    Set-based: one explode, one count per token, one sort, so it stays linear in the number of
    tokens however many records there are.
    """
    exploded = tokens.explode().dropna()
    if exploded.empty:
        nothing = pd.Series([None] * len(tokens), index=tokens.index, dtype=object)
        return nothing, nothing.copy()
    # Lists hold distinct tokens, so a token's count is the number of records naming it.
    document_frequency = exploded.map(exploded.value_counts())
    ranked = pd.DataFrame(
        {"token": exploded.to_numpy(), "df": document_frequency.to_numpy()}, index=exploded.index
    )
    ranked = ranked.rename_axis("row").sort_values(["row", "df", "token"], kind="stable")
    firsts = ~ranked.index.duplicated(keep="first")
    rarest = ranked[firsts]["token"]
    others = ranked[~firsts].sort_values(["row", "token"], kind="stable")
    grouped = others.groupby(level="row", sort=False)["token"]
    # One short word left is no key: "honeywell v" and "unilever v" would both leave "v". One
    # word of four letters or more is: "vexvexzq widgets" leaves "widgets", as "vexvexzo
    # widgets" does (`blocking` counts the pairs before the key is used).
    joined = grouped.agg(" ".join)
    rest = joined[(grouped.size() >= 2) | (joined.str.len() >= 4)]
    return (
        rarest.reindex(tokens.index).astype(object).where(lambda s: s.notna(), None),
        rest.reindex(tokens.index).astype(object).where(lambda s: s.notna(), None),
    )


# --- helpers --------------------------------------------------------------------------------------


def _per_value(values: pd.Series, transform: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """`transform` applied once per distinct value, not per row: a million contacts hold a few
    thousand cities and first names, so string methods run on those only. Missing values stay
    missing (None) and are not passed to `transform`."""
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    done = transform(pd.Series(np.asarray(uniques, dtype=object), dtype=object)).astype(object)
    done = done.where(done.notna(), None).to_numpy(dtype=object)
    out = np.full(len(values), None, dtype=object)
    present = codes >= 0
    out[present] = done[codes[present]]
    return pd.Series(out, index=values.index, dtype=object)


def _text(values: pd.Series, *, lower: bool = False, upper: bool = False) -> pd.Series:
    """Strings stripped of surrounding blanks (cased as asked); empty or missing -> None."""
    return _per_value(values, lambda distinct: _text_of(distinct, lower=lower, upper=upper))


def _text_of(values: pd.Series, *, lower: bool, upper: bool) -> pd.Series:
    text = values.astype(object).where(values.notna(), None)
    present = text.notna()
    if present.any():
        cleaned = text[present].astype(str).str.strip()
        if lower:
            cleaned = cleaned.str.lower()
        if upper:
            cleaned = cleaned.str.upper()
        text = text.copy()
        text[present] = cleaned
    return text.where(text.notna() & (text != ""), None).astype(object)


def _unshare(values: pd.Series, max_shared: int) -> pd.Series:
    """NULL for every value held by more than `max_shared` rows (see the module docstring)."""
    counts = values.map(values.value_counts(dropna=True))
    shared = counts.to_numpy(dtype=float, na_value=np.nan) > max_shared
    return values.where(~shared, None).astype(object)
