"""Legal identifiers of organisations, each in one spelling: Companies House numbers and LEIs."""

from __future__ import annotations

import re


def normalise_company_number(value: str) -> str:
    """One spelling of a Companies House number.

    >>> normalise_company_number(" 123 4567 "), normalise_company_number("sc-12345")
    ('01234567', 'SC012345')
    """
    compact = re.sub(r"[\s.\-]+", "", value).upper()
    if compact.isdigit() and len(compact) < 8:
        return compact.zfill(8)
    prefixed = re.fullmatch(r"([A-Z][A-Z0-9])([0-9]{1,5})", compact)
    if prefixed:
        return prefixed.group(1) + prefixed.group(2).zfill(6)
    return compact


def normalise_lei(value: str) -> str:
    """>>> normalise_lei(" 5493 001kjtiigc8y1r12 ")
    '5493001KJTIIGC8Y1R12'
    """
    return re.sub(r"[\s\-]+", "", value).upper()
