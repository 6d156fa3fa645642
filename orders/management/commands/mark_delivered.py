from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from orders.fulfilment import import_deliveries
from shop.errors import InvalidInput


class Command(BaseCommand):
    help = (
        "Mark parcels delivered from a carrier's CSV file (a tracking_number column, and optionally "
        "delivered_at in ISO 8601); an order whose parcels have all arrived becomes delivered."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        try:
            text = file.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise CommandError(f"{file}: cannot be read ({exc.strerror or exc})") from None
        try:
            result = import_deliveries(text)
        except InvalidInput as exc:
            raise CommandError(f"{file}: nothing marked. {exc.message}") from None
        self.stdout.write(f"Delivered: {', '.join(result.delivered) or 'no order'}.")
        if result.waiting:
            self.stdout.write(f"Recorded, their orders still have parcels out: {', '.join(result.waiting)}.")
        if result.unknown:
            self.stdout.write(self.style.WARNING(f"No shipment with these tracking numbers: {', '.join(result.unknown)}."))
        for refusal in result.refused:
            self.stdout.write(self.style.WARNING(refusal))
