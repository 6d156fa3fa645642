from django.db import migrations, models
from django.db.models.functions import Now


def start_the_clock_of_open_checkouts(apps, schema_editor):
    """Checkouts open when this runs get their full time limit from now."""
    Cart = apps.get_model("cart", "Cart")
    Cart.objects.filter(status="checkout").update(checkout_started_at=Now())


class Migration(migrations.Migration):

    dependencies = [
        ('cart', '0003_zones_and_discount_code'),
    ]

    operations = [
        migrations.AddField(
            model_name='cart',
            name='checkout_started_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(start_the_clock_of_open_checkouts, migrations.RunPython.noop),
    ]
