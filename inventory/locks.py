"""Row locks for stock, taken in one global order.

Cross-table lock order, followed by every writer:
    cart row  ->  stock rows, ascending variant id  ->  reservation rows
A transaction that needs several stock rows locks them all in one statement sorted by
variant id, so two carts holding the same SKUs in any line order never deadlock
(DESIGN.md invariant 4).
"""
from __future__ import annotations

from collections.abc import Iterable

from inventory.models import Stock


def lock_stocks(variant_ids: Iterable[int]) -> dict[int, Stock]:
    """Lock the stock rows of these variants, creating missing ones, in variant-id order."""
    ids = sorted(set(variant_ids))
    if not ids:
        return {}
    stocks = _select_for_update(ids)
    if len(stocks) < len(ids):
        missing = [vid for vid in ids if vid not in stocks]
        Stock.objects.bulk_create([Stock(variant_id=vid) for vid in missing], ignore_conflicts=True)
        stocks = _select_for_update(ids)
    return stocks


def _select_for_update(ids: list[int]) -> dict[int, Stock]:
    rows = Stock.objects.select_for_update().filter(variant_id__in=ids).order_by("variant_id")
    return {stock.variant_id: stock for stock in rows}
