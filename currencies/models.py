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
from django.utils.translation import gettext, gettext_lazy as _

RATE_FIELD = dict(max_digits=20, decimal_places=10)


class ExchangeRateSet(models.Model):
    """The rates one provider delivered in one fetch. A later fetch with the same
    publication and the same rates confirms this set instead of copying it."""

    provider = models.CharField(max_length=32, verbose_name=_("provider"))
    base_currency = models.CharField(max_length=3, default="USD", verbose_name=_("base currency"))
    published_at = models.DateTimeField(null=True, blank=True, help_text=_("When the provider published these rates."), verbose_name=_("published at"))
    fetched_at = models.DateTimeField(help_text=_("When the shop first fetched this set."), verbose_name=_("fetched at"))
    confirmed_at = models.DateTimeField(help_text=_("When a fetch last returned this set."), verbose_name=_("confirmed at"))

    class Meta:
        db_table = "shop_exchangerateset"  # the table's name from before the currencies app
        ordering = ["-fetched_at", "-id"]
        indexes = [models.Index(fields=["provider", "-fetched_at"], name="shop_exchan_provide_0c82fe_idx")]
        verbose_name = _("exchange rate set")
        verbose_name_plural = _("exchange rate sets")

    def __str__(self) -> str:
        return gettext("%(provider)s rates fetched %(moment)s UTC") % {"provider": self.provider, "moment": f"{self.fetched_at:%Y-%m-%d %H:%M}"}


class ExchangeRate(models.Model):
    rate_set = models.ForeignKey(ExchangeRateSet, on_delete=models.CASCADE, related_name="rates", verbose_name=_("rate set"))
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    rate = models.DecimalField(**RATE_FIELD, verbose_name=_("rate"))

    class Meta:
        db_table = "shop_exchangerate"
        ordering = ["currency"]
        constraints = [
            models.UniqueConstraint(fields=["rate_set", "currency"], name="exchange_rate_unique_currency_per_set"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="exchange_rate_positive"),
        ]
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")

    def __str__(self) -> str:
        return f"1 USD = {self.rate} {self.currency}"


class CurrencyRate(models.Model):
    """The rate the shop uses for one currency. Written only by currencies.services."""

    currency = models.CharField(max_length=3, primary_key=True, verbose_name=_("currency"))
    feed_rate = models.DecimalField(**RATE_FIELD, verbose_name=_("feed rate"))
    rate_set = models.ForeignKey(ExchangeRateSet, on_delete=models.PROTECT, related_name="+", verbose_name=_("rate set"))
    confirmed_at = models.DateTimeField(help_text=_("When the provider last delivered this rate."), verbose_name=_("confirmed at"))
    override_rate = models.DecimalField(**RATE_FIELD, null=True, blank=True, verbose_name=_("override rate"))
    override_note = models.CharField(max_length=200, blank=True, verbose_name=_("override note"))
    override_set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("override set by")
    )
    override_set_at = models.DateTimeField(null=True, blank=True, verbose_name=_("override set at"))
    # Set when staff were told this rate is stale; cleared when it is fresh again, so one
    # stale spell sends one alert.
    stale_alerted_at = models.DateTimeField(null=True, blank=True, verbose_name=_("stale alerted at"))

    class Meta:
        db_table = "shop_currencyrate"
        ordering = ["currency"]
        verbose_name = _("exchange rate")
        constraints = [
            models.CheckConstraint(condition=Q(feed_rate__gt=0), name="currency_rate_feed_positive"),
            models.CheckConstraint(
                condition=Q(override_rate__isnull=True) | Q(override_rate__gt=0), name="currency_rate_override_positive"
            ),
        ]
        verbose_name_plural = _("exchange rates")

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
        SET = "set", _("override set")
        CLEARED = "cleared", _("override cleared")

    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    action = models.CharField(max_length=8, choices=Action.choices, verbose_name=_("action"))
    old_rate = models.DecimalField(**RATE_FIELD, verbose_name=_("old rate"))
    new_rate = models.DecimalField(**RATE_FIELD, verbose_name=_("new rate"))
    note = models.CharField(max_length=200, blank=True, verbose_name=_("note"))
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("changed by"))
    changed_at = models.DateTimeField(verbose_name=_("changed at"))

    class Meta:
        db_table = "shop_rateoverridelog"
        ordering = ["-changed_at", "-id"]
        verbose_name = _("exchange rate change")
        verbose_name_plural = _("exchange rate changes")

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
