from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The catalog's pages and API show availability through catalog.stock.
        from catalog import stock
        from inventory import selectors

        stock.provide(selectors)
