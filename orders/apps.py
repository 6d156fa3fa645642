from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The admin's autodiscovery imports only orders.admin: the sales overview page
        # registers itself here.
        from orders import report_admin  # noqa: F401
