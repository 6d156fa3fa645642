"""Demo data for `make run`: the demo catalog with its shipping zones, tax rates and
discount codes (one file, checkout/demo/demo_catalog.json), pictures of its products drawn
now with Pillow (checkout/demo/drawings.py), demo exchange rates and an admin user whose
login is printed. Safe to run again: it creates only what is missing, so stock, pictures,
zones, rates and codes staff changed stay as they are, and it stores exchange rates only
while the shop has none. A command of the top app because it seeds every app below it."""
import json
import os
import secrets
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from catalog.models import Product
from checkout.demo.drawings import pictures_for
from checkout.imports import import_catalog
from currencies.services import store_demo_rates

DEMO_FILE = Path(__file__).resolve().parents[2] / "demo" / "demo_catalog.json"


def _draw(args: tuple[dict, str]) -> list[dict]:
    product, folder = args
    return pictures_for(product, Path(folder))


class Command(BaseCommand):
    help = (
        "Load the demo catalog (with pictures drawn now), shipping zones, tax rates, discount codes and "
        "exchange rates and an admin user (prints the login)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--without-images", action="store_true", help="Do not draw product pictures (a quicker seed)."
        )

    def handle(self, *args, without_images: bool = False, **options):
        data = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
        with tempfile.TemporaryDirectory(prefix="demo-pictures-") as folder:
            if not without_images:
                # Only products the shop does not have yet get pictures (only_new keeps the
                # rest as staff left them), drawn on every CPU: a fresh seed draws ~150.
                existing = set(Product.objects.filter(slug__in=[p["slug"] for p in data["products"]]).values_list("slug", flat=True))
                new = [p for p in data["products"] if p["slug"] not in existing]
                workers = min(len(new), os.cpu_count() or 1)
                if workers > 1:
                    with ProcessPoolExecutor(max_workers=workers) as pool:
                        drawn = list(pool.map(_draw, [(p, folder) for p in new], chunksize=4))
                else:
                    drawn = [_draw((p, folder)) for p in new]
                for product, pictures in zip(new, drawn, strict=True):
                    product["images"] = pictures
            # Stock is set only for demo variants created now: `make run` seeds on every
            # start and must not undo the sales and adjustments of the previous run.
            result = import_catalog(data, only_new=True, image_dir=Path(folder))
        rates = store_demo_rates()
        password_file = Path(settings.RUN_DIR) / "admin-password"
        password_file.parent.mkdir(parents=True, exist_ok=True)
        if not password_file.exists():
            # Created owner-only from the start, so the password is never world-readable.
            fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(12))
        password = password_file.read_text().strip()
        user, _ = get_user_model().objects.get_or_create(username="admin", defaults={"email": "admin@example.com"})
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        self.stdout.write(
            f"Demo catalog: {len(result.skus)} variants ({result.variants_created} new), "
            f"{result.images_added} pictures drawn.\n"
            + "".join(f"Demo {label}: {counts.total} ({counts.created} new).\n" for label, counts in result.sections.items())
            + (f"Demo exchange rates stored: {', '.join(rates.updated)}.\n" if rates else "")
            + f"Admin login: user 'admin', password '{password}' (kept in {password_file})"
        )
