"""Formerly seeded demo exchange rates, so every database, production ones too, started
with made-up rates. Demo rates now come from `manage.py seed_demo` (development only); a
fresh production database starts with none, and the system check shop.W002 says so until
the first refresh stores real ones. Kept, empty, because later migrations depend on it."""
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_exchange_rates")]
    operations: list = []
