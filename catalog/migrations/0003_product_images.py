# Product images (storefront issue): filled in by the images work.
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0002_weights"),
    ]

    operations = []
