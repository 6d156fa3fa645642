from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShopConfig(AppConfig):
    """The project's own app: shared plumbing (errors, API base, alerts and their log, lock
    order) and the migration history of the exchange-rate tables, which now belong to
    currencies."""

    name = "shop"
    verbose_name = _("Shop")

    def ready(self) -> None:
        from shop import checks  # noqa: F401  (registers the system checks)
        from shop.logging import connect_celery_signals

        connect_celery_signals()  # tasks carry the request id of the request that queued them
