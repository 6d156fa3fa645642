"""The catalog file import (`manage.py import_catalog`, the demo seed): the catalog's
products and variants, then the stock the file gives them, in one transaction, all or
nothing. Here, above both apps, because it writes to both through their services."""
from __future__ import annotations

from typing import Any

from django.db import transaction

from catalog import services as catalog_services
from catalog.services import ImportResult
from inventory import services as inventory
from inventory.models import StockMovement


def import_catalog(data: Any, *, actor_id: int | None = None, only_new: bool = False) -> ImportResult:
    """Upsert products and variants by slug and SKU and set each variant's stock to the
    file's figure through ledger movements (one per variant whose figure changes). Any
    bad entry raises InvalidInput naming it, and nothing is written.

    only_new: add only what the shop does not have yet; existing products, variants and
    their stock stay exactly as staff left them (the demo seed, run on every start).

    Locking: catalog rows first, then inventory.set_stock_levels locks every stock row
    the file sets at once, in the global order checkouts follow (shop/locks.py), so an
    import never deadlocks with shoppers.
    """
    with transaction.atomic():
        result = catalog_services.import_products(data, only_new=only_new)
        levels = [inventory.StockLevel(f.variant_id, f.on_hand, f.low_stock_threshold) for f in result.stock]
        try:
            movements = inventory.set_stock_levels(levels, reason=StockMovement.Reason.IMPORT, actor_id=actor_id, note="catalog import")
        except inventory.StockLevelRefused as refusal:  # e.g. more units reserved by carts in checkout
            where = next(f.where for f in result.stock if f.variant_id == refusal.variant_id)
            catalog_services.fail(f"{where}.stock", refusal.message)
        result.stock_movements = len(movements)
    return result
