"""Demo data for `make run`: the demo catalog, shipping methods and an admin user whose
login is printed. Safe to run again: it upserts."""
import json
import secrets
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from moneyed import Money

from cart.models import ShippingMethod
from catalog.services import import_catalog

DEMO_FILE = Path(__file__).resolve().parents[2] / "demo" / "demo_catalog.json"
SHIPPING_METHODS = [
    ("standard", "Standard (3-5 working days)", "4.95"),
    ("express", "Express (next working day)", "14.90"),
]


class Command(BaseCommand):
    help = "Load the demo catalog, shipping methods and an admin user (prints the login)."

    def handle(self, *args, **options):
        result = import_catalog(json.loads(DEMO_FILE.read_text()))
        for position, (code, name, price) in enumerate(SHIPPING_METHODS):
            ShippingMethod.objects.update_or_create(
                code=code, defaults={"name": name, "price": Money(Decimal(price), "USD"), "position": position}
            )
        password_file = Path(settings.RUN_DIR) / "admin-password"
        password_file.parent.mkdir(parents=True, exist_ok=True)
        if not password_file.exists():
            password_file.write_text(secrets.token_urlsafe(12))
            password_file.chmod(0o600)
        password = password_file.read_text().strip()
        user, _ = get_user_model().objects.get_or_create(username="admin", defaults={"email": "admin@example.com"})
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        self.stdout.write(
            f"Demo catalog: {len(result.skus)} variants ({result.variants_created} new).\n"
            f"Admin login: user 'admin', password '{password}' (kept in {password_file})"
        )
