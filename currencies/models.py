"""Exchange rates and the shopper's saved currency.

django-money's exchange app (`djmoney.contrib.exchange`) was the first choice and falls
short here: its `Rate` keeps 6 decimal places (carts and orders store 10), a backend keeps
only its latest rates under one auto-updated timestamp (no per-set provider, publication
and fetch times), it has no manual override or audit trail, and its `get_rate` cache is
never cleared on update. So the shop keeps its own three tables:

- ExchangeRateSet + ExchangeRate: every distinct set a provider delivered (history).
- CurrencyRate: one row per currency, the rate the shop uses now, with its source set, the
  time the feed last confirmed it, and an optional staff override.
- RateOverrideLog: who changed an override, when, from which rate to which.

All rates are units of the currency per 1 USD (the base), 10 decimal places.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

RATE_FIELD = dict(max_digits=20, decimal_places=10)


class ExchangeRateSet(models.Model):
    """The rates one provider delivered in one fetch. A later fetch with the same
    publication and the same rates confirms this set instead of copying it."""

    provider = models.CharField(max_length=32)
    base_currency = models.CharField(max_length=3, default="USD")
    published_at = models.DateTimeField(null=True, blank=True, help_text="When the provider published these rates.")
    fetched_at = models.DateTimeField(help_text="When the shop first fetched this set.")
    confirmed_at = models.DateTimeField(help_text="When a fetch last returned this set.")

    class Meta:
        db_table = "shop_exchangerateset"  # the table's name from before the currencies app
        ordering = ["-fetched_at", "-id"]
        indexes = [models.Index(fields=["provider", "-fetched_at"], name="shop_exchan_provide_0c82fe_idx")]

    def __str__(self) -> str:
        return f"{self.provider} rates fetched {self.fetched_at:%Y-%m-%d %H:%M} UTC"


class ExchangeRate(models.Model):
    rate_set = models.ForeignKey(ExchangeRateSet, on_delete=models.CASCADE, related_name="rates")
    currency = models.CharField(max_length=3)
    rate = models.DecimalField(**RATE_FIELD)

    class Meta:
        db_table = "shop_exchangerate"
        ordering = ["currency"]
        constraints = [
            models.UniqueConstraint(fields=["rate_set", "currency"], name="exchange_rate_unique_currency_per_set"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="exchange_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"1 USD = {self.rate} {self.currency}"


class CurrencyRate(models.Model):
    """The rate the shop uses for one currency. Written only by currencies.services."""

    currency = models.CharField(max_length=3, primary_key=True)
    feed_rate = models.DecimalField(**RATE_FIELD)
    rate_set = models.ForeignKey(ExchangeRateSet, on_delete=models.PROTECT, related_name="+")
    confirmed_at = models.DateTimeField(help_text="When the provider last delivered this rate.")
    override_rate = models.DecimalField(**RATE_FIELD, null=True, blank=True)
    override_note = models.CharField(max_length=200, blank=True)
    override_set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    override_set_at = models.DateTimeField(null=True, blank=True)
    # Set when staff were told this rate is stale; cleared when it is fresh again, so one
    # stale spell sends one alert.
    stale_alerted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "shop_currencyrate"
        ordering = ["currency"]
        verbose_name = "exchange rate"
        constraints = [
            models.CheckConstraint(condition=Q(feed_rate__gt=0), name="currency_rate_feed_positive"),
            models.CheckConstraint(
                condition=Q(override_rate__isnull=True) | Q(override_rate__gt=0), name="currency_rate_override_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"1 USD = {self.rate} {self.currency}"

    @property
    def is_overridden(self) -> bool:
        return self.override_rate is not None

    @property
    def rate(self) -> Decimal:
        """The rate in force: the staff override if there is one, else the feed's."""
        return self.override_rate if self.override_rate is not None else self.feed_rate

    @property
    def as_of(self) -> datetime:
        """When the rate in force was last set or confirmed; its age decides staleness."""
        if self.override_rate is not None and self.override_set_at is not None:
            return self.override_set_at
        return self.confirmed_at


class RateOverrideLog(models.Model):
    """Audit trail of manual rate changes: who, when, the rate before and after."""

    class Action(models.TextChoices):
        SET = "set", "override set"
        CLEARED = "cleared", "override cleared"

    currency = models.CharField(max_length=3)
    action = models.CharField(max_length=8, choices=Action.choices)
    old_rate = models.DecimalField(**RATE_FIELD)
    new_rate = models.DecimalField(**RATE_FIELD)
    note = models.CharField(max_length=200, blank=True)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    changed_at = models.DateTimeField()

    class Meta:
        db_table = "shop_rateoverridelog"
        ordering = ["-changed_at", "-id"]
        verbose_name = "exchange rate change"

    def __str__(self) -> str:
        return f"{self.currency}: {self.old_rate} -> {self.new_rate} ({self.get_action_display()})"


class ShopperPreference(models.Model):
    """A signed-in shopper's saved choices, remembered across sessions and devices."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shop_preference")
    currency = models.CharField(max_length=3)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "shop_shopperpreference"

    def __str__(self) -> str:
        return f"{self.user}: {self.currency}"
