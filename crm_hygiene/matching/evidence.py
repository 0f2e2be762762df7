"""The evidence a merge proposal carries: the pairs inside its cluster, the link that brought
each loser in, do-not-link pairs it holds, and the survivorship values its merge writes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd


def ordered(left: pd.Series, right: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    a = left.astype(str).to_numpy(dtype=object)
    b = right.astype(str).to_numpy(dtype=object)
    swap = a > b
    return np.where(swap, b, a), np.where(swap, a, b)


def as_pair_keys(left: pd.Series, right: pd.Series) -> set[tuple[str, str]]:
    return set(zip(*ordered(left, right), strict=True))


def pairs_inside(pairs: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """Scored pairs whose two records share a review cluster, with that cluster."""
    of = members.set_index("record_id")["cluster"]
    if pairs.empty:
        return pd.DataFrame(
            columns=["unique_id_l", "unique_id_r", "match_probability", "explanation", "cluster"]
        )
    left = pairs["unique_id_l"].astype(str).map(of)
    right = pairs["unique_id_r"].astype(str).map(of)
    inside = pairs.loc[left.notna() & (left == right), ["unique_id_l", "unique_id_r", "match_probability"]]
    inside = inside.astype({"unique_id_l": str, "unique_id_r": str})
    explanation = (
        pairs["explanation"] if "explanation" in pairs.columns else pd.Series(None, index=pairs.index)
    )
    inside["explanation"] = explanation.loc[inside.index].to_numpy(dtype=object)
    inside["cluster"] = left.loc[inside.index].to_numpy(dtype=object)
    return inside.reset_index(drop=True)


def evidence(rows: pd.DataFrame, inside: pd.DataFrame) -> pd.DataFrame:
    """Per (survivor, loser): the pair survivor-loser when it was scored, else the loser's
    strongest pair inside the cluster (the link that brought it in), its probability and words."""
    both = pd.concat(
        [
            inside.rename(columns={"unique_id_l": "record", "unique_id_r": "other"}),
            inside.rename(columns={"unique_id_r": "record", "unique_id_l": "other"}),
        ],
        ignore_index=True,
    )
    direct = rows[["survivor_id", "loser_id"]].merge(
        both, left_on=["loser_id", "survivor_id"], right_on=["record", "other"], how="left"
    )
    strongest = (
        both.sort_values(
            ["record", "match_probability", "other"], ascending=[True, False, True], kind="stable"
        )
        .drop_duplicates("record")
        .set_index("record")
    )
    use_direct = direct["match_probability"].notna().to_numpy()
    fallback = strongest.reindex(rows["loser_id"].to_numpy())
    out = rows.copy()
    out["match_probability"] = np.where(
        use_direct,
        direct["match_probability"].to_numpy(dtype=float),
        fallback["match_probability"].to_numpy(dtype=float),
    )
    out["explanation"] = np.where(
        use_direct,
        direct["explanation"].to_numpy(dtype=object),
        fallback["explanation"].to_numpy(dtype=object),
    )
    other = np.where(
        use_direct, out["survivor_id"].to_numpy(dtype=object), fallback["other"].to_numpy(dtype=object)
    )
    out["evidence_pair"] = [f"{loser}~{o}" for loser, o in zip(out["loser_id"], other, strict=True)]
    return out


def clusters_holding(do_not_link: pd.DataFrame, members: pd.DataFrame) -> set[object]:
    """Review clusters that hold both records of a do-not-link pair (joined through others)."""
    if do_not_link.empty:
        return set()
    of = members.set_index("record_id")["cluster"]
    left = do_not_link["record_id_l"].astype(str).map(of)
    right = do_not_link["record_id_r"].astype(str).map(of)
    return set(left[left.notna() & (left == right)])


def _as_written(stored: pd.DataFrame) -> dict[tuple[str, str], str]:
    """(record id, field) -> the text a value was stored as, where it could not be kept typed
    as written (`raw_values`: few rows, so decoded one by one)."""
    if "raw_values" not in stored.columns:
        return {}
    raw = stored["raw_values"]
    present = raw[raw.notna() & (raw.astype(str) != "") & (raw.astype(str) != "{}")]
    out: dict[tuple[str, str], str] = {}
    for record_id, text in present.items():
        values = json.loads(text)
        if isinstance(values, dict):
            out.update({(str(record_id), str(k)): str(v) for k, v in values.items() if v is not None})
    return out


def stored_text(value: object) -> str | None:
    """A snapshot value as text to compare with the store later (timestamps as ISO instants)."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    text = str(value)
    return text if text != "" else None


def field_values(rows: pd.DataFrame, fields: pd.DataFrame, snapshot: pd.DataFrame) -> list[str]:
    """Per proposal row, the JSON list of survivorship values its merge carries.

    A value goes with the merge of the loser it came from (a union, or a value of the
    survivor, with the first loser), so unmerging one loser takes back what it brought.
    `old` is the survivor's stored value; `write` says whether the merge changes the field.
    """
    if fields.empty:
        return ["[]"] * len(rows)
    first_loser = rows.groupby("cluster")["loser_id"].min()
    losers = set(zip(rows["cluster"], rows["loser_id"], strict=True))
    stored = snapshot.set_index(snapshot["id"].astype(str))
    # A timestamp written another way ("26/10/2026") is typed in the snapshot but kept as
    # written in `raw_values`: the store still holds that text, which the merge must expect.
    as_written = _as_written(stored)
    by_row: dict[tuple[object, str], list[dict[str, object]]] = {}
    for item in fields.itertuples(index=False):
        owner = item.from_record_id if (item.cluster, item.from_record_id) in losers else None
        owner = owner or first_loser.get(item.cluster)
        if owner is None:
            continue
        old = as_written.get((item.survivor_id, item.field))
        if old is None:
            old = (
                stored_text(stored.at[item.survivor_id, item.field]) if item.field in stored.columns else None
            )
        by_row.setdefault((item.cluster, owner), []).append(
            {
                "field": item.field,
                "old": old,
                "new": item.value,
                "from": item.from_record_id,
                "rule": item.rule,
                "conflict": bool(item.conflict),
                "write": item.value != item.current_value,
            }
        )
    return [
        json.dumps(by_row.get((c, loser), []), ensure_ascii=False, sort_keys=True)
        for c, loser in zip(rows["cluster"], rows["loser_id"], strict=True)
    ]
