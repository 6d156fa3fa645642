"""Databases made before the currencies app have the exchange-rate models' content types
(and so staff permissions such as "change exchange rate") under the shop app: move them,
so permissions already granted keep working. A fresh database has none to move."""
from django.db import migrations

MODELS = ["exchangerateset", "exchangerate", "currencyrate", "rateoverridelog", "shopperpreference"]


def _move(apps, source: str, target: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MODELS:
        # A content type the target already has (made by a migrate that ran before this
        # one) keeps its place; the old one is then left unused.
        if not ContentType.objects.filter(app_label=target, model=model).exists():
            ContentType.objects.filter(app_label=source, model=model).update(app_label=target)


def to_currencies(apps, schema_editor):
    _move(apps, "shop", "currencies")


def to_shop(apps, schema_editor):
    _move(apps, "currencies", "shop")


class Migration(migrations.Migration):

    dependencies = [
        ("currencies", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(to_currencies, to_shop)]
