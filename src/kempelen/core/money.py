"""Money as integer cents. Decimal strings like ``"0.50"`` exist only at the API and page edges."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

from .errors import InvalidParameter

AMOUNT = re.compile(r"^[0-9]+(\.)?[0-9]{0,2}$")


def parse_amount(text: str, *, field: str = "Reward") -> int:
    """``"5"`` → 500, ``"0.1"`` → 10, ``"0.10"`` → 10. Anything else is refused."""
    if not isinstance(text, str) or not AMOUNT.match(text):
        raise InvalidParameter(
            f"{field} must be an amount in US dollars with at most two decimals, such as \"0.50\"; got {text!r}."
        )
    whole, _, frac = text.partition(".")
    cents = int(whole) * 100 + int((frac + "00")[:2])
    if cents > 10**12:
        raise InvalidParameter(f"{field} is too large.")
    return cents


def format_cents(cents: int) -> str:
    """500 → ``"5.00"``; negative amounts keep their sign."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def percent_of(cents: int, percent: int | Decimal) -> int:
    """``percent``% of ``cents``, rounded half-up to the cent ($0.105 → $0.11), as MTurk's pricing did."""
    return int((Decimal(cents) * Decimal(percent) / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def fee_percent(max_assignments: int, *, masters: bool) -> Decimal:
    """The commission rate on a reward: the base fee, the surcharge for 10+ assignments, the Masters fee."""
    rate = Decimal(str(settings.KEMPELEN["FEE_PERCENT"]))
    if max_assignments >= 10:
        rate += Decimal(str(settings.KEMPELEN["LARGE_HIT_SURCHARGE_PERCENT"]))
    if masters:
        rate += Decimal(str(settings.KEMPELEN["MASTERS_FEE_PERCENT"]))
    return rate


def _with_minimum(fee: int, amount: int) -> int:
    minimum = int(str(settings.KEMPELEN["MINIMUM_FEE_CENTS"]))
    return max(fee, minimum) if amount > 0 else fee


def reward_fee(reward_cents: int, max_assignments: int, *, masters: bool) -> int:
    """The commission charged on one approved assignment."""
    return _with_minimum(percent_of(reward_cents, fee_percent(max_assignments, masters=masters)), reward_cents)


def bonus_fee(bonus_cents: int) -> int:
    """The commission charged on a bonus (the 10+ assignment surcharge never applies to bonuses)."""
    rate = Decimal(str(settings.KEMPELEN["FEE_PERCENT"]))
    return _with_minimum(percent_of(bonus_cents, rate), bonus_cents)
