from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    verbose_name = _("Orders")
    name = "orders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The admin's autodiscovery imports only orders.admin: the sales overview page
        # registers itself here.
        from orders import report_admin  # noqa: F401
