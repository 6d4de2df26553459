"""Check digits of the demo's identifiers: MPAN cores (the 13-digit supply number) and LEIs
(ISO 17442, check digits by ISO 7064 MOD 97-10)."""

from __future__ import annotations

MPAN_WEIGHTS = (3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43)


def mpan_check_digit(first12: str) -> int:
    """The MPAN core check digit for its first 12 digits.

    >>> mpan_check_digit("101234567890")
    3
    """
    return sum(int(d) * w for d, w in zip(first12, MPAN_WEIGHTS, strict=True)) % 11 % 10


def mpan_core(distributor: int, body: int) -> str:
    """The 13-digit MPAN core for a distributor ID and a 10-digit body."""
    first12 = f"{distributor:02d}{body:010d}"
    return first12 + str(mpan_check_digit(first12))


def lei_check_digits(first18: str) -> str:
    """The two ISO 7064 MOD 97-10 check digits that complete an LEI (computed as for an IBAN)."""
    number = int("".join(str(int(c, 36)) for c in first18.upper() + "00"))
    return f"{98 - number % 97:02d}"


def is_valid_lei(lei: str) -> bool:
    """Whether a 20-character LEI's check digits hold.

    >>> is_valid_lei("5493001KJTIIGC8Y1R12")
    True
    """
    if len(lei) != 20 or not (lei.isascii() and lei.isalnum()):
        return False
    return int("".join(str(int(c, 36)) for c in lei.upper())) % 97 == 1
