from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("orders", "0008_tax_and_discount"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="language",
            field=models.CharField(default="en", max_length=8),
        ),
    ]
