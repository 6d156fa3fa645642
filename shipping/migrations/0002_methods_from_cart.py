"""Shipping methods used to be one flat list in the cart app: they become the methods of
a rest-of-world zone, so a shop upgraded keeps shipping everywhere as before."""
from django.db import migrations


def copy_methods(apps, schema_editor):
    OldMethod = apps.get_model("cart", "ShippingMethod")
    Zone = apps.get_model("shipping", "ShippingZone")
    Method = apps.get_model("shipping", "ShippingMethod")
    old = list(OldMethod.objects.all())
    if not old:
        return
    zone, _ = Zone.objects.get_or_create(name="Rest of world", defaults={"rest_of_world": True, "position": 100})
    for method in old:
        Method.objects.get_or_create(
            zone=zone,
            code=method.code,
            defaults={"name": method.name, "price_usd": method.price, "is_active": method.is_active, "position": method.position},
        )


class Migration(migrations.Migration):
    dependencies = [("shipping", "0001_initial"), ("cart", "0002_quote_prices")]
    operations = [migrations.RunPython(copy_methods, migrations.RunPython.noop)]
