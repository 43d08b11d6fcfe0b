"""Money is Decimal. This is the one place it is rounded."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def to_cents(amount: Decimal) -> Decimal:
    """Round to the cent, half up (0.005 -> 0.01). Called once per amount, at the end."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"money must be Decimal, got {type(amount).__name__}")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)

# The platform bills in one currency: the catalogue's provider prices are in US dollars.
CURRENCY = "usd"
