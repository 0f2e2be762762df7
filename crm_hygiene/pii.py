"""Masking of emails and phone numbers for logs, metadata and printed feeds."""

from __future__ import annotations

import re

_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*(@[A-Za-z0-9.-]+)")
# Seven or more digits, allowing the usual separators: long enough to be a phone number.
_PHONE = re.compile(r"\+?\d[\d\s().-]{5,}\d")


def _mask_phone(match: re.Match[str]) -> str:
    text = match.group(0)
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
