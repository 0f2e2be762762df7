"""Masking of personal data for logs, metadata, the audit command and printed feeds.

One rule everywhere: a value of a field the policy names as PII is masked whole
(`mask_field_value`); any other text has the e-mail addresses and phone numbers inside it
masked (`mask_pii`); nested evidence is walked (`mask_nested`). Record ids, run ids, dates
and timestamps stay readable: they are how a reader finds the record, and are not personal.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*(@[A-Za-z0-9.-]+)")
# Seven or more digits, allowing the usual separators: long enough to be a phone number. Not
# inside a word (record ids such as C0001234, run ids such as 7be67306-89a7-...).
_PHONE = re.compile(r"(?<![\w.:/-])\+?\d[\d\s().-]{5,}\d(?![\w:])")
# A date or timestamp, which the phone pattern would otherwise take for digits.
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{2}[./-]\d{2}[./-]\d{4}")


def _mask_phone(match: re.Match[str]) -> str:
    text = match.group(0)
    if _DATE.match(text.lstrip("+(")):
        return text
    digits = [c for c in text if c.isdigit()]
    if len(digits) < 7:
        return text
    keep = 2
    masked, seen = [], 0
    for char in text:
        if char.isdigit():
            seen += 1
            masked.append(char if seen > len(digits) - keep else "•")
        else:
            masked.append(char)
    return "".join(masked)


def mask_pii(value: object) -> object:
    """Emails keep their first letter and domain; phone numbers their last two digits."""
    if not isinstance(value, str):
        return value
    return _PHONE.sub(_mask_phone, _EMAIL.sub(r"\1•••\2", value))


def mask_field_value(value: object) -> object:
    """A value of a field the policy names as PII: e-mails and phones as above, any other text
    (a name, say) keeps its first character only."""
    masked = mask_pii(value)
    if isinstance(value, str) and masked == value and value:
        return value[0] + "•" * min(len(value) - 1, 8)
    return masked


# Keys under which evidence holds a value of the field named beside it (`{"field": "email",
# "old": ..., "new": ...}`), or of the record field the entry is about.
_VALUE_KEYS = frozenset({"old", "new", "before", "after", "value", "values", "current", "proposed"})


def mask_nested(value: Any, pii_fields: Collection[str], field: str | None = None) -> Any:
    """`value` (evidence: dicts, lists, text) with every PII value masked.

    A key that is a PII field masks everything under it as that field's value; a dict that
    names its field (`"field": "phone"`) masks its value keys (old, new, ...) the same way;
    any other text has e-mails and phones inside it masked."""
    if isinstance(value, dict):
        named = value.get("field")
        here = named if isinstance(named, str) else field
        out = {}
        for key, item in value.items():
            if key in pii_fields or (key in _VALUE_KEYS and here in pii_fields):
                out[key] = _mask_all(item)
            else:
                out[key] = mask_nested(item, pii_fields, here if key in _VALUE_KEYS else None)
        return out
    if isinstance(value, list | tuple):
        return [mask_nested(item, pii_fields, field) for item in value]
    return mask_pii(value)


def _mask_all(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _mask_all(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_all(item) for item in value]
    return mask_field_value(value)


class MaskedError(RuntimeError):
    """An error whose text, or the text of an error it was raised from, held personal data:
    raised in its place with the data masked and the original's traceback, the original
    left out (a database's "Failing row contains (...)" would otherwise reach every log)."""


def masked_error(exc: BaseException) -> MaskedError | None:
    """`exc` as a `MaskedError` when its message or a message of its chain (cause, context)
    holds an e-mail or phone number; None when nothing needed masking."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or (None if seen.__suppress_context__ else seen.__context__)
    texts = [str(e) for e in chain]
    masked = [str(mask_pii(t)) for t in texts]
    if masked == texts:
        return None
    message = masked[0]
    # A cause's message holds what the top one does not (the database's own words): keep it, masked.
    for error, text in zip(chain[1:], masked[1:], strict=True):
        if text and text not in message:
            # On one line: a run's summary shows a failure's first line only.
            message += f" (from {type(error).__name__}: {' '.join(text.split())})"
    return MaskedError(message)
