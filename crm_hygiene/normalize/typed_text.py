"""Text as people paste it into a CRM field: blanks, control characters and decomposed letters.

Shared by the normalizers of free-text fields (names, titles), each naming its own rule for
each kind of repair so the proposal says which field's rule fired.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TypeVar

Step = TypeVar("Step")

# Anything but printable ASCII, or blanks at the ends or doubled, needs the slow clean-up.
NEEDS_CLEANING = re.compile(r"[^\x21-\x7e ]|^ | $|  ")
_SPACES = re.compile(r" +")


def tidy(raw: str, *, unicode: Step, control: Step, whitespace: Step) -> tuple[str, list[Step]]:
    """The text in composed (NFC) form, without control or format characters, with single blanks
    and no blanks at the ends; and the steps that changed it, in the order they applied."""
    if not NEEDS_CLEANING.search(raw):
        return raw, []
    steps: list[Step] = []
    text = unicodedata.normalize("NFC", raw)
    if text != raw:
        steps.append(unicode)
    kept: list[str] = []
    for ch in text:
        category = unicodedata.category(ch)
        if ch in " \t\n\r" or category in ("Zs", "Zl", "Zp"):
            kept.append(" ")
        elif category == "Cc" or (category == "Cf" and ch not in "\u200c\u200d"):
            # Zero-width joiners shape Indic and Persian letters; every other format or control
            # character is pasted along from a PDF, a terminal or a web page.
            if control not in steps:
                steps.append(control)
        else:
            kept.append(ch)
    spaced = "".join(kept)
    collapsed = _SPACES.sub(" ", spaced).strip()
    if collapsed != spaced:
        steps.append(whitespace)
    return collapsed, steps
