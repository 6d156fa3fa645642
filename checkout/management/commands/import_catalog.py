import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from checkout.imports import import_catalog
from shop.errors import InvalidInput


class Command(BaseCommand):
    help = (
        "Upsert products and variants by SKU, and the optional shipping_zones, tax_rates and discount_codes, "
        "from a JSON file (format in docs/operations.md); stock goes through the ledger. A bad file changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CommandError(f"{file}: no such file") from None
        except OSError as exc:  # a directory, no permission
            raise CommandError(f"{file}: cannot be read ({exc.strerror or exc})") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CommandError(f"{file}: not valid JSON ({exc})") from None
        try:
            result = import_catalog(data, image_dir=file.resolve().parent)
        except InvalidInput as exc:
            raise CommandError(f"{file}: nothing imported. {exc.message}") from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {file}: {result.products_created} products created, {result.products_updated} updated; "
                f"{result.variants_created} variants created, {result.variants_updated} updated; "
                f"{result.stock_movements} stock movements"
                + (f"; {result.images_added} images added, {result.images_removed} removed." if result.images_added or result.images_removed else ".")
            )
        )
        if result.sections:
            sections = ", ".join(counts.describe(label) for label, counts in result.sections.items())
            self.stdout.write(self.style.SUCCESS(f"Also {sections}."))
