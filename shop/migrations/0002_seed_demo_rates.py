"""Demo rates for the default currencies, so a fresh database can show prices in every
currency before the first refresh. They are dated 2026-01-01 on purpose: anywhere they are
still in force two days after deploying, they show as stale in the admin and staff get an
alert, and the first successful refresh (beat, `manage.py update_rates`, the admin action)
replaces them."""
from datetime import UTC, datetime
from decimal import Decimal

from django.db import migrations

SEEDED_AT = datetime(2026, 1, 1, tzinfo=UTC)
DEMO_RATES = {  # units per 1 USD, the same as shop.rate_providers.FIXED_DEMO_RATES
    "EUR": "0.8874",
    "GBP": "0.7532",
    "JPY": "158.09",
    "CAD": "1.4250",
    "AUD": "1.4322",
    "CHF": "0.8305",
    "SEK": "9.9765",
    "KWD": "0.3071",
}


def seed(apps, schema_editor):
    ExchangeRateSet = apps.get_model("shop", "ExchangeRateSet")
    ExchangeRate = apps.get_model("shop", "ExchangeRate")
    CurrencyRate = apps.get_model("shop", "CurrencyRate")
    if CurrencyRate.objects.exists():
        return
    rate_set = ExchangeRateSet.objects.create(
        provider="seed", base_currency="USD", published_at=None, fetched_at=SEEDED_AT, confirmed_at=SEEDED_AT
    )
    for code, rate in DEMO_RATES.items():
        ExchangeRate.objects.create(rate_set=rate_set, currency=code, rate=Decimal(rate))
        CurrencyRate.objects.create(currency=code, feed_rate=Decimal(rate), rate_set=rate_set, confirmed_at=SEEDED_AT)


def unseed(apps, schema_editor):
    apps.get_model("shop", "CurrencyRate").objects.filter(rate_set__provider="seed").delete()
    apps.get_model("shop", "ExchangeRateSet").objects.filter(provider="seed").delete()


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_exchange_rates")]
    operations = [migrations.RunPython(seed, unseed)]
