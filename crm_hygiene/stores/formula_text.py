"""Cells a spreadsheet program would run as a formula: never introduced by this tool.

OWASP's CSV-injection guidance: a cell starting with `=`, `+`, `-`, `@`, a tab or a CR is
read by Excel, LibreOffice and Google Sheets as a formula (`=HYPERLINK(...)` sends data away,
`+14155550100` becomes a number). A value the tool proposes for a sheet is refused when it
starts so, unless the sheet already holds that exact text in the same column, or the
cell's current value starts so too: what a team wrote themselves is theirs; the tool adds
nothing a program would run. A plain signed number or international phone number
(`+44 20 7946 0000`, `-3`) is not refused: a spreadsheet reads it as a number, which runs
nothing, and refusing E.164 phones would stop every merge that keeps one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crm_hygiene.stores.changes import reject
from crm_hygiene.stores.protocol import Outcome

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Digits with the separators of a phone number, after the sign, and an extension as phones
# are normalized (`+16179366987;ext=727`): a number, not a formula.
_NUMBER = r"^[+-][\d\s().-]*\d(?:;ext=\d+|\s*(?:x|ext\.?)\s*\d+)?$"
REASON = "not written: a sheet cell starting with {!r} is run as a formula by spreadsheet programs"


def _starts_with_trigger(values: pd.Series) -> np.ndarray:
    text = values.astype(object)
    present = text.notna().to_numpy()
    found = np.zeros(len(text), dtype=bool)
    if present.any():
        values = text[present].astype(str)
        found[present] = (values.str.startswith(TRIGGERS) & ~values.str.match(_NUMBER)).to_numpy()
    return found


def refuse_formula_text(judged: pd.DataFrame, sheets: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Changes about to be applied that would put new formula-like text in a sheet are rejected.

    `sheets` maps entity to the sheet's current rows (all text), for the values it already holds."""
    if judged.empty:
        return judged
    todo = (judged["outcome"] == Outcome.APPLIED.value).to_numpy() & _starts_with_trigger(judged["new_value"])
    todo &= ~_starts_with_trigger(judged["current_value"])
    if not todo.any():
        return judged
    refused = np.zeros(len(judged), dtype=bool)
    candidates = judged[todo]
    for (entity, field), part in candidates.groupby(["entity", "field"], sort=False):
        sheet = sheets.get(str(entity))
        held = set(sheet[field].astype(str)) if sheet is not None and field in sheet.columns else set()
        new = ~part["new_value"].astype(str).isin(held)
        refused[judged.index.get_indexer(part.index[new.to_numpy()])] = True
    return reject(judged, refused, [REASON.format(str(v)[0]) for v in judged.loc[refused, "new_value"]])
