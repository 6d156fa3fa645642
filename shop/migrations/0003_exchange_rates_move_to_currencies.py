"""The exchange-rate models now belong to the currencies app (its 0001 takes them over
with the same tables); the shop app drops them from its model state only."""
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("shop", "0002_seed_demo_rates"),
        ("currencies", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.DeleteModel(name="CurrencyRate"),
                migrations.DeleteModel(name="ExchangeRate"),
                migrations.DeleteModel(name="RateOverrideLog"),
                migrations.DeleteModel(name="ShopperPreference"),
                migrations.DeleteModel(name="ExchangeRateSet"),
            ],
        ),
    ]
