"""The catalog file import (`manage.py import_catalog`, the demo seed): the catalog's
products and variants, where the shop ships, its tax rates and discount codes, then the
stock the file gives the variants, in one transaction, all or nothing. Here, above all
those apps, because it writes to each of them through its own service."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db import transaction

from catalog import images as catalog_images
from catalog import services as catalog_services
from catalog.services import ImportResult, Upserted
from discounts.imports import import_discount_codes
from inventory import services as inventory
from inventory.models import StockMovement
from shipping.services import import_zones
from taxes.services import import_tax_rates

# The optional sections, in the order they are imported: after the products, whose
# categories and slugs the tax rates and discount codes may name.
SECTIONS: dict[str, Callable[..., dict[str, Upserted]]] = {
    "shipping_zones": import_zones,
    "tax_rates": import_tax_rates,
    "discount_codes": import_discount_codes,
}
KEYS = ("products", *SECTIONS)


def import_catalog(
    data: Any, *, actor_id: int | None = None, only_new: bool = False, image_dir: Path | None = None
) -> ImportResult:
    """Upsert products and variants by slug and SKU, then the file's shipping zones, tax
    rates and discount codes (each by its natural key, through its app's service), and set
    each variant's stock to the file's figure through ledger movements (one per variant
    whose figure changes). Any bad entry raises InvalidInput naming it, and nothing is
    written. result.sections counts what each section did.

    only_new: add only what the shop does not have yet; existing products, variants and
    their stock, zones, methods, rates and codes stay exactly as staff left them (the demo
    seed, run on every start).

    image_dir: the folder that the products' image paths are relative to (the catalog
    file's). Image files stored by an import that then fails are deleted again.

    Locking: catalog rows first, then discount code rows in code order (before stock, as
    checkouts take them), then inventory.set_stock_levels locks every stock row the file
    sets at once, in the global order checkouts follow (shop/locks.py), so an import never
    deadlocks with shoppers.
    """
    if isinstance(data, dict):
        unknown = sorted(set(data) - set(KEYS))
        if unknown:
            catalog_services.fail(unknown[0], f"is not a section of a catalog file (they are {', '.join(KEYS)})")
    written: list[str] = []
    try:
        return _import(data, actor_id=actor_id, only_new=only_new, image_dir=image_dir, written=written)
    except BaseException:
        catalog_images.delete_files(written)
        raise


def _import(data: Any, *, actor_id: int | None, only_new: bool, image_dir: Path | None, written: list[str]) -> ImportResult:
    with transaction.atomic():
        result = catalog_services.import_products(data, only_new=only_new, image_dir=image_dir, written_files=written)
        for key, import_section in SECTIONS.items():
            if data.get(key) is not None:
                result.sections.update(import_section(data[key], only_new=only_new))
        levels = [inventory.StockLevel(f.variant_id, f.on_hand, f.low_stock_threshold) for f in result.stock]
        try:
            movements = inventory.set_stock_levels(levels, reason=StockMovement.Reason.IMPORT, actor_id=actor_id, note="catalog import")
        except inventory.StockLevelRefused as refusal:  # e.g. more units reserved by carts in checkout
            where = next(f.where for f in result.stock if f.variant_id == refusal.variant_id)
            catalog_services.fail(f"{where}.stock", refusal.message)
        result.stock_movements = len(movements)
    return result
