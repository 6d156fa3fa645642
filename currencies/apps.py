from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CurrenciesConfig(AppConfig):
    name = "currencies"
    verbose_name = _("Currencies")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from currencies import checks  # noqa: F401  (registers the system checks)
        from currencies.metrics import rate_metrics
        from shop.metrics import register_collector

        register_collector(rate_metrics)  # the rates' age at /metrics
