from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InventoryConfig(AppConfig):
    verbose_name = _("Inventory")
    name = "inventory"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The catalog's pages and API show availability through catalog.stock.
        from catalog import stock
        from inventory import selectors

        stock.provide(selectors)
