"""Standardization proposals: one per field whose canonical value differs from the stored one."""

from __future__ import annotations

import pandas as pd

from crm_hygiene.ledger import ChangeKind
from crm_hygiene.ledger.change_id import make_change_ids

PROPOSAL_COLUMNS: tuple[str, ...] = (
    "change_id",
    "tenant",
    "entity",
    "record_id",
    "field",
    "old_value",
    "new_value",
    "rule",
    "confidence",
    "expected_version",
)


def field_proposals(
    tenant: str,
    entity: str,
    snapshot: pd.DataFrame,
    field: str,
    result: pd.DataFrame,
    *,
    old_values: pd.Series | None = None,
) -> pd.DataFrame:
    """Rows where the normalizer changed a valid value (`rule` set); `result` is indexed like `snapshot`.

    `old_values` replaces the snapshot's column as the stored value (for typed fields whose
    stored text the snapshot kept aside).
    """
    stored = snapshot[field] if old_values is None else old_values
    changed = result["rule"].notna() & result["valid"].fillna(False).astype(bool) & result["value"].notna()
    if not changed.any():
        return pd.DataFrame(columns=list(PROPOSAL_COLUMNS))
    rows = result.index[changed]
    frame = pd.DataFrame(
        {
            "tenant": tenant,
            "entity": entity,
            "record_id": snapshot.loc[rows, "id"].to_numpy(dtype=object),
            "field": field,
            "old_value": stored.loc[rows].to_numpy(dtype=object),
            "new_value": result.loc[rows, "value"].to_numpy(dtype=object),
            "rule": result.loc[rows, "rule"].to_numpy(dtype=object),
            "confidence": result.loc[rows, "confidence"].astype(float).to_numpy(),
            "expected_version": snapshot.loc[rows, "version"].astype("Int64").to_numpy(),
        }
    )
    # The id names the change, not the run: the same fix proposed again is the same proposal.
    frame.insert(0, "change_id", make_change_ids(frame.assign(kind=ChangeKind.STANDARDIZE.value)))
    return frame[list(PROPOSAL_COLUMNS)]
