# Product images (storefront issue): several pictures per product, optionally per variant.
import django.db.models.deletion
from django.db import migrations, models

import catalog.models


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0002_weights"),
    ]

    operations = [
        migrations.CreateModel(
            name="ProductImage",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("image", models.ImageField(height_field="height", max_length=255, upload_to=catalog.models.product_image_path, width_field="width")),
                ("width", models.PositiveIntegerField(blank=True, editable=False, null=True)),
                ("height", models.PositiveIntegerField(blank=True, editable=False, null=True)),
                ("alt", models.CharField(blank=True, help_text="What the picture shows, for people who cannot see it; empty: the product's name.", max_length=200, verbose_name="alt text")),
                ("position", models.PositiveIntegerField(default=0)),
                ("thumbnails", models.JSONField(blank=True, default=dict, editable=False)),
                ("product", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="images", to="catalog.product")),
                ("variant", models.ForeignKey(blank=True, help_text="Optional: the variant this picture shows (its colour, say).", null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="images", to="catalog.variant")),
            ],
            options={
                "ordering": ["product_id", "position", "id"],
                "indexes": [models.Index(fields=["product", "position"], name="catalog_pro_product_d29272_idx")],
            },
        ),
    ]
