"""Databases made before the currencies app have the exchange-rate models' content types
(and so staff permissions such as "change exchange rate") under the shop app: move them,
so permissions already granted keep working. A fresh database has none to move."""
from django.db import migrations

MODELS = ["exchangerateset", "exchangerate", "currencyrate", "rateoverridelog", "shopperpreference"]


def to_currencies(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="shop", model__in=MODELS).update(app_label="currencies")


def to_shop(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="currencies", model__in=MODELS).update(app_label="shop")


class Migration(migrations.Migration):

    dependencies = [
        ("currencies", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(to_currencies, to_shop)]
