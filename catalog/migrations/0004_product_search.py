# Product search (storefront issue): filled in by the search work.
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0003_product_images"),
    ]

    operations = []
