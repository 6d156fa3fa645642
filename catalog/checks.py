"""System checks of the catalog: its pages need stock figures from the app that keeps
stock (catalog.stock)."""
from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register

from catalog import stock


@register("catalog")
def check_stock_provided(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """catalog.E001: no app provides availability, so product pages would fail."""
    if stock.is_provided():
        return []
    return [
        Error(
            "No app provides stock figures to the catalog's pages and API.",
            hint="Add 'inventory' to INSTALLED_APPS; it provides them (inventory.apps).",
            id="catalog.E001",
        )
    ]
