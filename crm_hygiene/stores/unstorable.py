"""Text a store cannot hold: NUL in PostgreSQL, control characters in an XLSX cell.

Such a value is never cut short or dropped in silence. A change that would write one is
rejected with the reason (the value stays in the ledger's proposal). A record inserted with
one (a CRM export, the demo) is stored with U+FFFD in place of each such character, flagged
`text_replaced:<field>`, and reported, so the caller keeps the original in the ledger.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crm_hygiene.model import Entity, Status
from crm_hygiene.stores.changes import reject
from crm_hygiene.stores.operations import parse_flags
from crm_hygiene.stores.protocol import REPLACED_COLUMNS, Outcome, StoreError

REPLACEMENT = "\ufffd"
FLAG_PREFIX = "text_replaced:"


@dataclass(frozen=True)
class Unstorable:
    """What a store cannot hold, and why, in words for a rejected change."""

    pattern: re.Pattern[str]
    reason: str


POSTGRESQL_NUL = Unstorable(re.compile("\x00"), "PostgreSQL text cannot hold NUL (0x00)")
# openpyxl's own test for characters XML 1.0 forbids.
WORKBOOK_CONTROL = Unstorable(
    re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]"), "a workbook cell cannot hold control characters"
)


def _matches(values: pd.Series, rule: Unstorable) -> np.ndarray:
    text = values.astype(object)
    present = text.notna().to_numpy()
    found = np.zeros(len(text), dtype=bool)
    if present.any():
        found[present] = text[present].astype(str).str.contains(rule.pattern, regex=True).to_numpy()
    return found


def refuse_unstorable(judged: pd.DataFrame, rule: Unstorable | None) -> pd.DataFrame:
    """Changes about to be applied whose new value the store cannot hold are rejected."""
    if rule is None or judged.empty:
        return judged
    todo = (judged["outcome"] == Outcome.APPLIED.value).to_numpy()
    return reject(judged, todo & _matches(judged["new_value"], rule), f"not written: {rule.reason}")


def replace_unstorable(
    entity: Entity, frame: pd.DataFrame, rule: Unstorable | None, *, where: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """New records with each unstorable character replaced and the record flagged; and the
    replaced values (REPLACED_COLUMNS). An id is never altered: one that holds such a
    character is an error naming the record."""
    empty = pd.DataFrame(columns=REPLACED_COLUMNS)
    if rule is None or frame.empty:
        return frame, empty
    bad_ids = _matches(frame["id"], rule)
    if bad_ids.any():
        shown = frame["id"][bad_ids].iloc[0]
        raise StoreError(f"{where}: {entity} id {shown!r} cannot be stored: {rule.reason}")
    out = frame.copy()
    found: list[pd.DataFrame] = []
    codes = pd.Series([[] for _ in range(len(out))], index=out.index, dtype=object)
    for column in out.columns:
        if column in ("id", "flags") or out[column].dtype != object:
            continue
        hits = _matches(out[column], rule)
        if not hits.any():
            continue
        original = out.loc[hits, column].astype(str)
        stored = original.str.replace(rule.pattern, REPLACEMENT, regex=True)
        out.loc[hits, column] = stored
        found.append(
            pd.DataFrame(
                {
                    "entity": entity.value,
                    "record_id": out.loc[hits, "id"].astype(str),
                    "field": column,
                    "original": original,
                    "stored": stored,
                }
            )
        )
        for position in np.flatnonzero(hits):
            codes.iat[position] = [*codes.iat[position], f"{FLAG_PREFIX}{column}"]
    if not found:
        return frame, empty
    flagged = codes.map(bool)
    out.loc[flagged, "flags"] = [
        json.dumps(list(dict.fromkeys([*parse_flags(flags), *new])))
        for flags, new in zip(out.loc[flagged, "flags"], codes[flagged], strict=True)
    ]
    # As `flag` does: an active record becomes flagged; a merged one stays merged.
    active = flagged & (out["status"] == Status.ACTIVE.value)
    out.loc[active, "status"] = Status.FLAGGED.value
    return out, pd.concat(found, ignore_index=True)[REPLACED_COLUMNS]
