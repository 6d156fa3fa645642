"""Exchange rates the tests know, in one place.

- `KNOWN`: USD-based rates for every shop currency, stored through the shop's own
  `rate_services.store_rates` by `store_rates(...)` or the `known_rates` fixture (the
  database, the cache and the staleness checks all see them as they would a feed's).
- `SEED` and `seeded_rates`: the months-old demo rates a database used to start with.
- `TEST_RATES` and `fixed_rates`: `currencies.rates` monkeypatched to answer from a small table
  without the database, so conversion and rounding are known.

Fixtures registered for the whole suite in tests/conftest.py (`pytest_plugins`)."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from currencies import rates
from currencies import services as rate_services
from shop.errors import UnsupportedCurrency
from currencies.providers import RateQuote

KNOWN = {
    "EUR": "0.9215", "GBP": "0.7890", "JPY": "151.37", "CAD": "1.3650",
    "AUD": "1.5123", "CHF": "0.8812", "SEK": "10.4567", "KWD": "0.3075",
}

# What a database had before its first refresh while the shop seeded demo rates in a
# migration: the demo rates, months old. Tests of refreshes and stale-rate alerts start
# from it (a refresh must keep KWD on it when the ECB has no KWD, and call it stale).
SEEDED_AT = datetime(2026, 1, 1, tzinfo=UTC)
SEED = {
    "EUR": "0.8874", "GBP": "0.7532", "JPY": "158.09", "CAD": "1.4250",
    "AUD": "1.4322", "CHF": "0.8305", "SEK": "9.9765", "KWD": "0.3071",
}

TEST_RATES = {"USD": Decimal("1"), "EUR": Decimal("0.9"), "JPY": Decimal("151.237"), "KWD": Decimal("0.30701")}


def store_rates(table: dict[str, str | Decimal], *, provider: str = "test", now: datetime | None = None):
    """Store `table` ({currency: USD-based rate}) as provider `provider`'s feed, as a
    refresh would; returns `rate_services.store_rates`'s result."""
    quote = RateQuote(provider=provider, rates={code: Decimal(rate) for code, rate in table.items()})
    return rate_services.store_rates(quote=quote, now=now)


@pytest.fixture
def known_rates(db):
    """The KNOWN rates stored for this test."""
    return store_rates(KNOWN)


@pytest.fixture
def seeded_rates(db):
    """The old demo seed (provider "seed", set on SEEDED_AT) stored for this test."""
    return store_rates(SEED, provider="seed", now=SEEDED_AT)


@pytest.fixture
def fixed_rates(monkeypatch):
    """currencies.rates answering from TEST_RATES, so conversion and rounding are known."""

    def validate_currency(code):
        code = (code or "").upper()
        if code not in TEST_RATES:
            raise UnsupportedCurrency(details={"currency": [f"Supported: {', '.join(TEST_RATES)}."]})
        return code

    monkeypatch.setattr(rates, "supported_currencies", lambda: tuple(TEST_RATES))
    monkeypatch.setattr(rates, "validate_currency", validate_currency)
    monkeypatch.setattr(rates, "current_rate", lambda code: TEST_RATES[validate_currency(code)])
    return TEST_RATES


__all__ = ["KNOWN", "SEED", "SEEDED_AT", "TEST_RATES", "store_rates", "known_rates", "seeded_rates", "fixed_rates"]
